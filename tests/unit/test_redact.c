/* test_redact.c -- records/redact: secrets found by name in query strings,
 * headers, form and JSON bodies, every echo of a collected value, NUL made
 * loadable, and the whole path through lt_records_from_exchange: no secret
 * value may appear anywhere in a serialized record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "records/record.h"
#include "records/records.h"
#include "records/redact.h"

#define KEY "0123456789abcdef0123456789abcdef"
#define SAS "sv=2024&sig=Zm9vYmFyYmF6cXV4"

static void fp_of(const char *v, char out[16])
{
    char fp[13];
    lt_fingerprint(v, fp);
    snprintf(out, 16, "fp:%s", fp);
}

static void test_url_by_name(void **st)
{
    (void)st;
    char want[256], fp[16], fp2[16];
    fp_of(KEY, fp);
    fp_of("c2VjcmV0", fp2);
    char *u = lt_redact_url(NULL, "/openai/deployments/d/chat/completions?api-version=2024-10-21&API-KEY=" KEY
                                  "&sig=c2VjcmV0#frag");
    snprintf(want, sizeof want, "/openai/deployments/d/chat/completions?api-version=2024-10-21&API-KEY=%s&sig=%s#frag",
             fp, fp2);
    assert_string_equal(u, want);
    free(u);
    u = lt_redact_url(NULL, "/no/query");
    assert_string_equal(u, "/no/query");
    free(u);
}

/* Names configured in [records] add to the built-in lists: the configured
 * parameter is redacted and the built-in api-key still is. */
static void test_configurable_lists(void **st)
{
    (void)st;
    char *params[] = {"My-Secret"};
    lt_redact_cfg cfg;
    lt_redact_cfg_defaults(&cfg);
    cfg.extra_params = params;
    cfg.n_extra_params = 1;
    char *u = lt_redact_url(&cfg, "/x?my-secret=abc&api-key=key-42&other=kept");
    char fp[16], fp2[16], want[128];
    fp_of("abc", fp);
    fp_of("key-42", fp2);
    snprintf(want, sizeof want, "/x?my-secret=%s&api-key=%s&other=kept", fp, fp2);
    assert_string_equal(u, want);
    free(u);
    u = lt_redact_url(NULL, "/x?my-secret=abc");   /* not a secret without the configuration */
    assert_string_equal(u, "/x?my-secret=abc");
    free(u);
}

static lt_http_msg *mkreq(lt_http_msg *m, const char *target, const char *body)
{
    lt_http_msg_init(m);
    m->present = 1;
    m->method = strdup("POST");
    m->target = strdup(target);
    if (body) lt_buf_append(&m->body, body, strlen(body));
    return m;
}

static void add_hdr(lt_http_msg *m, const char *n, const char *v)
{
    lt_http_msg_add_header(m, n, strlen(n), v, strlen(v));
}

/* Header, Bearer token, query and form values are collected; a record
 * holding them in any column gets each one replaced. */
static void test_collect_and_echo(void **st)
{
    (void)st;
    lt_http_msg req;
    mkreq(&req, "/openai/x?subscription-key=sub-key-123456", "grant=x&client_secret=cs-9876543210&scope=y");
    add_hdr(&req, "X-Api-Key", "xk-abcdefgh12345");
    add_hdr(&req, "Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.tok");
    lt_redact_set *s = lt_redact_collect(NULL, &req);
    assert_string_equal(lt_redact_query_key(s), "sub-key-123456");
    json_t *rec = json_pack("{s:s,s:s,s:{s:s},s:s}", "Url", req.target, "ResponseMessages",
                            "{\"error\":\"bad key xk-abcdefgh12345 and eyJhbGciOiJIUzI1NiJ9.tok\"}",
                            "RequestHeaders", "X-Api-Key", "xk-abcdefgh12345", "RequestMessages", req.body.data);
    assert_true(lt_redact_record(NULL, s, rec) >= 4);
    char *out = json_dumps(rec, JSON_COMPACT);
    const char *secrets[] = {"sub-key-123456", "cs-9876543210", "xk-abcdefgh12345", "eyJhbGciOiJIUzI1NiJ9.tok"};
    for (size_t i = 0; i < 4; i++)
        if (strstr(out, secrets[i])) fail_msg("expected %s redacted, got record %s", secrets[i], out);
    char fp[13];
    lt_fingerprint("sub-key-123456", fp);
    assert_string_equal(json_string_value(json_object_get(rec, "KeyFingerprint")), fp);
    assert_non_null(strstr(out, "grant=x")); /* other parameters stay */
    free(out);
    json_decref(rec);
    lt_redact_set_destroy(s);
    lt_http_msg_free(&req);
}

