/*
 * main.c: edgeseal-spoa's command line, start-up, signals and reload.
 *
 * The main thread owns the default libev loop and nothing else: it turns
 * SIGHUP into a reload (build, validate, swap; see snapshot.h) and
 * SIGTERM/SIGINT into a drain of every worker. Workers serve HAProxy.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "listener.h"
#include "log.h"
#include "snapshot.h"
#include "worker.h"

#define ES_MAX_THREADS 64

struct agent {
	const char *path;
	bool foreground;
	int fds[ES_MAX_LISTEN];
	unsigned nfds;
	struct es_worker workers[ES_MAX_THREADS];
	unsigned nworkers;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: edgeseal-spoa -f FILE [-d] [-t]\n"
		"  -f FILE  configuration file (INI)\n"
		"  -t       check the configuration and keys, then exit\n"
		"  -d       stay in the foreground and log to stderr\n"
		"  -h       this help\n");
}

/* -t: parse and load everything, report, exit status. */
static int
check_only(const char *path)
{
	char err[512], desc[1024];
	struct es_snapshot *s = es_snapshot_build(path, err, sizeof(err));

	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	es_validator_describe(s->validator, desc, sizeof(desc));
	printf("%s: configuration OK\n", path);
	for (unsigned i = 0; i < s->cfg->listen_count; i++)
		printf("listen %s\n", s->cfg->listen[i]);
	printf("%s\n", desc);
	es_snapshot_release(s);
	return 0;
}

static int
open_listeners(struct agent *a, const struct es_config *cfg)
{
	char err[512];

	for (unsigned i = 0; i < cfg->listen_count; i++) {
		int fd = es_listener_open(cfg->listen[i], err, sizeof(err));

		if (fd < 0) {
			es_log_msg(ES_LOG_ERROR, "listen", 0, "%s", err);
			return -1;
		}
		a->fds[a->nfds++] = fd;
		es_log_msg(ES_LOG_INFO, "listen", 0, "%s", cfg->listen[i]);
	}
	return 0;
}

/* Close the sockets; unix socket files go too (best effort: after a
 * privilege drop the directory may no longer be writable). */
static void
close_listeners(struct agent *a, const struct es_config *cfg)
{
	for (unsigned i = 0; i < a->nfds; i++) {
		close(a->fds[i]);
		if (strncmp(cfg->listen[i], "unix:", 5) == 0)
			(void)unlink(cfg->listen[i] + 5);
	}
	a->nfds = 0;
}

/* Give up root once the sockets are bound. */
static int
drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		es_log_msg(ES_LOG_ERROR, "privileges", 0, "no user %s", user);
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		es_log_msg(ES_LOG_ERROR, "privileges", 0, "%s: %s", user,
			   strerror(errno));
		return -1;
	}
	return 0;
}

static void
on_reload(struct ev_loop *loop, ev_signal *sig, int revents)
{
	struct agent *a = sig->data;
	char err[512];
	struct es_snapshot *s;
	struct es_logline l;

	s = es_snapshot_build(a->path, err, sizeof(err));
	if (s == NULL) {
		es_log_begin(&l, ES_LOG_ERROR, "reload_failed", 0);
		es_log_str(&l, "msg", err);
		es_log_str(&l, "action", "keeping previous configuration");
		es_log_end(&l);
		return;
	}
	es_log_init(s->cfg->log_level, s->cfg->log_format, !a->foreground);
	es_snapshot_publish(s);

	es_log_begin(&l, ES_LOG_INFO, "reload", 0);
	es_log_uint(&l, "generation", s->generation);
	es_log_end(&l);
}

static void
on_stop(struct ev_loop *loop, ev_signal *sig, int revents)
{
	struct agent *a = sig->data;

	es_log_msg(ES_LOG_INFO, "stopping", 0, "draining %u workers",
		   a->nworkers);
	for (unsigned i = 0; i < a->nworkers; i++)
		es_worker_drain(&a->workers[i]);
	for (unsigned i = 0; i < a->nworkers; i++)
		es_worker_join(&a->workers[i]);
	a->nworkers = 0;
	ev_break(loop, EVBREAK_ALL);
}

static int
start_workers(struct agent *a, unsigned threads)
{
	if (threads > ES_MAX_THREADS)
		threads = ES_MAX_THREADS;
	for (unsigned i = 0; i < threads; i++) {
		if (es_worker_init(&a->workers[i], i, a->fds, a->nfds) != 0 ||
		    es_worker_start(&a->workers[i]) != 0) {
			es_log_msg(ES_LOG_ERROR, "start", 0,
				   "cannot start worker %u", i);
			return -1;
		}
		a->nworkers++;
	}
	return 0;
}

static int
serve(struct agent *a)
{
	struct ev_loop *loop;
	ev_signal hup, term, intr;
	struct es_snapshot *s;
	char err[512];
	int rc = 1;

	s = es_snapshot_build(a->path, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	es_log_init(s->cfg->log_level, s->cfg->log_format, false);
	es_snapshot_publish(s);

	/* Keep the first snapshot: its listen lines are what was bound,
	 * whatever a reload publishes later. */
	s = es_snapshot_acquire();
	if (open_listeners(a, s->cfg) != 0 ||
	    (s->cfg->user != NULL && drop_privileges(s->cfg->user) != 0))
		goto out;
	/* daemon() forks, and only this thread survives a fork: nothing
	 * before this point (es_validator_new included) may start one. */
	if (!a->foreground) {
		if (daemon(0, 0) != 0)
			goto out;
		es_log_init(s->cfg->log_level, s->cfg->log_format, true);
	}

	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(0);
	ev_signal_init(&hup, on_reload, SIGHUP);
	ev_signal_init(&term, on_stop, SIGTERM);
	ev_signal_init(&intr, on_stop, SIGINT);
	hup.data = term.data = intr.data = a;
	ev_signal_start(loop, &hup);
	ev_signal_start(loop, &term);
	ev_signal_start(loop, &intr);

	if (start_workers(a, s->cfg->threads) != 0) {
		on_stop(loop, &term, 0);
		goto out;
	}
	es_log_msg(ES_LOG_INFO, "started", 0, "%u workers, pid %ld",
		   a->nworkers, (long)getpid());
	ev_run(loop, 0);
	es_log_msg(ES_LOG_INFO, "stopped", 0, "bye");
	rc = 0;
out:
	close_listeners(a, s->cfg);
	es_snapshot_release(s);
	es_snapshot_shutdown();
	return rc;
}

int
main(int argc, char **argv)
{
	static struct agent a;
	bool check = false;
	int opt;

	while ((opt = getopt(argc, argv, "f:tdh")) != -1) {
		switch (opt) {
		case 'f':
			a.path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'd':
			a.foreground = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (a.path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (check)
		return check_only(a.path);
	return serve(&a);
}
