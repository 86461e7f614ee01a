/*
 * worker.h: one libev loop per thread, accepting on every listening
 * socket and serving the connections it accepted.
 */
#ifndef ES_WORKER_H
#define ES_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include <ev.h>

#include "config.h"

struct es_conn;

struct es_worker {
	unsigned index;
	pthread_t thread;
	struct ev_loop *loop;
	ev_async wake;			/* drain request from the main thread */
	ev_timer pause;			/* accept paused after EMFILE */
	ev_timer deadline;		/* drain gives up after this */
	ev_io accept_io[ES_MAX_LISTEN];
	unsigned nlisten;
	struct es_conn *conns;		/* live connections */
	unsigned nconns;
	unsigned long evicted;		/* closed at max_connections */
	unsigned long accept_pauses;	/* pauses since accept last worked */
	bool draining;
	int stop_requested;		/* atomic: set by es_worker_drain */
};

/*
 * Prepare a worker for the listening fds (not owned). Returns 0, or -1
 * when the loop cannot be created.
 */
int es_worker_init(struct es_worker *w, unsigned index, const int *fds,
		   unsigned nfds);

/* Run the loop on a new thread. Returns 0 or an errno value. */
int es_worker_start(struct es_worker *w);

/*
 * Ask the worker to stop accepting, answer what it has, disconnect its
 * connections and return from its loop (thread-safe).
 */
void es_worker_drain(struct es_worker *w);

/* Wait for the thread and free the loop. */
void es_worker_join(struct es_worker *w);

/* Connection ids are unique across workers; 0 is never used. */
uint64_t es_worker_next_conn_id(void);

#endif
