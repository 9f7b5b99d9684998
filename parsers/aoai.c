/* aoai.c -- Azure OpenAI request/response bodies → the facts of one call.
 *
 * The facts (model, messages, usage, finish reasons, filter results, time to
 * first token...) go into a JSON object under this module's own names, the
 * vocabulary of the OpenAI API (aoai.h: LT_AOAI_F_*), in the order they
 * are found; records/llm.c alone turns them into APIM's column names.
 *
 * Non-streamed responses are one JSON document. Streamed ones are SSE: each
 * chat chunk is parsed on its own and folded into per-choice accumulators
 * (content, refusal, role, finish_reason, tool calls by index), so n>1
 * choices and parallel tool calls stay apart however their deltas interleave.
 * Azure's stream quirks are expected, not tolerated by accident: a first
 * chunk with empty choices and prompt_filter_results, content-filter
 * annotation chunks without a delta (even after finish_reason), and a final
 * usage chunk with empty choices. A stream that never sent usage is marked
 * "missing", never zero. The Responses API stream is folded the same way,
 * preferring the complete response carried by response.completed.
 * A stream is read as it arrives (lt_aoai_stream, attached to the response
 * by the HTTP parsers), so a call in flight holds its accumulators and a
 * partial event, not its body; a stream without one (a body kept whole) is
 * read through the same code when the call is parsed.
 * The common chunk shapes of a chat stream take a fast path that walks the
 * event in place (jscan.h) and applies exactly what the general path would;
 * everything else builds a jansson tree (see "fast path" below). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "aoai.h"
#include "../common/jscan.h"
#include "../common/jtext.h"
#include "sse.h"
#include "../common/oom.h"

/* ---- small JSON helpers ------------------------------------------------- */

/* Off with LLMTAP_AOAI_FAST=0: the fast path and the scanner's trees, so that
 * the general path with jansson alone is there to compare against. */
static int lt_fast_enabled(void)
{
    const char *f = getenv("LLMTAP_AOAI_FAST");
    return !(f && !strcmp(f, "0"));
}

/* json_loadb(p, n, 0, err), the tree built by the scanner when it can
 * (common/jscan.h: no lexer; jansson decides whatever it leaves). */
static json_t *lt_json_load(const char *p, size_t n, int fast, json_error_t *err)
{
    json_t *j = fast ? lt_jscan_tree(p, n) : NULL;
    return j ? j : json_loadb(p, n, 0, err);
}

static json_t *lt_json_body(const lt_http_msg *m, lt_counters *ctr)
{
    if (!m->present || !m->body.len) return NULL;
    const char *ct = lt_http_msg_header(m, "content-type");
    if (ct && !strcasestr(ct, "json")) return NULL;
    json_error_t err;
    json_t *j = lt_json_load((const char *)m->body.data, m->body.len, lt_fast_enabled(), &err);
    if (!j) {
        ctr->json_errors++;
        lt_info("unparseable JSON body (%s at %d)%s", err.text, err.position,
                m->body_truncated ? " (body truncated at the cap)" : "");
    }
    return j;
}

static void lt_set(json_t *out, const char *k, json_t *v)
{
    if (v) json_object_set(out, k, v);
}

static void lt_set_int(json_t *out, const char *k, json_t *v)
{
    if (json_is_integer(v)) json_object_set(out, k, v);
}

static void lt_set_str(json_t *out, const char *k, json_t *v)
{
    if (json_is_string(v) && json_string_length(v)) json_object_set(out, k, v);
}

static int lt_is_sse(const lt_http_msg *resp)
{
    const char *ct = lt_http_msg_header(resp, "content-type");
    return ct && strcasestr(ct, "text/event-stream");
}

/* ---- usage --------------------------------------------------------------- */

/* Copies a usage object (chat/completions/embeddings or Responses API). */
static int lt_usage_fill(json_t *out, json_t *u)
{
    if (!json_is_object(u)) return 0;
    json_t *pt = json_object_get(u, "prompt_tokens"), *ct = json_object_get(u, "completion_tokens");
    json_t *pd = json_object_get(u, "prompt_tokens_details"), *cd = json_object_get(u, "completion_tokens_details");
    if (!pt) pt = json_object_get(u, "input_tokens");
    if (!ct) ct = json_object_get(u, "output_tokens");
    if (!pd) pd = json_object_get(u, "input_tokens_details");
    if (!cd) cd = json_object_get(u, "output_tokens_details");
    json_t *tt = json_object_get(u, "total_tokens");
    if (!json_is_integer(pt) && !json_is_integer(tt)) return 0;
    lt_set_int(out, LT_AOAI_F_PROMPT_TOKENS, pt);
    if (json_is_integer(ct)) lt_set_int(out, LT_AOAI_F_COMPLETION_TOKENS, ct);
    else if (json_is_integer(tt) && json_is_integer(pt))
        json_object_set_new(out, LT_AOAI_F_COMPLETION_TOKENS, json_integer(json_integer_value(tt) - json_integer_value(pt)));
    lt_set_int(out, LT_AOAI_F_TOTAL_TOKENS, tt);
    lt_set_int(out, LT_AOAI_F_CACHED_TOKENS, json_object_get(pd, "cached_tokens"));
    lt_set_int(out, LT_AOAI_F_REASONING_TOKENS, json_object_get(cd, "reasoning_tokens"));
    json_object_set_new(out, LT_AOAI_F_USAGE_SOURCE, json_string("reported"));
    return 1;
}

static void lt_usage_missing(json_t *out, lt_counters *ctr)
{
    json_object_set_new(out, LT_AOAI_F_USAGE_SOURCE, json_string("missing"));
    json_object_set_new(out, LT_AOAI_F_PROMPT_TOKENS, json_null());
    json_object_set_new(out, LT_AOAI_F_COMPLETION_TOKENS, json_null());
    json_object_set_new(out, LT_AOAI_F_TOTAL_TOKENS, json_null());
    ctr->usage_missing++;
}

/* ---- streamed chat / completions: per-choice accumulators ---------------- */

typedef struct lt_acc_tool {
    json_int_t index;
    json_t *id, *type, *name;
    lt_buf args;
} lt_acc_tool;

typedef struct lt_acc_choice {
    json_int_t index;
    json_t *role, *finish;
    lt_buf content, refusal, text;
    int has_content, has_refusal, has_text;
    lt_acc_tool *tools;
    size_t ntools;
    json_t *filters;             /* content_filter_results, merged */
    lt_buf filters_due;          /* results still to merge, as their bytes (lt_acc_filters_settle) */
    lt_buf last_filters;         /* the bytes merged last by the fast path */
    int last_filters_ok;         /* last_filters is what was merged last */
} lt_acc_choice;

typedef struct lt_acc {
    const lt_http_msg *resp;
    lt_acc_choice *ch;
    size_t nch;
    json_t *id, *model, *fingerprint, *usage, *prompt_filters;
    lt_buf prompt_filters_text;  /* the last prompt_filter_results, as compact JSON (read once, at the end) */
    uint64_t first_token_off;
    int have_first_token;
    int done;
    /* Responses API */
    json_t *final_response;
    lt_buf out_text;
    int have_out_text;
    json_t *rs_items;            /* function_call items assembled from events */
    lt_buf valid_filters;        /* filter results the fast path has already validated */
    struct lt_member_cache {     /* top-level members the fast path applied last, by key */
        char key[24];
        size_t klen;
        lt_buf val;
    } mc[8];
    int nmc;
    lt_buf tail;                 /* everything after a leading "choices" in the last chunk applied */
    lt_buf tpl;                  /* the last chunk applied, when the next may differ from it in one string alone */
    size_t tpl_cs, tpl_ce;       /* that string in tpl: its bytes [cs, ce), quotes at cs - 1 and ce */
    json_int_t tpl_index;        /* the choice it belongs to */
    long tpl_tool;               /* -1: it is the choice's content; else the index of the tool call whose arguments it is */
} lt_acc;

