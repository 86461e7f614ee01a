/*
 * spop.c: SPOP 2.0 frame codec; see spop.h for the contract and
 * HAProxy's doc/SPOE.txt (section 3, SPOP 2.0) for the format.
 */
#include <string.h>

#include "spop.h"

/* --- primitives --------------------------------------------------- */

int
spop_varint_decode(const uint8_t **pos, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pos;
	uint64_t val, add;
	unsigned shift = 4;

	if (p >= end)
		return -1;
	val = *p++;
	if (val < 240)
		goto done;

	/* At most 9 continuation bytes; the last one has its top bit clear. */
	for (;;) {
		uint64_t b;

		if (p >= end || shift > 60)
			return -1;
		b = *p++;
		add = b << shift;
		if ((add >> shift) != b || val + add < val)
			return -1;
		val += add;
		shift += 7;
		if (b < 128)
			break;
	}
done:
	*out = val;
	*pos = p;
	return 0;
}

size_t
spop_varint_size(uint64_t v)
{
	size_t n = 1;

	if (v < 240)
		return 1;
	v = (v - 240) >> 4;
	while (v >= 128) {
		v = (v - 128) >> 7;
		n++;
	}
	return n + 1;
}

static void
put_bytes(struct spop_writer *w, const void *src, size_t len)
{
	if (w->failed || (size_t)(w->end - w->pos) < len) {
		w->failed = true;
		return;
	}
	if (len > 0)
		memcpy(w->pos, src, len);
	w->pos += len;
}

static void
put_byte(struct spop_writer *w, uint8_t b)
{
	put_bytes(w, &b, 1);
}

void
spop_put_varint(struct spop_writer *w, uint64_t v)
{
	uint8_t tmp[SPOP_VARINT_MAX];
	size_t n = 0;

	if (v < 240) {
		put_byte(w, (uint8_t)v);
		return;
	}
	tmp[n++] = (uint8_t)((v & 0xff) | 0xf0);
	v = (v - 240) >> 4;
	while (v >= 128) {
		tmp[n++] = (uint8_t)((v & 0xff) | 0x80);
		v = (v - 128) >> 7;
	}
	tmp[n++] = (uint8_t)v;
	put_bytes(w, tmp, n);
}

int
spop_string_decode(const uint8_t **pos, const uint8_t *end,
		   const uint8_t **str, size_t *len)
{
	const uint8_t *p = *pos;
	uint64_t n;

	/* Compare against the room left, never p + n: n may wrap. */
	if (spop_varint_decode(&p, end, &n) != 0 || n > (uint64_t)(end - p))
		return -1;
	*str = p;
	*len = (size_t)n;
	*pos = p + n;
	return 0;
}

static int
fixed_decode(const uint8_t **pos, const uint8_t *end, size_t n,
	     struct spop_data *out)
{
	if ((size_t)(end - *pos) < n)
		return -1;
	out->ptr = *pos;
	out->len = n;
	*pos += n;
	return 0;
}

int
spop_data_decode(const uint8_t **pos, const uint8_t *end,
		 struct spop_data *out)
{
	const uint8_t *p = *pos;
	struct spop_data d = { 0 };
	int rc = -1;

	if (p >= end)
		return -1;
	d.type = (enum spop_data_type)(*p & 0x0f);
	d.boolean = (*p & 0x10) != 0;
	p++;

	switch (d.type) {
	case SPOP_DT_NULL:
	case SPOP_DT_BOOL:
		rc = 0;
		break;
	case SPOP_DT_INT32:
	case SPOP_DT_UINT32:
	case SPOP_DT_INT64:
	case SPOP_DT_UINT64:
		rc = spop_varint_decode(&p, end, &d.u64);
		break;
	case SPOP_DT_IPV4:
		rc = fixed_decode(&p, end, 4, &d);
		break;
	case SPOP_DT_IPV6:
		rc = fixed_decode(&p, end, 16, &d);
		break;
	case SPOP_DT_STRING:
	case SPOP_DT_BINARY:
		rc = spop_string_decode(&p, end, &d.ptr, &d.len);
		break;
	default:
		/* Types 10-15 are reserved: nothing tells their size. */
		rc = -1;
		break;
	}

	if (rc == 0) {
		*out = d;
		*pos = p;
	}
	return rc;
}

/* --- frames ------------------------------------------------------- */

