/* test_aoai_stream.c -- streamed answers folded as they arrive (parsers/aoai.h,
 * lt_aoai_stream): an SSE answer of a modelled Azure OpenAI call is not kept
 * whole but read event by event while its bytes arrive, and the facts must be
 * exactly those read from the whole body. Checked: mutated chat, completions
 * and Responses API streams fed in random pieces against the kept body (same
 * facts, same json_errors and sse_events); the HTTP/1 parser end to end, one
 * byte at a time, identity and gzip, with and without the body cap (no body
 * kept, same facts); calls that keep their body (not modelled, not 2xx, not
 * SSE); the memory budget cutting a folded stream ("memcap"); filter
 * results queued as bytes merged like the general path merges them. Fixed
 * seeds: a failure is repeatable and prints both results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <zlib.h>
#include "common/counters.h"
#include "common/membudget.h"
#include "parsers/aoai.h"
#include "parsers/http1.h"

static const char *chat[] = {
    "{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}},\"prompt_index\":0}]}",
    "{\"choices\":[{\"content_filter_results\":{},\"delta\":{\"content\":\"\",\"refusal\":null,\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
    "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}},\"delta\":{\"content\":\" He\\u00e9l\\\"lo\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"finish_reason\":null}]}",
    "{\"choices\":[{\"content_filter_results\":{},\"delta\":{},\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\"}",
    "{\"choices\":[],\"created\":1,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}",
    "{\"choices\":[{\"text\":\"once\",\"index\":0,\"finish_reason\":null}],\"id\":\"cmpl-1\",\"model\":\"gpt-35\",\"object\":\"text_completion\"}",
    "[DONE]",
};
static const char *responses[] = {
    "{\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-4o\",\"status\":\"in_progress\"}}",
    "{\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}",
    "{\"type\":\"response.output_text.delta\",\"delta\":\"lo\"}",
    "{\"type\":\"response.output_item.done\",\"item\":{\"type\":\"function_call\",\"name\":\"get\",\"arguments\":\"{}\"}}",
    "{\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-4o\",\"status\":\"completed\",\"output\":[{\"type\":\"message\"}],\"usage\":{\"input_tokens\":3,\"output_tokens\":4,\"total_tokens\":7}}}",
};
#define CHAT_PATH "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
#define RESP_PATH "/openai/responses?api-version=2025-03-01-preview"

/* An SSE body of ne events drawn from evs (seeded), some of them mutated. */
static void make_stream(lt_buf *b, const char **evs, size_t nev, int ne)
{
    const char alpha[] = "{}[]\",:\\0123456789 tfnul\x01\xc3\xa9 abc";
    for (int e = 0; e < ne; e++) {
        const char *c = evs[rand() % nev];
        size_t n = strlen(c);
        char tmp[2048];
        memcpy(tmp, c, n);
        for (int m = rand() % 3; m > 0; m--) tmp[(size_t)rand() % n] = alpha[rand() % (sizeof alpha - 1)];
        for (size_t k = 0; k < n; k++) if (tmp[k] == '\n' || tmp[k] == '\r') tmp[k] = ' ';
        const char *field = rand() % 4 ? "data: " : "event: x\r\ndata:";
        lt_buf_append(b, field, strlen(field));
        lt_buf_append(b, tmp, n);
        if (rand() % 3) lt_buf_append(b, "\n\n", 2);
        else lt_buf_append(b, "\r\n\r\n", 4);
    }
    if (rand() % 4 == 0 && b->len > 3) b->len -= 1 + (size_t)rand() % 3; /* a cut stream */
}

static void exchange_for(lt_exchange *ex, const char *target, int status, const char *ctype)
{
    lt_exchange_init(ex, NULL);
    ex->req.present = ex->resp.present = 1;
    ex->req.method = strdup("POST");
    ex->req.target = strdup(target);
    ex->req.start_ts = 1000;
    ex->resp.start_ts = 2000;
    ex->resp.status = status;
    lt_http_msg_add_header(&ex->resp, "content-type", 12, ctype, strlen(ctype));
}

