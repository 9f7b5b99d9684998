/* llm.h -- the facts of an Azure OpenAI call (parsers/aoai.h) as LLM record
 * columns (APIM's ApiManagementGatewayLlmLog names). */
#ifndef LT_LLM_H
#define LT_LLM_H

/* The column of a fact (LT_AOAI_F_*), NULL when it has none. */
const char *lt_llm_column_name(const char *fact);

#endif
