/* test_kql.c -- the KQL compiler (analytics/kql.h) on a small in-memory spool
 * whose answers are known by construction: every supported construct gives
 * the value worked out by hand here, every unsupported one an error that
 * names the line and column of the offending token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "analytics/kql.h"

#define DAY 86400000000LL
#define T0 1795305600000000LL   /* 2026-11-22T00:00:00Z */
#define NOW (T0 + DAY + 3600000000LL)

static sqlite3 *db;

/* Rows: 4 LLM calls on two days and deployments, 3 gateway records. */
static const struct { int tbl; long long t; const char *json; } rows[] = {
    {0, T0 + 1000000, "{\"RecordId\":\"a\",\"SequenceNumber\":0,\"DeploymentName\":\"gpt-4o\",\"PromptTokens\":10,"
                     "\"CompletionTokens\":5,\"TotalTokens\":15,\"CachedTokens\":2,\"ReasoningTokens\":0,\"ResponseCode\":200,"
                     "\"IsStreamCompletion\":true,\"UsageSource\":\"reported\",\"KeyFingerprint\":\"k1\",\"DurationMs\":100,"
                     "\"RequestMessages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"Url\":\"/openai/deployments/gpt-4o/chat\"}"},
    {0, T0 + 2000000, "{\"RecordId\":\"b\",\"SequenceNumber\":0,\"DeploymentName\":\"gpt-4o\",\"PromptTokens\":20,"
                     "\"CompletionTokens\":10,\"TotalTokens\":30,\"ResponseCode\":200,\"IsStreamCompletion\":false,"
                     "\"UsageSource\":\"reported\",\"KeyFingerprint\":\"k2\",\"DurationMs\":300}"},
    {0, T0 + DAY + 5000000, "{\"RecordId\":\"c\",\"SequenceNumber\":0,\"DeploymentName\":\"mini\",\"PromptTokens\":7,"
                           "\"CompletionTokens\":3,\"TotalTokens\":10,\"ResponseCode\":200,\"UsageSource\":\"reported\","
                           "\"KeyFingerprint\":\"k1\",\"DurationMs\":200}"},
    {0, T0 + DAY + 6000000, "{\"RecordId\":\"d\",\"DeploymentName\":\"mini\",\"ResponseCode\":403,\"UsageSource\":\"none\","
                           "\"KeyFingerprint\":\"k1\",\"DurationMs\":400}"},
    {1, T0 + DAY + 6000000, "{\"RecordId\":\"g1\",\"ResponseCode\":403,\"CallerIpAddress\":\"203.0.113.66\","
                           "\"LastErrorReason\":\"IP_BLOCKED\",\"Url\":\"/openai/x?api-version=1\"}"},
    {1, T0 + DAY + 7000000, "{\"RecordId\":\"g2\",\"ResponseCode\":429,\"CallerIpAddress\":\"10.0.0.1\",\"RetryAfter\":3,"
                           "\"LastErrorReason\":\"RATE_LIMITED\",\"Url\":\"/openai/y\"}"},
    {1, T0 + 7000000, "{\"RecordId\":\"g3\",\"ResponseCode\":200,\"CallerIpAddress\":\"10.0.0.1\",\"Url\":\"/openai/z\"}"},
};

static int setup(void **state)
{
    (void)state;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(lt_kql_fn_register(db), 0);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE records (rowid INTEGER PRIMARY KEY, tbl INTEGER, id TEXT, "
                                      "time INTEGER, json TEXT, state INTEGER DEFAULT 0)", NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *sql = sqlite3_mprintf("INSERT INTO records (tbl, id, time, json) VALUES (%d, 'x%d', %lld, %Q)",
                                    rows[i].tbl, (int)i, rows[i].t, rows[i].json);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_free(sql);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sqlite3_close(db);
    return 0;
}

/* Runs a query; returns its rows as a JSON array (caller decrefs). */
static json_t *run(const char *kql)
{
    char err[2048];
    lt_kql *q = lt_kql_compile(kql, NOW, err, sizeof err);
    if (!q) fail_msg("compile failed: %s\nquery: %s", err, kql);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    long n = lt_kql_out_run(db, q, LT_KQL_JSON, m, err, sizeof err);
    fclose(m);
    if (n < 0) fail_msg("run failed: %s\nSQL: %s", err, lt_kql_sql(q));
    lt_kql_destroy(q);
    json_t *arr = json_array();
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) json_array_append_new(arr, json_loads(line, 0, NULL));
    free(buf);
    return arr;
}

