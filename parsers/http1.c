/* http1.c -- incremental HTTP/1.x parser: two byte streams in, exchanges out.
 *
 * Each direction is a small state machine: HEAD (bytes collected until the
 * blank line), then one of the body modes (Content-Length, chunked,
 * close-delimited), then back to HEAD. Requests are queued when their head is
 * parsed; each response pairs with the oldest request that has no response
 * yet, which is how pipelining works on the wire. An exchange is emitted when
 * its response ends (or the connection does).
 *
 * Damage handling: a hole inside a body of known length just skips that many
 * body bytes (the message is marked "hole"); a hole anywhere else loses the
 * framing, so the current message is closed and the direction RESYNCs: it
 * scans for the next request line ("GET /x HTTP/1.1") or status line
 * ("HTTP/1.1 200 ") and resumes there. A capture that starts mid-connection
 * begins in RESYNC too. Nothing is dropped silently: resyncs, parse errors,
 * bodies over the cap and decode errors are counted.
 *
 * Memory: head buffers, queued requests (the exchange and its head) and
 * bodies are charged to the process's memory budget (cfg.budget,
 * common/membudget.h) when they grow. A request head the budget refuses is
 * a parse error (response heads are always taken: they end exchanges); a queued request it refuses keeps its framing (the pipelined
 * responses still pair in order) but loses its headers and body; a body it
 * refuses stops growing. Each is flagged "memcap" and counted
 * (parser_budget_truncations). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "../common/membudget.h"
#include "aoai.h"
#include "content.h"
#include "http1.h"

enum lt_h1_state {
    H1_HEAD = 0,
    H1_BODY_CL,
    H1_CHUNK_SIZE,
    H1_CHUNK_DATA,
    H1_CHUNK_DATA_END,
    H1_TRAILERS,
    H1_BODY_CLOSE,
    H1_RESYNC,
    H1_DEAD,
};

typedef struct lt_h1_dir {
    int state;
    lt_buf head;            /* head, chunk-size line, trailers or resync window */
    size_t head_charged;    /* capacity of head charged to the budget */
    size_t scan;            /* bytes of head already searched for the terminator */
    uint64_t remaining;     /* Content-Length or chunk bytes left */
    lt_exchange *ex;        /* exchange of the message in progress */
    lt_http_msg *msg;       /* the message in progress (ex->req or ex->resp) */
    lt_content *dec;
    int started;            /* any byte seen in this direction */
    int resync_skipped;     /* bytes were skipped while resynchronizing */
    int lost_messages;      /* a hole may have swallowed whole messages */
    lt_time_us head_ts;     /* arrival of the head's first byte */
    uint64_t off;           /* stream offset of the next byte fed */
    uint64_t head_off;      /* stream offset of the head's first byte */
    const uint8_t *feed_p;  /* start of the current feed (for offsets) */
    uint64_t head_wire;     /* bytes of the head on the wire */
} lt_h1_dir;

typedef struct lt_h1 {
    lt_parser_cfg cfg;
    const lt_conn_info *conn;
    lt_app_sink sink;
    lt_counters own_ctr;      /* used when the sink brings none */
    lt_h1_dir d[2];
    lt_exchange **queue;    /* requests waiting for their response, oldest first */
    size_t qlen, qcap;
    uint32_t seq;
    int upgraded;
    size_t upgrade_off;
} lt_h1;

static const char *const lt_h1_methods[] = {
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT",
};

/* ---- exchange queue ---------------------------------------------------- */

/* An exchange plus what pairing needs: how much of the response stream had
 * arrived when the request started (the client's view of the server). */
typedef struct lt_h1_ex {
    lt_exchange ex;           /* first: lt_exchange * and lt_h1_ex * convert */
    uint64_t srv_off;
    size_t charged;           /* charged to the budget for the queued request */
} lt_h1_ex;

static void lt_h1_free_exchange(lt_h1 *h, lt_exchange *ex)
{
    if (!ex) return;
    lt_membudget_release(h->cfg.budget, ((lt_h1_ex *)ex)->charged);
    lt_exchange_free(ex);
    free(ex);
}

static lt_exchange *lt_h1_new_exchange(lt_h1 *h)
{
    lt_h1_ex *hx = malloc(sizeof *hx);
    if (!hx) return NULL;
    lt_exchange *ex = &hx->ex;
    hx->srv_off = h->d[LT_DIR_TO_CLIENT].off;
    hx->charged = 0;
    lt_exchange_init(ex, h->conn);
    ex->version = 11;
    ex->seq = h->seq++;
    return ex;
}

static int lt_h1_enqueue(lt_h1 *h, lt_exchange *ex)
{
    if (h->qlen == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 8;
        lt_exchange **q = realloc(h->queue, cap * sizeof *q);
        if (!q) return -1;
        h->queue = q;
        h->qcap = cap;
    }
    h->queue[h->qlen++] = ex;
    return 0;
}

static void lt_h1_dequeue(lt_h1 *h, lt_exchange *ex)
{
    for (size_t i = 0; i < h->qlen; i++) {
        if (h->queue[i] != ex) continue;
        memmove(h->queue + i, h->queue + i + 1, (h->qlen - i - 1) * sizeof *h->queue);
        h->qlen--;
        return;
    }
}

