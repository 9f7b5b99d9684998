/* forward.c -- one call through the proxy: pick a backend, forward the
 * request, fail over, stream the response back, and show the parsers the
 * exact bytes the client exchanged.
 *
 * The backend side is a bufferevent per connection (per-backend keep-alive
 * pools in proxy.c): the request head is written straight into its output
 * buffer, and the response is framed here as it arrives (head, then
 * Content-Length, chunked or close-delimited body; 1xx skipped; the rules
 * are h1_frame.c's, shared with h1.c), the body bytes moved on to the
 * client side piece by piece. The client side is an
 * interface (lt_fwd_ops in proxy.h) implemented by h1.c (HTTP/1.x) and h2.c
 * (libnghttp2, each stream one call), so both protocols share every rule
 * below. The tap sees each call as HTTP/1.1 bytes rebuilt from what the
 * client sent and got. The order of a call:
 *   request read -> its bytes to the tap -> attempt on the picked backend
 *   -> response head: a status in retry_on (429, 5xx) is held, not sent, and
 *      the next backend is tried at once; any other status starts the reply
 *      to the client, and from then on nothing is retried
 *   -> body bytes are passed on as they arrive (each read of the backend's
 *      socket: no buffering to a threshold), each also copied to the tap
 *   -> end: the proxy's columns (BackendId, Attempts, ...) to the tap.
 * A connect error, an EOF before the head or the first-byte timer also fail
 * over. When no backend is left the proxy answers itself (503
 * NO_BACKEND_AVAILABLE with Retry-After, or the last 429 with pass_429, or
 * 502), and that answer is logged like any other. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "proxy.h"

enum { LT_BERR_NONE, LT_BERR_EOF, LT_BERR_IO, LT_BERR_TIMEOUT, LT_BERR_HEAD };

typedef struct lt_held {          /* a retryable answer kept in case it is the last */
    int status;
    struct evkeyvalq headers;
    struct evbuffer *body;
    char backend[64];
} lt_held;

struct lt_call {
    lt_worker *w;
    const lt_fwd_ops *ops;
    void *cs;                     /* the client side; NULL once the client is gone */
    lt_tap_conn *tap;
    lt_fwd_req req;
    lt_bconn *bcon;               /* the attempt's connection, while it is in flight */
    struct event *timer;
    int bidx, attempts, holding, started, chunked, too_large, truncated, berr, connecting;
    int bkeep;                    /* the connection may be reused after the response */
    lt_h1_frame fr;               /* the response's framing (h1_frame.h) */
    struct evkeyvalq rhdrs;       /* the attempt's response fields: entries of rkv, pointing into rhead */
    char reason[64];
    struct lt_call *next_free;    /* worker's cache of ended calls */
    /* kept when the call is cached (lt_call_new resets the rest) */
    struct evbuffer *piece;       /* body bytes on their way to the client side */
    lt_buf rhead;                 /* copy of the response head, parsed in place */
    lt_fwd_kv kv;
    int reused, got_head;         /* the attempt's connection came from the pool; its head arrived */
    uint8_t tried[LT_PROXY_MAX_BACKENDS];
    json_t *errors;               /* AttemptErrors */
    lt_held held;
    int64_t t0, t_attempt, t_first;
    size_t resp_bytes;
};

static void lt_call_attempt(lt_call *c);
static void lt_fwd_timeout(evutil_socket_t fd, short ev, void *arg);
static int lt_fwd_stale(lt_call *c);

const char *lt_forward_method(int t)
{
    switch ((enum evhttp_cmd_type)t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "GET";
}

int lt_forward_hop(const char *name, const char *connection)
{
    static const char *hop[] = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate"};
    for (size_t i = 0; i < LT_ARRAY_LEN(hop); i++) if (!strcasecmp(name, hop[i])) return 1;
    if (!connection) return 0;
    size_t n = strlen(name);
    for (const char *p = connection; (p = strcasestr(p, name)); p += n) {
        int start = p == connection || p[-1] == ',' || p[-1] == ' ';
        int end = !p[n] || p[n] == ',' || p[n] == ' ';
        if (start && end) return 1;
    }
    return 0;
}

void lt_forward_copy_headers(struct evkeyvalq *from, struct evkeyvalq *to)
{
    const char *conn = evhttp_find_header(from, "Connection");
    struct evkeyval *h;
    TAILQ_FOREACH(h, from, next)
        if (!lt_forward_hop(h->key, conn)) evhttp_add_header(to, h->key, h->value);
}

/* Once per backend connection (its socket exists once it connected). */
static void lt_fwd_nodelay(lt_bconn *bc)
{
    if (bc->nodelay) return;
    int fd = bufferevent_getfd(bc->bev), one = 1;
    if (fd >= 0) bc->nodelay = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
}

/* ---- what the tap sees ---- */

static void lt_fwd_tap(lt_call *c, int dir, const void *p, size_t n)
{
    lt_tap_data(c->w->px->tap, c->tap, dir, p, n, lt_clock_now_us());
}

/* The tap's bytes are built in the worker's scratch buffer (no printf, no
 * evbuffer per call) and copied once into the logging queue. */
static void lt_fwd_put(lt_buf *b, const char *s, size_t n)
{
    lt_buf_append(b, s, n);
}

static void lt_fwd_puts(lt_buf *b, const char *s)
{
    lt_fwd_put(b, s, strlen(s));
}

static void lt_fwd_put_num(lt_buf *b, uint64_t v, int base)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    do { *--p = "0123456789abcdef"[v % (unsigned)base]; v /= (unsigned)base; } while (v);
    lt_fwd_put(b, p, (size_t)(e - p));
}

