# The validating half of the agent (engineer "validation"): the strict JWT
# front end, claims, issuer keys, signatures, the verified-token cache and
# the decision that mints the seal. See docs/token-validation.md.
set(ES_VALIDATE_SOURCES
	${CMAKE_CURRENT_LIST_DIR}/src/jwt_front.c
	${CMAKE_CURRENT_LIST_DIR}/src/claims.c
	${CMAKE_CURRENT_LIST_DIR}/src/issuer_keys.c
	${CMAKE_CURRENT_LIST_DIR}/src/signature.c
	${CMAKE_CURRENT_LIST_DIR}/src/token_cache.c
	${CMAKE_CURRENT_LIST_DIR}/src/validator.c)

# Validation throughput against raw OpenSSL; built, never installed.
if(EXISTS "${PROJECT_SOURCE_DIR}/bench/jwt_bench.c")
	add_executable(edgeseal-jwt-bench "${PROJECT_SOURCE_DIR}/bench/jwt_bench.c")
	target_link_libraries(edgeseal-jwt-bench PRIVATE edgeseal_agent)
endif()