static void lt_h1_emit(lt_h1 *h, lt_exchange *ex)
{
    lt_h1_dequeue(h, ex);
    lt_exchange_settle(ex, LT_INC_NO_REQUEST);
    if (h->sink.on_exchange) h->sink.on_exchange(h->sink.ud, ex);
    lt_h1_free_exchange(h, ex);
}

/* ---- message completion -------------------------------------------------- */

static void lt_h1_finish_body(lt_h1 *h, lt_h1_dir *d)
{
    if (lt_http_msg_body_done(d->msg, &d->dec, h->sink.ctr))
        lt_warn("http1: conn %llu: compressed body expands over %ux; decoding stopped",
                (unsigned long long)(h->conn ? h->conn->conn_id : 0), h->cfg.decode_ratio_max);
}

/* The message of direction dir ended (completely or not). */
static void lt_h1_message_done(lt_h1 *h, int dir, lt_time_us ts, int incomplete)
{
    lt_h1_dir *d = &h->d[dir];
    if (!d->msg) { d->state = H1_HEAD; return; }
    lt_h1_finish_body(h, d);
    if (incomplete && !d->msg->incomplete) d->msg->incomplete = incomplete;
    if (!d->msg->end_ts) d->msg->end_ts = ts;
    lt_exchange *ex = d->ex;
    d->msg = NULL;
    d->ex = NULL;
    d->state = H1_HEAD;
    /* An exchange leaves when both halves are done: a server may answer
     * (413, 401, 429) while the request body is still arriving, and the
     * request side keeps writing into the exchange until its body ends. */
    lt_h1_dir *other = &h->d[!dir];
    if (other->ex == ex) return;
    if (dir == LT_DIR_TO_CLIENT || ex->resp.present) lt_h1_emit(h, ex);
}

/* ---- body bytes ---------------------------------------------------------- */

static void lt_h1_body(lt_h1 *h, lt_h1_dir *d, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_http_msg *m = d->msg;
    if (!n) return;
    lt_http_msg_mark(m, ts);
    m->wire_bytes += n;
    if (d->dec) {
        m->body_bytes += lt_content_feed(d->dec, p, n, &m->body);
        lt_http_msg_body_decoded(m, d->dec);
        return;
    }
    lt_http_msg_body_append(m, p, n, h->cfg.body_cap, h->cfg.budget);
    m->body_bytes += n;
}

/* ---- head parsing -------------------------------------------------------- */

static int lt_h1_is_method(const char *p, size_t n)
{
    for (size_t i = 0; i < LT_ARRAY_LEN(lt_h1_methods); i++) {
        size_t l = strlen(lt_h1_methods[i]);
        if (n == l && !memcmp(p, lt_h1_methods[i], l)) return 1;
    }
    return 0;
}

static int lt_h1_version(const char *p, size_t n)
{
    if (n != 8 || memcmp(p, "HTTP/1.", 7)) return -1;
    if (p[7] == '1') return 11;
    if (p[7] == '0') return 10;
    return -1;
}

/* Parses "METHOD SP target SP HTTP/1.x" or "HTTP/1.x SP ddd SP reason":
 * 0, -1 when it is not one, -2 when memory ran out. */
static int lt_h1_start_line(lt_http_msg *m, int dir, const char *p, size_t n)
{
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1) return -1;
    if (dir == LT_DIR_TO_SERVER) {
        const char *sp2 = p + n - 1;
        while (sp2 > sp1 && *sp2 != ' ') sp2--;
        if (sp2 == sp1 || !lt_h1_is_method(p, (size_t)(sp1 - p))) return -1;
        m->version = lt_h1_version(sp2 + 1, (size_t)(p + n - sp2 - 1));
        if (m->version < 0) return -1;
        m->method = strndup(p, (size_t)(sp1 - p));
        m->target = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
        return m->method && m->target ? 0 : -2;   /* out of memory: no request without its line */
    }
    m->version = lt_h1_version(p, (size_t)(sp1 - p));
    const char *code = sp1 + 1;
    if (m->version < 0 || p + n - code < 3) return -1;
    /* status-code = 3DIGIT, and a real one is 100..999: "HTTP/1.1 042" is not a status line */
    if (code[0] < '1' || code[0] > '9' || !isdigit((unsigned char)code[1]) ||
        !isdigit((unsigned char)code[2]) || (p + n - code > 3 && code[3] != ' '))
        return -1;
    m->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (p + n - code > 4 && !(m->reason = strndup(code + 4, (size_t)(p + n - code - 4)))) return -2;
    return 0;
}

static void lt_h1_trim(const char **p, size_t *n)
{
    while (*n && (**p == ' ' || **p == '\t')) { (*p)++; (*n)--; }
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r')) (*n)--;
}

/* Parses header lines in [p, end); each line ends with LF (CR optional).
 * 0, -1 on a malformed line, -2 when memory ran out. */
