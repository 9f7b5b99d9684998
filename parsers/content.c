/* content.c -- Content-Encoding decoding with zlib and brotli.
 *
 * Each coding is one stage; stages are chained so "gzip, br" is decoded by
 * brotli first, then gzip. "deflate" is sniffed: RFC 9110 says zlib-wrapped,
 * some servers send raw deflate, so the first byte decides.
 *
 * Bombs: decoding stops for good as soon as the output reaches the cap
 * (the body is marked truncated; nothing past the cap is inflated, so CPU
 * is bounded by the cap, not by what the sender compressed), or as soon as
 * the output exceeds the expansion-ratio limit times the compressed input
 * once past a small allowance (LT_CONTENT_RATIO_SLACK): "gzip, gzip" turns
 * 2 KB into 1 GiB, a ratio no JSON or SSE body comes near. Checks run after
 * every 16 KiB of output of every stage, so a stacked coding cannot run
 * ahead of them.
 *
 * Memory: with a budget (lt_content_set_budget), zlib and brotli allocate
 * through lt_ce_alloc, which charges every allocation (a brotli window can be
 * 16 MiB) and fails once the budget refuses; the output grows only as far as
 * the budget allows. Either stops decoding with the body kept truncated. */
#include <brotli/decode.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include "../common/membudget.h"
#include "content.h"

enum { LT_CE_GZIP = 1, LT_CE_DEFLATE, LT_CE_BR };
#define LT_CE_STAGES 4

typedef struct lt_ce_stage {
    int kind;
    int started, done;
    z_stream z;
    BrotliDecoderState *br;
} lt_ce_stage;

struct lt_content {
    lt_ce_stage st[LT_CE_STAGES];
    int nst;
    size_t cap;
    unsigned ratio;         /* expansion-ratio limit, 0 = none */
    uint64_t consumed;      /* encoded bytes fed */
    uint64_t produced;
    int error, truncated;
    int bomb;               /* stopped by the ratio limit */
    int stopped;            /* cap or ratio reached: nothing more is decoded */
    lt_buf raw;             /* encoded input kept until the first decoded byte */
    int raw_lost;           /* raw grew past LT_CE_RAW_KEEP before any output */
    int passthrough;        /* undecodable from the start: the body is the raw bytes */
    lt_membudget *mb;       /* NULL: nothing charged */
    size_t *out_charged;    /* charged capacity of the output buffer (its owner's) */
    size_t state_charged;   /* decoder allocations, charged to mb */
    size_t raw_charged;     /* capacity of raw, charged to mb */
    int budget_hit;         /* memory refused: by the budget, or by the allocator */
};

/* zlib / brotli allocations, charged to the budget; the size sits before the block */
static void *lt_ce_alloc(void *opaque, size_t n)
{
    lt_content *c = opaque;
    size_t total = n + 16;
    if (lt_membudget_try_charge(c->mb, total, LT_MEMBUDGET_BULK) < 0) { c->budget_hit = 1; return NULL; }
    unsigned char *p = malloc(total);
    if (!p) { lt_membudget_release(c->mb, total); c->budget_hit = 1; return NULL; }
    c->state_charged += total;
    memcpy(p, &total, sizeof total);
    return p + 16;
}

static void lt_ce_free(void *opaque, void *ptr)
{
    lt_content *c = opaque;
    if (!ptr) return;
    unsigned char *p = (unsigned char *)ptr - 16;
    size_t total;
    memcpy(&total, p, sizeof total);
    lt_membudget_release(c->mb, total);
    c->state_charged -= total;
    free(p);
}

static void *lt_ce_zalloc(void *opaque, uInt items, uInt size)
{
    return lt_ce_alloc(opaque, (size_t)items * size);
}

#define LT_CE_RAW_KEEP (64u << 10)

static int lt_ce_kind(const char *tok, size_t n)
{
    if ((n == 4 && !strncasecmp(tok, "gzip", 4)) || (n == 6 && !strncasecmp(tok, "x-gzip", 6)))
        return LT_CE_GZIP;
    if (n == 7 && !strncasecmp(tok, "deflate", 7)) return LT_CE_DEFLATE;
    if (n == 2 && !strncasecmp(tok, "br", 2)) return LT_CE_BR;
    if (n == 8 && !strncasecmp(tok, "identity", 8)) return 0;
    return -1;
}

