/* test_content.c -- Content-Encoding decoding (parsers/content.h), one
 * behaviour per case: each coding the HTTP parsers meet (gzip, x-gzip,
 * zlib-wrapped and raw deflate, br, identity), stacked codings undone in
 * reverse order, input split at every byte, the decompressed-size cap
 * (bomb protection), unknown codings and corrupt data passed through raw.
 * Bodies are compressed here with the zlib and brotli encoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <brotli/encode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "parsers/content.h"

static const char TXT[] =
    "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"\xEC\x95\x88\xEB\x85\x95 compressed hello\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}";

enum { Z_GZIP = 31, Z_ZLIB = 15, Z_RAW = -15 };

/* zlib-compresses in with the given window bits; returns the length. */
static size_t zc(const void *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

static size_t brc(const void *in, size_t n, uint8_t *out, size_t cap)
{
    size_t len = cap;
    assert_true(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, n, in, &len, out));
    return len;
}

/* Decodes in (fed in pieces of `piece` bytes, 0 = one feed) and returns the
 * decoder's verdict; out receives the body. */
typedef struct dec_res {
    uint64_t produced;
    int error, truncated, identity, bomb;
} dec_res;

static dec_res decode(const char *enc, size_t cap, const uint8_t *in, size_t n, size_t piece, lt_buf *out)
{
    dec_res r = {0};
    lt_content *c = lt_content_create(enc, cap);
    assert_non_null(c);
    lt_buf_init(out);
    if (!piece) piece = n ? n : 1;
    for (size_t i = 0; i < n; i += piece)
        r.produced += lt_content_feed(c, in + i, n - i < piece ? n - i : piece, out);
    r.error = lt_content_error(c);
    r.truncated = lt_content_truncated(c);
    r.identity = lt_content_identity(c);
    r.bomb = lt_content_bomb(c);
    lt_content_destroy(c);
    return r;
}

static void expect_text(const char *enc, const uint8_t *in, size_t n, size_t piece)
{
    lt_buf out;
    dec_res r = decode(enc, 1 << 20, in, n, piece, &out);
    if (r.error) fail_msg("%s (piece %zu): decode error", enc, piece);
    assert_int_equal(r.truncated, 0);
    assert_int_equal(r.produced, strlen(TXT));
    assert_int_equal(out.len, strlen(TXT));
    assert_memory_equal(out.data, TXT, strlen(TXT));
    lt_buf_free(&out);
}

/* The same body split at every byte boundary into two feeds, and fed
 * byte by byte. */
static void expect_text_all_splits(const char *enc, const uint8_t *in, size_t n)
{
    expect_text(enc, in, n, 0);
    expect_text(enc, in, n, 1);
    for (size_t cut = 1; cut < n; cut++) {
        lt_buf out;
        lt_content *c = lt_content_create(enc, 1 << 20);
        lt_buf_init(&out);
        uint64_t produced = lt_content_feed(c, in, cut, &out);
        produced += lt_content_feed(c, in + cut, n - cut, &out);
        if (lt_content_error(c) || out.len != strlen(TXT) || memcmp(out.data, TXT, out.len))
            fail_msg("%s split at %zu: error %d, %zu bytes", enc, cut, lt_content_error(c), out.len);
        assert_int_equal(produced, strlen(TXT));
        lt_content_destroy(c);
        lt_buf_free(&out);
    }
}

static void test_identity(void **st)
{
    (void)st;
    const char *encs[] = {NULL, "", "identity", "IDENTITY", " identity "};
    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        lt_buf out;
        dec_res r = decode(encs[i], 1 << 20, (const uint8_t *)TXT, strlen(TXT), 7, &out);
        assert_int_equal(r.identity, 1);
        assert_int_equal(r.error, 0);
        assert_int_equal(out.len, strlen(TXT));
        assert_memory_equal(out.data, TXT, out.len);
        lt_buf_free(&out);
    }
}

static void test_gzip(void **st)
{
    (void)st;
    uint8_t z[1024];
    size_t n = zc(TXT, strlen(TXT), z, sizeof z, Z_GZIP);
    expect_text_all_splits("gzip", z, n);
    expect_text("x-gzip", z, n, 3);
    expect_text("GZip", z, n, 0);
    lt_content *c = lt_content_create("gzip", 100);
    assert_int_equal(lt_content_identity(c), 0);
    lt_content_destroy(c);
}

static void test_deflate_zlib_wrapped(void **st)
{
    (void)st;
    uint8_t z[1024];
    size_t n = zc(TXT, strlen(TXT), z, sizeof z, Z_ZLIB);
    expect_text_all_splits("deflate", z, n);
}

static void test_deflate_raw(void **st)
{
    (void)st;
    uint8_t z[1024];
    size_t n = zc(TXT, strlen(TXT), z, sizeof z, Z_RAW);
    expect_text_all_splits("deflate", z, n);
}

static void test_br(void **st)
{
    (void)st;
    uint8_t b[1024];
    size_t n = brc(TXT, strlen(TXT), b, sizeof b);
    expect_text_all_splits("br", b, n);
}