static lt_acc_choice *lt_acc_choice_get(lt_acc *a, json_int_t index)
{
    for (size_t i = 0; i < a->nch; i++) if (a->ch[i].index == index) return &a->ch[i];
    if (a->nch >= 128) return NULL;
    lt_acc_choice *n = realloc(a->ch, (a->nch + 1) * sizeof *n);
    if (!n) { lt_oom_note(); return NULL; }
    a->ch = n;
    lt_acc_choice *c = &a->ch[a->nch++];
    memset(c, 0, sizeof *c);
    c->index = index;
    return c;
}

static lt_acc_tool *lt_acc_tool_get(lt_acc_choice *c, json_int_t index)
{
    for (size_t i = 0; i < c->ntools; i++) if (c->tools[i].index == index) return &c->tools[i];
    if (c->ntools >= 128) return NULL;
    lt_acc_tool *n = realloc(c->tools, (c->ntools + 1) * sizeof *n);
    if (!n) { lt_oom_note(); return NULL; }
    c->tools = n;
    lt_acc_tool *t = &c->tools[c->ntools++];
    memset(t, 0, sizeof *t);
    t->index = index;
    return t;
}

static void lt_acc_keep(json_t **slot, json_t *v)
{
    if (!v || json_is_null(v)) return;
    if (json_is_string(v) && !json_string_length(v) && *slot) return;
    json_decref(*slot);
    *slot = json_incref(v);
}

/* Appends a text delta; an empty delta (Azure's first "content": "") does
 * not make the content present, as in the OpenAI SDKs' own accumulation. */
static void lt_acc_append(lt_buf *b, int *flag, json_t *v)
{
    if (!json_is_string(v) || !json_string_length(v)) return;
    lt_buf_append(b, json_string_value(v), json_string_length(v));
    *flag = 1;
}

/* A stream in flight holds its filter results as bytes, not trees (a jansson
 * tree costs several times its text, per stream): the fast path queues the
 * results it would merge (filters_due: length, bytes, ...) and they are
 * merged, in order, before anything else is merged and before the columns
 * read them; past LT_FILTERS_DUE_MAX bytes, at once. */
#define LT_FILTERS_DUE_MAX 4096

static void lt_acc_filters_settle(lt_acc_choice *c)
{
    size_t off = 0, n;
    while (off + sizeof n <= c->filters_due.len) {
        memcpy(&n, c->filters_due.data + off, sizeof n);
        off += sizeof n;
        json_t *o = lt_json_load((const char *)c->filters_due.data + off, n, 1, NULL);
        off += n;
        if (json_is_object(o)) {
            if (!c->filters) c->filters = json_object();
            json_object_update(c->filters, o);
        }
        json_decref(o);
    }
    lt_buf_free(&c->filters_due);
}

/* Queues validated filter-result bytes; -1 when they could not be queued. */
static int lt_acc_filters_defer(lt_acc_choice *c, const char *p, size_t n)
{
    size_t was = c->filters_due.len;
    if (lt_buf_append(&c->filters_due, &n, sizeof n) < 0 || lt_buf_append(&c->filters_due, p, n) < 0) {
        c->filters_due.len = was;
        return -1;
    }
    c->last_filters_ok = 0;
    if (!c->filters) c->filters = json_object();
    if (c->filters_due.len > LT_FILTERS_DUE_MAX) lt_acc_filters_settle(c);
    return 0;
}

static void lt_acc_merge_filters(lt_acc_choice *c, json_t *f)
{
    if (!json_is_object(f)) return;
    lt_acc_filters_settle(c);
    c->last_filters_ok = 0;
    if (!c->filters) c->filters = json_object();
    json_object_update(c->filters, f);
}

static void lt_acc_tool_delta(lt_acc_choice *c, json_t *tc)
{
    size_t i;
    json_t *t;
    json_array_foreach(tc, i, t) {
        json_t *ix = json_object_get(t, "index");
        lt_acc_tool *at = lt_acc_tool_get(c, json_is_integer(ix) ? json_integer_value(ix) : (json_int_t)i);
        if (!at) continue;
        json_t *fn = json_object_get(t, "function");
        lt_acc_keep(&at->id, json_object_get(t, "id"));
        lt_acc_keep(&at->type, json_object_get(t, "type"));
        lt_acc_keep(&at->name, json_object_get(fn, "name"));
        json_t *args = json_object_get(fn, "arguments");
        if (json_is_string(args)) lt_buf_append(&at->args, json_string_value(args), json_string_length(args));
    }
}

/* One chat.completion.chunk (or text_completion chunk). */
static void lt_acc_chat_chunk(lt_acc *a, json_t *j, uint64_t off)
{
    if (json_string_length(json_object_get(j, "id"))) lt_acc_keep(&a->id, json_object_get(j, "id"));
    if (json_string_length(json_object_get(j, "model"))) lt_acc_keep(&a->model, json_object_get(j, "model"));
    lt_acc_keep(&a->fingerprint, json_object_get(j, "system_fingerprint"));
    json_t *pf = json_object_get(j, "prompt_filter_results");
    if (!pf) pf = json_object_get(j, "prompt_annotations");
    if (json_is_array(pf)) { /* kept as text until read: a tree costs several times its text */
        size_t tl = 0;
        char *t = lt_jtext_dump(pf, &tl); /* json_dumps(pf, JSON_COMPACT)'s bytes */
        lt_buf_reset(&a->prompt_filters_text);
        if (t) lt_buf_append(&a->prompt_filters_text, t, tl);
        else lt_acc_keep(&a->prompt_filters, pf);
        if (t) { json_decref(a->prompt_filters); a->prompt_filters = NULL; }
        free(t);
    }
    json_t *u = json_object_get(j, "usage");
    if (json_is_object(u)) lt_acc_keep(&a->usage, u);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "choices"), i, c) {
        json_t *ix = json_object_get(c, "index");
        lt_acc_choice *ac = lt_acc_choice_get(a, json_is_integer(ix) ? json_integer_value(ix) : 0);
        if (!ac) continue;
        json_t *d = json_object_get(c, "delta");
        lt_acc_keep(&ac->finish, json_object_get(c, "finish_reason"));
        lt_acc_merge_filters(ac, json_object_get(c, "content_filter_results"));
        json_t *text = json_object_get(c, "text");
        int token = 0;
        if (json_is_string(text) && json_string_length(text)) token = 1;
        lt_acc_append(&ac->text, &ac->has_text, text);
        if (json_is_object(d)) {
            lt_acc_keep(&ac->role, json_object_get(d, "role"));
            json_t *dc = json_object_get(d, "content"), *rf = json_object_get(d, "refusal");
            json_t *tc = json_object_get(d, "tool_calls");
            if ((json_is_string(dc) && json_string_length(dc)) || json_is_array(tc) ||
                (json_is_string(rf) && json_string_length(rf)))
                token = 1;
            lt_acc_append(&ac->content, &ac->has_content, dc);
            lt_acc_append(&ac->refusal, &ac->has_refusal, rf);
            if (json_is_array(tc)) lt_acc_tool_delta(ac, tc);
        }
        if (token && !a->have_first_token) { a->have_first_token = 1; a->first_token_off = off; }
    }
}

