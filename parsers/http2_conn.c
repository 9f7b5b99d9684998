/* http2_conn.c -- HTTP/2 frames and streams to exchanges (see http2_conn.h).
 *
 * Each direction is a small state machine over its byte stream:
 *   PREFACE (client only) -> HEAD (9-byte frame header) -> PREFIX (pad length,
 *   priority, promised stream id) -> CONTENT -> PAD -> HEAD ...
 * DATA and header-block content is consumed straight from the input as it
 * arrives, whatever the TCP segmentation: DATA goes to the stream's body
 * (through the Content-Encoding decoder; a streamed Azure OpenAI answer is
 * folded into its call's accumulators instead, aoai.h), header-block fragments go to the
 * direction's HPACK decoder, which keeps partial fields itself. Only the
 * 9-byte header, the few prefix bytes and small control frames (SETTINGS,
 * RST_STREAM, GOAWAY, ...) are copied, and only when split across inputs.
 *
 * Streams live in a chained hash table keyed by stream id, capped at
 * cfg->h2_streams_max. Finished or dropped stream ids go to a small ring so
 * late frames for them (after RST_STREAM, for a pushed stream) are told
 * apart from frames of streams whose headers we never saw.
 *
 * SETTINGS_HEADER_TABLE_SIZE sent by one side limits the other side's
 * encoder once acknowledged: the value is queued when the SETTINGS frame is
 * seen and applied to the other direction's decoder when that direction
 * sends the ACK, which is exactly where its encoder starts honoring it.
 *
 * Damage handling (holes, framing errors, a mid-connection start) is
 * described in http2_conn.h; the rule is to lose streams, never to mix them.
 * A hole inside the payload of the current frame keeps frame sync (the frame
 * length is known) and only damages that frame; a hole elsewhere forces a
 * resynchronization on a chain of three plausible frame headers.
 *
 * Memory: each stream (its state and decoded headers) and each body growth
 * is charged to the process's memory budget (cfg.budget,
 * common/membudget.h). A new stream the budget refuses is dropped like one
 * over h2_streams_max; a body it refuses stops growing, flagged "memcap";
 * both are counted (parser_budget_truncations). */
#include <stdlib.h>
#include <string.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "../common/membudget.h"
#include "aoai.h"
#include "content.h"
#include "hpack.h"
#include "http2_conn.h"

enum { F_DATA = 0, F_HEADERS, F_PRIORITY, F_RST_STREAM, F_SETTINGS, F_PUSH_PROMISE, F_PING, F_GOAWAY,
       F_WINDOW_UPDATE, F_CONTINUATION };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8, FL_PRIORITY = 0x20 };
enum { S_PREFACE, S_HEAD, S_PREFIX, S_CONTENT, S_PAD, S_SMALL, S_SKIP, S_RESYNC, S_DEAD };

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define H2_DEFAULT_FRAME 16384u
#define H2_DEFAULT_TABLE 4096u
#define H2_UNSURE_TABLE (1u << 20)    /* decoder limit once the table state is unknown */
#define H2_RESYNC_MAX_FRAME (1u << 20) /* larger frames are not believed while resyncing */
#define H2_RESYNC_KEEP (4u << 20)
#define H2_BUCKETS 128
#define H2_RING 256
#define H2_SETTINGS_Q 8

typedef struct h2_stream {
    uint32_t id;
    struct h2_stream *next;
    lt_exchange ex;
    lt_content *dec[2];
    int headers_seen[2];  /* final header block of this direction decoded */
    int ended[2];         /* END_STREAM seen */
    int drop;             /* undecodable: never emitted */
    uint64_t hdr_list[2]; /* decoded header-list bytes of each message so far */
    lt_membudget *mb;     /* where `charged` was charged */
    size_t charged;       /* the stream and its decoded headers */
} h2_stream;

typedef struct h2_dir {
    int state;
    size_t preface_got;
    uint8_t hdr[9];
    size_t hdr_got;
    /* the current frame */
    uint32_t flen, fsid;
    uint8_t ftype, fflags;
    size_t frame_left;      /* payload bytes of the current frame not consumed yet */
    uint8_t prefix[6];
    size_t prefix_need, prefix_got;
    size_t content_left, pad_left;
    int frame_damaged;      /* a hole fell inside this frame */
    lt_buf small;           /* control frame payload split across inputs */
    h2_stream *cur;         /* DATA target (NULL: discard) */
    lt_time_us frame_ts;
    /* the header block being decoded (HEADERS/PUSH_PROMISE + CONTINUATION) */
    uint32_t block_sid;     /* 0: no block open */
    h2_stream *block_stream;/* NULL: decode only to keep HPACK in sync */
    int block_end_stream, block_failed, block_trailers;
    lt_http_msg block_msg;  /* fields collected for the block */
    lt_time_us block_ts;
    uint64_t block_bytes;
    uint64_t block_list;    /* decoded header-list bytes of the block (name + value + 32) */
    int block_over;         /* the message went over cfg.h2_header_list_max */
    int block_oom;          /* a field could not be kept: memory ran out */
    size_t list_max;        /* cfg.h2_header_list_max */
    int self;               /* this direction (LT_DIR_*) */
    lt_hpack *hp;
    int hp_unsure;          /* dynamic table state unknown: fresh table */
    size_t hp_limit;        /* the decoder's SETTINGS_HEADER_TABLE_SIZE now */
    size_t max_frame;       /* largest frame this direction may send */
    int64_t settings_q[H2_SETTINGS_Q]; /* header table sizes sent, waiting for the peer's ACK */
    size_t nsettings_q;
    lt_buf rs;              /* bytes waiting for a resynchronization */
    int holes;              /* holes/errors seen in this direction */
} h2_dir;

typedef struct lt_h2 {
    lt_parser_cfg cfg;
    const lt_conn_info *conn;
    lt_app_sink sink;
    lt_counters own_ctr;      /* used when the sink brings none */
    h2_dir d[2];
    h2_stream *tab[H2_BUCKETS];
    size_t nstreams;
    uint32_t seq;
    uint32_t max_client_sid;
    uint32_t *ring;         /* recently finished or dropped stream ids */
    size_t ring_pos, ring_len;
} lt_h2;

/* ---- stream table ---------------------------------------------------------- */

static h2_stream *h2_find(lt_h2 *h, uint32_t id)
{
    for (h2_stream *s = h->tab[id % H2_BUCKETS]; s; s = s->next)
        if (s->id == id) return s;
    return NULL;
}

