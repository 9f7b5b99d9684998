/* test_oom.c -- llmtap when memory runs out, in the way of nghttp2's
 * failmalloc tests.
 *
 * Allocations are counted through the linker's --wrap of malloc, calloc,
 * realloc, strdup and strndup (this test's own link flags, Makefile) and
 * jansson's json_set_alloc_funcs; the Nth one after arming fails (OpenSSL's,
 * libpcap's and nghttp2's own are not counted). Four depths:
 * - records: each exchange of a small HTTP/1.1 conversation (a streamed chat
 *   call with keys in a header, the query string and a custom header, a plain
 *   one, a throttled one with an error body) is made into records again and
 *   again, with every allocation of the way failing in turn;
 * - parse: the same conversation's bytes through the connection parser and
 *   the records, every allocation failing in turn;
 * - capture: a real HTTP/2 capture's frames through the whole pipeline
 *   (flows, reassembly, HPACK, streams, SSE, records), the first 400
 *   allocations and 400 more spread over the ~10,000 of a run;
 * - the proxy's logging thread: the conversation as a proxy worker hands it
 *   over (events, the proxy's columns per call), every allocation of the
 *   worker's side and the logging thread's failing in turn.
 * Every run must end without a crash or a leak (the ASan build checks both),
 * every record that comes out must be whole (text that loads and is
 * json_dumps' form of what it loads to) and hold no secret, and a run in
 * which nothing failed must give the records of a run without failures,
 * byte for byte. Records lost to a failure are counted and logged
 * (records_unwritten, the parsers' counters); the proxy's depth checks that
 * every loss of records or of the proxy's columns is counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include "capture/pipeline.h"
#include "common/oom.h"
#include "common/log.h"
#include "parsers/app.h"
#include "parsers/conn.h"
#include "proxy/tap.h"
#include "records/records.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static long oom_at = -1;   /* the allocation to fail (0 = the first after arming), -1 none */
static long oom_calls;     /* allocations since arming */
static int oom_failed;     /* the armed allocation was reached and failed */

static int oom_now(void)
{
    if (oom_at < 0) return 0;
    if (oom_calls++ != oom_at) return 0;
    oom_failed = 1;
    return 1;
}

