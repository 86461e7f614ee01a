/*
 * metrics.c: counters, their Prometheus text and the HTTP listener; see
 * metrics.h.
 *
 * Order of the file: storage (shards and label tables), recording, the
 * text render, then the libmicrohttpd listener.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef ES_HAVE_MHD
#include <microhttpd.h>
#endif

#include "metrics.h"
#include "snapshot.h"
#include "spop.h"

#define SHARDS 8
#define LABEL_MAX 130		/* a kid is at most ES_KID_MAX (128) */
#define SERIES_MAX 64		/* (issuer, kid) pairs seen in decisions */
#define SEAL_KIDS_MAX 16
#define JWKS_ISSUERS_MAX ES_MAX_ISSUERS
#define STATUS_SLOTS 17		/* SPOP status 0..15, then "other" */
#define OTHER "_other"

/* SPOP frame kinds we count separately. */
enum frame_kind {
	FRAME_HELLO,
	FRAME_NOTIFY,
	FRAME_DISCONNECT,
	FRAME_OTHER,
	FRAME_KIND_COUNT
};

/* Latency bucket bounds in microseconds, rendered in seconds. */
static const int64_t lat_le_us[] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000,
};
#define LAT_BUCKETS (sizeof(lat_le_us) / sizeof(*lat_le_us) + 1)

/* Skew bounds in seconds; negative means iat is ahead of our clock. */
static const int64_t skew_le_s[] = {
	-60, -30, -10, -5, -2, -1, 0, 1, 2, 5, 10, 30, 60, 300, 3600,
};
#define SKEW_BUCKETS (sizeof(skew_le_s) / sizeof(*skew_le_s) + 1)

/* What worker threads add to on every request, one copy per shard. */
struct shard {
	uint64_t reasons[EDGESEAL_REASON_COUNT];
	uint64_t series[SERIES_MAX + 1][2];	/* [pair][allow, deny] */
	uint64_t cache[2];			/* hit, miss */
	uint64_t lat[LAT_BUCKETS];
	uint64_t lat_sum_us;
	uint64_t skew[SKEW_BUCKETS];
	int64_t skew_sum_s;
	uint64_t frames[FRAME_KIND_COUNT];
	uint64_t seals[SEAL_KIDS_MAX + 1];
} __attribute__((aligned(64)));

/*
 * A fixed set of label values, filled on first use and never emptied:
 * readers probe without a lock, a writer claims a free slot under it.
 */
struct label_slot {
	int ready;		/* atomic: 1 once a and b are written */
	char a[LABEL_MAX];
	char b[LABEL_MAX];
};

struct label_table {
	struct label_slot *slots;
	unsigned cap;
	pthread_mutex_t lock;
};

static struct shard shards[SHARDS];
static unsigned shard_next;
static __thread int my_shard = -1;

static struct label_slot series_slots[SERIES_MAX];
static struct label_slot seal_slots[SEAL_KIDS_MAX];
static struct label_slot issuer_slots[JWKS_ISSUERS_MAX];
static struct label_table series_tab = {
	series_slots, SERIES_MAX, PTHREAD_MUTEX_INITIALIZER
};
static struct label_table seal_tab = {
	seal_slots, SEAL_KIDS_MAX, PTHREAD_MUTEX_INITIALIZER
};
static struct label_table issuer_tab = {
	issuer_slots, JWKS_ISSUERS_MAX, PTHREAD_MUTEX_INITIALIZER
};

/* Rare events: plain atomics, no shards. */
static uint64_t conns_opened, conns_closed;
static uint64_t disconnects[2][STATUS_SLOTS];	/* [received, sent] */
static uint64_t reloads[2];			/* ok, failed */
static uint64_t jwks[JWKS_ISSUERS_MAX + 1][ES_JWKS_RESULT_COUNT];
static int64_t keys_at[JWKS_ISSUERS_MAX + 1];
static int64_t started_at;

