/* h1.c -- the HTTP/1.x client side of the proxy: evhttp's server hands us
 * each request; forward.c does the call and answers through the lt_fwd_ops
 * below (evhttp's reply functions). One call at a time per connection, as
 * evhttp reads the next request only after the reply ended. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include "proxy.h"

/* The request is ended by the reply: nothing of the call is left here. */
static struct evhttp_request *lt_h1_detach(lt_client *cl)
{
    struct evhttp_request *req = cl->req;
    cl->req = NULL;
    cl->call = NULL;
    return req;
}

static struct evkeyvalq *lt_h1_head(void *cs, int status, const char *reason, struct evkeyvalq *hdrs)
{
    lt_client *cl = cs;
    struct evkeyvalq *out = evhttp_request_get_output_headers(cl->req);
    lt_forward_copy_headers(hdrs, out);
    evhttp_send_reply_start(cl->req, status, reason);
    return out;   /* with evhttp's Transfer-Encoding: chunked when it streams without a length */
}

static void lt_h1_chunk(void *cs, struct evbuffer *data)
{
    lt_client *cl = cs;
    evhttp_send_reply_chunk(cl->req, data);
}

static void lt_h1_end(void *cs)
{
    evhttp_send_reply_end(lt_h1_detach(cs));
}

static void lt_h1_reply(void *cs, int status, const char *reason, struct evkeyvalq *hdrs, struct evbuffer *body)
{
    struct evhttp_request *req = lt_h1_detach(cs);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_clear_headers(out);
    struct evkeyval *h;
    TAILQ_FOREACH(h, hdrs, next) evhttp_add_header(out, h->key, h->value);
    evhttp_send_reply(req, status, reason, body);
}

/* The client sees the response end early: its connection is closed, and
 * the close callback (lt_h1_client_closed) ends the call. */
static void lt_h1_cut(void *cs, lt_call *c)
{
    (void)c;
    lt_client *cl = cs;
    evhttp_connection_free(cl->evcon);
}

static const lt_fwd_ops lt_h1_ops = {lt_h1_head, lt_h1_chunk, lt_h1_end, lt_h1_reply, lt_h1_cut};

void lt_h1_client_closed(lt_client *cl)
{
    lt_call *c = cl->call;
    if (!c) return;
    struct evhttp_request *req = lt_h1_detach(cl);
    /* detached by evhttp after a client EOF: ours to free; still attached: freed with its connection */
    if (req && !evhttp_request_get_connection(req)) evhttp_request_free(req);
    lt_forward_cancel(c);
}

void lt_h1_request(struct evhttp_request *req, void *arg)
{
    lt_worker *w = arg;
    lt_client *cl = lt_proxy_client(w, evhttp_request_get_connection(req));
    if (cl && cl->call && cl->req == req) {   /* evhttp re-invokes us after a client error */
        lt_h1_client_closed(cl);
        return;
    }
    if (!cl) { evhttp_send_error(req, 500, "out of memory"); return; }
    char *peer = NULL;
    ev_uint16_t port;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    lt_fwd_req fr = {
        .cmd = evhttp_request_get_command(req), .uri = evhttp_request_get_uri(req),
        .headers = evhttp_request_get_input_headers(req), .body = evhttp_request_get_input_buffer(req),
        .peer = peer ? peer : "", .minor = req->minor,
    };
    lt_call *c = lt_forward_call(w, &lt_h1_ops, cl, &cl->tap, &fr);
    if (!c) { evhttp_send_error(req, 500, "out of memory"); return; }
    cl->call = c;
    cl->req = req;
    lt_forward_go(c);
}
