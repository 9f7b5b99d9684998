/* proxy.c -- the proxy's workers: listeners, event loops, client
 * connections, backend connection pools, TLS contexts and the SIGTERM
 * drain (see proxy.h). forward.c handles each call.
 *
 * Every worker binds its own socket to the listen address with SO_REUSEPORT
 * (the first one binds port 0 if asked and the others take the port it
 * got), so the kernel balances connections over the loops and no loop ever
 * touches another's objects; the only shared state is the backends' health
 * (one mutex) and the logging queue. Stopping is a flag every loop checks
 * on a short timer, because libevent loops are not woken from other threads
 * without its thread support. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../common/clock.h"
#include "../common/log.h"
#include "proxy.h"

/* ---- backends ---- */

static char *lt_proxy_read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) n--;
    buf[n] = 0;
    return strdup(buf);
}

static SSL_CTX *lt_proxy_client_ctx(const char *ca_bundle, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_default_verify_paths(ctx);
    if (ca_bundle && SSL_CTX_load_verify_locations(ctx, ca_bundle, NULL) != 1) {
        snprintf(err, errlen, "ca_bundle %s: cannot load", ca_bundle);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    return ctx;
}

static int lt_proxy_target(lt_backend_target *t, const lt_proxy_backend_cfg *b, char *err, size_t errlen)
{
    struct evhttp_uri *u = evhttp_uri_parse(b->url);
    if (!u || !evhttp_uri_get_host(u)) {
        snprintf(err, errlen, "[backend.%s]: cannot parse url '%s'", b->name, b->url);
        if (u) evhttp_uri_free(u);
        return -1;
    }
    t->tls = !strcmp(evhttp_uri_get_scheme(u), "https");
    t->host = strdup(evhttp_uri_get_host(u));
    t->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : t->tls ? 443 : 80;
    const char *path = evhttp_uri_get_path(u);
    t->path = strdup(path ? path : "");
    size_t pl = strlen(t->path);
    while (pl && t->path[pl - 1] == '/') t->path[--pl] = 0;
    if ((t->tls && t->port == 443) || (!t->tls && t->port == 80)) snprintf(t->hostport, sizeof t->hostport, "%s", t->host);
    else snprintf(t->hostport, sizeof t->hostport, "%s:%d", t->host, t->port);
    evhttp_uri_free(u);
    if (b->api_key_file && !(t->api_key = lt_proxy_read_key(b->api_key_file))) {
        snprintf(err, errlen, "[backend.%s]: cannot read api_key_file %s", b->name, b->api_key_file);
        return -1;
    }
    if (t->tls && !(t->ssl = lt_proxy_client_ctx(b->ca_bundle, err, errlen))) return -1;
    return 0;
}

static void lt_proxy_bconn_free(lt_bconn *bc)
{
    if (bc->rev) event_free(bc->rev);
    bufferevent_free(bc->bev);
    free(bc);
}

/* Anything from an idle pooled connection (EOF, error, idle timeout, or
 * bytes nobody asked for) ends it; a call's connection is forward.c's. */
static void lt_proxy_bconn_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    lt_bconn *bc = arg;
    if (bc->call) lt_forward_backend_read(bc);
    else lt_proxy_backend_release(bc->w, bc, 0);
}

