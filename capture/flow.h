/* flow.h -- the table of tracked TCP connections.
 *
 * A flow is keyed by its two endpoints in a canonical order (the smaller
 * endpoint is side 0), so both directions find the same entry without knowing
 * yet which side is the client. Lookups are O(1) (chained hash); an LRU list
 * ordered by last activity makes the idle timeout and the eviction of the
 * oldest flow (when the table is full) O(1) as well. */
#ifndef LT_FLOW_H
#define LT_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include "../common/lt.h"
#include "tcp_dir.h"

struct lt_conn_parser;

typedef struct lt_flow {
    struct lt_flow *hnext;          /* hash chain */
    struct lt_flow *lprev, *lnext;  /* LRU list, oldest first */
    lt_endpoint ep[2];              /* canonical order */
    int client_side;                /* which of ep[] is the client */
    int direction_known;            /* client_side decided by SYN or content */
    lt_tcp_dir dir[2];              /* reassembly of data sent by ep[i] */
    lt_time_us last_ts;
    lt_conn_info info;
    struct lt_conn_parser *parser;
    int closing;
} lt_flow;

#define LT_FLOW_BUCKETS_MIN 1024   /* the bucket array's first size; it doubles past one flow per bucket */

typedef struct lt_flow_table {
    lt_flow **buckets;
    size_t nbuckets, max_buckets;   /* max_buckets: 2 x max rounded up to a power of 2 (at most 2^24) */
    size_t count, max;
    lt_flow *lru_head, *lru_tail;
    uint64_t next_id;
    lt_flow *last;          /* flow found last (packets come in runs per connection), or NULL */
} lt_flow_table;

int lt_flow_table_init(lt_flow_table *t, size_t max);
void lt_flow_table_free(lt_flow_table *t);   /* flows must already be removed */

/* Finds the flow of a packet from src to dst; *side = index of src in ep[]. */
lt_flow *lt_flow_find(lt_flow_table *t, const lt_endpoint *src, const lt_endpoint *dst, int *side);
/* Creates a flow (caller checked it does not exist and that there is room). */
lt_flow *lt_flow_create(lt_flow_table *t, const lt_endpoint *src, const lt_endpoint *dst,
                        lt_time_us ts, int *side);
void lt_flow_touch(lt_flow_table *t, lt_flow *f, lt_time_us ts);
void lt_flow_remove(lt_flow_table *t, lt_flow *f);  /* unlinks and frees */
static inline lt_flow *lt_flow_oldest(const lt_flow_table *t) { return t->lru_head; }

#endif
