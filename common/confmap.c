/* confmap.c -- the configuration table engine (see confmap.h).
 *
 * Every value goes through text: a default is parsed exactly like a line of
 * llmtap.conf, and a dump formats the field back into text that parses to
 * the same value (sizes and durations in their largest exact unit), so
 * dump -> load -> dump is stable. Numbers are read with strtoull/strtoll
 * (errno checked) and bounded before a unit multiplies them, so
 * "9999999999999G" is an error rather than a signed overflow. A value is
 * stored only once it is fully valid: a bad line leaves the field as it was. */
#include "confmap.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void *lt_field(const lt_confmap_entry *e, void *base) { return (char *)base + e->off; }
static const void *lt_cfield(const lt_confmap_entry *e, const void *base) { return (const char *)base + e->off; }

static void lt_put_num(void *p, size_t size, long long v)
{
    if (size == 8) { int64_t x = v; memcpy(p, &x, 8); }
    else if (size == 4) { int32_t x = (int32_t)v; memcpy(p, &x, 4); }
    else if (size == 2) { int16_t x = (int16_t)v; memcpy(p, &x, 2); }
    else if (size == 1) { int8_t x = (int8_t)v; memcpy(p, &x, 1); }
}

static long long lt_get_num(const void *p, size_t size, int is_unsigned)
{
    if (size == 8) { int64_t x; memcpy(&x, p, 8); return x; }
    if (size == 4) { int32_t x; memcpy(&x, p, 4); return is_unsigned ? (long long)(uint32_t)x : x; }
    if (size == 2) { int16_t x; memcpy(&x, p, 2); return is_unsigned ? (long long)(uint16_t)x : x; }
    if (size == 1) { int8_t x; memcpy(&x, p, 1); return is_unsigned ? (long long)(uint8_t)x : x; }
    return 0;
}

/* Largest value a numeric field of this size can hold. */
static long long lt_size_max(size_t size)
{
    return size >= 8 ? LLONG_MAX : size == 4 ? INT32_MAX : size == 2 ? INT16_MAX : INT8_MAX;
}

/* Leading decimal digits (no sign, no blanks) into *n; *end after them. 0, -1 invalid, -2 overflow. */
static int lt_parse_digits(const char *v, long long *n, const char **end)
{
    if (!isdigit((unsigned char)v[0])) return -1;
    char *e;
    errno = 0;
    unsigned long long u = strtoull(v, &e, 10);
    if (errno == ERANGE || u > (unsigned long long)LLONG_MAX) return -2;
    *n = (long long)u;
    *end = e;
    return 0;
}

/* n * mul, or -2 when it would not fit in a long long. */
static int lt_scale(long long n, long long mul, long long *out)
{
    if (n > LLONG_MAX / mul) return -2;
    *out = n * mul;
    return 0;
}

int lt_confmap_parse_size(const char *v, unsigned long long *out)
{
    long long n, r;
    const char *e;
    int rc = lt_parse_digits(v, &n, &e);
    if (rc) return rc;
    long long mul = 1;
    switch (*e) {
    case 'k': case 'K': mul = 1ll << 10; e++; break;
    case 'm': case 'M': mul = 1ll << 20; e++; break;
    case 'g': case 'G': mul = 1ll << 30; e++; break;
    default: break;
    }
    if (*e == 'b' || *e == 'B') e++;
    if (*e) return -1;
    if (lt_scale(n, mul, &r)) return -2;
    *out = (unsigned long long)r;
    return 0;
}

int lt_confmap_parse_duration_ms(const char *v, int allow_ms, long long *out_ms)
{
    long long n;
    const char *e;
    int rc = lt_parse_digits(v, &n, &e);
    if (rc) return rc;
    long long mul;
    if (allow_ms && !strcmp(e, "ms")) mul = 1;
    else if (!*e || !strcmp(e, "s")) mul = 1000;
    else if (!strcmp(e, "m")) mul = 60000;
    else if (!strcmp(e, "h")) mul = 3600000;
    else if (!strcmp(e, "d")) mul = 86400000;
    else return -1;
    return lt_scale(n, mul, out_ms);
}