static void lt_fwd_put_field(lt_buf *b, const char *k, const char *v)
{
    lt_fwd_puts(b, k);
    lt_fwd_put(b, ": ", 2);
    lt_fwd_puts(b, v);
    lt_fwd_put(b, "\r\n", 2);
}

static void lt_fwd_tap_buf(lt_call *c, int dir, lt_buf *b)
{
    lt_fwd_tap(c, dir, b->data, b->len);
    lt_buf_reset(b);
}

static void lt_fwd_tap_request(lt_call *c)
{
    if (!c->tap->id) return;   /* log_calls = false */
    lt_buf *b = &c->w->tapbuf;
    struct evbuffer *body = c->req.body;
    lt_buf_reset(b);
    lt_fwd_puts(b, lt_forward_method(c->req.cmd));
    lt_fwd_put(b, " ", 1);
    lt_fwd_puts(b, c->req.uri);
    lt_fwd_put(b, " HTTP/1.", 8);
    lt_fwd_put_num(b, (uint64_t)c->req.minor, 10);
    lt_fwd_put(b, "\r\n", 2);
    struct evkeyval *h;
    int has_cl = 0;
    TAILQ_FOREACH(h, c->req.headers, next) {
        if (!strcasecmp(h->key, "content-length")) { has_cl = 1; continue; }
        if (!strcasecmp(h->key, "transfer-encoding")) continue;
        lt_fwd_put_field(b, h->key, h->value);
    }
    size_t n = evbuffer_get_length(body);
    if (n || has_cl) {
        lt_fwd_put(b, "Content-Length: ", 16);
        lt_fwd_put_num(b, n, 10);
        lt_fwd_put(b, "\r\n", 2);
    }
    lt_fwd_put(b, "\r\n", 2);
    if (n && lt_buf_reserve(b, n) == 0) {
        evbuffer_copyout(body, b->data + b->len, n);
        b->len += n;
    }
    lt_fwd_tap_buf(c, LT_DIR_TO_SERVER, b);
}

/* The reply's head as the client side sends it: hop-by-hop fields dropped,
 * and a body without a length shown chunked (the tap reads HTTP/1.1). */
static void lt_fwd_tap_head(lt_call *c, int status, const char *reason, struct evkeyvalq *hdrs, int chunked)
{
    if (!c->tap->id) return;   /* log_calls = false */
    lt_buf *b = &c->w->tapbuf;
    lt_buf_reset(b);
    /* h1.c answers in the client's version */
    lt_fwd_put(b, "HTTP/1.", 7);
    lt_fwd_put_num(b, (uint64_t)c->req.minor, 10);
    lt_fwd_put(b, " ", 1);
    lt_fwd_put_num(b, (uint64_t)(unsigned)status, 10);
    lt_fwd_put(b, " ", 1);
    lt_fwd_puts(b, reason ? reason : "");
    lt_fwd_put(b, "\r\n", 2);
    const char *conn = evhttp_find_header(hdrs, "Connection");
    struct evkeyval *h;
    TAILQ_FOREACH(h, hdrs, next) if (!lt_forward_hop(h->key, conn)) lt_fwd_put_field(b, h->key, h->value);
    if (chunked) lt_fwd_put_field(b, "Transfer-Encoding", "chunked");
    lt_fwd_put(b, "\r\n", 2);
    lt_fwd_tap_buf(c, LT_DIR_TO_CLIENT, b);
}

static void lt_fwd_tap_chunk(lt_call *c, struct evbuffer *data)
{
    if (!c->tap->id) return;   /* log_calls = false */
    size_t n = evbuffer_get_length(data);
    if (!c->chunked) { lt_fwd_tap(c, LT_DIR_TO_CLIENT, evbuffer_pullup(data, -1), n); return; }
    lt_buf *b = &c->w->tapbuf;
    lt_buf_reset(b);
    lt_fwd_put_num(b, n, 16);
    lt_fwd_put(b, "\r\n", 2);
    if (n && lt_buf_reserve(b, n) == 0) {
        evbuffer_copyout(data, b->data + b->len, n);
        b->len += n;
    }
    lt_fwd_put(b, "\r\n", 2);
    lt_fwd_tap_buf(c, LT_DIR_TO_CLIENT, b);
}

