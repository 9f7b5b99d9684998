/* http2.c -- HTTP/2 (cleartext) exchange parser: two byte streams in,
 * one exchange per stream out.
 *
 * Each direction is a sequence of frames (RFC 9113 section 4). Header blocks
 * (HEADERS + CONTINUATION, PUSH_PROMISE) are decoded with libnghttp2's HPACK
 * inflater, one per direction, so the dynamic table follows the peer's
 * encoder exactly; SETTINGS_HEADER_TABLE_SIZE from one side bounds the
 * inflater of the other. DATA goes through the same Content-Encoding
 * decoders as HTTP/1.
 *
 * Damage: a connection joined mid-way, or a hole in a direction, loses frame
 * boundaries and HPACK state. Frame boundaries are found again by looking
 * for a chain of plausible frame headers. The inflater is recreated empty:
 * from then on a header block either decodes correctly (it references only
 * entries inserted after the restart, which sit at the same indices on both
 * sides) or fails on an unknown index. A stream whose headers fail is
 * dropped and counted; it never gets another stream's headers. */
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "content.h"
#include "http2.h"

enum { F_DATA = 0, F_HEADERS, F_PRIORITY, F_RST, F_SETTINGS, F_PUSH, F_PING, F_GOAWAY, F_WINDOW, F_CONT };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8, FL_PRIORITY = 0x20 };

static const char lt_h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define LT_H2_PREFACE_LEN 24
#define LT_H2_FRAME_MAX (1u << 24)

typedef struct lt_h2_stream {
    uint32_t id;
    lt_exchange ex;
    lt_content *dec[2];
    int ended[2];          /* END_STREAM seen per direction */
    int dropped;           /* headers undecodable: no exchange */
} lt_h2_stream;

typedef struct lt_h2_dir {
    lt_buf buf;             /* bytes not yet consumed (partial frame) */
    size_t preface_left;    /* client preface bytes still expected */
    int resync;             /* frame boundary unknown */
    nghttp2_hd_inflater *inf;
    lt_buf hblock;          /* header block being collected */
    uint32_t hblock_stream;
    int hblock_end_stream;
    int hblock_push;
    int in_block;
    lt_time_us hblock_ts;
} lt_h2_dir;

typedef struct lt_h2 {
    lt_parser_cfg cfg;
    const lt_conn_info *conn;
    lt_app_sink sink;
    lt_h2_dir d[2];
    lt_h2_stream **streams;
    size_t nstreams, cap;
    uint32_t seq;
} lt_h2;

/* ---- streams ------------------------------------------------------------- */

static lt_h2_stream *lt_h2_find(lt_h2 *h, uint32_t id)
{
    for (size_t i = 0; i < h->nstreams; i++) if (h->streams[i]->id == id) return h->streams[i];
    return NULL;
}

static lt_h2_stream *lt_h2_open(lt_h2 *h, uint32_t id)
{
    lt_h2_stream *s = lt_h2_find(h, id);
    if (s) return s;
    if (h->nstreams >= h->cfg.h2_streams_max) {
        lt_ctr.http2_streams_dropped++;
        lt_warn("http2: conn %llu: more than %zu concurrent streams; stream %u not tracked",
                (unsigned long long)h->conn->conn_id, h->cfg.h2_streams_max, id);
        return NULL;
    }
    if (h->nstreams == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        lt_h2_stream **n = realloc(h->streams, cap * sizeof *n);
        if (!n) return NULL;
        h->streams = n;
        h->cap = cap;
    }
    s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->id = id;
    lt_exchange_init(&s->ex, h->conn);
    s->ex.version = 20;
    s->ex.stream_id = id;
    h->streams[h->nstreams++] = s;
    return s;
}

static void lt_h2_free_stream(lt_h2_stream *s)
{
    for (int i = 0; i < 2; i++) lt_content_destroy(s->dec[i]);
    lt_exchange_free(&s->ex);
    free(s);
}

static void lt_h2_finish_msg(lt_h2_stream *s, int dir)
{
    lt_http_msg *m = dir == LT_DIR_TO_SERVER ? &s->ex.req : &s->ex.resp;
    if (s->dec[dir]) {
        if (lt_content_error(s->dec[dir])) { m->decode_error = 1; lt_ctr.http_decode_errors++; }
        lt_content_destroy(s->dec[dir]);
        s->dec[dir] = NULL;
    }
    if (m->body_truncated) lt_ctr.http_bodies_over_cap++;
}

