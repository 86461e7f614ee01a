/*
 * main.c: edgeseal-spoa's command line, start-up, signals and reload.
 *
 * The main thread owns the default libev loop and nothing else: it turns
 * SIGHUP into a reload (build, validate, swap; see snapshot.h) and
 * SIGTERM/SIGINT into a drain of every worker. Workers serve HAProxy.
 *
 * Start-up order matters: parse the file, bind every socket (perhaps a
 * privileged port), drop to `user`, and only then load the keys, so the
 * keys are read as the user that will read them again on every reload.
 * Threads (workers, the metrics server) start after daemon(), which
 * keeps only the calling thread.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#ifdef ES_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "worker.h"

#define ES_MAX_THREADS 64

struct agent {
	const char *path;
	bool foreground;
	struct es_config *boot;	/* as parsed at start: what was bound */
	int fds[ES_MAX_LISTEN];
	unsigned nfds;
	int metrics_fd;			/* -1 when no metrics listener */
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

/* Tell systemd (Type=notify) how we are doing; a no-op elsewhere. */
static void
notify(const char *state)
{
#ifdef ES_HAVE_SYSTEMD
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

/* systemd wants the monotonic time with RELOADING=1 (sd_notify(3)). */
static void
notify_reloading(void)
{
	char msg[64];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
		 (unsigned long long)ts.tv_nsec / 1000ull);
	notify(msg);
}

/*
 * Become user for good: supplementary groups, group, then user (in that
 * order: each step needs the privilege the next one gives up). Returns 0,
 * or -1 with "user NAME: why" in err.
 */
static int
drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		snprintf(err, errlen, "user %s: no such user", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s: is root, nothing to drop",
			 user);
		return -1;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
		return 0;	/* started as that user already */

	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "user %s: %s", user, strerror(errno));
		return -1;
	}

	/* A drop that could be undone is no drop: prove it cannot. */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 ||
	    getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
	    getgid() != pw->pw_gid || getegid() != pw->pw_gid) {
		snprintf(err, errlen, "user %s: root could be regained",
			 user);
		return -1;
	}
	return 0;
}

/* Load keys as the user that will run, so ownership checks agree. */
static int
check_as_user(const struct es_config *cfg, char *err, size_t errlen)
{
	if (cfg->user == NULL || geteuid() != 0)
		return 0;
	return drop_privileges(cfg->user, err, errlen);
}

/* Print the validator's "a; b; c" description one item a line. */
static void
print_items(const char *desc)
{
	const char *p = desc, *sep;

	while ((sep = strstr(p, "; ")) != NULL) {
		printf("%.*s\n", (int)(sep - p), p);
		p = sep + 2;
	}
	if (*p != '\0')
		printf("%s\n", p);
}

static void
print_loaded(const char *path, const struct es_snapshot *s)
{
	const struct es_config *cfg = s->cfg;
	char desc[4096];

	printf("%s: configuration OK\n", path);
	for (unsigned i = 0; i < cfg->listen_count; i++)
		printf("listen %s\n", cfg->listen[i]);
	printf("threads %u\n", cfg->threads);
	printf("metrics %s\n", cfg->metrics ? cfg->metrics : "off");
	printf("user %s\n", cfg->user ? cfg->user : "(unchanged)");
	es_validator_describe(s->validator, desc, sizeof(desc));
	print_items(desc);
	for (unsigned i = 0;
	     es_config_warning(cfg, i, desc, sizeof(desc)) == 0; i++)
		fprintf(stderr, "%s: warning: %s\n", path, desc);
}

/* What the configuration allows but probably does not mean, at warn. */
static void
log_warnings(const struct es_config *cfg)
{
	char line[512];

	for (unsigned i = 0;
	     es_config_warning(cfg, i, line, sizeof(line)) == 0; i++)
		es_log_msg(ES_LOG_WARN, "config_warning", 0, "%s", line);
}

