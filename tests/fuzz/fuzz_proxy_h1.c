/* fuzz_proxy_h1.c -- libFuzzer harness for the inline proxy's HTTP/1.x
 * framing (proxy/h1_frame.h): the client's requests as h1.c frames them,
 * the backend's responses as forward.c does.
 *
 * Input: byte 0 flags (bit 0: the bytes are responses, else requests;
 * bit 1: the request was HEAD; bits 2-7: a request body limit of that many
 * 64-byte units, 0 = 1 GiB), byte 1 the split step and byte 2 its phase
 * (feeds of 1 + (k + phase) % step bytes; step 0 = one feed), then the
 * bytes of one connection: messages one after another, pipelined, the
 * connection's end after the last feed. Each message is framed the way
 * the proxy does it (head end found, head copied and parsed, fields by
 * lt_forward_kv_fields, then body data and lines until DONE or ERR), the
 * next message after it; the available bytes are the input not yet
 * consumed, as in the proxy's evbuffer. Heads and line windows are handed
 * over in heap copies of their exact size, so a read past them is caught.
 *
 * Checked: nothing consumed beyond what is there; a line step consumes at
 * least one byte unless it fails; MORE only while the window is not full
 * (a full window always decides, so the proxy never waits forever); body
 * bytes add up to the Content-Length or to the chunk sizes and never pass a
 * request's limit; no head longer than LT_H1_FRAME_HEAD_MAX + 1 bytes is
 * accepted; lt_h1_frame_length agrees with strtoull; an error is sticky (no further call consumes or changes
 * anything); and the events of the whole input once and of the split feeds
 * are identical (the framing may be cut at any byte), except after a
 * response's long trailer field, whose skipping depends on what arrived.
 *
 * FZ_PROXY_H1_PRINT=1 prints the events of the whole input (Q/R a head:
 * minor or status, keep, length; I a 1xx; body bytes; D done: body length,
 * chunked; S a skipped trailer field; E an error; X the end: dead, state).
 * Seeds: tests/fuzz/make_seeds.py (proxy_h1). Regression inputs:
 * tests/fuzz/regress/proxy_h1/. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>
#include "common/lt.h"
#include "proxy/h1_frame.h"
#include "proxy/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                 \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__);     \
            abort();                                                                \
        }                                                                           \
    } while (0)

typedef struct fz_run {
    int resp, head_req;
    uint64_t limit;
    const uint8_t *in;
    size_t off;             /* consumed */
    lt_h1_frame f;
    uint64_t expect;        /* Content-Length, or the sum of the chunk sizes so far */
    uint64_t moved;         /* body bytes moved on for this message */
    int chunked, dead, skipped;
    lt_fwd_kv kv;
    lt_buf log;
} fz_run;

__attribute__((format(printf, 2, 3))) static void fz_log(fz_run *r, const char *fmt, ...)
{
    char t[96];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    lt_buf_append(&r->log, t, (size_t)n);
}

static void fz_next_message(fz_run *r)
{
    lt_h1_frame_init(&r->f, r->resp, r->limit);
    r->expect = r->moved = 0;
    r->chunked = 0;
}

static void fz_done(fz_run *r)
{
    FZ_CHECK(r->f.body == r->moved);
    FZ_CHECK(r->f.body == r->expect);
    FZ_CHECK(r->f.left == 0);
    fz_log(r, "D %llu %d\n", (unsigned long long)r->f.body, r->chunked);
    fz_next_message(r);
}

/* An error: sticky, whatever is called after it. */
static void fz_error(fz_run *r, int status)
{
    fz_log(r, "E %d\n", status);
    r->dead = 1;
    if (r->f.st != LT_H1_FRAME_ERR) return;   /* a head the frame did not see (request line, fields) */
    lt_h1_frame before = r->f;
    size_t used = 7;
    FZ_CHECK(lt_h1_frame_data(&r->f, 100) == 0);
    FZ_CHECK(lt_h1_frame_line(&r->f, "0\r\n\r\n", 5, &used) == LT_H1_FRAME_MORE && used == 0);
    FZ_CHECK(lt_h1_frame_head_end(&r->f, 0, 1 << 20) == 1);
    FZ_CHECK(!memcmp(&before, &r->f, sizeof before));
}

/* lt_h1_frame_length is strtoull(v, end, 10), fast path or not. */
static void fz_length(const char *v)
{
    if (!v) return;
    char *e1 = NULL, *e2 = NULL;
    FZ_CHECK(lt_h1_frame_length(v, &e1) == strtoull(v, &e2, 10) && e1 == e2);
    FZ_CHECK(lt_h1_frame_length(v, NULL) == strtoull(v, NULL, 10));
}