/* JSON bodies: fields by name, as a parsed object and as raw text. */
static void test_json_fields(void **st)
{
    (void)st;
    lt_http_msg req;
    mkreq(&req, "/openai/files", "{\"purpose\":\"x\",\"auth\":{\"api_key\":\"ak-1\",\"password\":\"pw\"}}");
    lt_redact_set *s = lt_redact_collect(NULL, &req);
    json_t *rec = json_pack("{s:s,s:{s:s,s:i}}", "RequestMessages", req.body.data, "Parsed", "token", "tk", "n", 1);
    lt_redact_record(NULL, s, rec);
    char *out = json_dumps(rec, JSON_COMPACT);
    if (strstr(out, "ak-1") || strstr(out, "\"pw\"") || strstr(out, "\"tk\""))
        fail_msg("expected ak-1, pw and tk redacted, got %s", out);
    assert_non_null(strstr(out, "\"purpose\\\":\\\"x\\\"")); /* raw text otherwise unchanged */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "Parsed"), "n")), 1);
    free(out);
    json_decref(rec);
    lt_redact_set_destroy(s);
    lt_http_msg_free(&req);
}

/* The body is parsed for secrets only when it could hold one: a field name
 * written with an escape ("p\u0061ssword") is still found, and a body with
 * no listed name gives nothing to collect (its values are not echoed out). */
static void test_collect_escaped_and_plain(void **st)
{
    (void)st;
    lt_http_msg req;
    mkreq(&req, "/openai/files", "{\"p\\u0061ssword\":\"escaped-secret-1\",\"n\":1}");
    lt_redact_set *s = lt_redact_collect(NULL, &req);
    json_t *rec = json_pack("{s:s}", "ErrorMessage", "bad escaped-secret-1 here");
    assert_int_equal(lt_redact_record(NULL, s, rec), 1);
    const char *got = json_string_value(json_object_get(rec, "ErrorMessage"));
    if (strstr(got, "escaped-secret-1")) fail_msg("expected the escaped field's value redacted, got %s", got);
    json_decref(rec);
    lt_redact_set_destroy(s);
    lt_http_msg_free(&req);
    mkreq(&req, "/openai/files", "{\"model\":\"plain-value-123\",\"stream\":true}");
    s = lt_redact_collect(NULL, &req);
    rec = json_pack("{s:s}", "ErrorMessage", "model plain-value-123");
    assert_int_equal(lt_redact_record(NULL, s, rec), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "ErrorMessage")), "model plain-value-123");
    json_decref(rec);
    lt_redact_set_destroy(s);
    lt_http_msg_free(&req);
}

/* Member names are matched whatever their case, also after the quick
 * length / first-byte rejection of the built-in lists; names that only look
 * alike are left. */
static void test_member_names_any_case(void **st)
{
    (void)st;
    json_t *rec = json_pack("{s:{s:s,s:s,s:s,s:s}}", "RequestHeaders", "X-API-KEY", "v1-secret", "Set-Cookie", "c=1",
                            "x-api-keys", "kept-1", "Xapi-key", "kept-2");
    assert_int_equal(lt_redact_record(NULL, NULL, rec), 2);
    json_t *h = json_object_get(rec, "RequestHeaders");
    char *out = json_dumps(rec, JSON_COMPACT);
    if (strstr(out, "v1-secret") || strstr(out, "\"c=1\"")) fail_msg("expected X-API-KEY and Set-Cookie fingerprinted, got %s", out);
    assert_string_equal(json_string_value(json_object_get(h, "x-api-keys")), "kept-1");
    assert_string_equal(json_string_value(json_object_get(h, "Xapi-key")), "kept-2");
    free(out);
    json_decref(rec);
}