static void h2_ring_add(lt_h2 *h, uint32_t id)
{
    if (!h->ring && !(h->ring = calloc(H2_RING, sizeof *h->ring))) return;
    h->ring[h->ring_pos] = id;
    h->ring_pos = (h->ring_pos + 1) % H2_RING;
    if (h->ring_len < H2_RING) h->ring_len++;
}

static int h2_ring_has(const lt_h2 *h, uint32_t id)
{
    for (size_t i = 0; i < h->ring_len; i++)
        if (h->ring[i] == id) return 1;
    return 0;
}

static h2_stream *h2_stream_new(lt_h2 *h, uint32_t id)
{
    h2_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->id = id;
    lt_exchange_init(&s->ex, h->conn);
    s->ex.version = 20;
    s->ex.stream_id = id;
    s->ex.seq = h->seq++;
    s->next = h->tab[id % H2_BUCKETS];
    h->tab[id % H2_BUCKETS] = s;
    h->nstreams++;
    if ((id & 1) && id > h->max_client_sid) h->max_client_sid = id;
    return s;
}

static void h2_unlink(lt_h2 *h, h2_stream *s)
{
    for (h2_stream **pp = &h->tab[s->id % H2_BUCKETS]; *pp; pp = &(*pp)->next) {
        if (*pp != s) continue;
        *pp = s->next;
        h->nstreams--;
        return;
    }
}

static void h2_stream_free(h2_stream *s)
{
    for (int i = 0; i < 2; i++) lt_content_destroy(s->dec[i]);
    lt_exchange_free(&s->ex);
    lt_membudget_release(s->mb, s->charged);
    free(s);
}

static lt_http_msg *h2_msg(h2_stream *s, int dir) { return dir == LT_DIR_TO_SERVER ? &s->ex.req : &s->ex.resp; }

static void h2_forget_stream(lt_h2 *h, h2_stream *s)
{
    for (int i = 0; i < 2; i++)
        if (h->d[i].cur == s) h->d[i].cur = NULL;
    for (int i = 0; i < 2; i++)
        if (h->d[i].block_stream == s) h->d[i].block_stream = NULL;
    h2_unlink(h, s);
    h2_ring_add(h, s->id);
    h2_stream_free(s);
}

/* ---- emitting exchanges ---------------------------------------------------- */

static void h2_finish_body(lt_h2 *h, h2_stream *s, int dir)
{
    if (lt_http_msg_body_done(h2_msg(s, dir), &s->dec[dir], h->sink.ctr))
        lt_warn("http2: conn %llu: stream %u: compressed body expands over %ux; decoding stopped",
                (unsigned long long)(h->conn ? h->conn->conn_id : 0), s->id, h->cfg.decode_ratio_max);
}

static int h2_missing_request_reason(const lt_h2 *h)
{
    if (h->conn && h->conn->missed_start) return LT_INC_MISSED_START;
    return h->d[LT_DIR_TO_SERVER].holes ? LT_INC_HOLE : LT_INC_NO_REQUEST;
}

static void h2_drop(lt_h2 *h, h2_stream *s, uint32_t id, const char *why);

static void h2_emit(lt_h2 *h, h2_stream *s)
{
    lt_exchange *ex = &s->ex;
    if (!ex->req.present && !ex->resp.present) { /* only DATA or a reset: nothing to report */
        h2_drop(h, s, s->id, "no header block from either side");
        return;
    }
    h2_finish_body(h, s, 0);
    h2_finish_body(h, s, 1);
    lt_exchange_settle(ex, h2_missing_request_reason(h));
    if (h->sink.on_exchange) h->sink.on_exchange(h->sink.ud, ex);
    h2_forget_stream(h, s);
}

/* A stream that cannot be reported faithfully: counted, logged, forgotten. */
static void h2_drop(lt_h2 *h, h2_stream *s, uint32_t id, const char *why)
{
    h->sink.ctr->http2_streams_dropped++;
    lt_info("conn %llu: HTTP/2 stream %u dropped: %s",
            (unsigned long long)(h->conn ? h->conn->conn_id : 0), id, why);
    if (s) h2_forget_stream(h, s);
    else h2_ring_add(h, id);
}

/* Done when both sides ended; a response whose request was never seen is
 * done at once only if that request cannot come any more (joined late, or
 * lost in a hole) -- otherwise the request may simply be fed later. */
static void h2_maybe_done(lt_h2 *h, h2_stream *s)
{
    int req_lost = (h->conn && h->conn->missed_start) || h->d[LT_DIR_TO_SERVER].holes;
    if (s->ended[1] && (s->ended[0] || (!s->ex.req.present && req_lost))) h2_emit(h, s);
}

static int h2_cmp_seq(const void *a, const void *b)
{
    const h2_stream *x = *(h2_stream *const *)a, *y = *(h2_stream *const *)b;
    return x->ex.seq < y->ex.seq ? -1 : x->ex.seq > y->ex.seq;
}

/* Every stream matching pred, in the order the streams began. */
static size_t h2_collect(lt_h2 *h, h2_stream ***out)
{
    *out = NULL;
    if (!h->nstreams) return 0;
    h2_stream **v = malloc(h->nstreams * sizeof *v);
    if (!v) return 0;
    size_t n = 0;
    for (size_t b = 0; b < H2_BUCKETS; b++)
        for (h2_stream *s = h->tab[b]; s; s = s->next) v[n++] = s;
    qsort(v, n, sizeof *v, h2_cmp_seq);
    *out = v;
    return n;
}

/* The message's DATA reached its declared content-length, with nothing lost:
 * its content is whole (RFC 9113 section 8.1.1: the DATA payloads must sum to
 * content-length), even if the END_STREAM flag that closes the stream was
 * never seen. Node's http2 server, for one, sends END_STREAM in an empty DATA
 * frame after the body, and those of a whole wave of streams travel in one
 * late segment: a capture that stops before it would otherwise show every
 * answer of the wave "truncated", usage and all. */
static int h2_length_complete(const h2_stream *s, int dir, const lt_http_msg *m)
{
    if (!s->headers_seen[dir] || m->incomplete || !m->wire_bytes) return 0;
    const char *cl = lt_http_msg_header(m, "content-length");
    if (!cl || *cl < '0' || *cl > '9') return 0;
    char *e;
    unsigned long long v = strtoull(cl, &e, 10);   /* as http1.c reads it; ULLONG_MAX past 64 bits */
    return !*e && v == m->wire_bytes;
}

