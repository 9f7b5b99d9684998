/* session.h -- the application layer of one connection.
 *
 * Decides which parser a connection speaks (HTTP/2 by its preface or by a
 * chain of valid frame headers when joined mid-way, HTTP/1.x by a request or
 * status line, otherwise "not HTTP", counted and ignored), feeds it the
 * reassembled bytes, follows an HTTP/1.1 Upgrade to h2c, and turns finished
 * exchanges into records. */
#ifndef LT_SESSION_H
#define LT_SESSION_H

#include "../common/lt.h"
#include "../parsers/app.h"
#include "../records/record.h"

typedef struct lt_session lt_session;

lt_session *lt_session_create(const lt_parser_cfg *pcfg, const lt_record_cfg *rcfg,
                              const lt_conn_info *conn, lt_record_cb cb, void *ud);
void lt_session_data(lt_session *s, int dir, const uint8_t *p, size_t n, lt_time_us ts);
void lt_session_gap(lt_session *s, int dir, uint64_t n, lt_time_us ts);
void lt_session_eof(lt_session *s, int dir, lt_time_us ts);
void lt_session_close(lt_session *s, int reset, lt_time_us ts);
void lt_session_destroy(lt_session *s);

/* Does this look like the start of an HTTP/1 request (dir 0) or response (dir 1)? */
int lt_session_looks_http1(int dir, const uint8_t *p, size_t n);

#endif
