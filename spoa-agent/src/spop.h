/*
 * spop.h: the SPOP 2.0 frame codec (HAProxy's Stream Processing Offload
 * Protocol, doc/SPOE.txt section 3).
 *
 * Pure functions only: no sockets, no clock, no allocation. Decoders take
 * a cursor and an end pointer, check room before every read, never read
 * past end and only move the cursor on success. Decoded strings point into
 * the caller's buffer (pointer plus length, never NUL-terminated).
 * Encoders write into a caller-owned buffer through struct spop_writer and
 * fail, without writing past the end, when the frame does not fit.
 */
#ifndef ES_SPOP_H
#define ES_SPOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 4-byte big-endian length in front of every frame. */
#define SPOP_LEN_SIZE 4
/* Smallest max-frame-size HAProxy accepts from an agent. */
#define SPOP_MIN_FRAME_SIZE 256
/* Largest varint: 64 bits at 4 + 7 * 9 bits (intops.h). */
#define SPOP_VARINT_MAX 10

#define SPOP_FL_FIN 0x00000001u
#define SPOP_FL_ABORT 0x00000002u

enum spop_frame_type {
	SPOP_FT_UNSET = 0,
	SPOP_FT_HAPROXY_HELLO = 1,
	SPOP_FT_HAPROXY_DISCONNECT = 2,
	SPOP_FT_NOTIFY = 3,
	SPOP_FT_AGENT_HELLO = 101,
	SPOP_FT_AGENT_DISCONNECT = 102,
	SPOP_FT_ACK = 103,
};

/* DISCONNECT status codes (SPOE.txt section 3.5). */
enum spop_status {
	SPOP_ST_NONE = 0,
	SPOP_ST_IO = 1,
	SPOP_ST_TIMEOUT = 2,
	SPOP_ST_TOO_BIG = 3,
	SPOP_ST_INVALID = 4,
	SPOP_ST_NO_VSN = 5,
	SPOP_ST_NO_FRAME_SIZE = 6,
	SPOP_ST_NO_CAP = 7,
	SPOP_ST_BAD_VSN = 8,
	SPOP_ST_BAD_FRAME_SIZE = 9,
	SPOP_ST_FRAG_NOT_SUPPORTED = 10,
	SPOP_ST_INTERLACED = 11,
	SPOP_ST_FRAMEID_NOTFOUND = 12,
	SPOP_ST_RES = 13,
	SPOP_ST_UNKNOWN = 99,
};

enum spop_data_type {
	SPOP_DT_NULL = 0,
	SPOP_DT_BOOL = 1,
	SPOP_DT_INT32 = 2,
	SPOP_DT_UINT32 = 3,
	SPOP_DT_INT64 = 4,
	SPOP_DT_UINT64 = 5,
	SPOP_DT_IPV4 = 6,
	SPOP_DT_IPV6 = 7,
	SPOP_DT_STRING = 8,
	SPOP_DT_BINARY = 9,
};

/* Variable scopes in set-var / unset-var actions. */
enum spop_scope {
	SPOP_SCOPE_PROC = 0,
	SPOP_SCOPE_SESS = 1,
	SPOP_SCOPE_TXN = 2,
	SPOP_SCOPE_REQ = 3,
	SPOP_SCOPE_RES = 4,
};

/* One TYPED-DATA value; ptr/len point into the frame. */
struct spop_data {
	enum spop_data_type type;
	bool boolean;		/* BOOL */
	uint64_t u64;		/* the four integer types, as sent */
	const uint8_t *ptr;	/* STRING, BINARY, IPV4 (4), IPV6 (16) */
	size_t len;
};

/* A frame body (what follows the 4-byte length). */
struct spop_frame {
	uint8_t type;
	uint32_t flags;
	uint64_t sid;
	uint64_t fid;
	const uint8_t *payload;	/* first payload byte */
	const uint8_t *end;	/* one past the frame */
};

/* What edgeseal needs from a HAPROXY-HELLO. */
struct spop_hello {
	bool has_version;	/* supported-versions present (STRING) */
	bool version_ok;	/* "2.0" is in the list */
	bool has_frame_size;	/* max-frame-size present (integer) */
	uint64_t frame_size;
	bool healthcheck;
	bool pipelining;	/* HAProxy announced pipelining */
	const uint8_t *caps;	/* capabilities as sent, for logs */
	size_t caps_len;
	bool has_engine_id;
};

/* One message of a NOTIFY; args_pos..end holds nb_args validated args. */
struct spop_msg {
	const uint8_t *name;
	size_t name_len;
	unsigned nb_args;
	const uint8_t *args_pos;
	const uint8_t *args_end;
};

struct spop_arg {
	const uint8_t *name;
	size_t name_len;
	struct spop_data value;
};

