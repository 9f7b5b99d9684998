/* log.h -- leveled logging to stderr.
 *
 * Every skipped or damaged input is both counted (counters.h) and logged
 * here. Messages are rate limited per call site so a damaged capture cannot
 * flood the journal. Secrets must never be passed to these functions; log a
 * fingerprint instead (lt_fingerprint(), records/record.h). */
#ifndef LT_LOG_H
#define LT_LOG_H

enum lt_log_level { LT_LOG_ERROR = 0, LT_LOG_WARN, LT_LOG_INFO, LT_LOG_DEBUG };

extern int lt_log_level;   /* messages above this level are dropped; default WARN */

void lt_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lt_error(...) lt_log(LT_LOG_ERROR, __VA_ARGS__)
#define lt_warn(...) lt_log(LT_LOG_WARN, __VA_ARGS__)
#define lt_info(...) lt_log(LT_LOG_INFO, __VA_ARGS__)
#define lt_debug(...) lt_log(LT_LOG_DEBUG, __VA_ARGS__)

#endif
