/* report.c -- `llmtap report` (see report.h): runs the Workbook's views as
 * KQL over the spool and lays their results out as HTML tables, number
 * tiles and inline SVG charts (report_svg.c).
 *
 * Each view is one query string below; a query result is held as text
 * cells (lt_rtab) formatted the way `llmtap query` prints them, so the page
 * and the command line always show the same numbers. The period is a
 * `let Since = ago(...)` prepended to every query, each of which keeps
 * `TimeGenerated between (Since .. now())`. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "kql.h"
#include "kql_lex.h"
#include "report.h"
#include "report_svg.h"

struct lt_report {
    sqlite3 *db;
    char *source;
    lt_time_us now, since;
    char *err;
    size_t errlen;
    int failed;
};

typedef struct lt_rtab { int ncols; long nrows; char **names; char **cells; } lt_rtab;

lt_report *lt_report_create(sqlite3 *db, const char *source, lt_time_us now, lt_time_us since_us)
{
    lt_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->db = db;
    r->source = strdup(source ? source : "");
    r->now = now;
    r->since = since_us;
    if (!r->source) { free(r); return NULL; }
    return r;
}

void lt_report_destroy(lt_report *r)
{
    if (!r) return;
    free(r->source);
    free(r);
}

static void lt_rtab_free(lt_rtab *t)
{
    if (!t) return;
    for (long i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
    for (int i = 0; i < t->ncols; i++) free(t->names[i]);
    free(t->cells);
    free(t->names);
    free(t);
}

static int lt_rtab_fill(lt_rtab *t, sqlite3_stmt *st, const lt_kql *q)
{
    int rc;
    long cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (t->nrows == cap) {
            cap = cap ? cap * 2 : 16;
            char **c = realloc(t->cells, (size_t)(cap * t->ncols + 1) * sizeof *c);
            if (!c) return -1;
            t->cells = c;
        }
        for (int i = 0; i < t->ncols; i++) t->cells[t->nrows * t->ncols + i] = lt_kql_out_cell(st, i, lt_kql_col_type(q, i));
        t->nrows++;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs one view's KQL (with Since defined); NULL and r->err on failure. */
static lt_rtab *lt_report_run(lt_report *r, const char *fmt, ...)
{
    char *body = NULL, *src = NULL, err[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&body, fmt, ap);
    va_end(ap);
    if (n < 0 || asprintf(&src, "let Since = ago(%lldmicroseconds);\n%s", (long long)r->since, body) < 0) src = NULL;
    free(body);
    lt_kql *q = src ? lt_kql_compile(src, r->now, err, sizeof err) : NULL;
    lt_rtab *t = q ? calloc(1, sizeof *t) : NULL;
    sqlite3_stmt *st = NULL;
    int ok = t && sqlite3_prepare_v2(r->db, lt_kql_sql(q), -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        t->ncols = lt_kql_ncols(q);
        t->names = calloc((size_t)t->ncols + 1, sizeof *t->names);
        for (int i = 0; t->names && i < t->ncols; i++) t->names[i] = strdup(lt_kql_col_name(q, i));
        ok = t->names && lt_rtab_fill(t, st, q) == 0;
    }
    if (!ok && !r->failed) {
        snprintf(r->err, r->errlen, "report query failed: %s\n%s", q ? sqlite3_errmsg(r->db) : err, src ? src : "");
        r->failed = 1;
    }
    sqlite3_finalize(st);
    lt_kql_destroy(q);
    free(src);
    if (!ok) { lt_rtab_free(t); return NULL; }
    return t;
}

static int lt_rtab_col(const lt_rtab *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++) if (!strcmp(t->names[i], name)) return i;
    return -1;
}

static const char *lt_rtab_get(const lt_rtab *t, long row, const char *name)
{
    int c = lt_rtab_col(t, name);
    return c < 0 || row >= t->nrows ? "" : t->cells[row * t->ncols + c];
}

static double lt_rtab_num(const lt_rtab *t, long row, const char *name)
{
    return strtod(lt_rtab_get(t, row, name), NULL);
}