int lt_proxy_recv(struct bufferevent *bev)
{
    /* into a stack buffer, then copied: reserving 16 KiB in the evbuffer
     * would allocate (and free, once drained) a chunk that size per read */
    char buf[16384];
    ssize_t n = recv(bufferevent_getfd(bev), buf, sizeof buf, 0);
    if (n <= 0) return n == 0 ? 0 : (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_unfreeze(in, 0);   /* a bufferevent keeps its input's end frozen but while it reads */
    int r = evbuffer_add(in, buf, (size_t)n) < 0 ? -2 : (int)n;
    evbuffer_freeze(in, 0);
    return r;
}

static void lt_proxy_bconn_event(struct bufferevent *bev, short what, void *arg);

/* A plain backend connection's reads (and its idle timeout). */
static void lt_proxy_bconn_rev(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    lt_bconn *bc = arg;
    if (ev & EV_TIMEOUT) { lt_proxy_bconn_event(bc->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, bc); return; }
    int n = lt_proxy_recv(bc->bev);
    if (n > 0) lt_proxy_bconn_read(bc->bev, bc);
    else if (n == 0) lt_proxy_bconn_event(bc->bev, BEV_EVENT_READING | BEV_EVENT_EOF, bc);
    else if (n == -2) lt_proxy_bconn_event(bc->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, bc);
}

/* Connected: a plain connection's reads go through our own event from now on. */
static void lt_proxy_bconn_connected(lt_bconn *bc)
{
    bc->connected = 1;
    if (bc->tls || bc->rev) return;
    int64_t idle = bc->w->px->cfg->idle_timeout_ms;
    struct timeval tv = {idle / 1000, (idle % 1000) * 1000};
    bc->rev = event_new(bc->w->base, bufferevent_getfd(bc->bev), EV_READ | EV_PERSIST, lt_proxy_bconn_rev, bc);
    if (bc->rev) event_add(bc->rev, &tv);
    else bufferevent_enable(bc->bev, EV_READ);   /* no memory for an event: the bufferevent reads */
}

static void lt_proxy_bconn_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    lt_bconn *bc = arg;
    if (what & BEV_EVENT_CONNECTED) lt_proxy_bconn_connected(bc);
    if (bc->call) lt_forward_backend_event(bc, what);
    else if (what & BEV_EVENT_CONNECTED) return;
    else if (bc->pos < 0) bc->failed = 1;   /* still in lt_proxy_backend_connect: its caller sees it */
    else lt_proxy_backend_release(bc->w, bc, 0);
}

void lt_proxy_write(struct bufferevent *bev, int direct, struct evbuffer *data)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    if (direct && !evbuffer_get_length(out)) {
        evutil_socket_t fd = bufferevent_getfd(bev);
        while (evbuffer_get_length(data) && evbuffer_write(data, fd) > 0) {}
        if (!evbuffer_get_length(data)) return;
    }
    bufferevent_write_buffer(bev, data);   /* the rest, or an error the bufferevent then reports */
}

static lt_bconn *lt_proxy_backend_connect(lt_worker *w, int idx)
{
    lt_backend_target *t = &w->px->targets[idx];
    lt_bconn *bc = calloc(1, sizeof *bc);
    if (!bc) return NULL;
    struct bufferevent *bev;
    int opts = BEV_OPT_CLOSE_ON_FREE;
    bc->tls = t->tls;
    if (t->tls) {
        opts |= BEV_OPT_DEFER_CALLBACKS;
        SSL *ssl = SSL_new(t->ssl);
        if (!ssl) { free(bc); return NULL; }
        SSL_set_tlsext_host_name(ssl, t->host);
        SSL_set1_host(ssl, t->host);
        bev = bufferevent_openssl_socket_new(w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, opts);
        if (bev) bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(w->base, -1, opts);
    }
    if (!bev) { free(bc); return NULL; }
    bc->bev = bev;
    bc->w = w;
    bc->idx = idx;
    bc->pos = -1;
    bufferevent_setcb(bev, lt_proxy_bconn_read, NULL, lt_proxy_bconn_event, bc);
    /* read/write timeout: also how long it may sit idle in the pool */
    int64_t idle = w->px->cfg->idle_timeout_ms;
    struct timeval tv = {idle / 1000, (idle % 1000) * 1000};
    bufferevent_set_timeouts(bev, t->tls ? &tv : NULL, &tv);
    bufferevent_enable(bev, t->tls ? EV_READ | EV_WRITE : EV_WRITE);
    if (bufferevent_socket_connect_hostname(bev, w->dns, AF_UNSPEC, t->host, t->port) < 0 || bc->failed) {
        lt_proxy_bconn_free(bc);
        return NULL;
    }
    __atomic_add_fetch(&w->px->backends[idx].conns_opened, 1, __ATOMIC_RELAXED);
    return bc;
}

lt_bconn *lt_proxy_backend_get(lt_worker *w, int idx, int fresh)
{
    lt_pool *p = &w->pools[idx];
    if (fresh || !p->nidle) return lt_proxy_backend_connect(w, idx);
    lt_bconn *bc = p->idle[--p->nidle];
    bc->pos = -1;
    __atomic_add_fetch(&w->px->backends[idx].conns_reused, 1, __ATOMIC_RELAXED);
    return bc;
}

