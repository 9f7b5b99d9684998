/* confmap.h -- one table per configuration section, one engine for all.
 *
 * In the way of Fluent Bit's config_map[]: a module declares, next to the
 * struct it fills, a table of entries (key, type, default as text, offset
 * and size of the field, range or enum values, flags, one-line description).
 * This engine applies the defaults, parses and validates one key, formats
 * the effective value back (dump) or the documented template, checks the
 * required keys and frees the strings. Nothing else in llmtap knows a key
 * name, so the parser, the defaults, `llmtap config --dump` and the shipped
 * llmtap.conf cannot disagree.
 *
 * Types and the C field each one fills:
 *   STR      char *      (empty value = NULL, "not set")
 *   URL      char *      must start with https:// (http:// too with LT_CONFMAP_HTTP_OK)
 *   BOOL     int         true/false, yes/no, on/off, 1/0 (case-insensitive)
 *   INT      int / int64_t (by size) in [lo, hi]
 *   SIZE     size_t / uint64_t; a number with K, M, G (binary) and optional B, in [lo, hi]
 *   DURATION int / int64_t seconds (milliseconds with LT_CONFMAP_MS, which also
 *            allows the "ms" suffix); a number with s, m, h, d; in [lo, hi] (stored unit)
 *   ENUM     int: index of the value in values[]
 *   PORTS    uint16_t[N], 0-terminated, N = field size / 2 (one slot for the 0)
 *   STRLIST  char ** at off, size_t count at aux_off; comma-separated, trimmed
 *            (with LT_CONFMAP_NAMES each item is a name: 1..64 letters, digits,
 *            '-', '_' or '.')
 * Numbers are checked for overflow before any multiplication. A default of
 * NULL means the owning module's own defaults function sets the field (the
 * engine leaves it alone), so there is still one default per key. */
#ifndef LT_CONFMAP_H
#define LT_CONFMAP_H

#include <stddef.h>
#include <stdio.h>

typedef enum lt_confmap_type {
    LT_CONFMAP_STR,
    LT_CONFMAP_URL,
    LT_CONFMAP_BOOL,
    LT_CONFMAP_INT,
    LT_CONFMAP_SIZE,
    LT_CONFMAP_DURATION,
    LT_CONFMAP_ENUM,
    LT_CONFMAP_PORTS,
    LT_CONFMAP_STRLIST,
} lt_confmap_type;

enum lt_confmap_flag {
    LT_CONFMAP_SECRET = 1 << 0,   /* the value is a secret: dumped as *** */
    LT_CONFMAP_HTTP_OK = 1 << 1,  /* URL: http:// accepted too */
    LT_CONFMAP_MS = 1 << 2,       /* DURATION stored in milliseconds */
    LT_CONFMAP_REQUIRED = 1 << 3, /* lt_confmap_check() fails while unset */
    LT_CONFMAP_NAMES = 1 << 4,    /* STRLIST: items are names ([A-Za-z0-9._-], at most 64) */
};

typedef struct lt_confmap_entry {
    const char *key;              /* NULL ends the table */
    lt_confmap_type type;
    const char *def;              /* default as config text; NULL = set elsewhere */
    size_t off, size;             /* the field: offsetof, sizeof */
    size_t aux_off;               /* STRLIST: offsetof the size_t count */
    long long lo, hi;             /* INT, SIZE, DURATION: accepted range (stored unit);
                                     both 0 = 0 up to what the field can hold */
    const char *const *values;    /* ENUM: NULL-terminated names */
    int flags;                    /* enum lt_confmap_flag */
    const char *desc;             /* one line (wrapped in the template) */
} lt_confmap_entry;

/* The field of an entry: LT_CONFMAP_AT(lt_config, pipeline.flows_max). */
#define LT_CONFMAP_AT(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)

/* One section: its name, its table, and where the struct the table fills
 * sits inside the whole settings struct (0 when the table's offsets are
 * already relative to the whole). */
typedef struct lt_confmap_section {
    const char *name;
    const lt_confmap_entry *map;
    size_t off;
} lt_confmap_section;

/* Applies every non-NULL default. 0 ok; -1 if a default does not parse (a bug). */
int lt_confmap_defaults(const lt_confmap_entry *map, void *base, char *err, size_t errlen);
const lt_confmap_entry *lt_confmap_find(const lt_confmap_entry *map, const char *key);
/* Parses value into the field of key. 0 ok; -1 with "key: reason" or
 * "unknown key 'x' in [section]" in err. */
int lt_confmap_set(const lt_confmap_entry *map, void *base, const char *section, const char *key,
                   const char *value, char *err, size_t errlen);
int lt_confmap_set_entry(const lt_confmap_entry *e, void *base, const char *value, char *err, size_t errlen);
/* The value as config text (malloc'd; secrets not masked). NULL on ENOMEM. */
char *lt_confmap_format(const lt_confmap_entry *e, const void *base);
/* "[section]" then "key = value" for every key (secrets as ***). */
void lt_confmap_dump(const lt_confmap_entry *map, const void *base, const char *section, FILE *out);
/* The same, documented: description comments and ";key = value" lines. */
void lt_confmap_template(const lt_confmap_entry *map, const void *base, const char *section, FILE *out);
/* 0 if every LT_CONFMAP_REQUIRED key is set; else -1 and err names them. */
int lt_confmap_check(const lt_confmap_entry *map, const void *base, const char *section, char *err,
                     size_t errlen);
/* Frees the STR, URL and STRLIST fields and sets them to NULL / 0. */
void lt_confmap_free(const lt_confmap_entry *map, void *base);

/* Parsers, exposed for tests and for other readers of the same syntax.
 * 0 ok, -1 invalid, -2 overflow. */
int lt_confmap_parse_size(const char *v, unsigned long long *out);
int lt_confmap_parse_duration_ms(const char *v, int allow_ms, long long *out_ms);

#endif