/* The facts of ex, with the counters that parsing them moved (no_ttft: without
 * time to first token, for an exchange compared with a stand-in of other times). */
static char *facts_of(const lt_exchange *ex, int no_ttft)
{
    lt_aoai_call call;
    lt_aoai_classify(ex->req.method, ex->req.target, &call);
    lt_aoai_cfg cfg = {0, 4096};
    json_t *out = json_object();
    lt_counters c;
    lt_counters_reset(&c);
    lt_aoai_parse(&call, ex, &cfg, out, &c);
    if (no_ttft) json_object_del(out, LT_AOAI_F_TIME_TO_FIRST_TOKEN_MS);
    char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER), *r;
    if (asprintf(&r, "%s|errors %llu|events %llu", s ? s : "NULL", (unsigned long long)c.json_errors,
                 (unsigned long long)c.sse_events) < 0)
        r = NULL;
    free(s);
    json_decref(out);
    return r;
}
static char *facts(const lt_exchange *ex) { return facts_of(ex, 0); }

/* Facts from the kept body vs from the body folded in random pieces (cap: the body cap). */
static int compare_one(const char *target, const lt_buf *body, size_t cap, int verbose)
{
    lt_exchange kept, folded;
    exchange_for(&kept, target, 200, "text/event-stream; charset=utf-8");
    exchange_for(&folded, target, 200, "text/event-stream; charset=utf-8");
    assert_int_equal(lt_aoai_stream_attach(&folded), 1);
    for (size_t off = 0; off < body->len;) { /* the same pieces at the same times, kept and folded */
        size_t n = 1 + (size_t)rand() % 40;
        if (n > body->len - off) n = body->len - off;
        lt_exchange *both[2] = {&kept, &folded};
        for (int i = 0; i < 2; i++) {
            lt_http_msg_mark(&both[i]->resp, 2000 + 1000 * (lt_time_us)off);
            lt_http_msg_body_append(&both[i]->resp, body->data + off, n, cap, NULL);
            both[i]->resp.body_bytes += n;
        }
        off += n;
    }
    int bad = 0;
    if (folded.resp.body.len) { print_error("folded body kept %zu bytes, expected 0\n", folded.resp.body.len); bad = 1; }
    if (folded.resp.body_truncated != kept.resp.body_truncated) {
        print_error("body_truncated: expected %d (kept body), got %d (folded)\n", kept.resp.body_truncated,
                    folded.resp.body_truncated);
        bad = 1;
    }
    char *f = facts(&folded), *k = facts(&kept);
    if (strcmp(f, k)) {
        bad = 1;
        if (verbose)
            print_error("stream: %.*s\n expected (kept body): %s\n got (folded):         %s\n", (int)body->len,
                        body->data, k, f);
    }
    free(f);
    free(k);
    lt_exchange_free(&kept);
    lt_exchange_free(&folded);
    return bad;
}

static void test_folded_equals_kept(void **st)
{
    (void)st;
    srand(1313);
    int bad = 0;
    for (int it = 0; it < 1500; it++) {
        lt_buf b;
        lt_buf_init(&b);
        int resp = it % 3 == 2;
        make_stream(&b, resp ? responses : chat, resp ? LT_ARRAY_LEN(responses) : LT_ARRAY_LEN(chat), 1 + rand() % 10);
        size_t cap = it % 5 == 4 ? b.len / 2 + 1 : 16u << 20; /* every fifth body over the cap */
        if (compare_one(resp ? RESP_PATH : CHAT_PATH, &b, cap, bad < 3)) bad++;
        lt_buf_free(&b);
    }
    if (bad) print_error("%d of 1500 streams: folded facts differ from the kept body's\n", bad);
    assert_int_equal(bad, 0);
}

