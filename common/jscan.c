/* jscan.c -- strict, allocation-free JSON scanner (see jscan.h).
 *
 * Strings are scanned 16 bytes at a time for the bytes that need a look
 * (quote, backslash, control, UTF-8 lead: common/jtext.h), then by a class
 * table; UTF-8 sequences and
 * escapes are checked by the rules jansson applies (utf.c, load.c), so that
 * whatever is accepted here decodes to the same bytes jansson would give. */
#include <stdlib.h>
#include <string.h>
#include "jtext.h"
#include "jscan.h"

#define LT_JSCAN_MAX_DEPTH 64
#define LT_JSCAN_MAX_DIGITS 18

enum { C_PLAIN = 0, C_QUOTE, C_ESC, C_CTRL, C_HIGH };

static const unsigned char lt_jscan_class[256] = {
    [0 ... 0x1F] = C_CTRL, ['"'] = C_QUOTE, ['\\'] = C_ESC, [0x80 ... 0xFF] = C_HIGH,
};

void lt_jscan_init(lt_jscan *j, const char *p, size_t n)
{
    j->p = p;
    j->end = p + n;
    j->depth = 0;
}

int lt_jscan_peek_ws(lt_jscan *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
    return j->p < j->end ? (unsigned char)*j->p : -1;
}

int lt_jscan_expect(lt_jscan *j, char c)
{
    if (lt_jscan_peek(j) != (unsigned char)c) return -1;
    j->p++;
    return 0;
}

int lt_jscan_at_end(lt_jscan *j)
{
    return lt_jscan_peek(j) < 0;
}

static int lt_hex4(const char *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* An escape at p (p[0] == '\\'): its length in the input, 0 if invalid.
 * *cp: the code point (for \u, surrogate pairs joined), or the byte. */
static size_t lt_escape(const char *p, const char *end, uint32_t *cp)
{
    if (end - p < 2) return 0;
    switch (p[1]) {
    case '"': *cp = '"'; return 2;
    case '\\': *cp = '\\'; return 2;
    case '/': *cp = '/'; return 2;
    case 'b': *cp = '\b'; return 2;
    case 'f': *cp = '\f'; return 2;
    case 'n': *cp = '\n'; return 2;
    case 'r': *cp = '\r'; return 2;
    case 't': *cp = '\t'; return 2;
    case 'u': break;
    default: return 0;
    }
    uint32_t v, lo;
    if (end - p < 6 || lt_hex4(p + 2, &v) < 0 || v == 0) return 0;
    if (v >= 0xDC00 && v <= 0xDFFF) return 0;
    if (v < 0xD800 || v > 0xDBFF) { *cp = v; return 6; }
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || lt_hex4(p + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) return 0;
    *cp = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
    return 12;
}

int lt_jscan_string(lt_jscan *j, lt_jstr *out)
{
    if (lt_jscan_expect(j, '"') < 0) return -1;
    const unsigned char *p = (const unsigned char *)j->p, *end = (const unsigned char *)j->end;
    out->s = j->p;
    out->escaped = 0;
    for (;;) {
        p = lt_jtext_plain_run_inline(p, end);
        if (p >= end) return -1;
        switch (lt_jscan_class[*p]) {
        case C_QUOTE:
            out->n = (size_t)(p - (const unsigned char *)out->s);
            j->p = (const char *)p + 1;
            return 0;
        case C_ESC: {
            uint32_t cp;
            size_t k = lt_escape((const char *)p, (const char *)end, &cp);
            if (!k) return -1;
            out->escaped = 1;
            p += k;
            break;
        }
        case C_HIGH: {
            size_t k = lt_jtext_utf8_len(p, end);
            if (!k) return -1;
            p += k;
            break;
        }
        default: return -1; /* control character */
        }
    }
}

int lt_jscan_null(lt_jscan *j)
{
    if (lt_jscan_peek(j) != 'n' || j->end - j->p < 4 || memcmp(j->p, "null", 4)) return 0;
    j->p += 4;
    return 1;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? with bounded digit counts. */
static int lt_jscan_number(lt_jscan *j, int *is_int)
{
    const char *p = j->p, *end = j->end;
    if (p < end && *p == '-') p++;
    const char *d = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    size_t nd = (size_t)(p - d);
    if (!nd || nd > LT_JSCAN_MAX_DIGITS || (nd > 1 && *d == '0')) return -1;
    *is_int = 1;
    if (p < end && *p == '.') {
        const char *f = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == f || (size_t)(p - f) > LT_JSCAN_MAX_DIGITS) return -1;
        *is_int = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const char *e = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == e || p - e > 2) return -1;
        *is_int = 0;
    }
    j->p = p;
    return 0;
}

