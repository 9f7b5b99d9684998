/* test_records.c -- exchange → records: operation and deployment from the
 * path, chat bodies streamed and not (Azure's stream quirks, n>1, parallel
 * tool calls, multi-byte text split across chunks), usage present and
 * missing, embeddings without vectors, error bodies of 403/429, secrets only
 * as fingerprints, X-Forwarded-For, stable ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parsers/aoai.h"
#include "records/records.h"

static lt_conn_info conn = {.client = {4, {10, 1, 2, 3}, 50000}, .server = {4, {10, 9, 9, 9}, 443}, .conn_id = 1};

typedef struct recs { json_t *llm, *gw; int n; } recs;

/* Each record's text must load and be what json_dumps writes for what it
 * loads to (compact, in its order): the text is written column by column,
 * so this is the check that it is well formed and canonical. */
static void on_rec(void *ud, lt_record *r)
{
    recs *x = ud;
    x->n++;
    if (!r->text) fail_msg("record %s (table %d) has no text", r->id, r->table);
    assert_int_equal(strlen(r->text), r->len);
    json_error_t err;
    json_t *o = json_loadb(r->text, r->len, 0, &err);
    if (!o) fail_msg("record text does not load (%s): %s", err.text, r->text);
    char *again = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (strcmp(again, r->text)) fail_msg("record text is not json_dumps' form:\n got  %s\n want %s", r->text, again);
    free(again);
    if (r->table == LT_TABLE_LLM) x->llm = o; else x->gw = o;
}

static void body(lt_http_msg *m, const char *s)
{
    lt_buf_append(&m->body, s, strlen(s));
    m->body_bytes = m->wire_bytes = strlen(s);
}

static void mkex(lt_exchange *ex, const char *target, const char *reqbody, int status, const char *ctype, const char *respbody)
{
    lt_exchange_init(ex, &conn);
    ex->version = 11;
    ex->req.present = ex->resp.present = 1;
    ex->req.method = strdup("POST");
    ex->req.target = strdup(target);
    ex->req.start_ts = 1000000;
    ex->req.end_ts = 1001000;
    lt_http_msg_add_header(&ex->req, "api-key", 7, "secret-key-123", 14);
    lt_http_msg_add_header(&ex->req, "Content-Type", 12, "application/json", 16);
    body(&ex->req, reqbody);
    ex->resp.status = status;
    ex->resp.start_ts = 1050000;
    ex->resp.end_ts = 1200000;
    lt_http_msg_add_header(&ex->resp, "Content-Type", 12, ctype, strlen(ctype));
    lt_http_msg_add_header(&ex->resp, "x-request-id", 12, "rid-1", 5);
    body(&ex->resp, respbody);
}

static recs run(lt_exchange *ex)
{
    recs r = {0};
    lt_record_cfg cfg;
    lt_record_cfg_defaults(&cfg);
    lt_records_from_exchange(&cfg, ex, NULL, on_rec, &r);
    return r;
}

static void done(recs *r, lt_exchange *ex) { json_decref(r->llm); json_decref(r->gw); lt_exchange_free(ex); }

