/* proxy.h -- `llmtap proxy`: the inline mode's reverse proxy.
 *
 * One lt_proxy holds the settings, the backends' shared state (balancing,
 * cooldown, breaker; one mutex, held only for the pick and the outcome), the
 * logging thread (tap.h) and N workers. Each worker is a thread with its own
 * libevent loop, its own listening socket on the same address
 * (SO_REUSEPORT: the kernel spreads connections over the loops, no thread
 * per connection), its own listener, evdns resolver and keep-alive
 * connection pools to the backends, all on bufferevents. forward.c does the
 * work of one call; h1.c and h2.c are its client sides (HTTP/1.x, HTTP/2).
 *
 * The internal structs are here because proxy.c and forward.c share them;
 * only lt_proxy_* and lt_forward_* functions are public. */
#ifndef LT_PROXY_H
#define LT_PROXY_H

#include <pthread.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include "../common/lt.h"
#include "backend.h"
#include "h1_frame.h"
#include "proxy_cfg.h"
#include "tap.h"

struct event_base;
struct evdns_base;
struct evconnlistener;
struct event;
struct sockaddr;
struct evbuffer;
struct bufferevent;
typedef struct lt_h2_conn lt_h2_conn;

#define LT_POOL_IDLE_MAX 256

typedef struct lt_proxy lt_proxy;
typedef struct lt_worker lt_worker;

/* A head's fields without an allocation per field: evkeyval entries (so
 * evhttp_find_header and TAILQ_FOREACH work on them) in an array kept from
 * request to request, pointing into a copy of the head. Never given to
 * evhttp_clear_headers. */
typedef struct lt_fwd_kv {
    struct evkeyval *v;
    size_t cap;
} lt_fwd_kv;

/* One connection to a backend (http or https), kept alive between calls: a
 * bufferevent (bufferevent_openssl for https) that forward.c writes each
 * request to and frames each response from. It is never reconnected: once
 * it closes (the backend closed it, an error, the idle timeout,
 * Connection: close) it is freed, so a TLS connection is never reused
 * without its session. */
typedef struct lt_bconn {
    struct bufferevent *bev;
    lt_worker *w;
    struct lt_call *call;         /* the call it carries; NULL = idle */
    int idx;                      /* backend */
    int pos;                      /* place in the pool's idle array; -1 = in use */
    int connected;                /* its TCP connect (and TLS handshake) is done */
    int failed;                   /* it failed before a call took it (connect error) */
    int tls;
    struct event *rev;            /* plain: our read event (lt_proxy_recv), once connected */
    int nodelay;                  /* TCP_NODELAY set */
    uint64_t uses;                /* requests made on it */
} lt_bconn;

typedef struct lt_pool {          /* one backend, one worker: idle keep-alive connections (LIFO) */
    lt_bconn *idle[LT_POOL_IDLE_MAX];
    int nidle;
} lt_pool;

typedef struct lt_client {        /* one HTTP/1.x client connection (h1.c) */
    struct lt_client *next, *prev; /* worker's list */
    lt_worker *w;
    struct bufferevent *bev;
    lt_tap_conn tap;
    int tap_open;                 /* the tap knows it (from its first request on) */
    struct lt_call *call;         /* the call being answered, if any */
    char peer[64];                /* address, for X-Forwarded-For */
    lt_endpoint ep;
    int st;                       /* head, body, call or closing (h1.c) */
    int cmd, minor, keep;         /* the request: method, HTTP/1.minor, connection kept after the reply */
    int chunked_out;              /* the reply is sent chunked */
    int in_proc;                  /* framing under way */
    int served;                   /* decided HTTP/1.x (a request, or bytes that are no h2c preface) */
    int paused;                   /* not reading (too much pipelined behind a call, or closing) */
    int dirty;                    /* has bytes in pend: on the worker's flush list */
    struct lt_client *dnext;      /* flush list */
    struct evbuffer *pend;        /* reply bytes of this loop iteration, written at its end */
    struct event *rev;            /* plain: our read event (lt_proxy_recv); TLS: NULL, the bufferevent reads */
    lt_h1_frame fr;               /* the request's framing (h1_frame.h) */
    struct evkeyvalq headers;     /* the request's fields: entries of kv, pointing into head */
    lt_buf head;                  /* copy of the request head, parsed in place */
    lt_fwd_kv kv;
    struct evbuffer *body;        /* the request's body */
    lt_buf uri;
} lt_client;