void *__wrap_malloc(size_t n) { return oom_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { return oom_now() ? NULL : __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { return oom_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return oom_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return oom_now() ? NULL : __real_strndup(s, n); }

#define KEY "header-key-0123456789"
#define QKEY "query-key-9876543210"
#define XKEY "custom-key-5555555555"

#define SSE(s) "data: " s "\n\n"
static const char stream_body[] =
    SSE("{\"id\":\"\",\"object\":\"\",\"created\":0,\"model\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}],\"choices\":[]}")
    SSE("{\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}")
    SSE("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\xc3\xa9 \\\"q\\\"\"},\"logprobs\":null,\"finish_reason\":null}]}")
    SSE("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t0\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}")
    SSE("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}")
    SSE("{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}")
    SSE("[DONE]");

static const char chat_req[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"key " KEY " in the prompt\"}],\"stream\":true}";
static const char plain_resp[] =
    "{\"id\":\"c2\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\","
    "\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}";
static const char error_resp[] = "{\"error\":{\"code\":\"429\",\"message\":\"Rate limit for key " QKEY "\"}}";

#define OOM_RECORDS 512  /* records kept per run (h2tools.pcap gives fewer) */

typedef struct oom_case {
    char *ref[OOM_RECORDS];      /* the first run's texts */
    int nref;
    char *got[OOM_RECORDS];      /* this run's texts (NULL: a record without text) */
    int ngot;
    int exchanges, runs;
    long most;         /* the most allocations a run reached */
    const lt_record_cfg *cfg;
    int conversation;  /* the records of oom_conversation (whose secrets are known) */
} oom_case;

/* Whole or without text; never a secret; text in json_dumps' form. */
static void oom_on_record(void *ud, lt_record *r)
{
    oom_case *c = ud;
    long saved = oom_at;
    oom_at = -1;   /* the checks allocate; nothing of theirs may fail */
    if (c->ngot < OOM_RECORDS) c->got[c->ngot++] = r->text ? strdup(r->text) : NULL;
    if (r->text) {
        assert_int_equal(strlen(r->text), r->len);
        json_error_t err;
        json_t *o = json_loadb(r->text, r->len, JSON_REJECT_DUPLICATES, &err);
        if (!o) fail_msg("a record that does not load (%s): %s", err.text, r->text);
        char *again = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!again || strcmp(again, r->text)) fail_msg("a record not in json_dumps' form:\n got  %s\n want %s", r->text, again);
        free(again);
        json_decref(o);
        /* An answer whose request was lost (here to a failed allocation; in a
         * capture to a hole) may echo a key llmtap never saw: nothing can
         * redact that, so only records with their request are asked. */
        int no_request = !strstr(r->text, "\"Method\":");   /* lost to a hole or to memory */
        if (!no_request && (strstr(r->text, KEY) || strstr(r->text, QKEY) || strstr(r->text, XKEY)))
            fail_msg("a secret in a record: %s", r->text);
        /* and every fingerprint is one of a secret of the conversation */
        static const char bearer[] = "Bearer " KEY;   /* the Authorization header's whole value */
        static const char *const secrets[] = {KEY, QKEY, XKEY, bearer};
        for (const char *f = r->text; c->conversation && (f = strstr(f, "fp:")); f += 3) {
            int known = 0;
            for (size_t i = 0; i < sizeof secrets / sizeof *secrets && !known; i++) {
                char fp[13];
                lt_fingerprint(secrets[i], fp);
                known = !strncmp(f + 3, fp, 12);
            }
            if (!known) fail_msg("a fingerprint of no secret (%.15s) in %s", f, r->text);
        }
    }
    oom_at = saved;
}

static void oom_clear(char **v, int *n)
{
    for (int i = 0; i < *n; i++) free(v[i]);
    *n = 0;
}

static void oom_on_exchange(void *ud, lt_exchange *ex)
{
    oom_case *c = ud;
    c->exchanges++;
    oom_clear(c->ref, &c->nref);
    lt_records_from_exchange(c->cfg, ex, NULL, oom_on_record, c);   /* the reference */
    memcpy(c->ref, c->got, sizeof c->got);
    c->nref = c->ngot;
    c->ngot = 0;
    assert_true(c->nref >= 1);
    for (int i = 0; i < c->nref; i++) assert_non_null(c->ref[i]);
    for (long n = 0;; n++) {
        oom_calls = 0;
        oom_failed = 0;
        oom_at = n;
        lt_records_from_exchange(c->cfg, ex, NULL, oom_on_record, c);
        oom_at = -1;
        c->runs++;
        if (oom_calls > c->most) c->most = oom_calls;
        if (!oom_failed) { /* nothing failed: the same records as the reference */
            if (c->ngot != c->nref) fail_msg("expected %d records, got %d", c->nref, c->ngot);
            for (int i = 0; i < c->ngot; i++) {
                if (!c->got[i] || strcmp(c->got[i], c->ref[i]))
                    fail_msg("record %d: expected\n %s\ngot\n %s", i, c->ref[i], c->got[i] ? c->got[i] : "(none)");
            }
            oom_clear(c->got, &c->ngot);
            break;
        }
        /* the exchange is the same in every run: a record that comes out is
         * the reference's, every column of it, or it is not written at all */
        for (int i = 0; i < c->ngot; i++) {
            int same = 0;
            for (int k = 0; k < c->nref && !same; k++) same = c->got[i] && !strcmp(c->got[i], c->ref[k]);
            if (!same) fail_msg("allocation %ld failed: a record unlike the reference's:\n %s", n,
                                c->got[i] ? c->got[i] : "(none)");
        }
        oom_clear(c->got, &c->ngot);
    }
    oom_clear(c->ref, &c->nref);
}

/* Where the conversation's bytes go: a connection parser, or the proxy's tap. */
typedef struct oom_wire {
    void (*feed)(void *ud, int dir, const char *s, size_t n, lt_time_us ts);
    void *ud;
} oom_wire;

static void oom_feed_parser(void *ud, int dir, const char *s, size_t n, lt_time_us ts)
{
    lt_conn_parser_feed(ud, dir, (const uint8_t *)s, n, ts);
}

static void oom_feed(const oom_wire *w, int dir, const char *s, size_t n, lt_time_us *ts)
{
    *ts += 1000;
    w->feed(w->ud, dir, s, n, *ts);
}

static void oom_exchange(const oom_wire *w, const char *head, const char *body, const char *resp_head,
                         const char *resp_body, lt_time_us *ts)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%sContent-Length: %zu\r\n\r\n%s", head, strlen(body), body);
    oom_feed(w, LT_DIR_TO_SERVER, buf, (size_t)n, ts);
    n = snprintf(buf, sizeof buf, "%sContent-Length: %zu\r\n\r\n%s", resp_head, strlen(resp_body), resp_body);
    oom_feed(w, LT_DIR_TO_CLIENT, buf, (size_t)n, ts);
}

/* The conversation: three calls on one connection. */
static void oom_conversation_to(const oom_wire *w, lt_time_us *ts)
{
    oom_exchange(w,
                 "POST /openai/deployments/gpt4o/chat/completions?api-version=2024-10-21&api-key=" QKEY " HTTP/1.1\r\n"
                 "Host: x\r\napi-key: " KEY "\r\nX-Api-Key: " XKEY "\r\nX-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n"
                 "x-foo: 1\r\nx-foo: 2\r\nContent-Type: application/json\r\n",
                 chat_req,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nx-request-id: r1\r\napim-request-id: a1\r\n"
                 "x-ms-region: East US\r\nx-ratelimit-remaining-tokens: 900\r\n",
                 stream_body, ts);
    oom_exchange(w,
                 "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " KEY "\r\n"
                 "Content-Type: application/json\r\n",
                 "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}",
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", plain_resp, ts);
    oom_exchange(w,
                 "POST /openai/deployments/gpt4o/chat/completions?api-version=1&api-key=" QKEY " HTTP/1.1\r\nHost: x\r\n"
                 "Content-Type: application/json\r\n",
                 "{\"messages\":[]}",
                 "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nretry-after: 7\r\n"
                 "retry-after-ms: 7000\r\n",
                 error_resp, ts);
}

static void oom_conversation(lt_conn_parser *p, lt_time_us *ts)
{
    oom_wire w = {oom_feed_parser, p};
    oom_conversation_to(&w, ts);
}

static const lt_conn_info oom_conn = {.client = {4, {10, 1, 2, 3}, 50000}, .server = {4, {10, 9, 9, 9}, 443}, .conn_id = 1};

static void test_records_out_of_memory(void **st)
{
    (void)st;
    lt_log_level = LT_LOG_ERROR - 1;   /* each failure is logged; thousands of lines say nothing here */
    lt_oom_install();
    lt_record_cfg rcfg;
    lt_record_cfg_defaults(&rcfg);
    oom_case c = {.cfg = &rcfg, .conversation = 1};
    lt_parser_cfg pcfg;
    lt_parser_cfg_defaults(&pcfg);
    lt_app_sink sink = {.on_exchange = oom_on_exchange, .ud = &c};
    lt_conn_parser *p = lt_conn_parser_create(&pcfg, &oom_conn, &sink);
    assert_non_null(p);
    lt_time_us ts = 1700000000000000;
    oom_conversation(p, &ts);
    lt_conn_parser_close(p, 0, ts + 1000);
    lt_conn_parser_destroy(p);
    json_set_alloc_funcs(malloc, free);
    print_message("%d exchanges, %d runs, the most allocations in one run %ld\n", c.exchanges, c.runs, c.most);
    if (c.exchanges != 3) fail_msg("expected 3 exchanges, got %d", c.exchanges);
    /* every allocation point of the busiest exchange was made to fail once */
    if (c.most < 40) fail_msg("expected runs of at least 40 allocations, the most was %ld", c.most);
    if (c.runs < 3 * 40) fail_msg("expected at least 120 runs, got %d", c.runs);
}

/* Records of the parse, for the whole-path test: checked as they come. */
static void oom_on_exchange_records(void *ud, lt_exchange *ex)
{
    oom_case *c = ud;
    c->exchanges++;
    lt_records_from_exchange(c->cfg, ex, NULL, oom_on_record, c);
}

/* a and b equal but for the values of CorrelationId and RecordId. */
static int oom_same_but_ids(const char *a, const char *b)
{
    char *x = strdup(a), *y = strdup(b);
    char *v[2] = {x, y};
    for (int i = 0; i < 2; i++)
        for (const char *const *k = (const char *const[]){"\"CorrelationId\":\"", "\"RecordId\":\"", NULL}; *k; k++)
            for (char *f = strstr(v[i], *k); f; f = strstr(f + 1, *k))
                for (char *c = f + strlen(*k); *c && *c != '"'; c++) *c = '0';
    int same = !strcmp(x, y);
    free(x);
    free(y);
    return same;
}

/* The whole path, parser included: the conversation's bytes are parsed and
 * made into records with the Nth allocation failing, for every N until a run
 * fails none, which must give the records of a run without failures. A call
 * may be lost to a failure (its records counted, not silent: the parser's
 * and records' counters), never half-written or with a secret. */
static void test_parse_out_of_memory(void **st)
{
    (void)st;
    lt_log_level = LT_LOG_ERROR - 1;
    lt_oom_install();
    lt_record_cfg rcfg;
    lt_record_cfg_defaults(&rcfg);
    lt_parser_cfg pcfg;
    lt_parser_cfg_defaults(&pcfg);
    char *ref[OOM_RECORDS];
    int nref = 0;
    long most = 0;
    int runs = 0;
    for (long n = -1;; n++) {
        oom_case c = {.cfg = &rcfg, .conversation = 1};
        lt_app_sink sink = {.on_exchange = oom_on_exchange_records, .ud = &c};
        oom_calls = 0;
        oom_failed = 0;
        oom_at = n;
        lt_conn_parser *p = lt_conn_parser_create(&pcfg, &oom_conn, &sink);
        if (p) {
            lt_time_us ts = 1700000000000000;
            oom_conversation(p, &ts);
            lt_conn_parser_close(p, 0, ts + 1000);
            lt_conn_parser_destroy(p);
        }
        oom_at = -1;
        runs++;
        if (oom_calls > most) most = oom_calls;
        if (n < 0) { /* the reference */
            assert_int_equal(c.ngot, 6);   /* a gateway and an LLM record per call */
            memcpy(ref, c.got, sizeof c.got);
            nref = c.ngot;
            continue;
        }
        if (!oom_failed) {
            if (c.ngot != nref) fail_msg("expected %d records, got %d", nref, c.ngot);
            for (int i = 0; i < c.ngot; i++)
                if (!c.got[i] || strcmp(c.got[i], ref[i])) fail_msg("record %d differs from the reference", i);
            oom_clear(c.got, &c.ngot);
            break;
        }
        /* a record that comes out is the reference's or says it is not whole
         * (its ids aside: an exchange lost before it changes its place in
         * the connection, which its ids are made of) */
        for (int i = 0; i < c.ngot; i++) {
            int same = 0;
            for (int k = 0; k < nref && !same; k++) same = c.got[i] && oom_same_but_ids(c.got[i], ref[k]);
            if (!same && c.got[i] && !strstr(c.got[i], "\"IncompleteReason\""))
                fail_msg("allocation %ld failed: a record unlike the reference's, not marked incomplete:\n %s", n,
                         c.got[i]);
        }
        oom_clear(c.got, &c.ngot);
    }
    oom_clear(ref, &nref);
    json_set_alloc_funcs(malloc, free);
    print_message("%d runs, the most allocations in one run %ld\n", runs, most);
    if (most < 100) fail_msg("expected runs of at least 100 allocations, the most was %ld", most);
}

/* A real capture's frames, held in memory so reading them allocates nothing
 * while the pipeline's allocations fail. */
typedef struct oom_frame { uint8_t *p; size_t n; lt_time_us ts; } oom_frame;

static int oom_read_capture(const char *path, oom_frame **out, int *linktype)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, eb);
    if (!pc) fail_msg("cannot open %s: %s", path, eb);
    *linktype = pcap_datalink(pc);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int n = 0, cap = 0;
    while (pcap_next_ex(pc, &hdr, &data) == 1) {
        if (n == cap) *out = realloc(*out, sizeof **out * (size_t)(cap = cap ? cap * 2 : 256));
        (*out)[n].p = malloc(hdr->caplen);
        memcpy((*out)[n].p, data, hdr->caplen);
        (*out)[n].n = hdr->caplen;
        (*out)[n++].ts = (lt_time_us)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec;
    }
    pcap_close(pc);
    return n;
}

