/* test_aoai_fast.c -- differential test of the SSE fast path of parsers/aoai.c: streams of
 * Azure-shaped chunks (prompt filter, role, content with filter results and escapes, tool-call
 * head and argument deltas, finish, usage), each chunk randomly mutated or not (bytes replaced,
 * inserted, deleted: broken JSON, control bytes, bad UTF-8, lone surrogates, duplicate-looking
 * keys), must give exactly the same facts and the same json_errors count with the fast path on
 * and off (LLMTAP_AOAI_FAST=0). Fixed seeds, so a failure is repeatable; it prints the stream
 * and both results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "parsers/aoai.h"
#include "common/counters.h"
static const char *chunks[] = {
 "{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}},\"prompt_index\":0}]}",
 "{\"choices\":[{\"content_filter_results\":{},\"delta\":{\"content\":\"\",\"refusal\":null,\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
 "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{\"filtered\":false,\"severity\":\"low\"}},\"delta\":{\"content\":\" He\\u00e9l\\\"lo\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
 /* content chunks that differ from the one above in the content alone (the fast path's
  * template), in the filter results, in the choice, or in an escape */
 "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{\"filtered\":false,\"severity\":\"low\"}},\"delta\":{\"content\":\" world\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
 "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{\"filtered\":false,\"severity\":\"low\"}},\"delta\":{\"content\":\"\\n\\u2603 \\\\x\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
 "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":true,\"severity\":\"medium\"},\"sexual\":{\"filtered\":false,\"severity\":\"low\"}},\"delta\":{\"content\":\"!\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
 "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{\"filtered\":false,\"severity\":\"low\"}},\"delta\":{\"content\":\" two\"},\"finish_reason\":null,\"index\":1,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
 "{\"choices\":[{\"content_filter_results\":{},\"delta\":{\"content\":\" empty-filters\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}",
 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"finish_reason\":null}]}",
 "{\"choices\":[{\"content_filter_results\":{},\"delta\":{},\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null}],\"created\":1763800000,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\"}",
 "{\"choices\":[],\"created\":1,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}",
 /* tool-call argument deltas that differ from chunk 9 in the arguments alone, or also in the tool */
 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\": \\\"Par\\u00eds\\\"}\"}}]},\"finish_reason\":null}]}",
 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}",
};
#define NC (sizeof chunks / sizeof *chunks)
static char *run(const char *body, size_t n, int fast)
{
    setenv("LLMTAP_AOAI_FAST", fast ? "1" : "0", 1);
    lt_exchange ex; lt_exchange_init(&ex, NULL);
    ex.req.present = 1; ex.resp.present = 1; ex.resp.status = 200;
    lt_http_msg_add_header(&ex.resp, "content-type", 12, "text/event-stream", 17);
    lt_buf_append(&ex.resp.body, body, n);
    lt_aoai_call call; memset(&call, 0, sizeof call); lt_aoai_classify("POST", "/openai/deployments/gpt-4o/chat/completions?api-version=1", &call);
    lt_aoai_cfg cfg = {0, 4096};
    json_t *out = json_object(); lt_counters c; lt_counters_reset(&c);
    lt_aoai_parse(&call, &ex, &cfg, out, &c);
    char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *r; if (asprintf(&r, "%s|%llu", s ? s : "NULL", (unsigned long long)c.json_errors) < 0) r = NULL;
    free(s); json_decref(out); lt_exchange_free(&ex);
    return r;
}
static int differential(unsigned seed, int iters)
{
    srand(seed);
    int bad = 0;
    const char alpha[] = "{}[]\",:\\0123456789.eE-+ tfnul\x01\xc3\xa9\xed\xa0\x80 abc";
    for (int it = 0; it < iters; it++) {
        lt_buf b; lt_buf_init(&b);
        int ne = 1 + rand() % 12;
        for (int e = 0; e < ne; e++) {
            const char *c = chunks[rand() % NC]; size_t n = strlen(c);
            char tmp[2048]; memcpy(tmp, c, n);
            int muts = rand() % 4;
            for (int m = 0; m < muts; m++) {
                size_t pos = (size_t)rand() % n;
                int op = rand() % 3; char ch = alpha[rand() % (sizeof alpha - 1)];
                if (op == 0) tmp[pos] = ch;
                else if (op == 1 && n < sizeof tmp - 1) { memmove(tmp + pos + 1, tmp + pos, n - pos); tmp[pos] = ch; n++; }
                else if (n > 1) { memmove(tmp + pos, tmp + pos + 1, n - pos - 1); n--; }
            }
            for (size_t k = 0; k < n; k++) if (tmp[k] == '\n' || tmp[k] == '\r') tmp[k] = ' ';
            lt_buf_append(&b, "data: ", 6); lt_buf_append(&b, tmp, n); lt_buf_append(&b, "\n\n", 2);
        }
        char *f = run((const char *)b.data, b.len, 1), *g = run((const char *)b.data, b.len, 0);
        if (strcmp(f, g) && bad++ < 3)
            print_error("seed %u iteration %d\n stream: %.*s\n expected (general path): %s\n got (fast path):        %s\n",
                        seed, it, (int)b.len, b.data, g, f);
        free(f); free(g); lt_buf_free(&b);
    }
    return bad;
}