/* Emits (unless dropped) and forgets a stream. */
static void lt_h2_close_stream(lt_h2 *h, lt_h2_stream *s, int why)
{
    for (size_t i = 0; i < h->nstreams; i++)
        if (h->streams[i] == s) { h->streams[i] = h->streams[--h->nstreams]; break; }
    if (!s->dropped && (s->ex.req.present || s->ex.resp.present)) {
        for (int d = 0; d < 2; d++) lt_h2_finish_msg(s, d);
        lt_exchange *ex = &s->ex;
        if (why && !ex->incomplete) ex->incomplete = why;
        if (!ex->incomplete) ex->incomplete = ex->req.incomplete ? ex->req.incomplete : ex->resp.incomplete;
        if (!ex->incomplete && !ex->req.present) ex->incomplete = LT_INC_NO_REQUEST;
        if (!ex->incomplete && !ex->resp.present) ex->incomplete = LT_INC_NO_RESPONSE;
        ex->seq = h->seq++;
        if (h->sink.on_exchange) h->sink.on_exchange(h->sink.ud, ex);
    }
    lt_h2_free_stream(s);
}

static void lt_h2_maybe_done(lt_h2 *h, lt_h2_stream *s)
{
    if (s->ended[0] && s->ended[1]) lt_h2_close_stream(h, s, 0);
}

/* ---- headers ------------------------------------------------------------- */

static void lt_h2_add_header(lt_http_msg *m, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl, int trailer)
{
    const char *name = (const char *)n, *val = (const char *)v;
    if (nl && name[0] == ':') {
        if (trailer) return;
        char **slot = NULL;
        if (nl == 7 && !memcmp(name, ":method", 7)) slot = &m->method;
        else if (nl == 5 && !memcmp(name, ":path", 5)) slot = &m->target;
        else if (nl == 10 && !memcmp(name, ":authority", 10)) slot = &m->authority;
        else if (nl == 7 && !memcmp(name, ":status", 7)) { m->status = atoi(val); return; }
        if (slot) { free(*slot); *slot = strndup(val, vl); }
        return;
    }
    lt_http_msg_add_header(m, name, nl, val, vl);
}

/* Decodes a complete header block into m (NULL: decode and discard). 0 ok, -1 HPACK error. */
static int lt_h2_inflate(lt_h2_dir *d, const uint8_t *in, size_t len, lt_http_msg *m, int trailer)
{
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t r = nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, in, len, 1);
        if (r < 0) return -1;
        in += r;
        len -= (size_t)r;
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) && m) lt_h2_add_header(m, nv.name, nv.namelen, nv.value, nv.valuelen, trailer);
        if (flags & NGHTTP2_HD_INFLATE_FINAL) { nghttp2_hd_inflate_end_headers(d->inf); return 0; }
        if (r == 0 && len == 0) return -1;
    }
}

static void lt_h2_reset_inflater(lt_h2_dir *d)
{
    if (d->inf) nghttp2_hd_inflate_del(d->inf);
    d->inf = NULL;
    nghttp2_hd_inflate_new(&d->inf);
}

