/* test_http_msg.c -- lt_http_msg / lt_exchange helpers: reason strings,
 * headers (case-insensitive lookup, first wins), body marks (deduplication,
 * the LT_BODY_MARKS_MAX cap keeping the earliest marks) and the binary
 * search of lt_http_msg_time_at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "parsers/http_msg.h"

static void test_incomplete_str(void **st)
{
    (void)st;
    assert_string_equal(lt_incomplete_str(LT_INC_NONE), "");
    assert_string_equal(lt_incomplete_str(LT_INC_HOLE), "hole");
    assert_string_equal(lt_incomplete_str(LT_INC_MISSED_START), "missed_start");
    assert_string_equal(lt_incomplete_str(LT_INC_TRUNCATED), "truncated");
    assert_string_equal(lt_incomplete_str(LT_INC_NO_RESPONSE), "no_response");
    assert_string_equal(lt_incomplete_str(LT_INC_NO_REQUEST), "no_request");
    assert_string_equal(lt_incomplete_str(LT_INC_RESET), "reset");
    assert_string_equal(lt_incomplete_str(LT_INC_PARSE_ERROR), "parse_error");
    assert_string_equal(lt_incomplete_str(LT_INC_MEMCAP), "memcap");
    /* every reason has a distinct non-empty name; out of range is not "" */
    for (int i = 1; i < LT_INC__COUNT; i++) {
        assert_true(strlen(lt_incomplete_str(i)) > 0);
        for (int j = 1; j < i; j++) assert_string_not_equal(lt_incomplete_str(i), lt_incomplete_str(j));
    }
    assert_true(strlen(lt_incomplete_str(LT_INC__COUNT)) > 0);
    assert_true(strlen(lt_incomplete_str(-1)) > 0);
}

static void test_headers(void **st)
{
    (void)st;
    lt_http_msg m;
    lt_http_msg_init(&m);
    assert_null(lt_http_msg_header(&m, "content-type"));
    /* lengths are honoured: the source need not be NUL-terminated */
    assert_int_equal(lt_http_msg_add_header(&m, "Content-Typexx", 12, "text/event-streamYY", 17), 0);
    assert_int_equal(lt_http_msg_add_header(&m, "X-Dup", 5, "first", 5), 0);
    assert_int_equal(lt_http_msg_add_header(&m, "x-dup", 5, "second", 6), 0);
    assert_int_equal(lt_http_msg_add_header(&m, "Empty", 5, "", 0), 0);
    assert_string_equal(lt_http_msg_header(&m, "content-type"), "text/event-stream");
    assert_string_equal(lt_http_msg_header(&m, "CONTENT-TYPE"), "text/event-stream");
    assert_string_equal(lt_http_msg_header(&m, "x-dup"), "first");
    assert_string_equal(lt_http_msg_header(&m, "empty"), "");
    assert_null(lt_http_msg_header(&m, "content"));
    assert_int_equal(m.nhdrs, 4);
    /* many headers: the array grows */
    char name[16];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(name, sizeof name, "h%d", i);
        assert_int_equal(lt_http_msg_add_header(&m, name, (size_t)n, "v", 1), 0);
    }
    assert_int_equal(m.nhdrs, 104);
    assert_string_equal(lt_http_msg_header(&m, "H99"), "v");
    lt_http_msg_free(&m);
    /* free leaves the message re-initialized and reusable */
    assert_int_equal(m.nhdrs, 0);
    assert_null(m.hdrs);
    assert_null(lt_http_msg_header(&m, "h1"));
    lt_http_msg_free(&m);
}

/* Appends n body bytes that arrived at ts, as a parser does. */
static void body_at(lt_http_msg *m, size_t n, lt_time_us ts)
{
    lt_http_msg_mark(m, ts);
    m->body_bytes += n;
}

/* Name and value share one allocation; each stops at a NUL in its bytes
 * (as strndup did), and lt_http_msg_free frees the block. */