/* One Responses API event. */
static void lt_acc_responses_event(lt_acc *a, const char *type, json_t *j, uint64_t off)
{
    if (!type) return;
    if (!strcmp(type, "response.completed") || !strcmp(type, "response.incomplete") ||
        !strcmp(type, "response.failed")) {
        lt_acc_keep(&a->final_response, json_object_get(j, "response"));
    } else if (!strcmp(type, "response.created") || !strcmp(type, "response.in_progress")) {
        json_t *r = json_object_get(j, "response");
        lt_acc_keep(&a->id, json_object_get(r, "id"));
        lt_acc_keep(&a->model, json_object_get(r, "model"));
    } else if (!strcmp(type, "response.output_text.delta") || !strcmp(type, "response.refusal.delta") ||
               !strcmp(type, "response.function_call_arguments.delta")) {
        if (!a->have_first_token) { a->have_first_token = 1; a->first_token_off = off; }
        if (!strcmp(type, "response.output_text.delta"))
            lt_acc_append(&a->out_text, &a->have_out_text, json_object_get(j, "delta"));
    } else if (!strcmp(type, "response.output_item.done")) {
        json_t *item = json_object_get(j, "item");
        if (json_is_object(item)) {
            if (!a->rs_items) a->rs_items = json_array();
            json_array_append(a->rs_items, item);
        }
    }
}

/* ---- fast path for the common chunk shapes --------------------------------
 *
 * Almost every event of a long Azure stream is one of a few shapes:
 *   {"choices":[{"content_filter_results":{...}|{},"delta":{"content":"..."},
 *     "finish_reason":null,"index":0,"logprobs":null}],"created":..,"id":"..",
 *     "model":"..","object":"chat.completion.chunk","system_fingerprint":".."}
 * or the same with "delta":{"tool_calls":[{"index":0,"function":{"arguments":".."}}]}
 * (any key order). Building a jansson tree for each of them dominated replay,
 * so such a chunk is walked in place with the strict scanner of jscan.h: no
 * allocation, strings decoded straight into the accumulators, filter results
 * compared by bytes with the ones merged last (re-merging equal results is a
 * no-op, so only a change is parsed). The walk first checks the whole event
 * and records what it would do; only then is anything applied, so a chunk it
 * does not fully understand (a role, a finish reason, usage, a new id, ...) is
 * left to the general path untouched. LLMTAP_AOAI_FAST=0 turns it off (the
 * test that both paths give identical records). */
#define LT_FAST_CHOICES 4
#define LT_FAST_TOOLS 4

typedef struct lt_fast_tool {
    long index;
    lt_jstr args, id, type, name;
    int has_args, has_id, has_type, has_name;
} lt_fast_tool;

typedef struct lt_fast_choice {
    long index;
    lt_jstr content, filters, role, finish;
    int has_content, has_filters, has_tools, has_role, has_finish, token;
    lt_fast_tool tools[LT_FAST_TOOLS];
    int ntools;
} lt_fast_choice;

typedef struct lt_fast_chunk {
    lt_fast_choice ch[LT_FAST_CHOICES];
    int nch;
    lt_jstr id, model, fingerprint;
    int has_id, has_model, has_fingerprint;
} lt_fast_chunk;

/* A value that may be null or a string without escapes (kept by lt_fast_keep).
 * *has: 0 key absent, LT_FAST_NULL, LT_FAST_STR; a repeated key is left to
 * the general path (jansson keeps the last value). */
enum { LT_FAST_NULL = 1, LT_FAST_STR = 2, LT_FAST_SEEN = 3 };

static int lt_fast_opt_str(lt_jscan *j, lt_jstr *v, int *has)
{
    if (*has) return -1;
    if (lt_jscan_null(j)) { *has = LT_FAST_NULL; return 0; }
    if (lt_jscan_string(j, v) < 0 || v->escaped) return -1;
    *has = LT_FAST_STR;
    return 0;
}

/* lt_acc_keep for a scanned string: an empty one does not replace a value. */
static void lt_fast_keep(json_t **slot, const lt_jstr *v)
{
    if (!v->n && *slot) return;
    if (json_is_string(*slot) && json_string_length(*slot) == v->n && !memcmp(json_string_value(*slot), v->s, v->n)) return;
    json_t *n = json_stringn(v->s, v->n);
    if (!n) return;
    json_decref(*slot);
    *slot = n;
}

static int lt_fast_tool_one(lt_jscan *j, lt_fast_tool *t, long pos)
{
    lt_jstr k;
    int first = 1, r, seen = 0;
    memset(t, 0, sizeof *t);
    t->index = pos;
    if (lt_jscan_expect(j, '{') < 0) return -1;
    while ((r = lt_jscan_member(j, &k, &first)) == 1) {
        if (lt_jstr_is(&k, "index")) { if (seen & 1 || lt_jscan_int(j, &t->index) < 0) return -1; seen |= 1; }
        else if (lt_jstr_is(&k, "id")) { if (lt_fast_opt_str(j, &t->id, &t->has_id) < 0) return -1; }
        else if (lt_jstr_is(&k, "type")) { if (lt_fast_opt_str(j, &t->type, &t->has_type) < 0) return -1; }
        else if (lt_jstr_is(&k, "function")) {
            int f1 = 1, r2;
            lt_jstr fk;
            if (seen & 2 || lt_jscan_expect(j, '{') < 0) return -1;
            seen |= 2;
            while ((r2 = lt_jscan_member(j, &fk, &f1)) == 1) {
                if (lt_jstr_is(&fk, "arguments")) { if (t->has_args || lt_jscan_string(j, &t->args) < 0) return -1; t->has_args = 1; }
                else if (lt_jstr_is(&fk, "name")) { if (lt_fast_opt_str(j, &t->name, &t->has_name) < 0) return -1; }
                else if (lt_jscan_skip(j, NULL) < 0) return -1;
            }
            if (r2 < 0) return -1;
        } else if (lt_jscan_skip(j, NULL) < 0) return -1;
    }
    return r;
}

static int lt_fast_tools(lt_jscan *j, lt_fast_choice *c)
{
    int first = 1, r;
    if (lt_jscan_null(j)) return 0;
    if (lt_jscan_expect(j, '[') < 0) return -1;
    c->has_tools = 1;
    c->token = 1;
    while ((r = lt_jscan_element(j, &first)) == 1) {
        if (c->ntools >= LT_FAST_TOOLS) return -1;
        if (lt_fast_tool_one(j, &c->tools[c->ntools], c->ntools) < 0) return -1;
        c->ntools++;
    }
    return r;
}

static int lt_fast_delta(lt_jscan *j, lt_fast_choice *c)
{
    lt_jstr k;
    int first = 1, r;
    if (lt_jscan_null(j)) return 0;
    if (lt_jscan_expect(j, '{') < 0) return -1;
    while ((r = lt_jscan_member(j, &k, &first)) == 1) {
        if (lt_jstr_is(&k, "content")) {
            if (c->has_content) return -1;
            if (lt_jscan_null(j)) continue;
            if (lt_jscan_string(j, &c->content) < 0) return -1;
            c->has_content = 1;
            if (c->content.n) c->token = 1;
        } else if (lt_jstr_is(&k, "tool_calls")) {
            if (c->has_tools || lt_fast_tools(j, c) < 0) return -1;
        } else if (lt_jstr_is(&k, "role")) {
            if (lt_fast_opt_str(j, &c->role, &c->has_role) < 0) return -1;
        } else if (lt_jstr_is(&k, "refusal")) {
            if (!lt_jscan_null(j)) return -1;
        } else if (lt_jscan_skip(j, NULL) < 0) return -1;
    }
    return r;
}