/* "Content-Encoding: gzip, br" means gzip was applied first, then br: the
 * decoder undoes br, then gzip. */
static void test_stacked(void **st)
{
    (void)st;
    uint8_t g[1024], b[1024];
    size_t gn = zc(TXT, strlen(TXT), g, sizeof g, Z_GZIP);
    size_t bn = brc(g, gn, b, sizeof b);
    expect_text_all_splits("gzip, br", b, bn);
    expect_text("gzip,br", b, bn, 5);
    /* identity in the list changes nothing */
    expect_text("gzip, identity, br", b, bn, 0);
    /* the other order must not decode this body */
    lt_buf out;
    dec_res r = decode("br, gzip", 1 << 20, b, bn, 0, &out);
    assert_int_equal(r.error, 1);
    lt_buf_free(&out);
}

static void test_large_body(void **st)
{
    (void)st;
    /* a body much larger than any internal buffer, compressible and not */
    size_t n = 3u << 20;
    uint8_t *in = malloc(n), *z = malloc(n + 65536), *b = malloc(n + 65536);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = i < n / 2 ? (uint8_t)('a' + (i / 777) % 26) : (uint8_t)(x >> 24);
    }
    size_t zn = zc(in, n, z, n + 65536, Z_GZIP);
    size_t bn = brc(in, n, b, n + 65536);
    size_t pieces[] = {0, 1460, 65536};
    for (size_t k = 0; k < 3; k++) {
        lt_buf out;
        dec_res r = decode("gzip", n, z, zn, pieces[k], &out);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.truncated, 0);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, in, n);
        lt_buf_free(&out);
        r = decode("br", n, b, bn, pieces[k], &out);
        assert_int_equal(r.error, 0);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, in, n);
        lt_buf_free(&out);
    }
    free(in);
    free(z);
    free(b);
}

/* A small body that expands enormously: at most cap bytes are stored, the
 * decoder says truncated, and it does not decode forever. */
static void test_bomb_capped(void **st)
{
    (void)st;
    size_t n = 64u << 20; /* 64 MiB of zeros compress to ~64 KiB */
    uint8_t *zeros = calloc(1, n), *z = malloc(1 << 20), *b = malloc(1 << 20);
    size_t zn = zc(zeros, n, z, 1 << 20, Z_GZIP);
    size_t bn = brc(zeros, n, b, 1 << 20);
    assert_true(zn < (1u << 20));
    lt_buf out;
    dec_res r = decode("gzip", 1000, z, zn, 1460, &out);
    assert_int_equal(out.len, 1000);
    assert_int_equal(r.truncated, 1);
    assert_int_equal(r.error, 0);
    assert_true(r.produced >= 1000);
    assert_true(r.produced <= n);
    for (size_t i = 0; i < out.len; i++) assert_int_equal(out.data[i], 0);
    lt_buf_free(&out);
    r = decode("br", 4096, b, bn, 0, &out);
    assert_int_equal(out.len, 4096);
    assert_int_equal(r.truncated, 1);
    lt_buf_free(&out);
    /* identity bodies obey the cap too */
    r = decode(NULL, 10, (const uint8_t *)TXT, strlen(TXT), 4, &out);
    assert_int_equal(out.len, 10);
    assert_int_equal(r.truncated, 1);
    assert_int_equal(r.produced, strlen(TXT));
    assert_memory_equal(out.data, TXT, 10);
    lt_buf_free(&out);
    free(zeros);
    free(z);
    free(b);
}

/* An unknown coding cannot be undone: the raw bytes are kept, flagged. */
static void test_unknown_coding_raw(void **st)
{
    (void)st;
    const char *encs[] = {"compress", "zstd", "gzip, snappy", "x-custom"};
    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        lt_buf out;
        dec_res r = decode(encs[i], 1 << 20, (const uint8_t *)"raw bytes", 9, 2, &out);
        assert_int_equal(r.error, 1);
        assert_int_equal(r.identity, 0);
        assert_int_equal(out.len, 9);
        assert_memory_equal(out.data, "raw bytes", 9);
        lt_buf_free(&out);
    }
}

/* Data that is not what the header claims: flagged, never a crash, and the
 * output stays within the cap. */
static void test_corrupt_data(void **st)
{
    (void)st;
    const char *encs[] = {"gzip", "deflate", "br", "gzip, br"};
    const char junk[] = "this is plainly not compressed data, \xff\xfe\x00\x01 at all";
    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        lt_buf out;
        dec_res r = decode(encs[i], 16, (const uint8_t *)junk, sizeof junk - 1, 0, &out);
        assert_int_equal(r.error, 1);
        assert_true(out.len <= 16);
        lt_buf_free(&out);
    }
    /* a valid gzip body damaged in the middle */
    uint8_t z[1024];
    size_t n = zc(TXT, strlen(TXT), z, sizeof z, Z_GZIP);
    for (size_t i = 10; i < n - 8; i++) z[i] ^= 0x5a;
    lt_buf out;
    dec_res r = decode("gzip", 1 << 20, z, n, 9, &out);
    assert_int_equal(r.error, 1);
    lt_buf_free(&out);
}