/* The stream will not progress any more: emit it with the right verdict. */
static void h2_end_pending(lt_h2 *h, h2_stream *s, int why, lt_time_us ts)
{
    for (int dir = 0; dir < 2; dir++) {
        lt_http_msg *m = h2_msg(s, dir);
        if (why == LT_INC_TRUNCATED && m->present && !s->ended[dir] && h2_length_complete(s, dir, m)) {
            s->ended[dir] = 1;   /* its last DATA ended it */
            h->sink.ctr->http2_length_complete++;
            if (!m->end_ts) m->end_ts = m->nmarks ? m->marks[m->nmarks - 1].ts : ts;
            h2_finish_body(h, s, dir);
            continue;
        }
        if (m->present && !s->ended[dir]) {
            if (!m->incomplete) m->incomplete = why;
            if (!m->end_ts) m->end_ts = ts;
        }
    }
    if (!s->ex.resp.present && !s->ex.incomplete)
        s->ex.incomplete = why == LT_INC_RESET ? LT_INC_RESET : s->ex.req.incomplete ? s->ex.req.incomplete : LT_INC_NO_RESPONSE;
    h2_emit(h, s);
}

/* ---- header blocks --------------------------------------------------------- */

static int h2_set_pseudo(char **slot, const uint8_t *v, size_t n)
{
    free(*slot);
    *slot = strndup((const char *)v, n);
    return *slot ? 0 : -1;
}

/* One decoded field of the current block, into the block's scratch message. */
static void h2_on_field(void *ud, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen, int never)
{
    h2_dir *d = ud;
    lt_http_msg *m = &d->block_msg;
    (void)never;
    if (!d->block_stream || d->block_over) return; /* decoded only to keep the table in sync */
    d->block_list += nlen + vlen + 32;
    if (d->block_list + d->block_stream->hdr_list[d->self] > d->list_max) { d->block_over = 1; return; }
    if (nlen && name[0] == ':') {
        int r = 0;
        if (nlen == 7 && !memcmp(name, ":method", 7)) r = h2_set_pseudo(&m->method, value, vlen);
        else if (nlen == 5 && !memcmp(name, ":path", 5)) r = h2_set_pseudo(&m->target, value, vlen);
        else if (nlen == 10 && !memcmp(name, ":authority", 10)) r = h2_set_pseudo(&m->authority, value, vlen);
        else if (nlen == 7 && !memcmp(name, ":status", 7)) {
            int st = 0;
            for (size_t i = 0; i < vlen && i < 4; i++) st = value[i] >= '0' && value[i] <= '9' ? st * 10 + value[i] - '0' : -1000;
            m->status = vlen == 3 && st >= 100 ? st : -1;
        }
        if (r < 0) d->block_oom = 1;
        return; /* :scheme and unknown pseudo-headers are not kept */
    }
    if (lt_http_msg_add_header(m, (const char *)name, nlen, (const char *)value, vlen) < 0) d->block_oom = 1;
}

static void h2_hpack_lost(lt_h2 *h, int dir)
{
    h2_dir *d = &h->d[dir];
    lt_hpack_reset(d->hp, H2_UNSURE_TABLE);
    d->hp_unsure = 1;
    d->hp_limit = H2_UNSURE_TABLE;
    (void)h;
}

/* New SETTINGS_HEADER_TABLE_SIZE for the decoder of direction dir. */
static void h2_table_limit(lt_h2 *h, int dir, size_t limit)
{
    h2_dir *d = &h->d[dir];
    if (d->hp_unsure || limit == d->hp_limit) return;
    if (lt_hpack_set_settings_max(d->hp, limit) < 0) { h2_hpack_lost(h, dir); return; }
    d->hp_limit = limit;
}

static void h2_block_reset(h2_dir *d)
{
    lt_http_msg_free(&d->block_msg);
    d->block_sid = 0;
    d->block_stream = NULL;
    d->block_end_stream = d->block_failed = d->block_trailers = d->block_over = d->block_oom = 0;
    d->block_bytes = d->block_list = 0;
}

static void h2_stream_end_dir(lt_h2 *h, h2_stream *s, int dir, lt_time_us ts)
{
    lt_http_msg *m = h2_msg(s, dir);
    s->ended[dir] = 1;
    m->end_ts = ts;
    h2_finish_body(h, s, dir);
    h2_maybe_done(h, s);
}

/* Moves the decoded first block of a message into the stream. */
static int h2_block_install(lt_h2 *h, h2_dir *d, int dir, h2_stream *s)
{
    lt_http_msg *b = &d->block_msg, *m = h2_msg(s, dir);
    if (dir == LT_DIR_TO_SERVER && (!b->method || (!b->target && strcmp(b->method, "CONNECT")))) return -1;
    if (dir == LT_DIR_TO_CLIENT && b->status < 100) return -1;
    if (dir == LT_DIR_TO_CLIENT && b->status < 200) return 0; /* interim (100-continue): wait for the final one */
    int inc = m->incomplete;
    uint64_t wire = m->wire_bytes, bodyb = m->body_bytes;
    lt_http_msg_free(m);
    *m = *b;
    lt_http_msg_init(b);
    m->present = 1;
    m->version = 20;
    m->start_ts = d->block_ts;
    m->head_bytes = d->block_bytes;
    m->incomplete = inc;
    m->wire_bytes = wire;
    m->body_bytes = bodyb;
    const char *ce = lt_http_msg_header(m, "content-encoding");
    if (ce && *ce) {
        if ((s->dec[dir] = lt_content_create(ce, h->cfg.body_cap))) {
            lt_content_set_ratio(s->dec[dir], h->cfg.decode_ratio_max);
            lt_http_msg_body_decoder(m, s->dec[dir], h->cfg.budget);
        } else {
            lt_http_msg_body_refuse(m);   /* out of memory: not its encoded bytes as if plain */
        }
    }
    if (dir == LT_DIR_TO_CLIENT) lt_aoai_stream_attach(&s->ex); /* a streamed answer is folded, not kept */
    s->headers_seen[dir] = 1;
    return 0;
}

/* Trailers: regular fields appended to the message's headers; -1 when one
 * could not be (memory ran out). */
static int h2_block_trailers(h2_dir *d, lt_http_msg *m)
{
    lt_http_msg *b = &d->block_msg;
    int r = 0;
    for (size_t i = 0; i < b->nhdrs && !r; i++)
        r = lt_http_msg_add_header(m, b->hdrs[i].name, strlen(b->hdrs[i].name), b->hdrs[i].value, strlen(b->hdrs[i].value));
    m->head_bytes += d->block_bytes;
    return r;
}