static int lt_h1_header_lines(lt_http_msg *m, const char *p, const char *end)
{
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        const char *le = lf ? lf : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r') n--;
        if (n == 0) break;
        if (p[0] == ' ' || p[0] == '\t') { p = le + 1; continue; } /* obs-fold: ignored */
        const char *colon = memchr(p, ':', n);
        if (!colon || colon == p) return -1;
        const char *name = p, *val = colon + 1;
        size_t nlen = (size_t)(colon - p), vlen = n - nlen - 1;
        lt_h1_trim(&name, &nlen);
        lt_h1_trim(&val, &vlen);
        if (lt_http_msg_add_header(m, name, nlen, val, vlen) < 0) return -2;   /* out of memory */
        p = le + 1;
    }
    return 0;
}

static int lt_h1_has_token(const char *v, const char *tok)
{
    size_t tl = strlen(tok);
    for (const char *p = v; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        const char *s = p;
        while (*p && *p != ',') p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if ((size_t)(e - s) == tl && !strncasecmp(s, tok, tl)) return 1;
    }
    return 0;
}

/* Chooses the body mode of a parsed head; returns the next state. */
static int lt_h1_body_mode(lt_h1 *h, lt_h1_dir *d, const lt_exchange *ex, int dir)
{
    lt_http_msg *m = d->msg;
    if (dir == LT_DIR_TO_CLIENT) {
        if (m->status < 200 || m->status == 204 || m->status == 304) return H1_HEAD;
        if (ex->req.method && !strcmp(ex->req.method, "HEAD")) return H1_HEAD;
    }
    const char *te = lt_http_msg_header(m, "transfer-encoding");
    const char *cl = lt_http_msg_header(m, "content-length");
    const char *ce = lt_http_msg_header(m, "content-encoding");
    int chunked = te && lt_h1_has_token(te, "chunked");
    if (chunked || cl || dir == LT_DIR_TO_CLIENT) {
        if (ce && *ce && !m->budget_truncated) {
            if ((d->dec = lt_content_create(ce, h->cfg.body_cap))) {
                lt_content_set_ratio(d->dec, h->cfg.decode_ratio_max);
                lt_http_msg_body_decoder(m, d->dec, h->cfg.budget);
            } else {
                lt_http_msg_body_refuse(m);   /* out of memory: not its encoded bytes as if plain */
            }
        }
    }
    if (chunked) { d->remaining = 0; return H1_CHUNK_SIZE; }
    if (cl) {
        char *e;
        unsigned long long v = strtoull(cl, &e, 10);
        if (e == cl) return H1_RESYNC; /* the caller closes the message (and its decoder) */
        d->remaining = v;
        return v ? H1_BODY_CL : H1_HEAD;
    }
    return dir == LT_DIR_TO_CLIENT ? H1_BODY_CLOSE : H1_HEAD;
}

/* Finds (or creates) the exchange a response starting at server offset off
 * belongs to. If the client had already received response bytes up to some
 * offset when it sent a later request, those bytes answered earlier requests;
 * so a response starting at or past that offset cannot belong to an earlier
 * request, whose response must then have been lost in a hole. */
static lt_exchange *lt_h1_pair_response(lt_h1 *h, lt_time_us ts, uint64_t off)
{
    for (size_t i = 0; i < h->qlen; i++) {
        lt_exchange *ex = h->queue[i];
        if (ex->resp.present) continue;
        if (ex->req.start_ts > ts) break; /* request came after: not ours */
        lt_h1_ex *hx = (lt_h1_ex *)ex, *next = NULL;
        for (size_t k = i + 1; k < h->qlen && !next; k++)
            if (h->queue[k]->req.present && !h->queue[k]->resp.present) next = (lt_h1_ex *)h->queue[k];
        if (next && next->srv_off > hx->srv_off && off >= next->srv_off && ex->req.present) {
            ex->incomplete = LT_INC_HOLE; /* its response was lost */
            if (h->d[LT_DIR_TO_SERVER].ex != ex) { lt_h1_emit(h, ex); i--; }
            continue;
        }
        return ex;
    }
    lt_exchange *ex = lt_h1_new_exchange(h);
    if (!ex) return NULL;
    ex->req.incomplete = LT_INC_NO_REQUEST;
    if (lt_h1_enqueue(h, ex) < 0) { lt_h1_free_exchange(h, ex); return NULL; }
    return ex;
}

static void lt_h1_upgrade(lt_h1 *h, lt_exchange *ex, lt_time_us ts)
{
    h->upgraded = 1;
    if (h->sink.on_upgrade) h->sink.on_upgrade(h->sink.ud, "h2c", &ex->req, ts);
    lt_h1_dequeue(h, ex);
    for (int i = 0; i < 2; i++)
        if (h->d[i].ex == ex) { h->d[i].ex = NULL; h->d[i].msg = NULL; }
    lt_h1_free_exchange(h, ex);
    h->d[0].state = h->d[1].state = H1_DEAD;
}

static void lt_h1_parse_error(lt_h1 *h, int dir, lt_time_us ts);

/* A queued request costs its exchange and its head (the header strings)
 * until its response ends. Past the budget it is kept for pairing only: its
 * exchange is charged (it exists), its headers are dropped after framing is
 * decided and its body is not kept. */
