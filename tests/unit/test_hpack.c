/* test_hpack.c -- parsers/hpack.c, the HPACK decoder of the HTTP/2 parser,
 * on the examples of RFC 7541 Appendix C (a second, independent encoder:
 * the RFC's own byte strings), fed whole and cut at every byte; plus the
 * wrapper's contract: the never-indexed flag, size updates bounded by
 * SETTINGS_HEADER_TABLE_SIZE, failure that sticks until reset, and a reset
 * table that refuses references into the table it forgot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parsers/hpack.h"

typedef struct out {
    char text[4096]; /* "name: value\n" per field, "!" before never-indexed ones */
    size_t len;
} out;

static void on_field(void *ud, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl, int never)
{
    out *o = ud;
    o->len += (size_t)snprintf(o->text + o->len, sizeof o->text - o->len, "%s%.*s: %.*s\n", never ? "!" : "",
                               (int)nl, (const char *)n, (int)vl, (const char *)v);
}

static size_t unhex(const char *h, uint8_t *b)
{
    size_t n = 0;
    for (; h[0] && h[1];) {
        if (h[0] == ' ') { h++; continue; }
        unsigned v;
        sscanf(h, "%2x", &v);
        b[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

/* Decodes blocks[0..n) in sequence; block `cut` is fed in two fragments at
 * byte `at` (cut < 0: every block whole). Fails the test on any error. */
static void run(size_t table, const char **blocks, const char **want, int n, int cut, size_t at)
{
    lt_hpack *h = lt_hpack_create(table);
    assert_non_null(h);
    for (int i = 0; i < n; i++) {
        uint8_t b[512];
        size_t len = unhex(blocks[i], b);
        out o = {{0}, 0};
        if (i == cut && at <= len) {
            assert_int_equal(lt_hpack_decode(h, b, at, 0, on_field, &o), 0);
            assert_int_equal(lt_hpack_in_block(h), 1);
            assert_int_equal(lt_hpack_decode(h, b + at, len - at, 1, on_field, &o), 0);
        } else {
            assert_int_equal(lt_hpack_decode(h, b, len, 1, on_field, &o), 0);
        }
        assert_int_equal(lt_hpack_in_block(h), 0);
        assert_string_equal(o.text, want[i]);
    }
    lt_hpack_destroy(h);
}

/* C.4: requests with Huffman coding, sharing one dynamic table. */
static const char *C4[] = {
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
};
static const char *C4_WANT[] = {
    ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n",
    ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\ncache-control: no-cache\n",
    ":method: GET\n:scheme: https\n:path: /index.html\n:authority: www.example.com\ncustom-key: custom-value\n",
};

/* C.6: responses with Huffman coding and a 256-byte table (evictions); the
 * first block announces the size with a dynamic table size update. */
static const char *C6[] = {
    "3fe101 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad"
    " 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335"
    " dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
};
static const char *C6_WANT[] = {
    ":status: 302\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\nlocation: https://www.example.com\n",
    ":status: 307\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\nlocation: https://www.example.com\n",
    (":status: 200\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:22 GMT\nlocation: https://www.example.com\n"
     "content-encoding: gzip\nset-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n"),
};

static void test_rfc_c4_requests(void **st) { (void)st; run(4096, C4, C4_WANT, 3, -1, 0); }
static void test_rfc_c6_responses_evictions(void **st) { (void)st; run(4096, C6, C6_WANT, 3, -1, 0); }

static void test_rfc_every_fragment(void **st)
{
    (void)st;
    for (int blk = 0; blk < 3; blk++)
        for (size_t at = 0; at <= 60; at++) {
            run(4096, C4, C4_WANT, 3, blk, at);
            run(4096, C6, C6_WANT, 3, blk, at);
        }
}

/* C.2.3: literal never indexed (password: secret). */
static void test_never_indexed_flag(void **st)
{
    (void)st;
    const char *b[] = {"1008 7061 7373 776f 7264 0673 6563 7265 74", "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572 be"};
    const char *w[] = {"!password: secret\n", "custom-key: custom-header\ncustom-key: custom-header\n"};
    run(4096, b, w, 2, -1, 0);
}

/* A size update above the decoder's SETTINGS_HEADER_TABLE_SIZE is refused. */
static void test_size_update_over_settings(void **st)
{
    (void)st;
    uint8_t b[8];
    size_t n = unhex("3fe11f 82", b); /* size update to 4096, :method GET */
    lt_hpack *h = lt_hpack_create(256);
    assert_int_equal(lt_hpack_decode(h, b, n, 1, NULL, NULL), -1);
    lt_hpack_destroy(h);
    h = lt_hpack_create(4096);
    assert_int_equal(lt_hpack_decode(h, b, n, 1, NULL, NULL), 0);
    lt_hpack_destroy(h);
    /* lowered to 256, then raised to 4096 before the next block: the encoder
     * must signal the minimum first (RFC 7541 4.2), then may grow again */
    h = lt_hpack_create(256);
    assert_int_equal(lt_hpack_set_settings_max(h, 4096), 0);
    assert_int_equal(lt_hpack_decode(h, b, n, 1, NULL, NULL), -1);
    lt_hpack_destroy(h);
    h = lt_hpack_create(256);
    assert_int_equal(lt_hpack_set_settings_max(h, 4096), 0);
    n = unhex("3fe101 3fe11f 82", b);
    assert_int_equal(lt_hpack_decode(h, b, n, 1, NULL, NULL), 0);
    lt_hpack_destroy(h);
}

/* After a failure nothing decodes until reset; a reset table knows no entry. */
static void test_failure_sticks_until_reset(void **st)
{
    (void)st;
    uint8_t b[64];
    out o = {{0}, 0};
    lt_hpack *h = lt_hpack_create(4096);
    size_t n = unhex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", b);
    assert_int_equal(lt_hpack_decode(h, b, n, 1, NULL, NULL), 0);
    n = unhex("be", b); /* index 62: www.example.com, known */
    assert_int_equal(lt_hpack_decode(h, b, n, 1, on_field, &o), 0);
    assert_string_equal(o.text, ":authority: www.example.com\n");
    assert_int_equal(lt_hpack_reset(h, 4096), 0);
    assert_int_equal(lt_hpack_decode(h, b, n, 1, NULL, NULL), -1); /* forgotten */
    assert_int_equal(lt_hpack_failed(h), 1);
    n = unhex("82", b);
    assert_int_equal(lt_hpack_decode(h, b, n, 1, NULL, NULL), -1); /* sticky */
    assert_int_equal(lt_hpack_reset(h, 4096), 0);
    o.len = 0;
    o.text[0] = 0;
    assert_int_equal(lt_hpack_decode(h, b, n, 1, on_field, &o), 0);
    assert_string_equal(o.text, ":method: GET\n");
    lt_hpack_destroy(h);
}

/* A block that ends inside a field is an error, not a silent truncation. */
static void test_block_ends_mid_field(void **st)
{
    (void)st;
    uint8_t b[64];
    size_t n = unhex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", b);
    lt_hpack *h = lt_hpack_create(4096);
    assert_int_equal(lt_hpack_decode(h, b, n - 3, 1, NULL, NULL), -1);
    lt_hpack_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_c4_requests),
        cmocka_unit_test(test_rfc_c6_responses_evictions),
        cmocka_unit_test(test_rfc_every_fragment),
        cmocka_unit_test(test_never_indexed_flag),
        cmocka_unit_test(test_size_update_over_settings),
        cmocka_unit_test(test_failure_sticks_until_reset),
        cmocka_unit_test(test_block_ends_mid_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