static void h2_block_done(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    h2_stream *s = d->block_stream;
    uint32_t sid = d->block_sid;
    int end_stream = d->block_end_stream;
    if (d->block_failed) {
        h2_hpack_lost(h, dir);
        if (s) h2_drop(h, s, sid, "header block undecodable (HPACK state lost)");
        h2_block_reset(d);
        return;
    }
    if (s && d->block_over) {
        /* HPACK amplification or a CONTINUATION flood: the table stays in
         * sync, the message is not kept (what a server's 431 does) */
        h->sink.ctr->http2_header_limit_hits++;
        lt_warn("http2: conn %llu: stream %u: header list over %zu bytes; stream dropped",
                (unsigned long long)(h->conn ? h->conn->conn_id : 0), sid, d->list_max);
        h2_drop(h, s, sid, "header list over the size limit");
        h2_block_reset(d);
        return;
    }
    if (s && d->block_oom) { /* a field lost: not a message with a header missing */
        lt_warn("http2: conn %llu: stream %u: out of memory keeping its headers; stream dropped",
                (unsigned long long)(h->conn ? h->conn->conn_id : 0), sid);
        h2_drop(h, s, sid, "out of memory keeping its headers");
        h2_block_reset(d);
        return;
    }
    if (s) {
        lt_http_msg *m = h2_msg(s, dir);
        s->hdr_list[dir] += d->block_list;
        if (s->mb) { lt_membudget_charge(s->mb, d->block_list); s->charged += d->block_list; }
        if (d->block_trailers) {
            if (h2_block_trailers(d, m) < 0) {
                lt_warn("http2: conn %llu: stream %u: out of memory keeping its trailers; stream dropped",
                        (unsigned long long)(h->conn ? h->conn->conn_id : 0), sid);
                h2_drop(h, s, sid, "out of memory keeping its trailers");
                h2_block_reset(d);
                return;
            }
        } else if (h2_block_install(h, d, dir, s) < 0) {
            h->sink.ctr->http2_frame_errors++;
            h2_drop(h, s, sid, "header block without the required pseudo-headers");
            h2_block_reset(d);
            return;
        }
    }
    h2_block_reset(d);
    if (s && end_stream) {
        if (!h2_msg(s, dir)->present) h2_msg(s, dir)->incomplete = LT_INC_PARSE_ERROR;
        h2_stream_end_dir(h, s, dir, ts);
    }
}

static void h2_block_fragment(lt_h2 *h, int dir, const uint8_t *p, size_t n)
{
    h2_dir *d = &h->d[dir];
    (void)h;
    if (d->block_failed || !n) return;
    if (lt_hpack_decode(d->hp, p, n, 0, h2_on_field, d) < 0) d->block_failed = 1;
}

static void h2_block_last(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    if (!d->block_failed && lt_hpack_decode(d->hp, NULL, 0, 1, h2_on_field, d) < 0) d->block_failed = 1;
    h2_block_done(h, dir, ts);
}

/* Is this stream id one we know is closed (finished, reset or dropped)?
 * Client stream ids only grow, so on an intact connection any odd id up to
 * the highest seen that is not in the table is closed. */
static int h2_known_closed(const lt_h2 *h, uint32_t sid)
{
    int intact = !(h->conn && h->conn->missed_start) && !h->d[0].holes && !h->d[1].holes;
    if (intact && (sid & 1) && sid <= h->max_client_sid) return 1;
    return h2_ring_has(h, sid);
}

/* Why a message whose header block we never saw is incomplete. */
static int h2_lost_reason(const lt_h2 *h, int dir)
{
    if (h->d[dir].holes) return LT_INC_HOLE;
    if (h->conn && h->conn->missed_start) return LT_INC_MISSED_START;
    return LT_INC_PARSE_ERROR;
}

/* HEADERS frame content begins: decide which stream the block belongs to. */
static void h2_headers_begin(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    uint32_t sid = d->fsid;
    h2_stream *s = h2_find(h, sid);
    h2_block_reset(d);
    d->block_sid = sid;
    d->block_end_stream = (d->fflags & FL_END_STREAM) != 0;
    d->block_ts = d->frame_ts;
    (void)ts;
    if (!s && !h2_known_closed(h, sid)) {
        int pushed = !(sid & 1);
        if (dir == LT_DIR_TO_SERVER && pushed) {
            h->sink.ctr->http2_frame_errors++;
        } else if (pushed) {
            h2_drop(h, NULL, sid, "server push");
        } else if (h->nstreams >= h->cfg.h2_streams_max) {
            h2_drop(h, NULL, sid, "too many concurrent streams (h2_streams_max)");
        } else if (lt_membudget_try_charge(h->cfg.budget, sizeof *s, LT_MEMBUDGET_STATE) < 0) {
            h->sink.ctr->parser_budget_truncations++;
            lt_warn("http2: conn %llu: memory budget reached: stream %u dropped",
                    (unsigned long long)(h->conn ? h->conn->conn_id : 0), sid);
            h2_drop(h, NULL, sid, "memory budget reached (memory_budget)");
        } else if ((s = h2_stream_new(h, sid))) {
            s->mb = h->cfg.budget;
            s->charged = h->cfg.budget ? sizeof *s : 0;
        } else {
            lt_membudget_release(h->cfg.budget, sizeof *s);
        }
    }
    if (s && s->drop) s = NULL;
    if (s && s->ended[dir]) s = NULL; /* frames after END_STREAM: protocol error, ignored */
    d->block_stream = s;
    d->block_trailers = s && s->headers_seen[dir];
}

/* ---- DATA ------------------------------------------------------------------- */

static void h2_data_begin(lt_h2 *h, int dir)
{
    h2_dir *d = &h->d[dir];
    uint32_t sid = d->fsid;
    h2_stream *s = h2_find(h, sid);
    d->cur = NULL;
    if (!s) {
        if (!h2_known_closed(h, sid)) h2_drop(h, NULL, sid, "DATA for a stream whose headers were not seen");
        return;
    }
    if (s->drop || s->ended[dir]) return;
    if (!s->headers_seen[dir]) {
        /* the header block was lost: keep the verdict, not the bytes */
        lt_http_msg *m = h2_msg(s, dir);
        if (!m->incomplete) m->incomplete = h2_lost_reason(h, dir);
        return;
    }
    d->cur = s;
}

