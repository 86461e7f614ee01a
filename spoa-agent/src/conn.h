/*
 * conn.h: one SPOP connection from HAProxy: its buffers, the frame state
 * machine and its socket I/O.
 *
 * The state machine (es_conn_process) only moves bytes from the input
 * buffer to the output buffer, so tests and fuzzers drive it without a
 * socket: fill in/in_len, call es_conn_process(), read out/out_len. The
 * I/O half (es_conn_start and the libev callback) reads, processes and
 * flushes with one write per batch of whole frames.
 */
#ifndef ES_CONN_H
#define ES_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

enum es_conn_state {
	ES_CONN_HELLO,		/* waiting for HAPROXY-HELLO */
	ES_CONN_READY,		/* handshake done, NOTIFY accepted */
	ES_CONN_CLOSING,	/* flush what is queued, then close */
};

struct es_conn {
	uint64_t id;
	int fd;				/* -1 when driven without a socket */
	enum es_conn_state state;
	uint32_t limit;			/* our max-frame-size */
	uint32_t max_frame;		/* negotiated; limit before HELLO */
	bool healthcheck;
	bool draining;

	uint8_t *in;			/* received, not yet processed */
	size_t in_len, in_cap;
	uint8_t *out;			/* whole frames waiting for write() */
	size_t out_off, out_len, out_cap;
	unsigned acks_unflushed;	/* NOTIFYs answered, not yet sent */
	uint64_t notifies;

	/* socket side */
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;			/* hello, idle and closing deadlines */
	ev_tstamp started;		/* when es_conn_start ran */
	ev_tstamp last_io;		/* last read or write that moved bytes */
	double hello_timeout;		/* seconds; 0: no deadlines at all */
	double idle_timeout;		/* seconds */
	void (*on_close)(struct es_conn *c);	/* owner's hook */
	void *owner;
	struct es_conn *prev, *next;		/* owner's list */
};

/*
 * Allocate a connection for fd (or -1) with our frame size limit.
 * Returns NULL when out of memory. Free with es_conn_free().
 */
struct es_conn *es_conn_new(uint64_t id, int fd, uint32_t limit);

/* Close the socket (if any) and free everything. Accepts NULL. */
void es_conn_free(struct es_conn *c);

/*
 * Room to receive into: makes sure at least some bytes are free at
 * in + in_len without growing past the frame being assembled. Returns the
 * free byte count (0 means the buffer is full until processing).
 */
size_t es_conn_in_room(struct es_conn *c);

/*
 * Handle every complete frame in the input buffer, queueing answers.
 * Stops early when the output queue is full (back-pressure) or the
 * connection is closing. Returns false when the connection must be
 * closed right away (nothing more will be sent).
 */
bool es_conn_process(struct es_conn *c);

/*
 * Answer what has fully arrived, queue AGENT-DISCONNECT status 0 and close
 * once flushed (SIGTERM drain). With a socket this may free c.
 */
void es_conn_drain(struct es_conn *c);

/* Start watching the socket on loop; on_close is called before free. */
void es_conn_start(struct es_conn *c, struct ev_loop *loop);

/*
 * The deadline of c at the time its timer fires (pure): started +
 * hello_timeout before the HELLO, last_io + idle_timeout once ready, and
 * last_io + hello_timeout while closing (only a last frame is left to
 * flush). Returns seconds left, <= 0 when the deadline has passed.
 */
double es_conn_time_left(const struct es_conn *c, ev_tstamp now);

/*
 * Close c now (timeouts, eviction): once the handshake is done, one
 * non-blocking attempt to send AGENT-DISCONNECT with status and why;
 * then close whatever happened.
 * Frees c (on_close is called first).
 */
void es_conn_abort(struct es_conn *c, unsigned status, const char *why);

#endif
