# libedgeseal fuzz harnesses: the seal verifier and the key set parser.
edgeseal_fuzz_target(seal
	SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/verifier_seal.c
	LIBS edgeseal_static)
edgeseal_fuzz_target(keyset
	SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/verifier_keyset.c
	LIBS edgeseal_static)
target_include_directories(fuzz_seal PRIVATE
	${PROJECT_SOURCE_DIR}/verifier/src)