static const char *S(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long I(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void test_classify(void **st)
{
    (void)st;
    lt_aoai_call c;
    assert_true(lt_aoai_classify("POST", "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21", &c));
    assert_string_equal(c.deployment, "gpt4o"); assert_string_equal(c.api_version, "2024-10-21");
    assert_string_equal(c.operation, "ChatCompletions_Create");
    assert_true(lt_aoai_classify("POST", "/eastus2/openai/deployments/d1/embeddings?api-version=x", &c));
    assert_string_equal(c.deployment, "d1"); assert_string_equal(c.operation, "Embeddings_Create");
    assert_true(lt_aoai_classify("POST", "/openai/v1/chat/completions", &c));
    assert_true(c.v1); assert_string_equal(c.deployment, "");
    assert_true(lt_aoai_classify("POST", "/openai/responses?api-version=2025-04-01-preview", &c));
    assert_string_equal(c.operation, "Responses_Create");
    assert_true(lt_aoai_classify("GET", "/openai/v1/responses/resp_1", &c));
    assert_string_equal(c.operation, "Responses_Get");
    assert_true(lt_aoai_classify("GET", "/openai/models?api-version=1", &c));
    assert_string_equal(c.operation, "Models_List");
    assert_true(lt_aoai_classify("POST", "/openai/deployments/w/audio/transcriptions", &c));
    assert_int_equal(c.op, LT_AOAI_AUDIO);
    assert_false(lt_aoai_classify("GET", "/healthz", &c));
}

static void test_chat_tool_calls(void **st)
{
    (void)st;
    lt_exchange ex;
    mkex(&ex, "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21",
         "{\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],\"tools\":[{\"type\":\"function\"}],\"max_tokens\":50}",
         200, "application/json",
         "{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"message\":"
         "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
         "{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]}}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,"
         "\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}");
    recs r = run(&ex);
    assert_int_equal(r.n, 2);
    assert_string_equal(S(r.llm, "DeploymentName"), "gpt4o");
    assert_string_equal(S(r.llm, "RequestId"), "chatcmpl-1");
    assert_int_equal(I(r.llm, "PromptTokens"), 10);
    assert_int_equal(I(r.llm, "TotalTokens"), 15);
    assert_int_equal(I(r.llm, "CachedTokens"), 2);
    assert_int_equal(I(r.llm, "ReasoningTokens"), 1);
    assert_int_equal(I(r.llm, "MaxTokens"), 50);
    assert_string_equal(S(r.llm, "UsageSource"), "reported");
    json_t *tc = json_object_get(json_array_get(json_object_get(r.llm, "ResponseMessages"), 0), "tool_calls");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(tc, 0), "function"), "name")), "get_weather");
    assert_string_equal(S(r.llm, "CorrelationId"), S(r.gw, "CorrelationId"));
    assert_int_equal(I(r.llm, "TimeToFirstTokenMs"), 50);
    done(&r, &ex);
}

#define CHUNK(s) "data: " s "\n\n"
static const char *azure_stream =
    CHUNK("{\"id\":\"\",\"object\":\"\",\"created\":0,\"model\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}],\"choices\":[]}")
    CHUNK("{\"id\":\"c9\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}")
    CHUNK("{\"id\":\"c9\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":1,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":1,\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"b\",\"arguments\":\"\"}}]}}]}")
    CHUNK("{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xEC\x95\x88\"}}]}")
    CHUNK("{\"id\":\"c9\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t0\",\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"x\\\"\"}}]}}]}")
    CHUNK("{\"id\":\"c9\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}}]}")
    CHUNK("{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xEB\x85\x95\"}}]}")
    CHUNK("{\"id\":\"c9\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}}]}")
    CHUNK("{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}")
    CHUNK("{\"id\":\"c9\",\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}")
    CHUNK("{\"id\":\"\",\"choices\":[{\"index\":0,\"finish_reason\":null,\"content_filter_results\":{\"hate\":{\"filtered\":false}},\"content_filter_offsets\":{}}]}")
    "USAGE"
    CHUNK("[DONE]");

static void stream_case(int with_usage, recs *out, lt_exchange *ex)
{
    char buf[8192];
    const char *u = CHUNK("{\"id\":\"c9\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}");
    const char *at = strstr(azure_stream, "USAGE");
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - azure_stream), azure_stream, with_usage ? u : "", at + 5);
    mkex(ex, "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21",
         "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,\"n\":2}", 200, "text/event-stream", buf);
    *out = run(ex);
}

