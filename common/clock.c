/* clock.c -- wall clock with a test offset, monotonic clock (see clock.h). */
#include <stdlib.h>
#include <time.h>
#include "clock.h"

static int64_t lt_clock_offset = 0;
static int lt_clock_offset_read = 0;

int64_t lt_clock_offset_s(void)
{
    if (!__atomic_load_n(&lt_clock_offset_read, __ATOMIC_ACQUIRE)) {
        const char *v = getenv("LLMTAP_CLOCK_OFFSET");
        int64_t off = v && *v ? strtoll(v, NULL, 10) : 0;
        __atomic_store_n(&lt_clock_offset, off, __ATOMIC_RELAXED);
        __atomic_store_n(&lt_clock_offset_read, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&lt_clock_offset, __ATOMIC_RELAXED);
}

lt_time_us lt_clock_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + lt_clock_offset_s()) * 1000000 + ts.tv_nsec / 1000;
}

int64_t lt_clock_now_s(void)
{
    return lt_clock_now_us() / 1000000;
}

int64_t lt_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
