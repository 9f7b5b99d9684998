/* fuzz_script.h -- the connection script shared by the HTTP/1 and HTTP/2
 * harnesses (fuzz_http1.c, fuzz_http2.c).
 *
 * A fuzz input is a small script for one connection, so the fuzzer explores
 * interleavings of the two directions, holes, FINs and resets, not only byte
 * contents:
 *
 *   byte 0        flags: 1 missed_start, 2 small caps (body 64, head 256),
 *                 4 close() with reset, 8 differential split check
 *   then ops      op byte: bit 0 direction, bits 1-2 kind
 *                   kind 0/1  feed: next byte = length, then that many bytes
 *                   kind 2    gap: next byte * 16 bytes lost
 *                   kind 3    eof of that direction
 *
 * Every exchange is checked for the invariants any consumer relies on
 * (present halves, caps respected, marks ordered and bounded, NUL-terminated
 * bodies, incomplete reason in range) and turned into records, which must
 * serialize to JSON the uploader can load (deliverable.h). With flag 8 and no gap in the
 * script, the script is replayed a second time with every feed cut into
 * 1..7-byte pieces: TCP may segment a stream anywhere, so both runs must
 * yield the same exchanges. Header-only so each harness stays one file. */
#ifndef LT_FUZZ_SCRIPT_H
#define LT_FUZZ_SCRIPT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/counters.h"
#include "common/log.h"
#include "parsers/app.h"
#include "records/records.h"
#include "deliverable.h"

typedef struct fz_run {
    lt_buf log;          /* transcript of the exchanges, for the split check */
    size_t body_cap;
    int version;         /* expected lt_exchange.version */
    lt_counters ctr;
    int n;
} fz_run;

static void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz invariant violated: %s\n", what);
    abort();
}

static void fz_check_msg(const lt_http_msg *m, size_t body_cap)
{
    if (m->body.len > body_cap) fz_fail("body longer than the body cap");
    if (m->body.len && m->body.data[m->body.len] != 0) fz_fail("body not NUL-terminated");
    if (m->nmarks > LT_BODY_MARKS_MAX) fz_fail("too many body marks");
    for (size_t i = 1; i < m->nmarks; i++)
        if (m->marks[i].off < m->marks[i - 1].off) fz_fail("body marks out of order");
    if (m->body_bytes < m->body.len && !m->decode_error) fz_fail("body_bytes < kept body");
    if (m->incomplete < 0 || m->incomplete >= LT_INC__COUNT) fz_fail("incomplete out of range");
    for (size_t i = 0; i < m->nhdrs; i++)
        if (!m->hdrs[i].name || !m->hdrs[i].value) fz_fail("header without name or value");
    (void)lt_http_msg_time_at(m, m->body_bytes / 2);
}

static void fz_log_msg(lt_buf *b, const lt_http_msg *m)
{
    char t[96];
    int n = snprintf(t, sizeof t, "|%d %d %d %zu %d %d %zu|", m->present, m->status, m->incomplete,
                     m->nhdrs, m->body_truncated, m->decode_error, m->body.len);
    lt_buf_append(b, t, (size_t)n);
    if (m->method) lt_buf_append(b, m->method, strlen(m->method));
    if (m->target) lt_buf_append(b, m->target, strlen(m->target));
    lt_buf_append(b, "|", 1);
    lt_buf_append(b, m->body.data, m->body.len);
}

static void fz_on_exchange(void *ud, lt_exchange *ex)
{
    fz_run *r = ud;
    if (!ex->req.present && !ex->resp.present) fz_fail("exchange with neither half");
    if (ex->incomplete < 0 || ex->incomplete >= LT_INC__COUNT) fz_fail("incomplete out of range");
    if (ex->req.present && !ex->req.method) fz_fail("request without method");
    if (ex->resp.present && (ex->resp.status < 100 || ex->resp.status > 999)) fz_fail("bad status");
    if (ex->version != r->version) fz_fail("wrong version");
    fz_check_msg(&ex->req, r->body_cap);
    fz_check_msg(&ex->resp, r->body_cap);
    lt_record_cfg rc;
    lt_record_cfg_defaults(&rc);
    lt_records_from_exchange(&rc, ex, &r->ctr, fz_on_record, r);
    char t[64];
    int n = snprintf(t, sizeof t, "\n#%u %u %d", ex->seq, ex->stream_id, ex->incomplete);
    lt_buf_append(&r->log, t, (size_t)n);
    fz_log_msg(&r->log, &ex->req);
    fz_log_msg(&r->log, &ex->resp);
    r->n++;
}

static void fz_on_upgrade(void *ud, const char *proto, lt_http_msg *req, lt_time_us ts)
{
    fz_run *r = ud;
    (void)ts;
    if (!proto || !req) fz_fail("upgrade without protocol or request");
    lt_buf_append(&r->log, "\nupgrade", 8);
}

/* Runs the script through ops; split > 0 cuts each feed into pieces of
 * 1..split bytes. Returns 1 if the script contains a gap. */
static int fz_run_script(const lt_app_ops *ops, const uint8_t *d, size_t n, int split, fz_run *r)
{
    lt_conn_info conn;
    memset(&conn, 0, sizeof conn);
    conn.missed_start = d[0] & 1;
    lt_parser_cfg cfg;
    lt_parser_cfg_defaults(&cfg);
    if (d[0] & 2) { cfg.body_cap = 64; cfg.head_cap = 256; }
    r->body_cap = cfg.body_cap;
    lt_app_sink sink = {fz_on_exchange, fz_on_upgrade, r, &r->ctr};
    void *p = ops->create(&cfg, &conn, &sink);
    if (!p) return 0;
    int gaps = 0;
    lt_time_us ts = 1000;
    size_t i = 1, piece = 0;
    while (i < n) {
        uint8_t op = d[i++];
        int dir = op & 1, kind = (op >> 1) & 3;
        ts++;
        if (kind == 3) { ops->eof(p, dir, ts); continue; }
        if (i >= n) break;
        size_t len = d[i++];
        if (kind == 2) { ops->gap(p, dir, len * 16u, ts); gaps = 1; continue; }
        if (len > n - i) len = n - i;
        for (size_t k = 0; k < len;) {
            size_t m = split ? 1 + (piece++ % (size_t)split) : len;
            if (m > len - k) m = len - k;
            ops->feed(p, dir, d + i + k, m, ts);
            k += m;
        }
        i += len;
    }
    ops->close(p, (d[0] & 4) != 0, ts + 1);
    ops->destroy(p);
    return gaps;
}

/* The whole harness: run, and with flag 8 compare with a split run. */
static int fz_script_main(const lt_app_ops *ops, int version, const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    lt_log_level = -1; /* the parsers log every damage; keep the fuzzer quiet */
    fz_run a = {.version = version}, b = {.version = version};
    lt_buf_init(&a.log);
    lt_buf_init(&b.log);
    int gaps = fz_run_script(ops, data, size, 0, &a);
    if ((data[0] & 8) && !gaps) {
        fz_run_script(ops, data, size, 7, &b);
        if (a.log.len != b.log.len || (a.log.len && memcmp(a.log.data, b.log.data, a.log.len))) {
            fprintf(stderr, "split mismatch:\nwhole:%.*s\nsplit:%.*s\n", (int)a.log.len,
                    a.log.data ? (const char *)a.log.data : "", (int)b.log.len,
                    b.log.data ? (const char *)b.log.data : "");
            fz_fail("split run differs from whole run");
        }
    }
    lt_buf_free(&a.log);
    lt_buf_free(&b.log);
    return 0;
}

#endif