/* A content_filter_results object: the same bytes as the last one validated
 * (nearly always) are skipped by length; others are validated and kept. */
static int lt_fast_filter_span(lt_jscan *j, lt_acc *a, lt_jstr *span)
{
    if (lt_jscan_peek(j) != '{') return -1;
    size_t n = a->valid_filters.len;
    if (n && (size_t)(j->end - j->p) >= n && !memcmp(j->p, a->valid_filters.data, n)) {
        span->s = j->p;
        span->n = n;
        span->escaped = 0;
        j->p += n;
        return 0;
    }
    if (lt_jscan_skip(j, span) < 0) return -1;
    lt_buf_reset(&a->valid_filters);
    if (lt_buf_append(&a->valid_filters, span->s, span->n) < 0) lt_buf_reset(&a->valid_filters);
    return 0;
}

static int lt_fast_choice_one(lt_jscan *j, lt_acc *a, lt_fast_choice *c)
{
    lt_jstr k;
    int first = 1, r, seen = 0;
    memset(c, 0, sizeof *c);
    if (lt_jscan_expect(j, '{') < 0) return -1;
    while ((r = lt_jscan_member(j, &k, &first)) == 1) {
        int bit = lt_jstr_is(&k, "index") ? 1 : lt_jstr_is(&k, "delta") ? 2 : lt_jstr_is(&k, "content_filter_results") ? 4 : 0;
        if (bit & seen) return -1;
        seen |= bit;
        if (bit == 1) { if (lt_jscan_int(j, &c->index) < 0) return -1; }
        else if (bit == 2) { if (lt_fast_delta(j, c) < 0) return -1; }
        else if (bit == 4) {
            if (lt_jscan_null(j)) continue;
            if (lt_fast_filter_span(j, a, &c->filters) < 0) return -1;
            c->has_filters = 1;
        } else if (lt_jstr_is(&k, "finish_reason")) {
            if (lt_fast_opt_str(j, &c->finish, &c->has_finish) < 0) return -1;
        } else if (lt_jstr_is(&k, "text")) {
            if (!lt_jscan_null(j)) return -1;
        } else if (lt_jscan_skip(j, NULL) < 0) return -1;
    }
    return r;
}

static int lt_fast_choices(lt_jscan *j, lt_acc *a, lt_fast_chunk *fc)
{
    int first = 1, r;
    if (lt_jscan_expect(j, '[') < 0) return -1;
    while ((r = lt_jscan_element(j, &first)) == 1) {
        if (fc->nch >= LT_FAST_CHOICES || lt_fast_choice_one(j, a, &fc->ch[fc->nch]) < 0) return -1;
        fc->nch++;
    }
    return r;
}

/* Walks the whole chunk; 0 when the fast path can apply it exactly. */
/* The cache slot of a top-level key (created if there is room), or NULL. */
static struct lt_member_cache *lt_fast_mc_slot(lt_acc *a, const lt_jstr *k)
{
    if (k->escaped || k->n >= sizeof a->mc[0].key) return NULL;
    for (int i = 0; i < a->nmc; i++)
        if (a->mc[i].klen == k->n && !memcmp(a->mc[i].key, k->s, k->n)) return &a->mc[i];
    if (a->nmc >= (int)(sizeof a->mc / sizeof a->mc[0])) return NULL;
    struct lt_member_cache *m = &a->mc[a->nmc++];
    memcpy(m->key, k->s, k->n);
    m->klen = k->n;
    lt_buf_init(&m->val);
    return m;
}

/* Most top-level members of a stream's chunks repeat byte for byte ("id",
 * "model", "created", "object", "system_fingerprint"): a value equal to the
 * one this key had in the last chunk the fast path applied was validated and
 * applied then, so it is skipped by length. Returns 1 when skipped. The
 * general path invalidates the cache (lt_fast_forget), so "applied last"
 * stays true. */
static int lt_fast_mc_hit(lt_jscan *j, const struct lt_member_cache *m)
{
    size_t n = m ? m->val.len : 0;
    if (!n || lt_jscan_peek(j) < 0 || (size_t)(j->end - j->p) < n || memcmp(j->p, m->val.data, n)) return 0;
    const char *save = j->p;
    j->p += n;
    int c = lt_jscan_peek(j);
    if (c == ',' || c == '}') return 1;
    j->p = save;
    return 0;
}

static void lt_fast_mc_keep(struct lt_member_cache *m, const char *start, const char *end)
{
    if (!m) return;
    lt_buf_reset(&m->val);
    if (lt_buf_append(&m->val, start, (size_t)(end - start)) < 0) lt_buf_reset(&m->val);
}

/* The general path handled a chunk: cached members may no longer be what was applied last. */
static void lt_fast_forget(lt_acc *a)
{
    for (int i = 0; i < a->nmc; i++) lt_buf_reset(&a->mc[i].val);
    lt_buf_reset(&a->tail);
    lt_buf_reset(&a->tpl);
}

/* One top-level member other than "choices"; 0 ok, -1 not for the fast path. */
static int lt_fast_member(lt_jscan *j, lt_acc *a, const lt_jstr *k, lt_fast_chunk *fc)
{
    struct lt_member_cache *m = lt_fast_mc_slot(a, k);
    int *seen = lt_jstr_is(k, "id") ? &fc->has_id : lt_jstr_is(k, "model") ? &fc->has_model :
                lt_jstr_is(k, "system_fingerprint") ? &fc->has_fingerprint : NULL;
    if (lt_fast_mc_hit(j, m)) {
        if (seen && *seen) return -1; /* a repeated key: jansson keeps the last */
        if (seen) *seen = LT_FAST_SEEN;
        return 0;
    }
    lt_jscan_peek(j);
    const char *start = j->p;
    int ok;
    if (lt_jstr_is(k, "id")) ok = lt_fast_opt_str(j, &fc->id, &fc->has_id) == 0;
    else if (lt_jstr_is(k, "model")) ok = lt_fast_opt_str(j, &fc->model, &fc->has_model) == 0;
    else if (lt_jstr_is(k, "system_fingerprint")) ok = lt_fast_opt_str(j, &fc->fingerprint, &fc->has_fingerprint) == 0;
    else if (lt_jstr_is(k, "usage")) ok = lt_jscan_null(j);
    else if (lt_jstr_is(k, "prompt_filter_results") || lt_jstr_is(k, "prompt_annotations")) ok = 0;
    else ok = lt_jscan_skip(j, NULL) == 0;
    if (!ok) return -1;
    lt_fast_mc_keep(m, start, j->p);
    return 0;
}

static int lt_fast_scan(lt_acc *a, const char *d, size_t n, lt_fast_chunk *fc)
{
    lt_jscan j;
    lt_jstr k;
    int first = 1, r, choices = 0;
    lt_jscan_init(&j, d, n);
    fc->nch = fc->has_id = fc->has_model = fc->has_fingerprint = 0;
    if (lt_jscan_expect(&j, '{') < 0) return -1;
    const char *tail = NULL;
    int members = 0;
    while ((r = lt_jscan_member(&j, &k, &first)) == 1) {
        int ok;
        if (lt_jstr_is(&k, "choices")) {
            ok = !choices++ && lt_fast_choices(&j, a, fc) == 0;
            if (ok && !members) {
                tail = j.p;
                /* the members after a leading "choices" repeat byte for byte within a stream:
                 * equal to the last applied ones, they were validated and applied then */
                if (a->tail.len && (size_t)(j.end - j.p) == a->tail.len && !memcmp(j.p, a->tail.data, a->tail.len)) return 0;
            }
        } else ok = lt_fast_member(&j, a, &k, fc) == 0;
        if (!ok) return -1;
        members++;
    }
    if (r != 0 || !choices || !lt_jscan_at_end(&j)) return -1;
    lt_buf_reset(&a->tail);
    if (tail && lt_buf_append(&a->tail, tail, (size_t)(j.end - tail)) < 0) lt_buf_reset(&a->tail);
    return 0;
}