/* ---- the end of a call ---- */

/* The proxy's columns of the call's gateway record; NULL when memory ran
 * out (lt_tap_extras counts the record that goes without them). */
static json_t *lt_fwd_extras(lt_call *c, const char *reason)
{
    lt_proxy *px = c->w->px;
    int64_t now = lt_clock_mono_us();
    json_t *o = json_object();
    if (!o) return NULL;
    int answered = c->started, bad = 0;
    bad |= json_object_set_new(o, "BackendId", answered ? json_string(px->backends[c->bidx].name) : json_null());
    bad |= json_object_set_new(o, "BackendUrl", answered ? json_string(px->backends[c->bidx].url) : json_null());
    bad |= json_object_set_new(o, "Attempts", json_integer(c->attempts));
    bad |= json_object_set_new(o, "AttemptErrors", c->errors ? json_incref(c->errors) : json_array());
    bad |= json_object_set_new(o, "TotalTime", json_integer((now - c->t0) / 1000));
    bad |= json_object_set_new(o, "BackendTime", answered ? json_integer((now - c->t_attempt) / 1000) : json_null());
    if (reason) bad |= json_object_set_new(o, "LastErrorReason", json_string(reason));
    if (bad) { json_decref(o); return NULL; }
    return o;
}

#define LT_FWD_CALL_CACHE 64

static void lt_call_destroy(lt_call *c)
{
    if (c->timer) event_free(c->timer);
    if (c->held.body) evbuffer_free(c->held.body);
    if (c->piece) evbuffer_free(c->piece);
    lt_buf_free(&c->rhead);
    free(c->kv.v);
    free(c);
}

void lt_forward_free_cache(lt_worker *w)
{
    while (w->call_cache) {
        lt_call *c = w->call_cache;
        w->call_cache = c->next_free;
        lt_call_destroy(c);
    }
    w->ncall_cache = 0;
}

/* A call object: an ended one of the worker's cache (its timer, buffers and
 * field array kept), else a new one. */
static lt_call *lt_call_new(lt_worker *w)
{
    lt_call *c = w->call_cache;
    if (c) {
        w->call_cache = c->next_free;
        w->ncall_cache--;
        struct event *timer = c->timer;
        struct evbuffer *held = c->held.body, *piece = c->piece;
        lt_buf rhead = c->rhead;
        lt_fwd_kv kv = c->kv;
        memset(c, 0, sizeof *c);
        c->timer = timer;
        c->held.body = held;
        c->piece = piece;
        c->rhead = rhead;
        c->kv = kv;
    } else {
        if (!(c = calloc(1, sizeof *c))) return NULL;
        lt_buf_init(&c->rhead);
        c->timer = evtimer_new(w->base, lt_fwd_timeout, c);
        c->held.body = evbuffer_new();
        c->piece = evbuffer_new();
        if (!c->timer || !c->held.body || !c->piece) { lt_call_destroy(c); return NULL; }
    }
    TAILQ_INIT(&c->held.headers);
    TAILQ_INIT(&c->rhdrs);
    return c;
}

static void lt_call_free(lt_call *c)
{
    event_del(c->timer);
    if (c->errors) json_decref(c->errors);
    evhttp_clear_headers(&c->held.headers);
    evbuffer_drain(c->held.body, evbuffer_get_length(c->held.body));
    evbuffer_drain(c->piece, evbuffer_get_length(c->piece));
    lt_worker *w = c->w;
    w->inflight--;
    if (w->ncall_cache < LT_FWD_CALL_CACHE && !w->draining) {
        c->next_free = w->call_cache;
        w->call_cache = c;
        w->ncall_cache++;
    } else {
        lt_call_destroy(c);
    }
    if (w->draining && !w->inflight) lt_proxy_drained(w);
}

static void lt_call_finish(lt_call *c, const char *reason)
{
    if (c->tap->id) lt_tap_extras(c->w->px->tap, c->tap, lt_fwd_extras(c, reason));
    lt_call_free(c);
}

/* Sends a whole reply; the call ends first, because sending may close the
 * client's connection at once (and run its close callback right here). */
static void lt_fwd_send_whole(lt_call *c, int status, const char *reason, struct evkeyvalq *hdrs,
                              struct evbuffer *body, const char *why)
{
    const lt_fwd_ops *ops = c->ops;
    void *cs = c->cs;
    c->cs = NULL;
    lt_call_finish(c, why);
    ops->reply(cs, status, reason, hdrs, body);
}