static void oom_run_pipeline(const oom_frame *f, int nf, int linktype, oom_case *c)
{
    lt_pipeline_cfg cfg;
    lt_pipeline_cfg_defaults(&cfg);
    lt_pipeline *pl = lt_pipeline_create(&cfg, oom_on_record, c);
    if (!pl) return;
    for (int i = 0; i < nf; i++) lt_pipeline_packet(pl, linktype, f[i].p, f[i].n, f[i].ts);
    lt_pipeline_finish(pl, nf ? f[nf - 1].ts + 1000000 : 0);
    lt_pipeline_destroy(pl);
}

/* The whole path from frames, HTTP/2 included (tests/fixtures/http2/h2tools.pcap:
 * Node's http2 client, tool calls, streamed and not): flows, reassembly,
 * HPACK, streams, SSE, records. A run of this capture makes thousands of
 * allocations, so the first 400 are each made to fail and then 400 more
 * spread over the rest; every run must end without a crash or a leak and
 * give only whole records, and a run past the last allocation must give the
 * records of a run without failures. */
static void test_capture_out_of_memory(void **st)
{
    (void)st;
    lt_log_level = LT_LOG_ERROR - 1;
    oom_frame *f = NULL;
    const char *path = getenv("OOM_CAPTURE_FILE");   /* another capture, to explore */
    int linktype, nf = oom_read_capture(path ? path : "tests/fixtures/http2/h2tools.pcap", &f, &linktype);
    assert_true(nf > 10);
    lt_oom_install();
    oom_case ref = {0};
    oom_calls = 0;
    oom_at = LONG_MAX;   /* counting, never failing */
    oom_run_pipeline(f, nf, linktype, &ref);
    long total = oom_calls;
    oom_at = -1;
    assert_true(ref.ngot >= 2);
    for (int i = 0; i < ref.ngot; i++) assert_non_null(ref.got[i]);
    int runs = 0;
    /* OOM_CAPTURE_ALL=1: every allocation of the run, not a sample (seconds to minutes) */
    int all = getenv("OOM_CAPTURE_ALL") != NULL;
    for (long k = 0; k < (all ? total : 800); k++) {
        long n = all || k < 400 ? k : 400 + (k - 400) * (total - 400) / 400;
        oom_case c = {0};
        oom_calls = 0;
        oom_failed = 0;
        oom_at = n;
        oom_run_pipeline(f, nf, linktype, &c);
        oom_at = -1;
        runs++;
        /* as in the parse depth: the reference's record, or marked incomplete */
        for (int i = 0; i < c.ngot; i++) {
            int same = 0;
            for (int k = 0; k < ref.ngot && !same; k++) same = c.got[i] && oom_same_but_ids(c.got[i], ref.got[k]);
            if (!same && c.got[i] && !strstr(c.got[i], "\"IncompleteReason\"")) {
                fprintf(stderr, "record: %s\n", c.got[i]);
                fail_msg("allocation %ld failed: a record unlike the reference's, not marked incomplete", n);
            }
        }
        oom_clear(c.got, &c.ngot);
    }
    oom_case last = {0};   /* past the last allocation: nothing fails */
    oom_calls = 0;
    oom_failed = 0;
    oom_at = total + 1;
    oom_run_pipeline(f, nf, linktype, &last);
    oom_at = -1;
    assert_false(oom_failed);
    if (last.ngot != ref.ngot) fail_msg("expected %d records, got %d", ref.ngot, last.ngot);
    for (int i = 0; i < ref.ngot; i++)
        if (!last.got[i] || strcmp(last.got[i], ref.got[i])) fail_msg("record %d differs from the reference", i);
    oom_clear(last.got, &last.ngot);
    oom_clear(ref.got, &ref.ngot);
    json_set_alloc_funcs(malloc, free);
    for (int i = 0; i < nf; i++) free(f[i].p);
    free(f);
    print_message("%d frames, %ld allocations in a run, %d runs\n", nf, total, runs);
    if (total < 1000) fail_msg("expected a run of at least 1000 allocations, got %ld", total);
}

