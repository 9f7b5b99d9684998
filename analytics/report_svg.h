/* report_svg.h -- the charts of `llmtap report`, drawn by llmtap itself as
 * inline SVG (no script, no library, nothing fetched when the page opens).
 * Every bar carries its number in data-value so a test can add them up. */
#ifndef LT_REPORT_SVG_H
#define LT_REPORT_SVG_H

#include <stdio.h>

/* Vertical bars, one per category, stacked by series: values[cat * nser + ser]. */
void lt_report_svg_stacked(FILE *out, const char *id, int ncat, char *const *cats, int nser, char *const *series,
                           const double *values, const char *unit);
/* Horizontal bars with their labels, largest first as given. */
void lt_report_svg_hbars(FILE *out, const char *id, int n, char *const *labels, const double *values, const char *unit);
/* Writes s with HTML/XML special characters escaped. */
void lt_report_svg_esc(FILE *out, const char *s);

#endif