/* Calls whose body records read whole keep it: not modelled, an error, not SSE. */
static void test_bodies_kept(void **st)
{
    (void)st;
    struct { const char *target; int status; const char *ct; } cases[] = {
        {"/openai/files?api-version=1", 200, "text/event-stream"},
        {CHAT_PATH, 429, "text/event-stream"},
        {CHAT_PATH, 200, "application/json"},
        {"/healthz", 200, "text/event-stream"},
    };
    for (size_t i = 0; i < LT_ARRAY_LEN(cases); i++) {
        lt_exchange ex;
        exchange_for(&ex, cases[i].target, cases[i].status, cases[i].ct);
        int got = lt_aoai_stream_attach(&ex);
        if (got) print_error("%s %d %s: expected the body kept, got a stream\n", cases[i].target, cases[i].status, cases[i].ct);
        assert_int_equal(got, 0);
        lt_exchange_free(&ex);
    }
    lt_exchange ex; /* a request never seen: nothing to classify */
    exchange_for(&ex, CHAT_PATH, 200, "text/event-stream");
    ex.req.present = 0;
    assert_int_equal(lt_aoai_stream_attach(&ex), 0);
    lt_exchange_free(&ex);
}

/* ---- through the HTTP/1 parser ------------------------------------------- */

typedef struct got { char *facts; size_t kept, body_bytes; int folded, truncated; } got;

static void on_ex(void *ud, lt_exchange *e)
{
    got *g = ud;
    free(g->facts);
    g->facts = facts_of(e, 1);
    g->kept = e->resp.body.len;
    g->body_bytes = e->resp.body_bytes;
    g->folded = e->resp.aoai != NULL;
    g->truncated = e->resp.body_truncated;
}

static size_t gz(const lt_buf *in, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

/* One chunked request/answer pair fed one byte at a time. */
static got run_h1(const lt_buf *sse, int gzip, size_t body_cap, lt_membudget *mb)
{
    static uint8_t enc[1 << 16];
    const uint8_t *b = sse->data;
    size_t n = sse->len;
    if (gzip) { n = gz(sse, enc, sizeof enc); b = enc; }
    lt_buf in;
    lt_buf_init(&in);
    char head[256];
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n%sContent-Length: %zu\r\n\r\n",
             gzip ? "Content-Encoding: gzip\r\n" : "", n);
    lt_buf_append(&in, head, strlen(head));
    lt_buf_append(&in, b, n);
    got g = {0};
    lt_parser_cfg cfg;
    lt_parser_cfg_defaults(&cfg);
    if (body_cap) cfg.body_cap = body_cap;
    cfg.budget = mb;
    lt_counters ctr;
    lt_counters_reset(&ctr);
    lt_conn_info conn;
    memset(&conn, 0, sizeof conn);
    lt_app_sink sink = {on_ex, NULL, &g, &ctr};
    void *p = lt_http1_ops.create(&cfg, &conn, &sink);
    const char *req = "POST " CHAT_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    lt_http1_ops.feed(p, 0, (const uint8_t *)req, strlen(req), 1000);
    for (size_t i = 0; i < in.len; i++) lt_http1_ops.feed(p, 1, in.data + i, 1, 2000 + (lt_time_us)i);
    lt_http1_ops.close(p, 0, 900000);
    lt_http1_ops.destroy(p);
    lt_buf_free(&in);
    return g;
}

static void test_http1_folds(void **st)
{
    (void)st;
    lt_buf sse;
    lt_buf_init(&sse);
    for (size_t i = 0; i < LT_ARRAY_LEN(chat); i++) {
        lt_buf_append(&sse, "data: ", 6);
        lt_buf_append(&sse, chat[i], strlen(chat[i]));
        lt_buf_append(&sse, "\n\n", 2);
    }
    for (int gzip = 0; gzip < 2; gzip++) {
        for (int capped = 0; capped < 2; capped++) {
            size_t cap = capped ? sse.len / 2 : 0;
            got g = run_h1(&sse, gzip, cap, NULL);
            lt_exchange ex; /* the same answer, kept whole (under the same cap) */
            exchange_for(&ex, CHAT_PATH, 200, "text/event-stream");
            lt_http_msg_body_append(&ex.resp, sse.data, sse.len, cap ? cap : 16u << 20, NULL);
            char *want = facts_of(&ex, 1);
            lt_exchange_free(&ex);
            int bytes_ok = capped || g.body_bytes == sse.len; /* past the cap a decoder stops early */
            if (!g.facts || !g.folded || g.kept || !bytes_ok || g.truncated != capped)
                print_error("gzip %d cap %zu: expected folded, 0 kept, %zu decoded, truncated %d; got folded %d, "
                            "%zu kept, %zu decoded, truncated %d\n", gzip, cap, sse.len, capped, g.folded, g.kept,
                            g.body_bytes, g.truncated);
            assert_true(g.facts && g.folded && !g.kept && bytes_ok && g.truncated == capped);
            if (strcmp(g.facts, want)) print_error("gzip %d cap %zu:\n expected %s\n got      %s\n", gzip, cap, want, g.facts);
            assert_string_equal(g.facts, want);
            free(want);
            free(g.facts);
        }
    }
    lt_buf_free(&sse);
}

