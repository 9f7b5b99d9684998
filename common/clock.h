/* clock.h -- the one place llmtap asks what time it is.
 *
 * Everything that needs "now" (spool eviction, upload back-off deadlines,
 * token expiry, the daemon's flush timers, the proxy's cooldowns) calls
 * lt_clock_now_us() / lt_clock_now_s(), never time() or CLOCK_REALTIME
 * directly, so the tests can move the whole program in time: when the
 * environment variable LLMTAP_CLOCK_OFFSET is set (seconds, may be
 * negative, read once), it is added to the real clock. The test suite runs
 * with it set a year ahead so no test can depend on how old its fixtures
 * are. Capture timestamps are not "now": they come from the packets.
 *
 * lt_clock_mono_us() is a monotonic clock for measuring intervals
 * (latency, timeouts); it is not shifted. */
#ifndef LT_CLOCK_H
#define LT_CLOCK_H

#include <stdint.h>
#include "lt.h"

/* Wall-clock time, microseconds since the Unix epoch, plus the test offset. */
lt_time_us lt_clock_now_us(void);
/* The same in whole seconds. */
int64_t lt_clock_now_s(void);
/* The offset in seconds applied to the wall clock (0 unless the tests set it). */
int64_t lt_clock_offset_s(void);
/* Monotonic microseconds for intervals; never shifted. */
int64_t lt_clock_mono_us(void);

#endif