typedef struct lt_backend_target { /* parsed url of a backend */
    char *host, *path;            /* path prefix without trailing '/' ("" if none) */
    char hostport[300];           /* Host header */
    int port, tls;
    char *api_key;                /* contents of api_key_file, trimmed */
    SSL_CTX *ssl;                 /* https: verifying context (system CAs + ca_bundle) */
} lt_backend_target;

struct lt_worker {
    lt_proxy *px;
    int idx;
    pthread_t thread;
    struct event_base *base;
    struct evdns_base *dns;
    struct evconnlistener *listener;
    int listen_fd;
    struct event *stop_ev, *drain_timer;
    struct event *tap_ev;         /* hands the loop iteration's logging events over (lt_tap_batch) */
    int draining;
    int inflight;
    lt_pool *pools;               /* one per backend */
    lt_client *clients;           /* HTTP/1.x client connections (h1.c) */
    lt_client *dirty;             /* those with reply bytes to write at the end of the iteration */
    struct event *flush_ev;       /* runs lt_h1_flush_all after the iteration's callbacks */
    struct evbuffer *wscratch;    /* forward.c: a request on its way to a backend connection */
    struct lt_call *call_cache;   /* forward.c: ended calls, reused */
    int ncall_cache;
    lt_h2_conn *h2;               /* HTTP/2 client connections (h2.c) */
    lt_buf tapbuf;                /* forward.c's scratch for the bytes the tap sees */
};

struct lt_proxy {
    lt_proxy_cfg *cfg;
    lt_tap *tap;
    pthread_mutex_t mu;           /* guards backends */
    lt_backend *backends;
    lt_backend_target *targets;
    int n;
    lt_worker *workers;
    int nworkers;
    SSL_CTX *server_ssl;          /* listener TLS, NULL = plain HTTP */
    char listen_host[256];
    int listen_port;              /* actual port (after binding port 0) */
    lt_endpoint listen_ep;
    uint64_t local_replies, client_cancels;
    uint64_t refused;             /* HTTP/1.x requests answered unread (malformed, too large, method) */
    int stopping;
};

/* Parses the backends, binds the listeners (port 0 read back), starts nothing. */
lt_proxy *lt_proxy_create(lt_proxy_cfg *cfg, lt_tap *tap, char *err, size_t errlen);
/* Starts the worker threads. 0 ok. */
int lt_proxy_start(lt_proxy *px);
/* Any thread: stop accepting; in-flight calls finish until the drain deadline. */
void lt_proxy_stop(lt_proxy *px);
/* Joins the workers (after lt_proxy_stop). */
void lt_proxy_wait(lt_proxy *px);
/* Per-backend state and counters, for `llmtap status` and metrics. */
json_t *lt_proxy_backends_json(lt_proxy *px);
void lt_proxy_destroy(lt_proxy *px);

/* A connection to backend idx: the most recently idle one of the worker's
 * pool, or (fresh, or none idle) a new one (TLS if https); NULL: no memory. */
lt_bconn *lt_proxy_backend_get(lt_worker *w, int idx, int fresh);
/* Gives a backend connection back to the worker's pool when it is still
 * open and idle (its call answered), else frees it at once (safe inside its
 * own bufferevent callbacks, which are deferred; the caller must not touch
 * it afterwards). */
void lt_proxy_backend_release(lt_worker *w, lt_bconn *bc, int idle);

/* A draining worker's last call ended: its loop ends after a short grace. */
void lt_proxy_drained(lt_worker *w);

/* forward.c: a backend connection's bufferevent events while a call uses it. */
void lt_forward_backend_read(lt_bconn *bc);
void lt_forward_backend_event(lt_bconn *bc, short what);

/* forward.c: one call, whatever protocol the client speaks. The client
 * side is this interface, implemented by h1.c (evhttp, HTTP/1.x) and h2.c
 * (libnghttp2, one call per stream); balancing, failover, limits, headers
 * and the tap's bytes are forward.c's alone. */
typedef struct lt_call lt_call;
typedef struct lt_fwd_ops {
    /* Starts the reply with the backend's head (hdrs: what the backend sent;
     * each side drops what it must not pass on). Returns 1 when the body is
     * streamed without a length: the tap, which reads HTTP/1.1, then sees
     * it chunked. */
    int (*head)(void *cs, int status, const char *reason, struct evkeyvalq *hdrs);
    void (*chunk)(void *cs, struct evbuffer *data);   /* drains data */
    void (*end)(void *cs);
    /* A whole reply at once (hdrs already final, Content-Length included). */
    void (*reply)(void *cs, int status, const char *reason, struct evkeyvalq *hdrs, struct evbuffer *body);
    /* The backend failed mid-reply: the client must see the reply end early.
     * The side ends the call with lt_forward_cancel (now or later). */
    void (*cut)(void *cs, lt_call *c);
} lt_fwd_ops;

