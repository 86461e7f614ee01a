# transport.cmake: the SPOP half of edgeseal-spoa (see CMakeLists.txt here).
list(APPEND ES_TRANSPORT_SOURCES
	"${CMAKE_CURRENT_SOURCE_DIR}/src/spop.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/conn.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/worker.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/listener.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/config.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/log.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/snapshot.c")

# The SPOP load generator: a development tool, never installed. It needs
# only the codec, so it builds even while the rest of the agent does not.
if(EXISTS "${PROJECT_SOURCE_DIR}/bench/spop_loadgen.c")
	add_executable(edgeseal-spop-loadgen
		"${PROJECT_SOURCE_DIR}/bench/spop_loadgen.c"
		"${CMAKE_CURRENT_SOURCE_DIR}/src/spop.c")
	target_include_directories(edgeseal-spop-loadgen PRIVATE
		"${CMAKE_CURRENT_SOURCE_DIR}/src")
	target_link_libraries(edgeseal-spop-loadgen PRIVATE Threads::Threads)
endif()

# Manual pages of the daemon and its configuration file.
install(FILES "${CMAKE_CURRENT_SOURCE_DIR}/man/edgeseal-spoa.8"
	DESTINATION "${CMAKE_INSTALL_MANDIR}/man8")
install(FILES "${CMAKE_CURRENT_SOURCE_DIR}/man/edgeseal-spoa.conf.5"
	DESTINATION "${CMAKE_INSTALL_MANDIR}/man5")