static void expect_cell(json_t *rows_, size_t r, const char *col, const char *want)
{
    json_t *v = json_object_get(json_array_get(rows_, r), col);
    char *got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("(missing)");
    if (strcmp(got, want)) {
        char *all = json_dumps(rows_, JSON_COMPACT);
        fail_msg("row %zu column %s: expected %s, got %s\nrows: %s", r, col, want, got, all);
    }
    free(got);
}

static void expect_error(const char *kql, const char *where, const char *what)
{
    char err[2048] = "";
    lt_kql *q = lt_kql_compile(kql, NOW, err, sizeof err);
    if (q) fail_msg("expected an error for: %s\ngot SQL: %s", kql, lt_kql_sql(q));
    if (strncmp(err, where, strlen(where)) || !strstr(err, what))
        fail_msg("query: %s\nexpected error at %s containing '%s', got: %s", kql, where, what, err);
}

static void test_token_query(void **state)
{
    (void)state;
    json_t *r = run("ApiManagementGatewayLlmLog_CL\n| where TimeGenerated >= ago(30d)\n"
                    "| where coalesce(SequenceNumber, 0) == 0\n| where tolong(TotalTokens) > 0\n"
                    "| summarize TotalRequests = count(), PromptTokensSum = sum(tolong(PromptTokens)),\n"
                    "    TotalTokensSum = sum(tolong(TotalTokens)), AvgTokensPerReq = avg(tolong(TotalTokens))");
    assert_int_equal(json_array_size(r), 1);
    expect_cell(r, 0, "TotalRequests", "3");
    expect_cell(r, 0, "PromptTokensSum", "37");
    expect_cell(r, 0, "TotalTokensSum", "55");
    expect_cell(r, 0, "AvgTokensPerReq", "18.333333333333332");
    json_decref(r);
}

static void test_ago_window(void **state)
{
    (void)state;
    /* NOW is day 2 01:00; ago(2h) keeps only day-2 rows. */
    json_t *r = run("ApiManagementGatewayLlmLog | where TimeGenerated > ago(2h) | count");
    expect_cell(r, 0, "Count", "2");
    json_decref(r);
    r = run("ApiManagementGatewayLlmLog | where TimeGenerated between (datetime(2026-11-22) .. datetime(2026-11-22T23:59:59Z)) | count");
    expect_cell(r, 0, "Count", "2");
    json_decref(r);
}

static void test_daily_by_deployment(void **state)
{
    (void)state;
    json_t *r = run("ApiManagementGatewayLlmLog_CL | summarize Requests = count(), sum(tolong(TotalTokens)), "
                    "CachedTokens = sum(tolong(CachedTokens)) by Day = bin(TimeGenerated, 1d), DeploymentName "
                    "| order by Day asc, DeploymentName asc");
    assert_int_equal(json_array_size(r), 2);
    expect_cell(r, 0, "Day", "\"2026-11-22T00:00:00.000000Z\"");
    expect_cell(r, 0, "DeploymentName", "\"gpt-4o\"");
    expect_cell(r, 0, "Requests", "2");
    expect_cell(r, 0, "sum_TotalTokens", "45");
    expect_cell(r, 0, "CachedTokens", "2");
    expect_cell(r, 1, "Day", "\"2026-11-23T00:00:00.000000Z\"");
    expect_cell(r, 1, "sum_TotalTokens", "10");
    expect_cell(r, 1, "CachedTokens", "0");
    json_decref(r);
}