int
spop_frame_length(const uint8_t *buf, size_t len, uint32_t *frame_len)
{
	if (len < SPOP_LEN_SIZE)
		return 0;
	*frame_len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
		     (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	return 1;
}

int
spop_frame_decode(const uint8_t *body, size_t len, struct spop_frame *out)
{
	const uint8_t *p = body;
	const uint8_t *end = body + len;
	struct spop_frame f = { 0 };

	if (len < 5)
		return -1;
	f.type = p[0];
	f.flags = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		  (uint32_t)p[3] << 8 | (uint32_t)p[4];
	p += 5;

	if (spop_varint_decode(&p, end, &f.sid) != 0 ||
	    spop_varint_decode(&p, end, &f.fid) != 0)
		return -1;

	f.payload = p;
	f.end = end;
	*out = f;
	return 0;
}

/* Exact key match: HAProxy's prefix compare would take "max" as a key. */
static bool
key_is(const uint8_t *k, size_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(k, want, klen) == 0;
}

static bool
is_int_type(enum spop_data_type t)
{
	return t == SPOP_DT_INT32 || t == SPOP_DT_UINT32 ||
	       t == SPOP_DT_INT64 || t == SPOP_DT_UINT64;
}

static bool
list_has(const uint8_t *list, size_t len, const char *want)
{
	size_t i = 0;

	/* Walk comma-separated items, skipping spaces around each one. */
	while (i <= len) {
		char item[16];
		size_t n = 0;
		bool overflow = false;

		for (; i < len && list[i] != ','; i++) {
			if (list[i] == ' ' || list[i] == '\t')
				continue;
			if (n + 1 >= sizeof(item))
				overflow = true;
			else
				item[n++] = (char)list[i];
		}
		item[n] = '\0';
		if (!overflow && strcmp(item, want) == 0)
			return true;
		i++;
	}
	return false;
}

bool
spop_versions_has_2_0(const uint8_t *list, size_t len)
{
	return list_has(list, len, "2.0");
}

/* Apply one HELLO item; returns -1 when a known key has a wrong type. */
static int
hello_item(const uint8_t *k, size_t klen, const struct spop_data *v,
	   struct spop_hello *h)
{
	if (key_is(k, klen, "supported-versions")) {
		if (v->type != SPOP_DT_STRING)
			return -1;
		h->has_version = true;
		h->version_ok = spop_versions_has_2_0(v->ptr, v->len);
	} else if (key_is(k, klen, "max-frame-size")) {
		if (!is_int_type(v->type))
			return -1;
		h->has_frame_size = true;
		h->frame_size = v->u64;
	} else if (key_is(k, klen, "capabilities")) {
		if (v->type != SPOP_DT_STRING)
			return -1;
		h->caps = v->ptr;
		h->caps_len = v->len;
		h->pipelining = list_has(v->ptr, v->len, "pipelining");
	} else if (key_is(k, klen, "healthcheck")) {
		if (v->type != SPOP_DT_BOOL)
			return -1;
		h->healthcheck = v->boolean;
	} else if (key_is(k, klen, "engine-id")) {
		h->has_engine_id = true;
	}
	return 0;
}

enum spop_status
spop_hello_parse(const struct spop_frame *f, struct spop_hello *out)
{
	const uint8_t *p = f->payload;
	struct spop_hello h = { 0 };

	while (p < f->end) {
		const uint8_t *k;
		size_t klen;
		struct spop_data v;

		if (spop_string_decode(&p, f->end, &k, &klen) != 0 ||
		    spop_data_decode(&p, f->end, &v) != 0 ||
		    hello_item(k, klen, &v, &h) != 0)
			return SPOP_ST_INVALID;
	}
	*out = h;
	return SPOP_ST_NONE;
}

enum spop_status
spop_disconnect_parse(const struct spop_frame *f, uint64_t *status,
		      const uint8_t **msg, size_t *msg_len)
{
	const uint8_t *p = f->payload;

	*status = SPOP_ST_UNKNOWN;
	*msg = NULL;
	*msg_len = 0;
	while (p < f->end) {
		const uint8_t *k;
		size_t klen;
		struct spop_data v;

		if (spop_string_decode(&p, f->end, &k, &klen) != 0 ||
		    spop_data_decode(&p, f->end, &v) != 0)
			return SPOP_ST_INVALID;
		if (key_is(k, klen, "status-code") && is_int_type(v.type))
			*status = v.u64;
		if (key_is(k, klen, "message") && v.type == SPOP_DT_STRING) {
			*msg = v.ptr;
			*msg_len = v.len;
		}
	}
	return SPOP_ST_NONE;
}

int
spop_msg_next(const uint8_t **pos, const uint8_t *end, struct spop_msg *out)
{
	const uint8_t *p = *pos;
	struct spop_msg m = { 0 };

	if (p >= end)
		return 0;
	if (spop_string_decode(&p, end, &m.name, &m.name_len) != 0 ||
	    p >= end)
		return -1;
	m.nb_args = *p++;
	m.args_pos = p;

	/* Validate every argument now so spop_arg_next cannot fail. */
	for (unsigned i = 0; i < m.nb_args; i++) {
		const uint8_t *name;
		size_t nlen;
		struct spop_data v;

		if (spop_string_decode(&p, end, &name, &nlen) != 0 ||
		    spop_data_decode(&p, end, &v) != 0)
			return -1;
	}
	m.args_end = p;

	*out = m;
	*pos = p;
	return 1;
}

int
spop_arg_next(struct spop_msg *m, struct spop_arg *out)
{
	const uint8_t *p = m->args_pos;

	if (p >= m->args_end)
		return 0;
	if (spop_string_decode(&p, m->args_end, &out->name,
			       &out->name_len) != 0 ||
	    spop_data_decode(&p, m->args_end, &out->value) != 0)
		return 0;
	m->args_pos = p;
	return 1;
}

/* --- encoders ----------------------------------------------------- */

void
spop_frame_begin(struct spop_writer *w, uint8_t *buf, size_t cap,
		 uint8_t type, uint64_t sid, uint64_t fid)
{
	static const uint8_t fin[4] = { 0, 0, 0, SPOP_FL_FIN };

	w->start = buf;
	w->pos = buf;
	w->end = buf + cap;
	w->failed = false;

	/* Room for the length, filled in by spop_frame_end(). */
	put_bytes(w, "\0\0\0\0", SPOP_LEN_SIZE);
	put_byte(w, type);
	put_bytes(w, fin, sizeof(fin));
	spop_put_varint(w, sid);
	spop_put_varint(w, fid);
}

size_t
spop_frame_end(struct spop_writer *w, uint32_t max_frame)
{
	size_t body;

	if (w->failed)
		return 0;
	body = (size_t)(w->pos - w->start) - SPOP_LEN_SIZE;
	if (body > max_frame)
		return 0;

	w->start[0] = (uint8_t)(body >> 24);
	w->start[1] = (uint8_t)(body >> 16);
	w->start[2] = (uint8_t)(body >> 8);
	w->start[3] = (uint8_t)body;
	return body + SPOP_LEN_SIZE;
}

static void
put_bare_string(struct spop_writer *w, const void *s, size_t len)
{
	spop_put_varint(w, len);
	put_bytes(w, s, len);
}

void
spop_put_kv_string(struct spop_writer *w, const char *key, const void *val,
		   size_t len)
{
	put_bare_string(w, key, strlen(key));
	put_byte(w, SPOP_DT_STRING);
	put_bare_string(w, val, len);
}

void
spop_put_kv_uint32(struct spop_writer *w, const char *key, uint32_t val)
{
	put_bare_string(w, key, strlen(key));
	put_byte(w, SPOP_DT_UINT32);
	spop_put_varint(w, val);
}

/* Action header: type, nb-args, scope byte, variable name. */
static void
put_action(struct spop_writer *w, uint8_t type, uint8_t nb_args,
	   enum spop_scope scope, const char *name)
{
	put_byte(w, type);
	put_byte(w, nb_args);
	put_byte(w, (uint8_t)scope);
	put_bare_string(w, name, strlen(name));
}

void
spop_put_set_var_string(struct spop_writer *w, enum spop_scope scope,
			const char *name, const void *val, size_t len)
{
	put_action(w, 1, 3, scope, name);
	put_byte(w, SPOP_DT_STRING);
	put_bare_string(w, val, len);
}

void
spop_put_set_var_bool(struct spop_writer *w, enum spop_scope scope,
		      const char *name, bool val)
{
	put_action(w, 1, 3, scope, name);
	put_byte(w, val ? 0x11 : 0x01);
}

void
spop_put_unset_var(struct spop_writer *w, enum spop_scope scope,
		   const char *name)
{
	put_action(w, 2, 2, scope, name);
}

size_t
spop_agent_hello(uint8_t *buf, size_t cap, uint32_t max_frame)
{
	struct spop_writer w;

	spop_frame_begin(&w, buf, cap, SPOP_FT_AGENT_HELLO, 0, 0);
	spop_put_kv_string(&w, "version", "2.0", 3);
	spop_put_kv_uint32(&w, "max-frame-size", max_frame);
	spop_put_kv_string(&w, "capabilities", "pipelining", 10);
	return spop_frame_end(&w, UINT32_MAX);
}

size_t
spop_agent_disconnect(uint8_t *buf, size_t cap, enum spop_status status,
		      const char *message)
{
	struct spop_writer w;

	spop_frame_begin(&w, buf, cap, SPOP_FT_AGENT_DISCONNECT, 0, 0);
	spop_put_kv_uint32(&w, "status-code", (uint32_t)status);
	spop_put_kv_string(&w, "message", message, strlen(message));
	return spop_frame_end(&w, UINT32_MAX);
}

const char *
spop_status_str(enum spop_status status)
{
	switch (status) {
	case SPOP_ST_NONE: return "normal";
	case SPOP_ST_IO: return "I/O error";
	case SPOP_ST_TIMEOUT: return "a timeout occurred";
	case SPOP_ST_TOO_BIG: return "frame is too big";
	case SPOP_ST_INVALID: return "invalid frame received";
	case SPOP_ST_NO_VSN: return "version value not found";
	case SPOP_ST_NO_FRAME_SIZE: return "max-frame-size value not found";
	case SPOP_ST_NO_CAP: return "capabilities value not found";
	case SPOP_ST_BAD_VSN: return "unsupported version";
	case SPOP_ST_BAD_FRAME_SIZE:
		return "max-frame-size too big or too small";
	case SPOP_ST_FRAG_NOT_SUPPORTED:
		return "fragmentation not supported";
	case SPOP_ST_INTERLACED: return "invalid interlaced frames";
	case SPOP_ST_FRAMEID_NOTFOUND: return "frame-id not found";
	case SPOP_ST_RES: return "resource allocation error";
	default: return "an unknown error occurred";
	}
}