static void lt_h1_charge_request(lt_h1 *h, lt_h1_ex *hx, lt_http_msg *m)
{
    if (!h->cfg.budget) return;
    size_t cost = sizeof *hx + (size_t)m->head_bytes + m->nhdrs * sizeof(lt_header);
    if (lt_membudget_try_charge(h->cfg.budget, cost, LT_MEMBUDGET_STATE) == 0) { hx->charged = cost; return; }
    lt_membudget_charge(h->cfg.budget, sizeof *hx);
    hx->charged = sizeof *hx;
    m->budget_truncated = m->body_truncated = 1;
    m->incomplete = LT_INC_MEMCAP;
    lt_warn("http1: conn %llu: memory budget reached: a queued request keeps no headers or body",
            (unsigned long long)(h->conn ? h->conn->conn_id : 0));
}

/* A request over the budget: its headers go once its framing is known. */
static void lt_h1_strip_request(lt_http_msg *m)
{
    for (size_t i = 0; i < m->nhdrs; i++) free(m->hdrs[i].name); /* value is in its block */
    free(m->hdrs);
    m->hdrs = NULL;
    m->nhdrs = m->hdrcap = 0;
}

/* A message head that could not be kept (memory: the budget or the
 * allocator refused it), counted and logged. Its exchange keeps its place in
 * the queue all the same, so pipelined calls stay paired: a lost request
 * leaves a placeholder that its response will take (a record without its
 * request, marked "memcap"); a lost response ends the exchange it answers,
 * marked the same. */
static void lt_h1_head_lost(lt_h1 *h, int dir)
{
    lt_h1_dir *d = &h->d[dir];
    h->sink.ctr->parser_budget_truncations++;
    lt_warn("http1: conn %llu: out of memory or memory budget reached: a %s head was dropped",
            (unsigned long long)(h->conn ? h->conn->conn_id : 0), dir == LT_DIR_TO_SERVER ? "request" : "response");
    if (dir == LT_DIR_TO_SERVER) {
        lt_exchange *ex = lt_h1_new_exchange(h);
        if (!ex) return;
        ex->req.incomplete = LT_INC_MEMCAP;
        ex->req.start_ts = d->head_ts;
        if (lt_h1_enqueue(h, ex) < 0) lt_h1_free_exchange(h, ex);
        return;
    }
    lt_exchange *ex = lt_h1_pair_response(h, d->head_ts, d->head_off);
    if (!ex) return;
    if (!ex->req.present) { /* nothing of the call is left to report */
        lt_h1_dequeue(h, ex);
        lt_h1_free_exchange(h, ex);
        return;
    }
    ex->incomplete = LT_INC_MEMCAP;
    if (h->d[LT_DIR_TO_SERVER].ex != ex) lt_h1_emit(h, ex);
}

/* A complete head is in d->head[0, len). Returns 0, or -1 on a parse error. */
static int lt_h1_head_done(lt_h1 *h, int dir, size_t len, lt_time_us ts)
{
    lt_h1_dir *d = &h->d[dir];
    const char *p = (const char *)d->head.data, *end = p + len;
    const char *lf = memchr(p, '\n', len);
    size_t sl = (size_t)(lf - p);
    if (sl && p[sl - 1] == '\r') sl--;
    lt_http_msg tmp;
    lt_http_msg_init(&tmp);
    int r = lt_h1_start_line(&tmp, dir, p, sl);
    if (r == 0) r = lt_h1_header_lines(&tmp, lf + 1, end);
    if (r < 0) {
        lt_http_msg_free(&tmp);
        if (r == -2) lt_h1_head_lost(h, dir);
        return -1;
    }
    tmp.present = 1;
    tmp.start_ts = d->head_ts;
    tmp.head_bytes = len;
    lt_exchange *ex;
    if (dir == LT_DIR_TO_SERVER) {
        ex = lt_h1_new_exchange(h);
        if (!ex || lt_h1_enqueue(h, ex) < 0) { free(ex); lt_http_msg_free(&tmp); lt_h1_head_lost(h, dir); return -1; }
        lt_h1_charge_request(h, (lt_h1_ex *)ex, &tmp);
    } else {
        if (tmp.status >= 100 && tmp.status < 200 && tmp.status != 101) { /* interim */
            lt_http_msg_free(&tmp);
            d->state = H1_HEAD;
            return 0;
        }
        ex = lt_h1_pair_response(h, d->head_ts, d->head_off);
        if (!ex) { lt_http_msg_free(&tmp); return -1; }
        if (d->lost_messages) {
            /* After a hole that may have held whole responses, pairing is only
             * certain when a single request was waiting. */
            size_t waiting = 0;
            for (size_t i = 0; i < h->qlen; i++) waiting += h->queue[i]->req.present && !h->queue[i]->resp.present;
            if (waiting > 1 && !tmp.incomplete) tmp.incomplete = LT_INC_HOLE;
            else d->lost_messages = 0;
        }
    }
    lt_http_msg *m = dir == LT_DIR_TO_SERVER ? &ex->req : &ex->resp;
    lt_http_msg_free(m);
    *m = tmp;
    const char *host = lt_http_msg_header(m, "host");
    if (host && !m->authority) m->authority = strdup(host);
    if (d->resync_skipped && h->conn && h->conn->missed_start && !m->incomplete) {
        /* first message after a mid-stream pickup is whole; only the bytes before it were lost */
    }
    d->resync_skipped = 0;
    d->ex = ex;
    d->msg = m;
    if (dir == LT_DIR_TO_CLIENT && m->status == 101) {
        const char *up = lt_http_msg_header(m, "upgrade");
        if (up && lt_h1_has_token(up, "h2c")) { lt_h1_upgrade(h, ex, ts); return 0; }
        d->state = H1_DEAD; /* websocket or similar: not HTTP any more */
        lt_h1_message_done(h, dir, ts, 0);
        h->d[0].state = h->d[1].state = H1_DEAD;
        return 0;
    }
    d->state = lt_h1_body_mode(h, d, ex, dir);
    if (dir == LT_DIR_TO_CLIENT) lt_aoai_stream_attach(ex); /* a streamed answer is folded, not kept */
    if (m->budget_truncated) lt_h1_strip_request(m);
    if (d->state == H1_RESYNC) lt_h1_parse_error(h, dir, ts);
    else if (d->state == H1_HEAD) lt_h1_message_done(h, dir, ts, 0);
    return 0;
}