static void test_header_block_and_nul(void **st)
{
    (void)st;
    lt_http_msg m;
    lt_http_msg_init(&m);
    for (int i = 0; i < 40; i++) /* past the first growth of the array */
        assert_int_equal(lt_http_msg_add_header(&m, "X-A\0zz", 6, "v\0w", 3), 0);
    assert_int_equal(lt_http_msg_add_header(&m, "Empty", 5, "", 0), 0);
    assert_string_equal(m.hdrs[0].name, "X-A");
    assert_string_equal(m.hdrs[39].value, "v");
    assert_string_equal(lt_http_msg_header(&m, "empty"), "");
    assert_ptr_equal(m.hdrs[40].value, m.hdrs[40].name + 6);
    lt_http_msg_free(&m);
}

static void test_marks_and_time_at(void **st)
{
    (void)st;
    lt_http_msg m;
    lt_http_msg_init(&m);
    m.start_ts = 50;
    assert_int_equal(lt_http_msg_time_at(&m, 0), 50); /* no marks: start_ts */
    body_at(&m, 10, 100);   /* [0,10) at 100 */
    body_at(&m, 5, 100);    /* same time: no new mark */
    body_at(&m, 5, 200);    /* [15,20) at 200 */
    lt_http_msg_mark(&m, 300); /* no bytes after this... */
    lt_http_msg_mark(&m, 400); /* ...so the earlier time stays */
    m.body_bytes += 7;      /* [20,27) at 300 */
    assert_int_equal(m.nmarks, 3);
    assert_int_equal(m.marks[0].off, 0);
    assert_int_equal(m.marks[1].off, 15);
    assert_int_equal(m.marks[2].off, 20);
    assert_int_equal(m.marks[2].ts, 300);
    assert_int_equal(lt_http_msg_time_at(&m, 0), 100);
    assert_int_equal(lt_http_msg_time_at(&m, 14), 100);
    assert_int_equal(lt_http_msg_time_at(&m, 15), 200);
    assert_int_equal(lt_http_msg_time_at(&m, 19), 200);
    assert_int_equal(lt_http_msg_time_at(&m, 20), 300);
    assert_int_equal(lt_http_msg_time_at(&m, 1000), 300);
    lt_http_msg_free(&m);
    assert_int_equal(m.nmarks, 0);
    assert_null(m.marks);
}

static void test_marks_cap_keeps_earliest(void **st)
{
    (void)st;
    lt_http_msg m;
    lt_http_msg_init(&m);
    for (int i = 0; i < LT_BODY_MARKS_MAX + 500; i++) body_at(&m, 2, 1000 + i);
    assert_int_equal(m.nmarks, LT_BODY_MARKS_MAX);
    assert_int_equal(m.marks[0].ts, 1000); /* time to first token needs the start */
    assert_int_equal(m.marks[LT_BODY_MARKS_MAX - 1].ts, 1000 + LT_BODY_MARKS_MAX - 1);
    /* binary search over the full array: every kept mark is found exactly */
    for (int i = 0; i < LT_BODY_MARKS_MAX; i++) {
        assert_int_equal(lt_http_msg_time_at(&m, (uint64_t)i * 2), 1000 + i);
        assert_int_equal(lt_http_msg_time_at(&m, (uint64_t)i * 2 + 1), 1000 + i);
    }
    /* bytes after the cap are attributed to the last kept mark */
    assert_int_equal(lt_http_msg_time_at(&m, m.body_bytes - 1), 1000 + LT_BODY_MARKS_MAX - 1);
    lt_http_msg_free(&m);
}

static void test_exchange_init_free(void **st)
{
    (void)st;
    lt_conn_info conn;
    memset(&conn, 0, sizeof conn);
    conn.conn_id = 7;
    lt_exchange ex;
    lt_exchange_init(&ex, &conn);
    assert_ptr_equal(ex.conn, &conn);
    assert_int_equal(ex.incomplete, LT_INC_NONE);
    assert_int_equal(ex.req.present, 0);
    assert_int_equal(ex.resp.present, 0);
    lt_http_msg_add_header(&ex.req, "Host", 4, "x", 1);
    lt_buf_append(&ex.resp.body, "body", 4);
    body_at(&ex.resp, 4, 9);
    lt_exchange_free(&ex);
    assert_int_equal(ex.req.nhdrs, 0);
    assert_int_equal(ex.resp.body.len, 0);
    assert_int_equal(ex.resp.nmarks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incomplete_str),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_header_block_and_nul),
        cmocka_unit_test(test_marks_and_time_at),
        cmocka_unit_test(test_marks_cap_keeps_earliest),
        cmocka_unit_test(test_exchange_init_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
