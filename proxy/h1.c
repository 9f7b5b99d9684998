/* h1.c -- the HTTP/1.x client side of the proxy, on bufferevents (no
 * evhttp): each accepted connection's bytes are framed here (request head,
 * then a Content-Length or chunked body; the rules are h1_frame.c's, this
 * file finds and moves the bytes), each request becomes one call
 * through forward.c, and the reply goes back through the lt_fwd_ops below
 * as it comes: the backend's head with hop-by-hop fields dropped and the
 * framing the client's version needs, then the body bytes as they arrive
 * (moved, not copied, between buffers; chunked when the backend gave no
 * length). One call at a time per connection: pipelined requests wait in
 * the input buffer until the reply before them ended. The connection's
 * buffers (head, body, URI) live as long as it does, so a request costs
 * no allocation here beyond its header fields.
 *
 * On the TLS listener the connection starts here too; when ALPN picks h2
 * (proxy.c) h2.c takes its bufferevent and lt_h1_forget drops this side. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "proxy.h"

enum { LT_H1_HEAD, LT_H1_BODY, LT_H1_CALL, LT_H1_CLOSE };

static void lt_h1_process(lt_client *cl);

/* The largest request body read (beyond: refused unread, not logged). */
static uint64_t lt_h1_limit(const lt_worker *w)
{
    return w->px->cfg->max_request_bytes * 2 + 65536;
}

/* ---- the connection ---- */

static void lt_h1_unlink(lt_client *cl)
{
    if (cl->prev) cl->prev->next = cl->next; else cl->w->clients = cl->next;
    if (cl->next) cl->next->prev = cl->prev;
    if (cl->call) {   /* the client is gone: its call is cancelled */
        lt_call *c = cl->call;
        cl->call = NULL;
        lt_forward_cancel(c);
    }
    if (cl->tap_open) lt_tap_close(cl->w->px->tap, &cl->tap, 0, lt_clock_now_us());
    if (cl->dirty) {
        lt_client **pp = &cl->w->dirty;
        while (*pp != cl) pp = &(*pp)->dnext;
        *pp = cl->dnext;
    }
    evbuffer_free(cl->body);
    evbuffer_free(cl->pend);
    lt_buf_free(&cl->head);
    free(cl->kv.v);
    lt_buf_free(&cl->uri);
}

void lt_h1_free(lt_client *cl)
{
    lt_h1_unlink(cl);
    if (cl->rev) event_free(cl->rev);
    bufferevent_free(cl->bev);
    free(cl);
}

void lt_h1_forget(lt_client *cl)
{
    lt_h1_unlink(cl);
    if (cl->rev) event_free(cl->rev);
    free(cl);
}

/* Where the reply's bytes go: the connection's pending buffer, written at
 * the end of the loop iteration (one write for a head and the body bytes
 * that came with it). */
static struct evbuffer *lt_h1_out(lt_client *cl)
{
    if (!cl->dirty) {
        lt_worker *w = cl->w;
        cl->dirty = 1;
        cl->dnext = w->dirty;
        if (!w->dirty) event_active(w->flush_ev, EV_TIMEOUT, 1);
        w->dirty = cl;
    }
    return cl->pend;
}

static void lt_h1_flush(lt_client *cl)
{
    lt_proxy_write(cl->bev, !cl->w->px->server_ssl, cl->pend);
    if (cl->st == LT_H1_CLOSE && !evbuffer_get_length(bufferevent_get_output(cl->bev))) lt_h1_free(cl);
}

void lt_h1_flush_all(lt_worker *w)
{
    lt_client *cl;
    while ((cl = w->dirty)) {
        w->dirty = cl->dnext;
        cl->dirty = 0;
        lt_h1_flush(cl);
    }
}

/* Ends the connection once what is queued for the client is sent (the
 * flush at the end of the iteration, or the write callback after it). */
static void lt_h1_close_soon(lt_client *cl)
{
    cl->st = LT_H1_CLOSE;
    cl->paused = 1;
    if (cl->rev) event_del(cl->rev);
    else bufferevent_disable(cl->bev, EV_READ);
    lt_h1_out(cl);
}

/* Reading stops while a call is under way and more than a whole request
 * (the largest accepted) waits behind it, so a client pipelining without
 * reading answers cannot grow the input without bound; it resumes with the
 * next request. */
