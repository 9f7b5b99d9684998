/* h1_frame.c -- the proxy's HTTP/1.x framing, bytes in and decisions out
 * (h1_frame.h says what each function decides and why it is apart: the
 * callers, h1.c and forward.c, keep the evbuffers; the fuzz target
 * tests/fuzz/fuzz_proxy_h1.c drives this code with arbitrary bytes).
 *
 * Request and response apart where they differ: a bad line in a request's
 * chunked body is refused with a status (400, 413 over the body limit, 431
 * for a trailer field longer than a line), a response's fails the attempt;
 * a response's long trailer field is skipped. Every decision is the same
 * however the bytes were cut into reads (the fuzz target checks it): a
 * head is too long by its length, not by how much of it one read brought,
 * and a line is too long only once more than LT_H1_FRAME_LINE_MAX bytes
 * without an LF are there. Nothing here allocates or copies more than one
 * chunk-size line (to end it with a NUL for strtoull). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "h1_frame.h"

static int lt_h1_frame_fail(lt_h1_frame *f, int status)
{
    f->st = LT_H1_FRAME_ERR;
    f->err = f->resp ? -1 : status;
    return f->err;
}

int lt_h1_frame_head_over(lt_h1_frame *f)
{
    if (f->st != LT_H1_FRAME_ERR) lt_h1_frame_fail(f, 431);
    return 1;
}

int lt_h1_frame_token(const char *v, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = v; p && (p = strcasestr(p, tok)); p += n) {
        int start = p == v || p[-1] == ',' || p[-1] == ' ' || p[-1] == '\t';
        int end = !p[n] || p[n] == ',' || p[n] == ' ' || p[n] == '\t' || p[n] == ';';
        if (start && end) return 1;
    }
    return 0;
}

uint64_t lt_h1_frame_length(const char *v, char **end)
{
    const char *p = v;
    uint64_t x = 0;
    while (*p >= '0' && *p <= '9' && p - v < 19) x = x * 10 + (uint64_t)(*p++ - '0');
    if (p == v || *p) return strtoull(v, end, 10);   /* sign, spaces, junk, 20 digits or more */
    if (end) *end = (char *)p;
    return x;
}

/* ---- heads ---- */