static const char *const frame_names[FRAME_KIND_COUNT] = {
	"haproxy_hello", "notify", "haproxy_disconnect", "other",
};

static const char *const jwks_names[ES_JWKS_RESULT_COUNT] = {
	"ok", "not_modified", "network_error", "http_error", "invalid",
};

/* --- storage ------------------------------------------------------ */

static struct shard *
my(void)
{
	if (my_shard < 0)
		my_shard = (int)(__atomic_fetch_add(&shard_next, 1,
						    __ATOMIC_RELAXED) % SHARDS);
	return &shards[my_shard];
}

static void
add(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static uint32_t
hash2(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static bool
slot_is(const struct label_slot *s, const char *a, const char *b)
{
	return strncmp(s->a, a, LABEL_MAX - 1) == 0 &&
	       strncmp(s->b, b, LABEL_MAX - 1) == 0;
}

/* Under the lock: find (a, b) again, or take the first free slot. */
static unsigned
label_claim(struct label_table *t, const char *a, const char *b,
	    uint32_t h)
{
	unsigned idx = t->cap;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->cap; i++) {
		struct label_slot *s = &t->slots[(h + i) % t->cap];

		if (s->ready && slot_is(s, a, b)) {
			idx = (unsigned)(s - t->slots);
			break;
		}
		if (!s->ready) {
			snprintf(s->a, sizeof(s->a), "%s", a);
			snprintf(s->b, sizeof(s->b), "%s", b);
			__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
			idx = (unsigned)(s - t->slots);
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return idx;
}

/*
 * The slot of (a, b), claimed on first use; t->cap (the "_other" row)
 * once every slot holds another pair.
 */
static unsigned
label_index(struct label_table *t, const char *a, const char *b)
{
	uint32_t h = hash2(a, b);

	for (unsigned i = 0; i < t->cap; i++) {
		struct label_slot *s = &t->slots[(h + i) % t->cap];

		if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
			return label_claim(t, a, b, h);
		if (slot_is(s, a, b))
			return (unsigned)(s - t->slots);
	}
	return t->cap;
}

static const char *
label_a(const struct label_table *t, unsigned i)
{
	return i < t->cap ? t->slots[i].a : OTHER;
}

static const char *
label_b(const struct label_table *t, unsigned i)
{
	return i < t->cap ? t->slots[i].b : OTHER;
}

static bool
label_used(const struct label_table *t, unsigned i)
{
	return i >= t->cap ||
	       __atomic_load_n(&t->slots[i].ready, __ATOMIC_ACQUIRE);
}

void
es_metrics_reset(void)
{
	memset(shards, 0, sizeof(shards));
	memset(series_slots, 0, sizeof(series_slots));
	memset(seal_slots, 0, sizeof(seal_slots));
	memset(issuer_slots, 0, sizeof(issuer_slots));
	conns_opened = conns_closed = 0;
	memset(disconnects, 0, sizeof(disconnects));
	memset(reloads, 0, sizeof(reloads));
	memset(jwks, 0, sizeof(jwks));
	memset(keys_at, 0, sizeof(keys_at));
}

/* --- recording ---------------------------------------------------- */

static unsigned
bucket(const int64_t *le, size_t n, int64_t v)
{
	unsigned i = 0;

	while (i < n && v > le[i])
		i++;
	return i;
}

/* The section name whose issuer value is iss; NULL when none. */
static const char *
issuer_name(const struct es_config *cfg, const char *iss)
{
	if (cfg == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg->issuer_count; i++) {
		const struct es_issuer_conf *ic = &cfg->issuers[i];

		if (ic->issuer != NULL && strcmp(ic->issuer, iss) == 0)
			return ic->name != NULL ? ic->name : "";
	}
	return NULL;
}

static void
record_issuer(struct shard *sh, const struct es_config *cfg,
	      const struct es_decision *d, bool ok)
{
	const char *name;
	unsigned idx;

	/* d->iss is set only once it matched a configured issuer. */
	if (d->iss_len == 0)
		return;
	name = issuer_name(cfg, d->iss);
	idx = name != NULL ? label_index(&series_tab, name, d->kid)
			   : SERIES_MAX;
	add(&sh->series[idx][ok ? 0 : 1], 1);
}

void
es_metrics_decision(const struct es_config *cfg, const struct es_decision *d,
		    int64_t us, int64_t now)
{
	struct shard *sh = my();
	bool ok = d->reason == EDGESEAL_OK;
	unsigned r = (unsigned)d->reason;

	add(&sh->reasons[r < EDGESEAL_REASON_COUNT ? r
			 : EDGESEAL_INTERNAL_ERROR], 1);
	record_issuer(sh, cfg, d, ok);

	if (us < 0)
		us = 0;
	add(&sh->lat[bucket(lat_le_us, LAT_BUCKETS - 1, us)], 1);
	add(&sh->lat_sum_us, (uint64_t)us);

	/* A token was hashed and looked up only when it had a fingerprint. */
	if (d->token_fp[0] != '\0' && cfg != NULL && cfg->cache_entries > 0)
		add(&sh->cache[d->cache_hit ? 0 : 1], 1);

	/* Skew is only telling for a token seen for the first time. */
	if (ok && !d->cache_hit && d->iat != 0) {
		int64_t skew = now - d->iat;

		add(&sh->skew[bucket(skew_le_s, SKEW_BUCKETS - 1, skew)], 1);
		__atomic_fetch_add(&sh->skew_sum_s, skew, __ATOMIC_RELAXED);
	}
}

void
es_metrics_seal_minted(const char *kid)
{
	add(&my()->seals[label_index(&seal_tab, "", kid ? kid : "")], 1);
}

void
es_metrics_conn_opened(void)
{
	add(&conns_opened, 1);
}

void
es_metrics_conn_closed(void)
{
	add(&conns_closed, 1);
}

void
es_metrics_frame(unsigned spop_type)
{
	enum frame_kind k = FRAME_OTHER;

	if (spop_type == SPOP_FT_HAPROXY_HELLO)
		k = FRAME_HELLO;
	else if (spop_type == SPOP_FT_NOTIFY)
		k = FRAME_NOTIFY;
	else if (spop_type == SPOP_FT_HAPROXY_DISCONNECT)
		k = FRAME_DISCONNECT;
	add(&my()->frames[k], 1);
}

void
es_metrics_disconnect(bool sent, uint64_t status)
{
	if (status >= STATUS_SLOTS - 1)
		status = STATUS_SLOTS - 1;
	add(&disconnects[sent ? 1 : 0][status], 1);
}

void
es_metrics_reload(bool ok)
{
	add(&reloads[ok ? 0 : 1], 1);
}

void
es_metrics_jwks_fetch(const char *issuer, enum es_jwks_result result)
{
	unsigned i = label_index(&issuer_tab, issuer ? issuer : "", "");

	if ((unsigned)result >= ES_JWKS_RESULT_COUNT)
		result = ES_JWKS_INVALID;
	add(&jwks[i][result], 1);
}

void
es_metrics_keys_updated(const char *issuer, int64_t fetched_at)
{
	unsigned i = label_index(&issuer_tab, issuer ? issuer : "", "");

	__atomic_store_n(&keys_at[i], fetched_at, __ATOMIC_RELAXED);
}

/* --- render ------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int tries = 0; tries < 2 && !b->failed; tries++) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}

		/* Grow once to fit, then print again. */
		size_t cap = b->cap * 2 + (size_t)n;
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void
out_label(struct buf *b, const char *s)
{
	char tmp[2 * LABEL_MAX + 1];
	size_t n = 0;

	for (; *s != '\0' && n + 2 < sizeof(tmp); s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			tmp[n++] = '\\';
			tmp[n++] = *s == '\n' ? 'n' : *s;
		} else {
			tmp[n++] = *s;
		}
	}
	tmp[n] = '\0';
	out(b, "%s", tmp);
}

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

#define SUM_SHARDS(total, expr)					\
	do {							\
		(total) = 0;					\
		for (unsigned s_ = 0; s_ < SHARDS; s_++) {	\
			const struct shard *sh = &shards[s_];	\
			(total) += get(&(expr));		\
		}						\
	} while (0)

static void
render_decisions(struct buf *b)
{
	uint64_t n;

	head(b, "edgeseal_decisions_total", "counter",
	     "Decisions by result and reason code.");
	for (unsigned r = 0; r < EDGESEAL_REASON_COUNT; r++) {
		SUM_SHARDS(n, sh->reasons[r]);
		out(b, "edgeseal_decisions_total{result=\"%s\",reason=\"%s\"} "
		    "%llu\n", r == EDGESEAL_OK ? "allow" : "deny",
		    r == EDGESEAL_OK ? "ok" : edgeseal_reason_str(r),
		    (unsigned long long)n);
	}

	head(b, "edgeseal_issuer_decisions_total", "counter",
	     "Decisions by configured issuer and key id.");
	for (unsigned i = 0; i <= SERIES_MAX; i++) {
		for (unsigned ok = 0; ok < 2; ok++) {
			SUM_SHARDS(n, sh->series[i][ok]);
			if (n == 0 || !label_used(&series_tab, i))
				continue;
			out(b, "edgeseal_issuer_decisions_total{issuer=\"");
			out_label(b, label_a(&series_tab, i));
			out(b, "\",kid=\"");
			out_label(b, label_b(&series_tab, i));
			out(b, "\",result=\"%s\"} %llu\n",
			    ok == 0 ? "allow" : "deny",
			    (unsigned long long)n);
		}
	}
}

static void
render_cache(struct buf *b, const struct es_snapshot *s)
{
	uint64_t hit, miss;

	SUM_SHARDS(hit, sh->cache[0]);
	SUM_SHARDS(miss, sh->cache[1]);
	head(b, "edgeseal_cache_lookups_total", "counter",
	     "Verified-token cache lookups by result.");
	out(b, "edgeseal_cache_lookups_total{result=\"hit\"} %llu\n",
	    (unsigned long long)hit);
	out(b, "edgeseal_cache_lookups_total{result=\"miss\"} %llu\n",
	    (unsigned long long)miss);
	head(b, "edgeseal_cache_capacity_entries", "gauge",
	     "Configured size of the verified-token cache.");
	out(b, "edgeseal_cache_capacity_entries %u\n",
	    s != NULL ? s->cfg->cache_entries : 0);
}

/* le="..." text of a bound; scale 1e6 turns microseconds into seconds. */
static void
out_le(struct buf *b, int64_t v, bool micro)
{
	if (micro)
		out(b, "%g", (double)v / 1e6);
	else
		out(b, "%lld", (long long)v);
}

static void
render_histogram(struct buf *b, const char *name, const int64_t *le,
		 size_t nb, const uint64_t *counts, double sum, bool micro)
{
	uint64_t cum = 0;

	for (size_t i = 0; i < nb; i++) {
		cum += counts[i];
		out(b, "%s_bucket{le=\"", name);
		if (i + 1 < nb)
			out_le(b, le[i], micro);
		else
			out(b, "+Inf");
		out(b, "\"} %llu\n", (unsigned long long)cum);
	}
	out(b, "%s_sum %.6f\n%s_count %llu\n", name, sum, name,
	    (unsigned long long)cum);
}

static void
render_histograms(struct buf *b)
{
	uint64_t lat[LAT_BUCKETS], skew[SKEW_BUCKETS], lat_sum;
	int64_t skew_sum = 0;

	for (size_t i = 0; i < LAT_BUCKETS; i++)
		SUM_SHARDS(lat[i], sh->lat[i]);
	for (size_t i = 0; i < SKEW_BUCKETS; i++)
		SUM_SHARDS(skew[i], sh->skew[i]);
	SUM_SHARDS(lat_sum, sh->lat_sum_us);
	for (unsigned s = 0; s < SHARDS; s++)
		skew_sum += __atomic_load_n(&shards[s].skew_sum_s,
					    __ATOMIC_RELAXED);

	head(b, "edgeseal_validation_duration_seconds", "histogram",
	     "Time spent deciding one message.");
	render_histogram(b, "edgeseal_validation_duration_seconds",
			 lat_le_us, LAT_BUCKETS, lat, (double)lat_sum / 1e6,
			 true);
	head(b, "edgeseal_clock_skew_seconds", "histogram",
	     "Now minus iat of user tokens validated afresh.");
	render_histogram(b, "edgeseal_clock_skew_seconds", skew_le_s,
			 SKEW_BUCKETS, skew, (double)skew_sum, false);
}

static void
render_seals(struct buf *b)
{
	uint64_t n;

	head(b, "edgeseal_seals_minted_total", "counter",
	     "Seals minted, by signing key id.");
	for (unsigned i = 0; i <= SEAL_KIDS_MAX; i++) {
		SUM_SHARDS(n, sh->seals[i]);
		if (n == 0 || !label_used(&seal_tab, i))
			continue;
		out(b, "edgeseal_seals_minted_total{kid=\"");
		out_label(b, label_b(&seal_tab, i));
		out(b, "\"} %llu\n", (unsigned long long)n);
	}
}

static void
render_spop(struct buf *b)
{
	static const char *const dir[2] = { "received", "sent" };
	uint64_t open = get(&conns_opened), closed = get(&conns_closed), n;

	head(b, "edgeseal_spop_connections_total", "counter",
	     "SPOP connections accepted.");
	out(b, "edgeseal_spop_connections_total %llu\n",
	    (unsigned long long)open);
	head(b, "edgeseal_spop_connections_open", "gauge",
	     "SPOP connections open now.");
	out(b, "edgeseal_spop_connections_open %llu\n",
	    (unsigned long long)(open >= closed ? open - closed : 0));

	head(b, "edgeseal_spop_frames_received_total", "counter",
	     "SPOP frames received, by type.");
	for (unsigned k = 0; k < FRAME_KIND_COUNT; k++) {
		SUM_SHARDS(n, sh->frames[k]);
		out(b, "edgeseal_spop_frames_received_total{type=\"%s\"} "
		    "%llu\n", frame_names[k], (unsigned long long)n);
	}

	head(b, "edgeseal_spop_disconnects_total", "counter",
	     "SPOP DISCONNECT frames by direction and status code.");
	for (unsigned d = 0; d < 2; d++) {
		for (unsigned st = 0; st < STATUS_SLOTS; st++) {
			n = get(&disconnects[d][st]);
			if (n == 0)
				continue;
			out(b, "edgeseal_spop_disconnects_total{direction="
			    "\"%s\",status=\"", dir[d]);
			if (st + 1 < STATUS_SLOTS)
				out(b, "%u", st);
			else
				out(b, "other");
			out(b, "\"} %llu\n", (unsigned long long)n);
		}
	}
}

static void
render_reloads(struct buf *b, const struct es_snapshot *s)
{
	head(b, "edgeseal_reloads_total", "counter",
	     "Configuration reloads by result.");
	out(b, "edgeseal_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)get(&reloads[0]));
	out(b, "edgeseal_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)get(&reloads[1]));
	head(b, "edgeseal_config_generation", "gauge",
	     "Generation of the configuration serving now (1 at start).");
	out(b, "edgeseal_config_generation %lu\n",
	    s != NULL ? s->generation : 0);
}

static void
render_jwks(struct buf *b, int64_t now)
{
	uint64_t n;
	int64_t at;

	head(b, "edgeseal_jwks_fetches_total", "counter",
	     "JWKS downloads by issuer and result.");
	for (unsigned i = 0; i <= JWKS_ISSUERS_MAX; i++) {
		for (unsigned r = 0; r < ES_JWKS_RESULT_COUNT; r++) {
			n = get(&jwks[i][r]);
			if (n == 0 || !label_used(&issuer_tab, i))
				continue;
			out(b, "edgeseal_jwks_fetches_total{issuer=\"");
			out_label(b, label_a(&issuer_tab, i));
			out(b, "\",result=\"%s\"} %llu\n", jwks_names[r],
			    (unsigned long long)n);
		}
	}

	head(b, "edgeseal_keys_age_seconds", "gauge",
	     "Seconds since an issuer's fetched keys were last refreshed.");
	for (unsigned i = 0; i <= JWKS_ISSUERS_MAX; i++) {
		at = __atomic_load_n(&keys_at[i], __ATOMIC_RELAXED);
		if (at == 0 || !label_used(&issuer_tab, i))
			continue;
		out(b, "edgeseal_keys_age_seconds{issuer=\"");
		out_label(b, label_a(&issuer_tab, i));
		out(b, "\"} %lld\n", (long long)(now - at));
	}
}

char *
es_metrics_render(int64_t now, size_t *len)
{
	struct buf b = { .cap = 16384 };
	struct es_snapshot *s = es_snapshot_acquire();

	b.p = malloc(b.cap);
	if (b.p == NULL)
		b.failed = true;

	render_decisions(&b);
	render_cache(&b, s);
	render_histograms(&b);
	render_seals(&b);
	render_spop(&b);
	render_reloads(&b, s);
	render_jwks(&b, now);
	head(&b, "edgeseal_start_time_seconds", "gauge",
	     "Unix time the agent started.");
	out(&b, "edgeseal_start_time_seconds %lld\n", (long long)started_at);
	es_snapshot_release(s);

	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* --- the listener ------------------------------------------------- */

#ifdef ES_HAVE_MHD

static struct MHD_Daemon *mhd;

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
      enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(len, body, mode);
	if (resp == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_len, void **state)
{
	static char not_found[] = "not found; try /metrics\n";
	static char bad_method[] = "GET only\n";
	char *body;
	size_t len = 0;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method,
			     strlen(bad_method), MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found,
			     strlen(not_found), MHD_RESPMEM_PERSISTENT);

	body = es_metrics_render((int64_t)time(NULL), &len);
	if (body == NULL)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE);
}

/* The metrics listener's connection caps and idle timeout (seconds). */
#define ES_METRICS_MAX_CONNS 256
#define ES_METRICS_MAX_CONNS_PER_IP 64
#define ES_METRICS_IDLE_TIMEOUT 3

int
es_metrics_start(int fd, char *err, size_t errlen)
{
	started_at = (int64_t)time(NULL);

	/*
	 * Few, short-lived scrapers. An idle connection costs only a
	 * descriptor, so the caps are wide enough that idle connections
	 * from one address cannot take every slot (per-IP cap), and idle
	 * ones are dropped after a few seconds.
	 */
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO,
			       0, NULL, NULL, on_request, NULL,
			       MHD_OPTION_LISTEN_SOCKET, fd,
			       MHD_OPTION_CONNECTION_LIMIT,
			       (unsigned)ES_METRICS_MAX_CONNS,
			       MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			       (unsigned)ES_METRICS_MAX_CONNS_PER_IP,
			       MHD_OPTION_CONNECTION_TIMEOUT,
			       (unsigned)ES_METRICS_IDLE_TIMEOUT,
			       MHD_OPTION_END);
	if (mhd == NULL) {
		snprintf(err, errlen, "metrics: cannot start the HTTP server");
		close(fd);
		return -1;
	}
	return 0;
}

void
es_metrics_stop(void)
{
	if (mhd != NULL)
		MHD_stop_daemon(mhd);
	mhd = NULL;
}

#else

int
es_metrics_start(int fd, char *err, size_t errlen)
{
	started_at = (int64_t)time(NULL);
	snprintf(err, errlen, "metrics: built without libmicrohttpd");
	close(fd);
	return -1;
}

void
es_metrics_stop(void)
{
}

#endif