/* Filter results equal to the ones merged last change nothing; others are
 * parsed (rarely) and merged like the general path does. */
static void lt_fast_filters(lt_acc_choice *ac, const lt_jstr *f)
{
    if (ac->filters && ac->last_filters_ok && ac->last_filters.len == f->n && !memcmp(ac->last_filters.data, f->s, f->n))
        return;
    if (f->n == 2 && !memcmp(f->s, "{}", 2)) {
        /* merges nothing (the general path only creates the object), so the
         * last merged bytes stay what merging again would not change: Azure
         * alternates {} (role, tool and last chunks) with the full results */
        if (!ac->filters) ac->filters = json_object();
        return;
    }
    if (lt_acc_filters_defer(ac, f->s, f->n) < 0) {
        json_t *o = lt_json_load(f->s, f->n, 1, NULL);
        lt_acc_merge_filters(ac, o);
        json_decref(o);
    }
    lt_buf_reset(&ac->last_filters);
    ac->last_filters_ok = lt_buf_append(&ac->last_filters, f->s, f->n) == 0;
}

static void lt_fast_tool_apply(lt_acc_choice *ac, const lt_fast_tool *t)
{
    lt_acc_tool *at = lt_acc_tool_get(ac, t->index);
    if (!at) return;
    if (t->has_id == LT_FAST_STR) lt_fast_keep(&at->id, &t->id);
    if (t->has_type == LT_FAST_STR) lt_fast_keep(&at->type, &t->type);
    if (t->has_name == LT_FAST_STR) lt_fast_keep(&at->name, &t->name);
    if (t->has_args) lt_jstr_append(&t->args, &at->args);
}

static void lt_fast_apply(lt_acc *a, const lt_fast_chunk *fc, uint64_t off)
{
    if (fc->has_id == LT_FAST_STR && fc->id.n) lt_fast_keep(&a->id, &fc->id); /* an empty id or model is no news */
    if (fc->has_model == LT_FAST_STR && fc->model.n) lt_fast_keep(&a->model, &fc->model);
    if (fc->has_fingerprint == LT_FAST_STR) lt_fast_keep(&a->fingerprint, &fc->fingerprint);
    for (int i = 0; i < fc->nch; i++) {
        const lt_fast_choice *c = &fc->ch[i];
        lt_acc_choice *ac = lt_acc_choice_get(a, c->index);
        if (!ac) continue;
        if (c->has_finish == LT_FAST_STR) lt_fast_keep(&ac->finish, &c->finish);
        if (c->has_role == LT_FAST_STR) lt_fast_keep(&ac->role, &c->role);
        if (c->has_filters) lt_fast_filters(ac, &c->filters);
        if (c->has_content && c->content.n) { lt_jstr_append(&c->content, &ac->content); ac->has_content = 1; }
        for (int t = 0; t < c->ntools; t++) lt_fast_tool_apply(ac, &c->tools[t]);
        if (c->token && !a->have_first_token) { a->have_first_token = 1; a->first_token_off = off; }
    }
}

/* Within a stream, consecutive content chunks nearly always differ in their
 * content string alone (consecutive tool-call chunks in their arguments
 * string): same id, model, created, filter results, same everything else,
 * byte for byte. After the fast path applied such a chunk it is kept as a
 * template; a next chunk whose bytes before and after that string equal the
 * template's is the template with another string, and applying it again
 * would change nothing but the appended text: every other step of
 * lt_fast_apply is idempotent for equal bytes (equal strings are not
 * replaced, filter results equal to the last merged are skipped). The
 * template is kept only when that holds: one choice, whose one appended
 * string is either its content (no tool call) or the arguments of its one
 * tool call (no content), the first token already seen, filter results
 * either {} or recorded as the last merged. Any chunk applied otherwise
 * replaces or clears it (lt_fast_forget for the general path). */
static void lt_fast_tpl_keep(lt_acc *a, const lt_fast_chunk *fc, const char *d, size_t n)
{
    lt_buf_reset(&a->tpl);
    if (fc->nch != 1 || !a->have_first_token) return;
    const lt_fast_choice *c = &fc->ch[0];
    const lt_jstr *v;
    long tool = -1;
    if (!c->has_tools && !c->ntools && c->has_content && c->content.n) {
        v = &c->content;
    } else if (c->ntools == 1 && c->tools[0].has_args && c->tools[0].args.n && !(c->has_content && c->content.n)) {
        v = &c->tools[0].args;
        tool = c->tools[0].index;
    } else {
        return;
    }
    if (c->has_filters && !(c->filters.n == 2 && !memcmp(c->filters.s, "{}", 2))) {
        const lt_acc_choice *ac = lt_acc_choice_get(a, c->index);
        if (!ac || !ac->last_filters_ok) return;
    }
    size_t cs = (size_t)(v->s - d), ce = cs + v->n;
    if (cs < 1 || ce >= n || d[cs - 1] != '"' || d[ce] != '"') return;
    if (lt_buf_append(&a->tpl, d, n) < 0) { lt_buf_reset(&a->tpl); return; }
    a->tpl_cs = cs;
    a->tpl_ce = ce;
    a->tpl_index = c->index;
    a->tpl_tool = tool;
}

/* 1 when the chunk is the template with another string (then applied). */
static int lt_fast_tpl_hit(lt_acc *a, const char *d, size_t n)
{
    size_t cs = a->tpl_cs, after = a->tpl.len - a->tpl_ce - 1; /* bytes after the closing quote */
    if (!a->tpl.len || n < cs + 1 + after || memcmp(d, a->tpl.data, cs)) return 0;
    lt_jscan j;
    lt_jstr v;
    lt_jscan_init(&j, d + cs - 1, n - (cs - 1)); /* at the opening quote */
    if (lt_jscan_string(&j, &v) < 0) return 0;
    if ((size_t)(d + n - j.p) != after || memcmp(j.p, a->tpl.data + a->tpl_ce + 1, after)) return 0;
    lt_acc_choice *ac = lt_acc_choice_get(a, a->tpl_index);
    if (!ac) return 0;
    if (a->tpl_tool >= 0) {
        lt_acc_tool *at = lt_acc_tool_get(ac, a->tpl_tool);
        if (!at) return 0;
        lt_jstr_append(&v, &at->args);
    } else if (v.n) {
        lt_jstr_append(&v, &ac->content);
        ac->has_content = 1;
    }
    return 1;
}

static int lt_acc_fast_chunk(lt_acc *a, const char *d, size_t n, uint64_t off)
{
    if (lt_fast_tpl_hit(a, d, n)) return 1;
    lt_fast_chunk fc;
    if (lt_fast_scan(a, d, n, &fc) < 0) return 0;
    lt_fast_apply(a, &fc, off);
    lt_fast_tpl_keep(a, &fc, d, n);
    return 1;
}

typedef struct lt_sse_ctx {
    lt_acc *a;
    int responses;
    int fast;           /* the fast path may be tried */
    size_t fast_events; /* events it handled */
    size_t events;      /* events seen (counted as sse_events when the call is parsed) */
    size_t json_errors; /* events that were not JSON (counted as json_errors then) */
    int tree;           /* the scanner may build the general path's trees */
} lt_sse_ctx;

