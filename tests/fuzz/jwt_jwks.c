/*
 * jwt_jwks.c (fuzz): any bytes as an issuer's JWKS file. A load either
 * fails leaving the keyring empty or adds keys that each carry a kid and
 * a key object.
 */
#include <stdint.h>
#include <stdlib.h>

#include "issuer_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_keyring kr = { 0 };
	char err[256];

	if (es_keyring_add_jwks(&kr, (const char *)data, size, "fuzz", err,
				sizeof(err)) != 0) {
		if (kr.count != 0)
			abort();
	} else {
		for (size_t i = 0; i < kr.count; i++)
			if (kr.keys[i].kid_len == 0 || kr.keys[i].pkey == NULL)
				abort();
	}
	es_keyring_clear(&kr);
	return 0;
}