void lt_proxy_backend_release(lt_worker *w, lt_bconn *bc, int idle)
{
    lt_pool *p = &w->pools[bc->idx];
    bc->call = NULL;
    if (bc->pos >= 0) {   /* leaving the pool: the last one takes its place */
        p->idle[bc->pos] = p->idle[--p->nidle];
        p->idle[bc->pos]->pos = bc->pos;
        bc->pos = -1;
    } else if (idle && !w->draining && p->nidle < LT_POOL_IDLE_MAX) {
        bc->pos = p->nidle;
        p->idle[p->nidle++] = bc;
        return;
    }
    lt_proxy_bconn_free(bc);
}

/* ---- clients ---- */

static void lt_proxy_endpoint(lt_endpoint *e, const char *addr, int port)
{
    memset(e, 0, sizeof *e);
    e->port = (uint16_t)port;
    if (inet_pton(AF_INET, addr, e->addr) == 1) e->family = 4;
    else if (inet_pton(AF_INET6, addr, e->addr) == 1) e->family = 6;
}

/* ---- listeners ---- */

static int lt_proxy_split_listen(lt_proxy *px, char *err, size_t errlen)
{
    const char *l = px->cfg->listen, *colon = strrchr(l, ':');
    if (!colon) { snprintf(err, errlen, "[proxy] listen: expected HOST:PORT, got '%s'", l); return -1; }
    size_t hl = (size_t)(colon - l);
    if (l[0] == '[' && hl >= 2 && l[hl - 1] == ']') { l++; hl -= 2; }
    if (hl >= sizeof px->listen_host) hl = sizeof px->listen_host - 1;
    memcpy(px->listen_host, l, hl);
    px->listen_host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) { snprintf(err, errlen, "[proxy] listen: bad port in '%s'", px->cfg->listen); return -1; }
    px->listen_port = (int)port;
    lt_proxy_endpoint(&px->listen_ep, px->listen_host, (int)port);
    if (!px->listen_ep.family) { snprintf(err, errlen, "[proxy] listen: '%s' is not an IP address", px->listen_host); return -1; }
    return 0;
}

static int lt_proxy_bind(lt_proxy *px, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    int v6 = px->listen_ep.family == 6;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        memcpy(&a->sin6_addr, px->listen_ep.addr, 16);
        a->sin6_port = htons((uint16_t)px->listen_port);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        memcpy(&a->sin_addr, px->listen_ep.addr, 4);
        a->sin_port = htons((uint16_t)px->listen_port);
        sl = sizeof *a;
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
        snprintf(err, errlen, "[proxy] listen %s: %s", px->cfg->listen, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!px->listen_port) {
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        px->listen_port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
        px->listen_ep.port = (uint16_t)px->listen_port;
    }
    return fd;
}

/* Which worker's loop a bufferevent runs on. */
static lt_worker *lt_proxy_worker_of(lt_proxy *px, struct bufferevent *bev)
{
    struct event_base *base = bufferevent_get_base(bev);
    for (int i = 0; i < px->nworkers; i++) if (px->workers[i].base == base) return &px->workers[i];
    return NULL;
}

/* ALPN: h2 when the client offers it (the connection then leaves h1.c
 * for h2.c, before any request byte is read), else http/1.1. */
