/* redact.h -- keeping secrets out of records.
 *
 * A client's credentials travel in more places than the three headers the
 * records fingerprinted from the start: query strings (?api-key=,
 * ?subscription-key=, SAS ?sig=), other headers (X-Api-Key), form-encoded
 * and JSON bodies (client_secret=, "api_key": ...) kept raw for calls llmtap
 * does not model, and error bodies that echo the caller's key back. This
 * module finds them by name (configurable, case-insensitive lists), collects
 * the secret values of one exchange, and makes one last pass over each
 * finished record: values found by name and every exact occurrence of a
 * collected value, anywhere in the record, become "fp:<12 hex>"
 * (lt_fingerprint). The same pass replaces NUL characters by U+FFFD, so
 * every record serializes to JSON the uploader can load (a body holding a
 * NUL byte would otherwise be quarantined: a client could keep its own
 * calls out of Log Analytics).
 *
 * Pure functions on strings and jansson values; no I/O. */
#ifndef LT_REDACT_H
#define LT_REDACT_H

#include <jansson.h>
#include <stddef.h>
#include "../parsers/http_msg.h"

/* NULL-terminated lists of names, compared case-insensitively. NULL = the
 * built-in default list (lt_redact_default_*); extra_* are added to it: the
 * names the operator configured ([records] redact_headers,
 * redact_query_params, redact_body_fields), which can add names but never
 * remove a built-in one. The extra lists are borrowed (the configuration
 * owns them). */
typedef struct lt_redact_cfg {
    const char *const *headers;       /* header names whose value is a secret */
    const char *const *params;        /* query-string / form parameter names */
    const char *const *fields;        /* JSON body field names */
    char **extra_headers;             /* n_extra_headers more header names */
    size_t n_extra_headers;
    char **extra_params;              /* n_extra_params more parameter names */
    size_t n_extra_params;
    char **extra_fields;              /* n_extra_fields more field names */
    size_t n_extra_fields;
    size_t min_echo;                  /* shortest value redacted wherever it occurs (default 8) */
} lt_redact_cfg;

extern const char *const lt_redact_default_headers[];
extern const char *const lt_redact_default_params[];
extern const char *const lt_redact_default_fields[];

void lt_redact_cfg_defaults(lt_redact_cfg *cfg);

/* The secret values of one exchange. */
typedef struct lt_redact_set lt_redact_set;

/* Collects the secrets of the request: values of secret headers (and the
 * token of "Bearer x" / "Basic x"), of secret query parameters, and of
 * secret fields of a JSON or form-encoded request body. cfg NULL: defaults. */
lt_redact_set *lt_redact_collect(const lt_redact_cfg *cfg, const lt_http_msg *req);
void lt_redact_set_destroy(lt_redact_set *s);
/* 1 when every secret of the request was collected: 0 for NULL (memory ran
 * out making the set) or when memory ran out for one of them, and then the
 * records of that exchange cannot be promised free of it. */
int lt_redact_set_whole(const lt_redact_set *s);
/* The value of the first key-like query parameter (api-key, subscription-key
 * ...), or NULL: the record's KeyFingerprint when no key header was sent. */
const char *lt_redact_query_key(const lt_redact_set *s);

/* Redacts a URL's query string by parameter name; returns a new string. */
char *lt_redact_url(const lt_redact_cfg *cfg, const char *url);

/* The last pass over a record: every string (recursively; object members
 * named like a secret header or field are fingerprinted whole) gets secret
 * parameters and fields redacted by name, every collected value of length
 * >= min_echo replaced by its fingerprint, NUL replaced by U+FFFD. Sets
 * KeyFingerprint from a query-string key when the record has none. Returns
 * the number of replacements, or (size_t)-1 when memory ran out on the way
 * (a string may then still hold a secret). */
size_t lt_redact_record(const lt_redact_cfg *cfg, const lt_redact_set *s, json_t *rec);

/* The same pass one column at a time, for a record written as text
 * (records/record.c): the same rules give the same bytes as
 * lt_redact_record over the tree the columns would have made. */
typedef struct lt_redactor {
    lt_redact_cfg cfg;            /* cfg given, or the defaults */
    const lt_redact_set *set;     /* the exchange's secrets, or NULL */
    int builtin;                  /* only the built-in names: the quick name check applies */
} lt_redactor;

void lt_redactor_init(lt_redactor *r, const lt_redact_cfg *cfg, const lt_redact_set *s);
/* A string of the record, the value of the member name[0, nlen) (NULL: an
 * array element). *out NULL when it stays as it is; else its replacement
 * (malloc'd, *outlen set): its fingerprint when name is a secret header or
 * field name, or the string with secrets replaced, "(invalid UTF-8)" if that
 * broke it. str[len] must be a NUL. 0, or -1 when memory ran out (*out NULL:
 * the string must not be written). */
int lt_redactor_string(const lt_redactor *r, const char *name, size_t nlen, const char *str, size_t len, char **out,
                       size_t *outlen);
/* A member's value given as a tree (the Azure OpenAI facts): redacted in
 * place as lt_redact_record does a member of the record. 0, or -1 when memory
 * ran out (the value may still hold a secret and must not be written). */
int lt_redactor_member(const lt_redactor *r, const char *name, json_t *v);

#endif