int lt_jscan_int(lt_jscan *j, long *out)
{
    if (lt_jscan_peek(j) < 0) return -1;
    const char *start = j->p;
    int is_int;
    if (lt_jscan_number(j, &is_int) < 0 || !is_int) return -1;
    /* at most 18 digits: fits, and the sum is what strtol would give */
    const char *p = start + (*start == '-');
    long v = 0;
    while (p < j->p) v = v * 10 + (*p++ - '0');
    *out = *start == '-' ? -v : v;
    return 0;
}

static int lt_jscan_literal(lt_jscan *j, const char *lit, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n)) return -1;
    j->p += n;
    return 0;
}

static int lt_jscan_container(lt_jscan *j, int obj)
{
    if (++j->depth > LT_JSCAN_MAX_DEPTH) return -1;
    j->p++;
    int first = 1, r;
    lt_jstr key;
    while ((r = obj ? lt_jscan_member(j, &key, &first) : lt_jscan_element(j, &first)) == 1)
        if (lt_jscan_skip(j, NULL) < 0) return -1;
    j->depth--;
    return r;
}

int lt_jscan_skip(lt_jscan *j, lt_jstr *span)
{
    int c = lt_jscan_peek(j), is_int, r;
    const char *start = j->p;
    lt_jstr s;
    switch (c) {
    case '"': r = lt_jscan_string(j, &s); break;
    case '{': r = lt_jscan_container(j, 1); break;
    case '[': r = lt_jscan_container(j, 0); break;
    case 't': r = lt_jscan_literal(j, "true", 4); break;
    case 'f': r = lt_jscan_literal(j, "false", 5); break;
    case 'n': r = lt_jscan_literal(j, "null", 4); break;
    default: r = (c == '-' || (c >= '0' && c <= '9')) ? lt_jscan_number(j, &is_int) : -1; break;
    }
    if (r < 0) return -1;
    if (span) { span->s = start; span->n = (size_t)(j->p - start); span->escaped = 0; }
    return 0;
}

int lt_jscan_member(lt_jscan *j, lt_jstr *key, int *first)
{
    int c = lt_jscan_peek(j);
    if (c == '}') { j->p++; return 0; }
    if (!*first) {
        if (c != ',') return -1;
        j->p++;
    }
    *first = 0;
    if (lt_jscan_string(j, key) < 0 || lt_jscan_expect(j, ':') < 0) return -1;
    return 1;
}

int lt_jscan_element(lt_jscan *j, int *first)
{
    int c = lt_jscan_peek(j);
    if (c == ']') { j->p++; return 0; }
    if (!*first) {
        if (c != ',') return -1;
        j->p++;
        if (lt_jscan_peek(j) == ']') return -1;
    }
    *first = 0;
    return 1;
}

static size_t lt_utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

void lt_jstr_append(const lt_jstr *s, lt_buf *b)
{
    if (!s->escaped) { if (s->n) lt_buf_append(b, s->s, s->n); return; }
    const char *p = s->s, *end = s->s + s->n;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        if (!bs) { lt_buf_append(b, p, (size_t)(end - p)); return; }
        if (bs > p) lt_buf_append(b, p, (size_t)(bs - p));
        uint32_t cp = 0;
        size_t k = lt_escape(bs, end, &cp);
        if (!k) return; /* not reached: validated by lt_jscan_string */
        char o[4];
        lt_buf_append(b, o, lt_utf8_put(cp, o));
        p = bs + k;
    }
}