static void test_unmutated_stream_is_fast_and_equal(void **st)
{
    (void)st;
    lt_buf b; lt_buf_init(&b);
    for (size_t i = 0; i < NC; i++) { lt_buf_append(&b, "data: ", 6); lt_buf_append(&b, chunks[i], strlen(chunks[i])); lt_buf_append(&b, "\n\n", 2); }
    char *f = run((const char *)b.data, b.len, 1), *g = run((const char *)b.data, b.len, 0);
    if (strcmp(f, g)) fail_msg("expected (general path): %s\ngot (fast path): %s", g, f);
    if (!strstr(f, "He\\u00e9l") && !strstr(f, "He\xc3\xa9l")) fail_msg("expected the decoded content \"He\u00e9l\\\"lo\" in %s", f);
    free(f); free(g); lt_buf_free(&b);
}

/* Runs of content chunks in every order the template could be misapplied to:
 * each must give the general path's facts. */
static void test_content_runs_equal(void **st)
{
    (void)st;
    static const int runs[][12] = {
        {1, 2, 3, 4, 3, 2, 5, 3, 7, 10, 11, -1}, /* content only, escapes, filters change, {} filters */
        {1, 2, 6, 3, 6, 6, 4, 10, -1},           /* another choice between content chunks */
        {2, 3, 3, 3, 4, 8, 9, 3, 10, -1},        /* before the role chunk; a tool call between content */
        {1, 5, 2, 5, 3, 3, 0, 3, 11, -1},        /* filter results that merge */
        {1, 7, 7, 3, 7, 3, 10, -1},              /* {} filter results between full ones */
        {1, 8, 9, 12, 9, 12, 13, 12, 3, 12, 10, -1}, /* argument deltas, another tool between */
        {1, 2, 9, 12, 2, 12, 12, 6, 12, 11, -1},      /* argument deltas before the tool call's head */
    };
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        lt_buf b; lt_buf_init(&b);
        for (int i = 0; i < 12 && runs[r][i] >= 0; i++) {
            const char *c = chunks[runs[r][i]];
            lt_buf_append(&b, "data: ", 6); lt_buf_append(&b, c, strlen(c)); lt_buf_append(&b, "\n\n", 2);
        }
        char *f = run((const char *)b.data, b.len, 1), *g = run((const char *)b.data, b.len, 0);
        if (strcmp(f, g)) fail_msg("run %zu:\nexpected (general path): %s\ngot (fast path): %s", r, g, f);
        free(f); free(g); lt_buf_free(&b);
    }
}

static void test_mutated_streams_equal(void **st)
{
    (void)st;
    int bad = 0;
    for (unsigned seed = 1; seed <= 4; seed++) bad += differential(seed, 1500);
    if (bad) fail_msg("%d of 6000 mutated streams differ between the fast and the general path", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmutated_stream_is_fast_and_equal),
        cmocka_unit_test(test_content_runs_equal),
        cmocka_unit_test(test_mutated_streams_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
