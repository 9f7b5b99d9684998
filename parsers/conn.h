/* conn.h -- the application layer of one connection: the one entry point
 * for bytes.
 *
 * Decides which parser a connection speaks (HTTP/2 by its preface or by a
 * chain of valid frame headers when joined mid-way, HTTP/1.x by a request or
 * status line, otherwise "not HTTP", counted and ignored), feeds it the
 * bytes of each direction, follows an HTTP/1.1 Upgrade to h2c, and hands
 * every finished exchange to the caller's sink. The tap's reassembly and
 * the inline proxy both feed connections through here; neither knows which
 * protocol a connection spoke. */
#ifndef LT_CONN_H
#define LT_CONN_H

#include "../common/lt.h"
#include "app.h"

typedef struct lt_conn_parser lt_conn_parser;

/* out->on_exchange receives every exchange (out->on_upgrade is not used);
 * out->ctr is where everything is counted (NULL: a private struct). conn
 * must outlive the parser. pcfg NULL: defaults. */
lt_conn_parser *lt_conn_parser_create(const lt_parser_cfg *pcfg, const lt_conn_info *conn,
                                      const lt_app_sink *out);
/* Bytes of direction dir (LT_DIR_TO_SERVER / LT_DIR_TO_CLIENT) in order. */
void lt_conn_parser_feed(lt_conn_parser *s, int dir, const uint8_t *p, size_t n, lt_time_us ts);
/* n bytes of direction dir were lost. */
void lt_conn_parser_gap(lt_conn_parser *s, int dir, uint64_t n, lt_time_us ts);
/* End of one direction (FIN). */
void lt_conn_parser_eof(lt_conn_parser *s, int dir, lt_time_us ts);
/* End of the connection: pending exchanges are emitted, incomplete ones flagged. */
void lt_conn_parser_close(lt_conn_parser *s, int reset, lt_time_us ts);
void lt_conn_parser_destroy(lt_conn_parser *s);

/* Does this look like the start of an HTTP/1 request (dir 0) or response (dir 1)? */
int lt_conn_parser_looks_http1(int dir, const uint8_t *p, size_t n);

#endif
