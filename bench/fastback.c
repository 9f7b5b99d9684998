/* fastback.c -- the fast backend of bench/proxy.sh: a one-thread libevent
 * HTTP/1.1 server, so the backend is never what limits a proxy benchmark.
 *   fastback PORT
 * GET/POST anything -> 200 with a fixed Azure-OpenAI-shaped JSON body;
 * a path containing "sse" -> an event stream whose first event is written at
 * once and two more 5 ms apart, so a client can time the first chunk. A
 * stream's connection gets TCP_NODELAY, as a streaming server sets it:
 * evhttp leaves Nagle on, and an event written while the one before was
 * still unacknowledged waited for the receiver's delayed ACK (about 40 ms),
 * which put milliseconds of the backend's own into the proxies' figures. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char BODY[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from the bench backend.\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}";

static const char *EVENTS[] = {
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
};

typedef struct sse_call { struct evhttp_request *req; struct event *ev; int next; } sse_call;

static void sse_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    sse_call *c = arg;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, EVENTS[c->next], strlen(EVENTS[c->next]));
    evhttp_send_reply_chunk(c->req, b);
    evbuffer_free(b);
    if (++c->next < 3) {
        struct timeval tv = {0, 5000};
        evtimer_add(c->ev, &tv);
        return;
    }
    evhttp_send_reply_end(c->req);
    event_free(c->ev);
    free(c);
}

static void nodelay(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    int fd = bev ? (int)bufferevent_getfd(bev) : -1, one = 1;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void on_request(struct evhttp_request *req, void *base)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (strstr(evhttp_request_get_uri(req), "sse")) {
        nodelay(req);
        evhttp_add_header(out, "Content-Type", "text/event-stream");
        evhttp_send_reply_start(req, 200, "OK");
        sse_call *c = calloc(1, sizeof *c);
        c->req = req;
        c->ev = evtimer_new(base, sse_step, c);
        sse_step(-1, 0, c);
        return;
    }
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "x-request-id", "req-bench");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_reference(b, BODY, sizeof BODY - 1, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: fastback PORT\n"); return 2; }
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, base);
    if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) < 0) { perror("bind"); return 1; }
    event_base_dispatch(base);
    return 0;
}