static void h2_data_bytes(lt_h2 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    h2_stream *s = h->d[dir].cur;
    if (!s || !n) return;
    lt_http_msg *m = h2_msg(s, dir);
    lt_http_msg_mark(m, ts);
    m->wire_bytes += n;
    if (s->dec[dir]) {
        m->body_bytes += lt_content_feed(s->dec[dir], p, n, &m->body);
        lt_http_msg_body_decoded(m, s->dec[dir]);
        return;
    }
    lt_http_msg_body_append(m, p, n, h->cfg.body_cap, h->cfg.budget);
    m->body_bytes += n;
}

static void h2_data_end(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    h2_stream *s = h2_find(h, d->fsid);
    d->cur = NULL;
    if (!s || s->drop || s->ended[dir]) return;
    if (d->frame_damaged) {
        lt_http_msg *m = h2_msg(s, dir);
        if (!m->incomplete) m->incomplete = LT_INC_HOLE;
    }
    if (d->fflags & FL_END_STREAM) {
        if (!s->headers_seen[dir] && !h2_msg(s, dir)->incomplete) h2_msg(s, dir)->incomplete = h2_lost_reason(h, dir);
        h2_stream_end_dir(h, s, dir, ts);
    }
}

/* ---- control frames -------------------------------------------------------- */

static uint32_t h2_u32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* SETTINGS sent by direction dir: table size queued for the peer's ACK,
 * frame size applied to the peer's frames at once (only used for checks). */
static void h2_settings_payload(lt_h2 *h, int dir, const uint8_t *p, size_t n, int acked)
{
    h2_dir *d = &h->d[dir], *peer = &h->d[!dir];
    int64_t table = -1;
    for (size_t i = 0; i + 6 <= n; i += 6) {
        uint16_t id = (uint16_t)(p[i] << 8 | p[i + 1]);
        uint32_t v = h2_u32(p + i + 2);
        if (id == 1) table = v;
        if (id == 5 && v > peer->max_frame) peer->max_frame = v;
    }
    if (acked) {
        if (table >= 0) h2_table_limit(h, !dir, (size_t)table);
        return;
    }
    /* A larger table may be used as soon as the peer has read this frame
     * (its ACK may be missing from a capture); a smaller one binds only
     * from the ACK on, where the encoder must signal it. */
    if (table >= 0 && (size_t)table > peer->hp_limit) h2_table_limit(h, !dir, (size_t)table);
    if (d->nsettings_q == H2_SETTINGS_Q) {
        memmove(d->settings_q, d->settings_q + 1, (H2_SETTINGS_Q - 1) * sizeof *d->settings_q);
        d->nsettings_q--;
    }
    d->settings_q[d->nsettings_q++] = table;
}

/* dir acknowledged the oldest SETTINGS of its peer: its encoder follows now. */
static void h2_settings_ack(lt_h2 *h, int dir)
{
    h2_dir *peer = &h->d[!dir];
    if (!peer->nsettings_q) return;
    int64_t table = peer->settings_q[0];
    memmove(peer->settings_q, peer->settings_q + 1, (H2_SETTINGS_Q - 1) * sizeof *peer->settings_q);
    peer->nsettings_q--;
    if (table >= 0) h2_table_limit(h, dir, (size_t)table);
}

static void h2_rst_stream(lt_h2 *h, uint32_t sid, lt_time_us ts)
{
    h2_stream *s = h2_find(h, sid);
    if (!s) return;
    if (s->drop) { h2_forget_stream(h, s); return; }
    if (s->ended[1]) { /* the answer was complete; the request was cut short */
        if (!s->ended[0] && s->ex.req.present && !s->ex.req.end_ts) s->ex.req.end_ts = ts;
        h2_emit(h, s);
        return;
    }
    s->ex.incomplete = LT_INC_RESET;
    h2_end_pending(h, s, LT_INC_RESET, ts);
}

/* GOAWAY from dir: streams the other side opened above last_sid are refused. */
static void h2_goaway(lt_h2 *h, int dir, uint32_t last_sid, lt_time_us ts)
{
    h2_stream **v;
    size_t n = h2_collect(h, &v);
    for (size_t i = 0; i < n; i++) {
        h2_stream *s = v[i];
        int opened_by_peer = dir == LT_DIR_TO_CLIENT ? (s->id & 1) : !(s->id & 1);
        if (opened_by_peer && s->id > last_sid) {
            if (s->drop) h2_forget_stream(h, s);
            else h2_end_pending(h, s, LT_INC_NO_RESPONSE, ts);
        }
    }
    free(v);
}

static void h2_control(lt_h2 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    switch (d->ftype) {
    case F_SETTINGS:
        if (d->fflags & FL_ACK) h2_settings_ack(h, dir);
        else h2_settings_payload(h, dir, p, n, 0);
        break;
    case F_RST_STREAM: h2_rst_stream(h, d->fsid, ts); break;
    case F_GOAWAY:
        if (n >= 4) h2_goaway(h, dir, h2_u32(p) & 0x7fffffffu, ts);
        break;
    default: break; /* PRIORITY, PING, WINDOW_UPDATE: nothing to record */
    }
}

/* ---- frame headers ---------------------------------------------------------- */

/* Is this a frame header a conforming peer could send in direction dir? */
static int h2_plausible(const lt_h2 *h, int dir, const uint8_t *p, size_t max_frame, int strict)
{
    static const uint8_t flags_ok[10] = {0x09, 0x2d, 0, 0, 0x01, 0x0c, 0x01, 0, 0, 0x04};
    uint32_t len = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    uint8_t type = p[3], fl = p[4];
    uint32_t sid = h2_u32(p + 5);
    (void)h;
    if (type > F_CONTINUATION) return !strict && len <= max_frame;
    if (strict && ((fl & ~flags_ok[type]) || (sid & 0x80000000u))) return 0;
    if (len > max_frame) return 0;
    if (!strict) fl &= flags_ok[type];
    switch (type) {
    case F_SETTINGS: return sid == 0 && len % 6 == 0 && (!(fl & FL_ACK) || len == 0);
    case F_PING: return sid == 0 && len == 8;
    case F_GOAWAY: return sid == 0 && len >= 8;
    case F_WINDOW_UPDATE: return len == 4;
    case F_PRIORITY: return sid != 0 && len == 5;
    case F_RST_STREAM: return sid != 0 && len == 4;
    case F_PUSH_PROMISE: return dir == LT_DIR_TO_CLIENT && sid != 0 && (sid & 1) && len >= 4;
    case F_DATA:
    case F_HEADERS: return sid != 0 && (dir == LT_DIR_TO_CLIENT || (sid & 1));
    default: return sid != 0;
    }
}

