/*
 * conn.c: one SPOP connection; see conn.h.
 *
 * Order of the file: buffers, answers to each frame type, the frame loop
 * (pure: bytes in, bytes out), then the socket half.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "spop.h"
#include "validator.h"

#define IN_INITIAL 4096
/* Whole frames queued before we stop reading (back-pressure). */
#define OUT_FRAMES 4

/* The SPOE message and argument of the haproxy-conf contract. */
#define MSG_CHECK "edgeseal-check"
#define ARG_AUTH "auth"

static size_t
frame_room(const struct es_conn *c)
{
	return (size_t)c->max_frame + SPOP_LEN_SIZE;
}

struct es_conn *
es_conn_new(uint64_t id, int fd, uint32_t limit)
{
	struct es_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->id = id;
	c->fd = fd;
	c->limit = limit;
	c->max_frame = limit;
	c->state = ES_CONN_HELLO;

	c->in_cap = (size_t)limit + SPOP_LEN_SIZE;
	if (c->in_cap > IN_INITIAL)
		c->in_cap = IN_INITIAL;
	c->in = malloc(c->in_cap);
	if (c->in == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
es_conn_free(struct es_conn *c)
{
	if (c == NULL)
		return;
	if (c->loop != NULL)
		ev_timer_stop(c->loop, &c->timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static bool
grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (*cap >= need)
		return true;
	p = realloc(*buf, need);
	if (p == NULL)
		return false;
	*buf = p;
	*cap = need;
	return true;
}

size_t
es_conn_in_room(struct es_conn *c)
{
	uint32_t flen;

	/* Grow only to the announced frame, and only if it is acceptable. */
	if (c->in_len == c->in_cap &&
	    spop_frame_length(c->in, c->in_len, &flen) == 1 &&
	    flen <= c->max_frame && flen + SPOP_LEN_SIZE > c->in_cap)
		(void)grow(&c->in, &c->in_cap, flen + SPOP_LEN_SIZE);
	return c->in_cap - c->in_len;
}

/* Make room for one more whole frame at out + out_len. */
static bool
out_reserve(struct es_conn *c)
{
	size_t need = c->out_len + frame_room(c);

	if (c->out_cap >= need)
		return true;
	if (need < 2 * c->out_cap)
		need = 2 * c->out_cap;
	return grow(&c->out, &c->out_cap, need);
}

/* --- answers ------------------------------------------------------ */

static void
queue_disconnect(struct es_conn *c, enum spop_status st, const char *why)
{
	size_t n;

	if (st != SPOP_ST_NONE) {
		struct es_logline l;

		es_log_begin(&l, ES_LOG_WARN, "disconnect_sent", c->id);
		es_log_uint(&l, "status", st);
		es_log_str(&l, "msg", why);
		es_log_end(&l);
	}
	es_metrics_disconnect(true, st);
	c->state = ES_CONN_CLOSING;
	if (!out_reserve(c))
		return;
	n = spop_agent_disconnect(c->out + c->out_len,
				  c->out_cap - c->out_len, st, why);
	c->out_len += n;
}

static void
log_hello(const struct es_conn *c, const struct spop_hello *h)
{
	struct es_logline l;

	es_log_begin(&l, ES_LOG_DEBUG, "hello", c->id);
	es_log_uint(&l, "max_frame_size", c->max_frame);
	es_log_mem(&l, "caps", h->caps, h->caps_len);
	es_log_str(&l, "healthcheck", h->healthcheck ? "true" : "false");
	es_log_end(&l);
}

static void
on_hello(struct es_conn *c, const struct spop_frame *f)
{
	struct spop_hello h;
	uint64_t size;

	if (c->state != ES_CONN_HELLO || f->sid != 0 || f->fid != 0) {
		queue_disconnect(c, SPOP_ST_INVALID, "unexpected HELLO");
		return;
	}
	if (spop_hello_parse(f, &h) != SPOP_ST_NONE) {
		queue_disconnect(c, SPOP_ST_INVALID, "malformed HELLO");
		return;
	}
	if (!h.has_version) {
		queue_disconnect(c, SPOP_ST_NO_VSN, "version missing");
		return;
	}
	if (!h.version_ok) {
		queue_disconnect(c, SPOP_ST_BAD_VSN, "only SPOP 2.0");
		return;
	}
	if (!h.has_frame_size) {
		queue_disconnect(c, SPOP_ST_NO_FRAME_SIZE,
				 "max-frame-size missing");
		return;
	}

	/* Negotiate down, never up: the smaller of the two limits. */
	size = h.frame_size < c->limit ? h.frame_size : c->limit;
	if (size < SPOP_MIN_FRAME_SIZE) {
		queue_disconnect(c, SPOP_ST_BAD_FRAME_SIZE,
				 "max-frame-size too small");
		return;
	}
	c->max_frame = (uint32_t)size;
	c->healthcheck = h.healthcheck;
	log_hello(c, &h);

	if (!out_reserve(c)) {
		c->state = ES_CONN_CLOSING;
		return;
	}
	c->out_len += spop_agent_hello(c->out + c->out_len,
				       c->out_cap - c->out_len, c->max_frame);

	/* A health check only wants the hello; close once it is sent. */
	c->state = h.healthcheck ? ES_CONN_CLOSING : ES_CONN_READY;
}

static void
on_haproxy_disconnect(struct es_conn *c, const struct spop_frame *f)
{
	uint64_t status;
	const uint8_t *msg;
	size_t msg_len;
	struct es_logline l;

	if (spop_disconnect_parse(f, &status, &msg, &msg_len) !=
	    SPOP_ST_NONE) {
		queue_disconnect(c, SPOP_ST_INVALID, "malformed DISCONNECT");
		return;
	}

	/* HAProxy closing an idle connection is routine, not a warning. */
	es_log_begin(&l, status == 0 || status == SPOP_ST_TIMEOUT ?
		     ES_LOG_DEBUG : ES_LOG_INFO, "peer_disconnect", c->id);
	es_log_uint(&l, "status", status);
	es_log_mem(&l, "msg", msg, msg_len);
	es_log_end(&l);
	es_metrics_disconnect(false, status);
	queue_disconnect(c, SPOP_ST_NONE, "bye");
}

/* Where the auth argument of one message stands. */
enum auth_state { AUTH_ABSENT, AUTH_VALUE, AUTH_MISTYPED };

static enum auth_state
find_auth(struct spop_msg *m, const uint8_t **val, size_t *len)
{
	struct spop_arg a;

	while (spop_arg_next(m, &a) == 1) {
		if (a.name_len != strlen(ARG_AUTH) ||
		    memcmp(a.name, ARG_AUTH, a.name_len) != 0)
			continue;
		switch (a.value.type) {
		case SPOP_DT_NULL:
			return AUTH_ABSENT;
		case SPOP_DT_STRING:
		case SPOP_DT_BINARY:
			*val = a.value.ptr;
			*len = a.value.len;
			return AUTH_VALUE;
		default:
			return AUTH_MISTYPED;
		}
	}
	return AUTH_ABSENT;
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
log_decision(const struct es_conn *c, const struct spop_frame *f,
	     const struct es_decision *d, int64_t us)
{
	struct es_logline l;
	bool ok = d->reason == EDGESEAL_OK;

	es_log_begin(&l, ES_LOG_INFO, "decision", c->id);
	es_log_uint(&l, "sid", f->sid);
	es_log_uint(&l, "fid", f->fid);
	es_log_str(&l, "result", ok ? "allow" : "deny");
	if (!ok)
		es_log_str(&l, "reason", edgeseal_reason_str(d->reason));
	if (d->iss_len > 0)
		es_log_mem(&l, "iss", d->iss, d->iss_len);
	if (d->kid_len > 0)
		es_log_mem(&l, "kid", d->kid, d->kid_len);
	if (d->token_fp[0] != '\0')
		es_log_str(&l, "token_fp", d->token_fp);
	es_log_int(&l, "us", us);
	es_log_str(&l, "cache", d->cache_hit ? "hit" : "miss");
	es_log_end(&l);
}

/* Decide one edgeseal-check message and append its actions. */
static void
answer_check(struct es_conn *c, const struct spop_frame *f,
	     struct spop_msg *m, struct es_snapshot *snap,
	     struct spop_writer *w, struct es_decision *d)
{
	const uint8_t *auth = NULL;
	size_t auth_len = 0;
	enum auth_state st = find_auth(m, &auth, &auth_len);
	int64_t t0 = mono_us(), us;

	memset(d, 0, sizeof(*d));
	if (st == AUTH_MISTYPED)
		d->reason = EDGESEAL_MALFORMED_TOKEN;
	else if (snap == NULL)
		d->reason = EDGESEAL_INTERNAL_ERROR;
	else
		es_decide(snap->validator, (const char *)auth, auth_len,
			  (int64_t)time(NULL), d);
	us = mono_us() - t0;
	log_decision(c, f, d, us);
	es_metrics_decision(snap ? snap->cfg : NULL, d, us, time(NULL));

	if (d->reason != EDGESEAL_OK) {
		const char *r = edgeseal_reason_str(d->reason);

		spop_put_set_var_string(w, SPOP_SCOPE_TXN, "reason", r,
					strlen(r));
		return;
	}
	spop_put_set_var_bool(w, SPOP_SCOPE_TXN, "valid", true);
	spop_put_set_var_string(w, SPOP_SCOPE_TXN, "sub", d->sub, d->sub_len);
	spop_put_set_var_string(w, SPOP_SCOPE_TXN, "seal", d->seal,
				d->seal_len);
	spop_put_set_var_string(w, SPOP_SCOPE_TXN, "iss", d->iss, d->iss_len);
	spop_put_set_var_string(w, SPOP_SCOPE_TXN, "kid", d->kid, d->kid_len);
}

/*
 * Build the ACK for one NOTIFY at out + out_len. Returns its size, 0 when
 * it does not fit the negotiated size, -1 when the NOTIFY is malformed.
 */
static long
build_ack(struct es_conn *c, const struct spop_frame *f,
	  struct es_snapshot *snap)
{
	static __thread struct es_decision d;
	struct spop_writer w;
	struct spop_msg m;
	const uint8_t *p = f->payload;
	unsigned actions = 0;
	int rc;

	spop_frame_begin(&w, c->out + c->out_len, c->out_cap - c->out_len,
			 SPOP_FT_ACK, f->sid, f->fid);
	while ((rc = spop_msg_next(&p, f->end, &m)) == 1) {
		if (m.name_len == strlen(MSG_CHECK) &&
		    memcmp(m.name, MSG_CHECK, m.name_len) == 0)
			answer_check(c, f, &m, snap, &w, &d);
		else
			spop_put_unset_var(&w, SPOP_SCOPE_TXN, "valid");
		actions++;
	}
	if (rc < 0)
		return -1;

	/* HAProxy 3.1 could stall on an empty ACK: always one action. */
	if (actions == 0)
		spop_put_unset_var(&w, SPOP_SCOPE_TXN, "valid");
	return (long)spop_frame_end(&w, c->max_frame);
}

/* The answer did not fit the frame: say so in a frame that does. */
static size_t
build_small_ack(struct es_conn *c, const struct spop_frame *f)
{
	const char *r = edgeseal_reason_str(EDGESEAL_INTERNAL_ERROR);
	struct spop_writer w;

	es_log_msg(ES_LOG_WARN, "ack_too_large", c->id,
		   "answer exceeds max-frame-size %u", c->max_frame);
	spop_frame_begin(&w, c->out + c->out_len, c->out_cap - c->out_len,
			 SPOP_FT_ACK, f->sid, f->fid);
	spop_put_set_var_string(&w, SPOP_SCOPE_TXN, "reason", r, strlen(r));
	return spop_frame_end(&w, c->max_frame);
}

static void
on_notify(struct es_conn *c, const struct spop_frame *f)
{
	struct es_snapshot *snap;
	long n;

	if (c->state != ES_CONN_READY) {
		queue_disconnect(c, SPOP_ST_INVALID, "NOTIFY before HELLO");
		return;
	}
	if (es_log_enabled(ES_LOG_DEBUG)) {
		struct es_logline l;

		es_log_begin(&l, ES_LOG_DEBUG, "notify", c->id);
		es_log_uint(&l, "sid", f->sid);
		es_log_uint(&l, "fid", f->fid);
		es_log_uint(&l, "inflight", c->acks_unflushed + 1);
		es_log_end(&l);
	}

	/* Each NOTIFY is answered with the snapshot current right now. */
	snap = es_snapshot_acquire();
	n = build_ack(c, f, snap);
	es_snapshot_release(snap);

	if (n < 0) {
		queue_disconnect(c, SPOP_ST_INVALID, "malformed NOTIFY");
		return;
	}
	if (n == 0)
		n = (long)build_small_ack(c, f);
	c->out_len += (size_t)n;
	c->acks_unflushed++;
	c->notifies++;
}

static void
on_frame(struct es_conn *c, const uint8_t *body, size_t len)
{
	struct spop_frame f;

	if (spop_frame_decode(body, len, &f) != 0) {
		queue_disconnect(c, SPOP_ST_INVALID, "truncated frame header");
		return;
	}

	es_metrics_frame(f.type);

	/* We never announce fragmentation, so every frame must be whole. */
	if (!(f.flags & SPOP_FL_FIN)) {
		queue_disconnect(c, SPOP_ST_FRAG_NOT_SUPPORTED,
				 "fragmentation not supported");
		return;
	}

	switch (f.type) {
	case SPOP_FT_HAPROXY_HELLO:
		on_hello(c, &f);
		break;
	case SPOP_FT_HAPROXY_DISCONNECT:
		on_haproxy_disconnect(c, &f);
		break;
	case SPOP_FT_NOTIFY:
		on_notify(c, &f);
		break;
	default:
		queue_disconnect(c, SPOP_ST_INVALID, "unexpected frame type");
		break;
	}
}

/* --- the frame loop ----------------------------------------------- */

static bool
out_full(const struct es_conn *c)
{
	return c->out_len - c->out_off >= OUT_FRAMES * frame_room(c);
}

bool
es_conn_process(struct es_conn *c)
{
	size_t pos = 0;

	while (c->state != ES_CONN_CLOSING && !out_full(c)) {
		uint32_t flen;

		if (spop_frame_length(c->in + pos, c->in_len - pos, &flen) != 1)
			break;
		if (flen == 0) {
			queue_disconnect(c, SPOP_ST_INVALID, "empty frame");
			break;
		}
		if (flen > c->max_frame) {
			queue_disconnect(c, SPOP_ST_TOO_BIG, "frame too big");
			break;
		}
		if (c->in_len - pos - SPOP_LEN_SIZE < flen)
			break;	/* the rest comes with a later read */
		if (!out_reserve(c))
			return false;

		on_frame(c, c->in + pos + SPOP_LEN_SIZE, flen);
		pos += SPOP_LEN_SIZE + flen;
	}

	/* Keep the unprocessed tail at the start of the buffer. */
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	return c->state != ES_CONN_CLOSING || c->out_len > c->out_off;
}

/* --- socket half -------------------------------------------------- */

static void
conn_close(struct es_conn *c)
{
	ev_io_stop(c->loop, &c->io);
	if (c->on_close != NULL)
		c->on_close(c);
	es_conn_free(c);
}

/* Write queued frames. Returns false when the connection died. */
static bool
flush(struct es_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off,
				  c->out_len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			es_log_msg(ES_LOG_DEBUG, "close", c->id,
				   "write: %s", strerror(errno));
			return false;
		}
		c->out_off += (size_t)n;
		c->last_io = ev_now(c->loop);
	}
	c->out_off = 0;
	c->out_len = 0;
	c->acks_unflushed = 0;
	return true;
}

/* Read once. Returns false on EOF or error. */
static bool
fill(struct es_conn *c)
{
	size_t room = es_conn_in_room(c);
	ssize_t n;

	if (room == 0)
		return true;
	n = read(c->fd, c->in + c->in_len, room);
	if (n > 0) {
		c->in_len += (size_t)n;
		c->last_io = ev_now(c->loop);
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return true;

	/* EOF or reset without DISCONNECT is how 3.x drops idle links. */
	if (n == 0 && c->in_len > 0)
		es_log_msg(ES_LOG_DEBUG, "close", c->id,
			   "eof with %zu bytes of a partial frame", c->in_len);
	else
		es_log_msg(ES_LOG_DEBUG, "close", c->id, "%s",
			   n == 0 ? "eof" : strerror(errno));
	return false;
}

/* Watch for reads unless output is backed up, for writes while queued. */
static void
rearm(struct es_conn *c)
{
	int events = 0;

	if (c->state != ES_CONN_CLOSING && !out_full(c) &&
	    es_conn_in_room(c) > 0)
		events |= EV_READ;
	if (c->out_len > c->out_off)
		events |= EV_WRITE;
	if (events == (c->io.events & (EV_READ | EV_WRITE)))
		return;
	ev_io_stop(c->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->loop, &c->io);
}

/* --- deadlines ----------------------------------------------------- */

double
es_conn_time_left(const struct es_conn *c, ev_tstamp now)
{
	/* From the accept, not the last byte: a trickled HELLO is no HELLO. */
	if (c->state == ES_CONN_HELLO)
		return c->started + c->hello_timeout - now;
	if (c->state == ES_CONN_CLOSING)
		return c->last_io + c->hello_timeout - now;
	return c->last_io + c->idle_timeout - now;
}

void
es_conn_abort(struct es_conn *c, unsigned status, const char *why)
{
	uint8_t buf[128];
	size_t n = 0;

	/* Queued output is dropped: this peer is not reading it anyway.
	 * Before HELLO there is no SPOP session to end: just close, as
	 * HAProxy does when its own hello timeout strikes. */
	if (c->state == ES_CONN_READY)
		n = spop_agent_disconnect(buf, sizeof(buf),
					  (enum spop_status)status, why);
	if (n > 0 && write(c->fd, buf, n) == (ssize_t)n)
		es_metrics_disconnect(true, status);
	c->state = ES_CONN_CLOSING;
	conn_close(c);
}

/*
 * Say why a deadline closed c. Rate limited (warn), since anyone who can
 * reach the port can cause one per connection.
 */
static void
log_expired(const struct es_conn *c, const char *what, double limit)
{
	struct es_logline l;

	es_log_begin(&l, ES_LOG_WARN, "conn_timeout", c->id);
	es_log_str(&l, "msg", what);
	es_log_uint(&l, "seconds", (uint64_t)limit);
	es_log_uint(&l, "notifies", c->notifies);
	es_log_end(&l);
}

/*
 * The one timer of a connection, set for the earliest time its deadline
 * can pass; traffic only moves last_io, and the callback re-arms for what
 * is left (the libev documentation's cheapest idle timeout pattern).
 */
static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct es_conn *c = t->data;
	double left = es_conn_time_left(c, ev_now(loop));

	if (left > 0) {
		t->repeat = left;
		ev_timer_again(loop, t);
		return;
	}
	if (c->state == ES_CONN_HELLO) {
		log_expired(c, "no HELLO in time", c->hello_timeout);
		es_conn_abort(c, SPOP_ST_TIMEOUT, "hello timeout");
	} else if (c->state == ES_CONN_READY) {
		log_expired(c, "idle", c->idle_timeout);
		es_conn_abort(c, SPOP_ST_TIMEOUT, "idle timeout");
	} else {
		log_expired(c, "peer does not read", c->hello_timeout);
		es_conn_abort(c, SPOP_ST_TIMEOUT, "closing timeout");
	}
}

static void
start_timer(struct es_conn *c)
{
	c->started = c->last_io = ev_now(c->loop);
	ev_init(&c->timer, on_timer);
	c->timer.data = c;
	if (c->hello_timeout <= 0)
		return;		/* no limits given (tests) */
	c->timer.repeat = c->hello_timeout;
	ev_timer_again(c->loop, &c->timer);
}

/* Process, flush, and process again what back-pressure held; then
 * close or wait for the next event. May free c. */
static void
pump(struct es_conn *c)
{
	for (int round = 0; round < 4; round++) {
		size_t before = c->in_len;

		if (!es_conn_process(c) || !flush(c))
			goto close;
		if (c->in_len == before || c->out_len > 0)
			break;
	}
	if (c->state == ES_CONN_CLOSING && c->out_len == 0)
		goto close;
	rearm(c);
	return;
close:
	conn_close(c);
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct es_conn *c = w->data;

	if ((revents & EV_READ) && !fill(c)) {
		conn_close(c);
		return;
	}
	pump(c);
}

void
es_conn_start(struct es_conn *c, struct ev_loop *loop)
{
	c->loop = loop;
	ev_io_init(&c->io, on_io, c->fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	start_timer(c);
}

void
es_conn_drain(struct es_conn *c)
{
	c->draining = true;
	if (c->state == ES_CONN_CLOSING)
		return;

	/* Answer what has fully arrived, then say goodbye. */
	(void)es_conn_process(c);
	if (c->state != ES_CONN_CLOSING)
		queue_disconnect(c, SPOP_ST_NONE, "agent is stopping");
	if (c->loop != NULL)
		pump(c);
}