/* A response made by the proxy itself: JSON error body, logged like any other. */
static void lt_fwd_local(lt_call *c, int status, const char *reason, const char *code, const char *msg,
                         long retry_after_s)
{
    if (!c->cs) { lt_call_finish(c, code); return; }
    __atomic_add_fetch(&c->w->px->local_replies, 1, __ATOMIC_RELAXED);
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct evkeyvalq out;
    TAILQ_INIT(&out);
    evhttp_add_header(&out, "Content-Type", "application/json");
    char tmp[32];
    if (retry_after_s > 0) { snprintf(tmp, sizeof tmp, "%ld", retry_after_s); evhttp_add_header(&out, "Retry-After", tmp); }
    snprintf(tmp, sizeof tmp, "%zu", strlen(body));
    evhttp_add_header(&out, "Content-Length", tmp);
    lt_fwd_tap_head(c, status, reason, &out, 0);
    lt_fwd_tap(c, LT_DIR_TO_CLIENT, body, strlen(body));
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, strlen(body));
    free(body);
    lt_fwd_send_whole(c, status, reason, &out, b, code);
    evbuffer_free(b);
    evhttp_clear_headers(&out);
}

static void lt_fwd_start_reply(lt_call *c, int status, const char *reason, struct evkeyvalq *hdrs)
{
    c->chunked = c->ops->head(c->cs, status, reason, hdrs);
    c->started = 1;
    lt_fwd_tap_head(c, status, reason, hdrs, c->chunked);
}

static void lt_fwd_end_reply(lt_call *c)
{
    const lt_fwd_ops *ops = c->ops;
    void *cs = c->cs;
    c->cs = NULL;
    if (cs && c->chunked) lt_fwd_tap(c, LT_DIR_TO_CLIENT, "0\r\n\r\n", 5);
    /* the call ends before the reply does: ending the reply may close the
     * client's connection (HTTP/1.0, Connection: close) and run its close
     * callback right here */
    lt_call_finish(c, NULL);
    if (cs) ops->end(cs);
}

/* Passes the held (last retryable) answer through as the final response. */
static void lt_fwd_pass_held(lt_call *c)
{
    if (!c->cs) { lt_call_finish(c, NULL); return; }
    c->started = 1;
    struct evkeyvalq out;
    TAILQ_INIT(&out);
    lt_forward_copy_headers(&c->held.headers, &out);
    evhttp_remove_header(&out, "Content-Length");
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%zu", evbuffer_get_length(c->held.body));
    evhttp_add_header(&out, "Content-Length", tmp);
    lt_fwd_tap_head(c, c->held.status, NULL, &out, 0);
    lt_fwd_tap_chunk(c, c->held.body);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_buffer(b, c->held.body);
    lt_fwd_send_whole(c, c->held.status, NULL, &out, b, NULL);
    evbuffer_free(b);
    evhttp_clear_headers(&out);
}

/* No (further) backend: pass the last answer, or answer 503/502 ourselves. */
static void lt_fwd_none_left(lt_call *c)
{
    lt_proxy *px = c->w->px;
    int exhausted = c->attempts >= px->cfg->max_attempts;
    if (c->held.status == 429 && px->cfg->when_all_cooling == LT_WHEN_ALL_COOLING_PASS_429) { lt_fwd_pass_held(c); return; }
    if (c->held.status >= 500 && exhausted) { lt_fwd_pass_held(c); return; }
    if (c->attempts && exhausted && !c->held.status) {
        lt_fwd_local(c, 502, "Bad Gateway", "BACKEND_UNREACHABLE", "no backend answered (connect error or timeout)", 0);
        return;
    }
    lt_time_us now = lt_clock_now_us();
    pthread_mutex_lock(&px->mu);
    lt_time_us ready = lt_backend_next_ready(px->backends, px->n, now);
    pthread_mutex_unlock(&px->mu);
    long secs = (long)((ready - now + 999999) / 1000000);
    lt_fwd_local(c, 503, "Service Unavailable", "NO_BACKEND_AVAILABLE",
                 "every backend is cooling down after a 429 or has its circuit breaker open", secs < 1 ? 1 : secs);
}

/* ---- one attempt ---- */

static void lt_fwd_note_error(lt_call *c, int status, int64_t retry_ms, const char *what)
{
    json_t *e = json_pack("{s:s,s:i}", "backend", c->w->px->backends[c->bidx].name, "status", status);
    json_object_set_new(e, "retry_after_ms", retry_ms >= 0 ? json_integer(retry_ms) : json_null());
    if (what) json_object_set_new(e, "error", json_string(what));
    if (!c->errors) c->errors = json_array();
    json_array_append_new(c->errors, e);
}

/* idle: the connection's last request ended with a whole response it may carry another after. */
static void lt_fwd_release(lt_call *c, int idle)
{
    if (!c->bcon) return;
    lt_bconn *bc = c->bcon;
    c->bcon = NULL;
    event_del(c->timer);
    lt_proxy_backend_release(c->w, bc, idle);
}

/* Connect error, EOF before the head, or the first-byte timeout. */
static void lt_fwd_attempt_failed(lt_call *c, const char *what)
{
    lt_proxy *px = c->w->px;
    pthread_mutex_lock(&px->mu);
    px->backends[c->bidx].errors++;
    lt_backend_result(&px->backends[c->bidx], &px->cfg->breaker, 1, lt_clock_now_us());
    pthread_mutex_unlock(&px->mu);
    lt_fwd_note_error(c, 0, -1, what);
    lt_fwd_release(c, 0);
    lt_call_attempt(c);
}

