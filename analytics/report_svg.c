/* report_svg.c -- inline SVG charts for `llmtap report` (see report_svg.h).
 *
 * Plain SVG 1.1 elements only (rect, line, text, g), sized by viewBox so
 * the page scales them; colours from one fixed palette so a deployment has
 * the same colour in every chart of a report. An empty data set still
 * draws a chart: axes and the words "no data in this period", never a
 * missing picture. */
#include <math.h>
#include <string.h>
#include "report_svg.h"

static const char *const lt_svg_palette[] = {"#0f6cbd", "#e3008c", "#8764b8", "#00a3a3", "#ca5010",
                                             "#498205", "#986f0b", "#4f6bed", "#c239b3", "#038387"};
#define LT_SVG_NPAL (sizeof lt_svg_palette / sizeof lt_svg_palette[0])

void lt_report_svg_esc(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* A round axis maximum >= v (1, 2, 2.5, 5 x 10^n). */
static double lt_svg_nice(double v)
{
    if (v <= 0) return 1;
    double p = pow(10, floor(log10(v))), steps[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
}

static void lt_svg_empty(FILE *out, const char *id)
{
    fprintf(out, "<svg class=\"chart\" data-chart=\"%s\" data-empty=\"1\" viewBox=\"0 0 640 80\" role=\"img\">"
                 "<rect x=\"0\" y=\"0\" width=\"640\" height=\"80\" fill=\"#f5f5f5\"/>"
                 "<text x=\"320\" y=\"45\" text-anchor=\"middle\" fill=\"#666\">no data in this period</text></svg>\n", id);
}

static void lt_svg_yaxis(FILE *out, double max, int x0, int y0, int h, int w, const char *unit)
{
    for (int i = 0; i <= 4; i++) {
        int y = y0 + h - h * i / 4;
        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>", x0, y, x0 + w, y);
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\" fill=\"#555\">%.10g</text>", x0 - 4,
                y + 4, max * i / 4);
    }
    fprintf(out, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#555\">", y0 - 6);
    lt_report_svg_esc(out, unit);
    fputs("</text>", out);
}

static void lt_svg_legend(FILE *out, int nser, char *const *series, int y)
{
    for (int s = 0; s < nser; s++) {
        int x = 60 + (s % 4) * 150, yy = y + (s / 4) * 16;
        fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" "
                     "font-size=\"11\">", x, yy, lt_svg_palette[s % LT_SVG_NPAL], x + 14, yy + 9);
        lt_report_svg_esc(out, series[s][0] ? series[s] : "(none)");
        fputs("</text>", out);
    }
}

static void lt_svg_column(FILE *out, int c, int nser, char *const *series, const double *values, double max,
                          int x, int bw, int y0, int h)
{
    double acc = 0;
    for (int s = 0; s < nser; s++) {
        double v = values[c * nser + s];
        if (v <= 0) continue;
        int top = y0 + h - (int)lround(h * (acc + v) / max), bot = y0 + h - (int)lround(h * acc / max);
        fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" data-series=\"", x, top, bw,
                bot - top > 0 ? bot - top : 1, lt_svg_palette[s % LT_SVG_NPAL]);
        lt_report_svg_esc(out, series[s]);
        fprintf(out, "\" data-value=\"%.17g\"><title>", v);
        lt_report_svg_esc(out, series[s]);
        fprintf(out, ": %.10g</title></rect>", v);
        acc += v;
    }
}

void lt_report_svg_stacked(FILE *out, const char *id, int ncat, char *const *cats, int nser, char *const *series,
                           const double *values, const char *unit)
{
    double max = 0;
    for (int c = 0; c < ncat; c++) {
        double t = 0;
        for (int s = 0; s < nser; s++) t += values[c * nser + s] > 0 ? values[c * nser + s] : 0;
        if (t > max) max = t;
    }
    if (!ncat || max <= 0) { lt_svg_empty(out, id); return; }
    max = lt_svg_nice(max);
    const int x0 = 60, y0 = 20, w = 560, h = 200, leg = nser > 1 ? 20 + 16 * ((nser + 3) / 4) : 0;
    fprintf(out, "<svg class=\"chart\" data-chart=\"%s\" viewBox=\"0 0 640 %d\" role=\"img\">", id, 260 + leg);
    lt_svg_yaxis(out, max, x0, y0, h, w, unit);
    int slot = w / ncat, bw = slot * 7 / 10 > 1 ? slot * 7 / 10 : 1;
    int every = ncat > 16 ? (ncat + 15) / 16 : 1;
    for (int c = 0; c < ncat; c++) {
        int x = x0 + c * slot + (slot - bw) / 2;
        lt_svg_column(out, c, nser, series, values, max, x, bw, y0, h);
        if (c % every) continue;
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333\">", x + bw / 2, y0 + h + 14);
        lt_report_svg_esc(out, cats[c]);
        fputs("</text>", out);
    }
    if (nser > 1) lt_svg_legend(out, nser, series, y0 + h + 30);
    fputs("</svg>\n", out);
}

void lt_report_svg_hbars(FILE *out, const char *id, int n, char *const *labels, const double *values, const char *unit)
{
    double max = 0;
    for (int i = 0; i < n; i++) if (values[i] > max) max = values[i];
    if (!n || max <= 0) { lt_svg_empty(out, id); return; }
    max = lt_svg_nice(max);
    const int x0 = 170, w = 400, row = 22;
    fprintf(out, "<svg class=\"chart\" data-chart=\"%s\" viewBox=\"0 0 640 %d\" role=\"img\">", id, 30 + n * row);
    fprintf(out, "<text x=\"%d\" y=\"14\" font-size=\"11\" fill=\"#555\">", x0);
    lt_report_svg_esc(out, unit);
    fputs("</text>", out);
    for (int i = 0; i < n; i++) {
        int y = 22 + i * row, bw = (int)lround(w * (values[i] > 0 ? values[i] : 0) / max);
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">", x0 - 6, y + 13);
        lt_report_svg_esc(out, labels[i][0] ? labels[i] : "(none)");
        fprintf(out, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\" data-value=\"%.17g\"/>"
                     "<text x=\"%d\" y=\"%d\" font-size=\"11\">%.10g</text>",
                x0, y, bw > 0 ? bw : 1, lt_svg_palette[0], values[i], x0 + bw + 4, y + 13, values[i]);
    }
    fputs("</svg>\n", out);
}