/* ---- resynchronization --------------------------------------------------- */

/* Is there a message start at p (n bytes available, a whole line)? */
static int lt_h1_line_starts_message(int dir, const char *p, size_t n)
{
    if (dir == LT_DIR_TO_CLIENT)
        return n >= 12 && !memcmp(p, "HTTP/1.", 7) && (p[7] == '0' || p[7] == '1') && p[8] == ' ' &&
               isdigit((unsigned char)p[9]) && isdigit((unsigned char)p[10]) &&
               isdigit((unsigned char)p[11]);
    const char *sp = memchr(p, ' ', n < 10 ? n : 10);
    if (!sp || !lt_h1_is_method(p, (size_t)(sp - p))) return 0;
    const char *e = p + n;
    return n >= 9 && !memcmp(e - 9, " HTTP/1.", 8);
}

/* Next "HTTP/1." in [p, end), or NULL (memchr + memcmp: glibc's memmem
 * misbehaves under ASan at -O1, like memrchr). */
static const char *lt_h1_find_http(const char *p, const char *end)
{
    while (p < end && (p = memchr(p, 'H', (size_t)(end - p)))) {
        if ((size_t)(end - p) >= 7 && !memcmp(p, "HTTP/1.", 7)) return p;
        p++;
    }
    return NULL;
}

/* Scans the resync window for a message start: a whole request line
 * ("POST /path HTTP/1.1" with a known method) or status line. Messages follow
 * each other without a separator, so the start need not be at a line start.
 * Returns its offset, or -1. */
static long lt_h1_find_start(lt_h1_dir *d, int dir)
{
    const char *b = (const char *)d->head.data;
    size_t len = d->head.len;
    for (const char *h = b; (h = lt_h1_find_http(h, b + len)); h++) {
        const char *lf = memchr(h, '\n', len - (size_t)(h - b));
        if (!lf) return -1; /* the line is not complete yet */
        if (dir == LT_DIR_TO_CLIENT) {
            if (lt_h1_line_starts_message(dir, h, (size_t)(lf - h))) return (long)(h - b);
            continue;
        }
        /* request: backtrack over " target " to the method */
        if (h == b || h[-1] != ' ') continue;
        const char *t = h - 1;
        while (t > b && t[-1] != ' ' && t[-1] != '\n' && h - t < 8192) t--;
        if (t == b || t[-1] != ' ') continue;
        const char *m = t - 1;
        while (m > b && m[-1] >= 'A' && m[-1] <= 'Z' && t - m < 10) m--;
        size_t n = (size_t)(lf - m);
        if (n && m[n - 1] == '\r') n--;
        if (lt_h1_line_starts_message(dir, m, n)) return (long)(m - b);
    }
    return -1;
}

/* Consumes bytes in RESYNC state; returns bytes used.
 *
 * The window is the tail kept from earlier feeds (at most one partial line,
 * without LF after its start) plus this feed. A message start found in this
 * feed is handed back to the driver loop by consuming exactly the bytes
 * before it; one found in the kept tail moves that tail (a partial head, no
 * LF in it) into the head buffer and consumes nothing, so the driver
 * continues with the head. Never recursive: a segment full of malformed
 * messages costs a loop iteration each, not a stack frame each. */
static size_t lt_h1_resync(lt_h1 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_h1_dir *d = &h->d[dir];
    size_t old = d->head.len;
    lt_buf_append(&d->head, p, n);
    lt_membudget_buf_sync(h->cfg.budget, &d->head, &d->head_charged);
    long at = lt_h1_find_start(d, dir);
    if (at < 0) {
        /* keep the last partial line (bounded) for the next feed */
        const char *b = (const char *)d->head.data;
        const char *lf = b + d->head.len; /* last LF (memrchr misbehaves under ASan -O1) */
        while (lf > b && lf[-1] != '\n') lf--;
        lf = lf > b ? lf - 1 : NULL;
        size_t keep_from = lf ? (size_t)(lf - b) + 1 : 0;
        if (d->head.len - keep_from > 8192) keep_from = d->head.len - 8192;
        /* keep the LF so a line start stays detectable */
        if (keep_from > 0) keep_from--;
        if (keep_from) { d->resync_skipped = 1; lt_buf_consume(&d->head, keep_from); }
        d->scan = 0;
        return n;
    }
    if (at > 0) d->resync_skipped = 1;
    h->sink.ctr->http_resyncs++;
    d->state = H1_HEAD;
    d->scan = 0;
    if ((size_t)at >= old) { lt_buf_reset(&d->head); return (size_t)at - old; }
    /* the start lies in the kept tail: it becomes the beginning of the head */
    lt_buf_consume(&d->head, (size_t)at);
    d->head.len -= n;
    d->head.data[d->head.len] = 0;
    d->head_ts = ts;
    d->head_off = d->feed_p ? d->off + (uint64_t)(p - d->feed_p) - (old - (size_t)at) : d->off;
    return 0;
}