/* ---- the proxy's logging thread ---- */

/* The conversation as the proxy hands it to its logging thread (proxy/tap.c):
 * a worker's events (open, the bytes both ways, the proxy's columns after
 * each response, close) batched on this thread, then parsed on the logging
 * thread while this one waits (lt_tap_flush), so the allocations of the two
 * threads never interleave and the Nth one is the same in every run. */
typedef struct oom_tap_wire { lt_tap *t; lt_tap_conn *tc; int call; } oom_tap_wire;

static void oom_feed_tap(void *ud, int dir, const char *s, size_t n, lt_time_us ts)
{
    oom_tap_wire *w = ud;
    lt_tap_data(w->t, w->tc, dir, s, n, ts);
    if (dir == LT_DIR_TO_CLIENT) /* the call ends: its columns, as forward.c sends them */
        lt_tap_extras(w->t, w->tc, json_pack("{s:s,s:i,s:[]}", "BackendId", "east", "Attempts", ++w->call, "AttemptErrors"));
}

static void oom_arm(void *arg) { (void)arg; }

typedef struct oom_tap_run {
    char *lines[8];
    int nlines;
    lt_tap_stats st;
    lt_counters ctr;
    int created;
} oom_tap_run;

static void oom_tap_once(const lt_proxy_cfg *cfg, long n, oom_tap_run *r)
{
    FILE *out = tmpfile();   /* the logging thread prints the records (--json) here */
    assert_non_null(out);
    fflush(stdout);
    int saved = dup(1);
    assert_true(saved >= 0 && dup2(fileno(out), 1) == 1);
    oom_calls = 0;
    oom_failed = 0;
    oom_at = n;
    lt_tap *t = lt_tap_create(cfg, NULL, 1);
    if (t) {
        r->created = 1;
        lt_tap_batch(t, oom_arm, NULL);
        lt_tap_conn tc = {0};
        lt_tap_open(t, &tc, &oom_conn);
        oom_tap_wire tw = {t, &tc, 0};
        oom_wire w = {oom_feed_tap, &tw};
        lt_time_us ts = 1700000000000000;
        oom_conversation_to(&w, &ts);
        lt_tap_close(t, &tc, 0, ts + 1000);
        lt_tap_commit(t);
        lt_tap_flush(t);
        lt_tap_batch(NULL, NULL, NULL);
        lt_tap_stats_get(t, &r->st);
        lt_tap_destroy(t, &r->ctr);
    }
    oom_at = -1;
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(out);
    char line[65536];
    while (fgets(line, sizeof line, out)) {
        assert_true(r->nlines < 8);
        line[strcspn(line, "\n")] = 0;
        r->lines[r->nlines++] = strdup(line);
    }
    fclose(out);
}

