/* hpack_decode.c -- decodes header blocks written by an independent HPACK
 * encoder (tests/tools/hpack_blocks.py, python3-hpack) with llmtap's own
 * decoder (parsers/hpack.c, the code path of the HTTP/2 parser) and checks
 * every field: name and value bytes, in order, and the never-indexed flag.
 * Each case is decoded three times -- blocks whole, in 1-byte fragments and
 * cut in two -- because the HTTP/2 parser feeds fragments as they arrive.
 * Cases marked expect_error must fail (unknown dynamic index, a size update
 * above SETTINGS_HEADER_TABLE_SIZE, a block ending inside a field).
 *   hpack_decode CASES.json      prints one line per failure, then
 *                                "N passed, N failed"; exit 1 on failure */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parsers/hpack.h"

typedef struct got {
    char *buf;      /* "name_hex value_hex flag\n" per field */
    size_t len, cap;
} got;

static void hex(got *g, const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    if (g->len + 2 * n + 8 > g->cap) {
        g->cap = (g->len + 2 * n + 8) * 2;
        g->buf = realloc(g->buf, g->cap);
    }
    for (size_t i = 0; i < n; i++) {
        g->buf[g->len++] = d[p[i] >> 4];
        g->buf[g->len++] = d[p[i] & 15];
    }
    g->buf[g->len] = 0;
}

static void on_field(void *ud, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen, int never)
{
    got *g = ud;
    hex(g, name, nlen);
    hex(g, (const uint8_t *)" ", 0);
    g->buf[g->len++] = ' ';
    hex(g, value, vlen);
    g->buf[g->len++] = ' ';
    g->buf[g->len++] = never ? '1' : '0';
    g->buf[g->len++] = '\n';
    g->buf[g->len] = 0;
}

static char *expected(json_t *headers)
{
    size_t i, cap = 64, len = 0;
    json_t *h;
    char *s = malloc(cap);
    s[0] = 0;
    json_array_foreach(headers, i, h) {
        const char *n = json_string_value(json_array_get(h, 0)), *v = json_string_value(json_array_get(h, 1));
        int never = json_is_true(json_array_get(h, 2));
        size_t need = strlen(n) + strlen(v) + 8;
        if (len + need > cap) { cap = (len + need) * 2; s = realloc(s, cap); }
        len += (size_t)sprintf(s + len, "%s %s %c\n", n, v, never ? '1' : '0');
    }
    return s;
}

static uint8_t *unhex(const char *h, size_t *n)
{
    *n = strlen(h) / 2;
    uint8_t *b = malloc(*n + 1);
    for (size_t i = 0; i < *n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (uint8_t)v;
    }
    return b;
}

/* mode 0: whole blocks; 1: 1-byte fragments; 2: two halves. Returns the
 * number of mismatches (an unexpected error counts as one). */
static int run_case(json_t *c, int mode)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    size_t smax = (size_t)json_integer_value(json_object_get(c, "settings_max"));
    int want_err = json_is_true(json_object_get(c, "expect_error"));
    lt_hpack *hp = lt_hpack_create(smax);
    json_t *blocks = json_object_get(c, "blocks"), *b;
    size_t i;
    int bad = 0, failed = 0;
    json_array_foreach(blocks, i, b) {
        size_t n;
        uint8_t *data = unhex(json_string_value(json_object_get(b, "hex")), &n);
        got g = {0};
        int rc = 0;
        if (mode == 0) {
            rc = lt_hpack_decode(hp, data, n, 1, on_field, &g);
        } else if (mode == 1) {
            for (size_t k = 0; k < n && !rc; k++) rc = lt_hpack_decode(hp, data + k, 1, 0, on_field, &g);
            if (!rc) rc = lt_hpack_decode(hp, NULL, 0, 1, on_field, &g);
        } else {
            rc = lt_hpack_decode(hp, data, n / 2, 0, on_field, &g);
            if (!rc) rc = lt_hpack_decode(hp, data + n / 2, n - n / 2, 1, on_field, &g);
        }
        free(data);
        if (rc < 0) {
            failed = 1;
            free(g.buf);
            break;
        }
        char *want = expected(json_object_get(b, "headers"));
        if (strcmp(want, g.buf ? g.buf : "")) {
            bad++;
            printf("%s (mode %d) block %zu: decoded fields differ\n  want:\n%s  got:\n%s", name, mode, i, want, g.buf ? g.buf : "");
        }
        free(want);
        free(g.buf);
    }
    lt_hpack_destroy(hp);
    if (failed != want_err) {
        printf("%s (mode %d): %s\n", name, mode, want_err ? "decoded, but must fail" : "HPACK error");
        bad++;
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: hpack_decode CASES.json\n"); return 2; }
    json_error_t err;
    json_t *root = json_load_file(argv[1], 0, &err);
    if (!root) { fprintf(stderr, "%s: %s\n", argv[1], err.text); return 2; }
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i;
    int pass = 0, fail = 0;
    json_array_foreach(cases, i, c)
        for (int mode = 0; mode < 3; mode++) run_case(c, mode) ? fail++ : pass++;
    json_decref(root);
    printf("%d passed, %d failed\n", pass, fail);
    return fail || !pass;
}