static void h2_enter_resync(lt_h2 *h, int dir, int why, lt_time_us ts);

static int h2_begin_frame(lt_h2 *h, int dir, const uint8_t *p, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    d->flen = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    d->ftype = p[3];
    d->fflags = p[4];
    d->fsid = h2_u32(p + 5) & 0x7fffffffu;
    d->frame_ts = ts;
    d->frame_left = d->flen;
    d->frame_damaged = 0;
    d->prefix_need = d->prefix_got = 0;
    d->pad_left = 0;
    if (d->flen > d->max_frame) return -1;
    if (d->block_sid && (d->ftype != F_CONTINUATION || d->fsid != d->block_sid)) return -1;
    switch (d->ftype) {
    case F_DATA:
        if (!d->fsid) return -1;
        d->prefix_need = (d->fflags & FL_PADDED) ? 1 : 0;
        break;
    case F_HEADERS:
        if (!d->fsid) return -1;
        d->prefix_need = ((d->fflags & FL_PADDED) ? 1 : 0) + ((d->fflags & FL_PRIORITY) ? 5 : 0);
        break;
    case F_PUSH_PROMISE:
        if (!d->fsid) return -1;
        d->prefix_need = ((d->fflags & FL_PADDED) ? 1 : 0) + 4;
        break;
    case F_CONTINUATION:
        if (!d->block_sid) { h->sink.ctr->http2_frame_errors++; d->state = S_SKIP; return 0; }
        break;
    case F_SETTINGS: case F_RST_STREAM: case F_GOAWAY: case F_PRIORITY: case F_PING: case F_WINDOW_UPDATE:
        if (!h2_plausible(h, dir, p, d->max_frame, 0)) return -1;
        d->state = S_SMALL;
        lt_buf_reset(&d->small);
        return 0;
    default:
        d->state = S_SKIP; /* unknown frame types are ignored (RFC 9113 5.5) */
        return 0;
    }
    if (d->flen < d->prefix_need) return -1;
    d->state = S_PREFIX;
    return 0;
}

/* The prefix is complete: work out padding and start the content. */
static int h2_begin_content(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    size_t pad = (d->fflags & FL_PADDED) && d->ftype != F_CONTINUATION ? d->prefix[0] : 0;
    if (pad > d->flen - d->prefix_need) return -1;
    d->content_left = d->flen - d->prefix_need - pad;
    d->pad_left = pad;
    switch (d->ftype) {
    case F_DATA: h2_data_begin(h, dir); break;
    case F_HEADERS: h2_headers_begin(h, dir, ts); d->block_bytes = 9 + d->flen; break;
    case F_PUSH_PROMISE: {
        uint32_t promised = h2_u32(d->prefix + d->prefix_need - 4) & 0x7fffffffu;
        h2_block_reset(d);
        d->block_sid = d->fsid;
        d->block_ts = d->frame_ts;
        h2_drop(h, NULL, promised, "server push");
        break;
    }
    case F_CONTINUATION: d->block_bytes += 9 + d->flen; break;
    }
    d->state = S_CONTENT;
    return 0;
}

static void h2_content(lt_h2 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    if (h->d[dir].ftype == F_DATA) h2_data_bytes(h, dir, p, n, ts);
    else h2_block_fragment(h, dir, p, n);
}

static void h2_end_frame(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    d->state = S_HEAD;
    d->hdr_got = 0;
    switch (d->ftype) {
    case F_DATA: h2_data_end(h, dir, ts); break;
    case F_HEADERS: case F_PUSH_PROMISE: case F_CONTINUATION:
        if (d->frame_damaged) d->block_failed = 1;
        if (d->fflags & FL_END_HEADERS) h2_block_last(h, dir, ts);
        break;
    }
}

/* Moves through the phases of the current frame that need no more bytes. */
static int h2_advance(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    for (;;) {
        switch (d->state) {
        case S_PREFIX:
            if (d->prefix_got < d->prefix_need) return 0;
            if (h2_begin_content(h, dir, ts) < 0) return -1;
            break;
        case S_CONTENT:
            if (d->content_left) return 0;
            d->state = S_PAD;
            break;
        case S_PAD:
            if (d->pad_left) return 0;
            h2_end_frame(h, dir, ts);
            return 0;
        case S_SMALL:
            if (d->frame_left) return 0;
            h2_control(h, dir, d->small.data, d->small.len, ts);
            d->state = S_HEAD;
            d->hdr_got = 0;
            return 0;
        case S_SKIP:
            if (d->frame_left) return 0;
            d->state = S_HEAD;
            d->hdr_got = 0;
            return 0;
        default:
            return 0;
        }
    }
}

/* ---- resynchronization ------------------------------------------------------ */

/* 1: a chain of plausible frames starts at off; 0: not; -1: need more bytes.
 * final: the direction has ended, a shorter chain reaching the end will do. */
static int h2_chain_at(const lt_h2 *h, int dir, const uint8_t *p, size_t n, size_t off, int final)
{
    size_t maxf = h->d[dir].max_frame < H2_RESYNC_MAX_FRAME ? h->d[dir].max_frame : H2_RESYNC_MAX_FRAME;
    int frames = 0;
    while (frames < 3) {
        if (off == n && final && frames >= 1) return 1;
        if (off + 9 > n) return final ? 0 : -1;
        if (!h2_plausible(h, dir, p + off, maxf, 1)) return 0;
        off += 9 + ((size_t)p[off] << 16 | (size_t)p[off + 1] << 8 | p[off + 2]);
        frames++;
    }
    return 1;
}

/* Looks for a frame boundary in the resync buffer: its offset, or -1 (the
 * bytes that cannot start a chain are discarded). */
static long h2_resync_find(lt_h2 *h, int dir, int final)
{
    h2_dir *d = &h->d[dir];
    size_t off = 0, n = d->rs.len;
    int r = 0;
    for (; off < n; off++) {
        r = h2_chain_at(h, dir, d->rs.data, n, off, final);
        if (r != 0) break;
    }
    if (r == 1) {
        h->sink.ctr->http_resyncs++;
        lt_info("conn %llu: HTTP/2 %s resynchronized after %zu bytes",
                (unsigned long long)(h->conn ? h->conn->conn_id : 0), dir ? "response side" : "request side", off);
        return (long)off;
    }
    if (off) lt_buf_consume(&d->rs, off);
    if (d->rs.len > H2_RESYNC_KEEP) lt_buf_consume(&d->rs, d->rs.len - H2_RESYNC_KEEP / 2);
    return -1;
}