static void lt_h1_pause(lt_client *cl, int pause)
{
    if (cl->paused == pause) return;
    cl->paused = pause;
    if (!pause && cl->rev) {
        int64_t idle = cl->w->px->cfg->idle_timeout_ms;
        struct timeval tv = {idle / 1000, (idle % 1000) * 1000};
        event_add(cl->rev, &tv);
    } else if (cl->rev) {
        event_del(cl->rev);
    } else if (pause) {
        bufferevent_disable(cl->bev, EV_READ);
    } else {
        bufferevent_enable(cl->bev, EV_READ);
    }
}

/* The reply ended: the next request, or the end of the connection. */
static void lt_h1_next(lt_client *cl)
{
    cl->call = NULL;
    if (!cl->keep) { lt_h1_close_soon(cl); return; }
    lt_h1_pause(cl, 0);
    cl->st = LT_H1_HEAD;
    lt_h1_frame_init(&cl->fr, 0, lt_h1_limit(cl->w));
    TAILQ_INIT(&cl->headers);
    evbuffer_drain(cl->body, evbuffer_get_length(cl->body));
    if (!cl->in_proc && evbuffer_get_length(bufferevent_get_input(cl->bev))) lt_h1_process(cl);
}

/* An answer of ours to a request that is no call (malformed, too large,
 * method not allowed): not logged, and the connection ends after it. */
static void lt_h1_refuse(lt_client *cl, int status, const char *reason)
{
    uint64_t n = __atomic_add_fetch(&cl->w->px->refused, 1, __ATOMIC_RELAXED);
    lt_info("proxy: request from %s refused: %d %s (%llu refused so far)", cl->peer, status, reason,
            (unsigned long long)n);
    struct evbuffer *out = lt_h1_out(cl);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, reason);
    lt_h1_close_soon(cl);
}

/* ---- the reply (lt_fwd_ops) ---- */

static void lt_h1_put(struct evbuffer *out, const char *s)
{
    evbuffer_add(out, s, strlen(s));
}

static void lt_h1_put_num(struct evbuffer *out, uint64_t v, unsigned base)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    do { *--p = "0123456789abcdef"[v % base]; v /= base; } while (v);
    evbuffer_add(out, p, (size_t)(e - p));
}

