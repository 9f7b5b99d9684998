/* sse.c -- incremental text/event-stream parser (WHATWG "event stream
 * interpretation").
 *
 * Bytes are scanned line by line with memchr; a line that is complete in the
 * input is processed in place, only a partial line at the end of a feed is
 * copied into the line buffer. A CR at the very end of a feed may be the first
 * half of a CRLF, so the parser remembers it and swallows a leading LF on the
 * next feed. Field values accumulate into the event until a blank line
 * dispatches it. */
#include <stdlib.h>
#include <string.h>
#include "../common/lt.h"
#include "sse.h"

struct lt_sse {
    lt_sse_cb cb;
    void *ud;
    lt_buf line;        /* partial line carried between feeds */
    lt_buf data, event, id;
    int has_data;       /* at least one data: line in the current event */
    int in_event;       /* any line seen since the last dispatch */
    int after_cr;       /* last byte fed was CR */
    int bom_checked;
    uint64_t pos;       /* stream offset of the next byte to scan */
    uint64_t ev_off;    /* offset of the current event's first line */
    uint64_t events;    /* events dispatched */
};

lt_sse *lt_sse_create(lt_sse_cb cb, void *ud)
{
    lt_sse *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cb = cb;
    s->ud = ud;
    return s;
}

void lt_sse_destroy(lt_sse *s)
{
    if (!s) return;
    lt_buf_free(&s->line);
    lt_buf_free(&s->data);
    lt_buf_free(&s->event);
    lt_buf_free(&s->id);
    free(s);
}

size_t lt_sse_footprint(const lt_sse *s)
{
    return s ? sizeof *s + s->line.cap + s->data.cap + s->event.cap + s->id.cap : 0;
}

static void lt_sse_reset_event(lt_sse *s)
{
    lt_buf_reset(&s->data);
    lt_buf_reset(&s->event);
    s->has_data = 0;
    s->in_event = 0;
}

static void lt_sse_dispatch(lt_sse *s, uint64_t end, int unterminated)
{
    if (s->has_data) {
        lt_sse_event ev = {
            .event = s->event.len ? (const char *)s->event.data : "",
            .event_len = s->event.len,
            .data = s->data.len ? (const char *)s->data.data : "",
            .data_len = s->data.len,
            .id = s->id.len ? (const char *)s->id.data : "",
            .id_len = s->id.len,
            .off = s->ev_off,
            .end = end,
            .unterminated = unterminated,
        };
        s->events++;
        s->cb(s->ud, &ev);
    }
    lt_sse_reset_event(s);
}

/* lt_buf_append with the call and the growth check's arithmetic skipped
 * when b has room (the event's buffers are reused: nearly always). */
static inline void lt_sse_append(lt_buf *b, const char *p, size_t n)
{
    if (b->cap - b->len > n) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
    } else {
        lt_buf_append(b, p, n);
    }
}

/* One complete line (without its terminator) starting at stream offset off. */
static void lt_sse_line(lt_sse *s, const char *p, size_t n, uint64_t off, uint64_t end)
{
    if (n == 0) { lt_sse_dispatch(s, end, 0); return; }
    if (!s->in_event) { s->in_event = 1; s->ev_off = off; }
    if (p[0] == ':') return; /* comment */
    const char *colon = memchr(p, ':', n);
    size_t flen = colon ? (size_t)(colon - p) : n;
    const char *v = colon ? colon + 1 : p + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && *v == ' ') { v++; vlen--; }
    if (flen == 4 && !memcmp(p, "data", 4)) {
        if (s->has_data) lt_sse_append(&s->data, "\n", 1);
        lt_sse_append(&s->data, v, vlen);
        s->has_data = 1;
    } else if (flen == 5 && !memcmp(p, "event", 5)) {
        lt_buf_reset(&s->event);
        lt_buf_append(&s->event, v, vlen);
    } else if (flen == 2 && !memcmp(p, "id", 2)) {
        if (!memchr(v, 0, vlen)) { lt_buf_reset(&s->id); lt_buf_append(&s->id, v, vlen); }
    } /* retry and unknown fields are ignored */
}

static size_t lt_sse_skip_bom(lt_sse *s, const uint8_t *d, size_t len)
{
    static const uint8_t bom[3] = {0xEF, 0xBB, 0xBF};
    if (s->bom_checked || !len) return 0; /* an empty body may come as (NULL, 0): no memcmp */
    size_t have = s->line.len;
    size_t need = 3 - have, take = len < need ? len : need;
    if (memcmp(d, bom + have, take)) { s->bom_checked = 1; return 0; }
    if (take < need) { /* partial BOM: hold it in the line buffer */
        lt_buf_append(&s->line, d, take);
        return take;
    }
    lt_buf_reset(&s->line);
    s->bom_checked = 1;
    return take;
}

void lt_sse_feed(lt_sse *s, const uint8_t *d, size_t len)
{
    size_t i = 0;
    if (!s->bom_checked) {
        size_t before = s->line.len;
        i = lt_sse_skip_bom(s, d, len);
        s->pos += i;
        if (!s->bom_checked) return;
        if (before && i == 0) { /* held bytes were not a BOM after all */ }
    }
    if (s->after_cr && i < len) {
        s->after_cr = 0;
        if (d[i] == '\n') { i++; s->pos++; }
    }
    while (i < len) {
        const uint8_t *start = d + i;
        size_t rest = len - i;
        const uint8_t *lf = memchr(start, '\n', rest);
        const uint8_t *cr = memchr(start, '\r', lf ? (size_t)(lf - start) : rest);
        const uint8_t *eol = cr ? cr : lf;
        if (!eol) {
            lt_buf_append(&s->line, start, rest);
            s->pos += rest;
            return;
        }
        size_t n = (size_t)(eol - start), term = 1;
        if (*eol == '\r') {
            if (n + 1 < rest) { if (eol[1] == '\n') term = 2; }
            else s->after_cr = 1;
        }
        uint64_t line_off = s->pos - s->line.len;
        uint64_t end = s->pos + n + 1; /* past CR or LF: the LF of a CRLF may come in the next feed */
        if (s->line.len) {
            lt_buf_append(&s->line, start, n);
            lt_sse_line(s, (const char *)s->line.data, s->line.len, line_off, end);
            lt_buf_reset(&s->line);
        } else {
            lt_sse_line(s, (const char *)start, n, line_off, end);
        }
        i += n + term;
        s->pos += n + term;
    }
}

void lt_sse_finish(lt_sse *s)
{
    if (s->line.len) {
        uint64_t off = s->pos - s->line.len;
        lt_sse_line(s, (const char *)s->line.data, s->line.len, off, s->pos);
        lt_buf_reset(&s->line);
    }
    if (s->has_data) lt_sse_dispatch(s, s->pos, 1);
}

size_t lt_sse_parse_all(const uint8_t *data, size_t len, lt_sse_cb cb, void *ud)
{
    lt_sse *s = lt_sse_create(cb, ud);
    if (!s) return 0;
    lt_sse_feed(s, data, len);
    lt_sse_finish(s);
    size_t n = (size_t)s->events;
    lt_sse_destroy(s);
    return n;
}
