/* counters.c -- storage, reset and printing of the process-wide counters
 * declared by the X-macro in counters.h. */
#include <jansson.h>
#include <string.h>
#include "counters.h"

lt_counters lt_ctr;

void lt_counters_reset(void) { memset(&lt_ctr, 0, sizeof lt_ctr); }

void lt_counters_print(FILE *out)
{
#define LT_COUNTER_PRINT(name, desc) \
    if (lt_ctr.name) fprintf(out, "  %-26s %12llu  %s\n", #name, (unsigned long long)lt_ctr.name, desc);
    LT_COUNTERS(LT_COUNTER_PRINT)
#undef LT_COUNTER_PRINT
}

json_t *lt_counters_json(void)
{
    json_t *o = json_object();
#define LT_COUNTER_JSON(name, desc) json_object_set_new(o, #name, json_integer((json_int_t)lt_ctr.name));
    LT_COUNTERS(LT_COUNTER_JSON)
#undef LT_COUNTER_JSON
    return o;
}