int lt_h1_frame_request_line(const char *h, size_t n, lt_h1_frame_rline *rl)
{
    const char *eol = memchr(h, '\n', n);
    if (!eol) return 400;
    const char *le = eol > h && eol[-1] == '\r' ? eol - 1 : eol;
    const char *sp1 = memchr(h, ' ', (size_t)(le - h));
    if (!sp1) return 400;
    const char *uri = sp1 + 1, *sp2 = memchr(uri, ' ', (size_t)(le - uri));
    if (!sp2 || le - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1')) return 400;
    if (*uri != '/') return 400;
    rl->method = h;
    rl->method_len = (size_t)(sp1 - h);
    rl->uri = uri;
    rl->uri_len = (size_t)(sp2 - uri);
    rl->minor = sp2[8] - '0';
    rl->fields = eol + 1;
    return 0;
}

/* The connection goes on after this message (HTTP/1.1 unless "close",
 * HTTP/1.0 only with "keep-alive"). */
static int lt_h1_frame_keep(int minor, const char *conn)
{
    return minor ? !(conn && lt_h1_frame_token(conn, "close")) : (conn && lt_h1_frame_token(conn, "keep-alive"));
}

int lt_h1_frame_request_body(lt_h1_frame *f, int minor, const char *conn, const char *te, const char *len, int *keep)
{
    *keep = lt_h1_frame_keep(minor, conn);
    if (te) {
        if (!lt_h1_frame_token(te, "chunked")) return lt_h1_frame_fail(f, 501);
        f->st = LT_H1_FRAME_CSIZE;
        if (len) *keep = 0;   /* both: the length is ignored, and the connection not trusted after */
    } else if (len) {
        char *e;
        f->left = lt_h1_frame_length(len, &e);
        if (e == len || *e || *len == '-') return lt_h1_frame_fail(f, 400);
        if (f->left > f->limit) return lt_h1_frame_fail(f, 413);
        f->st = f->left ? LT_H1_FRAME_LEN : LT_H1_FRAME_DONE;
    } else {
        f->st = LT_H1_FRAME_DONE;
    }
    return 0;
}

int lt_h1_frame_status_line(const char *h, size_t n, lt_h1_frame_sline *sl)
{
    const char *eol = memchr(h, '\n', n);
    if (!eol || n < 12 || memcmp(h, "HTTP/1.", 7) || (h[7] != '0' && h[7] != '1') || h[8] != ' ') return -1;
    if (h[9] < '1' || h[9] > '9' || h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9') return -1;
    sl->minor = h[7] - '0';
    sl->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    const char *r = h + 12, *re = eol;
    while (r < re && *r == ' ') r++;
    while (re > r && (re[-1] == '\r' || re[-1] == ' ')) re--;
    sl->reason = r;
    sl->reason_len = (size_t)(re - r);
    sl->fields = eol + 1;
    return sl->status;
}

int lt_h1_frame_response_body(lt_h1_frame *f, int minor, int status, int head_req, const char *conn, const char *te,
                              const char *len, int *keep)
{
    if (status < 200) return 0;   /* 100 Continue and the like: the real head follows */
    *keep = lt_h1_frame_keep(minor, conn);
    if (head_req || status == 204 || status == 304) {
        f->st = LT_H1_FRAME_DONE;
    } else if (te && lt_h1_frame_token(te, "chunked")) {
        f->st = LT_H1_FRAME_CSIZE;
    } else if (len) {
        char *e;
        f->left = lt_h1_frame_length(len, &e);
        if (e == len || *e) return lt_h1_frame_fail(f, -1);
        f->st = f->left ? LT_H1_FRAME_LEN : LT_H1_FRAME_DONE;
    } else {
        f->st = LT_H1_FRAME_EOF;
        *keep = 0;
    }
    return 0;
}

/* ---- bodies ---- */

/* The line at the start of win, as libevent's EVBUFFER_EOL_CRLF finds it
 * (up to the first LF, a CR before it not included): its length, -1 when
 * it is not whole yet, -2 when it is too long. Too long is decided once
 * the window is full, never earlier: LT_H1_FRAME_LINE_MAX bytes without an
 * LF may still be a line of LINE_MAX - 1 and its CRLF. */
static int lt_h1_frame_find_line(const char *win, size_t wlen, size_t *used)
{
    const char *nl = wlen ? memchr(win, '\n', wlen) : NULL;
    if (!nl) return wlen > LT_H1_FRAME_LINE_MAX ? -2 : -1;
    size_t i = (size_t)(nl - win), pos = i > 0 && win[i - 1] == '\r' ? i - 1 : i;
    if (pos >= LT_H1_FRAME_LINE_MAX) return -2;
    *used = i + 1;
    return (int)pos;
}

/* A chunk-size line (l bytes of win, l >= 0; -2: too long): the chunk's
 * data or the trailer next, or the error. */
static void lt_h1_frame_size(lt_h1_frame *f, const char *win, int l)
{
    char line[LT_H1_FRAME_LINE_MAX], *e = line;
    unsigned long long sz = 0;
    if (l > 0) {
        memcpy(line, win, (size_t)l);
        line[l] = 0;
        sz = strtoull(line, &e, 16);
    }
    int bad = l <= 0 || e == line || (*e && *e != ';' && *e != ' ' && *e != '\t');
    if (!f->resp && !bad && (sz > f->limit || f->body + sz > f->limit)) bad = 1;
    if (bad) {
        lt_h1_frame_fail(f, l > 0 && e != line && sz ? 413 : 400);
        return;
    }
    if (sz) { f->left = sz; f->st = LT_H1_FRAME_CDATA; }
    else f->st = LT_H1_FRAME_TRAILER;
}

int lt_h1_frame_line(lt_h1_frame *f, const char *win, size_t wlen, size_t *used)
{
    *used = 0;
    if (!lt_h1_frame_wants_line(f)) return LT_H1_FRAME_MORE;
    int l = lt_h1_frame_find_line(win, wlen, used);
    if (l == -1) return LT_H1_FRAME_MORE;
    switch (f->st) {
    case LT_H1_FRAME_CEND:
        if (l != 0) lt_h1_frame_fail(f, 400);
        else f->st = LT_H1_FRAME_CSIZE;
        break;
    case LT_H1_FRAME_CSIZE:
        lt_h1_frame_size(f, win, l);
        break;
    default:   /* LT_H1_FRAME_TRAILER */
        if (l == 0) f->st = LT_H1_FRAME_DONE;
        else if (l == -2 && f->resp) return LT_H1_FRAME_SKIP;   /* a long trailer field: skipped */
        else if (l == -2) lt_h1_frame_fail(f, 431);
        break;   /* l > 0: a trailer field, dropped */
    }
    return LT_H1_FRAME_STEP;
}