/* ---- chunked framing ----------------------------------------------------- */

/* Collects one line; returns its length (without CRLF) when complete, sets
 * *used and points *line at it (in p when the whole line is in this feed and
 * nothing is held: no copy, else in d->head), or -1 when more input is
 * needed (the partial line is held in d->head), -2 past head_cap, -3 when
 * memory ran out holding it (the callers take both as a parse error). */
static long lt_h1_take_line(lt_h1 *h, lt_h1_dir *d, const uint8_t *p, size_t n, size_t *used,
                            const char **line)
{
    const uint8_t *lf = memchr(p, '\n', n);
    size_t take = lf ? (size_t)(lf - p) + 1 : n;
    if (d->head.len + take > h->cfg.head_cap) return -2;
    *used = take;
    const char *b;
    size_t l;
    if (lf && !d->head.len) {
        b = (const char *)p;
        l = take - 1;
    } else {
        if (lt_buf_append(&d->head, p, take) < 0) return -3;
        lt_membudget_buf_sync(h->cfg.budget, &d->head, &d->head_charged);
        if (!lf) return -1;
        b = (const char *)d->head.data;
        l = d->head.len - 1;
    }
    if (l && b[l - 1] == '\r') l--;
    *line = b;
    return (long)l;
}

static const uint8_t lt_h1_hexval[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
}; /* hex digit value + 1, 0 for anything else */

/* The chunk size at the start of line s[0, l) (its extensions and anything
 * after the digits are ignored), as strtoull(s, &e, 16) read it: an optional
 * "0x" before a digit, ULLONG_MAX past 64 bits. -1 when s does not start
 * with a hex digit. */
static int lt_h1_chunk_size(lt_h1_dir *d, const char *s, size_t l)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!l || !lt_h1_hexval[u[0]]) return -1;
    size_t i = 0;
    if (l >= 3 && u[0] == '0' && (u[1] | 0x20) == 'x' && lt_h1_hexval[u[2]]) i = 2;
    uint64_t v = 0;
    int over = 0;
    for (; i < l && lt_h1_hexval[u[i]]; i++) {
        if (v >> 60) over = 1;
        v = (v << 4) | (uint64_t)(lt_h1_hexval[u[i]] - 1);
    }
    d->remaining = over ? UINT64_MAX : v;
    return 0;
}

/* ---- the per-direction driver -------------------------------------------- */

static void lt_h1_parse_error(lt_h1 *h, int dir, lt_time_us ts)
{
    lt_h1_dir *d = &h->d[dir];
    h->sink.ctr->http_parse_errors++;
    lt_warn("http1: conn %llu: unparseable %s data, resynchronizing",
            (unsigned long long)(h->conn ? h->conn->conn_id : 0),
            dir == LT_DIR_TO_SERVER ? "request" : "response");
    if (d->msg) lt_h1_message_done(h, dir, ts, LT_INC_PARSE_ERROR);
    lt_buf_reset(&d->head);
    d->state = H1_RESYNC;
    d->resync_skipped = 1;
}

/* Could the bytes collected so far begin a request/status line? */
static int lt_h1_plausible_start(int dir, const char *b, size_t n)
{
    if (dir == LT_DIR_TO_CLIENT) return n < 7 ? !memcmp(b, "HTTP/1.", n) : !memcmp(b, "HTTP/1.", 7);
    size_t k = 0;
    while (k < n && k < 8 && isupper((unsigned char)b[k])) k++;
    if (k == n) return 1;
    return b[k] == ' ' && lt_h1_is_method(b, k);
}

/* The head being collected could not be kept: dropped (with its place in
 * the queue kept when it plausibly starts a message), then resynchronized
 * after this input. */
static void lt_h1_head_refused(lt_h1 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_h1_dir *d = &h->d[dir];
    const char *b = d->head.len ? (const char *)d->head.data : (const char *)p;
    size_t bn = d->head.len ? d->head.len : n;
    if (lt_h1_plausible_start(dir, b, bn)) lt_h1_head_lost(h, dir);
    else h->sink.ctr->parser_budget_truncations++;
    lt_h1_parse_error(h, dir, ts);
}

