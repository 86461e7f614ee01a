/*
 * edgeseal: the command line tool of libedgeseal: add keys to a key set,
 * mint, verify and inspect seals. See edgeseal(1).
 *
 * Exit status: 0 success, 1 refused or failed, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base64url.h"
#include "edgeseal.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define SEAL_BUF 16384

static const char usage_text[] =
"usage: edgeseal keygen --keyset FILE [--kid KID]\n"
"       edgeseal mint --keyset FILE [--kid KID] --sub SUB [--ttl S]\n"
"                     [--aud A] [--act SERVICE] [--iss I] [--at UNIXTIME]\n"
"                     [--claim NAME=VALUE]...\n"
"       edgeseal verify --keyset FILE [--iss I] [--aud A] [--user-id U]\n"
"                     [--at UNIXTIME] [--leeway S] [--max-lifetime S] SEAL\n"
"       edgeseal inspect SEAL\n"
"       edgeseal --help\n"
"\n"
"SEAL may be - to read it from standard input.\n"
"verify prints the identity as JSON and exits 0, or prints the reason\n"
"code and exits 1. inspect prints header and claims without checking\n"
"anything, marked UNVERIFIED.\n";

/* Every option of every command; each command accepts a subset. */
struct args {
	const char *keyset, *kid, *sub, *aud, *act, *iss, *user_id;
	const char *seal;
	unsigned ttl, leeway, max_lifetime;
	int64_t at;
	int has_at;
	json_t *claims;		/* --claim NAME=VALUE, in order */
};

enum opt_id {
	OPT_KEYSET = 256, OPT_KID, OPT_SUB, OPT_TTL, OPT_AUD, OPT_ACT, OPT_ISS,
	OPT_AT, OPT_CLAIM, OPT_USER_ID, OPT_LEEWAY, OPT_MAX_LIFETIME, OPT_HELP,
};

static const struct option all_options[] = {
	{ "keyset", required_argument, NULL, OPT_KEYSET },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "sub", required_argument, NULL, OPT_SUB },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "aud", required_argument, NULL, OPT_AUD },
	{ "act", required_argument, NULL, OPT_ACT },
	{ "iss", required_argument, NULL, OPT_ISS },
	{ "at", required_argument, NULL, OPT_AT },
	{ "claim", required_argument, NULL, OPT_CLAIM },
	{ "user-id", required_argument, NULL, OPT_USER_ID },
	{ "leeway", required_argument, NULL, OPT_LEEWAY },
	{ "max-lifetime", required_argument, NULL, OPT_MAX_LIFETIME },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* --help: the usage on standard output, and success. */
static int
help(void)
{
	fputs(usage_text, stdout);
	return 0;
}

static int
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "edgeseal: %s\n", why);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* A whole decimal number in [min, max]; -1 on anything else. */
static int
parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * NAME=VALUE into a.claims; VALUE is JSON when it parses, else a string.
 * What looks like a JSON object, array or string but does not parse (a
 * trailing comma, a member twice) is refused, not kept as a string: a
 * roles claim of "[\"admin\",]" would still match "admin" somewhere.
 */
static int
add_claim(struct args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	json_error_t jerr;
	char lead;
	json_t *value;
	char *name;
	int rc = -1;

	if (eq == NULL || eq == arg)
		return -1;
	name = strndup(arg, (size_t)(eq - arg));
	if (name == NULL || json_object_get(a->claims, name) != NULL)
		goto out;

	value = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			   &jerr);
	lead = eq[1 + strspn(eq + 1, " \t")];
	if (value == NULL && lead != '\0' && strchr("{[\"", lead) != NULL)
		goto out;
	if (value == NULL)
		value = json_string(eq + 1);
	/* set_new takes the value, or frees it when it fails. */
	rc = json_object_set_new(a->claims, name, value);
out:
	free(name);
	return rc == 0 ? 0 : -1;
}

/* Store the value of option id; -1 when it is not a valid value. */
static int
take_option(struct args *a, int id, const char *val)
{
	long long n;

	switch (id) {
	case OPT_KEYSET: a->keyset = val; return 0;
	case OPT_KID: a->kid = val; return 0;
	case OPT_SUB: a->sub = val; return 0;
	case OPT_AUD: a->aud = val; return 0;
	case OPT_ACT: a->act = val; return 0;
	case OPT_ISS: a->iss = val; return 0;
	case OPT_USER_ID: a->user_id = val; return 0;
	case OPT_CLAIM: return add_claim(a, val);
	case OPT_AT:
		if (parse_int(val, 1, INT64_MAX, &n) != 0)
			return -1;
		a->at = n;
		a->has_at = 1;
		return 0;
	}

	if (parse_int(val, 0, UINT32_MAX, &n) != 0)
		return -1;
	if (id == OPT_LEEWAY && n > 300)	/* what libedgeseal accepts */
		return -1;
	if (id == OPT_TTL)
		a->ttl = (unsigned)n;
	else if (id == OPT_LEEWAY)
		a->leeway = (unsigned)n;
	else if (id == OPT_MAX_LIFETIME)
		a->max_lifetime = (unsigned)n;
	else
		return -1;
	return 0;
}

