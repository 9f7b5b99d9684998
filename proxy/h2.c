/* h2.c -- the HTTP/2 client side of the proxy (RFC 9113), served with
 * libnghttp2's server session API: each stream is one call through
 * forward.c, exactly like an HTTP/1.x request (balancing, failover, limits,
 * records), answered through the lt_fwd_ops below.
 *
 * How a connection gets here: every accepted connection starts in h1.c;
 * when ALPN picks "h2" (proxy.c's select callback, during the handshake,
 * before any application byte is read), or when a cleartext connection
 * opens with the HTTP/2 client preface (h2c with prior knowledge, seen by
 * h1.c), lt_h2_take swaps the connection's bufferevent callbacks for ours
 * and h1.c forgets it. The bufferevent (and
 * the socket) is then ours; we free it when the h2 connection ends.
 *
 * A reply's body streams: the response is submitted with a data provider
 * that hands out what the backend sent so far and defers when it has
 * nothing (nghttp2_session_resume_data when more comes); nghttp2 keeps to
 * the client's flow-control windows. RST_STREAM from the client cancels
 * that stream's backend request; on drain every connection gets GOAWAY and
 * closes when its last stream ends.
 *
 * The tap gets one connection per stream, fed the same HTTP/1.1 bytes
 * forward.c builds for HTTP/1.x clients, marked as HTTP/2 (tap.h), so an h2
 * call makes the same records as over HTTP/1.1, with ClientProtocol
 * "HTTP/2". */
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "proxy.h"

typedef struct lt_h2_stream {
    struct lt_h2_stream *next, *prev;
    lt_h2_conn *hc;
    int32_t id;
    char method[16];
    char *path, *authority;
    struct evkeyvalq headers;     /* request fields (+ Host from :authority) */
    struct evbuffer *body;        /* request body, kept up to max_request_size + 1 */
    struct evbuffer *out;         /* reply bytes not yet taken by nghttp2 */
    int out_eof, deferred, body_over, called;
    lt_call *call;
    lt_tap_conn tap;
} lt_h2_stream;

struct lt_h2_conn {
    lt_h2_conn *next, *prev;      /* worker's list */
    lt_worker *w;
    struct bufferevent *bev;
    nghttp2_session *ss;
    lt_h2_stream *streams;
    lt_conn_info info;
    char peer[64];
    struct event *kill_ev;        /* frees the connection outside any of its callbacks */
    int in_recv, goaway, closing, dead;
};

static void lt_h2_flush(lt_h2_conn *hc);

/* Without a stream, a connection is closed after idle_timeout like an HTTP/1.x one. */
static void lt_h2_idle(lt_h2_conn *hc)
{
    int64_t idle = hc->w->px->cfg->idle_timeout_ms;
    struct timeval tv = {idle / 1000, (idle % 1000) * 1000};
    bufferevent_set_timeouts(hc->bev, hc->streams ? NULL : &tv, NULL);
}

/* ---- streams ---- */

static void lt_h2_stream_free(lt_h2_stream *s)
{
    lt_h2_conn *hc = s->hc;
    if (s->call) { lt_call *c = s->call; s->call = NULL; lt_forward_cancel(c); }
    if (s->tap.id) lt_tap_close(hc->w->px->tap, &s->tap, 0, lt_clock_now_us());
    if (s->prev) s->prev->next = s->next; else hc->streams = s->next;
    if (s->next) s->next->prev = s->prev;
    if (!hc->streams && !hc->dead) lt_h2_idle(hc);
    evhttp_clear_headers(&s->headers);
    evbuffer_free(s->body);
    evbuffer_free(s->out);
    free(s->path);
    free(s->authority);
    free(s);
}

static lt_h2_stream *lt_h2_stream_new(lt_h2_conn *hc, int32_t id)
{
    lt_h2_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->hc = hc;
    s->id = id;
    TAILQ_INIT(&s->headers);
    s->body = evbuffer_new();
    s->out = evbuffer_new();
    s->next = hc->streams;
    int first = !hc->streams;
    if (hc->streams) hc->streams->prev = s;
    hc->streams = s;
    if (first) lt_h2_idle(hc);   /* no idle timeout while calls run */
    return s;
}

/* ---- the reply (lt_fwd_ops) ---- */