static int lt_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lt_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int lt_set_str(const lt_confmap_entry *e, void *base, const char *v)
{
    char **slot = lt_field(e, base);
    char *copy = NULL;
    if (*v && !(copy = strdup(v))) return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static int lt_set_url(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    int http_ok = e->flags & LT_CONFMAP_HTTP_OK;
    size_t skip = !strncmp(v, "https://", 8) ? 8 : http_ok && !strncmp(v, "http://", 7) ? 7 : 0;
    if (*v && (!skip || !v[skip]))
        return lt_fail(err, errlen, "%s: must start with https://%s (got '%s')", e->key, http_ok ? " or http://" : "", v);
    return lt_set_str(e, base, v);
}

static int lt_set_bool(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
            lt_put_num(lt_field(e, base), e->size, !strcasecmp(v, yes[i]));
            return 0;
        }
    }
    return lt_fail(err, errlen, "%s: expected true or false (yes/no, on/off, 1/0), got '%s'", e->key, v);
}

static int lt_range(const lt_confmap_entry *e, void *base, long long n, const char *v, char *err, size_t errlen)
{
    long long lo_v = e->lo, hi_v = e->hi;
    if (lo_v == 0 && hi_v == 0) hi_v = lt_size_max(e->size);   /* no range given: what the field holds */
    if (n < lo_v || n > hi_v || n > lt_size_max(e->size)) {
        char *lo = NULL, *hi = NULL;
        lt_confmap_entry t = *e;
        long long tmp;
        t.off = 0;
        t.size = sizeof tmp;
        tmp = lo_v, lo = lt_confmap_format(&t, &tmp);
        tmp = hi_v, hi = lt_confmap_format(&t, &tmp);
        lt_fail(err, errlen, "%s: '%s' out of range (%s..%s)", e->key, v, lo ? lo : "?", hi ? hi : "?");
        free(lo);
        free(hi);
        return -1;
    }
    lt_put_num(lt_field(e, base), e->size, n);
    return 0;
}

static int lt_set_int(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || isspace((unsigned char)*v) || errno == ERANGE)
        return lt_fail(err, errlen, "%s: invalid number '%s'", e->key, v);
    return lt_range(e, base, n, v, err, errlen);
}

static int lt_set_size(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    unsigned long long n;
    int rc = lt_confmap_parse_size(v, &n);
    if (rc == -2) return lt_fail(err, errlen, "%s: size '%s' is too large", e->key, v);
    if (rc) return lt_fail(err, errlen, "%s: invalid size '%s' (a number with optional K, M or G)", e->key, v);
    return lt_range(e, base, (long long)n, v, err, errlen);
}

static int lt_set_duration(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    int ms = e->flags & LT_CONFMAP_MS;
    long long n;
    int rc = lt_confmap_parse_duration_ms(v, ms, &n);
    if (rc == -2) return lt_fail(err, errlen, "%s: duration '%s' is too long", e->key, v);
    if (rc)
        return lt_fail(err, errlen, "%s: invalid duration '%s' (a number with %ss, m, h or d)", e->key, v,
                       ms ? "ms, " : "");
    if (!ms && n % 1000) return lt_fail(err, errlen, "%s: invalid duration '%s' (whole seconds)", e->key, v);
    return lt_range(e, base, ms ? n : n / 1000, v, err, errlen);
}

static int lt_set_enum(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    for (int i = 0; e->values[i]; i++) {
        if (!strcmp(v, e->values[i])) {
            lt_put_num(lt_field(e, base), e->size, i);
            return 0;
        }
    }
    char list[256] = "";
    size_t n = 0;
    for (int i = 0; e->values[i] && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i == 0 ? "" : e->values[i + 1] ? ", " : " or ",
                              e->values[i]);
    return lt_fail(err, errlen, "%s: expected %s, got '%s'", e->key, list, v);
}

