/* stream_tcp.c -- per-direction TCP reassembly (see tcp_dir.h for the
 * policy). The out-of-order list is a sorted singly linked list: on a
 * gateway capture reordering is rare and shallow, so a list beats a tree in
 * practice, and the in-order fast path never touches it. */
#include <stdlib.h>
#include <string.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "../common/membudget.h"
#include "tcp_dir.h"

struct lt_tcp_seg {
    lt_tcp_seg *next;
    uint32_t seq;
    uint32_t len;
    lt_time_us ts;
    uint8_t data[];
};

/* A hole is declared from an acknowledgement only once a few segments wait
 * behind it: a capture may reorder a segment after the peer's ACK of it
 * (multi-queue NICs, mirrored ports), and that must not read as a loss. */
#define LT_TCP_ACK_HOLE_SEGS 3
/* Without any ACK evidence, this many waiting segments mean a loss. */
#define LT_TCP_OOO_SEGS_MAX 64

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_DIFF(a, b) ((uint32_t)((uint32_t)(a) - (uint32_t)(b)))

void lt_tcp_dir_init(lt_tcp_dir *d) { memset(d, 0, sizeof *d); }

void lt_tcp_dir_syn(lt_tcp_dir *d, uint32_t isn)
{
    if (d->init) return;
    d->init = 1;
    d->next_seq = isn + 1;
}

static void lt_tcp_check_eof(lt_tcp_dir *d, int side, lt_time_us ts, const lt_tcp_sink *sink)
{
    if (d->fin_seen && !d->eof_sent && SEQ_LEQ(d->fin_seq, d->next_seq) && !d->ooo) {
        d->eof_sent = 1;
        sink->eof(sink->ud, side, ts);
    }
}

/* Delivers bytes at seq (already known to be >= next_seq - overlap handled here). */
static void lt_tcp_deliver(lt_tcp_dir *d, int side, uint32_t seq, const uint8_t *p, size_t n,
                           lt_time_us ts, lt_tcp_mem *mem, const lt_tcp_sink *sink)
{
    if (SEQ_LT(seq, d->next_seq)) {
        uint32_t skip = SEQ_DIFF(d->next_seq, seq);
        if (skip >= n) { mem->ctr->tcp_retransmit_bytes += n; return; }
        mem->ctr->tcp_retransmit_bytes += skip;
        p += skip;
        n -= skip;
    }
    d->next_seq += (uint32_t)n;
    sink->data(sink->ud, side, p, n, ts);
}

/* Delivers buffered segments that have become in order. */
static void lt_tcp_drain(lt_tcp_dir *d, int side, lt_tcp_mem *mem, const lt_tcp_sink *sink)
{
    while (d->ooo && SEQ_LEQ(d->ooo->seq, d->next_seq)) {
        lt_tcp_seg *s = d->ooo;
        d->ooo = s->next;
        d->ooo_bytes -= s->len;
        d->ooo_segs--;
        mem->used -= s->len;
        lt_membudget_release(mem->budget, sizeof *s + s->len);
        lt_tcp_deliver(d, side, s->seq, s->data, s->len, s->ts, mem, sink);
        free(s);
    }
}

/* Skips the hole before the first buffered segment and drains. */
static void lt_tcp_skip_hole(lt_tcp_dir *d, int side, lt_time_us ts, lt_tcp_mem *mem,
                             const lt_tcp_sink *sink)
{
    if (!d->ooo) return;
    uint32_t missing = SEQ_DIFF(d->ooo->seq, d->next_seq);
    mem->ctr->tcp_holes++;
    mem->ctr->tcp_hole_bytes += missing;
    sink->gap(sink->ud, side, missing, ts);
    d->next_seq = d->ooo->seq;
    lt_tcp_drain(d, side, mem, sink);
}

static void lt_tcp_buffer(lt_tcp_dir *d, uint32_t seq, const uint8_t *p, size_t n, lt_time_us ts,
                          lt_tcp_mem *mem)
{
    lt_tcp_seg **pp = &d->ooo;
    while (*pp && SEQ_LT((*pp)->seq, seq)) pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seq && (*pp)->len >= n) { mem->ctr->tcp_retransmit_bytes += n; return; }
    lt_tcp_seg *s = malloc(sizeof *s + n);
    if (!s) return;
    s->seq = seq;
    s->len = (uint32_t)n;
    s->ts = ts;
    memcpy(s->data, p, n);
    s->next = *pp;
    *pp = s;
    d->ooo_bytes += n;
    d->ooo_segs++;
    mem->used += n;
    lt_membudget_charge(mem->budget, sizeof *s + n);
    mem->ctr->tcp_segments_ooo++;
}

