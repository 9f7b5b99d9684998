/* test_chunk.c -- LLM records → Log Analytics rows (uploader/chunk.c): row 0
 * keeps every column and the tokens; a message longer than the chunk size
 * moves to rows 1..n cut on UTF-8 boundaries, each at most the chunk size
 * once escaped, that concatenate back to the exact text; the message cap
 * truncates and flags; gateway records pass through as one row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uploader/chunk.h"

static json_t *llm(const char *req_text)
{
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", req_text);
    return json_pack("{s:s,s:s,s:s,s:i,s:i,s:o}", "TimeGenerated", "2026-11-22T10:00:00Z", "CallTime",
                     "2026-11-22T10:00:00Z", "RecordId", "r1", "SequenceNumber", 0, "TotalTokens", 42,
                     "RequestMessages", msgs);
}

static lt_upload_cfg cfg(size_t chunk, size_t cap)
{
    lt_upload_cfg c;
    lt_upload_cfg_defaults(&c);
    c.chunk_bytes = chunk;
    c.message_cap = cap;
    return c;
}

static void test_small_stays_in_row0(void **st)
{
    (void)st;
    lt_upload_cfg c = cfg(32768, 2u << 20);
    json_t *rec = llm("hello");
    json_t *rows = lt_chunk_rows(&c, rec);
    json_decref(rec);
    assert_int_equal(json_array_size(rows), 1);
    json_t *r0 = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(r0, "TotalTokens")), 42);
    assert_non_null(json_object_get(r0, "RequestMessages"));
    json_decref(rows);
    lt_upload_cfg_free(&c);
}

static void test_large_is_cut_and_reassembles(void **st)
{
    (void)st;
    /* 3-byte characters and quotes that escape: cuts must respect both */
    size_t n = 5000;
    char *text = malloc(n * 4 + 1), *p = text;
    for (size_t i = 0; i < n; i++) { memcpy(p, i % 7 ? "\xe2\x82\xac" : "\"", i % 7 ? 3 : 1); p += i % 7 ? 3 : 1; }
    *p = 0;
    lt_upload_cfg c = cfg(1024, 2u << 20);
    json_t *rec = llm(text);
    char *whole = json_dumps(json_object_get(rec, "RequestMessages"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_t *rows = lt_chunk_rows(&c, rec);
    json_decref(rec);
    size_t nrows = json_array_size(rows);
    assert_true(nrows > 2);
    json_t *r0 = json_array_get(rows, 0);
    assert_null(json_object_get(r0, "RequestMessages"));          /* moved out of row 0 */
    assert_int_equal(json_integer_value(json_object_get(r0, "TotalTokens")), 42);
    size_t cap = strlen(whole) + 1, len = 0;
    char *joined = calloc(1, cap);
    for (size_t i = 1; i < nrows; i++) {
        json_t *r = json_array_get(rows, i);
        assert_int_equal(json_integer_value(json_object_get(r, "SequenceNumber")), (json_int_t)i);
        assert_string_equal(json_string_value(json_object_get(r, "MessageChunk")), "request");
        assert_string_equal(json_string_value(json_object_get(r, "CallTime")), "2026-11-22T10:00:00Z");
        assert_null(json_object_get(r, "TotalTokens"));             /* tokens only on row 0 */
        json_t *piece = json_object_get(r, "RequestMessages");
        char *esc = json_dumps(piece, JSON_ENCODE_ANY);
        assert_true(strlen(esc) - 2 <= 1024);                       /* escaped size within the chunk */
        free(esc);
        size_t l = json_string_length(piece);
        assert_true(len + l < cap);
        memcpy(joined + len, json_string_value(piece), l);
        len += l;
    }
    assert_int_equal(len, strlen(whole));
    assert_memory_equal(joined, whole, len);                        /* exact reassembly */
    free(joined);
    free(whole);
    free(text);
    json_decref(rows);
    lt_upload_cfg_free(&c);
}

static void test_cap_truncates_and_flags(void **st)
{
    (void)st;
    char *text = malloc(20001);
    memset(text, 'a', 20000);
    text[20000] = 0;
    lt_upload_cfg c = cfg(1024, 4096);
    json_t *rec = llm(text);
    json_t *rows = lt_chunk_rows(&c, rec);
    json_decref(rec);
    json_t *r0 = json_array_get(rows, 0);
    assert_true(json_is_true(json_object_get(r0, "RequestMessagesTruncated")));
    size_t total = 0;
    for (size_t i = 1; i < json_array_size(rows); i++)
        total += json_string_length(json_object_get(json_array_get(rows, i), "RequestMessages"));
    /* the cap counts the message's JSON text as escaped for the row: quotes cost 2 */
    assert_true(total <= 4096 && total > 4096 - 32);
    free(text);
    json_decref(rows);
    lt_upload_cfg_free(&c);
}

static void test_utf8_prefix(void **st)
{
    (void)st;
    const char *s = "ab\xe2\x82\xac" "c";   /* a b € c */
    assert_int_equal(lt_chunk_utf8_prefix(s, strlen(s), 3), 2);    /* never inside the euro sign */
    assert_int_equal(lt_chunk_utf8_prefix(s, strlen(s), 5), 5);
    assert_int_equal(lt_chunk_utf8_prefix("\"\"", 2, 3), 1);       /* a quote escapes to 2 bytes */
}

/* The byte-at-a-time definition the 8-byte fast path must equal. */
static size_t ref_prefix(const unsigned char *s, size_t len, size_t max_escaped)
{
    size_t i = 0, esc = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        size_t e = n > 1 ? n
                   : (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') ? 2
                   : (c < 0x20 || c == 0x7f) ? 6 : 1;
        if (i + n > len || esc + e > max_escaped) break;
        esc += e;
        i += n;
    }
    return i;
}

static void test_utf8_prefix_fast_path_equals_reference(void **st)
{
    (void)st;
    static const char alphabet[] = "ab{}\":,\\\n\x01\x7f\x1f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 #!";
    unsigned char buf[300];
    srand(7);
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand() % 300);
        int plain = rand() % 2;   /* half of the strings mostly plain ASCII, as records are */
        for (size_t i = 0; i < len; i++)
            buf[i] = plain && rand() % 16 ? (unsigned char)('a' + rand() % 26)
                                          : (unsigned char)alphabet[rand() % (sizeof alphabet - 1)];
        size_t max = (size_t)(rand() % 700);
        size_t want = ref_prefix(buf, len, max), got = lt_chunk_utf8_prefix((const char *)buf, len, max);
        if (want != got) fprintf(stderr, "round %d len %zu max %zu: expected prefix %zu, got %zu\n", round, len, max, want, got);
        assert_int_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_stays_in_row0),
        cmocka_unit_test(test_large_is_cut_and_reassembles),
        cmocka_unit_test(test_cap_truncates_and_flags),
        cmocka_unit_test(test_utf8_prefix),
        cmocka_unit_test(test_utf8_prefix_fast_path_equals_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
