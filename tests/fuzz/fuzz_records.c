/* fuzz_records.c -- libFuzzer harness for SSE, the Azure OpenAI payload
 * readers and the records: one exchange built from the input goes through
 * lt_records_from_exchange (path routing, JSON request and response bodies,
 * streamed SSE deltas, headers, fingerprints).
 *
 * Input: byte 0 flags (1 streamed text/event-stream response, 2 error status
 * 429, 4 GET instead of POST, 8 response cut (incomplete), 16 api-key
 * header), then up to four fields separated by the two bytes FF FE: target
 * (path and query), request body, response body, extra request headers
 * ("Name: value" lines). Every record must serialize and load back with the
 * flags the uploader uses, and the SSE parser must give the same events for
 * the response body whole and fed byte-split (its promise). Seeds: the
 * fixtures' bodies (tests/fuzz/make_seeds.py). Regression inputs:
 * tests/fuzz/regress/records/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "parsers/sse.h"
#include "records/records.h"
#include "deliverable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_field { const uint8_t *p; size_t n; } fz_field;

static size_t fz_split(const uint8_t *d, size_t n, fz_field *f, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i + 1 < n && k + 1 < max; i++) {
        if (d[i] != 0xff || d[i + 1] != 0xfe) continue;
        f[k].p = d + start; f[k].n = i - start; k++;
        start = i + 2;
        i++;
    }
    f[k].p = d + start; f[k].n = n - start;
    return k + 1;
}

static void fz_on_event(void *ud, const lt_sse_event *ev)
{
    lt_buf *b = ud;
    char t[48];
    int n = snprintf(t, sizeof t, "\n%llu %d ", (unsigned long long)ev->off, ev->unterminated);
    lt_buf_append(b, t, (size_t)n);
    lt_buf_append(b, ev->event, ev->event_len);
    lt_buf_append(b, "|", 1);
    lt_buf_append(b, ev->data, ev->data_len);
}

static void fz_sse_split_check(const uint8_t *p, size_t n)
{
    lt_buf whole, split;
    lt_buf_init(&whole);
    lt_buf_init(&split);
    lt_sse_parse_all(p, n, fz_on_event, &whole);
    lt_sse *s = lt_sse_create(fz_on_event, &split);
    for (size_t i = 0; i < n; i++) lt_sse_feed(s, p + i, 1);
    lt_sse_feed(s, p, 0);
    lt_sse_finish(s);
    lt_sse_destroy(s);
    if (whole.len != split.len || (whole.len && memcmp(whole.data, split.data, whole.len))) {
        fprintf(stderr, "SSE split mismatch:\nwhole:%.*s\nsplit:%.*s\n", (int)whole.len,
                whole.data ? (char *)whole.data : "", (int)split.len, split.data ? (char *)split.data : "");
        abort();
    }
    lt_buf_free(&whole);
    lt_buf_free(&split);
}

static void fz_add_headers(lt_http_msg *m, const fz_field *f)
{
    const char *p = (const char *)f->p, *end = p + f->n;
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        const char *le = lf ? lf : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon && colon > p)
            lt_http_msg_add_header(m, p, (size_t)(colon - p), colon + 1, (size_t)(le - colon - 1));
        p = le + 1;
    }
}

static char *fz_str(const fz_field *f)
{
    char *s = malloc(f->n + 1);
    if (!s) abort();
    if (f->n) memcpy(s, f->p, f->n);
    s[f->n] = 0;
    return s;
}

static void fz_build(lt_exchange *ex, uint8_t flags, const fz_field *f, size_t nf)
{
    static const char key[] = "0123456789abcdef0123456789abcdef";
    lt_http_msg *q = &ex->req, *r = &ex->resp;
    q->present = r->present = 1;
    q->version = r->version = 11;
    q->method = strdup(flags & 4 ? "GET" : "POST");
    q->target = nf > 0 && f[0].n ? fz_str(&f[0]) : strdup("/openai/deployments/d/chat/completions?api-version=2024-10-21");
    q->authority = strdup("aoai.example");
    q->start_ts = 1000000;
    q->end_ts = 1000100;
    lt_http_msg_add_header(q, "Content-Type", 12, "application/json", 16);
    if (flags & 16) lt_http_msg_add_header(q, "api-key", 7, key, sizeof key - 1);
    if (nf > 3) fz_add_headers(q, &f[3]);
    if (nf > 1) lt_buf_append(&q->body, f[1].p, f[1].n);
    q->body_bytes = q->wire_bytes = q->body.len;
    r->status = flags & 2 ? 429 : 200;
    const char *ct = flags & 1 ? "text/event-stream" : "application/json";
    lt_http_msg_add_header(r, "Content-Type", 12, ct, strlen(ct));
    if (nf > 2) lt_buf_append(&r->body, f[2].p, f[2].n);
    r->body_bytes = r->wire_bytes = r->body.len;
    r->start_ts = 1200000;
    lt_http_msg_mark(r, 1200000);
    r->end_ts = 1500000;
    if (flags & 8) { r->incomplete = LT_INC_TRUNCATED; ex->incomplete = LT_INC_TRUNCATED; }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    lt_log_level = -1;
    fz_field f[4];
    size_t nf = fz_split(data + 1, size - 1, f, 4);
    lt_conn_info conn;
    memset(&conn, 0, sizeof conn);
    conn.conn_id = 7;
    lt_exchange ex;
    lt_exchange_init(&ex, &conn);
    ex.version = 11;
    fz_build(&ex, data[0], f, nf);
    lt_record_cfg rc;
    lt_record_cfg_defaults(&rc);
    lt_counters ctr;
    lt_counters_reset(&ctr);
    lt_records_from_exchange(&rc, &ex, &ctr, fz_on_record, NULL);
    if (nf > 2) fz_sse_split_check(f[2].p, f[2].n);
    lt_exchange_free(&ex);
    return 0;
}
