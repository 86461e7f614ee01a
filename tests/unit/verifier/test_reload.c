/*
 * test_reload.c: edgeseal_verifier_reload_if_changed() and the watch
 * thread. Each step writes a key set the way deployment tools do (a new
 * file renamed over the old one, or a Kubernetes "..data" symlink swap)
 * and asserts on which seals verify afterwards. Successive key sets differ
 * in size (kids of different lengths): file times tick coarsely, and a
 * freed inode number may come back, so size is what tells two quick
 * rewrites apart (see docs/key-rotation.md, "Known limitations").
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base64url.h"
#include "edgeseal.h"

#define NOW 1800000000LL

struct dir {
	char path[PATH_MAX];
	char keys[PATH_MAX + 16];
};

/* Key set text of one key: kid and 32 bytes of fill. */
static void
keyset_text(const char *kid, uint8_t fill, char *out, size_t cap)
{
	uint8_t k[32];
	char b64[64];

	memset(k, fill, sizeof(k));
	b64[edgeseal__b64url_encode(k, sizeof(k), b64)] = '\0';
	snprintf(out, cap, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"%s\","
		 "\"alg\":\"HS256\",\"k\":\"%s\"}]}", kid, b64);
}

/* Write text to path through a temporary file and a rename. */
static void
write_renamed(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void
write_key(const char *path, const char *kid, uint8_t fill)
{
	char text[512];

	keyset_text(kid, fill, text, sizeof(text));
	write_renamed(path, text);
}

/* A seal minted with a key set of just (kid, fill). */
static void
mint_with(const char *kid, uint8_t fill, char *seal, size_t cap)
{
	char text[512];
	struct edgeseal_keyset *ks;
	struct edgeseal_mint_opts o = { .kid = kid, .sub = "alice" };
	size_t len;

	keyset_text(kid, fill, text, sizeof(text));
	ks = edgeseal_keyset_parse(text, strlen(text), NULL, 0);
	assert_non_null(ks);
	assert_int_equal(edgeseal_mint(ks, &o, NOW, seal, cap, &len),
			 EDGESEAL_OK);
	edgeseal_keyset_free(ks);
}

static int
verifies(struct edgeseal_verifier *v, const char *kid, uint8_t fill)
{
	char seal[1024];

	mint_with(kid, fill, seal, sizeof(seal));
	return edgeseal_verify(v, seal, strlen(seal), NOW, NULL) ==
	       EDGESEAL_OK;
}

static int
setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	snprintf(d->path, sizeof(d->path), "/tmp/es-reload-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->keys, sizeof(d->keys), "%s/seal.jwks", d->path);
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	struct dir *d = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static struct edgeseal_verifier *
verifier_on(const char *path)
{
	char err[256];
	struct edgeseal_keyset *ks = edgeseal_keyset_load(path, err,
							  sizeof(err));

	assert_non_null(ks);
	return edgeseal_verifier_new(NULL, ks);
}

static void
test_if_changed(void **state)
{
	struct dir *d = *state;
	struct edgeseal_verifier *v;
	char err[256];

	write_key(d->keys, "k1", 1);
	v = verifier_on(d->keys);

	/* The first call loads; then nothing changed. */
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), 1);
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), 0);
	assert_true(verifies(v, "k1", 1));

	/* Rotated by rename: picked up, old key gone. */
	write_key(d->keys, "key2", 2);
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), 1);
	assert_true(verifies(v, "key2", 2));
	assert_false(verifies(v, "k1", 1));

	/* A broken file keeps the old set, says why, and is not retried. */
	write_renamed(d->keys, "{\"keys\": [");
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), -1);
	assert_non_null(strstr(err, d->keys));
	assert_true(verifies(v, "key2", 2));
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), 0);

	/* Gone altogether: still the old set. */
	assert_int_equal(unlink(d->keys), 0);
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), -1);
	assert_true(verifies(v, "key2", 2));

	write_key(d->keys, "kid-3", 3);
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), 1);
	assert_true(verifies(v, "kid-3", 3));
	edgeseal_verifier_free(v);
}