/* Issue 11 item 6: decoding stops at the cap. A 64 MiB run of zeros under a
 * 1000-byte cap used to be inflated to 64x the cap plus 1 MiB; now at most
 * one 16 KiB block per stage passes the cap. */
static void test_stops_at_cap(void **st)
{
    (void)st;
    size_t n = 64u << 20;
    uint8_t *zeros = calloc(1, n), *z = malloc(1 << 20);
    size_t zn = zc(zeros, n, z, 1 << 20, Z_GZIP);
    lt_buf out;
    dec_res r = decode("gzip", 1000, z, zn, 1460, &out);
    if (r.produced > 1000 + 16384)
        fail_msg("expected decoding to stop within 16 KiB past the 1000-byte cap, got %llu bytes inflated",
                 (unsigned long long)r.produced);
    assert_int_equal(r.truncated, 1);
    assert_int_equal(r.bomb, 0); /* the cap came first */
    lt_buf_free(&out);
    free(zeros);
    free(z);
}

/* Issue 11 item 6: "gzip, gzip" turns a few KB into 1 GiB. With a 16 MiB
 * cap, decoding stops once the output passes 256x the input after the
 * first MiB: the body is marked truncated and the bomb is reported. */
static void test_nested_gzip_bomb(void **st)
{
    (void)st;
    size_t n = 256u << 20;
    uint8_t *zeros = calloc(1, n), *z1 = malloc(1 << 20), *z2 = malloc(1 << 20);
    size_t n1 = zc(zeros, n, z1, 1 << 20, Z_GZIP);
    size_t n2 = zc(z1, n1, z2, 1 << 20, Z_GZIP);
    lt_buf out;
    dec_res r = decode("gzip, gzip", 16u << 20, z2, n2, 1460, &out);
    uint64_t bound = LT_CONTENT_RATIO_SLACK + (uint64_t)LT_CONTENT_RATIO_DEFAULT * n2 + 4 * 16384;
    if (r.produced > bound)
        fail_msg("expected at most %llu bytes inflated from %zu (ratio %u), got %llu", (unsigned long long)bound,
                 n2, LT_CONTENT_RATIO_DEFAULT, (unsigned long long)r.produced);
    assert_int_equal(r.bomb, 1);
    assert_int_equal(r.truncated, 1);
    assert_int_equal(r.error, 0);
    for (size_t i = 0; i < out.len; i++) assert_int_equal(out.data[i], 0);
    lt_buf_free(&out);
    free(zeros);
    free(z1);
    free(z2);
}

/* Found by fuzz_http1: the body of a corrupt encoded stream used to depend
 * on how TCP cut it (the raw bytes of the failing feed were appended). Now:
 * failing before any output gives the whole raw body, failing after output
 * keeps the decoded prefix; the same for every feed size. */
static void test_corrupt_same_for_every_split(void **st)
{
    (void)st;
    const char plain[] = "{\"id\":\"not compressed at all\"}";
    uint8_t z[1024];
    size_t n = zc(TXT, strlen(TXT), z, sizeof z, Z_GZIP);
    memcpy(z + n - 12, "\xde\xad\xbe\xef\xde\xad\xbe\xef", 8); /* damage the tail of the deflate data */
    lt_buf first, out;
    dec_res r0 = decode("gzip", 1 << 20, (const uint8_t *)plain, strlen(plain), 0, &first);
    assert_int_equal(r0.error, 1);
    assert_int_equal(first.len, strlen(plain));
    assert_memory_equal(first.data, plain, strlen(plain));
    lt_buf_free(&first);
    dec_res r1 = decode("gzip", 1 << 20, z, n, 0, &first);
    assert_int_equal(r1.error, 1);
    for (size_t piece = 1; piece < 40; piece++) {
        dec_res r = decode("gzip", 1 << 20, (const uint8_t *)plain, strlen(plain), piece, &out);
        if (out.len != strlen(plain)) fail_msg("plain body fed in %zu-byte pieces: expected %zu raw bytes, got %zu",
                                               piece, strlen(plain), out.len);
        assert_int_equal(r.error, 1);
        lt_buf_free(&out);
        decode("gzip", 1 << 20, z, n, piece, &out);
        if (out.len != first.len || memcmp(out.data, first.data, out.len))
            fail_msg("damaged gzip fed in %zu-byte pieces: expected the %zu-byte decoded prefix, got %zu bytes",
                     piece, first.len, out.len);
        lt_buf_free(&out);
    }
    lt_buf_free(&first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_deflate_zlib_wrapped),
        cmocka_unit_test(test_deflate_raw),
        cmocka_unit_test(test_br),
        cmocka_unit_test(test_stacked),
        cmocka_unit_test(test_large_body),
        cmocka_unit_test(test_bomb_capped),
        cmocka_unit_test(test_stops_at_cap),
        cmocka_unit_test(test_nested_gzip_bomb),
        cmocka_unit_test(test_unknown_coding_raw),
        cmocka_unit_test(test_corrupt_data),
        cmocka_unit_test(test_corrupt_same_for_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
