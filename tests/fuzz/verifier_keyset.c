/*
 * verifier_keyset.c: fuzz the key set (JWKS) parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgeseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edgeseal_keyset *ks;
	char err[256];

	err[0] = '\0';
	ks = edgeseal_keyset_parse((const char *)data, size, err, sizeof(err));
	if (ks == NULL) {
		/* Every refusal says why. */
		if (err[0] == '\0')
			abort();
		return 0;
	}

	/* An accepted set is never empty and every kid is found again. */
	if (edgeseal_keyset_count(ks) == 0)
		abort();
	for (size_t i = 0; i < edgeseal_keyset_count(ks); i++)
		if (!edgeseal_keyset_has_kid(ks, edgeseal_keyset_kid(ks, i)))
			abort();
	edgeseal_keyset_free(ks);
	return 0;
}
