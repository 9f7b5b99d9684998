/* forward.c -- one call through the proxy: pick a backend, forward the
 * request, fail over, stream the response back, and show the parsers the
 * exact bytes the client exchanged.
 *
 * The backend side is libevent's evhttp client (per-backend keep-alive
 * pools in proxy.c); the client side is an interface (lt_fwd_ops in
 * proxy.h) implemented by h1.c (evhttp server, HTTP/1.x) and h2.c
 * (libnghttp2, each stream one call), so both protocols share every rule
 * below. The tap sees each call as HTTP/1.1 bytes rebuilt from what the
 * client sent and got. The order of a call:
 *   request read -> its bytes to the tap -> attempt on the picked backend
 *   -> response head: a status in retry_on (429, 5xx) is held, not sent, and
 *      the next backend is tried at once; any other status starts the reply
 *      to the client, and from then on nothing is retried
 *   -> body chunks are passed on as they arrive (evhttp chunked callback:
 *      no buffering to a threshold), each also copied to the tap
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
    struct evhttp_request *breq;  /* the attempt in flight */
    lt_bconn *bcon;               /* its connection */
    struct event *timer;
    int bidx, attempts, holding, started, chunked, cancelling, too_large, truncated, err, connecting;
    int reused, got_head;         /* the attempt's connection came from the pool; its head arrived */
    uint8_t tried[LT_PROXY_MAX_BACKENDS];
    json_t *errors;               /* AttemptErrors */
    lt_held held;
    int64_t t0, t_attempt, t_first;
    size_t resp_bytes;
};

static void lt_call_attempt(lt_call *c);
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
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(bc->evcon)), one = 1;
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

static void lt_fwd_tap_head(lt_call *c, int status, const char *reason, struct evkeyvalq *hdrs)
{
    if (!c->tap->id) return;   /* log_calls = false */
    lt_buf *b = &c->w->tapbuf;
    lt_buf_reset(b);
    /* evhttp answers in the client's version */
    lt_fwd_put(b, "HTTP/1.", 7);
    lt_fwd_put_num(b, (uint64_t)c->req.minor, 10);
    lt_fwd_put(b, " ", 1);
    lt_fwd_put_num(b, (uint64_t)(unsigned)status, 10);
    lt_fwd_put(b, " ", 1);
    lt_fwd_puts(b, reason ? reason : "");
    lt_fwd_put(b, "\r\n", 2);
    struct evkeyval *h;
    TAILQ_FOREACH(h, hdrs, next) lt_fwd_put_field(b, h->key, h->value);
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

static json_t *lt_fwd_extras(lt_call *c, const char *reason)
{
    lt_proxy *px = c->w->px;
    int64_t now = lt_clock_mono_us();
    json_t *o = json_object();
    int answered = c->started;
    json_object_set_new(o, "BackendId", answered ? json_string(px->backends[c->bidx].name) : json_null());
    json_object_set_new(o, "BackendUrl", answered ? json_string(px->backends[c->bidx].url) : json_null());
    json_object_set_new(o, "Attempts", json_integer(c->attempts));
    json_object_set_new(o, "AttemptErrors", json_incref(c->errors));
    json_object_set_new(o, "TotalTime", json_integer((now - c->t0) / 1000));
    json_object_set_new(o, "BackendTime", answered ? json_integer((now - c->t_attempt) / 1000) : json_null());
    if (reason) json_object_set_new(o, "LastErrorReason", json_string(reason));
    return o;
}

static void lt_call_free(lt_call *c)
{
    if (c->timer) event_free(c->timer);
    json_decref(c->errors);
    evhttp_clear_headers(&c->held.headers);
    if (c->held.body) evbuffer_free(c->held.body);
    lt_worker *w = c->w;
    w->inflight--;
    free(c);
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
    lt_fwd_tap_head(c, status, reason, &out);
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
    struct evkeyvalq *out = c->ops->head(c->cs, status, reason, hdrs);
    c->started = 1;
    const char *te = evhttp_find_header(out, "Transfer-Encoding");
    c->chunked = te && !strcasecmp(te, "chunked");
    lt_fwd_tap_head(c, status, reason, out);
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
    lt_fwd_tap_head(c, c->held.status, NULL, &out);
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
    json_array_append_new(c->errors, e);
}

/* idle: the connection's last request ended with a whole response. */
static void lt_fwd_release(lt_call *c, int idle)
{
    if (!c->bcon) return;
    lt_proxy_backend_release(c->w, c->bcon, idle);
    c->bcon = NULL;
    c->breq = NULL;
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

/* Is the backend connection's TCP connect done? */
static int lt_fwd_connected(lt_call *c)
{
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c->bcon->evcon));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    return fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0;
}