static int lt_set_ports(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    uint16_t tmp[512];
    size_t cap = e->size / sizeof(uint16_t), n = 0;
    if (cap > 512) cap = 512;
    const char *p = v;
    while (*p) {
        size_t len = strcspn(p, ", ");
        if (len) {
            char tok[16];
            snprintf(tok, sizeof tok, "%.*s", (int)(len < 15 ? len : 15), p);
            char *end = tok;
            long port = len < 15 ? strtol(tok, &end, 10) : -1;
            if (port < 1 || port > 65535 || *end || !isdigit((unsigned char)tok[0]))
                return lt_fail(err, errlen, "%s: invalid port '%.*s' (1..65535)", e->key, (int)len, p);
            if (n + 1 >= cap) return lt_fail(err, errlen, "%s: at most %zu ports", e->key, cap - 1);
            tmp[n++] = (uint16_t)port;
        }
        p += len;
        p += strspn(p, ", ");
    }
    tmp[n] = 0;
    memcpy(lt_field(e, base), tmp, (n + 1) * sizeof *tmp);
    return 0;
}

static void lt_free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* Splits "a, b ,c" into trimmed items; an empty item is an error. */
static int lt_split_list(const char *v, char ***out, size_t *nout)
{
    char **l = NULL;
    size_t n = 0, len;
    for (const char *p = v; *v; p += len + 1) {   /* an empty value is an empty list */
        len = strcspn(p, ",");
        const char *s = p, *t = p + len;
        while (s < t && isspace((unsigned char)*s)) s++;
        while (t > s && isspace((unsigned char)t[-1])) t--;
        char **nl = t > s ? realloc(l, (n + 1) * sizeof *l) : NULL;
        if (!nl || !(nl[n] = strndup(s, (size_t)(t - s)))) { lt_free_list(nl ? nl : l, n); return -1; }
        l = nl;
        n++;
        if (!p[len]) break;
    }
    *out = l;
    *nout = n;
    return 0;
}

