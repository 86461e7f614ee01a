/*
 * test_threads.c: verifications running while another thread swaps the
 * key set. Every seal by the key both sets hold must pass; a seal by the
 * key only one set holds passes or fails with unknown_kid, nothing else.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"

#define READERS 4
#define ROUNDS 3000
#define SWAPS 400

struct shared {
	struct edgeseal_verifier *v;
	pthread_barrier_t start;
	char user_seal[1024];	/* by k1: in both sets */
	char job_seal[1024];	/* by job: only in the full set */
};

struct counts {
	struct shared *s;
	unsigned user_ok, job_ok, job_unknown, other;
};

static void *
reader(void *arg)
{
	struct counts *c = arg;
	struct shared *s = c->s;
	enum edgeseal_reason rc;

	pthread_barrier_wait(&s->start);
	for (int i = 0; i < ROUNDS; i++) {
		rc = edgeseal_verify(s->v, s->user_seal, strlen(s->user_seal),
				     T_NOW, NULL);
		c->user_ok += rc == EDGESEAL_OK;
		c->other += rc != EDGESEAL_OK;
		rc = edgeseal_verify(s->v, s->job_seal, strlen(s->job_seal),
				     T_NOW, NULL);
		c->job_ok += rc == EDGESEAL_OK;
		c->job_unknown += rc == EDGESEAL_UNKNOWN_KID;
		c->other += rc != EDGESEAL_OK && rc != EDGESEAL_UNKNOWN_KID;
	}
	return NULL;
}

static void
test_swap_under_load(void **state)
{
	struct edgeseal_mint_opts uo = { .kid = "k1", .sub = "alice" };
	struct edgeseal_mint_opts jo = { .kid = "job", .sub = "job:n",
					 .act = "svc" };
	struct edgeseal_keyset *ks = t_keyset(1);
	struct counts c[READERS];
	pthread_t t[READERS];
	struct shared s;
	size_t len;

	(void)state;
	memset(c, 0, sizeof(c));
	s.v = t_verifier(NULL, NULL, 0, 0);
	assert_int_equal(edgeseal_mint(ks, &uo, T_NOW, s.user_seal,
		sizeof(s.user_seal), &len), EDGESEAL_OK);
	assert_int_equal(edgeseal_mint(ks, &jo, T_NOW, s.job_seal,
		sizeof(s.job_seal), &len), EDGESEAL_OK);
	edgeseal_keyset_free(ks);

	pthread_barrier_init(&s.start, NULL, READERS + 1);
	for (int i = 0; i < READERS; i++) {
		c[i].s = &s;
		assert_int_equal(pthread_create(&t[i], NULL, reader, &c[i]), 0);
	}
	pthread_barrier_wait(&s.start);
	for (int i = 0; i < SWAPS; i++)
		edgeseal_verifier_set_keyset(s.v, t_keyset(i % 2 == 0));
	for (int i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);

	for (int i = 0; i < READERS; i++) {
		assert_int_equal(c[i].user_ok, ROUNDS);
		assert_int_equal(c[i].job_ok + c[i].job_unknown, ROUNDS);
		assert_int_equal(c[i].other, 0);
	}
	/* The last swap installed the set without the job key. */
	assert_int_equal(edgeseal_verify(s.v, s.job_seal, strlen(s.job_seal),
					 T_NOW, NULL), EDGESEAL_UNKNOWN_KID);
	pthread_barrier_destroy(&s.start);
	edgeseal_verifier_free(s.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_under_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