static void lt_h1_status_line(lt_client *cl, struct evbuffer *out, int status, const char *reason)
{
    evbuffer_add(out, cl->minor ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    lt_h1_put_num(out, (uint64_t)(unsigned)status, 10);
    evbuffer_add(out, " ", 1);
    lt_h1_put(out, reason && *reason ? reason : "-");
    evbuffer_add(out, "\r\n", 2);
}

/* The fields of hdrs but hop-by-hop ones, then the connection's own. */
static void lt_h1_fields(lt_client *cl, struct evbuffer *out, struct evkeyvalq *hdrs)
{
    const char *conn = evhttp_find_header(hdrs, "Connection");
    struct evkeyval *h;
    TAILQ_FOREACH(h, hdrs, next) {
        if (lt_forward_hop(h->key, conn)) continue;
        lt_h1_put(out, h->key);
        evbuffer_add(out, ": ", 2);
        lt_h1_put(out, h->value);
        evbuffer_add(out, "\r\n", 2);
    }
    if (cl->keep && cl->w->draining) cl->keep = 0;
    if (!cl->keep) evbuffer_add(out, "Connection: close\r\n", 19);
    else if (!cl->minor) evbuffer_add(out, "Connection: keep-alive\r\n", 24);
}

static int lt_h1_no_body(lt_client *cl, int status)
{
    return cl->cmd == EVHTTP_REQ_HEAD || status == 204 || status == 304 || status < 200;
}

static int lt_h1_head(void *cs, int status, const char *reason, struct evkeyvalq *hdrs)
{
    lt_client *cl = cs;
    struct evbuffer *out = lt_h1_out(cl);
    cl->chunked_out = 0;
    int body = !lt_h1_no_body(cl, status);
    if (body && !evhttp_find_header(hdrs, "Content-Length")) {
        if (cl->minor) cl->chunked_out = 1;
        else cl->keep = 0;   /* HTTP/1.0: the end of the connection ends the body */
    }
    lt_h1_status_line(cl, out, status, reason);
    lt_h1_fields(cl, out, hdrs);
    if (cl->chunked_out) evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
    evbuffer_add(out, "\r\n", 2);
    return cl->chunked_out;
}

static void lt_h1_chunk(void *cs, struct evbuffer *data)
{
    lt_client *cl = cs;
    struct evbuffer *out = lt_h1_out(cl);
    size_t n = evbuffer_get_length(data);
    if (!n) return;
    if (cl->chunked_out) {
        lt_h1_put_num(out, n, 16);
        evbuffer_add(out, "\r\n", 2);
        evbuffer_add_buffer(out, data);
        evbuffer_add(out, "\r\n", 2);
    } else {
        evbuffer_add_buffer(out, data);
    }
}

static void lt_h1_end(void *cs)
{
    lt_client *cl = cs;
    if (cl->chunked_out) evbuffer_add(lt_h1_out(cl), "0\r\n\r\n", 5);
    lt_h1_next(cl);
}

static void lt_h1_reply(void *cs, int status, const char *reason, struct evkeyvalq *hdrs, struct evbuffer *body)
{
    lt_client *cl = cs;
    struct evbuffer *out = lt_h1_out(cl);
    lt_h1_status_line(cl, out, status, reason);
    lt_h1_fields(cl, out, hdrs);
    evbuffer_add(out, "\r\n", 2);
    if (!lt_h1_no_body(cl, status)) evbuffer_add_buffer(out, body);
    lt_h1_next(cl);
}

/* The backend failed mid-reply: the client sees the reply end early (what
 * it got so far is sent, then the connection closes). */
static void lt_h1_cut(void *cs, lt_call *c)
{
    lt_client *cl = cs;
    cl->call = NULL;
    lt_forward_cancel(c);
    lt_h1_close_soon(cl);
}

static const lt_fwd_ops lt_h1_ops = {lt_h1_head, lt_h1_chunk, lt_h1_end, lt_h1_reply, lt_h1_cut};

/* ---- the request ---- */

static int lt_h1_method(const char *m, size_t n)
{
    static const struct { const char *name; int cmd; } t[] = {
        {"GET", EVHTTP_REQ_GET}, {"POST", EVHTTP_REQ_POST}, {"HEAD", EVHTTP_REQ_HEAD}, {"PUT", EVHTTP_REQ_PUT},
        {"DELETE", EVHTTP_REQ_DELETE}, {"OPTIONS", EVHTTP_REQ_OPTIONS}, {"PATCH", EVHTTP_REQ_PATCH}};
    for (size_t i = 0; i < LT_ARRAY_LEN(t); i++)
        if (strlen(t[i].name) == n && !memcmp(m, t[i].name, n)) return t[i].cmd;
    return -1;
}

/* Parses the head (n bytes ending with an empty line) from a copy in
 * cl->head; the framing's decisions are h1_frame.c's. 0 ok, else the
 * status to refuse with. */
static int lt_h1_parse_head(lt_client *cl, const char *h0, size_t n)
{
    lt_buf_reset(&cl->head);
    if (lt_buf_append(&cl->head, h0, n) < 0) return 500;
    char *h = (char *)cl->head.data, *end = h + n;
    lt_h1_frame_rline rl;
    if (lt_h1_frame_request_line(h, n, &rl)) return 400;
    cl->minor = rl.minor;
    cl->cmd = lt_h1_method(rl.method, rl.method_len);
    lt_buf_reset(&cl->uri);
    if (lt_buf_append(&cl->uri, rl.uri, rl.uri_len + 1) < 0) return 500;
    cl->uri.data[rl.uri_len] = 0;
    if (lt_forward_kv_fields(&cl->kv, &cl->headers, h + (rl.fields - h), end) < 0) return 400;
    if (cl->cmd < 0) return 501;
    int bad = lt_h1_frame_request_body(&cl->fr, cl->minor, evhttp_find_header(&cl->headers, "Connection"),
                                       evhttp_find_header(&cl->headers, "Transfer-Encoding"),
                                       evhttp_find_header(&cl->headers, "Content-Length"), &cl->keep);
    if (bad) return bad;
    cl->st = cl->fr.st == LT_H1_FRAME_DONE ? LT_H1_CALL : LT_H1_BODY;
    const char *expect = evhttp_find_header(&cl->headers, "Expect");
    if (cl->st != LT_H1_CALL && cl->minor && expect && !strcasecmp(expect, "100-continue"))
        evbuffer_add(lt_h1_out(cl), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

/* The request is whole: it becomes a call. */
static void lt_h1_dispatch(lt_client *cl)
{
    lt_worker *w = cl->w;
    cl->st = LT_H1_CALL;
    cl->served = 1;
    if (!cl->tap_open && w->px->cfg->log_calls) {
        lt_conn_info info = {.server = w->px->listen_ep, .start_ts = lt_clock_now_us(), .client = cl->ep};
        lt_tap_open(w->px->tap, &cl->tap, &info);
        cl->tap_open = 1;
    }
    lt_fwd_req fr = {
        .cmd = cl->cmd, .uri = (const char *)cl->uri.data, .headers = &cl->headers, .body = cl->body,
        .peer = cl->peer, .minor = cl->minor,
    };
    lt_call *c = lt_forward_call(w, &lt_h1_ops, cl, &cl->tap, &fr);
    if (!c) { lt_h1_refuse(cl, 500, "Internal Server Error"); return; }
    cl->call = c;
    lt_forward_go(c);   /* its answer may come at once */
}

/* HTTP/2 with prior knowledge (h2c, RFC 9113 3.3) on the cleartext
 * listener: a new connection that opens with the client preface goes to
 * h2.c, bytes already read included. 1: taken (cl is gone), -1: not
 * decided yet (fewer than 24 bytes, all matching), 0: HTTP/1.x. */
static int lt_h1_h2c(lt_client *cl, struct evbuffer *in)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    size_t n = evbuffer_get_length(in), want = sizeof preface - 1;
    if (cl->served || cl->w->px->server_ssl) { cl->served = 1; return 0; }
    size_t k = n < want ? n : want;
    if (memcmp(evbuffer_pullup(in, (ev_ssize_t)k), preface, k)) { cl->served = 1; return 0; }
    if (n < want) return -1;
    lt_worker *w = cl->w;
    struct bufferevent *bev = cl->bev;
    char peer[sizeof cl->peer];
    int port = cl->ep.port;
    memcpy(peer, cl->peer, sizeof peer);
    if (cl->rev) { event_free(cl->rev); cl->rev = NULL; }   /* from here the bufferevent reads */
    lt_h1_forget(cl);
    if (lt_h2_take(w, bev, peer, port) < 0) bufferevent_free(bev);
    return 1;
}

static const char *lt_h1_reason(int status)
{
    switch (status) {
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "Bad Request";
    }
}

size_t lt_h1_head_length(struct evbuffer *in, lt_h1_frame *f)
{
    size_t start = f->scanned > 3 ? f->scanned - 3 : 0; /* "\r\n\r" may end what was searched */
    struct evbuffer_ptr from, p;
    if (start && evbuffer_ptr_set(in, &from, start, EVBUFFER_PTR_SET) < 0) start = 0;
    p = evbuffer_search(in, "\r\n\r\n", 4, start ? &from : NULL);
    if (p.pos < 0) {
        f->scanned = evbuffer_get_length(in);
        return 0;
    }
    f->scanned = 0;
    return (size_t)p.pos + 4;
}

/* Frames what the client sent, as far as it goes: the bytes are found and
 * moved here, the decisions are h1_frame.c's. */
static void lt_h1_process(lt_client *cl)
{
    struct evbuffer *in = bufferevent_get_input(cl->bev);
    if (!cl->served) {
        int h2c = lt_h1_h2c(cl, in);
        if (h2c) return;   /* taken, or waiting for the rest of the preface */
    }
    uint64_t limit = lt_h1_limit(cl->w);
    lt_h1_frame *f = &cl->fr;
    cl->in_proc = 1;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        int st = cl->st;
        if (st == LT_H1_HEAD) {
            if (!avail) break;
            size_t hl = lt_h1_head_length(in, f);
            if (lt_h1_frame_head_end(f, hl, avail)) { lt_h1_refuse(cl, f->err, lt_h1_reason(f->err)); break; }
            if (!hl) break;
            int bad = lt_h1_parse_head(cl, (const char *)evbuffer_pullup(in, (ev_ssize_t)hl), hl);
            evbuffer_drain(in, hl);
            if (bad) { lt_h1_refuse(cl, bad, lt_h1_reason(bad)); break; }
            if (cl->st == LT_H1_CALL) lt_h1_dispatch(cl);
        } else if (st == LT_H1_BODY && !lt_h1_frame_wants_line(f)) {   /* Content-Length, a chunk's data */
            if (!avail) break;
            evbuffer_remove_buffer(in, cl->body, lt_h1_frame_data(f, avail));
            if (f->st == LT_H1_FRAME_DONE) lt_h1_dispatch(cl);
            else if (f->st != LT_H1_FRAME_CEND) break;
        } else if (st == LT_H1_BODY) {   /* a chunk-size line, a chunk's CRLF, a trailer field */
            size_t w = avail < LT_H1_FRAME_LINE_WIN ? avail : LT_H1_FRAME_LINE_WIN, used;
            if (lt_h1_frame_line(f, w ? (const char *)evbuffer_pullup(in, (ev_ssize_t)w) : "", w, &used) ==
                LT_H1_FRAME_MORE)
                break;
            evbuffer_drain(in, used);
            if (f->st == LT_H1_FRAME_ERR) { lt_h1_refuse(cl, f->err, lt_h1_reason(f->err)); break; }
            if (f->st == LT_H1_FRAME_DONE) lt_h1_dispatch(cl);
        } else {   /* a call in flight (pipelined bytes wait), or closing */
            if (st == LT_H1_CLOSE) evbuffer_drain(in, avail);
            else if (avail > limit + LT_H1_FRAME_HEAD_MAX) lt_h1_pause(cl, 1);
            break;
        }
    }
    cl->in_proc = 0;
}

static void lt_h1_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    lt_h1_process(arg);
}

