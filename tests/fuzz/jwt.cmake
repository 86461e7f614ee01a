# Fuzz harnesses of the agent's token validation (engineer "validation"):
# the strict JWT front end with the claim readers, and the JWKS parser.
edgeseal_fuzz_target(jwt
	SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/jwt_token.c
	LIBS edgeseal_agent)
edgeseal_fuzz_target(jwt_jwks
	SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/jwt_jwks.c
	LIBS edgeseal_agent)
