/*
 * spop_loadgen.c: a pipelined SPOP client to measure edgeseal-spoa alone.
 *
 * Opens N connections, does the HELLO handshake on each, then keeps D
 * NOTIFY "edgeseal-check" frames in flight per connection for T seconds,
 * cycling through the Authorization values given (-a, or one per line
 * of -f). Prints NOTIFY/s, latency percentiles and the verdict counts.
 *
 *   edgeseal-spop-loadgen -s 127.0.0.1:12345 -n 8 -d 16 -t 10 \
 *       -a "Bearer eyJ..."
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "spop.h"

#define MAX_CONNS 1024
#define MAX_DEPTH 64
#define HIST_US 1000000		/* 1 us buckets up to 1 s */
#define BUF_SIZE (256 * 1024)

struct slot {
	uint64_t sid;
	int64_t sent_ns;
	int used;
};

struct lconn {
	int fd;
	uint64_t next_sid;
	unsigned inflight;
	struct slot slots[MAX_DEPTH];
	uint8_t in[BUF_SIZE];
	size_t in_len;
	uint32_t max_frame;
};

struct opts {
	const char *server;
	unsigned conns, depth, seconds;
	char **auths;
	size_t nauth;
};

struct stats {
	uint64_t acks, allow, deny, other, errors;
	uint32_t *hist;
	uint64_t over;
};

static size_t auth_next;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "spop_loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
dial(const char *server)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char host[256], *port;
	int fd, one = 1;

	if (strncmp(server, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", server + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (void *)&sun, sizeof(sun)) != 0)
			die(server);
		return fd;
	}
	snprintf(host, sizeof(host), "%s", server);
	port = strrchr(host, ':');
	if (port == NULL) {
		fprintf(stderr, "spop_loadgen: -s host:port or unix:path\n");
		exit(2);
	}
	*port++ = '\0';
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		fprintf(stderr, "spop_loadgen: cannot resolve %s\n", server);
		exit(1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		die(server);
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static void
put_raw(struct spop_writer *w, const void *p, size_t n)
{
	if (w->failed || (size_t)(w->end - w->pos) < n) {
		w->failed = true;
		return;
	}
	memcpy(w->pos, p, n);
	w->pos += n;
}

/* HELLO then read the AGENT-HELLO (blocking, at start-up only). */
static void
handshake(struct lconn *c)
{
	uint8_t buf[512];
	struct spop_writer w;
	size_t n;
	uint32_t len;
	struct spop_frame f;

	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FT_HAPROXY_HELLO, 0, 0);
	spop_put_kv_string(&w, "supported-versions", "2.0", 3);
	spop_put_kv_uint32(&w, "max-frame-size", 16380);
	spop_put_kv_string(&w, "capabilities", "pipelining", 10);
	spop_put_kv_string(&w, "engine-id", "loadgen", 7);
	n = spop_frame_end(&w, UINT32_MAX);
	write_all(c->fd, buf, n);

	c->in_len = 0;
	while (spop_frame_length(c->in, c->in_len, &len) != 1 ||
	       c->in_len < len + 4u) {
		ssize_t r = read(c->fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len);

		if (r <= 0)
			die("read hello");
		c->in_len += (size_t)r;
	}
	if (spop_frame_decode(c->in + 4, len, &f) != 0 ||
	    f.type != SPOP_FT_AGENT_HELLO) {
		fprintf(stderr, "spop_loadgen: agent refused the hello\n");
		exit(1);
	}
	c->max_frame = 16380;
	memmove(c->in, c->in + 4 + len, c->in_len - 4 - len);
	c->in_len -= 4 + len;
}

static size_t
build_notify(struct lconn *c, const struct opts *o, uint8_t *buf,
	     size_t cap)
{
	const char *auth = o->auths[auth_next++ % o->nauth];
	size_t alen = strlen(auth);
	struct spop_writer w;
	uint64_t sid = c->next_sid;

	/* Odd stream ids per connection, like HAProxy 3.x. */
	c->next_sid += 2;
	spop_frame_begin(&w, buf, cap, SPOP_FT_NOTIFY, sid, 1);
	spop_put_varint(&w, 14);
	put_raw(&w, "edgeseal-check", 14);
	put_raw(&w, "\x01", 1);
	spop_put_varint(&w, 4);
	put_raw(&w, "auth", 4);
	put_raw(&w, "\x08", 1);
	spop_put_varint(&w, alen);
	put_raw(&w, auth, alen);

	for (unsigned i = 0; i < MAX_DEPTH; i++)
		if (!c->slots[i].used) {
			c->slots[i].used = 1;
			c->slots[i].sid = sid;
			c->slots[i].sent_ns = now_ns();
			break;
		}
	c->inflight++;
	return spop_frame_end(&w, c->max_frame);
}

/* Top up to depth in one write. */
static void
fill(struct lconn *c, const struct opts *o)
{
	static uint8_t out[MAX_DEPTH * 8192];
	size_t n = 0;

	while (c->inflight < o->depth) {
		size_t f = build_notify(c, o, out + n, sizeof(out) - n);

		if (f == 0) {
			fprintf(stderr, "spop_loadgen: token too large\n");
			exit(1);
		}
		n += f;
	}
	if (n > 0)
		write_all(c->fd, out, n);
}

static void
count_ack(struct stats *st, const struct spop_frame *f)
{
	const uint8_t *p = f->payload;

	/* First action: set-var valid -> allow; set-var reason -> deny. */
	if (f->end - p > 4 && p[0] == 1) {
		size_t nlen = p[3];

		if (nlen == 5 && f->end - p > 9 &&
		    memcmp(p + 4, "valid", 5) == 0)
			st->allow++;
		else if (nlen == 6 && f->end - p > 10 &&
			 memcmp(p + 4, "reason", 6) == 0)
			st->deny++;
		else
			st->other++;
		return;
	}
	st->other++;
}

static void
on_ack(struct lconn *c, const struct spop_frame *f, struct stats *st)
{
	int64_t t = now_ns();

	if (f->type != SPOP_FT_ACK) {
		st->errors++;
		fprintf(stderr, "spop_loadgen: unexpected frame type %u\n",
			f->type);
		exit(1);
	}
	for (unsigned i = 0; i < MAX_DEPTH; i++) {
		struct slot *s = &c->slots[i];
		uint64_t us;

		if (!s->used || s->sid != f->sid)
			continue;
		us = (uint64_t)(t - s->sent_ns) / 1000;
		if (us < HIST_US)
			st->hist[us]++;
		else
			st->over++;
		s->used = 0;
		c->inflight--;
		st->acks++;
		count_ack(st, f);
		return;
	}
	st->errors++;
}

static void
drain_input(struct lconn *c, struct stats *st)
{
	size_t pos = 0;
	uint32_t len;

	while (spop_frame_length(c->in + pos, c->in_len - pos, &len) == 1 &&
	       c->in_len - pos - 4 >= len) {
		struct spop_frame f;

		if (spop_frame_decode(c->in + pos + 4, len, &f) != 0)
			die("bad frame");
		on_ack(c, &f, st);
		pos += 4 + len;
	}
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
}

static uint64_t
percentile(const struct stats *st, double q)
{
	uint64_t want = (uint64_t)(q * (double)st->acks), seen = 0;

	for (uint64_t us = 0; us < HIST_US; us++) {
		seen += st->hist[us];
		if (seen > want)
			return us;
	}
	return HIST_US;
}

static void
load_tokens(struct opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[16384];

	if (f == NULL)
		die(path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		o->auths = realloc(o->auths, (o->nauth + 1) * sizeof(char *));
		if (o->auths == NULL)
			die("realloc");
		o->auths[o->nauth++] = strdup(line);
	}
	fclose(f);
}

static void
usage(void)
{
	fprintf(stderr, "usage: edgeseal-spop-loadgen -s ADDR [-n CONNS] "
		"[-d DEPTH] [-t SECONDS] (-a AUTH | -f FILE)\n"
		"  ADDR host:port or unix:/path; FILE one Authorization "
		"value per line\n");
	exit(2);
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:n:d:t:a:f:h")) != -1) {
		switch (opt) {
		case 's': o->server = optarg; break;
		case 'n': o->conns = (unsigned)atoi(optarg); break;
		case 'd': o->depth = (unsigned)atoi(optarg); break;
		case 't': o->seconds = (unsigned)atoi(optarg); break;
		case 'a':
			o->auths = realloc(o->auths, sizeof(char *));
			o->auths[0] = optarg;
			o->nauth = 1;
			break;
		case 'f': load_tokens(o, optarg); break;
		default: usage();
		}
	}
	if (o->server == NULL || o->nauth == 0 || o->conns == 0 ||
	    o->conns > MAX_CONNS || o->depth == 0 || o->depth > MAX_DEPTH)
		usage();
}

