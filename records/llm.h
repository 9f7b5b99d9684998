/* llm.h -- the facts of an Azure OpenAI call (parsers/aoai.h) as LLM record
 * columns (APIM's ApiManagementGatewayLlmLog names). */
#ifndef LT_LLM_H
#define LT_LLM_H

#include <jansson.h>

/* The column of a fact (LT_AOAI_F_*), NULL when it has none. */
const char *lt_llm_column_name(const char *fact);
/* Sets rec[column] for every fact, in the facts' order. Returns the number
 * of facts without a column (0 unless the two tables drift apart). */
int lt_llm_columns_add(json_t *rec, json_t *facts);

#endif