static void h2_feed_dir(lt_h2 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts);

/* End of a direction while resynchronizing: a shorter chain will do. */
static void h2_resync_final(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    if (d->state != S_RESYNC || !d->rs.len) return;
    long off = h2_resync_find(h, dir, 1);
    if (off < 0) return;
    lt_buf rest = d->rs;
    lt_buf_init(&d->rs);
    d->state = S_HEAD;
    d->hdr_got = 0;
    h2_feed_dir(h, dir, rest.data + off, rest.len - (size_t)off, ts);
    lt_buf_free(&rest);
}

/* Frame sync lost in direction dir (hole, framing error): open messages of
 * that direction are damaged, the HPACK table is gone, frames are searched. */
static void h2_enter_resync(lt_h2 *h, int dir, int why, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    h2_stream **v;
    size_t n = h2_collect(h, &v);
    (void)ts;
    d->holes++;
    for (size_t i = 0; i < n; i++) {
        lt_http_msg *m = h2_msg(v[i], dir);
        if (m->present && !v[i]->ended[dir] && !m->incomplete) m->incomplete = why;
    }
    free(v);
    if (d->block_sid) {
        if (d->block_stream) h2_drop(h, d->block_stream, d->block_sid, "header block cut by a hole");
        h2_block_reset(d);
    }
    h2_hpack_lost(h, dir);
    d->cur = NULL;
    d->state = S_RESYNC;
    d->hdr_got = 0;
    lt_buf_reset(&d->rs);
}

static void h2_frame_error(lt_h2 *h, int dir, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    h->sink.ctr->http2_frame_errors++;
    lt_warn("conn %llu: HTTP/2 framing error (type %u, length %u, stream %u); resynchronizing",
            (unsigned long long)(h->conn ? h->conn->conn_id : 0), d->ftype, d->flen, d->fsid);
    uint8_t hdr[9];
    memcpy(hdr, d->hdr, 9);
    h2_enter_resync(h, dir, LT_INC_PARSE_ERROR, ts);
    lt_buf_append(&d->rs, hdr + 1, 8); /* a frame may start inside the rejected header */
}

/* ---- the byte loop ---------------------------------------------------------- */

static size_t h2_take(size_t want, size_t n) { return want < n ? want : n; }

static void h2_feed_dir(lt_h2 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    h2_dir *d = &h->d[dir];
    lt_buf hold; /* resync buffer being parsed after a resynchronization */
    lt_buf_init(&hold);
    while (n || d->state == S_RESYNC) {
        size_t k;
        switch (d->state) {
        case S_DEAD:
            n = 0;
            break;
        case S_PREFACE:
            k = h2_take(H2_PREFACE_LEN - d->preface_got, n);
            if (memcmp(p, &H2_PREFACE[d->preface_got], k)) {
                if (!(h->conn && h->conn->missed_start) || d->preface_got) h->sink.ctr->http2_frame_errors++;
                h2_enter_resync(h, dir, LT_INC_PARSE_ERROR, ts);
                if (h->conn && h->conn->missed_start) d->holes--; /* not damage: we joined late */
                lt_buf_append(&d->rs, H2_PREFACE, d->preface_got);
                continue;
            }
            d->preface_got += k; p += k; n -= k;
            if (d->preface_got == H2_PREFACE_LEN) { d->state = S_HEAD; d->hdr_got = 0; }
            break;
        case S_RESYNC: {
            lt_buf_append(&d->rs, p, n);
            long off = h2_resync_find(h, dir, 0);
            if (off < 0) { n = 0; goto out; }
            lt_buf_free(&hold); /* p pointed into it, but was copied into rs above */
            hold = d->rs;
            lt_buf_init(&d->rs);
            p = hold.data + off;
            n = hold.len - (size_t)off;
            d->state = S_HEAD;
            d->hdr_got = 0;
            break;
        }
        case S_HEAD:
            if (d->hdr_got == 0 && n >= 9) {
                memcpy(d->hdr, p, 9);
                p += 9; n -= 9;
            } else {
                k = h2_take(9 - d->hdr_got, n);
                memcpy(d->hdr + d->hdr_got, p, k);
                d->hdr_got += k; p += k; n -= k;
                if (d->hdr_got < 9) goto out;
            }
            d->hdr_got = 9;
            if (h2_begin_frame(h, dir, d->hdr, ts) < 0 || h2_advance(h, dir, ts) < 0)
                h2_frame_error(h, dir, ts); /* continues in S_RESYNC with the rest */
            break;
        case S_PREFIX:
            k = h2_take(d->prefix_need - d->prefix_got, n);
            memcpy(d->prefix + d->prefix_got, p, k);
            d->prefix_got += k; d->frame_left -= k; p += k; n -= k;
            if (h2_advance(h, dir, ts) < 0) h2_frame_error(h, dir, ts);
            break;
        case S_CONTENT:
            k = h2_take(d->content_left, n);
            h2_content(h, dir, p, k, ts);
            d->content_left -= k; d->frame_left -= k; p += k; n -= k;
            h2_advance(h, dir, ts);
            break;
        case S_PAD:
            k = h2_take(d->pad_left, n);
            d->pad_left -= k; d->frame_left -= k; p += k; n -= k;
            h2_advance(h, dir, ts);
            break;
        case S_SMALL:
            k = h2_take(d->frame_left, n);
            if (d->small.len == 0 && k == d->frame_left) {
                d->frame_left = 0;
                h2_control(h, dir, p, k, ts); /* whole frame in the input: no copy */
                d->state = S_HEAD;
                d->hdr_got = 0;
            } else {
                lt_buf_append(&d->small, p, k);
                d->frame_left -= k;
                h2_advance(h, dir, ts);
            }
            p += k; n -= k;
            break;
        case S_SKIP:
            k = h2_take(d->frame_left, n);
            d->frame_left -= k; p += k; n -= k;
            h2_advance(h, dir, ts);
            break;
        }
    }
out:
    lt_buf_free(&hold);
}

/* ---- lt_app_ops ------------------------------------------------------------- */

