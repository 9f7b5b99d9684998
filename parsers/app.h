/* app.h -- the interface every application-layer parser implements.
 *
 * A parser is a pure consumer of the two byte streams of one connection:
 * bytes in (with their arrival time), exchanges out through a callback. It
 * never sees packets, sockets or files, so the pcap replay, the live tap and
 * the inline proxy all drive the same code. Holes (bytes lost by the capture)
 * are reported explicitly with gap() so the parser can close the affected
 * message as incomplete and resynchronize at the next message boundary. */
#ifndef LT_APP_H
#define LT_APP_H

#include <stddef.h>
#include <stdint.h>
#include "../common/counters.h"
#include "../common/lt.h"
#include "http_msg.h"

typedef struct lt_parser_cfg {
    size_t body_cap;        /* decoded bytes kept per body (default 16 MiB) */
    size_t head_cap;        /* bytes of a message head (default 64 KiB) */
    size_t h2_streams_max;  /* concurrent HTTP/2 streams tracked (default 1000) */
    unsigned decode_ratio_max;  /* Content-Encoding: decoded/encoded bytes allowed
                                 * past the first MiB (default 256; 0 = no limit) */
    size_t h2_header_list_max;  /* HTTP/2: decoded header bytes (name + value + 32
                                 * per field, as SETTINGS_MAX_HEADER_LIST_SIZE counts)
                                 * per message, all its blocks (default 64 KiB) */
    struct lt_membudget *budget; /* the process's parser memory budget, shared by
                                  * every connection of every pipeline (not owned;
                                  * NULL = none, common/membudget.h) */
} lt_parser_cfg;

void lt_parser_cfg_defaults(lt_parser_cfg *cfg);

/* Called once per finished exchange (complete or not). The callee may keep
 * nothing: the exchange is freed when the callback returns. */
typedef void (*lt_exchange_cb)(void *ud, lt_exchange *ex);

/* Called by HTTP/1 when a 101 response switches the connection to "h2c".
 * req is the upgraded request; it becomes HTTP/2 stream 1. The HTTP/1
 * parser ignores everything after this call. */
typedef void (*lt_upgrade_cb)(void *ud, const char *proto, lt_http_msg *req, lt_time_us ts);

typedef struct lt_app_sink {
    lt_exchange_cb on_exchange;
    lt_upgrade_cb on_upgrade;   /* may be NULL */
    void *ud;
    lt_counters *ctr;           /* where the parser counts what it skips; NULL = its own */
} lt_app_sink;

typedef struct lt_app_ops {
    const char *name;
    void *(*create)(const lt_parser_cfg *cfg, const lt_conn_info *conn, const lt_app_sink *sink);
    void (*feed)(void *p, int dir, const uint8_t *data, size_t len, lt_time_us ts);
    void (*gap)(void *p, int dir, uint64_t len, lt_time_us ts);
    /* end of one direction (FIN) */
    void (*eof)(void *p, int dir, lt_time_us ts);
    /* end of the connection (both FINs, RST, idle timeout, end of capture):
     * emit every pending exchange, incomplete ones marked as such. */
    void (*close)(void *p, int reset, lt_time_us ts);
    void (*destroy)(void *p);
} lt_app_ops;

extern const lt_app_ops lt_http1_ops;
extern const lt_app_ops lt_http2_ops;

#endif