static void lt_h1_write_cb(struct bufferevent *bev, void *arg)
{
    lt_client *cl = arg;
    if (cl->st == LT_H1_CLOSE && !cl->dirty && !evbuffer_get_length(bufferevent_get_output(bev))) lt_h1_free(cl);
}

static void lt_h1_event_cb(struct bufferevent *bev, short what, void *arg)
{
    lt_client *cl = arg;
    if (what & BEV_EVENT_CONNECTED) return;   /* TLS handshake done */
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && cl->st == LT_H1_CALL) {
        if (!cl->rev) bufferevent_enable(bev, EV_READ);   /* the backend takes its time: the client may wait */
        return;
    }
    lt_h1_free(cl);   /* EOF, error, idle: a call under way is cancelled */
}

/* A plain connection's reads (and its idle timeout). */
static void lt_h1_rev_cb(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    lt_client *cl = arg;
    if (ev & EV_TIMEOUT) { lt_h1_event_cb(cl->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, cl); return; }
    int n = lt_proxy_recv(cl->bev);
    if (n > 0) lt_h1_process(cl);
    else if (n == 0) lt_h1_event_cb(cl->bev, BEV_EVENT_READING | BEV_EVENT_EOF, cl);
    else if (n == -2) lt_h1_event_cb(cl->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, cl);
}