static void lt_acc_on_event(void *ud, const lt_sse_event *ev)
{
    lt_sse_ctx *x = ud;
    x->events++;
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) { x->a->done = 1; return; }
    if (x->fast && !ev->event_len && lt_acc_fast_chunk(x->a, ev->data, ev->data_len, ev->off)) { x->fast_events++; return; }
    lt_fast_forget(x->a);
    json_error_t err;
    json_t *j = lt_json_load(ev->data, ev->data_len, x->tree, &err);
    if (!j) {
        x->json_errors++;
        lt_info("unparseable SSE event data (%s)%s", err.text, ev->unterminated ? " (cut stream)" : "");
        return;
    }
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type && ev->event_len) type = ev->event;
    if (x->responses || (type && !strncmp(type, "response.", 9))) lt_acc_responses_event(x->a, type, j, ev->off);
    else lt_acc_chat_chunk(x->a, j, ev->off);
    json_decref(j);
}

static void lt_acc_free(lt_acc *a)
{
    for (size_t i = 0; i < a->nch; i++) {
        lt_acc_choice *c = &a->ch[i];
        json_decref(c->role);
        json_decref(c->finish);
        json_decref(c->filters);
        lt_buf_free(&c->filters_due);
        lt_buf_free(&c->last_filters);
        lt_buf_free(&c->content);
        lt_buf_free(&c->refusal);
        lt_buf_free(&c->text);
        for (size_t k = 0; k < c->ntools; k++) {
            json_decref(c->tools[k].id);
            json_decref(c->tools[k].type);
            json_decref(c->tools[k].name);
            lt_buf_free(&c->tools[k].args);
        }
        free(c->tools);
    }
    free(a->ch);
    json_decref(a->id);
    json_decref(a->model);
    json_decref(a->fingerprint);
    json_decref(a->usage);
    json_decref(a->prompt_filters);
    lt_buf_free(&a->prompt_filters_text);
    json_decref(a->final_response);
    json_decref(a->rs_items);
    lt_buf_free(&a->out_text);
    lt_buf_free(&a->valid_filters);
    for (int i = 0; i < a->nmc; i++) lt_buf_free(&a->mc[i].val);
    lt_buf_free(&a->tail);
    lt_buf_free(&a->tpl);
}

static int lt_cmp_choice(const void *x, const void *y)
{
    const lt_acc_choice *a = x, *b = y;
    return a->index < b->index ? -1 : a->index > b->index;
}

static json_t *lt_buf_json(const lt_buf *b)
{
    return json_stringn_nocheck(b->len ? (const char *)b->data : "", b->len);
}

static int lt_cmp_tool(const void *x, const void *y)
{
    const lt_acc_tool *a = x, *b = y;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Tool calls in index order, whatever order their first deltas came in. */
static json_t *lt_acc_tools_json(lt_acc_choice *c)
{
    json_t *arr = json_array();
    if (c->ntools) qsort(c->tools, c->ntools, sizeof *c->tools, lt_cmp_tool); /* tools may be NULL */
    for (size_t k = 0; k < c->ntools; k++) {
        lt_acc_tool *t = &c->tools[k];
        json_t *fn = json_pack("{s:O?,s:o}", "name", t->name, "arguments", lt_buf_json(&t->args));
        json_array_append_new(arr, json_pack("{s:I,s:O?,s:O?,s:o}", "index", (json_int_t)t->index,
                                             "id", t->id, "type", t->type, "function", fn));
    }
    return arr;
}

/* ResponseMessages, FinishReasons, ContentFilterResults from the accumulators. */
static void lt_acc_chat_columns(lt_acc *a, json_t *out, int completions)
{
    if (a->nch) qsort(a->ch, a->nch, sizeof *a->ch, lt_cmp_choice); /* ch may be NULL */
    json_t *msgs = json_array(), *fins = json_array(), *filters = json_array();
    for (size_t i = 0; i < a->nch; i++) {
        lt_acc_choice *c = &a->ch[i];
        lt_acc_filters_settle(c);
        json_t *m = json_object();
        json_object_set_new(m, "index", json_integer(c->index));
        if (completions || c->has_text) {
            json_object_set_new(m, "text", lt_buf_json(&c->text));
        } else {
            json_object_set(m, "role", c->role ? c->role : json_string("assistant"));
            if (!c->role) json_decref(json_object_get(m, "role"));
            json_object_set_new(m, "content", c->has_content ? lt_buf_json(&c->content) : json_null());
            if (c->has_refusal) json_object_set_new(m, "refusal", lt_buf_json(&c->refusal));
            if (c->ntools) json_object_set_new(m, "tool_calls", lt_acc_tools_json(c));
        }
        json_object_set(m, "finish_reason", c->finish ? c->finish : json_null());
        json_array_append_new(msgs, m);
        json_array_append(fins, c->finish ? c->finish : json_null());
        if (c->filters) json_array_append_new(filters, json_pack("{s:I,s:O}", "index", (json_int_t)c->index,
                                                                 "content_filter_results", c->filters));
    }
    json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, msgs);
    json_object_set_new(out, LT_AOAI_F_FINISH_REASONS, fins);
    if (json_array_size(filters)) json_object_set_new(out, LT_AOAI_F_CONTENT_FILTER_RESULTS, filters);
    else json_decref(filters);
    if (a->prompt_filters_text.len && !a->prompt_filters) { /* exact: a compact dump of a tree loads back equal */
        const char *pt = (const char *)a->prompt_filters_text.data;
        size_t pn = a->prompt_filters_text.len;
        a->prompt_filters = lt_fast_enabled() ? lt_jscan_tree(pt, pn) : NULL; /* NULL on \u0000: jansson's */
        if (!a->prompt_filters) a->prompt_filters = json_loadb(pt, pn, JSON_ALLOW_NUL, NULL);
    }
    if (a->prompt_filters) json_object_set(out, LT_AOAI_F_PROMPT_FILTER_RESULTS, a->prompt_filters);
}

static void lt_fill_ttft(json_t *out, const lt_exchange *ex, const lt_acc *a)
{
    if (!ex->req.present || !ex->resp.present) return;
    lt_time_us t = a->have_first_token ? lt_http_msg_time_at(&ex->resp, a->first_token_off)
                                       : ex->resp.start_ts;
    json_object_set_new(out, LT_AOAI_F_TIME_TO_FIRST_TOKEN_MS, json_integer((json_int_t)((t - ex->req.start_ts + 500) / 1000)));
}

/* ---- per operation ------------------------------------------------------- */

static void lt_fill_chat_request(json_t *out, json_t *req)
{
    lt_set(out, LT_AOAI_F_REQUEST_MESSAGES, json_object_get(req, "messages"));
    lt_set(out, LT_AOAI_F_TOOLS, json_object_get(req, "tools"));
    json_t *mt = json_object_get(req, "max_completion_tokens");
    lt_set_int(out, LT_AOAI_F_MAX_TOKENS, json_is_integer(mt) ? mt : json_object_get(req, "max_tokens"));
}

