# Every external library comes from Debian 12 packages (see scripts/deps).
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(LIBJWT REQUIRED IMPORTED_TARGET libjwt)
pkg_check_modules(INIH REQUIRED IMPORTED_TARGET inih)
pkg_check_modules(MHD IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(CURL IMPORTED_TARGET libcurl)
pkg_check_modules(SYSTEMD IMPORTED_TARGET libsystemd)
pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)

# libev ships no pkg-config file on Debian.
find_path(LIBEV_INCLUDE_DIR ev.h REQUIRED)
find_library(LIBEV_LIBRARY ev REQUIRED)
add_library(edgeseal_libev INTERFACE)
target_include_directories(edgeseal_libev INTERFACE ${LIBEV_INCLUDE_DIR})
target_link_libraries(edgeseal_libev INTERFACE ${LIBEV_LIBRARY})