static void lt_fwd_arm(lt_call *c, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* The attempt's timer: first the connect deadline, then the first byte's. */
static void lt_fwd_timeout(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev;
    lt_call *c = arg;
    if (!c->bcon) return;
    const lt_proxy_cfg *cfg = c->w->px->cfg;
    const char *why = "timeout";
    if (c->connecting) {
        c->connecting = 0;
        if (c->bcon->connected) { lt_fwd_arm(c, cfg->first_byte_timeout_ms - cfg->connect_timeout_ms); return; }
        why = "connect timeout";
    }
    lt_fwd_release(c, 0);
    lt_fwd_attempt_failed(c, why);
}

static const char *lt_fwd_err_str(int e)
{
    switch (e) {
    case LT_BERR_TIMEOUT: return "timeout";
    case LT_BERR_EOF: return "connection closed";
    case LT_BERR_HEAD: return "invalid response head";
    case LT_BERR_IO: return "connect or I/O error";
    default: return "error";
    }
}

/* Updates the backend's health from a response status. */
static int64_t lt_fwd_account(lt_call *c, int status)
{
    lt_proxy *px = c->w->px;
    struct evkeyvalq *h = &c->rhdrs;
    lt_time_us now = lt_clock_now_us();
    int64_t retry = -1;
    pthread_mutex_lock(&px->mu);
    lt_backend *b = &px->backends[c->bidx];
    lt_backend_latency(b, (uint32_t)((lt_clock_mono_us() - c->t_attempt) / 1000));
    if (status == 429) {
        retry = lt_backend_retry_after_ms(evhttp_find_header(h, "retry-after-ms"),
                                          evhttp_find_header(h, "x-ms-retry-after-ms"),
                                          evhttp_find_header(h, "retry-after"), now);
        lt_backend_cool(b, retry, px->cfg->default_cooldown_ms, px->cfg->max_cooldown_ms, now);
    }
    if (status >= 500) b->responses_5xx++;
    lt_backend_result(b, &px->cfg->breaker, status >= 500, now);
    pthread_mutex_unlock(&px->mu);
    return retry;
}

static void lt_fwd_hold(lt_call *c, int status, int64_t retry)
{
    c->holding = 1;
    c->held.status = status;
    snprintf(c->held.backend, sizeof c->held.backend, "%s", c->w->px->backends[c->bidx].name);
    evhttp_clear_headers(&c->held.headers);
    struct evkeyval *h;
    TAILQ_FOREACH(h, &c->rhdrs, next) evhttp_add_header(&c->held.headers, h->key, h->value);
    evbuffer_drain(c->held.body, evbuffer_get_length(c->held.body));
    lt_fwd_note_error(c, status, retry, NULL);
}

/* The response head arrived (c->rhdrs, c->reason). */
static void lt_fwd_on_head(lt_call *c, int status)
{
    event_del(c->timer);
    c->got_head = 1;
    c->t_first = lt_clock_mono_us();
    lt_fwd_nodelay(c->bcon);
    int64_t retry = lt_fwd_account(c, status);
    if (lt_proxy_cfg_retryable(c->w->px->cfg, status)) { lt_fwd_hold(c, status, retry); return; }
    c->holding = 0;
    const char *cl = evhttp_find_header(&c->rhdrs, "Content-Length");
    if (cl && lt_h1_frame_length(cl, NULL) > c->w->px->cfg->max_response_bytes) { c->too_large = 1; return; }
    if (!c->cs) return;
    lt_fwd_start_reply(c, status, c->reason, &c->rhdrs);
}

/* Body bytes as they arrive (chunked framing already removed): drains data. */
static void lt_fwd_on_body(lt_call *c, struct evbuffer *in)
{
    if (c->holding) { evbuffer_add_buffer(c->held.body, in); return; }
    if (c->too_large || c->truncated || !c->cs || !c->started) { evbuffer_drain(in, evbuffer_get_length(in)); return; }
    c->resp_bytes += evbuffer_get_length(in);
    if (c->resp_bytes > c->w->px->cfg->max_response_bytes) { c->truncated = 1; evbuffer_drain(in, evbuffer_get_length(in)); return; }
    lt_fwd_tap_chunk(c, in);
    c->ops->chunk(c->cs, in);
    evbuffer_drain(in, evbuffer_get_length(in));
}

/* The backend failed after the reply started: never retried; the client's
 * connection is closed so the client sees the response end early, as it did. */
static void lt_fwd_cut(lt_call *c)
{
    c->truncated = 1;
    lt_fwd_release(c, 0);
    if (!c->cs) { lt_call_finish(c, "BACKEND_CLOSED_MID_RESPONSE"); return; }
    c->ops->cut(c->cs, c);   /* the side ends the call through lt_forward_cancel */
}

/* The attempt failed with error e (LT_BERR_*), whatever it had received. */
static void lt_fwd_on_fail(lt_call *c, int e)
{
    c->berr = e;
    if (lt_fwd_stale(c)) return;
    if (!c->started) { lt_fwd_attempt_failed(c, lt_fwd_err_str(e)); return; }
    lt_fwd_cut(c);
}

/* The whole response arrived; keep: the connection may carry another request. */
static void lt_fwd_on_done(lt_call *c, int keep)
{
    lt_fwd_release(c, keep);
    if (c->holding) { c->holding = 0; lt_call_attempt(c); return; }
    if (c->too_large) {
        lt_fwd_local(c, 502, "Bad Gateway", "RESPONSE_TOO_LARGE", "the backend's response exceeds max_response_size", 0);
        return;
    }
    lt_fwd_end_reply(c);
}

/* ---- the backend's response, framed as it arrives ---- */

int lt_forward_kv_fields(lt_fwd_kv *kv, struct evkeyvalq *q, char *p, char *end)
{
    size_t lines = 0;
    for (char *q2 = p; q2 < end && (q2 = memchr(q2, '\n', (size_t)(end - q2))); q2++) lines++;
    if (lines > kv->cap) {
        struct evkeyval *nv = realloc(kv->v, lines * sizeof *nv);
        if (!nv) return -1;
        kv->v = nv;
        kv->cap = lines;
    }
    TAILQ_INIT(q);
    size_t i = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl;
        if (!nl) return -1;
        if (le > p && le[-1] == '\r') le--;
        if (le == p) break;
        char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p || *p == ' ' || *p == '\t' || memchr(p, '\r', (size_t)(le - p))) return -1;
        *colon = 0;
        char *v = colon + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        *ve = 0;
        if (i >= kv->cap) return -1;
        struct evkeyval *e = &kv->v[i++];
        e->key = p;
        e->value = v;
        TAILQ_INSERT_TAIL(q, e, next);
        p = nl + 1;
    }
    return 0;
}