/* Issue 11 item 11: a NUL in a body must not make the record undeliverable. */
static void test_nul_loadable(void **st)
{
    (void)st;
    json_t *rec = json_pack("{s:s%}", "ResponseMessages", "a\0b", (size_t)3);
    assert_int_equal(lt_redact_record(NULL, NULL, rec), 1);
    char *out = json_dumps(rec, JSON_COMPACT);
    json_error_t err;
    json_t *back = json_loads(out, 0, &err);
    if (!back) fail_msg("expected a loadable record, got %s (%s)", out, err.text);
    assert_string_equal(json_string_value(json_object_get(back, "ResponseMessages")), "a\xEF\xBF\xBD" "b");
    json_decref(back);
    free(out);
    json_decref(rec);
}

/* Short values are redacted by name only, never as echoes elsewhere. */
static void test_short_values_not_echoed(void **st)
{
    (void)st;
    lt_http_msg req;
    mkreq(&req, "/x?code=7", NULL);
    lt_redact_set *s = lt_redact_collect(NULL, &req);
    json_t *rec = json_pack("{s:s,s:s}", "Url", "/x?code=7", "ResponseMessages", "7 tokens");
    lt_redact_record(NULL, s, rec);
    assert_string_equal(json_string_value(json_object_get(rec, "ResponseMessages")), "7 tokens");
    assert_null(strstr(json_string_value(json_object_get(rec, "Url")), "code=7"));
    json_decref(rec);
    lt_redact_set_destroy(s);
    lt_http_msg_free(&req);
}

/* The whole path: an exchange with a key in the query string only, an
 * X-Api-Key header, a form body for an unmodelled /openai call and an error
 * body echoing the key. No value appears in any record, KeyFingerprint is
 * set from the query key, and every record loads back. */
typedef struct recs { char *all; int n; } recs;

static void on_rec(void *ud, lt_record *r)
{
    recs *c = ud;
    if (!r->text) fail_msg("record %s has no text", r->id);
    char *s = strdup(r->text);
    json_t *back = json_loads(s, 0, NULL);
    if (!back) fail_msg("expected a loadable record, got %s", s);
    size_t old = c->all ? strlen(c->all) : 0;
    c->all = realloc(c->all, old + strlen(s) + 2);
    strcpy(c->all + old, s);
    strcat(c->all, "\n");
    if (!json_object_get(back, "KeyFingerprint")) fail_msg("expected KeyFingerprint in %s", s);
    json_decref(back);
    free(s);
    c->n++;
}

/* Collects records (loadable) without asking for a KeyFingerprint. */
static void on_rec_any(void *ud, lt_record *r)
{
    recs *c = ud;
    if (!r->text) fail_msg("record %s has no text", r->id);
    char *s = strdup(r->text);
    size_t old = c->all ? strlen(c->all) : 0;
    c->all = realloc(c->all, old + strlen(s) + 2);
    strcpy(c->all + old, s);
    strcat(c->all, "\n");
    free(s);
    c->n++;
}

