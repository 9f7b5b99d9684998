/* http.h -- minimal HTTP client for the uploader (libcurl underneath). */
#ifndef LT_HTTP_H
#define LT_HTTP_H

#include <stddef.h>
#include "../common/lt.h"

/* A libcurl handle kept between requests, so that they share one
 * connection (keep-alive), its TLS session and the parsed CA bundle instead
 * of a TCP and TLS handshake and a CA file read per request. One thread at
 * a time. */
typedef struct lt_http_conn lt_http_conn;
lt_http_conn *lt_http_conn_create(void);
void lt_http_conn_destroy(lt_http_conn *c);

typedef struct lt_http_req {
    const char *url;
    const char *const *headers;  /* "Name: value" */
    size_t nheaders;
    const void *body;            /* NULL: GET */
    size_t body_len;
    const char *ca_bundle;
    lt_http_conn *conn;          /* NULL: a connection for this request only */
} lt_http_req;

typedef struct lt_http_resp {
    int status;                  /* 0 when the request failed before an answer */
    lt_buf body;
    long retry_after_ms;         /* largest of Retry-After, retry-after-ms, x-ms-retry-after-ms */
    char *www_authenticate;
    char error[256];             /* transport error text */
} lt_http_resp;

/* 0 when an HTTP answer arrived (any status), -1 on a transport error. */
int lt_http_request(const lt_http_req *q, lt_http_resp *r);
void lt_http_resp_free(lt_http_resp *r);

#endif
