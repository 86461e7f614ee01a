/*
 * config_parse.c: fuzz es_config_parse_string(). Any text must give
 * either a configuration or a "name:line: message" error, never a crash
 * or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	char *text = malloc(size + 1);
	struct es_config *cfg;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	err[0] = '\0';
	cfg = es_config_parse_string(text, "fuzz.conf", err, sizeof(err));
	if (cfg == NULL && strncmp(err, "fuzz.conf:", 10) != 0)
		abort();	/* every failure names the file and line */
	es_config_free(cfg);
	free(text);
	return 0;
}