/* ---- HTML pieces ---- */

static void lt_report_table(FILE *out, const lt_rtab *t, const char *id)
{
    fprintf(out, "<table class=\"data\" data-table=\"%s\"><thead><tr>", id);
    for (int i = 0; i < t->ncols; i++) { fputs("<th>", out); lt_report_svg_esc(out, t->names[i]); fputs("</th>", out); }
    fputs("</tr></thead><tbody>\n", out);
    for (long r = 0; r < t->nrows; r++) {
        fputs("<tr>", out);
        for (int i = 0; i < t->ncols; i++) {
            fprintf(out, "<td data-col=\"%s\">", t->names[i]);
            lt_report_svg_esc(out, t->cells[r * t->ncols + i]);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    if (!t->nrows) fprintf(out, "<tr><td colspan=\"%d\" class=\"none\">none in this period</td></tr>", t->ncols);
    fputs("</tbody></table>\n", out);
}

static void lt_report_tiles(FILE *out, const lt_rtab *t, const char *const *labels)
{
    fputs("<div class=\"tiles\">", out);
    for (int i = 0; i < t->ncols; i++) {
        fprintf(out, "<div class=\"tile\"><div class=\"num\" data-total=\"%s\">", t->names[i]);
        lt_report_svg_esc(out, t->nrows ? t->cells[i] : "0");
        fprintf(out, "</div><div class=\"lbl\">%s</div></div>", labels[i]);
    }
    fputs("</div>\n", out);
}

static void lt_report_head(lt_report *r, FILE *out)
{
    char from[40], to[40];
    lt_time_iso(r->now - r->since, from, sizeof from);
    lt_time_iso(r->now, to, sizeof to);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>llmtap report</title><style>\n"
          "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}\n"
          "h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}\n"
          ".sub{color:#666;font-size:13px}.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}\n"
          ".tile{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:120px}.num{font-size:22px;font-weight:600}\n"
          ".lbl{color:#666;font-size:12px}svg.chart{width:100%;max-width:760px;height:auto;display:block;margin:8px 0}\n"
          "table.data{border-collapse:collapse;font-size:12px;margin:8px 0;width:100%}\n"
          "table.data th,table.data td{border:1px solid #e3e3e3;padding:3px 6px;text-align:left;vertical-align:top}\n"
          "table.data th{background:#f5f5f5}td.none{color:#888}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}\n"
          ".grid>div{min-width:0;overflow-x:auto}@media(max-width:800px){.grid{grid-template-columns:1fr}}\n</style></head><body>\n", out);
    fputs("<h1>llmtap report</h1><div class=\"sub\">Azure OpenAI calls from ", out);
    fprintf(out, "<span id=\"from\">%s</span> to <span id=\"to\">%s</span>, spool ", from, to);
    lt_report_svg_esc(out, r->source);
    fputs(". Every number is a KQL query over the spool (<code>llmtap query</code>).</div>\n", out);
}

static void lt_report_totals(lt_report *r, FILE *out)
{
    static const char *const llm_labels[] = {"LLM calls", "Prompt tokens", "Completion tokens", "Total tokens",
                                             "Cached tokens", "Reasoning tokens", "Deployments", "Callers"};
    static const char *const gw_labels[] = {"Gateway requests", "Blocked (403)", "Throttled (429)", "Incomplete records"};
    lt_rtab *t = lt_report_run(r,
        "ApiManagementGatewayLlmLog | where TimeGenerated between (Since .. now()) | where coalesce(SequenceNumber, 0) == 0\n"
        "| summarize Requests = count(), PromptTokens = sum(tolong(PromptTokens)), CompletionTokens = sum(tolong(CompletionTokens)),\n"
        "  TotalTokens = sum(tolong(TotalTokens)), CachedTokens = sum(tolong(CachedTokens)), ReasoningTokens = sum(tolong(ReasoningTokens)),\n"
        "  Deployments = dcount(DeploymentName), Callers = dcount(CallerIpAddress)");
    lt_rtab *g = lt_report_run(r,
        "ApiManagementGatewayLogs | where TimeGenerated between (Since .. now())\n"
        "| summarize GatewayRequests = count(), Blocked = countif(ResponseCode == 403), Throttled = countif(ResponseCode == 429),\n"
        "  Incomplete = countif(Complete == false)");
    fputs("<h2>Totals</h2>\n", out);
    if (t) lt_report_tiles(out, t, llm_labels);
    if (g) lt_report_tiles(out, g, gw_labels);
    lt_rtab_free(t);
    lt_rtab_free(g);
}

/* Distinct values of a column in first-seen order; returns count. */
static int lt_report_distinct(const lt_rtab *t, const char *col, char **out, int max)
{
    int n = 0;
    for (long i = 0; i < t->nrows; i++) {
        const char *v = lt_rtab_get(t, i, col);
        int k;
        for (k = 0; k < n && strcmp(out[k], v); k++) {}
        if (k == n && n < max) out[n++] = (char *)v;
    }
    return n;
}

static int lt_report_index(char *const *v, int n, const char *s)
{
    for (int i = 0; i < n; i++) if (!strcmp(v[i], s)) return i;
    return -1;
}

/* Every day from the first to the last day with calls, so quiet days show as gaps. */
static int lt_report_days(const lt_rtab *t, char **days, int max)
{
    long long first = 0, last = 0, us;
    for (long i = 0; i < t->nrows; i++) {
        if (lt_kql_lex_datetime(lt_rtab_get(t, i, "Day"), &us) < 0) continue;
        if (!first || us < first) first = us;
        if (us > last) last = us;
    }
    int n = 0;
    for (long long d = first; first && d <= last && n < max; d += 86400000000LL) {
        char iso[40];
        days[n++] = strdup(lt_time_iso(d, iso, sizeof iso));
    }
    return n;
}

static void lt_report_daily(lt_report *r, FILE *out)
{
    lt_rtab *t = lt_report_run(r,
        "ApiManagementGatewayLlmLog | where TimeGenerated between (Since .. now()) | where coalesce(SequenceNumber, 0) == 0\n"
        "| summarize TotalTokens = sum(tolong(TotalTokens)) by Day = bin(TimeGenerated, 1d), DeploymentName\n"
        "| order by Day asc, DeploymentName asc");
    if (!t) return;
    enum { MAXC = 400, MAXS = 40 };
    char *days[MAXC], *deps[MAXS], *labels[MAXC];
    int nd = lt_report_days(t, days, MAXC), ns = lt_report_distinct(t, "DeploymentName", deps, MAXS);
    double *v = calloc((size_t)(nd * ns + 1), sizeof *v);
    for (long i = 0; v && i < t->nrows; i++) {
        int d = lt_report_index(days, nd, lt_rtab_get(t, i, "Day")), s = lt_report_index(deps, ns, lt_rtab_get(t, i, "DeploymentName"));
        if (d >= 0 && s >= 0) v[d * ns + s] += lt_rtab_num(t, i, "TotalTokens");
    }
    for (int d = 0; d < nd; d++) labels[d] = days[d] ? strndup(days[d], 10) : NULL;
    fputs("<h2>Tokens per day and deployment</h2>\n", out);
    if (v) lt_report_svg_stacked(out, "daily-tokens", nd, labels, ns, deps, v, "total tokens");
    for (int d = 0; d < nd; d++) { free(labels[d]); free(days[d]); }
    free(v);
    lt_report_table(out, t, "daily-tokens");
    lt_rtab_free(t);
}

static void lt_report_top(lt_report *r, FILE *out, const char *col, const char *id, const char *title)
{
    lt_rtab *t = lt_report_run(r,
        "ApiManagementGatewayLlmLog | where TimeGenerated between (Since .. now()) | where coalesce(SequenceNumber, 0) == 0\n"
        "| summarize Requests = count(), PromptTokens = sum(tolong(PromptTokens)), CompletionTokens = sum(tolong(CompletionTokens)),\n"
        "  CachedTokens = sum(tolong(CachedTokens)), ReasoningTokens = sum(tolong(ReasoningTokens)),\n"
        "  TotalTokens = sum(tolong(TotalTokens)) by %s\n| top 15 by TotalTokens desc", col);
    if (!t) return;
    char *labels[16];
    double v[16];
    int n = 0;
    for (long i = 0; i < t->nrows && n < 15; i++, n++) {
        labels[n] = (char *)lt_rtab_get(t, i, col);
        v[n] = lt_rtab_num(t, i, "TotalTokens");
    }
    fprintf(out, "<div><h2>%s</h2>\n", title);
    lt_report_svg_hbars(out, id, n, labels, v, "total tokens");
    lt_report_table(out, t, id);
    fputs("</div>\n", out);
    lt_rtab_free(t);
}

static void lt_report_histogram(lt_report *r, FILE *out, const char *col, const char *id, const char *title)
{
    lt_rtab *m = lt_report_run(r, "ApiManagementGatewayLlmLog | where TimeGenerated between (Since .. now()) | where coalesce(SequenceNumber, 0) == 0\n"
                                  "| where isnotnull(%s) | summarize Max = max(%s)", col, col);
    if (!m) return;
    double max = lt_rtab_num(m, 0, "Max");
    lt_rtab_free(m);
    long long bin = (long long)ceil((max + 1) / 20.0);
    if (bin < 1) bin = 1;
    lt_rtab *t = lt_report_run(r, "ApiManagementGatewayLlmLog | where TimeGenerated between (Since .. now()) | where coalesce(SequenceNumber, 0) == 0\n"
                                  "| where isnotnull(%s) | summarize Calls = count() by Ms = bin(%s, %lld) | order by Ms asc", col, col, bin);
    if (!t) return;
    int nb = (int)(max / (double)bin) + 1;
    if (!t->nrows) nb = 0;
    char **labels = calloc((size_t)nb + 1, sizeof *labels);
    double *v = calloc((size_t)nb + 1, sizeof *v);
    char *series[] = {"calls"};
    for (int i = 0; labels && i < nb; i++) { if (asprintf(&labels[i], "%lld", (long long)i * bin) < 0) labels[i] = NULL; }
    for (long i = 0; v && i < t->nrows; i++) {
        long long b = (long long)lt_rtab_num(t, i, "Ms") / bin;
        if (b >= 0 && b < nb) v[b] += lt_rtab_num(t, i, "Calls");
    }
    fprintf(out, "<div><h2>%s</h2><div class=\"sub\">calls per %lld ms bin</div>\n", title, bin);
    if (labels && v) lt_report_svg_stacked(out, id, nb, labels, 1, series, v, "calls");
    fputs("</div>\n", out);
    for (int i = 0; labels && i < nb; i++) free(labels[i]);
    free(labels);
    free(v);
    lt_rtab_free(t);
}

static void lt_report_latency(lt_report *r, FILE *out)
{
    fputs("<div class=\"grid\">\n", out);
    lt_report_histogram(r, out, "DurationMs", "latency", "Latency (DurationMs)");
    lt_report_histogram(r, out, "TimeToFirstTokenMs", "ttft", "Time to first token (ms)");
    fputs("</div>\n", out);
    lt_rtab *t = lt_report_run(r,
        "ApiManagementGatewayLlmLog | where TimeGenerated between (Since .. now()) | where coalesce(SequenceNumber, 0) == 0 and ResponseCode == 200\n"
        "| summarize Calls = count(), P50Ms = percentile(DurationMs, 50), P95Ms = percentile(DurationMs, 95),\n"
        "  P99Ms = percentile(DurationMs, 99), P50TtftMs = percentile(TimeToFirstTokenMs, 50),\n"
        "  P95TtftMs = percentile(TimeToFirstTokenMs, 95), P99TtftMs = percentile(TimeToFirstTokenMs, 99) by DeploymentName\n"
        "| order by Calls desc");
    if (t) lt_report_table(out, t, "latency");
    lt_rtab_free(t);
}

/* A label/value bar chart of a (label, count) result. */
static void lt_report_counts(FILE *out, const lt_rtab *t, const char *lcol, const char *vcol, const char *id, const char *unit)
{
    char *labels[32];
    double v[32];
    int n = 0;
    for (long i = 0; i < t->nrows && n < 32; i++, n++) {
        labels[n] = (char *)lt_rtab_get(t, i, lcol);
        v[n] = lt_rtab_num(t, i, vcol);
    }
    lt_report_svg_hbars(out, id, n, labels, v, unit);
}

static void lt_report_audit(lt_report *r, FILE *out)
{
    lt_rtab *s = lt_report_run(r,
        "ApiManagementGatewayLogs | where TimeGenerated between (Since .. now()) | where ResponseCode in (403, 429)\n"
        "| summarize Calls = count() by Reason = strcat(tostring(ResponseCode), \" \", coalesce(LastErrorReason, \"(no reason)\"))\n"
        "| order by Calls desc");
    lt_rtab *t = lt_report_run(r,
        "ApiManagementGatewayLogs | where TimeGenerated between (Since .. now()) | where ResponseCode in (403, 429)\n"
        "| project TimeGenerated, CallerIpAddress, Url, ResponseCode, Reason = LastErrorReason, RetryAfter, KeyFingerprint, BackendId\n"
        "| order by TimeGenerated desc | take 500");
    fputs("<h2>Blocked (403) and throttled (429) calls</h2>\n", out);
    if (s) lt_report_counts(out, s, "Reason", "Calls", "audit", "calls");
    if (t) lt_report_table(out, t, "audit");
    lt_rtab_free(s);
    lt_rtab_free(t);
}

static void lt_report_incomplete(lt_report *r, FILE *out)
{
    lt_rtab *t = lt_report_run(r,
        "ApiManagementGatewayLlmLog | where TimeGenerated between (Since .. now()) | where Complete == false\n"
        "| summarize Records = count() by Reason = strcat(\"LLM: \", coalesce(IncompleteReason, \"(none)\"))");
    lt_rtab *g = lt_report_run(r,
        "ApiManagementGatewayLogs | where TimeGenerated between (Since .. now()) | where Complete == false\n"
        "| summarize Records = count() by Reason = strcat(\"Gateway: \", coalesce(IncompleteReason, \"(none)\"))");
    fputs("<h2>Incomplete records</h2><div class=\"sub\">calls whose capture lost bytes or was cut: "
          "their record is kept with Complete = false and the reason</div>\n", out);
    if (t && g) {
        lt_rtab both = {t->ncols, 0, t->names, NULL};
        both.cells = calloc((size_t)((t->nrows + g->nrows) * t->ncols + 1), sizeof(char *));
        for (long i = 0; both.cells && i < t->nrows * t->ncols; i++) both.cells[i] = t->cells[i];
        for (long i = 0; both.cells && i < g->nrows * g->ncols; i++) both.cells[t->nrows * t->ncols + i] = g->cells[i];
        both.nrows = both.cells ? t->nrows + g->nrows : 0;
        lt_report_counts(out, &both, "Reason", "Records", "incomplete", "records");
        lt_report_table(out, &both, "incomplete");
        free(both.cells);
    }
    lt_rtab_free(t);
    lt_rtab_free(g);
}

int lt_report_write(lt_report *r, FILE *out, char *err, size_t errlen)
{
    r->err = err;
    r->errlen = errlen;
    r->failed = 0;
    lt_report_head(r, out);
    lt_report_totals(r, out);
    lt_report_daily(r, out);
    fputs("<div class=\"grid\">\n", out);
    lt_report_top(r, out, "CallerIpAddress", "callers", "Top callers (IP)");
    lt_report_top(r, out, "KeyFingerprint", "keys", "Top keys (fingerprint)");
    fputs("</div>\n", out);
    lt_report_latency(r, out);
    lt_report_audit(r, out);
    lt_report_incomplete(r, out);
    fputs("<p class=\"sub\">Generated by llmtap. The same views in Azure: packaging/azure/workbook.json.</p>\n</body></html>\n", out);
    return r->failed || ferror(out) ? -1 : 0;
}
