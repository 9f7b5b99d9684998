/* fuzz_sse.c -- libFuzzer harness for the SSE parser (parsers/sse.h).
 *
 * Byte 0 chooses how the rest is cut into feeds (piece sizes 1..byte0%16+1;
 * 0 means one feed). The same bytes are also parsed in one lt_sse_parse_all
 * call, and the two event lists must be identical: the parser promises that
 * input may be split at any byte. Each event is also checked: data is
 * NUL-terminated, offsets lie inside the stream and increase, only the last
 * event may be unterminated.
 *
 * Build and run: see tests/fuzz/README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/lt.h"
#include "parsers/sse.h"

typedef struct fz_sse {
    lt_buf log;
    uint64_t size, last_end;
    int unterminated;
} fz_sse;

static void fz_on_event(void *ud, const lt_sse_event *ev)
{
    fz_sse *s = ud;
    if (!ev->data || !ev->event || !ev->id) abort();
    if (ev->data[ev->data_len] != 0) abort();
    if (ev->off > ev->end || ev->end > s->size || ev->off < s->last_end) abort();
    if (s->unterminated) abort(); /* nothing may follow the unterminated event */
    s->unterminated = ev->unterminated;
    s->last_end = ev->end;
    char t[96];
    int n = snprintf(t, sizeof t, "\n%llu-%llu %d ", (unsigned long long)ev->off,
                     (unsigned long long)ev->end, ev->unterminated);
    lt_buf_append(&s->log, t, (size_t)n);
    lt_buf_append(&s->log, ev->event, ev->event_len);
    lt_buf_append(&s->log, "|", 1);
    lt_buf_append(&s->log, ev->id, ev->id_len);
    lt_buf_append(&s->log, "|", 1);
    lt_buf_append(&s->log, ev->data, ev->data_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = data[0] & 15;
    const uint8_t *in = data + 1;
    size_t n = size - 1;

    fz_sse whole = {.size = n}, split = {.size = n};
    lt_buf_init(&whole.log);
    lt_buf_init(&split.log);
    lt_sse_parse_all(in, n, fz_on_event, &whole);

    lt_sse *s = lt_sse_create(fz_on_event, &split);
    if (!s) abort();
    for (size_t i = 0, k = 0; i < n;) {
        size_t m = step ? 1 + (k++ % step) : n;
        if (m > n - i) m = n - i;
        lt_sse_feed(s, in + i, m);
        lt_sse_feed(s, in + i, 0); /* empty feeds are legal anywhere */
        i += m;
    }
    lt_sse_finish(s);
    lt_sse_destroy(s);

    if (whole.log.len != split.log.len ||
        (whole.log.len && memcmp(whole.log.data, split.log.data, whole.log.len))) {
        fprintf(stderr, "split mismatch (step %zu):\nwhole:%.*s\nsplit:%.*s\n", step,
                (int)whole.log.len, whole.log.data ? (const char *)whole.log.data : "",
                (int)split.log.len, split.log.data ? (const char *)split.log.data : "");
        abort();
    }
    lt_buf_free(&whole.log);
    lt_buf_free(&split.log);
    return 0;
}