/* The head h (hl bytes, a heap copy ending with the empty line). 0 framed, -1 refused. */
static int fz_head(fz_run *r, char *h, size_t hl)
{
    struct evkeyvalq q;
    int keep = -1, rc;
    char *end = h + hl;
    if (!r->resp) {
        lt_h1_frame_rline rl;
        if (lt_h1_frame_request_line(h, hl, &rl)) { fz_error(r, 400); return -1; }
        FZ_CHECK(rl.method == h && rl.uri > rl.method && rl.uri + rl.uri_len < end && rl.uri[0] == '/');
        FZ_CHECK(rl.minor == 0 || rl.minor == 1);
        FZ_CHECK(rl.fields > rl.uri + rl.uri_len && rl.fields <= end);
        if (lt_forward_kv_fields(&r->kv, &q, h + (rl.fields - h), end) < 0) { fz_error(r, 400); return -1; }
        fz_length(evhttp_find_header(&q, "Content-Length"));
        rc = lt_h1_frame_request_body(&r->f, rl.minor, evhttp_find_header(&q, "Connection"),
                                      evhttp_find_header(&q, "Transfer-Encoding"),
                                      evhttp_find_header(&q, "Content-Length"), &keep);
        if (rc) {
            FZ_CHECK(r->f.st == LT_H1_FRAME_ERR && r->f.err == rc);
            FZ_CHECK(rc == 400 || rc == 413 || rc == 501);
            fz_error(r, rc);
            return -1;
        }
        FZ_CHECK(r->f.st == LT_H1_FRAME_LEN || r->f.st == LT_H1_FRAME_CSIZE || r->f.st == LT_H1_FRAME_DONE);
        fz_log(r, "Q %d %d %llu\n", rl.minor, keep, (unsigned long long)r->f.left);
    } else {
        lt_h1_frame_sline sl;
        int status = lt_h1_frame_status_line(h, hl, &sl);
        if (status < 0) { fz_error(r, -1); return -1; }
        FZ_CHECK(status >= 100 && status <= 999 && status == sl.status && (sl.minor == 0 || sl.minor == 1));
        FZ_CHECK(sl.reason >= h + 12 && sl.reason + sl.reason_len <= sl.fields && sl.fields <= end);
        if (lt_forward_kv_fields(&r->kv, &q, h + (sl.fields - h), end) < 0) { fz_error(r, -1); return -1; }
        fz_length(evhttp_find_header(&q, "Content-Length"));
        rc = lt_h1_frame_response_body(&r->f, sl.minor, status, r->head_req, evhttp_find_header(&q, "Connection"),
                                       evhttp_find_header(&q, "Transfer-Encoding"),
                                       evhttp_find_header(&q, "Content-Length"), &keep);
        if (rc) {
            FZ_CHECK(rc == -1 && r->f.st == LT_H1_FRAME_ERR && r->f.err == -1);
            fz_error(r, rc);
            return -1;
        }
        if (status < 200) {
            FZ_CHECK(r->f.st == LT_H1_FRAME_HEAD && keep == -1);
            fz_log(r, "I %d\n", status);
            return 0;
        }
        FZ_CHECK(r->f.st == LT_H1_FRAME_LEN || r->f.st == LT_H1_FRAME_CSIZE || r->f.st == LT_H1_FRAME_EOF ||
                 r->f.st == LT_H1_FRAME_DONE);
        fz_log(r, "R %d %d %llu\n", status, keep, (unsigned long long)r->f.left);
    }
    FZ_CHECK(keep == 0 || keep == 1);
    r->chunked = r->f.st == LT_H1_FRAME_CSIZE;
    if (r->f.st == LT_H1_FRAME_LEN) r->expect = r->f.left;
    FZ_CHECK(r->f.body == 0 && (r->resp || r->f.left <= r->limit));
    return 0;
}

