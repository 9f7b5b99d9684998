/* http_msg.c -- life cycle and lookups of lt_http_msg / lt_exchange.
 *
 * Headers are stored as separately allocated NUL-terminated strings because
 * messages outlive the packet buffers they were parsed from. Body marks record
 * when each part of a body arrived; they are appended only when the timestamp
 * changes, so a body arriving in one segment costs one mark. When the array is
 * full the earliest marks are kept: time to first token needs the start. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../common/log.h"
#include "../common/membudget.h"
#include "aoai.h"
#include "content.h"
#include "http_msg.h"
#include "../common/oom.h"

const char *lt_incomplete_str(int reason)
{
    static const char *names[LT_INC__COUNT] = {
        "", "hole", "missed_start", "truncated", "no_response",
        "no_request", "reset", "parse_error", "memcap",
    };
    return reason >= 0 && reason < LT_INC__COUNT ? names[reason] : "unknown";
}

void lt_http_msg_init(lt_http_msg *m)
{
    memset(m, 0, sizeof *m);
    lt_buf_init(&m->body);
}

void lt_http_msg_free(lt_http_msg *m)
{
    free(m->method);
    free(m->target);
    free(m->authority);
    free(m->reason);
    for (size_t i = 0; i < m->nhdrs; i++) free(m->hdrs[i].name); /* value is in its block */
    free(m->hdrs);
    lt_buf_free(&m->body);
    free(m->marks);
    lt_aoai_stream_destroy(m->aoai);
    lt_membudget_release(m->budget, m->charged);
    lt_http_msg_init(m);
}

int lt_http_msg_add_header(lt_http_msg *m, const char *name, size_t nlen,
                           const char *value, size_t vlen)
{
    if (m->nhdrs == m->hdrcap) {
        size_t cap = m->hdrcap ? m->hdrcap * 2 : 16;
        lt_header *h = realloc(m->hdrs, cap * sizeof *h);
        if (!h) return -1;
        m->hdrs = h;
        m->hdrcap = cap;
    }
    /* one allocation "name\0value\0" instead of two strndup; like strndup,
     * each stops at a NUL in its bytes */
    nlen = strnlen(name, nlen);
    vlen = strnlen(value, vlen);
    char *n = malloc(nlen + vlen + 2);
    if (!n) return -1;
    memcpy(n, name, nlen);
    n[nlen] = 0;
    char *v = n + nlen + 1;
    memcpy(v, value, vlen);
    v[vlen] = 0;
    m->hdrs[m->nhdrs].name = n;
    m->hdrs[m->nhdrs].value = v;
    m->nhdrs++;
    return 0;
}

const char *lt_http_msg_header(const lt_http_msg *m, const char *name)
{
    for (size_t i = 0; i < m->nhdrs; i++)
        if (!strcasecmp(m->hdrs[i].name, name)) return m->hdrs[i].value;
    return NULL;
}

void lt_http_msg_mark(lt_http_msg *m, lt_time_us ts)
{
    if (m->nmarks && m->marks[m->nmarks - 1].ts == ts) return;
    if (m->nmarks && m->marks[m->nmarks - 1].off == m->body_bytes) {
        return; /* no bytes since the last mark: keep the earlier time */
    }
    if (m->nmarks == LT_BODY_MARKS_MAX) return;
    if (m->nmarks == m->markcap) {
        size_t cap = m->markcap ? m->markcap * 2 : 8;
        if (cap > LT_BODY_MARKS_MAX) cap = LT_BODY_MARKS_MAX;
        lt_body_mark *k = realloc(m->marks, cap * sizeof *k);
        if (!k) return;
        m->marks = k;
        m->markcap = cap;
    }
    m->marks[m->nmarks].off = m->body_bytes;
    m->marks[m->nmarks].ts = ts;
    m->nmarks++;
}

lt_time_us lt_http_msg_time_at(const lt_http_msg *m, uint64_t off)
{
    if (!m->nmarks || off < m->marks[0].off) return m->start_ts;
    size_t lo = 0, hi = m->nmarks; /* find last mark with mark.off <= off */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (m->marks[mid].off <= off) lo = mid; else hi = mid;
    }
    return m->marks[lo].ts;
}

static void lt_http_msg_budget_cut(lt_http_msg *m)
{
    m->body_truncated = 1;
    m->budget_truncated = 1;
    if (!m->incomplete) m->incomplete = LT_INC_MEMCAP;
}

/* Hands n decoded bytes to the message's stream; its growth is charged to
 * the budget like a body's: past what the budget allows, the bytes fed so
 * far stay (the memory is taken) and the body is cut there. */
