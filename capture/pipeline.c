/* pipeline.c -- capture → flows → parsers → records, one packet at a time.
 *
 * For each frame: decode it (decode.c), find or create its flow (flow.c),
 * settle which side is the client (SYN, else configured server ports, else
 * the first payload's content), run the sender's reassembly (stream_tcp.c)
 * and the peer's acknowledgement (which reveals bytes lost by the capture),
 * and hand in-order bytes to the connection's parser (parsers/conn.h), which
 * detects the protocol. Finished exchanges become records (records/) for the
 * caller's callback. Idle flows are expired in capture time, oldest first,
 * so replaying a file and tapping live behave the same. Every count goes to
 * the pipeline's own lt_counters: one pipeline per thread, no locks. */
#include <stdlib.h>
#include <string.h>
#include "../common/counters.h"
#include "../common/log.h"
#include "../common/membudget.h"
#include "decode.h"
#include "flow.h"
#include "pipeline.h"
#include "../parsers/conn.h"
#include "tcp_dir.h"

struct lt_pipeline {
    lt_pipeline_cfg cfg;
    lt_record_cb cb;
    void *ud;
    lt_flow_table flows;
    lt_tcp_mem mem;
    lt_app_sink app;         /* exchanges from every connection's parser */
    lt_counters ctr;
    lt_membudget *own_budget; /* when the caller brought none */
};

void lt_pipeline_cfg_defaults(lt_pipeline_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    lt_parser_cfg_defaults(&cfg->parser);
    lt_record_cfg_defaults(&cfg->record);
    cfg->flows_max = 65536;
    cfg->reasm_memcap = 256u << 20;
    cfg->reasm_flow_cap = 16u << 20;
    cfg->memory_budget = 512u << 20;
    cfg->idle_timeout_s = 300;
}

static int lt_side_dir(const lt_flow *f, int side)
{
    return side == f->client_side ? LT_DIR_TO_SERVER : LT_DIR_TO_CLIENT;
}

/* The TCP sink of one flow: reassembled bytes go to the flow's parser. */
static void lt_pl_data(void *ud, int side, const uint8_t *p, size_t n, lt_time_us ts)
{
    lt_flow *f = ud;
    if (f->parser) lt_conn_parser_feed(f->parser, lt_side_dir(f, side), p, n, ts);
}

static void lt_pl_gap(void *ud, int side, uint64_t n, lt_time_us ts)
{
    lt_flow *f = ud;
    if (f->parser) lt_conn_parser_gap(f->parser, lt_side_dir(f, side), n, ts);
}

static void lt_pl_eof(void *ud, int side, lt_time_us ts)
{
    lt_flow *f = ud;
    if (f->parser) lt_conn_parser_eof(f->parser, lt_side_dir(f, side), ts);
}

static lt_tcp_sink lt_pl_sink(lt_flow *f)
{
    return (lt_tcp_sink){lt_pl_data, lt_pl_gap, lt_pl_eof, f};
}

/* A finished exchange of any connection becomes its records. */
static void lt_pl_exchange(void *ud, lt_exchange *ex)
{
    lt_pipeline *pl = ud;
    lt_records_from_exchange(&pl->cfg.record, ex, &pl->ctr, pl->cb, pl->ud);
}

lt_pipeline *lt_pipeline_create(const lt_pipeline_cfg *cfg, lt_record_cb cb, void *ud)
{
    lt_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) return NULL;
    pl->cfg = *cfg;
    pl->cb = cb;
    pl->ud = ud;
    if (lt_flow_table_init(&pl->flows, cfg->flows_max ? cfg->flows_max : 65536) < 0) {
        free(pl);
        return NULL;
    }
    if (!pl->cfg.parser.budget && cfg->memory_budget) {
        if (!(pl->own_budget = lt_membudget_create(cfg->memory_budget))) {
            lt_flow_table_free(&pl->flows);
            free(pl);
            return NULL;
        }
        pl->cfg.parser.budget = pl->own_budget;
    }
    pl->mem.cap = cfg->reasm_memcap;
    pl->mem.budget = pl->cfg.parser.budget;
    pl->mem.flow_cap = cfg->reasm_flow_cap;
    pl->mem.ctr = &pl->ctr;
    pl->app = (lt_app_sink){.on_exchange = lt_pl_exchange, .ud = pl, .ctr = &pl->ctr};
    return pl;
}

