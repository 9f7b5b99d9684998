/* llm.c -- the facts of an Azure OpenAI call → ApiManagementGatewayLlmLog
 * columns.
 *
 * parsers/aoai.c reads the bodies and reports what the call said under the
 * API's own names (prompt_tokens, finish_reasons, ...); this table is the one
 * place those facts get APIM's column names, as Suricata's output-json-http.c
 * is the one place a transaction gets its log keys. Facts are copied in the
 * order the parser found them, so the record's key order is stable. */
#include <string.h>
#include "../parsers/aoai.h"
#include "llm.h"

static const struct lt_llm_column {
    const char *fact;
    const char *column;
} lt_llm_columns[] = {
    {LT_AOAI_F_CACHED_TOKENS, "CachedTokens"},
    {LT_AOAI_F_COMPLETION_TOKENS, "CompletionTokens"},
    {LT_AOAI_F_CONTENT_FILTER_RESULTS, "ContentFilterResults"},
    {LT_AOAI_F_DEPLOYMENT, "DeploymentName"},
    {LT_AOAI_F_FINISH_REASONS, "FinishReasons"},
    {LT_AOAI_F_STREAM, "IsStreamCompletion"},
    {LT_AOAI_F_MAX_TOKENS, "MaxTokens"},
    {LT_AOAI_F_MODEL, "ModelName"},
    {LT_AOAI_F_PROMPT_FILTER_RESULTS, "PromptFilterResults"},
    {LT_AOAI_F_PROMPT_TOKENS, "PromptTokens"},
    {LT_AOAI_F_REASONING_TOKENS, "ReasoningTokens"},
    {LT_AOAI_F_RESPONSE_ID, "RequestId"},
    {LT_AOAI_F_INSTRUCTIONS, "RequestInstructions"},
    {LT_AOAI_F_REQUEST_MESSAGES, "RequestMessages"},
    {LT_AOAI_F_TOOLS, "RequestTools"},
    {LT_AOAI_F_RESPONSE_MESSAGES, "ResponseMessages"},
    {LT_AOAI_F_RESPONSE_STATUS, "ResponseStatus"},
    {LT_AOAI_F_SYSTEM_FINGERPRINT, "SystemFingerprint"},
    {LT_AOAI_F_TIME_TO_FIRST_TOKEN_MS, "TimeToFirstTokenMs"},
    {LT_AOAI_F_TOTAL_TOKENS, "TotalTokens"},
    {LT_AOAI_F_USAGE_SOURCE, "UsageSource"},
};

const char *lt_llm_column_name(const char *fact)
{
    for (size_t i = 0; i < sizeof lt_llm_columns / sizeof *lt_llm_columns; i++)
        if (lt_llm_columns[i].fact[0] == fact[0] && lt_llm_columns[i].fact[1] == fact[1] && /* two bytes first */
            !strcmp(lt_llm_columns[i].fact, fact))
            return lt_llm_columns[i].column;
    return NULL;
}