static void test_audit_403_429(void **state)
{
    (void)state;
    json_t *r = run("ApiManagementGatewayLogs_CL\n| where TimeGenerated > ago(1h)\n| where ResponseCode == 403\n"
                    "| project TimeGenerated, CallerIpAddress, RequestUrl = Url, ResponseCode");
    assert_int_equal(json_array_size(r), 1);
    expect_cell(r, 0, "RequestUrl", "\"/openai/x?api-version=1\"");
    expect_cell(r, 0, "TimeGenerated", "\"2026-11-23T00:00:06.000000Z\"");
    json_decref(r);
    r = run("ApiManagementGatewayLogs | where ResponseCode in (403, 429) | summarize Calls = count(), "
            "First = min(TimeGenerated) by CallerIpAddress, ResponseCode, LastErrorReason | order by ResponseCode desc");
    assert_int_equal(json_array_size(r), 2);
    expect_cell(r, 0, "LastErrorReason", "\"RATE_LIMITED\"");
    expect_cell(r, 1, "CallerIpAddress", "\"203.0.113.66\"");
    json_decref(r);
}

static void test_string_operators(void **state)
{
    (void)state;
    json_t *r = run("ApiManagementGatewayLogs | where Url has \"x\" | project RecordId");
    assert_int_equal(json_array_size(r), 1);
    expect_cell(r, 0, "RecordId", "\"g1\"");
    json_decref(r);
    r = run("ApiManagementGatewayLogs | where Url has \"opena\" | count");   /* not a whole term */
    expect_cell(r, 0, "Count", "0");
    json_decref(r);
    r = run("ApiManagementGatewayLogs | where Url contains \"OPENA\" and not(Url startswith \"/openai/z\") | count");
    expect_cell(r, 0, "Count", "2");
    json_decref(r);
    r = run("ApiManagementGatewayLogs | where ResponseCode == 200 or CallerIpAddress !startswith \"10.\" | count");
    expect_cell(r, 0, "Count", "2");
    json_decref(r);
}

static void test_aggregates(void **state)
{
    (void)state;
    json_t *r = run("ApiManagementGatewayLlmLog | summarize dcount(KeyFingerprint), percentile(DurationMs, 50), "
                    "percentiles(DurationMs, 95), Streams = countif(IsStreamCompletion == true), "
                    "Keys = make_set(KeyFingerprint), Max = max(DurationMs)");
    expect_cell(r, 0, "dcount_KeyFingerprint", "2");
    expect_cell(r, 0, "percentile_DurationMs_50", "200");
    expect_cell(r, 0, "percentile_DurationMs_95", "400");
    expect_cell(r, 0, "Streams", "1");
    expect_cell(r, 0, "Max", "400");
    json_decref(r);
    r = run("ApiManagementGatewayLlmLog | order by RecordId asc | summarize Text = strcat_array(make_list_if("
            "tostring(RequestMessages), isnotempty(RequestMessages)), \"|\"), Ids = strcat_array(make_list(RecordId), \",\")");
    expect_cell(r, 0, "Text", "\"[{\\\"role\\\":\\\"user\\\",\\\"content\\\":\\\"hi\\\"}]\"");
    expect_cell(r, 0, "Ids", "\"a,b,c,d\"");
    json_decref(r);
}

static void test_arg_max_join(void **state)
{
    (void)state;
    json_t *r = run("let Keys = ApiManagementGatewayLlmLog | summarize Calls = count() by KeyFingerprint;\n"
                    "ApiManagementGatewayLlmLog_CL | summarize arg_max(TimeGenerated, *) by KeyFingerprint\n"
                    "| join kind=leftouter Keys on KeyFingerprint | project KeyFingerprint, RecordId, Calls, KeyFingerprint1"
                    " | sort by KeyFingerprint asc");
    assert_int_equal(json_array_size(r), 2);
    expect_cell(r, 0, "RecordId", "\"d\"");
    expect_cell(r, 0, "Calls", "3");
    expect_cell(r, 0, "KeyFingerprint1", "\"k1\"");
    expect_cell(r, 1, "RecordId", "\"b\"");
    json_decref(r);
}