/* Parses the head in h (n bytes, ends with CRLF CRLF) into c->rhdrs /
 * c->reason, from a copy in c->rhead. Returns the status, or -1. */
static int lt_fwd_parse_head(lt_call *c, const char *h0, size_t n, int *minor)
{
    lt_buf_reset(&c->rhead);
    if (lt_buf_append(&c->rhead, h0, n) < 0) return -1;
    char *h = (char *)c->rhead.data;
    lt_h1_frame_sline sl;
    if (lt_h1_frame_status_line(h, n, &sl) < 0) return -1;
    *minor = sl.minor;
    size_t rl = sl.reason_len;
    if (rl >= sizeof c->reason) rl = sizeof c->reason - 1;
    memcpy(c->reason, sl.reason, rl);
    c->reason[rl] = 0;
    if (lt_forward_kv_fields(&c->kv, &c->rhdrs, h + (sl.fields - h), h + n) < 0) return -1;
    return sl.status;
}


/* Returns 1 when the call left the connection (done or failed). The
 * decisions are h1_frame.c's; here the bytes are found and moved. */
static int lt_fwd_frame(lt_call *c, struct evbuffer *in)
{
    lt_bconn *bc = c->bcon;
    lt_h1_frame *f = &c->fr;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        switch (f->st) {
        case LT_H1_FRAME_HEAD: {
            size_t hl = lt_h1_head_length(in, f);
            if (lt_h1_frame_head_end(f, hl, avail)) { lt_fwd_on_fail(c, LT_BERR_HEAD); return 1; }
            if (!hl) return 0;
            int minor = 1;
            int status = lt_fwd_parse_head(c, (const char *)evbuffer_pullup(in, (ev_ssize_t)hl), hl, &minor);
            evbuffer_drain(in, hl);
            if (status < 0) { lt_fwd_on_fail(c, LT_BERR_HEAD); return 1; }
            if (lt_h1_frame_response_body(f, minor, status, c->req.cmd == EVHTTP_REQ_HEAD,
                                          evhttp_find_header(&c->rhdrs, "Connection"),
                                          evhttp_find_header(&c->rhdrs, "Transfer-Encoding"),
                                          evhttp_find_header(&c->rhdrs, "Content-Length"), &c->bkeep) < 0) {
                lt_fwd_on_fail(c, LT_BERR_HEAD);
                return 1;
            }
            if (f->st == LT_H1_FRAME_HEAD) continue;   /* a 1xx: the real head follows */
            lt_fwd_on_head(c, status);
            if (c->bcon != bc) return 1;
            if (f->st == LT_H1_FRAME_DONE) { lt_fwd_on_done(c, c->bkeep && !evbuffer_get_length(in)); return 1; }
            continue;
        }
        case LT_H1_FRAME_LEN:
        case LT_H1_FRAME_CDATA:
        case LT_H1_FRAME_EOF: {
            if (!avail) return 0;
            evbuffer_remove_buffer(in, c->piece, lt_h1_frame_data(f, avail));
            lt_fwd_on_body(c, c->piece);
            if (f->st == LT_H1_FRAME_CEND) continue;
            if (f->st != LT_H1_FRAME_DONE) return 0;
            lt_fwd_on_done(c, c->bkeep && !evbuffer_get_length(in));
            return 1;
        }
        case LT_H1_FRAME_CSIZE:
        case LT_H1_FRAME_CEND:
        case LT_H1_FRAME_TRAILER: {
            size_t w = avail < LT_H1_FRAME_LINE_WIN ? avail : LT_H1_FRAME_LINE_WIN, used;
            int r = lt_h1_frame_line(f, w ? (const char *)evbuffer_pullup(in, (ev_ssize_t)w) : "", w, &used);
            if (r == LT_H1_FRAME_MORE) return 0;
            if (r == LT_H1_FRAME_SKIP) {   /* a long trailer field: skip it */
                size_t eol_len = 0;
                struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
                if (p.pos < 0) { evbuffer_drain(in, avail); return 0; }
                evbuffer_drain(in, (size_t)p.pos + eol_len);
                continue;
            }
            evbuffer_drain(in, used);
            if (f->st == LT_H1_FRAME_ERR) { lt_fwd_on_fail(c, LT_BERR_IO); return 1; }
            if (f->st != LT_H1_FRAME_DONE) continue;
            lt_fwd_on_done(c, c->bkeep && !evbuffer_get_length(in));
            return 1;
        }
        default:
            return 0;
        }
    }
}