/* -t: parse and load everything as the agent would, report, exit. */
static int
check_only(const char *path)
{
	char err[512];
	struct es_config *cfg = es_config_parse(path, err, sizeof(err));
	struct es_snapshot *s = NULL;
	int rc = 1;

	if (cfg == NULL)
		goto out;
	if (check_as_user(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: ", path);
		goto out;
	}
	s = es_snapshot_build(path, err, sizeof(err));
	if (s == NULL)
		goto out;
	print_loaded(path, s);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	es_snapshot_release(s);
	es_config_free(cfg);
	return rc;
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
	if (cfg->metrics == NULL)
		return 0;

	a->metrics_fd = es_listener_open(cfg->metrics, err, sizeof(err));
	if (a->metrics_fd < 0) {
		es_log_msg(ES_LOG_ERROR, "listen", 0, "metrics: %s", err);
		return -1;
	}
	return 0;
}

/*
 * Open the listeners; with user set (and started as root), with the
 * user's group as the effective one, so unix sockets are created
 * root:<group> 0660 and HAProxy's user gets in by joining that group
 * (usermod -aG edgeseal haproxy). Nothing is changed by name after the
 * bind.
 */
static int
open_listeners_as(struct agent *a, const char *user)
{
	struct passwd *pw = user != NULL && geteuid() == 0 ? getpwnam(user)
							   : NULL;
	gid_t saved = getegid();
	int rc;

	if (pw != NULL && setegid(pw->pw_gid) != 0) {
		es_log_msg(ES_LOG_ERROR, "listen", 0, "user %s: setegid: %s",
			   user, strerror(errno));
		return -1;
	}
	rc = open_listeners(a, a->boot);
	if (pw != NULL && setegid(saved) != 0) {
		es_log_msg(ES_LOG_ERROR, "listen", 0, "setegid back: %s",
			   strerror(errno));
		return -1;
	}
	return rc;
}

/* Close the sockets; unix socket files we bound go too (best effort:
 * after a privilege drop the directory may no longer be writable). */
static void
close_listeners(struct agent *a, const struct es_config *cfg)
{
	for (unsigned i = 0; i < a->nfds; i++) {
		close(a->fds[i]);
		es_listener_unlink(cfg->listen[i]);
	}
	a->nfds = 0;
}

/* The metrics server is optional: failing to start it is only logged. */
static void
start_metrics(struct agent *a)
{
	char err[512];

	if (a->metrics_fd < 0)
		return;
	if (es_metrics_start(a->metrics_fd, err, sizeof(err)) != 0)
		es_log_msg(ES_LOG_ERROR, "metrics", 0, "%s", err);
	else
		es_log_msg(ES_LOG_INFO, "metrics", 0, "serving /metrics on %s",
			   a->boot->metrics);
	a->metrics_fd = -1;
}

static void
on_reload(struct ev_loop *loop, ev_signal *sig, int revents)
{
	struct agent *a = sig->data;
	char err[512];
	struct es_snapshot *s;
	struct es_logline l;
	const char *what;

	notify_reloading();
	s = es_snapshot_build(a->path, err, sizeof(err));
	if (s == NULL) {
		es_metrics_reload(false);
		es_log_begin(&l, ES_LOG_ERROR, "reload_failed", 0);
		es_log_str(&l, "msg", err);
		es_log_str(&l, "action", "keeping previous configuration");
		es_log_end(&l);
		notify("READY=1\nSTATUS=reload failed, previous "
		       "configuration serving");
		return;
	}
	es_log_init(s->cfg->log_level, s->cfg->log_format, !a->foreground);
	if (es_config_needs_restart(a->boot, s->cfg, &what))
		es_log_msg(ES_LOG_WARN, "restart_needed", 0, "%s changed: "
			   "listen, threads, user and metrics change only "
			   "on restart; the rest is reloaded", what);
	log_warnings(s->cfg);
	es_snapshot_publish(s);
	es_metrics_reload(true);

	es_log_begin(&l, ES_LOG_INFO, "reload", 0);
	es_log_uint(&l, "generation", s->generation);
	es_log_end(&l);
	notify("READY=1\nSTATUS=serving");
}

static void
on_stop(struct ev_loop *loop, ev_signal *sig, int revents)
{
	struct agent *a = sig->data;

	notify("STOPPING=1");
	es_log_msg(ES_LOG_INFO, "stopping", 0, "draining %u workers",
		   a->nworkers);
	for (unsigned i = 0; i < a->nworkers; i++)
		es_worker_drain(&a->workers[i]);
	for (unsigned i = 0; i < a->nworkers; i++)
		es_worker_join(&a->workers[i]);
	a->nworkers = 0;
	ev_break(loop, EVBREAK_ALL);
}

/* Once a second: report warnings the rate limit held back. */
static void
on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	es_log_flush_suppressed();
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

/*
 * Bind, drop privileges, load the keys. Returns the first snapshot
 * (published, plus one reference for the caller), or NULL after saying
 * why on stderr.
 */
static struct es_snapshot *
boot(struct agent *a)
{
	char err[512];
	struct es_snapshot *s;

	a->boot = es_config_parse(a->path, err, sizeof(err));
	if (a->boot == NULL)
		goto fail;
	es_log_init(a->boot->log_level, a->boot->log_format, false);
	if (open_listeners_as(a, a->boot->user) != 0)
		return NULL;
	if (a->boot->user != NULL &&
	    drop_privileges(a->boot->user, err, sizeof(err)) != 0)
		goto fail;

	s = es_snapshot_build(a->path, err, sizeof(err));
	if (s == NULL)
		goto fail;
	es_log_init(s->cfg->log_level, s->cfg->log_format, false);
	log_warnings(s->cfg);
	es_snapshot_publish(s);
	if (a->boot->user != NULL)
		es_log_msg(ES_LOG_INFO, "privileges", 0, "running as %s "
			   "(uid %ld)", a->boot->user, (long)getuid());
	return es_snapshot_acquire();
fail:
	fprintf(stderr, "%s\n", err);
	return NULL;
}

static int
serve(struct agent *a)
{
	struct ev_loop *loop;
	ev_signal hup, term, intr;
	ev_timer tick;
	struct es_file_watch *watch;
	struct es_snapshot *s;
	int rc = 1;

	a->metrics_fd = -1;
	s = boot(a);
	if (s == NULL)
		goto out;
	/* daemon() forks, and only this thread survives a fork: nothing
	 * before this point (es_validator_new included) may start one. */
	if (!a->foreground) {
		if (daemon(0, 0) != 0)
			goto out;
		es_log_init(s->cfg->log_level, s->cfg->log_format, true);
	}
	start_metrics(a);

	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(0);
	ev_signal_init(&hup, on_reload, SIGHUP);
	ev_signal_init(&term, on_stop, SIGTERM);
	ev_signal_init(&intr, on_stop, SIGINT);
	hup.data = term.data = intr.data = a;
	ev_signal_start(loop, &hup);
	ev_signal_start(loop, &term);
	ev_signal_start(loop, &intr);
	ev_timer_init(&tick, on_tick, 1., 1.);
	ev_timer_start(loop, &tick);

	if (start_workers(a, s->cfg->threads) != 0) {
		on_stop(loop, &term, 0);
		goto out;
	}
	/* Everything is in place (watches too) once "started" is logged. */
	watch = es_file_watch_start(loop, a->path);
	es_log_msg(ES_LOG_INFO, "started", 0, "%u workers, pid %ld",
		   a->nworkers, (long)getpid());
	notify("READY=1\nSTATUS=serving");
	ev_run(loop, 0);
	es_file_watch_stop(watch);
	es_log_msg(ES_LOG_INFO, "stopped", 0, "bye");
	rc = 0;
out:
	es_metrics_stop();
	if (a->metrics_fd >= 0)
		close(a->metrics_fd);
	if (a->boot != NULL && a->boot->metrics != NULL)
		es_listener_unlink(a->boot->metrics);	/* a unix: one */
	if (a->boot != NULL)
		close_listeners(a, a->boot);
	es_snapshot_release(s);
	es_snapshot_shutdown();
	es_config_free(a->boot);
	return rc;
}

/*
 * The configuration path made absolute against the start folder, so a
 * reload after daemon() (which moves to /) reads the same file. Symbolic
 * links are kept, not resolved: Kubernetes swaps a "..data" link under
 * the path, and a reload must follow the link to its new target. NULL
 * when the start folder cannot be named.
 */
static const char *
absolute_path(const char *path)
{
	static char buf[PATH_MAX];
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		return path;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	n = snprintf(buf, sizeof(buf), "%s/%s", cwd, path);
	return n > 0 && (size_t)n < sizeof(buf) ? buf : NULL;
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
	a.path = absolute_path(a.path);
	if (a.path == NULL) {
		fprintf(stderr, "edgeseal-spoa: cannot name the current "
			"folder: %s\n", strerror(errno));
		return 1;
	}
	return serve(&a);
}
