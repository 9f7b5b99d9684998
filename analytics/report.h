/* report.h -- `llmtap report`: one self-contained HTML file (inline CSS and
 * SVG, no script, nothing fetched when opened) with the views of the Azure
 * Workbook over the local spool: token totals, a daily stacked chart by
 * deployment, top callers and keys, latency and time-to-first-token
 * distributions, the 403/429 audit and incomplete records.
 *
 * Every number on the page is the result of a KQL query (analytics/kql.h)
 * run on the spool, the same queries the Workbook runs in Log Analytics;
 * the page holds no logic of its own. */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include <stdio.h>
#include <sqlite3.h>
#include "../common/lt.h"

typedef struct lt_report lt_report;

/* A report of the calls in [now - since_us, now] of the spool db (not owned). */
lt_report *lt_report_create(sqlite3 *db, const char *source, lt_time_us now, lt_time_us since_us);
/* Writes the HTML. 0 ok; -1 with a message in err. */
int lt_report_write(lt_report *r, FILE *out, char *err, size_t errlen);
void lt_report_destroy(lt_report *r);

#endif