void *lt_http2_conn_create(const lt_parser_cfg *cfg, const lt_conn_info *conn, const lt_app_sink *sink)
{
    lt_h2 *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    if (cfg) h->cfg = *cfg;
    else lt_parser_cfg_defaults(&h->cfg);
    if (!h->cfg.h2_streams_max) h->cfg.h2_streams_max = 1000;
    h->conn = conn;
    if (sink) h->sink = *sink;
    if (!h->sink.ctr) h->sink.ctr = &h->own_ctr;
    int late = conn && conn->missed_start;
    for (int i = 0; i < 2; i++) {
        h2_dir *d = &h->d[i];
        lt_buf_init(&d->small);
        lt_buf_init(&d->rs);
        lt_http_msg_init(&d->block_msg);
        d->max_frame = H2_DEFAULT_FRAME;
        d->list_max = h->cfg.h2_header_list_max ? h->cfg.h2_header_list_max : SIZE_MAX;
        d->self = i;
        d->hp = lt_hpack_create(late ? H2_UNSURE_TABLE : H2_DEFAULT_TABLE);
        d->hp_unsure = late;
        d->hp_limit = late ? H2_UNSURE_TABLE : H2_DEFAULT_TABLE;
        if (!d->hp) { lt_http2_conn_destroy(h); return NULL; }
    }
    h->d[LT_DIR_TO_SERVER].state = S_PREFACE;
    h->d[LT_DIR_TO_CLIENT].state = late ? S_RESYNC : S_HEAD;
    return h;
}

void lt_http2_conn_feed(void *p, int dir, const uint8_t *data, size_t len, lt_time_us ts)
{
    lt_h2 *h = p;
    if (!h || (dir != 0 && dir != 1)) return;
    h2_feed_dir(h, dir, data, len, ts);
}

void lt_http2_conn_gap(void *p, int dir, uint64_t len, lt_time_us ts)
{
    lt_h2 *h = p;
    h2_dir *d = &h->d[dir];
    if (d->state == S_DEAD || d->state == S_RESYNC) {
        if (d->state == S_RESYNC) { d->holes++; lt_buf_reset(&d->rs); }
        return;
    }
    int in_payload = d->state == S_CONTENT || d->state == S_PAD || d->state == S_SKIP;
    if (in_payload && len <= d->frame_left) {
        /* the hole is inside the current frame: frame sync survives */
        d->holes++;
        d->frame_damaged = 1;
        if (d->cur) {
            lt_http_msg *m = h2_msg(d->cur, dir);
            if (!m->incomplete) m->incomplete = LT_INC_HOLE;
            m->wire_bytes += len;
        }
        if (d->state == S_CONTENT && d->ftype != F_DATA) d->block_failed = 1;
        uint64_t left = len;
        size_t k = (size_t)(left < d->content_left ? left : d->content_left);
        if (d->state == S_CONTENT) { d->content_left -= k; left -= k; }
        d->frame_left -= (size_t)len;
        if (d->state == S_SKIP) left = 0;
        if (left) d->pad_left -= (size_t)left;
        h2_advance(h, dir, ts);
        return;
    }
    h2_enter_resync(h, dir, LT_INC_HOLE, ts);
}

void lt_http2_conn_eof(void *p, int dir, lt_time_us ts)
{
    lt_h2 *h = p;
    h2_dir *d = &h->d[dir];
    h2_resync_final(h, dir, ts);
    if (d->state != S_HEAD && d->state != S_DEAD && d->state != S_PREFACE && d->state != S_RESYNC)
        lt_info("conn %llu: HTTP/2 direction ended inside a frame",
                (unsigned long long)(h->conn ? h->conn->conn_id : 0));
    d->state = S_DEAD;
}

void lt_http2_conn_close(void *p, int reset, lt_time_us ts)
{
    lt_h2 *h = p;
    for (int dir = 0; dir < 2; dir++) {
        h2_dir *d = &h->d[dir];
        h2_resync_final(h, dir, ts);
        if (d->block_sid && d->block_stream)
            h2_drop(h, d->block_stream, d->block_sid, "connection ended inside a header block");
        h2_block_reset(d);
        d->state = S_DEAD;
    }
    h2_stream **v;
    size_t n = h2_collect(h, &v);
    for (size_t i = 0; i < n; i++) {
        if (v[i]->drop) { h2_forget_stream(h, v[i]); continue; }
        h2_end_pending(h, v[i], reset ? LT_INC_RESET : LT_INC_TRUNCATED, ts);
    }
    free(v);
}

void lt_http2_conn_destroy(void *p)
{
    lt_h2 *h = p;
    if (!h) return;
    for (size_t b = 0; b < H2_BUCKETS; b++) {
        h2_stream *s = h->tab[b];
        while (s) { h2_stream *nx = s->next; h2_stream_free(s); s = nx; }
    }
    for (int i = 0; i < 2; i++) {
        lt_buf_free(&h->d[i].small);
        lt_buf_free(&h->d[i].rs);
        lt_http_msg_free(&h->d[i].block_msg);
        lt_hpack_destroy(h->d[i].hp);
    }
    free(h->ring);
    free(h);
}

/* base64url (RFC 4648 section 5, padding optional) for HTTP2-Settings. */
static size_t h2_b64url(const char *in, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in && *in != '='; in++) {
        int v;
        char c = *in;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-' || c == '+') v = 62;
        else if (c == '_' || c == '/') v = 63;
        else continue;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < cap) out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

void lt_http2_conn_upgrade(void *p, lt_http_msg *req, lt_time_us ts)
{
    lt_h2 *h = p;
    if (!h) { lt_http_msg_free(req); return; }
    const char *hs = lt_http_msg_header(req, "http2-settings");
    if (hs) {
        uint8_t buf[256];
        size_t n = h2_b64url(hs, buf, sizeof buf);
        h2_settings_payload(h, LT_DIR_TO_SERVER, buf, n - n % 6, 1); /* acknowledged by the 101 */
    }
    h2_stream *s = h2_find(h, 1);
    if (!s) s = h2_stream_new(h, 1);
    if (!s) { lt_http_msg_free(req); return; }
    lt_http_msg_free(&s->ex.req);
    s->ex.req = *req;
    lt_http_msg_init(req);
    s->ex.req.present = 1;
    if (!s->ex.req.end_ts) s->ex.req.end_ts = ts;
    s->headers_seen[0] = 1;
    s->ended[0] = 1;
}