/*
 * Parse the options of one command. allowed is a string of option ids
 * (as chars, offset from OPT_KEYSET); positional is how many operands the
 * command takes (0 or 1). Returns 0, 1 for --help, or -1 (usage printed).
 */
static int
parse_args(int argc, char **argv, const char *allowed, int positional,
	   struct args *a)
{
	int id;

	optind = 1;
	opterr = 1;
	while ((id = getopt_long(argc, argv, "", all_options, NULL)) != -1) {
		if (id == OPT_HELP)
			return 1;
		if (id == '?' || !strchr(allowed, 'a' + id - OPT_KEYSET)) {
			usage(id == '?' ? NULL : "option not valid here");
			return -1;
		}
		if (take_option(a, id, optarg) != 0) {
			fprintf(stderr, "edgeseal: bad value for --%s: %s\n",
				all_options[id - OPT_KEYSET].name, optarg);
			return -1;
		}
	}
	if (argc - optind != positional) {
		usage(positional ? "expected one SEAL" : "unexpected operand");
		return -1;
	}
	if (positional)
		a->seal = argv[optind];
	return 0;
}

#define ALLOW(...) ((const char[]){ __VA_ARGS__, 0 })
#define O(id) ((char)('a' + (id) - OPT_KEYSET))

static int64_t
now_of(const struct args *a)
{
	return a->has_at ? a->at : (int64_t)time(NULL);
}

static int
cmd_keygen(int argc, char **argv)
{
	struct args a = { 0 };
	char kid[256], err[512];
	int rc;

	rc = parse_args(argc, argv, ALLOW(O(OPT_KEYSET), O(OPT_KID)), 0, &a);
	if (rc != 0)
		return rc > 0 ? help() : EXIT_USAGE;
	if (a.keyset == NULL)
		return usage("keygen needs --keyset");

	if (edgeseal_keyset_add_key(a.keyset, a.kid, kid, sizeof(kid), err,
				    sizeof(err)) != EDGESEAL_OK) {
		fprintf(stderr, "edgeseal: %s\n", err);
		return EXIT_REFUSED;
	}
	printf("%s\n", kid);
	return 0;
}

/* Load the key set named by --keyset; NULL with the reason printed. */
static struct edgeseal_keyset *
load_keyset(const struct args *a)
{
	struct edgeseal_keyset *ks;
	char err[512];

	ks = edgeseal_keyset_load(a->keyset, err, sizeof(err));
	if (ks == NULL)
		fprintf(stderr, "edgeseal: %s\n", err);
	return ks;
}

static int
mint_with(const struct edgeseal_keyset *ks, const struct args *a)
{
	struct edgeseal_mint_opts o = {
		.kid = a->kid, .sub = a->sub, .issuer = a->iss,
		.audience = a->aud, .act = a->act, .ttl = a->ttl,
	};
	enum edgeseal_reason rc;
	char *claims = NULL;
	char seal[SEAL_BUF];
	size_t len = 0;

	if (json_object_size(a->claims) > 0) {
		claims = json_dumps(a->claims, JSON_COMPACT);
		o.claims_json = claims;
		o.claims_json_len = claims != NULL ? strlen(claims) : 0;
	}
	rc = edgeseal_mint(ks, &o, now_of(a), seal, sizeof(seal), &len);
	free(claims);
	if (rc != EDGESEAL_OK) {
		fprintf(stderr, "edgeseal: cannot mint: %s\n",
			edgeseal_reason_str(rc));
		if (rc == EDGESEAL_KEY_RESTRICTED)
			fputs("edgeseal: the key's edgeseal_sub_prefix, "
			      "edgeseal_require_act or edgeseal_allowed_claims "
			      "forbids this subject, act or --claim\n", stderr);
		return EXIT_REFUSED;
	}
	printf("%s\n", seal);
	return 0;
}

static int
cmd_mint(int argc, char **argv)
{
	struct args a = { .claims = json_object() };
	struct edgeseal_keyset *ks = NULL;
	int rc;

	rc = parse_args(argc, argv, ALLOW(O(OPT_KEYSET), O(OPT_KID),
		O(OPT_SUB), O(OPT_TTL), O(OPT_AUD), O(OPT_ACT), O(OPT_ISS),
		O(OPT_AT), O(OPT_CLAIM)), 0, &a);
	if (rc > 0)
		rc = help();
	else if (rc < 0)
		rc = EXIT_USAGE;
	else if (a.keyset == NULL || a.sub == NULL)
		rc = usage("mint needs --keyset and --sub");
	else if ((ks = load_keyset(&a)) == NULL)
		rc = EXIT_REFUSED;
	else
		rc = mint_with(ks, &a);

	edgeseal_keyset_free(ks);
	json_decref(a.claims);
	return rc;
}