/* Consumes head bytes; returns bytes used. */
static size_t lt_h1_head(lt_h1 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_h1_dir *d = &h->d[dir];
    if (d->head.len == 0) {
        /* skip stray CRLFs between messages (RFC 9112 2.2) */
        size_t k = 0;
        while (k < n && (p[k] == '\r' || p[k] == '\n')) k++;
        if (k) return k;
        d->head_ts = ts;
        d->head_off = d->feed_p ? d->off + (uint64_t)(p - d->feed_p) : d->off;
    }
    size_t old = d->head.len;
    size_t room = old < h->cfg.head_cap ? h->cfg.head_cap - old : 0;
    size_t take = n < room ? n : room;
    if (dir == LT_DIR_TO_SERVER &&
        lt_membudget_buf_room(h->cfg.budget, &d->head, take, &d->head_charged, LT_MEMBUDGET_STATE) < take) {
        /* the budget refuses a request head: skip this input and resynchronize
         * after it (a response head is always taken: it is what ends queued
         * exchanges and gives their memory back) */
        lt_h1_head_refused(h, dir, p, n, ts);
        return n;
    }
    if (lt_buf_append(&d->head, p, take) < 0) { /* out of memory: dropped as the budget drops a head */
        lt_h1_head_refused(h, dir, p, n, ts);
        return n;
    }
    lt_membudget_buf_sync(h->cfg.budget, &d->head, &d->head_charged);
    const uint8_t *b = d->head.data;
    if (!lt_h1_plausible_start(dir, (const char *)b, d->head.len)) {
        /* checked before the terminator so the verdict does not depend on
         * how TCP cut the stream; the bytes go to RESYNC, which may find a
         * message start inside them */
        lt_h1_parse_error(h, dir, ts);
        return 0;
    }
    size_t from = d->scan > 3 ? d->scan - 3 : 0;
    size_t end = 0;
    for (size_t i = from; i < d->head.len; i++) {
        const uint8_t *lf = memchr(b + i, '\n', d->head.len - i);
        if (!lf) break;
        size_t j = (size_t)(lf - b);
        if (j + 1 < d->head.len && b[j + 1] == '\n') { end = j + 2; break; }
        if (j + 2 < d->head.len && b[j + 1] == '\r' && b[j + 2] == '\n') { end = j + 3; break; }
        i = j;
    }
    if (!end) {
        d->scan = d->head.len;
        if (d->head.len >= h->cfg.head_cap) { lt_h1_parse_error(h, dir, ts); return take; }
        return take;
    }
    size_t used = end - old;
    d->scan = 0;
    if (lt_h1_head_done(h, dir, end, ts) < 0) {
        lt_buf_reset(&d->head);
        lt_h1_parse_error(h, dir, ts);
        return used;
    }
    lt_buf_reset(&d->head);
    return used;
}

/* Consumes bytes of direction dir according to its state; returns bytes used. */
static size_t lt_h1_step(lt_h1 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_h1_dir *d = &h->d[dir];
    size_t used = 0;
    const char *line = NULL;
    long l;
    switch (d->state) {
    case H1_HEAD:
        return lt_h1_head(h, dir, p, n, ts);
    case H1_RESYNC:
        return lt_h1_resync(h, dir, p, n, ts);
    case H1_BODY_CL: {
        size_t take = n < d->remaining ? n : (size_t)d->remaining;
        lt_h1_body(h, d, p, take, ts);
        d->remaining -= take;
        if (!d->remaining) lt_h1_message_done(h, dir, ts, 0);
        return take;
    }
    case H1_BODY_CLOSE:
        lt_h1_body(h, d, p, n, ts);
        return n;
    case H1_CHUNK_SIZE:
        l = lt_h1_take_line(h, d, p, n, &used, &line);
        if (l == -1) return used;
        if (l < 0 || lt_h1_chunk_size(d, line, (size_t)l) < 0) { lt_h1_parse_error(h, dir, ts); return used; }
        lt_buf_reset(&d->head);
        d->state = d->remaining ? H1_CHUNK_DATA : H1_TRAILERS;
        return used;
    case H1_CHUNK_DATA: {
        size_t take = n < d->remaining ? n : (size_t)d->remaining;
        lt_h1_body(h, d, p, take, ts);
        d->remaining -= take;
        if (!d->remaining) d->state = H1_CHUNK_DATA_END;
        return take;
    }
    case H1_CHUNK_DATA_END:
        l = lt_h1_take_line(h, d, p, n, &used, &line);
        if (l == -1) return used;
        if (l != 0) { lt_h1_parse_error(h, dir, ts); return used; }
        lt_buf_reset(&d->head);
        d->state = H1_CHUNK_SIZE;
        return used;
    case H1_TRAILERS:
        l = lt_h1_take_line(h, d, p, n, &used, &line);
        if (l == -1) return used;
        if (l < 0) { lt_h1_parse_error(h, dir, ts); return used; }
        if (l == 0) {
            lt_buf_reset(&d->head);
            lt_h1_message_done(h, dir, ts, 0);
            return used;
        }
        lt_h1_header_lines(d->msg, line, line + (d->head.len ? d->head.len : used));
        lt_buf_reset(&d->head);
        return used;
    default:
        return n;
    }
}

/* ---- lt_app_ops ---------------------------------------------------------- */

static void *lt_h1_create(const lt_parser_cfg *cfg, const lt_conn_info *conn, const lt_app_sink *sink)
{
    lt_h1 *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    if (cfg) h->cfg = *cfg; else lt_parser_cfg_defaults(&h->cfg);
    h->conn = conn;
    if (sink) h->sink = *sink;
    if (!h->sink.ctr) h->sink.ctr = &h->own_ctr;
    h->upgrade_off = (size_t)-1;
    for (int i = 0; i < 2; i++) lt_buf_init(&h->d[i].head);
    return h;
}

