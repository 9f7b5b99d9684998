/* http_msg.h -- the HTTP message and exchange, the output of every HTTP parser.
 *
 * HTTP/1.1 and HTTP/2 parsers both turn bytes into lt_exchange values: one
 * request paired with its response, with decoded bodies, timestamps and a
 * completeness verdict. Everything downstream (records, store, uploader)
 * sees only this structure, never the wire format, so both HTTP versions and
 * the inline proxy produce identical records.
 *
 * Bodies are kept decoded (Content-Encoding removed, chunk framing removed)
 * up to a cap, except a streamed Azure OpenAI answer, which is folded into
 * its call's accumulators as it arrives (aoai.h); body_marks remember when each part of the body arrived so
 * time-to-first-token can be computed from a streamed body after the fact. */
#ifndef LT_HTTP_MSG_H
#define LT_HTTP_MSG_H

#include <stdint.h>
#include "../common/counters.h"
#include "../common/lt.h"

/* Why an exchange is not complete. LT_INC_NONE means complete. */
enum lt_incomplete {
    LT_INC_NONE = 0,
    LT_INC_HOLE,          /* bytes lost in a TCP hole inside the message */
    LT_INC_MISSED_START,  /* capture began after the message started */
    LT_INC_TRUNCATED,     /* connection/capture ended before the message did */
    LT_INC_NO_RESPONSE,   /* request seen, response never seen */
    LT_INC_NO_REQUEST,    /* response seen, request lost */
    LT_INC_RESET,         /* RST or HTTP/2 RST_STREAM */
    LT_INC_PARSE_ERROR,   /* framing could not be parsed */
    LT_INC_MEMCAP,        /* a memory cap (reassembly, or the global parser budget) forced bytes to be dropped */
    LT_INC__COUNT
};
/* "hole", "missed_start", "truncated", ... ("" for LT_INC_NONE) */
const char *lt_incomplete_str(int reason);

typedef struct lt_header {
    char *name;   /* as on the wire (HTTP/2: lowercase); compare case-insensitively */
    char *value;  /* in name's allocation, after name's NUL: free(name) frees both */
} lt_header;

typedef struct lt_body_mark {
    uint64_t off;      /* offset in the decoded body */
    lt_time_us ts;     /* time the bytes starting at off arrived */
} lt_body_mark;

#define LT_BODY_MARKS_MAX 4096

typedef struct lt_http_msg {
    int present;            /* 0 when this half of the exchange was never seen */
    int version;            /* 10, 11 or 20 */
    /* request line / pseudo-headers */
    char *method;           /* NULL for responses */
    char *target;           /* path and query as sent (":path" in HTTP/2) */
    char *authority;        /* Host or :authority, may be NULL */
    /* status line */
    int status;             /* 0 for requests */
    char *reason;           /* may be NULL */

    lt_header *hdrs;
    size_t nhdrs, hdrcap;

    lt_buf body;            /* decoded body, at most the body cap (empty when folded) */
    struct lt_aoai_stream *aoai; /* set: the body is folded into this as it arrives
                                  * and not kept (aoai.h: streamed answers) */
    uint64_t body_folded;   /* decoded bytes handed to aoai (they count toward the cap) */
    size_t folded_charged;  /* aoai's footprint charged to the budget (part of charged) */
    uint64_t head_bytes;    /* bytes of the head on the wire */
    uint64_t wire_bytes;    /* bytes of body on the wire (before Content-Encoding decoding) */
    uint64_t body_bytes;    /* decoded body length, counted past the cap */
    int body_truncated;     /* decoded body exceeded the cap */
    int decode_error;       /* Content-Encoding could not be decoded; body holds raw bytes */

    lt_time_us start_ts;    /* first byte of the message */
    lt_time_us end_ts;      /* last byte of the message */
    lt_body_mark *marks;    /* arrival times of body parts, at most LT_BODY_MARKS_MAX */
    size_t nmarks, markcap;

    int incomplete;         /* enum lt_incomplete */

    struct lt_membudget *budget; /* where `charged` was charged (NULL: nothing) */
    size_t charged;         /* bytes of this message charged to it (body capacity) */
    int budget_truncated;   /* the body was cut short by the memory budget */
} lt_http_msg;

typedef struct lt_exchange {
    const lt_conn_info *conn;
    int version;            /* 11 or 20 */
    uint32_t stream_id;     /* HTTP/2 stream id, 0 for HTTP/1 */
    uint32_t seq;           /* index of the exchange on its connection, from 0 */
    lt_http_msg req;
    lt_http_msg resp;
    int incomplete;         /* first reason that applies, LT_INC_NONE if complete */
} lt_exchange;

void lt_http_msg_init(lt_http_msg *m);
void lt_http_msg_free(lt_http_msg *m);   /* frees contents, leaves m re-initialized */
int lt_http_msg_add_header(lt_http_msg *m, const char *name, size_t nlen,
                           const char *value, size_t vlen);
/* First header with this name (case-insensitive), or NULL. */
const char *lt_http_msg_header(const lt_http_msg *m, const char *name);
/* Records that body bytes starting at the current body_bytes arrived at ts. */
void lt_http_msg_mark(lt_http_msg *m, lt_time_us ts);
/* Time the decoded byte at offset off arrived (start_ts if unknown). */
lt_time_us lt_http_msg_time_at(const lt_http_msg *m, uint64_t off);

/* Appends n decoded body bytes, keeping at most cap bytes of body and only
 * what the memory budget mb (may be NULL) lets the body grow by; sets
 * body_truncated when bytes are not kept (and budget_truncated, with reason
 * "memcap", when the budget refused them). Returns the bytes kept. */
struct lt_membudget;
size_t lt_http_msg_body_append(lt_http_msg *m, const uint8_t *p, size_t n, size_t cap, struct lt_membudget *mb);
/* The message's body is decoded by dec: the decoder's output and state are
 * charged to mb through the message. */
struct lt_content;
void lt_http_msg_body_decoder(lt_http_msg *m, struct lt_content *dec, struct lt_membudget *mb);
/* The body cannot be kept as it comes (its decoder could not be allocated):
 * cut before its first byte, as the memory budget cuts (counted and logged
 * by lt_http_msg_body_done). */
void lt_http_msg_body_refuse(lt_http_msg *m);
/* After bytes went through the message's decoder: flags what it cut. */
void lt_http_msg_body_decoded(lt_http_msg *m, const struct lt_content *dec);

void lt_exchange_init(lt_exchange *ex, const lt_conn_info *conn);
void lt_exchange_free(lt_exchange *ex);

/* The end of a message's body, the same for HTTP/1 and HTTP/2: a decode
 * error flags the message, a decompression bomb is counted, a body over the
 * cap is counted, the decoder (*dec, may be NULL) is freed. Returns 1 when
 * decoding stopped at the expansion limit (the caller logs it with its
 * connection and stream). */
int lt_http_msg_body_done(lt_http_msg *m, struct lt_content **dec, lt_counters *ctr);
/* Before an exchange is handed out: its reason to be incomplete, from its
 * halves (no_request: the reason when the request is missing). */
void lt_exchange_settle(lt_exchange *ex, int no_request);

#endif