static void test_stream_quirks(void **st)
{
    (void)st;
    lt_exchange ex;
    recs r;
    stream_case(1, &r, &ex);
    assert_true(json_is_true(json_object_get(r.llm, "IsStreamCompletion")));
    assert_string_equal(S(r.llm, "RequestId"), "c9");
    assert_string_equal(S(r.llm, "ModelName"), "gpt-4o");
    json_t *msgs = json_object_get(r.llm, "ResponseMessages");
    assert_int_equal(json_array_size(msgs), 2);
    json_t *m0 = json_array_get(msgs, 0), *m1 = json_array_get(msgs, 1);
    assert_string_equal(json_string_value(json_object_get(m0, "content")), "\xEC\x95\x88\xEB\x85\x95");
    assert_string_equal(json_string_value(json_object_get(m0, "finish_reason")), "stop");
    json_t *tc = json_object_get(m1, "tool_calls");
    assert_int_equal(json_array_size(tc), 2);
    json_t *t0 = json_array_get(tc, 0), *t1 = json_array_get(tc, 1);
    assert_string_equal(json_string_value(json_object_get(t0, "id")), "t0");
    assert_string_equal(json_string_value(json_object_get(json_object_get(t0, "function"), "arguments")), "{\"x\":1}");
    assert_string_equal(json_string_value(json_object_get(t1, "id")), "t1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(t1, "function"), "arguments")), "{}");
    assert_true(json_is_array(json_object_get(r.llm, "PromptFilterResults")));
    assert_non_null(json_object_get(r.llm, "ContentFilterResults"));
    assert_int_equal(I(r.llm, "TotalTokens"), 10);
    assert_string_equal(S(r.llm, "UsageSource"), "reported");
    done(&r, &ex);
}

static void test_stream_usage_missing(void **st)
{
    (void)st;
    lt_exchange ex;
    recs r;
    stream_case(0, &r, &ex);
    assert_string_equal(S(r.llm, "UsageSource"), "missing");
    assert_true(json_is_null(json_object_get(r.llm, "TotalTokens")));
    assert_true(json_is_null(json_object_get(r.llm, "PromptTokens")));
    done(&r, &ex);
}

static void test_embeddings_no_vectors(void **st)
{
    (void)st;
    lt_exchange ex;
    mkex(&ex, "/openai/deployments/e/embeddings?api-version=1", "{\"input\":[\"a\",\"b\"]}", 200, "application/json",
         "{\"data\":[{\"embedding\":[0.1,0.2,0.3]},{\"embedding\":[0.4,0.5,0.6]}],\"usage\":{\"prompt_tokens\":4,\"total_tokens\":4}}");
    recs r = run(&ex);
    char *s = json_dumps(r.llm, 0);
    assert_null(strstr(s, "0.5"));
    free(s);
    json_t *m = json_array_get(json_object_get(r.llm, "ResponseMessages"), 0);
    assert_int_equal(I(m, "count"), 2);
    assert_int_equal(I(m, "dimensions"), 3);
    assert_int_equal(I(r.llm, "CompletionTokens"), 0);
    done(&r, &ex);
}

static void test_403_429_gateway(void **st)
{
    (void)st;
    lt_exchange ex;
    mkex(&ex, "/openai/deployments/d/chat/completions?api-version=1", "{\"messages\":[]}", 403, "application/json",
         "{\"error\":{\"code\":\"IP_BLOCKED\",\"message\":\"Caller IP is not allowed\"}}");
    lt_http_msg_add_header(&ex.req, "X-Forwarded-For", 15, "203.0.113.66, 10.0.0.4", 22);
    recs r = run(&ex);
    assert_string_equal(S(r.gw, "LastErrorReason"), "IP_BLOCKED");
    assert_string_equal(S(r.gw, "CallerIpAddress"), "203.0.113.66");
    assert_false(json_is_true(json_object_get(r.gw, "IsRequestSuccess")));
    assert_string_equal(S(r.llm, "UsageSource"), "none");
    done(&r, &ex);
    mkex(&ex, "/openai/deployments/d/chat/completions?api-version=1", "{}", 429, "application/json",
         "{\"error\":{\"code\":\"429\",\"message\":\"Rate limit\"}}");
    lt_http_msg_add_header(&ex.resp, "retry-after", 11, "7", 1);
    lt_http_msg_add_header(&ex.resp, "retry-after-ms", 14, "7000", 4);
    r = run(&ex);
    assert_string_equal(S(r.gw, "LastErrorReason"), "429");
    assert_int_equal(I(r.gw, "RetryAfter"), 7);
    assert_int_equal(I(r.gw, "RetryAfterMs"), 7000);
    assert_int_equal(I(r.gw, "ResponseCode"), 429);
    done(&r, &ex);
}

static void test_secrets_fingerprinted(void **st)
{
    (void)st;
    lt_exchange ex;
    mkex(&ex, "/openai/deployments/d/chat/completions", "{}", 200, "application/json", "{}");
    lt_http_msg_add_header(&ex.req, "Authorization", 13, "Bearer tok-abc", 14);
    lt_http_msg_add_header(&ex.req, "Ocp-Apim-Subscription-Key", 25, "sub-xyz", 7);
    recs r = run(&ex);
    char *a = json_dumps(r.llm, 0), *b = json_dumps(r.gw, 0);
    assert_null(strstr(a, "secret-key-123")); assert_null(strstr(b, "secret-key-123"));
    assert_null(strstr(b, "tok-abc")); assert_null(strstr(b, "sub-xyz"));
    char fp[13];
    lt_fingerprint("secret-key-123", fp);
    assert_string_equal(S(r.llm, "KeyFingerprint"), fp);
    assert_int_equal(strlen(fp), 12);
    free(a); free(b);
    done(&r, &ex);
}

static void test_ids_stable(void **st)
{
    (void)st;
    lt_exchange a, b;
    mkex(&a, "/openai/deployments/d/chat/completions", "{}", 200, "application/json", "{}");
    mkex(&b, "/openai/deployments/d/chat/completions", "{}", 200, "application/json", "{}");
    recs ra = run(&a), rb = run(&b);
    assert_string_equal(S(ra.llm, "RecordId"), S(rb.llm, "RecordId"));
    assert_string_not_equal(S(ra.llm, "RecordId"), S(ra.gw, "RecordId"));
    done(&ra, &a);
    b.seq = 0;
    done(&rb, &b);
}

static void test_non_llm_only_gateway(void **st)
{
    (void)st;
    lt_exchange ex;
    mkex(&ex, "/healthz", "", 200, "text/plain", "ok");
    recs r = run(&ex);
    assert_int_equal(r.n, 1);
    assert_null(r.llm);
    assert_string_equal(S(r.gw, "Url"), "/healthz");
    done(&r, &ex);
}

/* A --json line is {"Table":..., then the columns}: the bytes json_dumps
 * gives for the merged object, for a record with columns and without. */
static void test_record_line(void **st)
{
    (void)st;
    json_t *cols = json_pack("{s:s, s:i, s:b, s:{s:[s,n]}, s:s}", "TimeGenerated", "2026-01-02T03:04:05.000006Z",
                             "PromptTokens", 12, "Complete", 1, "ContentFilterResults", "hate", "low\n\"x\"", "Url",
                             "/openai/\xc3\xa9?q=1");
    for (int table = 0; table < LT_TABLE__COUNT; table++) {
        json_t *objs[2] = {cols, json_object()};
        for (int i = 0; i < 2; i++) {
            lt_record rec = {.table = table};
            assert_int_equal(lt_record_set_json(&rec, objs[i]), 0);
            json_t *merged = json_object();
            json_object_set_new(merged, "Table", json_string(lt_table_name(table)));
            json_object_update(merged, objs[i]);
            char *want = json_dumps(merged, JSON_COMPACT | JSON_PRESERVE_ORDER);
            size_t n = 0;
            char *got = lt_record_line(&rec, &n);
            assert_non_null(got);
            assert_string_equal(got, want);
            assert_int_equal(n, strlen(want));
            free(got);
            free(want);
            json_decref(merged);
            lt_record_clear(&rec);
        }
        json_decref(objs[1]);
    }
    json_decref(cols);
    /* a string that is not UTF-8 (jansson refuses to write it too): no line */
    json_t *bad = json_object();
    json_object_set_new(bad, "Url", json_stringn_nocheck("/\xff", 2));
    lt_record rec = {.table = LT_TABLE_GATEWAY};
    assert_int_equal(lt_record_set_json(&rec, bad), -1);
    size_t n = 0;
    char *got = lt_record_line(&rec, &n);
    if (got) fail_msg("a record with invalid UTF-8 gave a line: %s", got);
    json_decref(bad);
}

/* lt_record_update on the text gives what json_object_update gave on the
 * tree: columns extras names keep their place, the others come last in
 * extras' order. */
static void test_record_update(void **st)
{
    (void)st;
    json_t *base = json_pack("{s:s, s:i, s:{s:s}, s:i, s:b}", "TimeGenerated", "t", "TotalTime", 9, "RequestHeaders",
                             "a\"b", "c\\d", "BackendTime", 4, "Complete", 1);
    json_t *extras[] = {
        json_pack("{s:i, s:i, s:s, s:[{s:s, s:i, s:n}]}", "TotalTime", 12, "BackendTime", 3, "BackendId", "east",
                  "AttemptErrors", "backend", "west", "status", 429, "retry_after_ms", "Complete"),
        json_pack("{s:s, s:s}", "BackendUrl", "http://127.0.0.1:1/\xc3\xa9", "LastErrorReason", "NO_BACKEND_AVAILABLE"),
        json_pack("{s:b}", "Complete", 0),
        json_object(),
    };
    for (size_t i = 0; i < LT_ARRAY_LEN(extras); i++) {
        lt_record rec = {.table = LT_TABLE_GATEWAY};
        assert_int_equal(lt_record_set_json(&rec, base), 0);
        json_t *tree = json_deep_copy(base);
        json_object_update(tree, extras[i]);
        char *want = json_dumps(tree, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_int_equal(lt_record_update(&rec, extras[i]), 0);
        if (strcmp(rec.text, want)) fail_msg("extras %zu:\n got  %s\n want %s", i, rec.text, want);
        assert_int_equal(rec.len, strlen(want));
        free(want);
        json_decref(tree);
        json_decref(extras[i]);
        lt_record_clear(&rec);
    }
    json_decref(base);
    lt_record none = {.table = LT_TABLE_GATEWAY};   /* no text: nothing to update */
    json_t *x = json_pack("{s:i}", "TotalTime", 1);
    assert_int_equal(lt_record_update(&none, x), -1);
    json_decref(x);
}

/* The headers object is what jansson made of the list: a repeated name
 * keeps its first place with its last value (set replaced it), a name that
 * is not UTF-8 is no member (set refused it), a value that is not UTF-8
 * reads "(invalid UTF-8)", a header named like a secret is fingerprinted; a
 * Url that is not UTF-8 is no column. */
static void test_headers_as_jansson_kept_them(void **st)
{
    (void)st;
    lt_exchange ex;
    mkex(&ex, "/healthz", "", 200, "text/plain", "ok");
    lt_http_msg_add_header(&ex.req, "x-foo", 5, "one", 3);
    lt_http_msg_add_header(&ex.req, "Accept", 6, "*/*", 3);
    lt_http_msg_add_header(&ex.req, "x-foo", 5, "two", 3);
    lt_http_msg_add_header(&ex.req, "x-\xff", 3, "v", 1);
    lt_http_msg_add_header(&ex.req, "x-bad", 5, "a\xc3", 2);
    lt_http_msg_add_header(&ex.req, "X-Api-Key", 9, "custom-secret-42", 16);
    lt_http_msg_add_header(&ex.req, "x-\xc3\xa9", 4, "\xc3\xa9t\xc3\xa9", 6);
    recs r = run(&ex);
    json_t *h = json_object_get(r.gw, "RequestHeaders");
    const char *want[] = {"api-key", "Content-Type", "x-foo", "Accept", "x-bad", "X-Api-Key", "x-\xc3\xa9"};
    assert_int_equal(json_object_size(h), LT_ARRAY_LEN(want));
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) {
        if (strcmp(k, want[i])) fail_msg("header member %zu: expected %s, got %s", i, want[i], k);
        i++;
    }
    assert_string_equal(S(h, "x-foo"), "two");
    assert_string_equal(S(h, "x-bad"), "(invalid UTF-8)");
    assert_string_equal(S(h, "x-\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
    assert_true(strncmp(S(h, "X-Api-Key"), "fp:", 3) == 0);
    char *text = json_dumps(r.gw, 0);
    assert_null(strstr(text, "custom-secret-42"));
    free(text);
    done(&r, &ex);

    mkex(&ex, "/healthz", "", 200, "text/plain", "ok");
    free(ex.req.target);
    ex.req.target = strdup("/a\xff?b");
    r = run(&ex);
    assert_null(json_object_get(r.gw, "Url"));
    assert_string_equal(S(r.gw, "Method"), "POST");
    done(&r, &ex);
}

/* A v1 path names no deployment: DeploymentName is the response's
 * x-ms-deployment-name, else the request's "model", and stands where the
 * parser reported it (after IsStreamCompletion), as the tree had it. */
static void test_deployment_from_body(void **st)
{
    (void)st;
    for (int hdr = 0; hdr < 2; hdr++) {
        lt_exchange ex;
        mkex(&ex, "/openai/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}", 200, "application/json",
             "{\"id\":\"c\",\"model\":\"gpt-4o-mini-2024\",\"choices\":[]}");
        if (hdr) lt_http_msg_add_header(&ex.resp, "x-ms-deployment-name", 20, "prod-mini", 9);
        recs r = run(&ex);
        assert_string_equal(S(r.llm, "DeploymentName"), hdr ? "prod-mini" : "gpt-4o-mini");
        const char *prev = NULL, *k;
        json_t *v;
        json_object_foreach(r.llm, k, v) {
            if (!strcmp(k, "DeploymentName")) break;
            prev = k;
        }
        assert_non_null(prev);
        assert_string_equal(prev, "IsStreamCompletion");
        done(&r, &ex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify), cmocka_unit_test(test_chat_tool_calls), cmocka_unit_test(test_stream_quirks),
        cmocka_unit_test(test_stream_usage_missing), cmocka_unit_test(test_embeddings_no_vectors),
        cmocka_unit_test(test_403_429_gateway), cmocka_unit_test(test_secrets_fingerprinted),
        cmocka_unit_test(test_ids_stable), cmocka_unit_test(test_non_llm_only_gateway),
        cmocka_unit_test(test_record_line), cmocka_unit_test(test_record_update),
        cmocka_unit_test(test_headers_as_jansson_kept_them), cmocka_unit_test(test_deployment_from_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
