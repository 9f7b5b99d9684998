/* aoai.h -- Azure OpenAI / OpenAI-compatible payloads → the facts of a call.
 *
 * Two pure steps: classify a request by its method and path (which
 * operation, which deployment, which api-version; also behind a path prefix
 * such as /eastus2/openai/... and on the v1 surface where the deployment is
 * the body's "model"), then read the request and response bodies of the
 * exchange into the call's facts: messages, streamed deltas reassembled per
 * choice and per tool call, content-filter results and token usage. The
 * facts carry this module's names (LT_AOAI_F_*, the API's own
 * vocabulary); records/ alone knows the columns they become. */
#ifndef LT_AOAI_H
#define LT_AOAI_H

#include <jansson.h>
#include "../common/counters.h"
#include "http_msg.h"

enum lt_aoai_op {
    LT_AOAI_NONE = 0,
    LT_AOAI_CHAT,
    LT_AOAI_COMPLETIONS,
    LT_AOAI_EMBEDDINGS,
    LT_AOAI_RESPONSES,
    LT_AOAI_IMAGES,
    LT_AOAI_AUDIO,
    LT_AOAI_OTHER,
};

typedef struct lt_aoai_call {
    int op;                    /* enum lt_aoai_op */
    char operation[96];        /* OperationName, e.g. ChatCompletions_Create */
    char deployment[256];      /* from the path; "" on the v1 surface */
    char api_version[64];
    int v1;                    /* /openai/v1/... or plain /v1/... */
} lt_aoai_call;

/* 1 when method+target is an Azure OpenAI / OpenAI-compatible call. */
int lt_aoai_classify(const char *method, const char *target, lt_aoai_call *out);

/* The facts of a call: the keys of the object lt_aoai_parse() fills. */
#define LT_AOAI_F_CACHED_TOKENS "cached_tokens"
#define LT_AOAI_F_COMPLETION_TOKENS "completion_tokens"
#define LT_AOAI_F_CONTENT_FILTER_RESULTS "content_filter_results"
#define LT_AOAI_F_DEPLOYMENT "deployment"
#define LT_AOAI_F_FINISH_REASONS "finish_reasons"
#define LT_AOAI_F_STREAM "stream"
#define LT_AOAI_F_MAX_TOKENS "max_tokens"
#define LT_AOAI_F_MODEL "model"
#define LT_AOAI_F_PROMPT_FILTER_RESULTS "prompt_filter_results"
#define LT_AOAI_F_PROMPT_TOKENS "prompt_tokens"
#define LT_AOAI_F_REASONING_TOKENS "reasoning_tokens"
#define LT_AOAI_F_RESPONSE_ID "response_id"
#define LT_AOAI_F_INSTRUCTIONS "instructions"
#define LT_AOAI_F_REQUEST_MESSAGES "request_messages"
#define LT_AOAI_F_TOOLS "tools"
#define LT_AOAI_F_RESPONSE_MESSAGES "response_messages"
#define LT_AOAI_F_RESPONSE_STATUS "response_status"
#define LT_AOAI_F_SYSTEM_FINGERPRINT "system_fingerprint"
#define LT_AOAI_F_TIME_TO_FIRST_TOKEN_MS "time_to_first_token_ms"
#define LT_AOAI_F_TOTAL_TOKENS "total_tokens"
#define LT_AOAI_F_USAGE_SOURCE "usage_source"

typedef struct lt_aoai_cfg {
    int store_embeddings;   /* keep embedding vectors (default: count and dimension only) */
    size_t raw_body_cap;    /* bytes of raw body kept for calls not modelled */
} lt_aoai_cfg;

/* Adds the facts of an LLM call to out (keys LT_AOAI_F_*, in the
 * order found; a later fact of the same name replaces the earlier value). */
void lt_aoai_parse(const lt_aoai_call *call, const lt_exchange *ex, const lt_aoai_cfg *cfg, json_t *out,
                   lt_counters *ctr);

/* Streamed answers read as they arrive. A 2xx text/event-stream answer to
 * a modelled call (any operation but LT_AOAI_OTHER, whose raw body records
 * keep) is not kept whole: the HTTP parser attaches a stream to the response
 * when its head is known, http_msg.c hands it the decoded body bytes instead
 * of keeping them, and its SSE parser folds each event into the call's
 * accumulators (text so far, tool arguments, filter results, usage). A
 * stream in flight so costs its accumulators, not its body; lt_aoai_parse()
 * reads them and gives exactly the facts it gives from the whole body. */
typedef struct lt_aoai_stream lt_aoai_stream;
/* Attaches a stream to ex->resp when the request and the response head call
 * for one and no body byte has arrived yet. Returns 1 when attached. */
int lt_aoai_stream_attach(lt_exchange *ex);
/* The next n decoded body bytes. */
void lt_aoai_stream_feed(lt_aoai_stream *s, const uint8_t *p, size_t n);
/* Bytes the stream holds (charged to the memory budget as it grows). */
size_t lt_aoai_stream_footprint(const lt_aoai_stream *s);
void lt_aoai_stream_destroy(lt_aoai_stream *s);

/* The API id for the gateway record ("azure-openai" or NULL). */
const char *lt_aoai_api_id(const lt_aoai_call *call);

#endif