lt_content *lt_content_create(const char *enc, size_t cap)
{
    lt_content *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cap = cap;
    c->ratio = LT_CONTENT_RATIO_DEFAULT;
    int kinds[LT_CE_STAGES], nk = 0;
    for (const char *p = enc ? enc : ""; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *t = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t') p++;
        if (p == t) continue;
        int k = lt_ce_kind(t, (size_t)(p - t));
        if (k < 0 || nk == LT_CE_STAGES) { c->error = 1; break; }
        if (k) kinds[nk++] = k;
    }
    if (c->error) return c;
    for (int i = nk - 1; i >= 0; i--) c->st[c->nst++].kind = kinds[i]; /* reverse order */
    return c;
}

void lt_content_set_ratio(lt_content *c, unsigned ratio) { c->ratio = ratio; }
int lt_content_bomb(const lt_content *c) { return c->bomb; }
int lt_content_error(const lt_content *c) { return c->error; }
int lt_content_truncated(const lt_content *c) { return c->truncated; }
int lt_content_identity(const lt_content *c) { return c->nst == 0 && !c->error; }

void lt_content_set_budget(lt_content *c, lt_membudget *mb, size_t *charged)
{
    c->mb = mb;
    c->out_charged = charged;
}

int lt_content_budget_hit(const lt_content *c) { return c->budget_hit; }

/* The output the ratio allows so far: the allowance, or ratio times the
 * compressed bytes fed. Output is kept up to exactly this bound, so a bomb
 * small enough to be stopped at the allowance keeps the same bytes wherever
 * TCP cut its input (checking after each decoded piece kept up to the end of
 * the piece that crossed the bound, and pieces are as large as the input at
 * hand allows: found by fuzz_http1). */
static uint64_t lt_ce_allowed(const lt_content *c)
{
    if (!c->ratio) return UINT64_MAX;
    uint64_t r = c->consumed > UINT64_MAX / c->ratio ? UINT64_MAX : c->consumed * c->ratio;
    return r > LT_CONTENT_RATIO_SLACK ? r : LT_CONTENT_RATIO_SLACK;
}

static void lt_ce_emit(lt_content *c, const uint8_t *p, size_t n, lt_buf *out)
{
    uint64_t limit = c->cap, allowed = lt_ce_allowed(c);
    if (allowed < limit) limit = allowed;
    uint64_t room = c->produced < limit ? limit - c->produced : 0;
    size_t keep = n < room ? n : (size_t)room;
    if (keep && c->mb) {
        size_t fit = lt_membudget_buf_room(c->mb, out, keep, c->out_charged, LT_MEMBUDGET_BULK);
        if (fit < keep) { keep = fit; c->budget_hit = c->stopped = 1; }
    }
    if (keep && lt_buf_append(out, p, keep) < 0) { keep = 0; c->budget_hit = c->stopped = 1; }
    if (keep < n) c->truncated = 1;
    c->produced += n;
    if (c->produced > c->cap && c->nst) c->stopped = 1; /* truncated: nothing past the cap is inflated */
    if (c->produced > allowed) c->bomb = c->truncated = c->stopped = 1;
}

static int lt_ce_start(lt_content *c, lt_ce_stage *s, const uint8_t *in, size_t len)
{
    if (s->kind == LT_CE_BR) {
        s->br = c->mb ? BrotliDecoderCreateInstance(lt_ce_alloc, lt_ce_free, c)
                      : BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!s->br) c->budget_hit = 1;   /* the only way it fails */
        return s->br ? 0 : -1;
    }
    if (c->mb) {
        s->z.zalloc = lt_ce_zalloc;
        s->z.zfree = lt_ce_free;
        s->z.opaque = c;
    }
    int wbits = 15 + 32; /* gzip or zlib, auto */
    if (s->kind == LT_CE_DEFLATE && len && (in[0] & 0x0f) != 8) wbits = -15; /* raw */
    int r = inflateInit2(&s->z, wbits);
    if (r == Z_MEM_ERROR) c->budget_hit = 1;
    return r == Z_OK ? 0 : -1;
}

static void lt_ce_run(lt_content *c, int i, const uint8_t *in, size_t len, lt_buf *out);