static ssize_t lt_h2_read_body(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                               nghttp2_data_source *src, void *ud)
{
    (void)ss; (void)id; (void)ud;
    lt_h2_stream *s = src->ptr;
    int n = evbuffer_remove(s->out, buf, len);
    if (n < 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (!evbuffer_get_length(s->out) && s->out_eof) { *flags |= NGHTTP2_DATA_FLAG_EOF; return n; }
    if (!n) { s->deferred = 1; return NGHTTP2_ERR_DEFERRED; }
    return n;
}

/* h2 field names are lowercase; connection-specific fields are not sent (RFC 9113 8.2.2). */
static void lt_h2_submit(lt_h2_stream *s, int status, struct evkeyvalq *hdrs, int with_body)
{
    size_t count = 1, n = 0;
    struct evkeyval *h;
    TAILQ_FOREACH(h, hdrs, next) count++;
    nghttp2_nv *nv = calloc(count, sizeof *nv);
    char **names = calloc(count, sizeof *names), st[8];
    if (!nv || !names) {
        free(nv); free(names);
        nghttp2_submit_rst_stream(s->hc->ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    snprintf(st, sizeof st, "%d", status);
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, strlen(st), NGHTTP2_NV_FLAG_NONE};
    const char *conn = evhttp_find_header(hdrs, "Connection");
    TAILQ_FOREACH(h, hdrs, next) {
        if (lt_forward_hop(h->key, conn) || !(names[n] = strdup(h->key))) continue;
        for (char *p = names[n]; *p; p++) *p = (char)tolower((unsigned char)*p);
        nv[n] = (nghttp2_nv){(uint8_t *)names[n], (uint8_t *)h->value, strlen(names[n]), strlen(h->value),
                             NGHTTP2_NV_FLAG_NONE};
        n++;
    }
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = lt_h2_read_body};
    nghttp2_submit_response(s->hc->ss, s->id, nv, n, with_body ? &prd : NULL);   /* copies the fields */
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
    free(nv);
}

static int lt_h2_has_body(lt_h2_stream *s, int status)
{
    return strcmp(s->method, "HEAD") && status != 204 && status != 304 && status >= 200;
}

static int lt_h2_head(void *cs, int status, const char *reason, struct evkeyvalq *hdrs)
{
    (void)reason;
    lt_h2_stream *s = cs;
    int body = lt_h2_has_body(s, status);
    lt_h2_submit(s, status, hdrs, body);   /* without hop-by-hop fields */
    lt_h2_flush(s->hc);
    /* the tap reads HTTP/1.1: a body without a length is shown chunked */
    return body && !evhttp_find_header(hdrs, "Content-Length");
}

static void lt_h2_more(lt_h2_stream *s)
{
    if (s->deferred) { s->deferred = 0; nghttp2_session_resume_data(s->hc->ss, s->id); }
    lt_h2_flush(s->hc);
}

static void lt_h2_chunk(void *cs, struct evbuffer *data)
{
    lt_h2_stream *s = cs;
    evbuffer_add_buffer(s->out, data);
    lt_h2_more(s);
}

static void lt_h2_end(void *cs)
{
    lt_h2_stream *s = cs;
    s->call = NULL;
    s->out_eof = 1;
    lt_h2_more(s);
}

static void lt_h2_reply(void *cs, int status, const char *reason, struct evkeyvalq *hdrs, struct evbuffer *body)
{
    (void)reason;
    lt_h2_stream *s = cs;
    s->call = NULL;
    evbuffer_add_buffer(s->out, body);
    s->out_eof = 1;
    lt_h2_submit(s, status, hdrs, lt_h2_has_body(s, status));
    lt_h2_flush(s->hc);
}

/* The backend failed mid-reply: the stream is reset, so the client sees it end early. */
static void lt_h2_cut(void *cs, lt_call *c)
{
    lt_h2_stream *s = cs;
    s->call = NULL;
    nghttp2_submit_rst_stream(s->hc->ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    lt_forward_cancel(c);
    lt_h2_flush(s->hc);
}

static const lt_fwd_ops lt_h2_ops = {lt_h2_head, lt_h2_chunk, lt_h2_end, lt_h2_reply, lt_h2_cut};

/* ---- the request ---- */

static int lt_h2_cmd(const char *m)
{
    static const struct { const char *name; int cmd; } t[] = {
        {"GET", EVHTTP_REQ_GET}, {"POST", EVHTTP_REQ_POST}, {"HEAD", EVHTTP_REQ_HEAD}, {"PUT", EVHTTP_REQ_PUT},
        {"DELETE", EVHTTP_REQ_DELETE}, {"OPTIONS", EVHTTP_REQ_OPTIONS}, {"PATCH", EVHTTP_REQ_PATCH}};
    for (size_t i = 0; i < LT_ARRAY_LEN(t); i++) if (!strcmp(m, t[i].name)) return t[i].cmd;
    return -1;
}

/* A reply of ours for a request that is no call (bad method or head): not logged. */
static void lt_h2_refuse(lt_h2_stream *s, int status)
{
    struct evkeyvalq h;
    TAILQ_INIT(&h);
    evhttp_add_header(&h, "Content-Length", "0");
    s->out_eof = 1;
    lt_h2_submit(s, status, &h, 0);
    evhttp_clear_headers(&h);
}

static void lt_h2_start_call(lt_h2_stream *s)
{
    lt_h2_conn *hc = s->hc;
    lt_worker *w = hc->w;
    if (s->called) return;
    s->called = 1;
    int cmd = lt_h2_cmd(s->method);
    if (cmd < 0) { lt_h2_refuse(s, 405); return; }
    if (!s->path || s->path[0] != '/') { lt_h2_refuse(s, 400); return; }
    if (s->authority && !evhttp_find_header(&s->headers, "Host")) evhttp_add_header(&s->headers, "Host", s->authority);
    if (w->px->cfg->log_calls) {
        lt_conn_info info = hc->info;
        info.start_ts = lt_clock_now_us();
        s->tap.version = 20;
        lt_tap_open(w->px->tap, &s->tap, &info);
    }
    lt_fwd_req fr = {.cmd = cmd, .uri = s->path, .headers = &s->headers, .body = s->body, .peer = hc->peer, .minor = 1};
    lt_call *c = lt_forward_call(w, &lt_h2_ops, s, &s->tap, &fr);
    if (!c) { nghttp2_submit_rst_stream(hc->ss, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR); return; }
    s->call = c;
    lt_forward_go(c);
}

/* ---- nghttp2 callbacks ---- */

static ssize_t lt_h2_send_cb(nghttp2_session *ss, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)ss; (void)flags;
    lt_h2_conn *hc = ud;
    if (bufferevent_write(hc->bev, data, len) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

static int lt_h2_begin_headers_cb(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
    lt_h2_conn *hc = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    lt_h2_stream *s = lt_h2_stream_new(hc, f->hd.stream_id);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(ss, f->hd.stream_id, s);
    return 0;
}

static int lt_h2_header_cb(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                           const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    (void)flags; (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    lt_h2_stream *s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
    if (!s) return 0;
    char *n = strndup((const char *)name, nl), *v = strndup((const char *)value, vl);
    if (!n || !v) { free(n); free(v); return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; }
    const char *crumbs = strcmp(n, "cookie") ? NULL : evhttp_find_header(&s->headers, "cookie");
    if (!strcmp(n, ":method")) snprintf(s->method, sizeof s->method, "%s", v);
    else if (!strcmp(n, ":path")) { free(s->path); s->path = v; v = NULL; }
    else if (!strcmp(n, ":authority")) { free(s->authority); s->authority = v; v = NULL; }
    else if (crumbs) {   /* RFC 9113 8.2.3: cookie crumbs are one field again for HTTP/1.1 */
        char *all = NULL;
        if (asprintf(&all, "%s; %s", crumbs, v) > 0) {
            evhttp_remove_header(&s->headers, "cookie");
            evhttp_add_header(&s->headers, "cookie", all);
        }
        free(all);
    } else if (n[0] != ':') evhttp_add_header(&s->headers, n, v);
    free(n);
    free(v);
    return 0;
}

static int lt_h2_data_cb(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
    (void)flags; (void)ud;
    lt_h2_stream *s = nghttp2_session_get_stream_user_data(ss, id);
    if (!s) return 0;
    size_t cap = s->hc->w->px->cfg->max_request_bytes + 1, have = evbuffer_get_length(s->body);
    /* beyond the limit the body is not kept: one byte over is enough for forward.c's 413 */
    if (have < cap) evbuffer_add(s->body, data, len < cap - have ? len : cap - have);
    return 0;
}

static int lt_h2_frame_cb(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    lt_h2_stream *s = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
    if (s) lt_h2_start_call(s);
    return 0;
}

static int lt_h2_close_cb(nghttp2_session *ss, int32_t id, uint32_t code, void *ud)
{
    (void)code; (void)ud;
    lt_h2_stream *s = nghttp2_session_get_stream_user_data(ss, id);
    if (!s) return 0;
    nghttp2_session_set_stream_user_data(ss, id, NULL);
    lt_h2_stream_free(s);   /* a call still running is cancelled (RST_STREAM from the client) */
    return 0;
}

/* ---- the connection ---- */

static void lt_h2_conn_free(lt_h2_conn *hc)
{
    while (hc->streams) lt_h2_stream_free(hc->streams);
    if (hc->prev) hc->prev->next = hc->next; else hc->w->h2 = hc->next;
    if (hc->next) hc->next->prev = hc->prev;
    nghttp2_session_del(hc->ss);
    bufferevent_free(hc->bev);   /* with it the socket */
    event_free(hc->kill_ev);
    free(hc);
}

static void lt_h2_kill_cb(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev;
    lt_h2_conn_free(arg);
}

/* The connection ends: no more I/O now, freed on the next loop turn, so
 * the streams and calls in the callbacks under way stay valid. */
static void lt_h2_kill(lt_h2_conn *hc)
{
    if (hc->dead) return;
    hc->dead = 1;
    bufferevent_disable(hc->bev, EV_READ | EV_WRITE);
    struct timeval zero = {0, 0};
    evtimer_add(hc->kill_ev, &zero);
}

/* Sends what nghttp2 has; ends the connection when neither side wants more. */
static void lt_h2_flush(lt_h2_conn *hc)
{
    if (hc->in_recv || hc->dead) return;   /* lt_h2_read_cb flushes after the input */
    if (nghttp2_session_send(hc->ss) != 0) hc->closing = 1;
    if (!nghttp2_session_want_read(hc->ss) && !nghttp2_session_want_write(hc->ss)) hc->closing = 1;
    if (hc->goaway && !hc->streams) hc->closing = 1;
    if (hc->closing && !evbuffer_get_length(bufferevent_get_output(hc->bev))) lt_h2_kill(hc);
}

static void lt_h2_read_cb(struct bufferevent *bev, void *arg)
{
    lt_h2_conn *hc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    hc->in_recv = 1;
    ssize_t r = nghttp2_session_mem_recv(hc->ss, evbuffer_pullup(in, -1), n);
    hc->in_recv = 0;
    if (r < 0) {
        lt_warn("proxy: HTTP/2 client %s: %s", hc->peer, nghttp2_strerror((int)r));
        hc->closing = 1;
    }
    evbuffer_drain(in, n);
    lt_h2_flush(hc);
}

static void lt_h2_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    lt_h2_flush(arg);
}

static void lt_h2_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    lt_h2_conn *hc = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int fd = bufferevent_getfd(bev), one = 1;
        if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        lt_h2_flush(hc);   /* our SETTINGS */
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) lt_h2_kill(hc);
}

static void lt_h2_endpoint(lt_endpoint *e, const char *addr, int port)
{
    memset(e, 0, sizeof *e);
    e->port = (uint16_t)port;
    if (inet_pton(AF_INET, addr, e->addr) == 1) e->family = 4;
    else if (inet_pton(AF_INET6, addr, e->addr) == 1) e->family = 6;
}

int lt_h2_take(lt_worker *w, struct bufferevent *bev, const char *peer, int port)
{
    lt_h2_conn *hc = calloc(1, sizeof *hc);
    if (!hc) return -1;
    hc->w = w;
    hc->bev = bev;
    snprintf(hc->peer, sizeof hc->peer, "%s", peer);
    hc->info.server = w->px->listen_ep;
    lt_h2_endpoint(&hc->info.client, hc->peer, port);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, lt_h2_send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, lt_h2_begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, lt_h2_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, lt_h2_data_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, lt_h2_frame_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, lt_h2_close_cb);
    int rc = nghttp2_session_server_new(&hc->ss, cb, hc);
    nghttp2_session_callbacks_del(cb);
    hc->kill_ev = evtimer_new(w->base, lt_h2_kill_cb, hc);
    if (rc || !hc->kill_ev) {
        if (!rc) nghttp2_session_del(hc->ss);
        free(hc);
        return -1;
    }
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 256}};
    nghttp2_submit_settings(hc->ss, NGHTTP2_FLAG_NONE, iv, LT_ARRAY_LEN(iv));
    hc->next = w->h2;
    if (w->h2) w->h2->prev = hc;
    w->h2 = hc;
    /* from here the bytes are ours: h1.c's timeouts do not apply */
    bufferevent_setcb(bev, lt_h2_read_cb, lt_h2_write_cb, lt_h2_event_cb, hc);
    lt_h2_idle(hc);
    bufferevent_setwatermark(bev, EV_READ | EV_WRITE, 0, 0);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (w->draining) lt_h2_drain(w);
    if (evbuffer_get_length(bufferevent_get_input(bev))) lt_h2_read_cb(bev, hc);   /* h2c: the preface is already read */
    return 0;
}

void lt_h2_drain(lt_worker *w)
{
    for (lt_h2_conn *hc = w->h2, *next; hc; hc = next) {
        next = hc->next;
        if (hc->goaway || hc->dead) continue;
        nghttp2_submit_goaway(hc->ss, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(hc->ss),
                              NGHTTP2_NO_ERROR, NULL, 0);
        hc->goaway = 1;   /* then closes once its last stream ended and what is queued is sent */
        lt_h2_flush(hc);
    }
}

void lt_h2_free_all(lt_worker *w)
{
    while (w->h2) lt_h2_conn_free(w->h2);
}