void lt_forward_backend_read(lt_bconn *bc)
{
    lt_call *c = bc->call;
    lt_fwd_frame(c, bufferevent_get_input(bc->bev));
}

void lt_forward_backend_event(lt_bconn *bc, short what)
{
    lt_call *c = bc->call;
    if (what & BEV_EVENT_CONNECTED) {   /* bc->connected set by proxy.c */
        lt_fwd_nodelay(bc);
        return;
    }
    struct evbuffer *in = bufferevent_get_input(bc->bev);
    if (evbuffer_get_length(in) && lt_fwd_frame(c, in)) return;   /* what came before the end */
    if ((what & BEV_EVENT_EOF) && c->fr.st == LT_H1_FRAME_EOF) { lt_fwd_on_done(c, 0); return; }
    lt_fwd_on_fail(c, (what & BEV_EVENT_TIMEOUT) ? LT_BERR_TIMEOUT
                      : (what & BEV_EVENT_EOF) ? LT_BERR_EOF : LT_BERR_IO);
}

/* The request as the backend gets it, written to out: hop-by-hop fields
 * dropped, Host and the api-key set for the backend, X-Forwarded-For
 * appended, the body after the head. */
static void lt_fwd_put_hdr(struct evbuffer *out, const char *k, const char *v)
{
    evbuffer_add(out, k, strlen(k));
    evbuffer_add(out, ": ", 2);
    evbuffer_add(out, v, strlen(v));
    evbuffer_add(out, "\r\n", 2);
}

static void lt_fwd_write_request(lt_call *c, struct evbuffer *out, const lt_backend_target *t)
{
    struct evkeyvalq *in = c->req.headers;
    size_t blen = evbuffer_get_length(c->req.body);
    const char *m = lt_forward_method(c->req.cmd);
    evbuffer_add(out, m, strlen(m));
    evbuffer_add(out, " ", 1);
    evbuffer_add(out, t->path, strlen(t->path));
    evbuffer_add(out, c->req.uri, strlen(c->req.uri));
    evbuffer_add(out, " HTTP/1.1\r\n", 11);
    const char *conn = evhttp_find_header(in, "Connection");
    struct evkeyval *h;
    TAILQ_FOREACH(h, in, next) {
        if (lt_forward_hop(h->key, conn) || !strcasecmp(h->key, "host") || !strcasecmp(h->key, "content-length") ||
            !strcasecmp(h->key, "x-forwarded-for") || (t->api_key && !strcasecmp(h->key, "api-key")))
            continue;
        lt_fwd_put_hdr(out, h->key, h->value);
    }
    lt_fwd_put_hdr(out, "Host", t->hostport);
    if (t->api_key) lt_fwd_put_hdr(out, "api-key", t->api_key);
    const char *peer = c->req.peer;
    const char *xff = evhttp_find_header(in, "X-Forwarded-For");
    evbuffer_add(out, "X-Forwarded-For: ", 17);
    if (xff) { evbuffer_add(out, xff, strlen(xff)); evbuffer_add(out, ", ", 2); }
    if (peer) evbuffer_add(out, peer, strlen(peer));
    evbuffer_add(out, "\r\n", 2);
    if (blen || c->req.cmd == EVHTTP_REQ_POST) {
        char tmp[24], *e = tmp + sizeof tmp, *p = e;
        size_t v = blen;
        do { *--p = (char)('0' + v % 10); v /= 10; } while (v);
        evbuffer_add(out, "Content-Length: ", 16);
        evbuffer_add(out, p, (size_t)(e - p));
        evbuffer_add(out, "\r\n", 2);
    }
    evbuffer_add(out, "\r\n", 2);
    if (blen) evbuffer_add(out, evbuffer_pullup(c->req.body, -1), blen);
}