/* Frames what is there (input bytes off..fed), as far as it goes. */
static void fz_process(fz_run *r, size_t fed)
{
    lt_h1_frame *f = &r->f;
    while (!r->dead) {
        const uint8_t *p = r->in + r->off;
        size_t avail = fed - r->off;
        int st = f->st;
        FZ_CHECK(r->off <= fed);
        if (st == LT_H1_FRAME_HEAD) {
            if (!avail) return;
            const uint8_t *e = memmem(p, avail, "\r\n\r\n", 4);
            size_t hl = e ? (size_t)(e - p) + 4 : 0;
            if (lt_h1_frame_head_end(f, hl, avail)) {
                FZ_CHECK(f->st == LT_H1_FRAME_ERR && f->err == (r->resp ? -1 : 431));
                fz_error(r, f->err);
                return;
            }
            if (!hl) return;
            FZ_CHECK(hl <= avail && hl <= LT_H1_FRAME_HEAD_MAX + 1);
            char *h = malloc(hl);
            FZ_CHECK(h);
            memcpy(h, p, hl);
            r->off += hl;
            int rc = fz_head(r, h, hl);
            free(h);
            if (rc < 0) return;
            if (f->st == LT_H1_FRAME_DONE) fz_done(r);
        } else if (st == LT_H1_FRAME_LEN || st == LT_H1_FRAME_CDATA || st == LT_H1_FRAME_EOF) {
            if (!avail) return;
            uint64_t left = f->left, body = f->body;
            size_t n = lt_h1_frame_data(f, avail);
            FZ_CHECK(n > 0 && n <= avail);
            FZ_CHECK(f->body == body + n);
            FZ_CHECK(st == LT_H1_FRAME_EOF ? n == avail : f->left == left - n);
            FZ_CHECK(r->resp || f->body <= r->limit);
            lt_buf_append(&r->log, p, n);
            r->off += n;
            r->moved += n;
            if (f->st == LT_H1_FRAME_DONE) fz_done(r);
            else if (f->st != LT_H1_FRAME_CEND) { FZ_CHECK(r->off == fed); return; }
        } else if (lt_h1_frame_wants_line(f)) {
            size_t w = avail < LT_H1_FRAME_LINE_WIN ? avail : LT_H1_FRAME_LINE_WIN, used = 99;
            char *win = malloc(w ? w : 1);
            FZ_CHECK(win);
            memcpy(win, p, w);
            int res = lt_h1_frame_line(f, win, w, &used);
            free(win);
            if (res == LT_H1_FRAME_MORE) {
                FZ_CHECK(used == 0 && f->st == st && w < LT_H1_FRAME_LINE_WIN);
                return;
            }
            if (res == LT_H1_FRAME_SKIP) {   /* forward.c: through the next LF, or all there is */
                FZ_CHECK(r->resp && st == LT_H1_FRAME_TRAILER && f->st == st && used == 0);
                const uint8_t *nl = memchr(p, '\n', avail);
                r->off += nl ? (size_t)(nl - p) + 1 : avail;
                r->skipped = 1;
                fz_log(r, "S\n");
                continue;
            }
            FZ_CHECK(res == LT_H1_FRAME_STEP && used <= w);
            r->off += used;
            if (f->st == LT_H1_FRAME_ERR) {
                FZ_CHECK(r->resp ? f->err == -1 : (f->err == 400 || f->err == 413 || f->err == 431));
                fz_error(r, f->err);
                return;
            }
            FZ_CHECK(used >= 1);
            if (st == LT_H1_FRAME_CSIZE && f->st == LT_H1_FRAME_CDATA) {
                FZ_CHECK(f->left > 0);
                r->expect += f->left;
                FZ_CHECK(r->resp || r->expect <= r->limit);
            }
            if (f->st == LT_H1_FRAME_DONE) fz_done(r);
        } else {
            FZ_CHECK(0);   /* DONE is handled where it is reached, ERR ends the run */
        }
    }
}

static void fz_run_init(fz_run *r, const uint8_t *flags, const uint8_t *in)
{
    memset(r, 0, sizeof *r);
    r->resp = flags[0] & 1;
    r->head_req = (flags[0] >> 1) & 1;
    r->limit = (flags[0] >> 2) ? (uint64_t)(flags[0] >> 2) * 64 : (uint64_t)1 << 30;
    r->in = in;
    lt_buf_init(&r->log);
    fz_next_message(r);
}

/* The connection ends: a body that runs until it does is whole. */
static void fz_eof(fz_run *r)
{
    if (!r->dead && r->f.st == LT_H1_FRAME_EOF) {
        r->expect = r->f.body;
        fz_done(r);
    }
    fz_log(r, "X %d %d\n", r->dead, r->f.st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    const uint8_t *in = data + 3;
    size_t n = size - 3, step = data[1], phase = data[2];
    size_t min_piece = n / 4096 + 1;   /* the head search starts over at each feed, as the proxy's does */

    fz_run whole, split;
    fz_run_init(&whole, data, in);
    fz_process(&whole, n);
    fz_eof(&whole);

    fz_run_init(&split, data, in);
    for (size_t fed = 0, k = 0; fed < n; k++) {
        size_t m = step ? 1 + (k + phase) % step : n;
        if (m < min_piece) m = min_piece;
        if (m > n - fed) m = n - fed;
        fed += m;
        fz_process(&split, fed);
    }
    fz_eof(&split);

    if (getenv("FZ_PROXY_H1_PRINT")) fprintf(stderr, "%.*s", (int)whole.log.len, whole.log.data ? (char *)whole.log.data : "");
    if (!whole.skipped && !split.skipped &&
        (whole.log.len != split.log.len || (whole.log.len && memcmp(whole.log.data, split.log.data, whole.log.len)))) {
        size_t i = 0;
        while (i < whole.log.len && i < split.log.len && whole.log.data[i] == split.log.data[i]) i++;
        size_t from = i > 200 ? i - 200 : 0;
        fprintf(stderr, "split mismatch (step %zu phase %zu) at log byte %zu:\nwhole: %.*s\nsplit: %.*s\n", step, phase,
                i, (int)(whole.log.len - from < 400 ? whole.log.len - from : 400),
                whole.log.data ? (const char *)whole.log.data + from : "",
                (int)(split.log.len - from < 400 ? split.log.len - from : 400),
                split.log.data ? (const char *)split.log.data + from : "");
        abort();
    }
    lt_buf_free(&whole.log);
    lt_buf_free(&split.log);
    free(whole.kv.v);
    free(split.kv.v);
    return 0;
}