int
main(int argc, char **argv)
{
	struct opts o = { .conns = 4, .depth = 8, .seconds = 5 };
	static struct lconn conns[MAX_CONNS];
	static struct pollfd pfd[MAX_CONNS];
	struct stats st = { 0 };
	int64_t start, end;
	double secs;

	parse_args(argc, argv, &o);
	st.hist = calloc(HIST_US, sizeof(uint32_t));
	if (st.hist == NULL)
		die("calloc");

	for (unsigned i = 0; i < o.conns; i++) {
		conns[i].fd = dial(o.server);
		conns[i].next_sid = 1;
		handshake(&conns[i]);
		pfd[i].fd = conns[i].fd;
		pfd[i].events = POLLIN;
	}

	start = now_ns();
	end = start + (int64_t)o.seconds * 1000000000;
	for (unsigned i = 0; i < o.conns; i++)
		fill(&conns[i], &o);
	while (now_ns() < end) {
		if (poll(pfd, o.conns, 100) < 0 && errno != EINTR)
			die("poll");
		for (unsigned i = 0; i < o.conns; i++) {
			struct lconn *c = &conns[i];
			ssize_t r;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(c->fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len);
			if (r <= 0)
				die("agent closed the connection");
			c->in_len += (size_t)r;
			drain_input(c, &st);
			fill(c, &o);
		}
	}
	secs = (double)(now_ns() - start) / 1e9;

	printf("conns=%u depth=%u seconds=%.1f notify=%llu notify_per_s=%.0f "
	       "p50_us=%llu p99_us=%llu allow=%llu deny=%llu other=%llu "
	       "errors=%llu\n", o.conns, o.depth, secs,
	       (unsigned long long)st.acks, (double)st.acks / secs,
	       (unsigned long long)percentile(&st, 0.50),
	       (unsigned long long)percentile(&st, 0.99),
	       (unsigned long long)st.allow, (unsigned long long)st.deny,
	       (unsigned long long)st.other, (unsigned long long)st.errors);
	for (unsigned i = 0; i < o.conns; i++)
		close(conns[i].fd);
	free(st.hist);
	return st.errors != 0;
}