static int lt_proxy_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                         unsigned int inlen, void *arg)
{
    lt_proxy *px = arg;
    static const unsigned char both[] = "\x02h2\x08http/1.1", h1[] = "\x08http/1.1";
    if (SSL_select_next_proto((unsigned char **)out, outlen, both, sizeof both - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    if (*outlen == 2 && !memcmp(*out, "h2", 2)) {
        struct bufferevent *bev = SSL_get_app_data(ssl);
        lt_worker *w = bev ? lt_proxy_worker_of(px, bev) : NULL;
        bufferevent_data_cb rcb, wcb;
        bufferevent_event_cb ecb;
        void *arg = NULL;
        if (bev) bufferevent_getcb(bev, &rcb, &wcb, &ecb, &arg);
        lt_client *cl = arg;
        if (w && cl && lt_h2_take(w, bev, cl->peer, cl->ep.port) == 0) {
            lt_h1_forget(cl);
            return SSL_TLSEXT_ERR_OK;
        }
        if (SSL_select_next_proto((unsigned char **)out, outlen, h1, sizeof h1 - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
            return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *lt_proxy_server_ctx(const lt_proxy_cfg *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "[proxy] tls_cert %s / tls_key %s: cannot load", cfg->tls_cert, cfg->tls_key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void lt_proxy_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)l; (void)salen;
    lt_h1_accept(arg, fd, sa);
}

/* ---- workers ---- */

void lt_proxy_drained(lt_worker *w)
{
    /* replies already written may still sit in socket buffers: a
     * short grace lets them reach the clients before the loop ends */
    struct timeval grace = {0, 200000};
    event_base_loopexit(w->base, &grace);
}

static void lt_proxy_tick(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev;
    lt_worker *w = arg;
    if (w->draining || !__atomic_load_n(&w->px->stopping, __ATOMIC_ACQUIRE)) return;
    w->draining = 1;
    if (w->listener) evconnlistener_free(w->listener);
    w->listener = NULL;
    close(w->listen_fd);
    w->listen_fd = -1;
    lt_h2_drain(w);
    int64_t d = w->px->cfg->drain_timeout_ms;
    struct timeval tv = {d / 1000, (d % 1000) * 1000};
    event_base_loopexit(w->base, &tv);
    if (!w->inflight) lt_proxy_drained(w);
}

static void lt_proxy_tap_commit(evutil_socket_t fd, short ev, void *arg);

static void lt_proxy_flush(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev;
    lt_h1_flush_all(arg);
}

static int lt_proxy_worker_init(lt_proxy *px, lt_worker *w, int fd)
{
    w->px = px;
    w->listen_fd = fd;
    w->base = event_base_new();
    w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    w->pools = calloc((size_t)px->n, sizeof *w->pools);
    if (!w->base || !w->pools) return -1;
    w->listener = evconnlistener_new(w->base, lt_proxy_accept, w, 0, -1, fd);
    w->tap_ev = event_new(w->base, -1, 0, lt_proxy_tap_commit, w);
    w->flush_ev = event_new(w->base, -1, 0, lt_proxy_flush, w);
    w->wscratch = evbuffer_new();
    if (!w->tap_ev || !w->flush_ev || !w->wscratch) return -1;
    w->stop_ev = event_new(w->base, -1, EV_PERSIST, lt_proxy_tick, w);
    struct timeval tick = {0, 50000};
    event_add(w->stop_ev, &tick);
    return w->listener ? 0 : -1;
}

/* The loop's logging events go to the logging thread once per loop
 * iteration: the first event of a batch activates tap_ev, which runs after
 * the callbacks already active in this iteration. */
static void lt_proxy_tap_arm(void *arg)
{
    lt_worker *w = arg;
    event_active(w->tap_ev, EV_TIMEOUT, 1);
}

static void lt_proxy_tap_commit(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd; (void)ev;
    lt_worker *w = arg;
    lt_tap_commit(w->px->tap);
}

static void *lt_proxy_worker_main(void *arg)
{
    lt_worker *w = arg;
    if (w->px->tap && w->tap_ev) lt_tap_batch(w->px->tap, lt_proxy_tap_arm, w);
    event_base_dispatch(w->base);
    if (w->px->tap && w->tap_ev) lt_tap_batch(NULL, NULL, NULL);   /* commits what waits */
    return NULL;
}

static void lt_proxy_worker_free(lt_worker *w)
{
    if (w->listener) evconnlistener_free(w->listener);
    lt_h2_free_all(w);
    while (w->clients) lt_h1_free(w->clients);
    for (int i = 0; w->pools && i < w->px->n; i++)
        while (w->pools[i].nidle) lt_proxy_bconn_free(w->pools[i].idle[--w->pools[i].nidle]);
    if (w->base) event_base_loop(w->base, EVLOOP_NONBLOCK);   /* finalizers of the freed bufferevents */
    free(w->pools);
    lt_buf_free(&w->tapbuf);
    if (w->stop_ev) event_free(w->stop_ev);
    if (w->tap_ev) event_free(w->tap_ev);
    if (w->flush_ev) event_free(w->flush_ev);
    lt_forward_free_cache(w);
    if (w->wscratch) evbuffer_free(w->wscratch);
    if (w->dns) evdns_base_free(w->dns, 0);
    if (w->base) event_base_free(w->base);
    if (w->listen_fd >= 0) close(w->listen_fd);
}

/* ---- the proxy ---- */

static int lt_proxy_backends(lt_proxy *px, char *err, size_t errlen)
{
    lt_proxy_cfg *cfg = px->cfg;
    px->n = cfg->n_backends;
    px->backends = calloc((size_t)px->n, sizeof *px->backends);
    px->targets = calloc((size_t)px->n, sizeof *px->targets);
    if (!px->backends || !px->targets) return -1;
    for (int i = 0; i < px->n; i++) {
        lt_backend *b = &px->backends[i];
        b->name = cfg->backends[i].name;
        b->url = cfg->backends[i].url;
        b->priority = cfg->backends[i].priority;
        b->weight = cfg->backends[i].weight;
        if (lt_proxy_target(&px->targets[i], &cfg->backends[i], err, errlen) < 0) return -1;
    }
    return 0;
}

lt_proxy *lt_proxy_create(lt_proxy_cfg *cfg, lt_tap *tap, char *err, size_t errlen)
{
    lt_proxy *px = calloc(1, sizeof *px);
    if (!px) return NULL;
    px->cfg = cfg;
    px->tap = tap;
    pthread_mutex_init(&px->mu, NULL);
    px->nworkers = cfg->workers;
    px->workers = calloc((size_t)px->nworkers, sizeof *px->workers);
    for (int i = 0; i < px->nworkers; i++) px->workers[i].listen_fd = -1;
    if (lt_proxy_backends(px, err, errlen) < 0 || lt_proxy_split_listen(px, err, errlen) < 0) goto fail;
    if (cfg->tls_cert && !(px->server_ssl = lt_proxy_server_ctx(cfg, err, errlen))) goto fail;
    if (px->server_ssl) SSL_CTX_set_alpn_select_cb(px->server_ssl, lt_proxy_alpn, px);
    for (int i = 0; i < px->nworkers; i++) {
        lt_worker *w = &px->workers[i];
        w->idx = i;
        int fd = lt_proxy_bind(px, err, errlen);
        if (fd < 0) goto fail;
        if (lt_proxy_worker_init(px, w, fd) < 0) { snprintf(err, errlen, "cannot start event loop %d", i); goto fail; }
    }
    return px;
fail:
    lt_proxy_destroy(px);
    return NULL;
}

int lt_proxy_start(lt_proxy *px)
{
    for (int i = 0; i < px->nworkers; i++)
        if (pthread_create(&px->workers[i].thread, NULL, lt_proxy_worker_main, &px->workers[i])) return -1;
    return 0;
}

void lt_proxy_stop(lt_proxy *px)
{
    __atomic_store_n(&px->stopping, 1, __ATOMIC_RELEASE);
}

void lt_proxy_wait(lt_proxy *px)
{
    for (int i = 0; i < px->nworkers; i++)
        if (px->workers[i].thread) pthread_join(px->workers[i].thread, NULL);
}

json_t *lt_proxy_backends_json(lt_proxy *px)
{
    json_t *a = json_array();
    lt_time_us now = lt_clock_now_us();
    pthread_mutex_lock(&px->mu);
    for (int i = 0; i < px->n; i++) json_array_append_new(a, lt_backend_json(&px->backends[i], now));
    pthread_mutex_unlock(&px->mu);
    return a;
}

void lt_proxy_destroy(lt_proxy *px)
{
    if (!px) return;
    for (int i = 0; i < px->nworkers; i++) if (px->workers[i].px) lt_proxy_worker_free(&px->workers[i]);
    free(px->workers);
    for (int i = 0; px->targets && i < px->n; i++) {
        lt_backend_target *t = &px->targets[i];
        free(t->host); free(t->path); free(t->api_key);
        if (t->ssl) SSL_CTX_free(t->ssl);
    }
    free(px->targets);
    free(px->backends);
    if (px->server_ssl) SSL_CTX_free(px->server_ssl);
    pthread_mutex_destroy(&px->mu);
    free(px);
}