/* A complete header block for stream id arrived in direction dir. */
static void lt_h2_header_block(lt_h2 *h, int dir)
{
    lt_h2_dir *d = &h->d[dir];
    const uint8_t *b = d->hblock.data;
    size_t n = d->hblock.len;
    d->in_block = 0;
    if (d->hblock_push) { /* keep HPACK in sync; pushed streams are not recorded */
        if (lt_h2_inflate(d, b, n, NULL, 0) < 0) lt_h2_reset_inflater(d);
        lt_ctr.http2_streams_dropped++;
        return;
    }
    lt_h2_stream *s = lt_h2_open(h, d->hblock_stream);
    lt_http_msg tmp, *m;
    lt_http_msg_init(&tmp);
    int trailer = 0;
    if (s) {
        m = dir == LT_DIR_TO_SERVER ? &s->ex.req : &s->ex.resp;
        trailer = m->present && (m->status >= 200 || dir == LT_DIR_TO_SERVER);
    } else {
        m = &tmp;
    }
    lt_http_msg hdrs;
    lt_http_msg_init(&hdrs);
    int rc = lt_h2_inflate(d, b, n, trailer ? m : &hdrs, trailer);
    if (rc < 0) {
        lt_ctr.http2_streams_dropped++;
        lt_warn("http2: conn %llu: stream %u: header block not decodable (HPACK state unknown); stream dropped",
                (unsigned long long)h->conn->conn_id, d->hblock_stream);
        lt_h2_reset_inflater(d);
        if (s) s->dropped = 1;
        lt_http_msg_free(&hdrs);
        lt_http_msg_free(&tmp);
        if (s && d->hblock_end_stream) { s->ended[dir] = 1; lt_h2_maybe_done(h, s); }
        return;
    }
    if (s && !trailer) {
        int interim = dir == LT_DIR_TO_CLIENT && hdrs.status >= 100 && hdrs.status < 200;
        if (!interim) {
            /* move the decoded head into the message */
            lt_http_msg_free(m);
            *m = hdrs;
            lt_http_msg_init(&hdrs);
            m->present = 1;
            m->version = 20;
            m->start_ts = d->hblock_ts;
            m->head_bytes = n;
            const char *ce = lt_http_msg_header(m, "content-encoding");
            if (ce && *ce) s->dec[dir] = lt_content_create(ce, h->cfg.body_cap);
        }
    }
    if (s) m->end_ts = d->hblock_ts;
    lt_http_msg_free(&hdrs);
    lt_http_msg_free(&tmp);
    if (s && d->hblock_end_stream) { s->ended[dir] = 1; lt_h2_maybe_done(h, s); }
}

/* ---- frames -------------------------------------------------------------- */

static uint32_t rd24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static uint32_t rd31(const uint8_t *p) { return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) & 0x7fffffff; }

/* Strips padding (and priority) from a payload; -1 if malformed. */
static int lt_h2_unpad(uint8_t flags, int has_prio, const uint8_t **p, size_t *n)
{
    size_t pad = 0;
    if (flags & FL_PADDED) {
        if (*n < 1) return -1;
        pad = (*p)[0];
        (*p)++; (*n)--;
    }
    if (has_prio && (flags & FL_PRIORITY)) {
        if (*n < 5) return -1;
        *p += 5; *n -= 5;
    }
    if (pad > *n) return -1;
    *n -= pad;
    return 0;
}

static void lt_h2_data(lt_h2 *h, int dir, uint32_t sid, uint8_t flags, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_h2_stream *s = lt_h2_find(h, sid);
    if (!s) return; /* stream not tracked (dropped, or begun before the capture) */
    if (lt_h2_unpad(flags, 0, &p, &n) < 0) { lt_ctr.http2_frame_errors++; return; }
    lt_http_msg *m = dir == LT_DIR_TO_SERVER ? &s->ex.req : &s->ex.resp;
    if (n) {
        lt_http_msg_mark(m, ts);
        m->wire_bytes += n;
        if (s->dec[dir]) {
            m->body_bytes += lt_content_feed(s->dec[dir], p, n, &m->body);
            if (lt_content_truncated(s->dec[dir])) m->body_truncated = 1;
        } else {
            size_t room = m->body.len < h->cfg.body_cap ? h->cfg.body_cap - m->body.len : 0;
            size_t keep = n < room ? n : room;
            if (keep) lt_buf_append(&m->body, p, keep);
            if (keep < n) m->body_truncated = 1;
            m->body_bytes += n;
        }
    }
    m->end_ts = ts;
    if (flags & FL_END_STREAM) { s->ended[dir] = 1; lt_h2_maybe_done(h, s); }
}

static void lt_h2_settings(lt_h2 *h, int dir, uint8_t flags, const uint8_t *p, size_t n)
{
    if (flags & FL_ACK) return;
    for (size_t i = 0; i + 6 <= n; i += 6) {
        uint16_t id = (uint16_t)(p[i] << 8 | p[i + 1]);
        uint32_t v = (uint32_t)p[i + 2] << 24 | (uint32_t)p[i + 3] << 16 | (uint32_t)p[i + 4] << 8 | p[i + 5];
        /* the sender's decoder limit bounds the peer's encoder: our inflater for the other direction */
        if (id == NGHTTP2_SETTINGS_HEADER_TABLE_SIZE)
            nghttp2_hd_inflate_change_table_size(h->d[!dir].inf, v);
    }
}

