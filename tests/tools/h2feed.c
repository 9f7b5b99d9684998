/* h2feed.c -- feeds two raw HTTP/2 byte streams (client and server side of
 * one connection) through llmtap's HTTP/2 parser, in chunks of a given size,
 * and prints each exchange as one JSON line: stream id, path, status and the
 * request headers in order. Used by the HPACK cross-check.
 *   h2feed CLIENT.bin SERVER.bin [CHUNK] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include "parsers/http2.h"

static void on_ex(void *ud, lt_exchange *ex)
{
    (void)ud;
    json_t *h = json_array();
    for (size_t i = 0; i < ex->req.nhdrs; i++)
        json_array_append_new(h, json_pack("[ss]", ex->req.hdrs[i].name, ex->req.hdrs[i].value));
    json_t *o = json_pack("{s:i,s:s?,s:i,s:o,s:i}", "stream", (int)ex->stream_id, "path", ex->req.target,
                          "status", ex->resp.status, "headers", h, "incomplete", ex->incomplete);
    char *s = json_dumps(o, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(o);
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f) { perror(p); exit(1); }
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) { perror(p); exit(1); }
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: h2feed CLIENT SERVER [CHUNK]\n"); return 2; }
    size_t nc, ns, chunk = argc > 3 ? (size_t)atol(argv[3]) : 1 << 20;
    unsigned char *c = slurp(argv[1], &nc), *s = slurp(argv[2], &ns);
    lt_conn_info conn = {.conn_id = 1};
    lt_app_sink sink = {on_ex, NULL, NULL, NULL};
    void *p = lt_http2_ops.create(NULL, &conn, &sink);
    /* server SETTINGS first, then all requests, then all responses */
    size_t first = 9 + 6 + 9;
    lt_http2_ops.feed(p, LT_DIR_TO_CLIENT, s, first, 1);
    for (size_t off = 0; off < nc; off += chunk)
        lt_http2_ops.feed(p, LT_DIR_TO_SERVER, c + off, nc - off < chunk ? nc - off : chunk, 2);
    for (size_t off = first; off < ns; off += chunk)
        lt_http2_ops.feed(p, LT_DIR_TO_CLIENT, s + off, ns - off < chunk ? ns - off : chunk, 3);
    lt_http2_ops.close(p, 0, 4);
    lt_http2_ops.destroy(p);
    free(c);
    free(s);
    return 0;
}
