/* http.c -- the one place the uploader talks HTTP, with libcurl.
 *
 * TLS verification is always on; a CA bundle can be added (tests, private
 * CAs) but never turned off. Responses are collected whole: token and
 * ingestion answers are small. Timeouts are bounded so a dead endpoint
 * cannot stall the uploader. The uploader's POSTs go through one
 * lt_http_conn (a reused handle: one keep-alive connection, one TLS
 * handshake); token requests, a few per hour, take a handle each. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http.h"

static size_t lt_http_body_cb(char *p, size_t sz, size_t n, void *ud)
{
    lt_buf_append(ud, p, sz * n);
    return sz * n;
}

static size_t lt_http_header_cb(char *p, size_t sz, size_t n, void *ud)
{
    lt_http_resp *r = ud;
    size_t len = sz * n;
    const char *names[] = {"retry-after:", "retry-after-ms:", "x-ms-retry-after-ms:", "www-authenticate:"};
    for (int i = 0; i < 4; i++) {
        size_t l = strlen(names[i]);
        if (len <= l || strncasecmp(p, names[i], l)) continue;
        const char *v = p + l;
        size_t vl = len - l;
        while (vl && (*v == ' ' || *v == '\t')) { v++; vl--; }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        if (i == 3) { free(r->www_authenticate); r->www_authenticate = strndup(v, vl); }
        else {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%.*s", (int)(vl < 31 ? vl : 31), v);
            long ms = i == 0 ? (long)(atof(tmp) * 1000) : atol(tmp);
            if (ms > r->retry_after_ms) r->retry_after_ms = ms;
        }
    }
    return len;
}

struct lt_http_conn {
    CURL *curl;
};

lt_http_conn *lt_http_conn_create(void)
{
    lt_http_conn *c = calloc(1, sizeof *c);
    if (c && !(c->curl = curl_easy_init())) { free(c); return NULL; }
    return c;
}

void lt_http_conn_destroy(lt_http_conn *c)
{
    if (!c) return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void lt_http_resp_free(lt_http_resp *r)
{
    lt_buf_free(&r->body);
    free(r->www_authenticate);
    memset(r, 0, sizeof *r);
}

int lt_http_request(const lt_http_req *q, lt_http_resp *r)
{
    memset(r, 0, sizeof *r);
    lt_buf_init(&r->body);
    CURL *c = q->conn ? q->conn->curl : curl_easy_init();
    if (!c) return -1;
    if (q->conn) curl_easy_reset(c); /* options only: the connection and TLS session stay */
    struct curl_slist *hs = NULL;
    for (size_t i = 0; i < q->nheaders; i++) hs = curl_slist_append(hs, q->headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, lt_http_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, lt_http_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (q->ca_bundle) curl_easy_setopt(c, CURLOPT_CAINFO, q->ca_bundle);
    if (q->body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(rc));
    r->status = (int)status;
    curl_slist_free_all(hs);
    if (!q->conn) curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}
