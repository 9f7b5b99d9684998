/* aoai.h -- Azure OpenAI / OpenAI-compatible payloads → LLM log columns.
 *
 * Two pure steps: classify a request by its method and path (which
 * operation, which deployment, which api-version; also behind a path prefix
 * such as /eastus2/openai/... and on the v1 surface where the deployment is
 * the body's "model"), then read the request and response bodies of the
 * exchange into record columns: messages, streamed deltas reassembled per
 * choice and per tool call, content-filter results and token usage. */
#ifndef LT_AOAI_H
#define LT_AOAI_H

#include <jansson.h>
#include "../common/counters.h"
#include "../records/record.h"
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

/* Adds the payload columns of an LLM call to rec. */
void lt_aoai_fill(const lt_aoai_call *call, const lt_exchange *ex, const lt_record_cfg *cfg, json_t *rec,
                  lt_counters *ctr);

/* The API id for the gateway record ("azure-openai" or NULL). */
const char *lt_aoai_api_id(const lt_aoai_call *call);

#endif
