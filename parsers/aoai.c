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
 * preferring the complete response carried by response.completed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "aoai.h"
#include "sse.h"

/* ---- small JSON helpers ------------------------------------------------- */

static json_t *lt_json_body(const lt_http_msg *m, lt_counters *ctr)
{
    if (!m->present || !m->body.len) return NULL;
    const char *ct = lt_http_msg_header(m, "content-type");
    if (ct && !strcasestr(ct, "json")) return NULL;
    json_error_t err;
    json_t *j = json_loadb((const char *)m->body.data, m->body.len, 0, &err);
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
} lt_acc_choice;

typedef struct lt_acc {
    const lt_http_msg *resp;
    lt_acc_choice *ch;
    size_t nch;
    json_t *id, *model, *fingerprint, *usage, *prompt_filters;
    uint64_t first_token_off;
    int have_first_token;
    int done;
    /* Responses API */
    json_t *final_response;
    lt_buf out_text;
    int have_out_text;
    json_t *rs_items;            /* function_call items assembled from events */
} lt_acc;

static lt_acc_choice *lt_acc_choice_get(lt_acc *a, json_int_t index)
{
    for (size_t i = 0; i < a->nch; i++) if (a->ch[i].index == index) return &a->ch[i];
    if (a->nch >= 128) return NULL;
    lt_acc_choice *n = realloc(a->ch, (a->nch + 1) * sizeof *n);
    if (!n) return NULL;
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
    if (!n) return NULL;
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

static void lt_acc_merge_filters(lt_acc_choice *c, json_t *f)
{
    if (!json_is_object(f)) return;
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
    if (json_is_array(pf)) lt_acc_keep(&a->prompt_filters, pf);
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

/* Fast path for the chunk that makes up almost all of a long stream:
 * {"id":..,"choices":[{"index":N,"delta":{"content":"..."},"finish_reason":null,..}],..}
 * Building a full JSON tree for each of thousands of such chunks dominated
 * replay time, so when a chunk provably has nothing else of interest (no
 * role, tool call, refusal, finish reason, usage, filter hit, prompt filter)
 * only its content string is decoded (by jansson, as a lone JSON string).
 * Anything unusual takes the full parse. Returns 1 when handled. */
#define LT_KEY_IS(k, left, lit) ((left) >= sizeof(lit) - 1 && !memcmp((k), (lit), sizeof(lit) - 1))

/* Does the key starting at k make a chunk need the full parse? */
static int lt_key_unusual(const char *k, size_t left)
{
    switch (*k) {
    case 't': return LT_KEY_IS(k, left, "tool_calls\"") || LT_KEY_IS(k, left, "text\":") || LT_KEY_IS(k, left, "type\":");
    case 'f': return LT_KEY_IS(k, left, "finish_reason\":\"") || LT_KEY_IS(k, left, "filtered\":true");
    case 'u': return LT_KEY_IS(k, left, "usage\":{");
    case 'r': return LT_KEY_IS(k, left, "refusal\":\"") || LT_KEY_IS(k, left, "role\"");
    case 'p': return LT_KEY_IS(k, left, "prompt_filter_results\"") || LT_KEY_IS(k, left, "prompt_annotations\"");
    default: return 0;
    }
}

static int lt_acc_fast_chunk(lt_acc *a, const char *d, size_t n, uint64_t off)
{
    static const char delta[] = "delta\":{\"content\":\"";
    if (!a->id || !a->model) return 0; /* let the full parse see the first chunks */
    const char *lim = d + n, *cs = NULL, *ce = NULL, *ix = NULL;
    /* one pass over the object keys (a '"' after '{' or ','); the content
     * string itself is skipped, so its text cannot look like a key */
    for (const char *q = memchr(d, '"', n); q; q = q + 1 < lim ? memchr(q + 1, '"', (size_t)(lim - q - 1)) : NULL) {
        if (q == d || (q[-1] != '{' && q[-1] != ',')) continue;
        const char *k = q + 1;
        size_t left = (size_t)(lim - k);
        if (lt_key_unusual(k, left)) return 0;
        if (LT_KEY_IS(k, left, "index\":")) { if (ix) return 0; ix = k + 7; }
        else if (LT_KEY_IS(k, left, delta)) {
            if (cs) return 0;
            cs = k + sizeof delta - 2; /* the opening quote of the content */
            ce = cs + 1;
            while (ce < lim && *ce != '"') ce += *ce == '\\' ? 2 : 1;
            if (ce + 1 >= lim || ce[1] != '}') return 0;
            q = ce;
        }
    }
    if (!cs || !ix) return 0;
    char *e;
    long index = strtol(ix, &e, 10);
    if (e == ix) return 0;
    json_t *str = json_loadb(cs, (size_t)(ce + 1 - cs), JSON_DECODE_ANY, NULL);
    if (!json_is_string(str)) { json_decref(str); return 0; }
    lt_acc_choice *ac = lt_acc_choice_get(a, index);
    if (ac) {
        lt_acc_append(&ac->content, &ac->has_content, str);
        if (json_string_length(str) && !a->have_first_token) { a->have_first_token = 1; a->first_token_off = off; }
    }
    json_decref(str);
    return 1;
}

typedef struct lt_sse_ctx {
    lt_acc *a;
    int responses;
    lt_counters *ctr;
} lt_sse_ctx;

static void lt_acc_on_event(void *ud, const lt_sse_event *ev)
{
    lt_sse_ctx *x = ud;
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) { x->a->done = 1; return; }
    if (!x->responses && !ev->event_len && lt_acc_fast_chunk(x->a, ev->data, ev->data_len, ev->off)) return;
    json_error_t err;
    json_t *j = json_loadb(ev->data, ev->data_len, 0, &err);
    if (!j) {
        x->ctr->json_errors++;
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
    json_decref(a->final_response);
    json_decref(a->rs_items);
    lt_buf_free(&a->out_text);
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

static void lt_fill_stream(json_t *out, const lt_exchange *ex, int responses, int completions, lt_counters *ctr)
{
    lt_acc a;
    memset(&a, 0, sizeof a);
    a.resp = &ex->resp;
    lt_sse_ctx x = {&a, responses, ctr};
    ctr->sse_events += lt_sse_parse_all(ex->resp.body.data, ex->resp.body.len, lt_acc_on_event, &x);
    json_t *usage = a.usage;
    if (responses) {
        json_t *r = a.final_response;
        lt_set_str(out, LT_AOAI_F_RESPONSE_ID, r ? json_object_get(r, "id") : a.id);
        lt_set_str(out, LT_AOAI_F_MODEL, r ? json_object_get(r, "model") : a.model);
        usage = json_object_get(r, "usage");
        json_t *output = json_object_get(r, "output");
        if (json_is_array(output)) json_object_set(out, LT_AOAI_F_RESPONSE_MESSAGES, output);
        else if (a.rs_items) json_object_set(out, LT_AOAI_F_RESPONSE_MESSAGES, a.rs_items);
        else if (a.have_out_text)
            json_object_set_new(out, LT_AOAI_F_RESPONSE_MESSAGES, json_pack("[{s:s,s:o}]", "role", "assistant",
                                                                   "content", lt_buf_json(&a.out_text)));
        lt_set(out, LT_AOAI_F_RESPONSE_STATUS, json_object_get(r, "status"));
    } else {
        lt_set_str(out, LT_AOAI_F_RESPONSE_ID, a.id);
        lt_set_str(out, LT_AOAI_F_MODEL, a.model);
        lt_set_str(out, LT_AOAI_F_SYSTEM_FINGERPRINT, a.fingerprint);
        lt_acc_chat_columns(&a, out, completions);
    }
    if (!lt_usage_fill(out, usage)) lt_usage_missing(out, ctr);
    lt_fill_ttft(out, ex, &a);
    lt_acc_free(&a);
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
