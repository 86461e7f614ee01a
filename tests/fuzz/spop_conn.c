/*
 * spop_conn.c: fuzz the SPOP connection state machine without sockets.
 *
 * The first input byte picks the chunk size the rest is delivered in
 * (1..256 bytes per "read"), so the same frames are also cut at every
 * boundary. After each chunk every queued output frame is checked: whole,
 * FIN set, within the negotiated size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "snapshot.h"
#include "spop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
init_once(void)
{
	static int done;
	char err[256];
	struct es_config *cfg;

	if (done)
		return;
	done = 1;
	es_log_init(ES_LOG_ERROR, ES_LOG_LOGFMT, false);
	cfg = es_config_parse_string("[agent]\nmax_frame_size = 1024\n"
				     "[issuer f]\nissuer = x\n"
				     "[seal]\nkeyset = /k\n", "fuzz.conf",
				     err, sizeof(err));
	if (cfg == NULL)
		abort();
	es_snapshot_publish(es_snapshot_wrap(cfg,
		es_validator_new(cfg, err, sizeof(err))));
}

/* Output must be whole frames within the negotiated size; drop it. */
static void
check_and_drop_output(struct es_conn *c)
{
	size_t pos = c->out_off;

	while (pos < c->out_len) {
		uint32_t len;
		struct spop_frame f;

		if (spop_frame_length(c->out + pos, c->out_len - pos,
				      &len) != 1 ||
		    len > c->out_len - pos - 4 ||
		    spop_frame_decode(c->out + pos + 4, len, &f) != 0 ||
		    !(f.flags & SPOP_FL_FIN) ||
		    len > c->max_frame)
			abort();
		pos += 4 + len;
	}
	c->out_off = c->out_len = 0;
	c->acks_unflushed = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_conn *c;
	size_t chunk;

	if (size < 1)
		return 0;
	init_once();
	chunk = (size_t)data[0] + 1;
	data++;
	size--;

	c = es_conn_new(1, -1, 1024);
	if (c == NULL)
		return 0;
	while (size > 0 && c->state != ES_CONN_CLOSING) {
		size_t room = es_conn_in_room(c);
		size_t n = size < chunk ? size : chunk;

		if (room == 0) {
			/* Full and stuck: only legal while output waits. */
			check_and_drop_output(c);
			(void)es_conn_process(c);
			if (es_conn_in_room(c) == 0)
				abort();
			continue;
		}
		if (n > room)
			n = room;
		memcpy(c->in + c->in_len, data, n);
		c->in_len += n;
		data += n;
		size -= n;
		(void)es_conn_process(c);
		check_and_drop_output(c);
	}
	es_conn_free(c);
	return 0;
}