/* Non-streamed chat or completions response. */
static void lt_fill_choices_json(json_t *out, json_t *resp, int completions)
{
    json_t *msgs = json_array(), *fins = json_array(), *filters = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(resp, "choices"), i, c) {
        json_t *ix = json_object_get(c, "index");
        json_t *m;
        if (completions) m = json_pack("{s:O?}", "text", json_object_get(c, "text"));
        else m = json_deep_copy(json_object_get(c, "message"));
        if (!json_is_object(m)) { json_decref(m); m = json_object(); }
        json_object_set(m, "index", ix ? ix : json_integer((json_int_t)i));
        if (!ix) json_decref(json_object_get(m, "index"));
        json_t *fin = json_object_get(c, "finish_reason");
        json_object_set(m, "finish_reason", fin ? fin : json_null());
        json_array_append_new(msgs, m);
        json_array_append(fins, fin ? fin : json_null());
        json_t *cf = json_object_get(c, "content_filter_results");
        if (cf) json_array_append_new(filters, json_pack("{s:O,s:O}", "index", json_object_get(m, "index"),
                                                         "content_filter_results", cf));
    }
    json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, msgs);
    json_object_set_new(out, LT_AOAI_F_FINISH_REASONS, fins);
    if (json_array_size(filters)) json_object_set_new(out, LT_AOAI_F_CONTENT_FILTER_RESULTS, filters);
    else json_decref(filters);
    json_t *pf = json_object_get(resp, "prompt_filter_results");
    lt_set(out, LT_AOAI_F_PROMPT_FILTER_RESULTS, pf ? pf : json_object_get(resp, "prompt_annotations"));
}

/* ---- streamed answers read as they arrive (aoai.h: lt_aoai_stream) ------- */

struct lt_aoai_stream {
    lt_acc a;
    lt_sse_ctx x;
    lt_sse *sse;        /* NULL once finished */
};

static int lt_stream_init(lt_aoai_stream *s, int responses)
{
    memset(s, 0, sizeof *s);
    int fast = lt_fast_enabled();
    s->x.a = &s->a;
    s->x.responses = responses;
    s->x.fast = !responses && fast;
    s->x.tree = fast;
    s->sse = lt_sse_create(lt_acc_on_event, &s->x);
    return s->sse ? 0 : -1;
}

static void lt_stream_finish(lt_aoai_stream *s)
{
    if (!s->sse) return;
    lt_sse_finish(s->sse);
    lt_sse_destroy(s->sse);
    s->sse = NULL;
}

static void lt_stream_free(lt_aoai_stream *s)
{
    lt_sse_destroy(s->sse);
    s->sse = NULL;
    lt_acc_free(&s->a);
}

int lt_aoai_stream_attach(lt_exchange *ex)
{
    lt_http_msg *r = &ex->resp;
    if (r->aoai || !ex->req.present || !r->present || r->status < 200 || r->status >= 300 || !lt_is_sse(r))
        return 0;
    if (r->body.len || r->body_bytes) return 0; /* bytes already kept: the body is read as a whole */
    lt_aoai_call call;
    if (!lt_aoai_classify(ex->req.method, ex->req.target, &call) || call.op == LT_AOAI_OTHER) return 0;
    lt_aoai_stream *s = malloc(sizeof *s);
    if (!s) return 0;
    if (lt_stream_init(s, call.op == LT_AOAI_RESPONSES) < 0) { free(s); return 0; }
    r->aoai = s;
    return 1;
}

void lt_aoai_stream_feed(lt_aoai_stream *s, const uint8_t *p, size_t n)
{
    if (s && s->sse && n) lt_sse_feed(s->sse, p, n);
}

size_t lt_aoai_stream_footprint(const lt_aoai_stream *s)
{
    if (!s) return 0;
    const lt_acc *a = &s->a;
    size_t n = sizeof *s + lt_sse_footprint(s->sse) + a->out_text.cap + a->valid_filters.cap + a->tail.cap + a->tpl.cap +
               a->prompt_filters_text.cap;
    for (int i = 0; i < a->nmc; i++) n += a->mc[i].val.cap;
    n += a->nch * sizeof *a->ch;
    for (size_t i = 0; i < a->nch; i++) {
        const lt_acc_choice *c = &a->ch[i];
        n += c->content.cap + c->refusal.cap + c->text.cap + c->last_filters.cap + c->filters_due.cap +
             c->ntools * sizeof *c->tools;
        for (size_t k = 0; k < c->ntools; k++) n += c->tools[k].args.cap;
    }
    return n;
}

void lt_aoai_stream_destroy(lt_aoai_stream *s)
{
    if (!s) return;
    lt_stream_free(s);
    free(s);
}

/* The facts of a streamed answer: from the stream attached to the response
 * (read as it arrived), else from its kept body, read now. */
static void lt_fill_stream(json_t *out, const lt_exchange *ex, int responses, int completions, lt_counters *ctr)
{
    lt_aoai_stream local, *s = ex->resp.aoai;
    if (!s) {
        s = &local;
        if (lt_stream_init(s, responses) < 0) return;
        lt_sse_feed(s->sse, ex->resp.body.data, ex->resp.body.len);
    }
    lt_stream_finish(s);
    lt_acc *a = &s->a;
    ctr->sse_events += s->x.events;
    ctr->json_errors += s->x.json_errors;
    lt_debug("SSE stream: %zu events, %zu by the fast path", s->x.events, s->x.fast_events);
    json_t *usage = a->usage;
    if (responses) {
        json_t *r = a->final_response;
        lt_set_str(out, LT_AOAI_F_RESPONSE_ID, r ? json_object_get(r, "id") : a->id);
        lt_set_str(out, LT_AOAI_F_MODEL, r ? json_object_get(r, "model") : a->model);
        usage = json_object_get(r, "usage");
        json_t *output = json_object_get(r, "output");
        if (json_is_array(output)) json_object_set(out, LT_AOAI_F_RESPONSE_MESSAGES, output);
        else if (a->rs_items) json_object_set(out, LT_AOAI_F_RESPONSE_MESSAGES, a->rs_items);
        else if (a->have_out_text)
            json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, json_pack("[{s:s,s:o}]", "role", "assistant",
                                                                   "content", lt_buf_json(&a->out_text)));
        lt_set(out, LT_AOAI_F_RESPONSE_STATUS, json_object_get(r, "status"));
    } else {
        lt_set_str(out, LT_AOAI_F_RESPONSE_ID, a->id);
        lt_set_str(out, LT_AOAI_F_MODEL, a->model);
        lt_set_str(out, LT_AOAI_F_SYSTEM_FINGERPRINT, a->fingerprint);
        lt_acc_chat_columns(a, out, completions);
    }
    if (!lt_usage_fill(out, usage)) lt_usage_missing(out, ctr);
    lt_fill_ttft(out, ex, a);
    if (s == &local) lt_stream_free(s);
}

static void lt_fill_nonstream(json_t *out, const lt_exchange *ex, json_t *resp, const lt_aoai_call *call,
                              lt_counters *ctr)
{
    lt_set_str(out, LT_AOAI_F_RESPONSE_ID, json_object_get(resp, "id"));
    lt_set_str(out, LT_AOAI_F_MODEL, json_object_get(resp, "model"));
    lt_set_str(out, LT_AOAI_F_SYSTEM_FINGERPRINT, json_object_get(resp, "system_fingerprint"));
    if (call->op == LT_AOAI_CHAT || call->op == LT_AOAI_COMPLETIONS)
        lt_fill_choices_json(out, resp, call->op == LT_AOAI_COMPLETIONS);
    else if (call->op == LT_AOAI_RESPONSES) {
        lt_set(out, LT_AOAI_F_RESPONSE_MESSAGES, json_object_get(resp, "output"));
        lt_set(out, LT_AOAI_F_RESPONSE_STATUS, json_object_get(resp, "status"));
    }
    json_t *u = json_object_get(resp, "usage");
    if (!lt_usage_fill(out, u) && ex->resp.status >= 200 && ex->resp.status < 300) lt_usage_missing(out, ctr);
    if (ex->req.present && ex->resp.present)
        json_object_set_new(out, LT_AOAI_F_TIME_TO_FIRST_TOKEN_MS,
                            json_integer((json_int_t)((ex->resp.start_ts - ex->req.start_ts + 500) / 1000)));
}