typedef struct lt_fwd_req {       /* a client's request, as forward.c sees it */
    int cmd;                      /* enum evhttp_cmd_type */
    const char *uri;
    struct evkeyvalq *headers;    /* with Host (h2: from :authority) */
    struct evbuffer *body;
    const char *peer;             /* client address, for X-Forwarded-For */
    int minor;                    /* HTTP/1.x minor version the tap shows */
} lt_fwd_req;

/* Fills q with the header lines in [p, end) (up to an empty line; the
 * memory is modified: names and values NUL-terminated in place), entries
 * from kv. -1: malformed (no colon, a bare CR, folded line) or no memory. */
int lt_forward_kv_fields(lt_fwd_kv *kv, struct evkeyvalq *q, char *p, char *end);
/* Worker exit: frees the cached call objects. */
void lt_forward_free_cache(lt_worker *w);
/* h1.c: the length of the head at the start of in (through its blank line),
 * 0 while its end has not arrived; the search resumes where the last one
 * stopped (f->scanned). Both sides frame heads with it. */
size_t lt_h1_head_length(struct evbuffer *in, lt_h1_frame *f);
/* Creates a call (the request's bytes go to the tap); NULL: out of memory.
 * The request must stay valid until the call ends. */
lt_call *lt_forward_call(lt_worker *w, const lt_fwd_ops *ops, void *cs, lt_tap_conn *tap, const lt_fwd_req *req);
/* Runs it: limits, drain, attempts (its answer may come at once, through ops). */
void lt_forward_go(lt_call *c);
/* The client is gone (or cut): cancels the backend request, ends the call. */
void lt_forward_cancel(lt_call *c);
const char *lt_forward_method(int cmd);
/* RFC 9110 7.6.1 hop-by-hop fields, plus those the Connection field names. */
int lt_forward_hop(const char *name, const char *connection);
/* Copies a head minus hop-by-hop fields. */
void lt_forward_copy_headers(struct evkeyvalq *from, struct evkeyvalq *to);

/* h1.c: a connection accepted on the listener (fd nonblocking; TLS when
 * the proxy has a certificate); the end of one (a call under way is
 * cancelled); forget: h2.c took its bufferevent, only the record goes. */
void lt_h1_accept(lt_worker *w, int fd, const struct sockaddr *peer);
void lt_h1_free(lt_client *cl);
void lt_h1_forget(lt_client *cl);
/* Writes every client's pending reply bytes: straight to the socket when
 * nothing waits in its bufferevent (no write event, no epoll change), the
 * rest through the bufferevent. */
void lt_h1_flush_all(lt_worker *w);
/* proxy.c: writes data (drained) to a bufferevent, directly to the socket
 * when it is a plain connected one with nothing queued. */
void lt_proxy_write(struct bufferevent *bev, int direct, struct evbuffer *data);
/* proxy.c: one read of a plain bufferevent's socket into its input buffer,
 * without the FIONREAD ioctl bufferevent_socket makes before every read
 * (plain sockets are read through an event of our own; the bufferevent
 * only writes). >0 bytes read, 0 EOF, -1 nothing now, -2 error. */
int lt_proxy_recv(struct bufferevent *bev);

/* h2.c: HTTP/2 clients (ALPN h2 on the TLS listener). */
/* Called from the ALPN callback once h2 is chosen, or by h1.c when a
 * cleartext connection opens with the HTTP/2 preface (h2c with prior
 * knowledge): takes the connection's bufferevent (it gets our callbacks;
 * bytes already in its input are processed at once); peer: the client's
 * address. 0 ok (the caller has dropped or then drops its h1 record);
 * -1: the bufferevent is still the caller's. */
int lt_h2_take(lt_worker *w, struct bufferevent *bev, const char *peer, int port);
/* Drain: GOAWAY to every connection; they close when their streams end. */
void lt_h2_drain(lt_worker *w);
/* Worker exit: frees every h2 connection (before evhttp_free). */
void lt_h2_free_all(lt_worker *w);

#endif
