/* util.c -- formatting helpers shared by every module: timestamps and
 * addresses as text. */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>
#include "lt.h"

const char *lt_time_iso(lt_time_us t, char *out, size_t outlen)
{
    time_t sec = (time_t)(t / 1000000);
    long usec = (long)(t % 1000000);
    if (usec < 0) { usec += 1000000; sec -= 1; }
    struct tm tm;
    if (gmtime_r(&sec, &tm) && outlen >= 28 && tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900) {
        /* what the snprintf below gives, without snprintf (two per record) */
        int f[6] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
        char *o = out;
        for (int d = 1000; d; d /= 10) *o++ = (char)('0' + f[0] / d % 10);
        for (int i = 1; i < 6; i++) {
            *o++ = "?--T::"[i];
            *o++ = (char)('0' + f[i] / 10 % 10);
            *o++ = (char)('0' + f[i] % 10);
        }
        *o++ = '.';
        for (long d = 100000; d; d /= 10) *o++ = (char)('0' + usec / d % 10);
        *o++ = 'Z';
        *o = 0;
        return out;
    }
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
    return out;
}

const char *lt_endpoint_addr_str(const lt_endpoint *e, char *out, size_t outlen)
{
    if (!inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->addr, out, (socklen_t)outlen))
        snprintf(out, outlen, "?");
    return out;
}
