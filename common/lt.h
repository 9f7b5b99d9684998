/* lt.h -- small shared types for every llmtap module.
 *
 * Everything that crosses a module boundary is built from these: a growable
 * byte buffer, microsecond timestamps, and the endpoint of a TCP connection.
 * Keeping them here (and nothing else) lets parsers stay independent of the
 * capture code, so pcap replay, live tap and the inline proxy feed the same
 * parsers. */
#ifndef LT_LT_H
#define LT_LT_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch (UTC). */
typedef int64_t lt_time_us;

/* Growable byte buffer. data is always NUL-terminated when len > 0 or
 * after lt_buf_append(), so JSON and text parsers can use it in place. */
typedef struct lt_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} lt_buf;

void lt_buf_init(lt_buf *b);
int lt_buf_reserve(lt_buf *b, size_t extra);           /* 0 ok, -1 out of memory */
/* The capacity lt_buf_reserve(b, extra) would give b (b->cap if it suffices). */
size_t lt_buf_grown_cap(const lt_buf *b, size_t extra);
int lt_buf_append(lt_buf *b, const void *p, size_t n); /* 0 ok, -1 out of memory */
void lt_buf_consume(lt_buf *b, size_t n);              /* drop n bytes from the front */
void lt_buf_reset(lt_buf *b);                          /* len = 0, keeps memory */
void lt_buf_free(lt_buf *b);

/* One side of a TCP connection. family is 4 or 6; addr holds 4 or 16 bytes. */
typedef struct lt_endpoint {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
} lt_endpoint;

/* Formats an endpoint address as text ("10.0.0.1", "::1"). */
const char *lt_endpoint_addr_str(const lt_endpoint *e, char *out, size_t outlen);

/* What a parser knows about the connection it parses. client is the side
 * that sent the first request (or the SYN). */
typedef struct lt_conn_info {
    lt_endpoint client;
    lt_endpoint server;
    uint64_t conn_id;      /* unique within a run */
    lt_time_us start_ts;   /* first packet seen */
    int missed_start;      /* capture began mid-connection (no SYN seen) */
} lt_conn_info;

/* Directions, always relative to the client. */
enum { LT_DIR_TO_SERVER = 0, LT_DIR_TO_CLIENT = 1 };

/* ISO 8601 UTC with microseconds: 2026-11-22T14:50:37.123456Z */
const char *lt_time_iso(lt_time_us t, char *out, size_t outlen);

#define LT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