static int lt_is_server_port(const lt_pipeline *pl, uint16_t port)
{
    for (size_t i = 0; i < LT_ARRAY_LEN(pl->cfg.server_ports) && pl->cfg.server_ports[i]; i++)
        if (pl->cfg.server_ports[i] == port) return 1;
    return 0;
}

/* Fixes the client side and creates the connection's parser. */
static void lt_pl_set_client(lt_pipeline *pl, lt_flow *f, int client_side)
{
    f->client_side = client_side;
    f->direction_known = 1;
    f->info.client = f->ep[client_side];
    f->info.server = f->ep[!client_side];
    f->parser = lt_conn_parser_create(&pl->cfg.parser, &f->info, &pl->app);
}

/* Ports that are servers whatever the other side is. */
static int lt_is_well_known_port(uint16_t port)
{
    return port < 1024 || port == 8080 || port == 8000 || port == 8443 || port == 5000 || port == 3000;
}

/* No SYN seen: decide from the configured ports, then from a payload that
 * starts a request or a response, then from well-known ports. Until then the
 * flow's bytes are reassembled but not parsed (the parser would only have
 * resynchronized past them anyway). */
static void lt_pl_guess_client(lt_pipeline *pl, lt_flow *f, int side, const lt_packet *pk)
{
    if (lt_is_server_port(pl, pk->dst.port)) { lt_pl_set_client(pl, f, side); return; }
    if (lt_is_server_port(pl, pk->src.port)) { lt_pl_set_client(pl, f, !side); return; }
    if (pk->len >= 4) {
        if (lt_conn_parser_looks_http1(LT_DIR_TO_CLIENT, pk->payload, pk->len)) { lt_pl_set_client(pl, f, !side); return; }
        if (lt_conn_parser_looks_http1(LT_DIR_TO_SERVER, pk->payload, pk->len) ||
            (pk->len >= 4 && !memcmp(pk->payload, "PRI ", 4))) { lt_pl_set_client(pl, f, side); return; }
    }
    int src_wk = lt_is_well_known_port(pk->src.port), dst_wk = lt_is_well_known_port(pk->dst.port);
    if (dst_wk && !src_wk) lt_pl_set_client(pl, f, side);
    else if (src_wk && !dst_wk) lt_pl_set_client(pl, f, !side);
}

static void lt_pl_end_flow(lt_pipeline *pl, lt_flow *f, int reset, lt_time_us ts)
{
    lt_tcp_sink sink = lt_pl_sink(f);
    if (!reset) {
        lt_tcp_dir_flush(&f->dir[0], 0, ts, &pl->mem, &sink);
        lt_tcp_dir_flush(&f->dir[1], 1, ts, &pl->mem, &sink);
    }
    if (f->parser) {
        lt_conn_parser_close(f->parser, reset, ts);
        lt_conn_parser_destroy(f->parser);
    }
    lt_tcp_dir_free(&f->dir[0], &pl->mem);
    lt_tcp_dir_free(&f->dir[1], &pl->mem);
    lt_flow_remove(&pl->flows, f);
}

static void lt_pl_expire(lt_pipeline *pl, lt_time_us now)
{
    lt_time_us idle = (lt_time_us)pl->cfg.idle_timeout_s * 1000000;
    lt_flow *f;
    while ((f = lt_flow_oldest(&pl->flows)) && f->last_ts + idle < now) {
        pl->ctr.tcp_idle_timeouts++;
        lt_pl_end_flow(pl, f, 0, now);
    }
}