/* Every allocation of the logging thread's way, and the worker's, fails in
 * turn: records come out whole or not at all, never with a secret; a gateway
 * record that goes without the proxy's columns, and a call that goes without
 * records, is counted. */
static void test_tap_out_of_memory(void **st)
{
    (void)st;
    lt_log_level = LT_LOG_ERROR - 1;
    lt_oom_install();
    lt_proxy_cfg cfg;
    lt_proxy_cfg_defaults(&cfg);
    oom_tap_run ref = {0};
    oom_tap_once(&cfg, -1, &ref);
    if (ref.nlines != 6) fail_msg("expected 6 records (a gateway and an LLM record per call), got %d", ref.nlines);
    int ref_cols = 0;
    for (int i = 0; i < ref.nlines; i++) ref_cols += strstr(ref.lines[i], "\"BackendId\":\"east\"") != NULL;
    if (ref_cols != 3) fail_msg("expected the proxy's columns in 3 records, got %d", ref_cols);
    int runs = 0, lost_runs = 0, cut_runs = 0, unprinted_runs = 0;
    long most = 0;
    for (long n = 0;; n++) {
        oom_tap_run r = {0};
        oom_tap_once(&cfg, n, &r);
        runs++;
        if (oom_calls > most) most = oom_calls;
        int gw = 0, cols = 0;
        for (int i = 0; i < r.nlines; i++) {
            const char *l = r.lines[i];
            json_t *o = json_loads(l, JSON_REJECT_DUPLICATES, NULL);
            if (!o) fail_msg("run %ld: a line that does not load: %s", n, l);
            json_decref(o);
            int no_request = !strstr(l, "\"Method\":");
            if (!no_request && (strstr(l, KEY) || strstr(l, QKEY) || strstr(l, XKEY)))
                fail_msg("run %ld: a secret in a record: %s", n, l);
            static const char gw_head[] = "{\"Table\":\"ApiManagementGatewayLogs\"";
            gw += !strncmp(l, gw_head, sizeof gw_head - 1);
            cols += strstr(l, "\"BackendId\":\"east\"") != NULL;
        }
        if (!oom_failed) {
            if (r.nlines != ref.nlines) fail_msg("nothing failed: expected %d records, got %d", ref.nlines, r.nlines);
            for (int i = 0; i < r.nlines; i++)
                if (strcmp(r.lines[i], ref.lines[i])) fail_msg("record %d: expected\n %s\ngot\n %s", i, ref.lines[i], r.lines[i]);
            oom_clear(r.lines, &r.nlines);
            break;
        }
        if (r.created) {
            /* records not emitted: the loss is counted somewhere */
            uint64_t counted = r.st.conns_unlogged + r.st.dropped_events + r.ctr.records_unwritten +
                               r.ctr.connections_unparsed + r.ctr.parser_budget_truncations + r.ctr.http_parse_errors;
            if (r.st.records < ref.st.records && !counted)
                fail_msg("run %ld: %llu of %llu records and no loss counted", n, (unsigned long long)r.st.records,
                         (unsigned long long)ref.st.records);
            if (r.st.records < ref.st.records) lost_runs++;
            /* a gateway record without the proxy's columns is counted */
            if (cols < gw && !r.st.records_no_columns)
                fail_msg("run %ld: %d gateway records, %d with the proxy's columns, none counted", n, gw, cols);
            if (cols < gw) cut_runs++;
            /* each record is a --json line, or counted as not printed */
            if ((uint64_t)r.nlines + r.ctr.records_unprinted != r.st.records)
                fail_msg("run %ld: %d lines and %llu counted unprinted for %llu records", n, r.nlines,
                         (unsigned long long)r.ctr.records_unprinted, (unsigned long long)r.st.records);
            if (r.ctr.records_unprinted) unprinted_runs++;
        }
        oom_clear(r.lines, &r.nlines);
    }
    oom_clear(ref.lines, &ref.nlines);
    lt_proxy_cfg_free(&cfg);
    json_set_alloc_funcs(malloc, free);
    print_message("%d runs, the most allocations in one run %ld; %d runs lost records, %d lost the proxy's columns, "
                  "%d could not print a record\n", runs, most, lost_runs, cut_runs, unprinted_runs);
    if (most < 100) fail_msg("expected runs of at least 100 allocations, the most was %ld", most);
    if (!lost_runs || !cut_runs || !unprinted_runs)
        fail_msg("expected runs that lose records, runs that lose columns and runs that cannot print a record");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_out_of_memory),
        cmocka_unit_test(test_parse_out_of_memory),
        cmocka_unit_test(test_capture_out_of_memory),
        cmocka_unit_test(test_tap_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
