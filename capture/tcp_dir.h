/* tcp_dir.h -- reassembly of one direction of a TCP connection.
 *
 * In-order segments are delivered straight from the packet buffer (no copy);
 * only segments that arrive ahead of a missing one are copied and kept,
 * sorted by sequence number. Retransmissions and overlaps are trimmed (the
 * first copy wins, as in most stacks). A hole is declared, never waited on
 * forever: when the peer acknowledges data we never saw (it was lost by the
 * capture, not by the network), when the buffered bytes exceed a cap, or when
 * the connection ends. All sequence arithmetic is modulo 2^32. */
#ifndef LT_TCP_DIR_H
#define LT_TCP_DIR_H

#include <stddef.h>
#include <stdint.h>
#include "../common/counters.h"
#include "../common/lt.h"

typedef struct lt_tcp_seg lt_tcp_seg;

typedef struct lt_tcp_dir {
    int init;               /* next_seq is known */
    int fin_seen, eof_sent;
    uint32_t next_seq;      /* next byte to deliver */
    uint32_t fin_seq;       /* sequence number of the FIN */
    lt_tcp_seg *ooo;        /* out-of-order segments, sorted */
    size_t ooo_bytes;
    unsigned ooo_segs;      /* number of buffered segments */
} lt_tcp_dir;

/* Where in-order bytes, holes and end of stream go. */
typedef struct lt_tcp_sink {
    void (*data)(void *ud, int side, const uint8_t *p, size_t n, lt_time_us ts);
    void (*gap)(void *ud, int side, uint64_t n, lt_time_us ts);
    void (*eof)(void *ud, int side, lt_time_us ts);
    void *ud;
} lt_tcp_sink;

/* Shared accounting of buffered bytes across all connections of one
 * pipeline, and the pipeline's counters. Buffered segments are also charged
 * to the process's memory budget (NULL: none): cap is a sub-limit inside it,
 * and a budget past its bulk share declares a hole like the cap does. */
struct lt_membudget;
typedef struct lt_tcp_mem {
    size_t used, cap, flow_cap;
    lt_counters *ctr;
    struct lt_membudget *budget;
} lt_tcp_mem;

void lt_tcp_dir_init(lt_tcp_dir *d);
/* SYN seen: the stream starts at isn + 1. */
void lt_tcp_dir_syn(lt_tcp_dir *d, uint32_t isn);
/* A segment of side `side` (0/1, the flow's endpoint index). */
void lt_tcp_dir_segment(lt_tcp_dir *d, int side, uint32_t seq, const uint8_t *p, size_t n,
                        int fin, lt_time_us ts, lt_tcp_mem *mem, const lt_tcp_sink *sink);
/* The other side acknowledged up to ack: data before it will not come again. */
void lt_tcp_dir_acked(lt_tcp_dir *d, int side, uint32_t ack, lt_time_us ts, lt_tcp_mem *mem,
                      const lt_tcp_sink *sink);
/* The other side sent data acknowledging up to ack: it has received every
 * byte before ack, so bytes of this direction still missing before ack were
 * lost by the capture. Declares that hole at once (peer data is stronger
 * evidence than a bare ACK: a response cannot precede its request). */
void lt_tcp_dir_peer_answered(lt_tcp_dir *d, int side, uint32_t ack, lt_time_us ts, lt_tcp_mem *mem,
                              const lt_tcp_sink *sink);
/* End of the connection: flush buffered segments (declaring holes). */
void lt_tcp_dir_flush(lt_tcp_dir *d, int side, lt_time_us ts, lt_tcp_mem *mem, const lt_tcp_sink *sink);
void lt_tcp_dir_free(lt_tcp_dir *d, lt_tcp_mem *mem);

#endif
