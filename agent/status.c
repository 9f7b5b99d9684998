/* status.c -- the status socket and the Prometheus page (see status.h).
 *
 * Both listeners live on one libevent base in one thread, so a slow client
 * never touches capture. The unix socket answers an accepted connection with
 * the document and closes it: no request to parse, nothing to authenticate
 * beyond the socket's 0600 mode. The HTTP side is libevent's evhttp (no
 * hand-written HTTP). The thread is stopped through a pipe watched by the
 * loop, so libevent needs no thread support compiled in. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "../common/log.h"
#include "status.h"

#define LT_STATUS_MAX 16

struct lt_status {
    struct { char *name; lt_status_provider fn; void *ud; } prov[LT_STATUS_MAX];
    int nprov;
    char *socket_path;
    int sock_fd, stop_pipe[2], metrics_port;
    struct event_base *base;
    struct evconnlistener *listener;
    struct evhttp *http;
    struct event *stop_ev;
    pthread_t thread;
    int started;
};

static int lt_status_fail(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
    return -1;
}

static int lt_status_bind_unix(lt_status *s, const char *path, unsigned uid, unsigned gid, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) { snprintf(err, errlen, "socket path too long: %s", path); return -1; }
    strcpy(sa.sun_path, path);
    char dir[sizeof sa.sun_path];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if (mkdir(dir, 0755) == 0 && geteuid() == 0 && chown(dir, uid, gid) < 0) return lt_status_fail(err, errlen, "chown", dir);
    }
    s->sock_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->sock_fd < 0) return lt_status_fail(err, errlen, "socket", path);
    unlink(path);
    mode_t old = umask(077);
    int rc = bind(s->sock_fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0) return lt_status_fail(err, errlen, "bind", path);
    if (chmod(path, 0600) < 0 || (geteuid() == 0 && chown(path, uid, gid) < 0)) return lt_status_fail(err, errlen, "chmod/chown", path);
    if (listen(s->sock_fd, 16) < 0) return lt_status_fail(err, errlen, "listen", path);
    s->socket_path = strdup(path);
    return 0;
}

json_t *lt_status_document(lt_status *s)
{
    json_t *doc = json_object();
    for (int i = 0; i < s->nprov; i++) {
        json_t *v = s->prov[i].fn(s->prov[i].ud);
        if (v) json_object_set_new(doc, s->prov[i].name, v);
    }
    return doc;
}

/* Writes all of buf to a non-blocking socket, waiting up to a second. */
static void lt_status_write_all(int fd, const char *buf, size_t n)
{
    int64_t waited = 0;
    while (n && waited < 1000) {
        ssize_t w = write(fd, buf, n);
        if (w > 0) { buf += w; n -= (size_t)w; continue; }
        if (w < 0 && errno != EAGAIN && errno != EINTR) return;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        poll(&pf, 1, 50);
        waited += 50;
    }
}

static void lt_status_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *ud)
{
    (void)l, (void)sa, (void)len;
    json_t *doc = lt_status_document(ud);
    char *txt = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (txt) { lt_status_write_all(fd, txt, strlen(txt)); lt_status_write_all(fd, "\n", 1); }
    free(txt);
    close(fd);
}

static void lt_status_metrics(struct evhttp_request *req, void *ud)
{
    json_t *doc = lt_status_document(ud);
    char *txt = lt_status_prometheus(doc);
    json_decref(doc);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, txt, strlen(txt));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
    evhttp_send_reply(req, HTTP_OK, "OK", b);
    evbuffer_free(b);
    free(txt);
}

static void lt_status_notfound(struct evhttp_request *req, void *ud)
{
    (void)ud;
    evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served");
}

static int lt_status_bind_http(lt_status *s, const char *listen_on, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen_on, ':');
    if (!colon || colon == listen_on || (size_t)(colon - listen_on) >= sizeof host) {
        snprintf(err, errlen, "[metrics] listen must be HOST:PORT, got '%s'", listen_on);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen_on), listen_on);
    s->http = evhttp_new(s->base);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_cb(s->http, "/metrics", lt_status_metrics, s);
    evhttp_set_gencb(s->http, lt_status_notfound, s);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)atoi(colon + 1));
    if (!bs) { snprintf(err, errlen, "[metrics] cannot listen on %s", listen_on); return -1; }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0)
        s->metrics_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                         : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

static void lt_status_stop_cb(evutil_socket_t fd, short ev, void *ud)
{
    (void)fd, (void)ev;
    event_base_loopbreak(((lt_status *)ud)->base);
}