static void lt_h1_run(lt_h1 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts);

static void lt_h1_feed(void *ph, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_h1 *h = ph;
    lt_h1_dir *d = &h->d[dir];
    h->upgrade_off = (size_t)-1;
    if (d->state == H1_DEAD) return;
    if (!d->started) {
        d->started = 1;
        if (h->conn && h->conn->missed_start) {
            /* mid-stream: start in RESYNC but accept a message at offset 0 */
            d->state = H1_RESYNC;
            lt_buf_append(&d->head, "\n", 1);
        }
    }
    d->feed_p = p;
    lt_h1_run(h, dir, p, n, ts);
    d->feed_p = NULL;
    d->off += n;
    if (d->msg && d->msg->end_ts < ts) d->msg->end_ts = ts;
}

static void lt_h1_run(lt_h1 *h, int dir, const uint8_t *p, size_t n, lt_time_us ts)
{
    size_t off = 0;
    while (off < n) {
        if (h->d[dir].state == H1_DEAD) return;
        off += lt_h1_step(h, dir, p + off, n - off, ts);
        if (h->upgraded) { if (h->upgrade_off == (size_t)-1) h->upgrade_off = off; return; }
    }
}

static void lt_h1_gap(void *ph, int dir, uint64_t len, lt_time_us ts)
{
    lt_h1 *h = ph;
    lt_h1_dir *d = &h->d[dir];
    d->off += len;
    if (d->state == H1_DEAD) return;
    if ((d->state == H1_BODY_CL || d->state == H1_CHUNK_DATA) && len <= d->remaining) {
        d->msg->incomplete = LT_INC_HOLE;
        d->msg->body_bytes += len;
        d->msg->wire_bytes += len;
        d->remaining -= len;
        if (!d->remaining) {
            if (d->state == H1_BODY_CL) lt_h1_message_done(h, dir, ts, LT_INC_HOLE);
            else d->state = H1_CHUNK_DATA_END;
        }
        return;
    }
    if (d->state == H1_BODY_CLOSE) {
        d->msg->incomplete = LT_INC_HOLE;
        d->msg->body_bytes += len;
        return;
    }
    if (d->msg) {
        lt_h1_message_done(h, dir, ts, LT_INC_HOLE);
    } else if (dir == LT_DIR_TO_SERVER && d->head.len == 0 && d->state == H1_HEAD) {
        /* whole requests may be in the hole: responses will find no request */
    }
    lt_buf_reset(&d->head);
    lt_buf_append(&d->head, "\n", 1); /* unknown position: allow a start right after */
    d->state = H1_RESYNC;
    d->resync_skipped = 1;
    d->lost_messages = 1;
}

static void lt_h1_eof(void *ph, int dir, lt_time_us ts)
{
    lt_h1 *h = ph;
    lt_h1_dir *d = &h->d[dir];
    if (d->state == H1_DEAD) return;
    if (d->state == H1_BODY_CLOSE) { lt_h1_message_done(h, dir, ts, 0); return; }
    if (d->msg) lt_h1_message_done(h, dir, ts, LT_INC_TRUNCATED);
    else if (d->state == H1_HEAD && d->head.len) h->sink.ctr->http_parse_errors++;
    lt_buf_reset(&d->head);
    d->state = H1_HEAD;
}

static void lt_h1_close(void *ph, int reset, lt_time_us ts)
{
    lt_h1 *h = ph;
    int why = reset ? LT_INC_RESET : LT_INC_TRUNCATED;
    for (int dir = 0; dir < 2; dir++) {
        lt_h1_dir *d = &h->d[dir];
        if (d->state == H1_BODY_CLOSE && !reset) lt_h1_message_done(h, dir, ts, 0);
        else if (d->msg) lt_h1_message_done(h, dir, ts, why);
    }
    while (h->qlen) {
        lt_exchange *ex = h->queue[0];
        if (!ex->req.present && !ex->resp.present) { /* a lost request's place (counted then) */
            lt_h1_dequeue(h, ex);
            lt_h1_free_exchange(h, ex);
            continue;
        }
        if (!ex->resp.present) ex->incomplete = reset ? LT_INC_RESET : LT_INC_NO_RESPONSE;
        lt_h1_emit(h, ex);
    }
    h->d[0].state = h->d[1].state = H1_DEAD;
}

static void lt_h1_destroy(void *ph)
{
    lt_h1 *h = ph;
    if (!h) return;
    for (int i = 0; i < 2; i++) {
        lt_buf_free(&h->d[i].head);
        lt_membudget_release(h->cfg.budget, h->d[i].head_charged);
        if (h->d[i].dec) lt_content_destroy(h->d[i].dec);
    }
    for (size_t i = 0; i < h->qlen; i++) lt_h1_free_exchange(h, h->queue[i]);
    free(h->queue);
    free(h);
}

size_t lt_http1_upgrade_offset(void *ph)
{
    lt_h1 *h = ph;
    return h->upgrade_off;
}

const lt_app_ops lt_http1_ops = {
    .name = "http1",
    .create = lt_h1_create,
    .feed = lt_h1_feed,
    .gap = lt_h1_gap,
    .eof = lt_h1_eof,
    .close = lt_h1_close,
    .destroy = lt_h1_destroy,
};