static void test_scalar_functions(void **state)
{
    (void)state;
    json_t *r = run("let since = ago(1d);\nApiManagementGatewayLlmLog | where RecordId == \"a\" or TimeGenerated > since\n"
                    "| extend Who = strcat(KeyFingerprint, \"/\", DeploymentName), Big = iff(tolong(TotalTokens) > 12, \"yes\", \"no\"),"
                    " NoUsage = isempty(TotalTokens), Role = tostring(RequestMessages[0].role), P = todouble(\"1.5\"), "
                    "L = toint(\"x\"), S = tostring(IsStreamCompletion)\n"
                    "| project-away Url | top 2 by TimeGenerated asc");
    assert_int_equal(json_array_size(r), 2);
    expect_cell(r, 0, "Who", "\"k1/gpt-4o\"");
    expect_cell(r, 0, "Big", "\"yes\"");
    expect_cell(r, 0, "NoUsage", "false");
    expect_cell(r, 0, "Role", "\"user\"");
    expect_cell(r, 0, "P", "1.5");
    expect_cell(r, 0, "L", "null");
    expect_cell(r, 0, "S", "\"true\"");
    expect_cell(r, 0, "IsStreamCompletion", "true");
    expect_cell(r, 1, "RecordId", "\"c\"");
    expect_cell(r, 1, "Big", "\"no\"");
    assert_null(json_object_get(json_array_get(r, 0), "Url"));
    json_decref(r);
    r = run("ApiManagementGatewayLlmLog | distinct DeploymentName | order by DeploymentName asc | take 1");
    assert_int_equal(json_array_size(r), 1);
    expect_cell(r, 0, "DeploymentName", "\"gpt-4o\"");
    json_decref(r);
}

/* Workspace functions of schema.json (LlmtapLlmLog: each row once) compile where they are named. */
static void test_functions(void **state)
{
    (void)state;
    json_t *r = run("LlmtapLlmLog | summarize Calls = count(), Tokens = sum(tolong(TotalTokens))");
    expect_cell(r, 0, "Calls", "4");
    expect_cell(r, 0, "Tokens", "55");
    json_decref(r);
    r = run("let G = LlmtapGatewayLogs | where ResponseCode == 429; G | project RecordId, RetryAfter");
    assert_int_equal(json_array_size(r), 1);
    expect_cell(r, 0, "RetryAfter", "3");
    json_decref(r);
}

static void test_unsupported(void **state)
{
    (void)state;
    expect_error("ApiManagementGatewayLlmLog | mv-expand RequestMessages", "1:30:", "unsupported operator 'mv'");
    expect_error("ApiManagementGatewayLlmLog\n| where Nope > 1", "2:9:", "unknown column or name 'Nope'");
    expect_error("ApiManagementGatewayLlmLog | join kind=fullouter (ApiManagementGatewayLogs) on RecordId", "1:40:",
                 "join kind=fullouter");
    expect_error("ApiManagementGatewayLlmLog | join ApiManagementGatewayLogs on RecordId", "1:35:", "innerunique");
    expect_error("ApiManagementGatewayLlmLog | summarize x = 1", "1:44:", "needs an aggregate");
    expect_error("ApiManagementGatewayLlmLog | summarize sum(Url)", "1:40:", "sum() of a string");
    expect_error("ApiManagementGatewayLlmLog | where ResponseCode == \"403\"", "1:49:", "cannot compare a long with a string");
    expect_error("ApiManagementGatewayLlmLog | where sum(TotalTokens) > 1", "1:36:", "only allowed in summarize");
    expect_error("ApiManagementGatewayLlmLog | where extract(\"a\", 0, Url) == \"\"", "1:36:", "unsupported function 'extract'");
    expect_error("Heartbeat | take 1", "1:1:", "unknown table 'Heartbeat'");
    expect_error("ApiManagementGatewayLlmLog | where Url == 'x", "1:43:", "unterminated string");
    expect_error("ApiManagementGatewayLlmLog | take 1 2", "1:37:", "unexpected '2'");
    expect_error("let x = 1;", "1:11:", "no query");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_query), cmocka_unit_test(test_ago_window),
        cmocka_unit_test(test_daily_by_deployment), cmocka_unit_test(test_audit_403_429),
        cmocka_unit_test(test_string_operators), cmocka_unit_test(test_aggregates),
        cmocka_unit_test(test_arg_max_join), cmocka_unit_test(test_scalar_functions),
        cmocka_unit_test(test_functions), cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