static void test_exchange_records(void **st)
{
    (void)st;
    lt_conn_info conn;
    memset(&conn, 0, sizeof conn);
    lt_exchange ex;
    lt_exchange_init(&ex, &conn);
    ex.version = 11;
    mkreq(&ex.req, "/openai/deployments/d/extensions/thing?api-version=1&api-key=" KEY "&" SAS,
          "client_secret=form-secret-42&x=1");
    ex.req.version = 11;
    ex.req.start_ts = 1000000;
    add_hdr(&ex.req, "X-Api-Key", "x-api-key-value-77");
    add_hdr(&ex.req, "Content-Type", "application/x-www-form-urlencoded");
    ex.resp.present = 1;
    ex.resp.version = 11;
    ex.resp.status = 401;
    ex.resp.start_ts = ex.resp.end_ts = 1100000;
    const char *eb = "{\"error\":{\"code\":\"401\",\"message\":\"key " KEY " is invalid\"}}";
    lt_buf_append(&ex.resp.body, eb, strlen(eb));
    recs c = {0};
    lt_record_cfg rc;
    lt_record_cfg_defaults(&rc);
    lt_records_from_exchange(&rc, &ex, NULL, on_rec, &c);
    assert_int_equal(c.n, 2);
    const char *secrets[] = {KEY, "Zm9vYmFyYmF6cXV4", "form-secret-42", "x-api-key-value-77"};
    for (size_t i = 0; i < 4; i++)
        if (strstr(c.all, secrets[i])) fail_msg("expected %s nowhere, got records:\n%s", secrets[i], c.all);
    char fp[13];
    lt_fingerprint(KEY, fp);
    assert_non_null(strstr(c.all, fp));
    free(c.all);
    lt_exchange_free(&ex);
}

/* A configured header and JSON field through lt_records_from_exchange: their
 * values are in no record (the header fingerprinted in RequestHeaders, the
 * echoes in the error body replaced); with the default configuration they are
 * kept, so the check can fail. */
static char *records_with(const lt_record_cfg *rc)
{
    lt_conn_info conn;
    memset(&conn, 0, sizeof conn);
    lt_exchange ex;
    lt_exchange_init(&ex, &conn);
    ex.version = 11;
    mkreq(&ex.req, "/openai/deployments/d/things?api-version=1", "{\"my_token\":\"tok-value-123456\",\"n\":1}");
    ex.req.version = 11;
    ex.req.start_ts = 1000000;
    add_hdr(&ex.req, "X-My-Secret", "s3cr3tvalue");
    add_hdr(&ex.req, "Content-Type", "application/json");
    ex.resp.present = 1;
    ex.resp.version = 11;
    ex.resp.status = 400;
    ex.resp.start_ts = ex.resp.end_ts = 1100000;
    const char *eb = "{\"error\":{\"message\":\"bad s3cr3tvalue and tok-value-123456\"}}";
    lt_buf_append(&ex.resp.body, eb, strlen(eb));
    recs c = {0};
    lt_records_from_exchange(rc, &ex, NULL, on_rec_any, &c);
    lt_exchange_free(&ex);
    return c.all;
}

static void test_configured_names_records(void **st)
{
    (void)st;
    char *hdrs[] = {"x-my-secret"}, *fields[] = {"MY_TOKEN"};
    lt_record_cfg rc;
    lt_record_cfg_defaults(&rc);
    char *all = records_with(&rc);
    if (!strstr(all, "s3cr3tvalue") || !strstr(all, "tok-value-123456"))
        fail_msg("expected both values kept without the configuration, got:\n%s", all);
    free(all);
    rc.redact.extra_headers = hdrs;
    rc.redact.n_extra_headers = 1;
    rc.redact.extra_fields = fields;
    rc.redact.n_extra_fields = 1;
    all = records_with(&rc);
    if (strstr(all, "s3cr3tvalue") || strstr(all, "tok-value-123456"))
        fail_msg("expected s3cr3tvalue and tok-value-123456 nowhere, got:\n%s", all);
    char fp[16], want[64];
    fp_of("s3cr3tvalue", fp);
    snprintf(want, sizeof want, "\"X-My-Secret\":\"%s\"", fp);
    if (!strstr(all, want)) fail_msg("expected %s in RequestHeaders, got:\n%s", want, all);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_by_name),          cmocka_unit_test(test_configurable_lists),
        cmocka_unit_test(test_collect_and_echo),     cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_collect_escaped_and_plain),
        cmocka_unit_test(test_member_names_any_case),
        cmocka_unit_test(test_nul_loadable),         cmocka_unit_test(test_short_values_not_echoed),
        cmocka_unit_test(test_exchange_records),     cmocka_unit_test(test_configured_names_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
