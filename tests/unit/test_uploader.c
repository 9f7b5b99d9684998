/* test_uploader.c -- the uploader's verdict on one POST (a pure function):
 * which answers of the Logs Ingestion API mean delivered, split, quarantine,
 * back off, or refresh the token and send again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "uploader/uploader.h"

static void test_success(void **st)
{
    (void)st;
    assert_int_equal(lt_uploader_classify(1, 204, 0), LT_UPLOAD_OK);
    assert_int_equal(lt_uploader_classify(1, 200, 1), LT_UPLOAD_OK);
}

static void test_too_large_splits(void **st)
{
    (void)st;
    assert_int_equal(lt_uploader_classify(1, 413, 0), LT_UPLOAD_SPLIT);
}

static void test_refused_is_bisected(void **st)
{
    (void)st;
    assert_int_equal(lt_uploader_classify(1, 400, 0), LT_UPLOAD_BAD);
    assert_int_equal(lt_uploader_classify(1, 404, 0), LT_UPLOAD_BAD);   /* wrong stream or DCR */
    assert_int_equal(lt_uploader_classify(1, 422, 1), LT_UPLOAD_BAD);
}

static void test_auth_refreshes_once_then_backs_off(void **st)
{
    (void)st;
    assert_int_equal(lt_uploader_classify(1, 401, 0), LT_UPLOAD_REFRESH);
    assert_int_equal(lt_uploader_classify(1, 403, 0), LT_UPLOAD_REFRESH);
    /* the role assignment may take 30 minutes: keep the records, back off */
    assert_int_equal(lt_uploader_classify(1, 401, 1), LT_UPLOAD_RETRY);
    assert_int_equal(lt_uploader_classify(1, 403, 1), LT_UPLOAD_RETRY);
}

static void test_transient_backs_off(void **st)
{
    (void)st;
    assert_int_equal(lt_uploader_classify(0, 0, 0), LT_UPLOAD_RETRY);   /* connect error, timeout */
    assert_int_equal(lt_uploader_classify(1, 429, 0), LT_UPLOAD_RETRY);
    assert_int_equal(lt_uploader_classify(1, 408, 0), LT_UPLOAD_RETRY);
    assert_int_equal(lt_uploader_classify(1, 500, 0), LT_UPLOAD_RETRY);
    assert_int_equal(lt_uploader_classify(1, 503, 1), LT_UPLOAD_RETRY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_too_large_splits),
        cmocka_unit_test(test_refused_is_bisected),
        cmocka_unit_test(test_auth_refreshes_once_then_backs_off),
        cmocka_unit_test(test_transient_backs_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