static void lt_fill_embeddings(json_t *out, json_t *req, json_t *resp, const lt_aoai_cfg *cfg)
{
    json_t *in = json_object_get(req, "input");
    if (in) json_object_set_new(out, LT_AOAI_F_REQUEST_MESSAGES, json_is_array(in) ? json_incref(in) : json_pack("[O]", in));
    json_t *data = json_object_get(resp, "data");
    if (!json_is_array(data)) return;
    size_t dim = 0, i;
    json_t *e;
    json_array_foreach(data, i, e) {
        json_t *v = json_object_get(e, "embedding");
        if (json_is_array(v)) dim = json_array_size(v);
    }
    json_t *summary = json_pack("{s:I,s:I}", "count", (json_int_t)json_array_size(data), "dimensions", (json_int_t)dim);
    if (cfg->store_embeddings) json_object_set(summary, "data", data);
    json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, json_pack("[o]", summary));
}

static void lt_fill_images(json_t *out, json_t *req, json_t *resp)
{
    if (req) {
        json_t *r = json_pack("{s:O?,s:O?,s:O?,s:O?}", "prompt", json_object_get(req, "prompt"),
                              "size", json_object_get(req, "size"), "n", json_object_get(req, "n"),
                              "quality", json_object_get(req, "quality"));
        json_object_set_new(out, LT_AOAI_F_REQUEST_MESSAGES, json_pack("[o]", r));
    }
    json_t *images = json_array(), *d;
    size_t i;
    json_array_foreach(json_object_get(resp, "data"), i, d) {
        json_t *item = json_object();
        lt_set(item, "url", json_object_get(d, "url"));
        lt_set(item, "revised_prompt", json_object_get(d, "revised_prompt"));
        if (json_object_get(d, "b64_json")) json_object_set_new(item, "b64_json_omitted", json_true());
        json_array_append_new(images, item);
    }
    json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, images);
}

static void lt_fill_audio(json_t *out, const lt_exchange *ex, json_t *req, json_t *resp)
{
    const char *ct = lt_http_msg_header(&ex->req, "content-type");
    json_t *meta = json_pack("{s:s?,s:I}", "contentType", ct, "bytes", (json_int_t)ex->req.body_bytes);
    if (req) {
        lt_set(meta, "input", json_object_get(req, "input"));
        lt_set(meta, "voice", json_object_get(req, "voice"));
        lt_set(meta, "model", json_object_get(req, "model"));
    }
    json_object_set_new(out, LT_AOAI_F_REQUEST_MESSAGES, json_pack("[o]", meta));
    const char *rct = lt_http_msg_header(&ex->resp, "content-type");
    if (resp) {
        json_t *o = json_pack("{s:O?,s:O?,s:O?}", "text", json_object_get(resp, "text"),
                              "language", json_object_get(resp, "language"),
                              "duration", json_object_get(resp, "duration"));
        json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, json_pack("[o]", o));
    } else if (ex->resp.present) {
        json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES,
                            json_pack("[{s:s?,s:I}]", "contentType", rct, "bytes", (json_int_t)ex->resp.body_bytes));
    }
}

/* Raw bodies (UTF-8 safe, capped) for calls we do not model. */
static json_t *lt_raw_body(const lt_http_msg *m, size_t cap)
{
    size_t n = m->body.len < cap ? m->body.len : cap;
    while (n > 0 && n < m->body.len && (m->body.data[n] & 0xC0) == 0x80) n--;
    json_t *s = json_stringn((const char *)m->body.data, n);
    return s ? s : json_string("(binary body)");
}

static void lt_fill_other(json_t *out, const lt_exchange *ex, const lt_aoai_cfg *cfg)
{
    if (ex->req.body.len) json_object_set_new(out, LT_AOAI_F_REQUEST_MESSAGES, lt_raw_body(&ex->req, cfg->raw_body_cap));
    if (ex->resp.body.len) json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, lt_raw_body(&ex->resp, cfg->raw_body_cap));
}

void lt_aoai_parse(const lt_aoai_call *call, const lt_exchange *ex, const lt_aoai_cfg *cfg, json_t *out,
                   lt_counters *ctr)
{
    json_t *req = lt_json_body(&ex->req, ctr);
    int stream = json_is_true(json_object_get(req, "stream")) || lt_is_sse(&ex->resp);
    json_object_set_new(out, LT_AOAI_F_STREAM, json_boolean(stream));
    json_t *model = json_object_get(req, "model");
    if (call->v1 || !call->deployment[0]) {
        const char *hdr = lt_http_msg_header(&ex->resp, "x-ms-deployment-name");
        if (hdr) json_object_set_new(out, LT_AOAI_F_DEPLOYMENT, json_string(hdr));
        else lt_set_str(out, LT_AOAI_F_DEPLOYMENT, model);
    }
    lt_set_str(out, LT_AOAI_F_MODEL, model);
    if (call->op == LT_AOAI_OTHER) { lt_fill_other(out, ex, cfg); json_decref(req); return; }
    if (call->op == LT_AOAI_CHAT) lt_fill_chat_request(out, req);
    if (call->op == LT_AOAI_COMPLETIONS) {
        json_t *p = json_object_get(req, "prompt");
        if (p) json_object_set_new(out, LT_AOAI_F_REQUEST_MESSAGES, json_is_array(p) ? json_incref(p) : json_pack("[O]", p));
        lt_set_int(out, LT_AOAI_F_MAX_TOKENS, json_object_get(req, "max_tokens"));
    }
    if (call->op == LT_AOAI_RESPONSES && req) {
        json_t *in = json_object_get(req, "input");
        if (json_is_string(in)) json_object_set_new(out, LT_AOAI_F_REQUEST_MESSAGES, json_pack("[{s:s,s:O}]", "role", "user", "content", in));
        else lt_set(out, LT_AOAI_F_REQUEST_MESSAGES, in);
        lt_set(out, LT_AOAI_F_INSTRUCTIONS, json_object_get(req, "instructions"));
        lt_set(out, LT_AOAI_F_TOOLS, json_object_get(req, "tools"));
        lt_set_int(out, LT_AOAI_F_MAX_TOKENS, json_object_get(req, "max_output_tokens"));
    }
    if (ex->resp.present && ex->resp.status >= 200 && ex->resp.status < 300 && lt_is_sse(&ex->resp)) {
        lt_fill_stream(out, ex, call->op == LT_AOAI_RESPONSES, call->op == LT_AOAI_COMPLETIONS, ctr);
    } else {
        json_t *resp = ex->resp.status >= 200 && ex->resp.status < 300 ? lt_json_body(&ex->resp, ctr) : NULL;
        if (call->op == LT_AOAI_EMBEDDINGS) lt_fill_embeddings(out, req, resp, cfg);
        else if (call->op == LT_AOAI_IMAGES) lt_fill_images(out, req, resp);
        else if (call->op == LT_AOAI_AUDIO) lt_fill_audio(out, ex, req, resp);
        if (resp) lt_fill_nonstream(out, ex, resp, call, ctr);
        else if (!json_object_get(out, LT_AOAI_F_USAGE_SOURCE)) {
            if (ex->resp.present && ex->resp.status >= 200 && ex->resp.status < 300) lt_usage_missing(out, ctr);
            else json_object_set_new(out, LT_AOAI_F_USAGE_SOURCE, json_string("none"));
        }
        json_decref(resp);
    }
    json_decref(req);
}