static void lt_http_msg_fold(lt_http_msg *m, const uint8_t *p, size_t n, lt_membudget *mb)
{
    lt_oom_clear();
    lt_aoai_stream_feed(m->aoai, p, n);
    m->body_folded += n;
    if (lt_oom_noted()) { /* something of these bytes was not kept: the answer is cut here, as the budget cuts */
        lt_http_msg_budget_cut(m);
        return;
    }
    if (!mb) return;
    size_t fp = lt_aoai_stream_footprint(m->aoai);
    if (fp <= m->folded_charged) return;
    size_t grow = fp - m->folded_charged;
    m->budget = mb;
    if (lt_membudget_try_charge(mb, grow, LT_MEMBUDGET_BULK) < 0) {
        lt_membudget_charge(mb, grow);
        lt_http_msg_budget_cut(m);
    }
    m->folded_charged = fp;
    m->charged += grow;
}

size_t lt_http_msg_body_append(lt_http_msg *m, const uint8_t *p, size_t n, size_t cap, lt_membudget *mb)
{
    uint64_t kept = m->body.len + m->body_folded;
    size_t room = kept < cap ? (size_t)(cap - kept) : 0;
    size_t keep = n < room ? n : room;
    if (m->budget_truncated) keep = 0; /* once refused, the body stays cut (no holes inside it) */
    if (m->aoai) {
        if (keep) lt_http_msg_fold(m, p, keep, mb);
        if (keep < n) m->body_truncated = 1;
        return keep;
    }
    if (mb && keep) {
        m->budget = mb;
        size_t fit = lt_membudget_buf_room(mb, &m->body, keep, &m->charged, LT_MEMBUDGET_BULK);
        if (fit < keep) { keep = fit; lt_http_msg_budget_cut(m); }
    }
    if (keep && lt_buf_append(&m->body, p, keep) < 0) { /* out of memory: cut here, as the budget cuts */
        keep = 0;
        lt_http_msg_budget_cut(m);
    }
    if (keep < n) m->body_truncated = 1;
    return keep;
}

void lt_http_msg_body_refuse(lt_http_msg *m) { lt_http_msg_budget_cut(m); }

void lt_http_msg_body_decoder(lt_http_msg *m, lt_content *dec, lt_membudget *mb)
{
    if (!mb || !dec) return;
    m->budget = mb;
    lt_content_set_budget(dec, mb, &m->charged);
}

void lt_http_msg_body_decoded(lt_http_msg *m, const lt_content *dec)
{
    if (m->aoai && m->body.len) { /* the decoder's output, folded and let go */
        if (!m->budget_truncated) lt_http_msg_fold(m, m->body.data, m->body.len, m->budget);
        lt_buf_reset(&m->body);
    }
    if (lt_content_budget_hit(dec) && !m->budget_truncated) lt_http_msg_budget_cut(m);
    if (lt_content_truncated(dec)) m->body_truncated = 1;
}

void lt_exchange_init(lt_exchange *ex, const lt_conn_info *conn)
{
    memset(ex, 0, sizeof *ex);
    ex->conn = conn;
    lt_http_msg_init(&ex->req);
    lt_http_msg_init(&ex->resp);
}

void lt_exchange_free(lt_exchange *ex)
{
    lt_http_msg_free(&ex->req);
    lt_http_msg_free(&ex->resp);
}

int lt_http_msg_body_done(lt_http_msg *m, lt_content **dec, lt_counters *ctr)
{
    int bomb = 0;
    if (*dec) {
        if (lt_content_error(*dec)) { m->decode_error = 1; ctr->http_decode_errors++; }
        if (lt_content_bomb(*dec)) { ctr->http_decode_bombs++; bomb = 1; }
        lt_content_destroy(*dec);
        *dec = NULL;
    }
    if (m->budget_truncated) {
        ctr->parser_budget_truncations++;
        lt_warn("http: a body was truncated: memory budget reached (memory_budget) or memory ran out");
    } else if (m->body_truncated) {
        ctr->http_bodies_over_cap++;
    }
    return bomb;
}

void lt_exchange_settle(lt_exchange *ex, int no_request)
{
    if (!ex->incomplete) ex->incomplete = ex->req.incomplete ? ex->req.incomplete : ex->resp.incomplete;
    if (!ex->incomplete && !ex->req.present) ex->incomplete = no_request;
    if (!ex->incomplete && !ex->resp.present) ex->incomplete = LT_INC_NO_RESPONSE;
}