/* Output cursor over a caller-owned buffer. */
struct spop_writer {
	uint8_t *start;		/* where the current frame's length goes */
	uint8_t *pos;
	uint8_t *end;
	bool failed;		/* set by the first write that did not fit */
};

/* --- primitives --------------------------------------------------- */

/*
 * Decode a varint at *pos. Returns 0 and advances *pos, or -1 (cursor
 * unchanged) when the input ends first, uses more than 10 bytes or the
 * value does not fit in 64 bits.
 */
int spop_varint_decode(const uint8_t **pos, const uint8_t *end,
		       uint64_t *out);

/* Bytes needed to encode v (1..10). */
size_t spop_varint_size(uint64_t v);

/* Encode v at the writer's cursor (sets w->failed when it does not fit). */
void spop_put_varint(struct spop_writer *w, uint64_t v);

/*
 * Decode a bare string (varint length + bytes). Returns 0, or -1 when the
 * length runs past end.
 */
int spop_string_decode(const uint8_t **pos, const uint8_t *end,
		       const uint8_t **str, size_t *len);

/* Decode one TYPED-DATA. Returns 0, or -1 on truncation or unknown type. */
int spop_data_decode(const uint8_t **pos, const uint8_t *end,
		     struct spop_data *out);

/* --- frames ------------------------------------------------------- */

/*
 * Read the 4-byte length at buf (len bytes available). Returns 1 and sets
 * *frame_len when the length is there, 0 when more bytes are needed.
 */
int spop_frame_length(const uint8_t *buf, size_t len, uint32_t *frame_len);

/*
 * Decode the header of a frame body of len bytes. Returns 0, or -1 when
 * the body is shorter than type + flags + two varints.
 */
int spop_frame_decode(const uint8_t *body, size_t len,
		      struct spop_frame *out);

/*
 * Parse a HAPROXY-HELLO payload. Key names match exactly. Returns
 * SPOP_ST_NONE when the KV list is well formed (the caller then checks
 * has_version, version_ok and has_frame_size), else SPOP_ST_INVALID.
 */
enum spop_status spop_hello_parse(const struct spop_frame *f,
				  struct spop_hello *out);

/*
 * Parse a HAPROXY-DISCONNECT payload for its status code and message.
 * Returns SPOP_ST_NONE or SPOP_ST_INVALID.
 */
enum spop_status spop_disconnect_parse(const struct spop_frame *f,
				       uint64_t *status, const uint8_t **msg,
				       size_t *msg_len);

/* True when the comma list (spaces ignored) contains version "2.0". */
bool spop_versions_has_2_0(const uint8_t *list, size_t len);

/*
 * Take the next message of a NOTIFY payload, validating all its args.
 * *pos starts at f->payload. Returns 1 with *out filled, 0 at the end of
 * the payload, -1 on malformed input.
 */
int spop_msg_next(const uint8_t **pos, const uint8_t *end,
		  struct spop_msg *out);

/*
 * Take the next argument of a message already validated by spop_msg_next.
 * Returns 1 with *out filled, 0 when no argument is left.
 */
int spop_arg_next(struct spop_msg *m, struct spop_arg *out);

/* --- encoders ----------------------------------------------------- */

/*
 * Start a frame at buf (cap bytes). The length is filled by
 * spop_frame_end(). ids are encoded as varints; FIN is always set since
 * edgeseal never fragments.
 */
void spop_frame_begin(struct spop_writer *w, uint8_t *buf, size_t cap,
		      uint8_t type, uint64_t sid, uint64_t fid);

/*
 * Finish the frame: write its length. Returns the total bytes written
 * (length prefix included), or 0 if anything did not fit or the frame
 * body is larger than max_frame.
 */
size_t spop_frame_end(struct spop_writer *w, uint32_t max_frame);

/* KV items (HELLO / DISCONNECT payloads). */
void spop_put_kv_string(struct spop_writer *w, const char *key,
			const void *val, size_t len);
void spop_put_kv_uint32(struct spop_writer *w, const char *key,
			uint32_t val);

/* ACK actions. name is a short ASCII variable name. */
void spop_put_set_var_string(struct spop_writer *w, enum spop_scope scope,
			     const char *name, const void *val, size_t len);
void spop_put_set_var_bool(struct spop_writer *w, enum spop_scope scope,
			   const char *name, bool val);
void spop_put_unset_var(struct spop_writer *w, enum spop_scope scope,
			const char *name);

/*
 * Whole frames, ready to write: return the bytes written at buf, or 0
 * when cap is too small.
 */
size_t spop_agent_hello(uint8_t *buf, size_t cap, uint32_t max_frame);
size_t spop_agent_disconnect(uint8_t *buf, size_t cap,
			     enum spop_status status, const char *message);

/* Human text for a status code (for DISCONNECT messages and logs). */
const char *spop_status_str(enum spop_status status);

#endif
