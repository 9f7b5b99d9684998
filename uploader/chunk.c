/* chunk.c -- 32 KB chunking of LLM records (see chunk.h). */
#include <stdint.h>
#include <string.h>
#include "chunk.h"

/* Bytes one character occupies inside a JSON string (jansson escapes
 * control characters, quotes and backslashes; UTF-8 passes through). */
static size_t lt_json_escaped_len(unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') return 2;
    if (c < 0x20 || c == 0x7f) return 6;
    return 1;
}

static size_t lt_utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

/* Eight bytes at a time for the common case, JSON text in plain ASCII:
 * lt_chunk_zero8() sets the high bit of exactly the zero bytes (no borrow
 * between bytes, so they can be counted). A block holding a byte >= 0x80, a
 * control or DEL goes byte by byte; otherwise its escaped length is 8 plus
 * one per '"' or '\\'. */
#define LT_ONES 0x0101010101010101ull
#define LT_LOW7 0x7f7f7f7f7f7f7f7full
#define LT_HIGHS 0x8080808080808080ull
static inline uint64_t lt_chunk_zero8(uint64_t x) { return ~(((x & LT_LOW7) + LT_LOW7) | x | LT_LOW7); }

/* Escaped length of 8 plain bytes, or 0 when one of them is not plain. */
static size_t lt_chunk_plain8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    if ((w & LT_HIGHS) | ((w - LT_ONES * 0x20) & ~w & LT_HIGHS) | lt_chunk_zero8(w ^ (LT_ONES * 0x7f))) return 0;
    uint64_t q = (lt_chunk_zero8(w ^ (LT_ONES * '"')) | lt_chunk_zero8(w ^ (LT_ONES * '\\'))) >> 7;
    return 8 + (size_t)((q * LT_ONES) >> 56);   /* one bit per flagged byte, summed into the top byte */
}

size_t lt_chunk_utf8_prefix(const char *s, size_t len, size_t max_escaped)
{
    size_t i = 0, esc = 0;
    while (i < len) {
        size_t e8;
        while (i + 8 <= len && (e8 = lt_chunk_plain8(s + i)) && esc + e8 <= max_escaped) {
            i += 8;
            esc += e8;
        }
        if (i >= len) break;
        size_t n = lt_utf8_len((unsigned char)s[i]);
        size_t e = n == 1 ? lt_json_escaped_len((unsigned char)s[i]) : n;
        if (i + n > len || esc + e > max_escaped) break;
        esc += e;
        i += n;
    }
    return i;
}

/* Serializes a message column; returns its text (malloc'd) or NULL. */
static char *lt_chunk_text(json_t *v, size_t *len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    *len = s ? strlen(s) : 0;
    return s;
}

/* Escaped JSON length of a string value. */
static size_t lt_escaped_total(const char *s, size_t len)
{
    size_t e = 0;
    for (size_t i = 0; i < len; i++) e += lt_json_escaped_len((unsigned char)s[i]);
    return e;
}

static void lt_chunk_message(const lt_upload_cfg *cfg, json_t *row0, json_t *rows, const char *col,
                             const char *kind, const char *trunc_col, int *seq)
{
    json_t *v = json_object_get(row0, col);
    if (!v) return;
    size_t len;
    char *text = lt_chunk_text(v, &len);
    if (!text) return;
    size_t cap = lt_chunk_utf8_prefix(text, len, cfg->message_cap);
    if (cap < len) {
        json_object_set_new(row0, trunc_col, json_true());
        len = cap;
    }
    /* fits in row 0 as it is (escaped size of the JSON value as a string is the bound) */
    if (cap == strlen(text) && lt_escaped_total(text, len) <= cfg->chunk_bytes) { free(text); return; }
    json_object_del(row0, col);
    json_t *base = json_pack("{s:O?,s:O?,s:O?,s:O?}", "TimeGenerated", json_object_get(row0, "TimeGenerated"),
                             "CallTime", json_object_get(row0, "CallTime"), "CorrelationId", json_object_get(row0, "CorrelationId"),
                             "RecordId", json_object_get(row0, "RecordId"));
    for (size_t off = 0; off < len;) {
        size_t n = lt_chunk_utf8_prefix(text + off, len - off, cfg->chunk_bytes);
        if (n == 0) break;
        json_t *r = json_deep_copy(base);
        json_object_set_new(r, "SequenceNumber", json_integer(++*seq));
        json_object_set_new(r, "MessageChunk", json_string(kind));
        json_object_set_new(r, col, json_stringn(text + off, n));
        json_array_append_new(rows, r);
        off += n;
    }
    json_decref(base);
    free(text);
}

json_t *lt_chunk_rows(const lt_upload_cfg *cfg, json_t *record)
{
    json_t *rows = json_array();
    json_t *row0 = json_deep_copy(record);
    json_array_append_new(rows, row0);
    if (!json_object_get(row0, "SequenceNumber")) return rows; /* a gateway record */
    int seq = 0;
    lt_chunk_message(cfg, row0, rows, "RequestMessages", "request", "RequestMessagesTruncated", &seq);
    lt_chunk_message(cfg, row0, rows, "ResponseMessages", "response", "ResponseMessagesTruncated", &seq);
    return rows;
}
