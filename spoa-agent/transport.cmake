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

# The systemd unit, its paths rewritten for this prefix (the file in the
# source tree names /usr/sbin and /etc, what a Debian package would use).
set(es_unit_src "${CMAKE_CURRENT_SOURCE_DIR}/systemd/edgeseal-spoa.service")
if(EXISTS "${es_unit_src}")
	file(READ "${es_unit_src}" es_unit)
	string(REPLACE "/usr/sbin/" "${CMAKE_INSTALL_FULL_SBINDIR}/"
		es_unit "${es_unit}")
	string(REPLACE "/etc/edgeseal" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/edgeseal"
		es_unit "${es_unit}")
	file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/edgeseal-spoa.service"
		"${es_unit}")
	set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
		"${es_unit_src}")
	install(FILES "${CMAKE_CURRENT_BINARY_DIR}/edgeseal-spoa.service"
		DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