/* ---- building a jansson tree (lt_jscan_tree) ------------------------------ */

static json_t *lt_jtree_value(lt_jscan *j, lt_buf *tmp);

static json_t *lt_jtree_fail(json_t *v)
{
    json_decref(v);
    return NULL;
}

/* A decoded string: the input bytes when there is no escape, else tmp. */
static json_t *lt_jtree_string(const lt_jstr *s, lt_buf *tmp)
{
    if (!s->escaped) return json_stringn_nocheck(s->n ? s->s : "", s->n);
    lt_buf_reset(tmp);
    lt_jstr_append(s, tmp);
    return json_stringn_nocheck(tmp->len ? (const char *)tmp->data : "", tmp->len);
}

static json_t *lt_jtree_object(lt_jscan *j, lt_buf *tmp)
{
    json_t *o = json_object();
    lt_jstr k;
    int first = 1, r;
    if (!o) return NULL;
    while ((r = lt_jscan_member(j, &k, &first)) == 1) {
        json_t *v = lt_jtree_value(j, tmp); /* before the key is decoded: both may use tmp */
        if (!v) return lt_jtree_fail(o);
        const char *ks = k.s;
        size_t kn = k.n;
        if (k.escaped) {
            lt_buf_reset(tmp);
            lt_jstr_append(&k, tmp);
            ks = (const char *)tmp->data;
            kn = tmp->len;
        }
        /* as jansson's loader: a repeated key replaces the value in place */
        if (json_object_setn_new_nocheck(o, kn ? ks : "", kn, v) < 0) return lt_jtree_fail(o);
    }
    return r == 0 ? o : lt_jtree_fail(o);
}

static json_t *lt_jtree_array(lt_jscan *j, lt_buf *tmp)
{
    json_t *a = json_array();
    int first = 1, r;
    if (!a) return NULL;
    while ((r = lt_jscan_element(j, &first)) == 1) {
        json_t *v = lt_jtree_value(j, tmp);
        if (!v || json_array_append_new(a, v) < 0) return lt_jtree_fail(a);
    }
    return r == 0 ? a : lt_jtree_fail(a);
}

static json_t *lt_jtree_value(lt_jscan *j, lt_buf *tmp)
{
    int c = lt_jscan_peek(j);
    json_t *v = NULL;
    lt_jstr s;
    long n;
    switch (c) {
    case '"': return lt_jscan_string(j, &s) < 0 ? NULL : lt_jtree_string(&s, tmp);
    case '{':
    case '[':
        if (++j->depth > LT_JSCAN_MAX_DEPTH) return NULL;
        j->p++;
        v = c == '{' ? lt_jtree_object(j, tmp) : lt_jtree_array(j, tmp);
        j->depth--;
        return v;
    case 't': return lt_jscan_literal(j, "true", 4) < 0 ? NULL : json_true();
    case 'f': return lt_jscan_literal(j, "false", 5) < 0 ? NULL : json_false();
    case 'n': return lt_jscan_literal(j, "null", 4) < 0 ? NULL : json_null();
    default: return lt_jscan_int(j, &n) < 0 ? NULL : json_integer((json_int_t)n); /* reals: jansson's */
    }
}

json_t *lt_jscan_tree(const char *p, size_t n)
{
    lt_jscan j;
    lt_buf tmp;
    lt_jscan_init(&j, p, n);
    int c = lt_jscan_peek(&j);
    if (c != '{' && c != '[') return NULL; /* json_loadb without JSON_DECODE_ANY */
    lt_buf_init(&tmp);
    json_t *v = lt_jtree_value(&j, &tmp);
    lt_buf_free(&tmp);
    if (v && !lt_jscan_at_end(&j)) return lt_jtree_fail(v);
    return v;
}
