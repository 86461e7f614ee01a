/*
 * worker.c: one libev loop per thread; see worker.h.
 *
 * Every worker watches every listening socket: the kernel wakes one or
 * more of them and accept() simply fails with EAGAIN in the others.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "spop.h"
#include "worker.h"

#define ACCEPT_BATCH 64
#define DRAIN_SECONDS 10.0

static uint64_t conn_ids;
static unsigned started_workers;	/* max_connections is split by these */

uint64_t
es_worker_next_conn_id(void)
{
	return __atomic_add_fetch(&conn_ids, 1, __ATOMIC_RELAXED);
}

static void
conn_unlink(struct es_conn *c)
{
	struct es_worker *w = c->owner;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	es_metrics_conn_closed();

	/* A draining worker is done when its last connection is gone. */
	if (w->draining && w->nconns == 0)
		ev_break(w->loop, EVBREAK_ONE);
}

/* What the current configuration says about new connections. */
struct conn_limits {
	uint32_t frame;
	double hello_timeout, idle_timeout;
	unsigned per_worker;
};

static void
current_limits(struct conn_limits *lim)
{
	struct es_snapshot *s = es_snapshot_acquire();
	unsigned workers = __atomic_load_n(&started_workers, __ATOMIC_RELAXED);
	unsigned total = s != NULL ? s->cfg->max_connections : 1000;

	lim->frame = s != NULL ? s->cfg->max_frame_size : 16380;
	lim->hello_timeout = s != NULL ? s->cfg->hello_timeout : 5;
	lim->idle_timeout = s != NULL ? s->cfg->idle_timeout : 300;
	es_snapshot_release(s);

	/* max_connections is for the agent: each worker gets its share. */
	if (workers == 0)
		workers = 1;
	lim->per_worker = (total + workers - 1) / workers;
}

/*
 * The connection to give up for a new one at the cap: the oldest that
 * has not finished its HELLO (HAProxy sends it at once, so these are the
 * cheapest to lose and what a flood is made of), else the one quiet for
 * longest. NULL when the worker has none.
 */
static struct es_conn *
eviction_victim(const struct es_worker *w)
{
	struct es_conn *hello = NULL, *quiet = NULL;

	for (struct es_conn *c = w->conns; c != NULL; c = c->next) {
		if (c->state == ES_CONN_HELLO &&
		    (hello == NULL || c->started < hello->started))
			hello = c;
		if (quiet == NULL || c->last_io < quiet->last_io)
			quiet = c;
	}
	return hello != NULL ? hello : quiet;
}

/* At the cap: close one connection so the new one fits. */
static void
make_room(struct es_worker *w, unsigned cap)
{
	struct es_conn *victim = eviction_victim(w);
	struct es_logline l;

	if (victim == NULL)
		return;
	w->evicted++;
	es_log_begin(&l, ES_LOG_WARN, "conn_limit", victim->id);
	es_log_uint(&l, "worker", w->index);
	es_log_uint(&l, "limit", cap);
	es_log_str(&l, "msg", victim->state == ES_CONN_HELLO ?
		   "closing a connection without HELLO" :
		   "closing the longest idle connection");
	es_log_uint(&l, "evicted", w->evicted);
	es_log_end(&l);
	es_conn_abort(victim, SPOP_ST_RES, "too many connections");
}

