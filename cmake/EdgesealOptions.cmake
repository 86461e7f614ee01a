# Build options shared by every component.
#
#   EDGESEAL_SANITIZE  comma list passed to -fsanitize= (address,undefined | thread)
#   EDGESEAL_FUZZ      build libFuzzer targets (needs clang); without it the
#                      fuzz harnesses are built as corpus replayers
#   EDGESEAL_WERROR    warnings are errors

set(EDGESEAL_SANITIZE "" CACHE STRING "sanitizers: address,undefined or thread")
option(EDGESEAL_FUZZ "build libFuzzer targets (clang only)" OFF)
option(EDGESEAL_WERROR "treat warnings as errors" OFF)

add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wno-unused-parameter -Wformat=2
	-fno-strict-aliasing -D_GNU_SOURCE)
if(EDGESEAL_WERROR)
	add_compile_options(-Werror)
endif()

if(EDGESEAL_SANITIZE)
	add_compile_options(-fsanitize=${EDGESEAL_SANITIZE}
		-fno-omit-frame-pointer -fno-sanitize-recover=all)
	add_link_options(-fsanitize=${EDGESEAL_SANITIZE})
endif()

if(EDGESEAL_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
	message(FATAL_ERROR "EDGESEAL_FUZZ needs clang (CC=clang)")
endif()

# Coverage feedback for libFuzzer on every object, so the fuzzers see
# branches inside the libraries too; the fuzz targets link -fsanitize=fuzzer.
if(EDGESEAL_FUZZ)
	add_compile_options(-fsanitize=fuzzer-no-link)
endif()