/* Sends the request to backend c->bidx, on a pooled connection unless fresh. */
static void lt_fwd_send(lt_call *c, int fresh)
{
    lt_proxy *px = c->w->px;
    int idx = c->bidx;
    c->berr = 0;
    c->got_head = 0;
    lt_h1_frame_init(&c->fr, 1, 0);
    c->t_attempt = lt_clock_mono_us();
    lt_bconn *bc = lt_proxy_backend_get(c->w, idx, fresh);
    if (!bc) { lt_fwd_attempt_failed(c, "connect or I/O error"); return; }
    c->bcon = bc;
    bc->call = c;
    c->reused = bc->uses > 0;
    bc->uses++;
    struct evbuffer *out = c->w->wscratch;
    lt_fwd_write_request(c, out, &px->targets[idx]);
    lt_proxy_write(bc->bev, !bc->tls && bc->connected, out);
    c->connecting = !c->reused && px->cfg->connect_timeout_ms < px->cfg->first_byte_timeout_ms;
    lt_fwd_arm(c, c->connecting ? px->cfg->connect_timeout_ms : px->cfg->first_byte_timeout_ms);
}

/* A pooled connection that failed before any response byte (the backend
 * closed it while idle, the close not seen yet when the request went out):
 * the request goes again on a fresh connection to the same backend, as
 * the same attempt, and the backend is not blamed. 1 when retried. */
static int lt_fwd_stale(lt_call *c)
{
    if (!c->reused || c->got_head || !c->cs || (c->berr != LT_BERR_EOF && c->berr != LT_BERR_IO))
        return 0;
    __atomic_add_fetch(&c->w->px->backends[c->bidx].conns_stale, 1, __ATOMIC_RELAXED);
    lt_fwd_release(c, 0);
    lt_fwd_send(c, 1);
    return 1;
}

static void lt_call_attempt(lt_call *c)
{
    lt_proxy *px = c->w->px;
    if (!c->cs) { lt_call_finish(c, NULL); return; }
    int idx = -1;
    if (c->attempts < px->cfg->max_attempts) {
        pthread_mutex_lock(&px->mu);
        idx = lt_backend_pick(px->backends, px->n, c->tried, lt_clock_now_us());
        if (idx >= 0) px->backends[idx].requests++;
        pthread_mutex_unlock(&px->mu);
    }
    if (idx < 0) { lt_fwd_none_left(c); return; }
    c->tried[idx] = 1;
    c->attempts++;
    c->bidx = idx;
    lt_fwd_send(c, 0);
}

/* ---- entry points ---- */

void lt_forward_cancel(lt_call *c)
{
    __atomic_add_fetch(&c->w->px->client_cancels, 1, __ATOMIC_RELAXED);
    c->cs = NULL;
    if (c->bcon) {
        pthread_mutex_lock(&c->w->px->mu);
        if (!c->started) lt_backend_probe_cancel(&c->w->px->backends[c->bidx]);
        pthread_mutex_unlock(&c->w->px->mu);
        lt_fwd_release(c, 0);
    }
    lt_call_finish(c, c->truncated ? "BACKEND_CLOSED_MID_RESPONSE" : "CLIENT_CLOSED");
}

lt_call *lt_forward_call(lt_worker *w, const lt_fwd_ops *ops, void *cs, lt_tap_conn *tap, const lt_fwd_req *req)
{
    lt_call *c = lt_call_new(w);
    if (!c) return NULL;
    c->w = w;
    c->ops = ops;
    c->cs = cs;
    c->tap = tap;
    c->req = *req;
    c->t0 = lt_clock_mono_us();
    w->inflight++;
    lt_fwd_tap_request(c);
    return c;
}

/* Decides the call started by lt_forward_call: limits, drain, then the
 * first attempt. Separate so the side can record the call before any
 * answer (which may come at once) reaches it. */
void lt_forward_go(lt_call *c)
{
    lt_worker *w = c->w;
    if (evbuffer_get_length(c->req.body) > w->px->cfg->max_request_bytes) {
        lt_fwd_local(c, 413, "Payload Too Large", "REQUEST_TOO_LARGE", "the request body exceeds max_request_size", 0);
        return;
    }
    if (w->draining) {
        lt_fwd_local(c, 503, "Service Unavailable", "SHUTTING_DOWN", "the proxy is shutting down", 1);
        return;
    }
    lt_call_attempt(c);
}