static lt_flow *lt_pl_new_flow(lt_pipeline *pl, const lt_packet *pk, lt_time_us ts, int *side)
{
    if (pl->flows.count >= pl->flows.max) {
        pl->ctr.tcp_flows_evicted++;
        lt_warn("flow table full (%zu): evicting the oldest connection", pl->flows.max);
        lt_pl_end_flow(pl, lt_flow_oldest(&pl->flows), 0, ts);
    }
    lt_flow *f = lt_flow_create(&pl->flows, &pk->src, &pk->dst, ts, side);
    if (!f) return NULL;
    pl->ctr.tcp_flows++;
    if (pk->flags & LT_TCP_SYN) {
        lt_pl_set_client(pl, f, (pk->flags & LT_TCP_ACK) ? !*side : *side);
    } else {
        f->info.missed_start = 1;
        pl->ctr.tcp_midstream++;
        lt_pl_guess_client(pl, f, *side, pk);
    }
    return f;
}

/* A decoded frame through its flow: reassembly, the parser, the end of the flow. */
static inline void lt_pl_packet(lt_pipeline *pl, int r, const lt_packet *pk, size_t caplen, lt_time_us ts)
{
    pl->ctr.packets++;
    pl->ctr.capture_bytes += caplen;
    if (r != LT_DECODE_OK) { lt_decode_count(&pl->ctr, r); return; }
    lt_decode_count_tunnel(&pl->ctr, pk);
    lt_pl_expire(pl, ts);
    int side;
    lt_flow *f = lt_flow_find(&pl->flows, &pk->src, &pk->dst, &side);
    if (f && (pk->flags & LT_TCP_SYN) && !(pk->flags & LT_TCP_ACK) && f->dir[side].init &&
        pk->seq + 1 != f->dir[side].next_seq) {
        lt_pl_end_flow(pl, f, 0, ts); /* port reused by a new connection */
        f = NULL;
    }
    if (!f) {
        if ((pk->flags & LT_TCP_RST) || (!(pk->flags & LT_TCP_SYN) && !pk->len)) return;
        f = lt_pl_new_flow(pl, pk, ts, &side);
        if (!f) return;
    }
    lt_flow_touch(&pl->flows, f, ts);
    if (!f->direction_known) lt_pl_guess_client(pl, f, side, pk);
    lt_tcp_sink sink = lt_pl_sink(f);
    if (pk->len && (pk->flags & LT_TCP_ACK))
        lt_tcp_dir_peer_answered(&f->dir[!side], !side, pk->ack, ts, &pl->mem, &sink);
    if (pk->flags & LT_TCP_SYN) lt_tcp_dir_syn(&f->dir[side], pk->seq);
    else if (pk->len || (pk->flags & LT_TCP_FIN))
        lt_tcp_dir_segment(&f->dir[side], side, pk->seq, pk->payload, pk->len,
                           pk->flags & LT_TCP_FIN, ts, &pl->mem, &sink);
    if (pk->flags & LT_TCP_ACK)
        lt_tcp_dir_acked(&f->dir[!side], !side, pk->ack, ts, &pl->mem, &sink);
    if (pk->flags & LT_TCP_RST) {
        pl->ctr.tcp_resets++;
        lt_pl_end_flow(pl, f, 1, ts);
    } else if (f->dir[0].eof_sent && f->dir[1].eof_sent) {
        lt_pl_end_flow(pl, f, 0, ts);
    }
}

void lt_pipeline_packet(lt_pipeline *pl, int linktype, const uint8_t *frame, size_t caplen,
                        lt_time_us ts)
{
    lt_packet pk;
    int r = lt_decode_packet(linktype, frame, caplen, &pk);
    lt_pl_packet(pl, r, &pk, caplen, ts);
}

void lt_pipeline_decoded(lt_pipeline *pl, int decode_result, const lt_packet *pk, size_t caplen,
                         lt_time_us ts)
{
    lt_pl_packet(pl, decode_result, pk, caplen, ts);
}

void lt_pipeline_finish(lt_pipeline *pl, lt_time_us ts)
{
    lt_flow *f;
    while ((f = lt_flow_oldest(&pl->flows))) lt_pl_end_flow(pl, f, 0, ts > f->last_ts ? ts : f->last_ts);
}

lt_counters *lt_pipeline_counters(lt_pipeline *pl)
{
    return &pl->ctr;
}

void lt_pipeline_destroy(lt_pipeline *pl)
{
    if (!pl) return;
    lt_pipeline_finish(pl, 0);
    lt_flow_table_free(&pl->flows);
    lt_membudget_destroy(pl->own_budget);
    free(pl);
}