/* The SEAL operand, or standard input's first line for "-". */
static char *
read_seal(const char *arg)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (strcmp(arg, "-") != 0)
		return strdup(arg);
	n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int
verify_with(struct edgeseal_verifier *v, const struct args *a,
	    const char *seal)
{
	struct edgeseal_request req = {
		.user_id = a->user_id, .user_id_count = 1,
		.internal_call = "true", .internal_call_count = 1,
		.seal = seal, .seal_count = 1,
	};
	struct edgeseal_identity *id = NULL;
	enum edgeseal_reason rc;
	char *json;

	/* With --user-id, check the seal as a service would, headers too. */
	if (a->user_id != NULL)
		rc = edgeseal_verify_request(v, &req, now_of(a), &id);
	else
		rc = edgeseal_verify(v, seal, strlen(seal), now_of(a), &id);
	if (rc != EDGESEAL_OK) {
		printf("%s\n", edgeseal_reason_str(rc));
		return EXIT_REFUSED;
	}

	json = edgeseal_identity_to_json(id);
	edgeseal_identity_free(id);
	if (json == NULL)
		return EXIT_REFUSED;
	printf("%s\n", json);
	free(json);
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	struct args a = { 0 };
	struct edgeseal_verifier_opts o = { 0 };
	struct edgeseal_verifier *v = NULL;
	struct edgeseal_keyset *ks;
	char *seal = NULL;
	int rc;

	rc = parse_args(argc, argv, ALLOW(O(OPT_KEYSET), O(OPT_ISS),
		O(OPT_AUD), O(OPT_USER_ID), O(OPT_AT), O(OPT_LEEWAY),
		O(OPT_MAX_LIFETIME)), 1, &a);
	if (rc != 0)
		return rc > 0 ? help() : EXIT_USAGE;
	if (a.keyset == NULL)
		return usage("verify needs --keyset");

	o.issuer = a.iss;
	o.audience = a.aud;
	o.leeway = a.leeway;
	o.max_lifetime = a.max_lifetime;
	ks = load_keyset(&a);
	if (ks != NULL)
		v = edgeseal_verifier_new(&o, ks);
	seal = read_seal(a.seal);
	if (ks == NULL) {
		printf("%s\n", edgeseal_reason_str(EDGESEAL_NO_KEY));
		rc = EXIT_REFUSED;
	} else if (v == NULL || seal == NULL) {
		printf("%s\n", edgeseal_reason_str(EDGESEAL_INTERNAL_ERROR));
		rc = EXIT_REFUSED;
	} else {
		rc = verify_with(v, &a, seal);
	}
	edgeseal_verifier_free(v);
	free(seal);
	return rc;
}

/* Decode one segment and print it as indented JSON under a label. */
static int
print_segment(const char *label, const char *text, size_t n)
{
	size_t cap = edgeseal__b64url_decoded_max(n), len = 0;
	uint8_t *raw = malloc(cap + 1);
	json_t *obj = NULL;
	char *pretty = NULL;
	int rc = -1;

	if (raw == NULL || edgeseal__b64url_decode(text, n, raw, cap, &len))
		goto out;
	obj = json_loadb((const char *)raw, len, JSON_DECODE_ANY, NULL);
	pretty = obj != NULL ? json_dumps(obj, JSON_INDENT(2) |
					  JSON_ENCODE_ANY) : NULL;
	if (pretty == NULL)
		goto out;
	printf("UNVERIFIED %s:\n%s\n", label, pretty);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "edgeseal: the %s is not base64url JSON\n",
			label);
	free(pretty);
	json_decref(obj);
	free(raw);
	return rc;
}

static int
cmd_inspect(int argc, char **argv)
{
	struct args a = { 0 };
	const char *d1, *d2;
	char *seal;
	int rc;

	rc = parse_args(argc, argv, ALLOW(0), 1, &a);
	if (rc != 0)
		return rc > 0 ? help() : EXIT_USAGE;
	seal = read_seal(a.seal);
	if (seal == NULL)
		return EXIT_REFUSED;

	rc = EXIT_REFUSED;
	d1 = strchr(seal, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d2 == NULL)
		fprintf(stderr, "edgeseal: not a JWS compact token\n");
	else if (print_segment("header", seal, (size_t)(d1 - seal)) == 0 &&
		 print_segment("claims", d1 + 1, (size_t)(d2 - d1 - 1)) == 0)
		rc = 0;
	free(seal);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} commands[] = {
		{ "keygen", cmd_keygen }, { "mint", cmd_mint },
		{ "verify", cmd_verify }, { "inspect", cmd_inspect },
	};

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0))
		return help();
	for (size_t i = 0; argc >= 2 && i < sizeof(commands) /
		sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage(argc < 2 ? "no command" : "unknown command");
}