static void lt_h2_frame(lt_h2 *h, int dir, const uint8_t *f, size_t len, lt_time_us ts)
{
    lt_h2_dir *d = &h->d[dir];
    uint8_t type = f[3], flags = f[4];
    uint32_t sid = rd31(f + 5);
    const uint8_t *p = f + 9;
    size_t n = len;
    if (d->in_block && type != F_CONT) {
        lt_ctr.http2_frame_errors++; /* CONTINUATION expected: the block is lost */
        d->in_block = 0;
        lt_h2_reset_inflater(d);
    }
    switch (type) {
    case F_DATA:
        lt_h2_data(h, dir, sid, flags, p, n, ts);
        break;
    case F_HEADERS:
    case F_PUSH:
        if (lt_h2_unpad(flags, type == F_HEADERS, &p, &n) < 0) { lt_ctr.http2_frame_errors++; break; }
        if (type == F_PUSH) { if (n < 4) break; p += 4; n -= 4; }
        lt_buf_reset(&d->hblock);
        lt_buf_append(&d->hblock, p, n);
        d->hblock_stream = sid;
        d->hblock_end_stream = type == F_HEADERS && (flags & FL_END_STREAM);
        d->hblock_push = type == F_PUSH;
        d->hblock_ts = ts;
        d->in_block = 1;
        if (flags & FL_END_HEADERS) lt_h2_header_block(h, dir);
        break;
    case F_CONT:
        if (!d->in_block || sid != d->hblock_stream) { lt_ctr.http2_frame_errors++; break; }
        lt_buf_append(&d->hblock, p, n);
        if (flags & FL_END_HEADERS) lt_h2_header_block(h, dir);
        break;
    case F_RST: {
        lt_h2_stream *s = lt_h2_find(h, sid);
        if (s) lt_h2_close_stream(h, s, LT_INC_RESET);
        break;
    }
    case F_SETTINGS:
        lt_h2_settings(h, dir, flags, p, n);
        break;
    default: /* PRIORITY, PING, GOAWAY, WINDOW_UPDATE, extensions */
        break;
    }
}

/* Could a frame header start at p? */
static int lt_h2_plausible(const uint8_t *p)
{
    uint32_t len = rd24(p);
    return p[3] <= F_CONT && len <= 1u << 20 && !(p[5] & 0x80);
}

/* Finds a frame boundary in d->buf: a chain of two plausible headers (or one
 * that ends exactly at the end of the data). Returns the offset or -1. */
static long lt_h2_find_boundary(const lt_buf *b)
{
    for (size_t off = 0; off + 9 <= b->len; off++) {
        const uint8_t *p = b->data + off;
        if (!lt_h2_plausible(p)) continue;
        size_t next = off + 9 + rd24(p);
        if (next == b->len) return (long)off;
        if (next + 9 <= b->len && lt_h2_plausible(b->data + next)) return (long)off;
    }
    return -1;
}

static void lt_h2_run(lt_h2 *h, int dir, lt_time_us ts)
{
    lt_h2_dir *d = &h->d[dir];
    if (d->preface_left) {
        size_t k = d->buf.len < d->preface_left ? d->buf.len : d->preface_left;
        if (memcmp(d->buf.data, lt_h2_preface + (LT_H2_PREFACE_LEN - d->preface_left), k)) {
            lt_ctr.http2_frame_errors++;
            d->preface_left = 0;
            d->resync = 1;
        } else {
            d->preface_left -= k;
            lt_buf_consume(&d->buf, k);
        }
    }
    if (d->resync) {
        long at = lt_h2_find_boundary(&d->buf);
        if (at < 0) {
            if (d->buf.len > 1u << 20) lt_buf_consume(&d->buf, d->buf.len - 64);
            return;
        }
        lt_buf_consume(&d->buf, (size_t)at);
        d->resync = 0;
    }
    size_t off = 0;
    while (d->buf.len - off >= 9) {
        const uint8_t *f = d->buf.data + off;
        uint32_t len = rd24(f);
        if (len > LT_H2_FRAME_MAX) { lt_ctr.http2_frame_errors++; d->resync = 1; break; }
        if (d->buf.len - off < 9 + (size_t)len) break;
        lt_h2_frame(h, dir, f, len, ts);
        off += 9 + len;
    }
    lt_buf_consume(&d->buf, off);
}

