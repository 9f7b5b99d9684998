/* kql_schema.c -- the tables and columns the KQL compiler knows, read from
 * packaging/azure/schema.json, the project's single source of columns.
 *
 * The file is embedded in the binary at build time (.incbin; the Makefile
 * rebuilds this object when schema.json changes), so `llmtap query` knows
 * exactly the columns Log Analytics has, with their types, without a
 * second copy of the list and without a data file to install. Local table
 * names are the APIM names with or without the _CL suffix of the custom
 * tables; the spool's `tbl` numbers are records/record.h's. The workspace
 * functions schema.json declares (LlmtapLlmLog, ...) are KQL bodies over
 * those tables, compiled where they are named. */
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include "kql_int.h"
#include "../records/record.h"

__asm__(".section .rodata\n"
        ".global lt_kql_schema_json\n"
        "lt_kql_schema_json:\n"
        ".incbin \"packaging/azure/schema.json\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char lt_kql_schema_json[];

static json_t *lt_kql_schema_root;
static pthread_once_t lt_kql_schema_once = PTHREAD_ONCE_INIT;

static void lt_kql_schema_load(void)
{
    lt_kql_schema_root = json_loads(lt_kql_schema_json, 0, NULL);
}

static lt_kql_type lt_kql_schema_type(const char *t)
{
    if (!strcmp(t, "datetime")) return LT_KQL_DATETIME;
    if (!strcmp(t, "int") || !strcmp(t, "long")) return LT_KQL_LONG;
    if (!strcmp(t, "real") || !strcmp(t, "double")) return LT_KQL_REAL;
    if (!strcmp(t, "boolean") || !strcmp(t, "bool")) return LT_KQL_BOOL;
    if (!strcmp(t, "dynamic")) return LT_KQL_DYNAMIC;
    if (!strcmp(t, "timespan")) return LT_KQL_TIMESPAN;
    return LT_KQL_STRING;
}

/* tbl number of a KQL table name, -1 if unknown. */
static int lt_kql_schema_tbl(const char *name, char *cl, size_t cllen)
{
    for (int t = 0; t < 2; t++) {
        const char *base = lt_table_name(t);
        size_t n = strlen(base);
        if (strncmp(name, base, n) || (name[n] && strcmp(name + n, "_CL"))) continue;
        snprintf(cl, cllen, "%s_CL", base);
        return t;
    }
    return -1;
}

int lt_kql_schema_table(const char *name, int *tbl, lt_kcols *cols, lt_kc *c)
{
    char cl[128];
    pthread_once(&lt_kql_schema_once, lt_kql_schema_load);
    *tbl = lt_kql_schema_tbl(name, cl, sizeof cl);
    json_t *t = json_object_get(json_object_get(lt_kql_schema_root, "tables"), cl);
    if (*tbl < 0 || !json_is_object(t)) return -1;
    if (!c) return 0;
    cols->v = lt_kql_alloc(c, (json_object_size(t) + 1) * sizeof(lt_kcol));
    cols->n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v) {
        cols->v[cols->n].name = k;
        cols->v[cols->n++].type = lt_kql_schema_type(json_string_value(v) ? json_string_value(v) : "");
    }
    return 0;
}

const char *lt_kql_schema_function(const char *name)
{
    pthread_once(&lt_kql_schema_once, lt_kql_schema_load);
    json_t *f = json_object_get(json_object_get(lt_kql_schema_root, "functions"), name);
    return json_string_value(json_object_get(f, "body"));
}
