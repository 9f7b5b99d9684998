/* h1_frame.h -- the proxy's HTTP/1.x framing as pure functions: bytes in,
 * decisions out, no libevent and no sockets.
 *
 * h1.c frames the client's requests and forward.c the backend's responses
 * with these; the fuzz target tests/fuzz/fuzz_proxy_h1.c drives them with
 * arbitrary bytes cut at arbitrary points. The callers keep the buffer
 * plumbing (finding the head's end in an evbuffer, moving body bytes
 * between evbuffers without copying them); everything that looks at a
 * byte or a field value to decide is here:
 *   head: request line / status line, then the body's framing from the
 *         Connection, Transfer-Encoding and Content-Length values
 *         (lt_h1_frame_request_body, lt_h1_frame_response_body);
 *   body: lt_h1_frame_data says how many of the available bytes are body
 *         (Content-Length, a chunk's data, or all until the connection
 *         ends); lt_h1_frame_line reads a chunk-size line, the CRLF after a
 *         chunk's data, or a trailer field from the first bytes of the
 *         input (a window of at most LT_H1_FRAME_LINE_WIN bytes).
 * The head's fields are split by lt_forward_kv_fields (forward.c: they
 * become the evkeyval entries the rest of the proxy reads), which the fuzz
 * target drives too. An error is sticky: the state stays LT_H1_FRAME_ERR and every further
 * call consumes nothing. */
#ifndef LT_H1_FRAME_H
#define LT_H1_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Framing states. */
enum {
    LT_H1_FRAME_HEAD,      /* waiting for a head (and after a 1xx response: the next one) */
    LT_H1_FRAME_LEN,       /* Content-Length body: left bytes to come */
    LT_H1_FRAME_CSIZE,     /* chunked: a chunk-size line */
    LT_H1_FRAME_CDATA,     /* chunked: left bytes of the chunk's data */
    LT_H1_FRAME_CEND,      /* chunked: the CRLF after a chunk's data */
    LT_H1_FRAME_TRAILER,   /* chunked: trailer fields up to an empty line */
    LT_H1_FRAME_EOF,       /* response without a length: the body ends with the connection */
    LT_H1_FRAME_DONE,      /* the message is whole */
    LT_H1_FRAME_ERR        /* malformed or over a limit (err says why); sticky */
};

/* Results of lt_h1_frame_line. */
enum {
    LT_H1_FRAME_MORE,      /* no whole line yet: nothing consumed, wait for bytes */
    LT_H1_FRAME_STEP,      /* *used bytes consumed; look at the state again */
    LT_H1_FRAME_SKIP       /* response trailer field longer than a line: the caller drops the
                            * input through its next LF (all of it when there is none) */
};

#define LT_H1_FRAME_HEAD_MAX 65536   /* a head not ended within this many bytes is refused */
#define LT_H1_FRAME_LINE_MAX 130     /* a chunk-size or trailer line shorter than this is read */
#define LT_H1_FRAME_LINE_WIN (LT_H1_FRAME_LINE_MAX + 1)   /* the window lt_h1_frame_line needs */

typedef struct lt_h1_frame {
    int st;                /* LT_H1_FRAME_* */
    int resp;              /* framing a backend's response (its rules), else a client's request */
    int err;               /* with LT_H1_FRAME_ERR: a request's refusal status (400, 413, 431,
                            * 501), or -1 for a response */
    uint64_t left;         /* body bytes left (Content-Length, or of the current chunk) */
    uint64_t body;         /* body bytes of this message so far */
    uint64_t limit;        /* request: the largest body read (beyond: 413, unread) */
    size_t scanned;        /* head bytes searched for its blank line without finding it: the next
                            * read's search resumes there, so a head trickled in byte by byte is
                            * scanned once, not once per read */
} lt_h1_frame;

typedef struct lt_h1_frame_rline {   /* a request line, pointing into the head */
    const char *method, *uri;
    size_t method_len, uri_len;
    int minor;             /* HTTP/1.minor */
    const char *fields;    /* the first header line */
} lt_h1_frame_rline;

typedef struct lt_h1_frame_sline {   /* a status line, pointing into the head */
    int minor, status;
    const char *reason;    /* trimmed of spaces */
    size_t reason_len;
    const char *fields;
} lt_h1_frame_sline;