/* The attempt's timer: first the connect deadline, then the first byte's. */
static void lt_fwd_timeout(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev;
    lt_call *c = arg;
    if (!c->breq) return;
    const lt_proxy_cfg *cfg = c->w->px->cfg;
    const char *why = "timeout";
    if (c->connecting) {
        c->connecting = 0;
        if (lt_fwd_connected(c)) { lt_fwd_arm(c, cfg->first_byte_timeout_ms - cfg->connect_timeout_ms); return; }
        why = "connect timeout";
    }
    c->cancelling = 1;
    evhttp_cancel_request(c->breq);
    c->cancelling = 0;
    c->breq = NULL;
    lt_fwd_attempt_failed(c, why);
}

static void lt_fwd_error_cb(enum evhttp_request_error e, void *arg)
{
    lt_call *c = arg;
    if (!c->cancelling) c->err = (int)e + 1;
}

static const char *lt_fwd_err_str(int e)
{
    switch (e - 1) {
    case EVREQ_HTTP_TIMEOUT: return "timeout";
    case EVREQ_HTTP_EOF: return "connection closed";
    case EVREQ_HTTP_INVALID_HEADER: return "invalid response head";
    case EVREQ_HTTP_BUFFER_ERROR: return "connect or I/O error";
    case EVREQ_HTTP_DATA_TOO_LONG: return "response too large";
    default: return "error";
    }
}

/* Updates the backend's health from a response status. */
static int64_t lt_fwd_account(lt_call *c, struct evhttp_request *breq, int status)
{
    lt_proxy *px = c->w->px;
    struct evkeyvalq *h = evhttp_request_get_input_headers(breq);
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

static void lt_fwd_hold(lt_call *c, struct evhttp_request *breq, int status, int64_t retry)
{
    c->holding = 1;
    c->held.status = status;
    snprintf(c->held.backend, sizeof c->held.backend, "%s", c->w->px->backends[c->bidx].name);
    evhttp_clear_headers(&c->held.headers);
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(breq), next) evhttp_add_header(&c->held.headers, h->key, h->value);
    evbuffer_drain(c->held.body, evbuffer_get_length(c->held.body));
    lt_fwd_note_error(c, status, retry, NULL);
}