void lt_h1_accept(lt_worker *w, int fd, const struct sockaddr *sa)
{
    lt_client *cl = calloc(1, sizeof *cl);
    lt_proxy *px = w->px;
    struct bufferevent *bev = NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cl && px->server_ssl) {
        SSL *ssl = SSL_new(px->server_ssl);
        if (ssl) {
            bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
            if (bev) SSL_set_app_data(ssl, bev);   /* for the ALPN callback */
            else SSL_free(ssl);
        }
    } else if (cl) {
        bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) { free(cl); close(fd); return; }
    cl->w = w;
    cl->bev = bev;
    cl->body = evbuffer_new();
    cl->pend = evbuffer_new();
    TAILQ_INIT(&cl->headers);
    lt_h1_frame_init(&cl->fr, 0, lt_h1_limit(w));
    lt_buf_init(&cl->uri);
    lt_buf_init(&cl->head);
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, cl->peer, sizeof cl->peer);
        cl->ep.family = 6;
        memcpy(cl->ep.addr, &a->sin6_addr, 16);
        cl->ep.port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, cl->peer, sizeof cl->peer);
        cl->ep.family = 4;
        memcpy(cl->ep.addr, &a->sin_addr, 4);
        cl->ep.port = ntohs(a->sin_port);
    }
    cl->next = w->clients;
    if (w->clients) w->clients->prev = cl;
    w->clients = cl;
    int64_t idle = px->cfg->idle_timeout_ms;
    struct timeval tv = {idle / 1000, (idle % 1000) * 1000};
    bufferevent_setcb(bev, lt_h1_read_cb, lt_h1_write_cb, lt_h1_event_cb, cl);
    if (!px->server_ssl) cl->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, lt_h1_rev_cb, cl);
    if (cl->rev) {
        event_add(cl->rev, &tv);
        bufferevent_set_timeouts(bev, NULL, &tv);
        bufferevent_enable(bev, EV_WRITE);
    } else {
        bufferevent_set_timeouts(bev, &tv, &tv);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
    }
}
