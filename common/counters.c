/* counters.c -- reset, sum and printing of the counters declared by the
 * X-macro in counters.h. */
#include <jansson.h>
#include <string.h>
#include "counters.h"

void lt_counters_reset(lt_counters *c) { memset(c, 0, sizeof *c); }

void lt_counters_add(lt_counters *into, const lt_counters *from)
{
#define LT_COUNTER_ADD(name, desc) into->name += from->name;
    LT_COUNTERS(LT_COUNTER_ADD)
#undef LT_COUNTER_ADD
}

void lt_counters_print(const lt_counters *c, FILE *out)
{
#define LT_COUNTER_PRINT(name, desc) \
    if (c->name) fprintf(out, "  %-26s %12llu  %s\n", #name, (unsigned long long)c->name, desc);
    LT_COUNTERS(LT_COUNTER_PRINT)
#undef LT_COUNTER_PRINT
}

json_t *lt_counters_json(const lt_counters *c)
{
    json_t *o = json_object();
#define LT_COUNTER_JSON(name, desc) json_object_set_new(o, #name, json_integer((json_int_t)c->name));
    LT_COUNTERS(LT_COUNTER_JSON)
#undef LT_COUNTER_JSON
    return o;
}
