/* test_jscan.c -- the strict JSON scanner must never accept what jansson rejects, must
 * accept the shapes Azure sends, and must decode strings to jansson's exact bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/jscan.h"

static int scan_all(const char *in, size_t n)
{
    lt_jscan j;
    lt_jscan_init(&j, in, n);
    return lt_jscan_skip(&j, NULL) == 0 && lt_jscan_at_end(&j);
}

static int jansson_ok(const char *in, size_t n)
{
    json_t *v = json_loadb(in, n, JSON_DECODE_ANY, NULL);
    json_decref(v);
    return v != NULL;
}

/* Inputs jansson rejects: the scanner must reject every one. */
static void test_rejects_what_jansson_rejects(void **st)
{
    (void)st;
    static const char *bad[] = {
        "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}",
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"x\"}x", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\xc0\x80\"}",
        "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\x01\"}",
        "{\"a\":\"tab\there\"}", "{\"a\" :[1 2]}", "{\"a\":{\"b\":1}", "{'a':1}", "", "   ", "{\"a\":1}{",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = strlen(bad[i]);
        if (jansson_ok(bad[i], n)) continue; /* only the rejected ones are the point here */
        if (scan_all(bad[i], n)) fail_msg("input %zu <%s>: jansson rejects it, the scanner accepted it", i, bad[i]);
    }
    const char nul[] = "{\"a\":\"x\0y\"}";
    assert_false(scan_all(nul, sizeof nul - 1)); /* a NUL byte inside a string */
}

static void test_accepts_azure_shapes(void **st)
{
    (void)st;
    static const char *good[] = {
        "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}},"
        "\"delta\":{\"content\":\" Hello\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],"
        "\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\"}",
        "{\"a\":[1,-2.5e-3,0,true,false,null,{},[]],\"b\":\"\\u00e9\\ud83d\\ude0a\\n\\\"\"}",
        " {\"k\" : \"\xea\xb0\x80\xf0\x9f\x98\x8a\" } \n",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        size_t n = strlen(good[i]);
        assert_true(jansson_ok(good[i], n));
        if (!scan_all(good[i], n)) fail_msg("input %zu <%s>: valid JSON the scanner must accept", i, good[i]);
    }
}

/* Escaped strings decode to exactly the bytes jansson gives. */
static void test_decode_matches_jansson(void **st)
{
    (void)st;
    static const char *strs[] = {
        "\"plain\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u0041\\u00e9\\u20ac\\ud83d\\ude0a\"",
        "\"\xea\xb0\x80 mixed \\u00e9 \xf0\x9f\x98\x8a\"", "\"\"",
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        lt_jscan j;
        lt_jstr s;
        lt_buf b;
        lt_buf_init(&b);
        lt_jscan_init(&j, strs[i], strlen(strs[i]));
        assert_int_equal(lt_jscan_string(&j, &s), 0);
        lt_jstr_append(&s, &b);
        json_t *v = json_loadb(strs[i], strlen(strs[i]), JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        if (b.len != json_string_length(v) || (b.len && memcmp(b.data, json_string_value(v), b.len)))
            fail_msg("string %zu %s: expected %zu bytes <%s>, decoded %zu bytes", i, strs[i], json_string_length(v),
                     json_string_value(v), b.len);
        json_decref(v);
        lt_buf_free(&b);
    }
}

/* lt_jscan_tree gives jansson's tree or NULL: never a different one. Seeds and
 * every single-byte deletion and substitution of them; where both give a tree,
 * the dumps (member order included) must be equal. */
static int tree_check(const char *in, size_t n)
{
    json_t *t = lt_jscan_tree(in, n), *j = json_loadb(in, n, 0, NULL);
    int built = t != NULL;
    if (t && !j) fail_msg("<%.*s>: jansson rejects it, lt_jscan_tree built a tree", (int)n, in);
    if (t) {
        char *a = json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY), *b = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (strcmp(a, b)) fail_msg("<%.*s>: expected jansson's %s, built %s", (int)n, in, b, a);
        free(a);
        free(b);
    }
    json_decref(t);
    json_decref(j);
    return built;
}

static void test_tree_matches_jansson(void **st)
{
    (void)st;
    static const char *seeds[] = {
        ("{\"choices\":[],\"created\":0,\"id\":\"\",\"prompt_filter_results\":[{\"content_filter_results\":"
         "{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}},\"prompt_index\":0}]}"),
        "{\"a\":1,\"b\":[true,false,null,-0,-12,{}],\"a\":\"dup\",\"c\":{\"d\":[[]]}}",
        "{\"k\\u00e9y\":\"v\\n\\\"\\ud83d\\ude0a\",\"\":\"\",\"x\\\"\":[\"\xea\xb0\x80\"]}",
        " [ 1 , {\"a\" : \"b\" } ]\n",
        "{\"usage\":{\"completion_tokens\":12,\"prompt_tokens\":34,\"total_tokens\":46}}",
    };
    const char alphabet[] = "{}[]\":,\\u0-1eE. tnfx\x80";
    char buf[512];
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        size_t n = strlen(seeds[i]);
        if (!tree_check(seeds[i], n)) fail_msg("seed %zu <%s>: expected a tree (no reals in it), got NULL", i, seeds[i]);
        for (size_t k = 0; k < n; k++) {
            memcpy(buf, seeds[i], k); /* byte k deleted */
            memcpy(buf + k, seeds[i] + k + 1, n - k - 1);
            tree_check(buf, n - 1);
            for (const char *c = alphabet; *c; c++) { /* byte k replaced */
                memcpy(buf, seeds[i], n);
                buf[k] = *c;
                tree_check(buf, n);
            }
        }
    }
    assert_null(lt_jscan_tree("1", 1));             /* a scalar: json_loadb without JSON_DECODE_ANY rejects it */
    assert_null(lt_jscan_tree("{\"a\":1.5}", 9));   /* reals are left to jansson */
    assert_null(lt_jscan_tree("{\"a\":1} x", 9));   /* trailing bytes */
}

static void test_members_and_ints(void **st)
{
    (void)st;
    const char *in = "{\"index\":12,\"x\":[1,{\"y\":null}],\"z\":\"w\"}";
    lt_jscan j;
    lt_jstr k;
    int first = 1, r;
    long v = -1;
    lt_jscan_init(&j, in, strlen(in));
    assert_int_equal(lt_jscan_expect(&j, '{'), 0);
    assert_int_equal(lt_jscan_member(&j, &k, &first), 1);
    assert_true(lt_jstr_is(&k, "index"));
    assert_int_equal(lt_jscan_int(&j, &v), 0);
    assert_int_equal(v, 12);
    int keys = 1;
    while ((r = lt_jscan_member(&j, &k, &first)) == 1) { keys++; assert_int_equal(lt_jscan_skip(&j, NULL), 0); }
    assert_int_equal(r, 0);
    assert_int_equal(keys, 3);
    assert_true(lt_jscan_at_end(&j));
    lt_jscan_init(&j, "1.5", 3);
    assert_int_equal(lt_jscan_int(&j, &v), -1); /* not a plain integer */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_what_jansson_rejects),
        cmocka_unit_test(test_accepts_azure_shapes),
        cmocka_unit_test(test_decode_matches_jansson),
        cmocka_unit_test(test_members_and_ints),
        cmocka_unit_test(test_tree_matches_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