/* LT_CONFMAP_NAMES: the first item that is not a name, or NULL. */
static const char *lt_bad_name(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(l[i]);
        if (len > 64 || strspn(l[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
            return l[i];
    }
    return NULL;
}

static int lt_set_list(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    char **l;
    size_t n;
    if (lt_split_list(v, &l, &n) < 0) return lt_fail(err, errlen, "%s: empty item in list '%s'", e->key, v);
    const char *bad = (e->flags & LT_CONFMAP_NAMES) ? lt_bad_name(l, n) : NULL;
    if (bad) {
        lt_fail(err, errlen, "%s: invalid name '%.64s' (1..64 letters, digits, '-', '_' or '.')", e->key, bad);
        lt_free_list(l, n);
        return -1;
    }
    char ***slot = lt_field(e, base);
    size_t *count = (size_t *)((char *)base + e->aux_off);
    lt_free_list(*slot, *count);
    *slot = l;
    *count = n;
    return 0;
}

int lt_confmap_set_entry(const lt_confmap_entry *e, void *base, const char *v, char *err, size_t errlen)
{
    switch (e->type) {
    case LT_CONFMAP_STR:
        return lt_set_str(e, base, v) ? lt_fail(err, errlen, "%s: out of memory", e->key) : 0;
    case LT_CONFMAP_URL: return lt_set_url(e, base, v, err, errlen);
    case LT_CONFMAP_BOOL: return lt_set_bool(e, base, v, err, errlen);
    case LT_CONFMAP_INT: return lt_set_int(e, base, v, err, errlen);
    case LT_CONFMAP_SIZE: return lt_set_size(e, base, v, err, errlen);
    case LT_CONFMAP_DURATION: return lt_set_duration(e, base, v, err, errlen);
    case LT_CONFMAP_ENUM: return lt_set_enum(e, base, v, err, errlen);
    case LT_CONFMAP_PORTS: return lt_set_ports(e, base, v, err, errlen);
    case LT_CONFMAP_STRLIST: return lt_set_list(e, base, v, err, errlen);
    }
    return lt_fail(err, errlen, "%s: unsupported type", e->key);
}

const lt_confmap_entry *lt_confmap_find(const lt_confmap_entry *map, const char *key)
{
    for (; map->key; map++)
        if (!strcmp(map->key, key)) return map;
    return NULL;
}

int lt_confmap_set(const lt_confmap_entry *map, void *base, const char *section, const char *key,
                   const char *value, char *err, size_t errlen)
{
    const lt_confmap_entry *e = lt_confmap_find(map, key);
    if (!e) return lt_fail(err, errlen, "unknown key '%s' in [%s]", key, section);
    return lt_confmap_set_entry(e, base, value, err, errlen);
}

int lt_confmap_defaults(const lt_confmap_entry *map, void *base, char *err, size_t errlen)
{
    int rc = 0;
    for (; map->key; map++)
        if (map->def && lt_confmap_set_entry(map, base, map->def, err, errlen) < 0) rc = -1;
    return rc;
}

/* n in the largest unit of units[] that divides it exactly. */
static char *lt_format_units(long long n, const long long *mul, const char *const *name, int count)
{
    char *s = NULL;
    for (int i = 0; i < count; i++) {
        if (n == 0 ? i == count - 1 : n % mul[i] == 0) {
            if (asprintf(&s, "%lld%s", n / mul[i], name[i]) < 0) s = NULL;
            return s;
        }
    }
    return NULL;
}

static char *lt_format_size(long long n)
{
    static const long long mul[] = {1ll << 30, 1ll << 20, 1ll << 10, 1};
    static const char *const name[] = {"G", "M", "K", ""};
    return lt_format_units(n, mul, name, 4);
}

/* n seconds, or n milliseconds when ms (no multiplication: cannot overflow). */
static char *lt_format_duration(long long n, int ms)
{
    static const long long mul_ms[] = {86400000, 3600000, 60000, 1000, 1}, mul_s[] = {86400, 3600, 60, 1};
    static const char *const name[] = {"d", "h", "m", "s", "ms"};
    if (!ms) return lt_format_units(n, mul_s, name, 4);
    return lt_format_units(n, mul_ms, name, n % 1000 ? 5 : 4);
}

static char *lt_format_ports(const uint16_t *p, size_t cap)
{
    char buf[32 * 8] = "";
    size_t n = 0;
    for (size_t i = 0; i < cap && p[i] && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%u", i ? ", " : "", p[i]);
    return strdup(buf);
}

static char *lt_format_list(char *const *l, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(l[i]) + 2;
    char *s = malloc(len), *w = s;
    if (!s) return NULL;
    *w = 0;
    for (size_t i = 0; i < n; i++) w += sprintf(w, "%s%s", i ? ", " : "", l[i]);
    return s;
}

char *lt_confmap_format(const lt_confmap_entry *e, const void *base)
{
    const void *p = lt_cfield(e, base);
    char *s = NULL;
    switch (e->type) {
    case LT_CONFMAP_STR:
    case LT_CONFMAP_URL: return strdup(*(char *const *)p ? *(char *const *)p : "");
    case LT_CONFMAP_BOOL: return strdup(lt_get_num(p, e->size, 0) ? "true" : "false");
    case LT_CONFMAP_INT: return asprintf(&s, "%lld", lt_get_num(p, e->size, 0)) < 0 ? NULL : s;
    case LT_CONFMAP_SIZE: return lt_format_size(lt_get_num(p, e->size, 1));
    case LT_CONFMAP_DURATION: {
        long long n = lt_get_num(p, e->size, 0);
        return lt_format_duration(n, e->flags & LT_CONFMAP_MS);
    }
    case LT_CONFMAP_ENUM: {
        long long i = lt_get_num(p, e->size, 0), n = 0;
        while (e->values[n]) n++;
        return strdup(i >= 0 && i < n ? e->values[i] : "?");
    }
    case LT_CONFMAP_PORTS: return lt_format_ports(p, e->size / sizeof(uint16_t));
    case LT_CONFMAP_STRLIST:
        return lt_format_list(*(char **const *)p, *(const size_t *)((const char *)base + e->aux_off));
    }
    return NULL;
}

/* "key = value" (prefix ";" in the template); no trailing blank when empty. */
static void lt_dump_line(const lt_confmap_entry *e, const void *base, const char *prefix, FILE *out)
{
    char *v = lt_confmap_format(e, base);
    if (v && *v && (e->flags & LT_CONFMAP_SECRET)) { free(v); v = strdup("***"); }
    fprintf(out, "%s%s =%s%s\n", prefix, e->key, v && *v ? " " : "", v ? v : "");
    free(v);
}

void lt_confmap_dump(const lt_confmap_entry *map, const void *base, const char *section, FILE *out)
{
    fprintf(out, "[%s]\n", section);
    for (; map->key; map++) lt_dump_line(map, base, "", out);
}

/* The description as "; " comment lines of at most 78 columns. */
static void lt_wrap_comment(const char *s, FILE *out)
{
    while (*s) {
        size_t len = strlen(s), cut = len;
        if (len > 76) {
            cut = 76;
            while (cut > 0 && s[cut] != ' ') cut--;
            if (cut == 0) cut = strcspn(s, " ");
        }
        fprintf(out, "; %.*s\n", (int)cut, s);
        s += cut;
        while (*s == ' ') s++;
    }
}

void lt_confmap_template(const lt_confmap_entry *map, const void *base, const char *section, FILE *out)
{
    fprintf(out, "[%s]\n", section);
    for (; map->key; map++) {
        lt_wrap_comment(map->desc, out);
        lt_dump_line(map, base, ";", out);
    }
}

static int lt_is_unset(const lt_confmap_entry *e, const void *base)
{
    const void *p = lt_cfield(e, base);
    if (e->type == LT_CONFMAP_STR || e->type == LT_CONFMAP_URL) return *(char *const *)p == NULL;
    if (e->type == LT_CONFMAP_STRLIST) return *(const size_t *)((const char *)base + e->aux_off) == 0;
    if (e->type == LT_CONFMAP_PORTS) return *(const uint16_t *)p == 0;
    return 0;
}

int lt_confmap_check(const lt_confmap_entry *map, const void *base, const char *section, char *err,
                     size_t errlen)
{
    const lt_confmap_entry *miss[16];
    int n = 0;
    for (; map->key; map++)
        if ((map->flags & LT_CONFMAP_REQUIRED) && lt_is_unset(map, base) && n < 16) miss[n++] = map;
    if (!n) return 0;
    size_t w = (size_t)snprintf(err, errlen, "[%s]", section);
    for (int i = 0; i < n && w < errlen; i++)
        w += (size_t)snprintf(err + w, errlen - w, "%s%s", i == 0 ? " " : i == n - 1 ? " and " : ", ", miss[i]->key);
    if (w < errlen) snprintf(err + w, errlen - w, " must be set in the configuration");
    return -1;
}

void lt_confmap_free(const lt_confmap_entry *map, void *base)
{
    for (; map->key; map++) {
        void *p = lt_field(map, base);
        if (map->type == LT_CONFMAP_STR || map->type == LT_CONFMAP_URL) {
            free(*(char **)p);
            *(char **)p = NULL;
        } else if (map->type == LT_CONFMAP_STRLIST) {
            size_t *count = (size_t *)((char *)base + map->aux_off);
            lt_free_list(*(char ***)p, *count);
            *(char ***)p = NULL;
            *count = 0;
        }
    }
}