/* The few functions every message passes through several times (init,
 * head_end, wants_line, data) are inline below: each is a handful of
 * instructions, and the proxy's cost per request is measured
 * (bench/proxy_ir.sh). */

/* A new message of a request (resp 0, its body limit) or a response (resp 1). */
static inline void lt_h1_frame_init(lt_h1_frame *f, int resp, uint64_t limit)
{
    f->st = LT_H1_FRAME_HEAD;
    f->resp = resp;
    f->err = 0;
    f->left = 0;
    f->body = 0;
    f->limit = limit;
    f->scanned = 0;
}

/* lt_h1_frame_head_end's error: state ERR. Returns 1. */
int lt_h1_frame_head_over(lt_h1_frame *f);

/* Where the head ends: hl, its length with the empty line, or 0 when its
 * end is not among the avail bytes yet. 1 when the head is too long (state
 * ERR, 431 for a request): more than LT_H1_FRAME_HEAD_MAX bytes before its
 * last one, whether they came in one read or many. */
static inline int lt_h1_frame_head_end(lt_h1_frame *f, size_t hl, size_t avail)
{
    if (f->st != LT_H1_FRAME_ERR && (hl ? hl - 1 : avail) <= LT_H1_FRAME_HEAD_MAX) return 0;
    return lt_h1_frame_head_over(f);
}
/* The request line of head h (n bytes, the whole head). 0, or 400. */
int lt_h1_frame_request_line(const char *h, size_t n, lt_h1_frame_rline *rl);
/* The request's framing from its field values (NULL: absent): state LEN,
 * CSIZE or DONE and *keep (the connection goes on after the reply), or an
 * error status (400, 413, 501; state ERR). */
int lt_h1_frame_request_body(lt_h1_frame *f, int minor, const char *conn, const char *te, const char *len, int *keep);
/* The status line of head h (n bytes, the whole head): the status, or -1. */
int lt_h1_frame_status_line(const char *h, size_t n, lt_h1_frame_sline *sl);
/* The response's framing: a 1xx leaves the state HEAD (another head
 * follows); else state LEN, CSIZE, EOF or DONE and *keep (the connection
 * may carry another request); head_req: the request was HEAD. 0, or -1
 * (a bad Content-Length; state ERR). */
int lt_h1_frame_response_body(lt_h1_frame *f, int minor, int status, int head_req, const char *conn, const char *te,
                              const char *len, int *keep);
/* 1 when the state reads a line (CSIZE, CEND, TRAILER). */
static inline int lt_h1_frame_wants_line(const lt_h1_frame *f)
{
    return f->st == LT_H1_FRAME_CSIZE || f->st == LT_H1_FRAME_CEND || f->st == LT_H1_FRAME_TRAILER;
}

/* Of avail bytes at the start of the input, how many are body (state LEN,
 * CDATA, EOF; 0 in any other): the caller moves them on. LEN ends in DONE,
 * CDATA in CEND, when their last byte is taken. */
static inline size_t lt_h1_frame_data(lt_h1_frame *f, size_t avail)
{
    if (f->st == LT_H1_FRAME_EOF) { f->body += avail; return avail; }
    if (f->st != LT_H1_FRAME_LEN && f->st != LT_H1_FRAME_CDATA) return 0;
    size_t n = avail < f->left ? avail : (size_t)f->left;
    f->left -= n;
    f->body += n;
    if (!f->left) f->st = f->st == LT_H1_FRAME_LEN ? LT_H1_FRAME_DONE : LT_H1_FRAME_CEND;
    return n;
}
/* One line from win, the first wlen bytes of the input (wlen: all there
 * is, or at least LT_H1_FRAME_LINE_WIN). LT_H1_FRAME_STEP: *used bytes are
 * consumed (the caller drops them) and the state moved (to DONE after the
 * trailer's empty line, ERR on a bad line); MORE: *used is 0. */
int lt_h1_frame_line(lt_h1_frame *f, const char *win, size_t wlen, size_t *used);
/* strtoull(v, end, 10), without its cost (locale, sign, spaces) for the
 * usual Content-Length: 1 to 19 digits and nothing else. */
uint64_t lt_h1_frame_length(const char *v, char **end);
/* 1 when tok is one of the comma-separated tokens of a header value (case-insensitive). */
int lt_h1_frame_token(const char *v, const char *tok);

#endif