void lt_tcp_dir_segment(lt_tcp_dir *d, int side, uint32_t seq, const uint8_t *p, size_t n,
                        int fin, lt_time_us ts, lt_tcp_mem *mem, const lt_tcp_sink *sink)
{
    if (!d->init) { d->init = 1; d->next_seq = seq; }
    if (fin && !d->fin_seen) { d->fin_seen = 1; d->fin_seq = seq + (uint32_t)n; }
    if (n) {
        if (SEQ_LEQ(seq, d->next_seq)) {
            lt_tcp_deliver(d, side, seq, p, n, ts, mem, sink);
            if (d->ooo) lt_tcp_drain(d, side, mem, sink);
        } else {
            lt_tcp_buffer(d, seq, p, n, ts, mem);
            if (d->ooo_segs > LT_TCP_OOO_SEGS_MAX) {
                lt_tcp_skip_hole(d, side, ts, mem, sink); /* the missing bytes are not coming */
            } else if (d->ooo_bytes > mem->flow_cap || mem->used > mem->cap ||
                       lt_membudget_over(mem->budget, LT_MEMBUDGET_BULK)) {
                mem->ctr->tcp_memcap_hits++;
                lt_warn("tcp: reassembly memory cap reached, declaring a hole");
                lt_tcp_skip_hole(d, side, ts, mem, sink);
            }
        }
    }
    lt_tcp_check_eof(d, side, ts, sink);
}

void lt_tcp_dir_acked(lt_tcp_dir *d, int side, uint32_t ack, lt_time_us ts, lt_tcp_mem *mem,
                      const lt_tcp_sink *sink)
{
    /* The peer has everything before ack. If a buffered segment starts at or
     * before it, the bytes in front of that segment were lost by the capture. */
    while (d->init && d->ooo && d->ooo_segs >= LT_TCP_ACK_HOLE_SEGS && SEQ_LEQ(d->ooo->seq, ack) &&
           SEQ_LT(d->next_seq, d->ooo->seq))
        lt_tcp_skip_hole(d, side, ts, mem, sink);
    lt_tcp_check_eof(d, side, ts, sink);
}

void lt_tcp_dir_peer_answered(lt_tcp_dir *d, int side, uint32_t ack, lt_time_us ts, lt_tcp_mem *mem,
                              const lt_tcp_sink *sink)
{
    if (!d->init) return;
    if (d->fin_seen && SEQ_LT(d->fin_seq, ack)) ack = d->fin_seq; /* the FIN's own sequence number */
    while (SEQ_LT(d->next_seq, ack)) {
        if (d->ooo && SEQ_LEQ(d->ooo->seq, ack)) { lt_tcp_skip_hole(d, side, ts, mem, sink); continue; }
        uint32_t missing = SEQ_DIFF(ack, d->next_seq);
        if (missing > (1u << 30)) return; /* nonsense ack: ignore */
        mem->ctr->tcp_holes++;
        mem->ctr->tcp_hole_bytes += missing;
        sink->gap(sink->ud, side, missing, ts);
        d->next_seq = ack;
        lt_tcp_drain(d, side, mem, sink);
    }
    lt_tcp_check_eof(d, side, ts, sink);
}

void lt_tcp_dir_flush(lt_tcp_dir *d, int side, lt_time_us ts, lt_tcp_mem *mem, const lt_tcp_sink *sink)
{
    while (d->ooo) lt_tcp_skip_hole(d, side, ts, mem, sink);
    if (d->fin_seen && !d->eof_sent && SEQ_LT(d->next_seq, d->fin_seq)) {
        uint32_t missing = SEQ_DIFF(d->fin_seq, d->next_seq);
        mem->ctr->tcp_holes++;
        mem->ctr->tcp_hole_bytes += missing;
        sink->gap(sink->ud, side, missing, ts);
        d->next_seq = d->fin_seq;
    }
    lt_tcp_check_eof(d, side, ts, sink);
}

void lt_tcp_dir_free(lt_tcp_dir *d, lt_tcp_mem *mem)
{
    while (d->ooo) {
        lt_tcp_seg *s = d->ooo;
        d->ooo = s->next;
        mem->used -= s->len;
        lt_membudget_release(mem->budget, sizeof *s + s->len);
        free(s);
    }
    d->ooo_bytes = 0;
    d->ooo_segs = 0;
}
