# fuzz_config: es_config_parse_string over arbitrary text.
# Seeds: tests/fuzz/corpus/config/.
edgeseal_fuzz_target(config
	SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/config_parse.c"
		"${PROJECT_SOURCE_DIR}/spoa-agent/src/config.c"
		"${PROJECT_SOURCE_DIR}/spoa-agent/src/listener.c"
	LIBS PkgConfig::INIH)
target_include_directories(fuzz_config PRIVATE
	"${PROJECT_SOURCE_DIR}/spoa-agent/src")
