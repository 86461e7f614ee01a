# transport.cmake: the SPOP half of edgeseal-spoa (see CMakeLists.txt here).
list(APPEND ES_TRANSPORT_SOURCES
	"${CMAKE_CURRENT_SOURCE_DIR}/src/spop.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/conn.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/worker.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/listener.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/config.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/log.c"
	"${CMAKE_CURRENT_SOURCE_DIR}/src/metrics.c"
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

# The systemd unit, its paths rewritten for the prefix it is installed
# under (the file in the source tree names /usr/sbin and /etc, what a
# Debian package would use). Written at install time, so that
# `cmake --install --prefix P` gets P's paths, not the configured ones;
# prefix /usr keeps /etc, as GNUInstallDirs does.
set(es_unit_src "${CMAKE_CURRENT_SOURCE_DIR}/systemd/edgeseal-spoa.service")
set(es_unit_out "${CMAKE_CURRENT_BINARY_DIR}/edgeseal-spoa.service")
if(EXISTS "${es_unit_src}")
	install(CODE "
		set(es_prefix \"\${CMAKE_INSTALL_PREFIX}\")
		set(es_etc \"\${es_prefix}/${CMAKE_INSTALL_SYSCONFDIR}\")
		if(es_prefix STREQUAL \"/usr\")
			set(es_etc /etc)
		endif()
		file(READ \"${es_unit_src}\" es_unit)
		string(REPLACE /usr/sbin/ \"\${es_prefix}/${CMAKE_INSTALL_SBINDIR}/\"
			es_unit \"\${es_unit}\")
		string(REPLACE /etc/edgeseal \"\${es_etc}/edgeseal\"
			es_unit \"\${es_unit}\")
		file(WRITE \"${es_unit_out}\" \"\${es_unit}\")")
	install(FILES "${es_unit_out}" DESTINATION lib/systemd/system)
endif()
