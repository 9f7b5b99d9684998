/* sse.h -- incremental parser for text/event-stream (Server-Sent Events).
 *
 * Follows the WHATWG event-stream grammar: lines end in CRLF, LF or CR (a CR
 * at the end of one feed may be followed by LF at the start of the next);
 * "data:" lines of one event are joined with "\n"; a leading space after the
 * colon is dropped; lines starting with ":" are comments; "event:" and "id:"
 * set the event's type and id; a blank line dispatches the event. Input may
 * be split at any byte. Pure: bytes in, events out. */
#ifndef LT_SSE_H
#define LT_SSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_sse_event {
    const char *event;  size_t event_len;   /* "" when no event: field */
    const char *data;   size_t data_len;    /* joined data lines, NUL-terminated */
    const char *id;     size_t id_len;
    uint64_t off;       /* stream offset of the event's first byte */
    uint64_t end;       /* stream offset just past the dispatching blank line's CR or LF
                         * (the LF of a CRLF is not counted: a CRLF may be split across
                         * feeds, and the value must not depend on where) */
    int unterminated;   /* 1 for an event flushed by lt_sse_finish() without its blank line */
} lt_sse_event;

typedef void (*lt_sse_cb)(void *ud, const lt_sse_event *ev);

typedef struct lt_sse lt_sse;

lt_sse *lt_sse_create(lt_sse_cb cb, void *ud);
void lt_sse_feed(lt_sse *s, const uint8_t *data, size_t len);
/* End of stream: an event without its terminating blank line is delivered
 * with unterminated = 1 (the spec would drop it; a cut stream still shows it). */
void lt_sse_finish(lt_sse *s);
void lt_sse_destroy(lt_sse *s);

/* Bytes the parser holds (its state and buffers; 0 for NULL). */
size_t lt_sse_footprint(const lt_sse *s);

/* Parses a whole buffer: create + feed + finish + destroy. Returns events seen. */
size_t lt_sse_parse_all(const uint8_t *data, size_t len, lt_sse_cb cb, void *ud);

#endif