/* A folded stream's accumulators are charged to the budget; past it the body is cut ("memcap"). */
static void test_budget_cuts_folded(void **st)
{
    (void)st;
    lt_buf sse;
    lt_buf_init(&sse);
    for (int i = 0; i < 2000; i++) {
        lt_buf_append(&sse, "data: ", 6);
        lt_buf_append(&sse, chat[2], strlen(chat[2]));
        lt_buf_append(&sse, "\n\n", 2);
    }
    lt_membudget *mb = lt_membudget_create(16 << 10);
    got g = run_h1(&sse, 0, 0, mb);
    if (!g.truncated || !strstr(g.facts ? g.facts : "", "He"))
        print_error("expected a cut stream with its first text, got truncated %d, facts %s\n", g.truncated, g.facts);
    assert_true(g.truncated);
    assert_non_null(strstr(g.facts, "He"));
    if (lt_membudget_used(mb)) print_error("expected the budget back to 0 after the exchange, got %zu\n", lt_membudget_used(mb));
    assert_int_equal(lt_membudget_used(mb), 0);
    free(g.facts);
    lt_membudget_destroy(mb);
    lt_buf_free(&sse);
}

/* Filter results that change on every chunk (more than the 4 KiB queued as
 * bytes, so merged on the way too) give the general path's merge exactly. */
static void test_changing_filters(void **st)
{
    (void)st;
    lt_buf b;
    lt_buf_init(&b);
    for (int i = 0; i < 120; i++) {
        char ev[512];
        snprintf(ev, sizeof ev, "data: {\"choices\":[{\"content_filter_results\":{\"k%d\":{\"filtered\":false,"
                 "\"severity\":\"s%d\"},\"hate\":{\"n\":%d}},\"delta\":{\"content\":\"x\"},\"finish_reason\":null,"
                 "\"index\":%d}],\"id\":\"c\",\"model\":\"m\"}\n\n", i % 7, i, i, i % 2);
        lt_buf_append(&b, ev, strlen(ev));
    }
    char *got[2];
    for (int fast = 0; fast < 2; fast++) {
        setenv("LLMTAP_AOAI_FAST", fast ? "1" : "0", 1);
        lt_exchange ex;
        exchange_for(&ex, CHAT_PATH, 200, "text/event-stream");
        assert_int_equal(lt_aoai_stream_attach(&ex), 1);
        lt_http_msg_body_append(&ex.resp, b.data, b.len, 16u << 20, NULL);
        got[fast] = facts(&ex);
        lt_exchange_free(&ex);
    }
    unsetenv("LLMTAP_AOAI_FAST");
    if (strcmp(got[0], got[1])) print_error("expected (general path) %s\ngot (fast path)         %s\n", got[0], got[1]);
    assert_string_equal(got[0], got[1]);
    assert_non_null(strstr(got[1], "\"k6\":{\"filtered\":false,\"severity\":\"s118\"}"));
    free(got[0]);
    free(got[1]);
    lt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folded_equals_kept),
        cmocka_unit_test(test_bodies_kept),
        cmocka_unit_test(test_http1_folds),
        cmocka_unit_test(test_budget_cuts_folded),
        cmocka_unit_test(test_changing_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
