/* log.c -- leveled, timestamped logging to stderr (journald adds its own
 * metadata when run under systemd). Each format string is rate limited to
 * 20 lines, then one line per 1000 occurrences, so damaged input that
 * repeats the same problem cannot flood the log; the counters keep the
 * exact totals. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "log.h"

int lt_log_level = LT_LOG_WARN;

#define LT_LOG_SLOTS 256
static struct { const char *fmt; unsigned long n; } lt_log_seen[LT_LOG_SLOTS];

static int lt_log_should_print(const char *fmt)
{
    size_t h = ((size_t)fmt >> 4) % LT_LOG_SLOTS;
    if (lt_log_seen[h].fmt != fmt) { lt_log_seen[h].fmt = fmt; lt_log_seen[h].n = 0; }
    unsigned long n = ++lt_log_seen[h].n;
    return n <= 20 || n % 1000 == 0;
}

void lt_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level > lt_log_level || !lt_log_should_print(fmt)) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmtap: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
    vfprintf(stderr, fmt, ap);
    size_t n = strlen(fmt);
    if (n == 0 || fmt[n - 1] != '\n') fputc('\n', stderr);
    va_end(ap);
}