lt_status *lt_status_create(const char *socket_path, const char *metrics_listen, unsigned uid, unsigned gid,
                            char *err, size_t errlen)
{
    lt_status *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->sock_fd = s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->base = event_base_new();
    if (!s->base || pipe2(s->stop_pipe, O_CLOEXEC) < 0 ||
        lt_status_bind_unix(s, socket_path, uid, gid, err, errlen) < 0 ||
        (metrics_listen && *metrics_listen && lt_status_bind_http(s, metrics_listen, err, errlen) < 0)) {
        lt_status_destroy(s);
        return NULL;
    }
    s->listener = evconnlistener_new(s->base, lt_status_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, s->sock_fd);
    s->stop_ev = event_new(s->base, s->stop_pipe[0], EV_READ, lt_status_stop_cb, s);
    event_add(s->stop_ev, NULL);
    return s;
}

int lt_status_add(lt_status *s, const char *name, lt_status_provider fn, void *ud)
{
    if (s->nprov == LT_STATUS_MAX) return -1;
    s->prov[s->nprov].name = strdup(name);
    s->prov[s->nprov].fn = fn;
    s->prov[s->nprov].ud = ud;
    s->nprov++;
    return 0;
}

int lt_status_metrics_port(const lt_status *s) { return s->metrics_port; }

static void *lt_status_main(void *ud)
{
    event_base_dispatch(((lt_status *)ud)->base);
    return NULL;
}

int lt_status_start(lt_status *s)
{
    if (pthread_create(&s->thread, NULL, lt_status_main, s) != 0) return -1;
    s->started = 1;
    return 0;
}

void lt_status_destroy(lt_status *s)
{
    if (!s) return;
    if (s->started) {
        if (write(s->stop_pipe[1], "x", 1) < 0) lt_warn("status: cannot stop the status thread");
        pthread_join(s->thread, NULL);
    }
    if (s->http) evhttp_free(s->http);
    if (s->listener) evconnlistener_free(s->listener);
    else if (s->sock_fd >= 0) close(s->sock_fd);
    if (s->stop_ev) event_free(s->stop_ev);
    if (s->base) event_base_free(s->base);
    for (int i = 0; i < 2; i++) if (s->stop_pipe[i] >= 0) close(s->stop_pipe[i]);
    if (s->socket_path) unlink(s->socket_path);
    free(s->socket_path);
    for (int i = 0; i < s->nprov; i++) free(s->prov[i].name);
    free(s);
}

/* Prometheus text: one sample per numeric leaf. */
static void lt_prom_name(char *out, size_t n, const char *prefix, const char *key)
{
    snprintf(out, n, "%s_%s", prefix, key);
    for (char *p = out; *p; p++) if (!isalnum((unsigned char)*p) && *p != '_') *p = '_';
}

static void lt_prom_walk(FILE *f, json_t *v, const char *name, const char *labels, int counter);

static void lt_prom_array(FILE *f, json_t *arr, const char *name, int counter)
{
    size_t i;
    json_t *el;
    json_array_foreach(arr, i, el) {
        const char *lab = json_string_value(json_object_get(el, "interface"));
        const char *key = lab ? "interface" : "name";
        if (!lab) lab = json_string_value(json_object_get(el, "name"));
        char labels[300];
        if (lab) snprintf(labels, sizeof labels, "{%s=\"%.200s\"}", key, lab);
        else snprintf(labels, sizeof labels, "{index=\"%zu\"}", i);
        lt_prom_walk(f, el, name, labels, counter);
    }
}

static void lt_prom_walk(FILE *f, json_t *v, const char *name, const char *labels, int counter)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) {
            char sub[256];
            lt_prom_name(sub, sizeof sub, name, k);
            lt_prom_walk(f, c, sub, labels, counter || !strcmp(k, "counters"));
        }
    } else if (json_is_array(v)) {
        lt_prom_array(f, v, name, counter);
    } else if (json_is_number(v) || json_is_boolean(v)) {
        double d = json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
        if (counter && !*labels) fprintf(f, "# TYPE %s_total counter\n", name);
        fprintf(f, "%s%s%s %.17g\n", name, counter ? "_total" : "", labels, d);
    }
}

char *lt_status_prometheus(json_t *doc)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f) return strdup("");
    lt_prom_walk(f, doc, "llmtap", "", 0);
    fclose(f);
    return out;
}