static int lt_fwd_header_cb(struct evhttp_request *breq, void *arg)
{
    lt_call *c = arg;
    event_del(c->timer);
    c->got_head = 1;
    c->t_first = lt_clock_mono_us();
    lt_fwd_nodelay(c->bcon);
    int status = evhttp_request_get_response_code(breq);
    int64_t retry = lt_fwd_account(c, breq, status);
    if (lt_proxy_cfg_retryable(c->w->px->cfg, status)) { lt_fwd_hold(c, breq, status, retry); return 0; }
    c->holding = 0;
    const char *cl = evhttp_find_header(evhttp_request_get_input_headers(breq), "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > c->w->px->cfg->max_response_bytes) { c->too_large = 1; return 0; }
    if (!c->cs) return 0;
    lt_fwd_start_reply(c, status, evhttp_request_get_response_code_line(breq), evhttp_request_get_input_headers(breq));
    return 0;
}

static void lt_fwd_chunk_cb(struct evhttp_request *breq, void *arg)
{
    lt_call *c = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(breq);
    if (c->holding) { evbuffer_add_buffer(c->held.body, in); return; }
    if (c->too_large || c->truncated || !c->cs || !c->started) return;
    c->resp_bytes += evbuffer_get_length(in);
    if (c->resp_bytes > c->w->px->cfg->max_response_bytes) { c->truncated = 1; return; }
    lt_fwd_tap_chunk(c, in);
    c->ops->chunk(c->cs, in);
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

static void lt_fwd_done_cb(struct evhttp_request *breq, void *arg)
{
    lt_call *c = arg;
    event_del(c->timer);
    int status = breq ? evhttp_request_get_response_code(breq) : 0;
    if (!breq || !status) {
        c->breq = NULL;
        if (lt_fwd_stale(c)) return;
        if (!c->started) { lt_fwd_attempt_failed(c, lt_fwd_err_str(c->err)); return; }
        lt_fwd_cut(c);
        return;
    }
    lt_fwd_release(c, 1);
    if (c->holding) { c->holding = 0; lt_call_attempt(c); return; }
    if (c->too_large) {
        lt_fwd_local(c, 502, "Bad Gateway", "RESPONSE_TOO_LARGE", "the backend's response exceeds max_response_size", 0);
        return;
    }
    lt_fwd_end_reply(c);
}

/* The request as the backend gets it: hop-by-hop fields dropped, Host and
 * the api-key set for the backend, X-Forwarded-For appended. */
static void lt_fwd_request_headers(lt_call *c, struct evhttp_request *breq, const lt_backend_target *t, size_t blen)
{
    struct evkeyvalq *in = c->req.headers, *out = evhttp_request_get_output_headers(breq);
    const char *conn = evhttp_find_header(in, "Connection");
    struct evkeyval *h;
    TAILQ_FOREACH(h, in, next) {
        if (lt_forward_hop(h->key, conn) || !strcasecmp(h->key, "host") || !strcasecmp(h->key, "content-length") ||
            !strcasecmp(h->key, "x-forwarded-for") || (t->api_key && !strcasecmp(h->key, "api-key")))
            continue;
        evhttp_add_header(out, h->key, h->value);
    }
    evhttp_add_header(out, "Host", t->hostport);
    if (t->api_key) evhttp_add_header(out, "api-key", t->api_key);
    const char *peer = c->req.peer;
    const char *xff = evhttp_find_header(in, "X-Forwarded-For");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s%s", xff ? xff : "", xff ? ", " : "", peer ? peer : "");
    evhttp_add_header(out, "X-Forwarded-For", buf);
    if (blen || c->req.cmd == EVHTTP_REQ_POST) {
        snprintf(buf, sizeof buf, "%zu", blen);
        evhttp_add_header(out, "Content-Length", buf);
    }
}

/* Sends the request to backend c->bidx, on a pooled connection unless fresh. */
static void lt_fwd_send(lt_call *c, int fresh)
{
    lt_proxy *px = c->w->px;
    int idx = c->bidx;
    c->err = 0;
    c->got_head = 0;
    c->t_attempt = lt_clock_mono_us();
    c->bcon = lt_proxy_backend_get(c->w, idx, fresh);
    c->reused = c->bcon && c->bcon->uses;
    struct evhttp_request *breq = evhttp_request_new(lt_fwd_done_cb, c);
    evhttp_request_set_header_cb(breq, lt_fwd_header_cb);
    evhttp_request_set_chunked_cb(breq, lt_fwd_chunk_cb);
    evhttp_request_set_error_cb(breq, lt_fwd_error_cb);
    struct evbuffer *body = c->req.body;
    size_t blen = evbuffer_get_length(body);
    lt_fwd_request_headers(c, breq, &px->targets[idx], blen);
    evbuffer_add(evhttp_request_get_output_buffer(breq), evbuffer_pullup(body, -1), blen);
    char uri[8192];
    snprintf(uri, sizeof uri, "%s%s", px->targets[idx].path, c->req.uri);
    c->breq = breq;
    if (!c->bcon || evhttp_make_request(c->bcon->evcon, breq, (enum evhttp_cmd_type)c->req.cmd, uri) < 0) {
        if (!c->bcon) evhttp_request_free(breq);
        c->breq = NULL;
        lt_fwd_attempt_failed(c, "connect or I/O error");
        return;
    }
    c->bcon->uses++;
    c->connecting = !c->reused && px->cfg->connect_timeout_ms < px->cfg->first_byte_timeout_ms;
    lt_fwd_arm(c, c->connecting ? px->cfg->connect_timeout_ms : px->cfg->first_byte_timeout_ms);
}

/* A pooled connection that failed before any response byte (the backend
 * closed it while idle, the close not seen yet when the request went out):
 * the request goes again on a fresh connection to the same backend, as
 * the same attempt, and the backend is not blamed. 1 when retried. */
static int lt_fwd_stale(lt_call *c)
{
    if (!c->reused || c->got_head || !c->cs ||
        (c->err != EVREQ_HTTP_EOF + 1 && c->err != EVREQ_HTTP_BUFFER_ERROR + 1))
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
    if (c->breq) {
        c->cancelling = 1;
        evhttp_cancel_request(c->breq);
        c->breq = NULL;
        pthread_mutex_lock(&c->w->px->mu);
        if (!c->started) lt_backend_probe_cancel(&c->w->px->backends[c->bidx]);
        pthread_mutex_unlock(&c->w->px->mu);
        lt_fwd_release(c, 0);
    }
    lt_call_finish(c, c->truncated ? "BACKEND_CLOSED_MID_RESPONSE" : "CLIENT_CLOSED");
}

lt_call *lt_forward_call(lt_worker *w, const lt_fwd_ops *ops, void *cs, lt_tap_conn *tap, const lt_fwd_req *req)
{
    lt_call *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->w = w;
    c->ops = ops;
    c->cs = cs;
    c->tap = tap;
    c->req = *req;
    c->errors = json_array();
    c->t0 = lt_clock_mono_us();
    c->timer = evtimer_new(w->base, lt_fwd_timeout, c);
    TAILQ_INIT(&c->held.headers);
    c->held.body = evbuffer_new();
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