/* Red team 6: handing a verifier the set it holds freed it (ASan). */
static void
test_set_same_keyset(void **state)
{
	struct dir *d = *state;
	struct edgeseal_keyset *ks;
	struct edgeseal_verifier *v;
	char err[256];

	write_key(d->keys, "k1", 1);
	ks = edgeseal_keyset_load(d->keys, err, sizeof(err));
	assert_non_null(ks);
	v = edgeseal_verifier_new(NULL, ks);
	edgeseal_verifier_set_keyset(v, ks);
	assert_true(verifies(v, "k1", 1));
	edgeseal_verifier_free(v);

	assert_null(edgeseal_keyset_load(NULL, err, sizeof(err)));
	assert_string_equal(err, "no key set path");
}

/*
 * Red team 6: a reload that failed for want of a descriptor was never
 * tried again, so the rotated key set was missed for good. Descriptors
 * are used up under a low RLIMIT_NOFILE, then given back.
 */
static void
test_if_changed_retries_unreadable(void **state)
{
	struct dir *d = *state;
	struct edgeseal_verifier *v;
	struct rlimit old, low;
	int fds[64], n = 0;
	char err[256];

	write_key(d->keys, "k1", 1);
	v = verifier_on(d->keys);
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, NULL,
		sizeof(err)), 1);

	write_key(d->keys, "k2", 2);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	fds[0] = open("/dev/null", O_RDONLY);	/* the lowest free fd */
	assert_true(fds[0] >= 0);
	close(fds[0]);
	low.rlim_cur = (rlim_t)fds[0] + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	assert_true(n < 64);

	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), -1);
	while (n > 0)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_non_null(strstr(err, "Too many open files"));
	assert_true(verifies(v, "k1", 1));

	/* Nothing changed on disk since, yet the next call loads it. */
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), 1);
	assert_true(verifies(v, "k2", 2));
	assert_int_equal(edgeseal_verifier_reload_if_changed(v, d->keys, err,
		sizeof(err)), 0);
	edgeseal_verifier_free(v);
}

struct seen {
	int reloads;
	int failures;
};

static void
on_done(void *arg, int rc, const char *err)
{
	struct seen *s = arg;

	if (rc > 0)
		__atomic_add_fetch(&s->reloads, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&s->failures, 1, __ATOMIC_RELAXED);
	(void)err;
}

/* Poll (at most 5 s) until kid/fill verifies. */
static int
eventually_verifies(struct edgeseal_verifier *v, const char *kid,
		    uint8_t fill)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 500; i++) {
		if (verifies(v, kid, fill))
			return 1;
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* Publish a Kubernetes-style version: ..<n>/seal.jwks, then ..data. */
static void
publish(const struct dir *d, int n, const char *kid, uint8_t fill)
{
	char vdir[PATH_MAX + 16], file[PATH_MAX + 32], link[PATH_MAX + 16];
	char data[PATH_MAX + 16], target[32];

	snprintf(vdir, sizeof(vdir), "%s/..%d", d->path, n);
	assert_int_equal(mkdir(vdir, 0700), 0);
	snprintf(file, sizeof(file), "%s/seal.jwks", vdir);
	write_key(file, kid, fill);
	snprintf(target, sizeof(target), "..%d", n);
	snprintf(link, sizeof(link), "%s/..data_tmp", d->path);
	snprintf(data, sizeof(data), "%s/..data", d->path);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(rename(link, data), 0);
}

static void
test_watch_thread(void **state)
{
	struct dir *d = *state;
	struct seen seen = { 0 };
	struct edgeseal_verifier *v;
	struct edgeseal_watch *w;

	/* seal.jwks -> ..data/seal.jwks, as a secret volume mounts it. */
	publish(d, 1, "k1", 1);
	assert_int_equal(symlink("..data/seal.jwks", d->keys), 0);
	v = verifier_on(d->keys);
	w = edgeseal_watch_new(v, d->keys, on_done, &seen);
	assert_non_null(w);

	publish(d, 2, "key2", 2);
	assert_true(eventually_verifies(v, "key2", 2));
	assert_false(verifies(v, "k1", 1));

	publish(d, 3, "kid-3", 3);
	assert_true(eventually_verifies(v, "kid-3", 3));

	edgeseal_watch_free(w);
	assert_true(__atomic_load_n(&seen.reloads, __ATOMIC_RELAXED) >= 2);
	assert_int_equal(seen.failures, 0);
	edgeseal_verifier_free(v);
	edgeseal_watch_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_if_changed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_if_changed_retries_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_same_keyset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch_thread, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