/* Runs stage i on input, passing output to the next stage (or out). */
static int lt_ce_stage_feed(lt_content *c, int i, const uint8_t *in, size_t len, lt_buf *out)
{
    lt_ce_stage *s = &c->st[i];
    uint8_t tmp[16384];
    if (s->done || !len) return 0;
    if (!s->started) {
        if (lt_ce_start(c, s, in, len) < 0) return -1;
        s->started = 1;
    }
    if (s->kind == LT_CE_BR) {
        size_t avail_in = len;
        const uint8_t *next_in = in;
        for (;;) {
            size_t avail_out = sizeof tmp;
            uint8_t *next_out = tmp;
            BrotliDecoderResult r = BrotliDecoderDecompressStream(s->br, &avail_in, &next_in,
                                                                  &avail_out, &next_out, NULL);
            lt_ce_run(c, i + 1, tmp, sizeof tmp - avail_out, out);
            if (r == BROTLI_DECODER_RESULT_ERROR) {
                /* allocation errors are BROTLI_DECODER_ERROR_ALLOC_* (-21 to -30) */
                int e = BrotliDecoderGetErrorCode(s->br);
                if (e <= -21 && e >= -30) c->budget_hit = 1;
                return -1;
            }
            if (r == BROTLI_DECODER_RESULT_SUCCESS || c->stopped) { s->done = 1; return 0; }
            if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return 0;
        }
    }
    s->z.next_in = (Bytef *)in;
    s->z.avail_in = (uInt)len;
    while (s->z.avail_in) {
        s->z.next_out = tmp;
        s->z.avail_out = sizeof tmp;
        int r = inflate(&s->z, Z_NO_FLUSH);
        lt_ce_run(c, i + 1, tmp, sizeof tmp - s->z.avail_out, out);
        if (r == Z_STREAM_END) {
            /* gzip allows concatenated members */
            if (s->z.avail_in && s->kind == LT_CE_GZIP && inflateReset(&s->z) == Z_OK) continue;
            s->done = 1;
            return 0;
        }
        if (c->stopped) { s->done = 1; return 0; }
        if (r == Z_MEM_ERROR) c->budget_hit = 1;
        if (r != Z_OK && r != Z_BUF_ERROR) return -1;
        if (r == Z_BUF_ERROR && s->z.avail_out) break;
    }
    return 0;
}

static void lt_ce_run(lt_content *c, int i, const uint8_t *in, size_t len, lt_buf *out)
{
    if (!len || c->error || c->stopped) return;
    if (i == c->nst) { lt_ce_emit(c, in, len, out); return; }
    if (lt_ce_stage_feed(c, i, in, len, out) < 0) {
        if (c->budget_hit) c->stopped = c->truncated = 1; /* refused memory, not bad data */
        else c->error = 1;
    }
}

/* Until the first decoded byte, the encoded input is kept: a body that
 * fails before producing anything (labelled gzip but sent plain) becomes its
 * raw bytes, all of them, wherever TCP cut it. A body that fails later keeps
 * what was decoded and stops: raw bytes after decoded ones would differ with
 * the feed boundaries. */
static void lt_ce_raw_free(lt_content *c)
{
    lt_membudget_release(c->mb, c->raw_charged);
    c->raw_charged = 0;
    lt_buf_free(&c->raw);
}

static void lt_ce_keep_raw(lt_content *c, const uint8_t *in, size_t len)
{
    if (c->produced || c->raw_lost) { lt_ce_raw_free(c); return; }
    if (c->raw.len + len > LT_CE_RAW_KEEP) { c->raw_lost = 1; lt_ce_raw_free(c); return; }
    if (lt_buf_append(&c->raw, in, len) < 0) { c->raw_lost = 1; lt_ce_raw_free(c); return; }
    lt_membudget_buf_sync(c->mb, &c->raw, &c->raw_charged);
}

uint64_t lt_content_feed(lt_content *c, const uint8_t *in, size_t len, lt_buf *out)
{
    uint64_t before = c->produced;
    c->consumed += len;
    if (c->stopped) return 0; /* cap or ratio reached, or failed after output */
    if (c->error && (c->passthrough || !c->nst)) {
        lt_ce_emit(c, in, len, out); /* raw pass-through: unknown coding, or failed at once */
        return c->produced - before;
    }
    lt_ce_keep_raw(c, in, len);
    lt_ce_run(c, 0, in, len, out);
    if (!c->error) return c->produced - before;
    if (c->produced == 0 && !c->raw_lost) {
        c->passthrough = 1;
        lt_ce_emit(c, c->raw.data, c->raw.len, out);
    } else {
        c->stopped = 1;
    }
    lt_ce_raw_free(c);
    return c->produced - before;
}

void lt_content_destroy(lt_content *c)
{
    if (!c) return;
    for (int i = 0; i < c->nst; i++) {
        if (!c->st[i].started) continue;
        if (c->st[i].kind == LT_CE_BR) BrotliDecoderDestroyInstance(c->st[i].br);
        else inflateEnd(&c->st[i].z);
    }
    lt_ce_raw_free(c);
    free(c);
}
