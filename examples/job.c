/*
 * job.c: edgeseal-example-job, a scheduled job with no user request behind
 * it, calling an internal service the way the gateway would.
 *
 * The job holds its own service key (a key set with one key, usually
 * restricted to some subjects and to seals that name the acting service),
 * mints a seal for itself with `act` set, and calls users/me with the
 * three headers. It prints the status and the body, and exits 0 on 200.
 *
 *   edgeseal-example-job --keyset FILE --kid KID --sub SUB --act SERVICE
 *                        --users http://127.0.0.1:8081
 *                        [--iss edgeseal] [--aud A] [--ttl 60]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http_util.h"

#define PROG "edgeseal-example-job"

struct job {
	const char *keyset_path;
	char users_url[512];
	struct edgeseal_mint_opts mint;
};

/* Mint a seal for the job into seal. Returns 0, or -1 after a message. */
static int
mint_seal(const struct job *job, char *seal, size_t seal_size)
{
	struct edgeseal_keyset *ks;
	enum edgeseal_reason r = EDGESEAL_NO_KEY;
	char err[256] = "";
	size_t len;

	ks = edgeseal_keyset_load(job->keyset_path, err, sizeof(err));
	if (ks == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}

	/* The library refuses a sub or act the key is not allowed to mint. */
	r = edgeseal_mint(ks, &job->mint, time(NULL), seal, seal_size, &len);
	if (r != EDGESEAL_OK)
		fprintf(stderr, PROG ": cannot mint: %s\n",
			edgeseal_reason_str(r));
out:
	edgeseal_keyset_free(ks);
	return r == EDGESEAL_OK ? 0 : -1;
}

/* Call users with the seal; print what it said. Returns its status. */
static long
call_users(const struct job *job, const char *seal)
{
	struct edgeseal_request hdrs = {
		.user_id = job->mint.sub, .user_id_count = 1,
		.internal_call = "true", .internal_call_count = 1,
		.seal = seal, .seal_count = 1,
	};
	char err[CURL_ERROR_SIZE];
	char *body = NULL;
	long status = 0;

	if (ex_get_sealed(job->users_url, &hdrs, &status, &body, err,
			  sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", job->users_url, err);
		return 0;
	}

	printf("status: %ld\n%s\n", status, body);
	free(body);
	return status;
}

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " --keyset FILE --kid KID --sub SUB "
			"--act SERVICE --users URL [--iss ISS] [--aud AUD] "
			"[--ttl S]\n");
}

static int
parse_args(int argc, char **argv, struct job *job)
{
	static const struct option longopts[] = {
		{ "keyset", required_argument, NULL, 'k' },
		{ "kid", required_argument, NULL, 'K' },
		{ "sub", required_argument, NULL, 's' },
		{ "act", required_argument, NULL, 'A' },
		{ "users", required_argument, NULL, 'u' },
		{ "iss", required_argument, NULL, 'i' },
		{ "aud", required_argument, NULL, 'a' },
		{ "ttl", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *users = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': job->keyset_path = optarg; break;
		case 'K': job->mint.kid = optarg; break;
		case 's': job->mint.sub = optarg; break;
		case 'A': job->mint.act = optarg; break;
		case 'u': users = optarg; break;
		case 'i': job->mint.issuer = optarg; break;
		case 'a': job->mint.audience = optarg; break;
		case 't':
			if (ex_parse_uint(optarg, 3600, &job->mint.ttl) != 0)
				goto bad;
			break;
		default: goto bad;
		}
	}

	if (optind != argc || job->keyset_path == NULL ||
	    job->mint.kid == NULL || job->mint.sub == NULL ||
	    job->mint.act == NULL || users == NULL)
		goto bad;
	if (ex_join_url(users, "/users/me", job->users_url,
			sizeof(job->users_url)) != 0)
		goto bad;
	return 0;
bad:
	usage();
	return -1;
}

int
main(int argc, char **argv)
{
	struct job job = { .mint = { .ttl = 60 } };
	char seal[4096];
	long status = 0;
	int ret = 2;

	if (parse_args(argc, argv, &job) != 0)
		goto out;

	ret = 1;
	if (mint_seal(&job, seal, sizeof(seal)) != 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto out;

	status = call_users(&job, seal);
	curl_global_cleanup();
	ret = status == 200 ? 0 : 1;
out:
	/* The seal is a bearer credential until it expires. */
	explicit_bzero(seal, sizeof(seal));
	return ret;
}