/* ---- lt_app_ops ---------------------------------------------------------- */

static void *lt_h2_create(const lt_parser_cfg *cfg, const lt_conn_info *conn, const lt_app_sink *sink)
{
    lt_h2 *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    if (cfg) h->cfg = *cfg; else lt_parser_cfg_defaults(&h->cfg);
    h->conn = conn;
    if (sink) h->sink = *sink;
    for (int i = 0; i < 2; i++) {
        lt_buf_init(&h->d[i].buf);
        lt_buf_init(&h->d[i].hblock);
        lt_h2_reset_inflater(&h->d[i]);
        h->d[i].resync = conn && conn->missed_start;
    }
    if (!(conn && conn->missed_start)) h->d[LT_DIR_TO_SERVER].preface_left = LT_H2_PREFACE_LEN;
    return h;
}

static void lt_h2_feed(void *ph, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_h2 *h = ph;
    lt_buf_append(&h->d[dir].buf, p, n);
    lt_h2_run(h, dir, ts);
}

static void lt_h2_gap(void *ph, int dir, uint64_t len, lt_time_us ts)
{
    lt_h2 *h = ph;
    lt_h2_dir *d = &h->d[dir];
    (void)len;
    (void)ts;
    for (size_t i = 0; i < h->nstreams; i++) {
        lt_h2_stream *s = h->streams[i];
        lt_http_msg *m = dir == LT_DIR_TO_SERVER ? &s->ex.req : &s->ex.resp;
        if (!s->ended[dir] && !m->incomplete) m->incomplete = LT_INC_HOLE;
    }
    lt_buf_reset(&d->buf);
    d->in_block = 0;
    d->preface_left = 0;
    d->resync = 1;
    lt_h2_reset_inflater(d); /* the dynamic table may have lost entries */
}

static void lt_h2_eof(void *ph, int dir, lt_time_us ts)
{
    (void)ph; (void)dir; (void)ts;
}

static void lt_h2_close(void *ph, int reset, lt_time_us ts)
{
    lt_h2 *h = ph;
    (void)ts;
    while (h->nstreams) {
        lt_h2_stream *s = h->streams[0];
        int why = reset ? LT_INC_RESET : !s->ex.resp.present ? LT_INC_NO_RESPONSE : LT_INC_TRUNCATED;
        lt_h2_close_stream(h, s, why);
    }
}

static void lt_h2_destroy(void *ph)
{
    lt_h2 *h = ph;
    if (!h) return;
    for (size_t i = 0; i < h->nstreams; i++) lt_h2_free_stream(h->streams[i]);
    free(h->streams);
    for (int i = 0; i < 2; i++) {
        lt_buf_free(&h->d[i].buf);
        lt_buf_free(&h->d[i].hblock);
        if (h->d[i].inf) nghttp2_hd_inflate_del(h->d[i].inf);
    }
    free(h);
}

void lt_http2_upgrade(void *ph, lt_http_msg *req, lt_time_us ts)
{
    lt_h2 *h = ph;
    (void)ts;
    lt_h2_stream *s = lt_h2_open(h, 1);
    if (!s) { lt_http_msg_free(req); return; }
    lt_http_msg_free(&s->ex.req);
    s->ex.req = *req;
    lt_http_msg_init(req);
    s->ended[LT_DIR_TO_SERVER] = 1;
    /* after 101 the client sends the preface; the server starts with SETTINGS */
    h->d[LT_DIR_TO_SERVER].preface_left = LT_H2_PREFACE_LEN;
    h->d[LT_DIR_TO_SERVER].resync = 0;
    h->d[LT_DIR_TO_CLIENT].resync = 0;
}

const lt_app_ops lt_http2_ops = {
    .name = "http2",
    .create = lt_h2_create,
    .feed = lt_h2_feed,
    .gap = lt_h2_gap,
    .eof = lt_h2_eof,
    .close = lt_h2_close,
    .destroy = lt_h2_destroy,
};