static void
add_conn(struct es_worker *w, int fd)
{
	struct es_conn *c;
	struct conn_limits lim;
	int one = 1;

	/* Small frames, answered at once: do not let Nagle hold them. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	current_limits(&lim);
	if (w->nconns >= lim.per_worker)
		make_room(w, lim.per_worker);
	c = es_conn_new(es_worker_next_conn_id(), fd, lim.frame);
	if (c == NULL) {
		es_log_msg(ES_LOG_ERROR, "accept", 0, "out of memory");
		close(fd);
		return;
	}
	c->hello_timeout = lim.hello_timeout;
	c->idle_timeout = lim.idle_timeout;
	c->owner = w;
	c->on_close = conn_unlink;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	es_metrics_conn_opened();
	es_log_msg(ES_LOG_DEBUG, "accept", c->id, "worker %u", w->index);
	es_conn_start(c, w->loop);
}

/*
 * Out of descriptors: stop accepting for 100 ms. The error is logged when
 * an episode starts and once more when accepting works again, not on
 * every retry, so a long shortage does not flood the log.
 */
static void
pause_accept(struct es_worker *w, int err)
{
	if (w->accept_pauses++ == 0)
		es_log_msg(ES_LOG_ERROR, "accept_paused", 0,
			   "worker %u: %s; retrying every 100 ms", w->index,
			   strerror(err));
	for (unsigned i = 0; i < w->nlisten; i++)
		ev_io_stop(w->loop, &w->accept_io[i]);
	ev_timer_set(&w->pause, 0.1, 0.);
	ev_timer_start(w->loop, &w->pause);
}

static void
accept_resumed(struct es_worker *w)
{
	es_log_msg(ES_LOG_INFO, "accept_resumed", 0,
		   "worker %u: accepting again after %lu pauses", w->index,
		   w->accept_pauses);
	w->accept_pauses = 0;
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct es_worker *w = io->data;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(io->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			if (w->accept_pauses > 0)
				accept_resumed(w);
			add_conn(w, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* Out of descriptors is an operator problem: say so. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS)
			pause_accept(w, errno);
		break;
	}
}

static void
on_pause_end(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct es_worker *w = t->data;

	if (w->draining)
		return;
	for (unsigned i = 0; i < w->nlisten; i++)
		ev_io_start(loop, &w->accept_io[i]);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct es_worker *w = t->data;

	es_log_msg(ES_LOG_WARN, "drain_timeout", 0,
		   "worker %u: %u connections still open", w->index,
		   w->nconns);
	ev_break(loop, EVBREAK_ONE);
}

static void
on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct es_worker *w = a->data;
	struct es_conn *c, *next;

	if (!__atomic_load_n(&w->stop_requested, __ATOMIC_ACQUIRE) ||
	    w->draining)
		return;
	w->draining = true;
	for (unsigned i = 0; i < w->nlisten; i++)
		ev_io_stop(loop, &w->accept_io[i]);
	ev_timer_stop(loop, &w->pause);

	/* es_conn_drain may free c: take next first. */
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		es_conn_drain(c);
	}
	if (w->nconns == 0) {
		ev_break(loop, EVBREAK_ONE);
		return;
	}
	ev_timer_set(&w->deadline, DRAIN_SECONDS, 0.);
	ev_timer_start(loop, &w->deadline);
}

int
es_worker_init(struct es_worker *w, unsigned index, const int *fds,
	       unsigned nfds)
{
	memset(w, 0, sizeof(*w));
	w->index = index;
	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (w->loop == NULL)
		return -1;

	ev_async_init(&w->wake, on_wake);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	ev_timer_init(&w->pause, on_pause_end, 0.1, 0.);
	w->pause.data = w;
	ev_timer_init(&w->deadline, on_deadline, DRAIN_SECONDS, 0.);
	w->deadline.data = w;

	w->nlisten = nfds;
	for (unsigned i = 0; i < nfds; i++) {
		ev_io_init(&w->accept_io[i], on_accept, fds[i], EV_READ);
		w->accept_io[i].data = w;
		ev_io_start(w->loop, &w->accept_io[i]);
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct es_worker *w = arg;

	ev_run(w->loop, 0);
	return NULL;
}

int
es_worker_start(struct es_worker *w)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);

	if (rc == 0)
		__atomic_add_fetch(&started_workers, 1, __ATOMIC_RELAXED);
	return rc;
}

void
es_worker_drain(struct es_worker *w)
{
	__atomic_store_n(&w->stop_requested, 1, __ATOMIC_RELEASE);
	ev_async_send(w->loop, &w->wake);
}

void
es_worker_join(struct es_worker *w)
{
	struct es_conn *c, *next;

	pthread_join(w->thread, NULL);

	/* Whatever outlived the drain deadline is closed here. */
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		ev_io_stop(w->loop, &c->io);
		es_conn_free(c);
	}
	w->conns = NULL;
	ev_loop_destroy(w->loop);
	w->loop = NULL;
}
