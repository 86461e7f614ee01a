# The validating half of the agent (engineer "validation"): the strict JWT
# front end, claims, issuer keys, signatures, the verified-token cache and
# the decision that mints the seal. See docs/token-validation.md.
set(ES_VALIDATE_SOURCES
	${CMAKE_CURRENT_LIST_DIR}/src/jwt_front.c
	${CMAKE_CURRENT_LIST_DIR}/src/claims.c
	${CMAKE_CURRENT_LIST_DIR}/src/issuer_keys.c
	${CMAKE_CURRENT_LIST_DIR}/src/signature.c
	${CMAKE_CURRENT_LIST_DIR}/src/token_cache.c
	${CMAKE_CURRENT_LIST_DIR}/src/validator.c
	${CMAKE_CURRENT_LIST_DIR}/src/jwks_fetch.c)

# Validation throughput against raw OpenSSL; built, never installed.
# It borrows the unit tests' key and token helpers; bench/run expects the
# binary in the build tree's bench/ folder.
if(EXISTS "${PROJECT_SOURCE_DIR}/bench/jwt_bench.c")
	add_executable(edgeseal-jwt-bench
		"${PROJECT_SOURCE_DIR}/bench/jwt_bench.c"
		"${PROJECT_SOURCE_DIR}/tests/unit/jwt/jwt_testlib.c")
	target_include_directories(edgeseal-jwt-bench PRIVATE
		"${PROJECT_SOURCE_DIR}/tests/unit/jwt")
	target_link_libraries(edgeseal-jwt-bench PRIVATE edgeseal_agent)
	set_target_properties(edgeseal-jwt-bench PROPERTIES
		RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/bench")
endif()
