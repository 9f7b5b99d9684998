/* pipeline.h -- packets in, records out: capture → flows → parsers → records.
 *
 * The pipeline owns the flow table. Each packet is decoded (decode.h), looked
 * up in the flow table (flow.h), reassembled per direction (tcp_dir.h) and
 * the in-order bytes are handed to the connection's application parser
 * (parsers/conn.h picks HTTP/1.1 or HTTP/2). Finished exchanges become
 * records (records/record.h) that go to the caller's record callback (the
 * store, --json output, or both). One pipeline per thread, with its own
 * counters; no locks inside. */
#ifndef LT_PIPELINE_H
#define LT_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include "../common/counters.h"
#include "../common/lt.h"
#include "../parsers/app.h"
#include "../records/records.h"

typedef struct lt_pipeline_cfg {
    lt_parser_cfg parser;
    lt_record_cfg record;
    size_t flows_max;          /* concurrent connections tracked (default 65536) */
    size_t reasm_memcap;       /* bytes buffered out of order, all flows (default 256 MiB) */
    size_t reasm_flow_cap;     /* bytes buffered out of order per direction (default 16 MiB) */
    size_t memory_budget;      /* all parser state and reassembly of the process (default 512 MiB):
                                * a pipeline whose parser.budget is NULL creates its own of this
                                * size; capture/workers.c and agent/daemon.c share one */
    int idle_timeout_s;        /* connection idle timeout in capture time (default 300) */
    uint16_t server_ports[32]; /* 0-terminated; empty = any port, direction from SYN/content */
} lt_pipeline_cfg;

void lt_pipeline_cfg_defaults(lt_pipeline_cfg *cfg);

typedef struct lt_pipeline lt_pipeline;

lt_pipeline *lt_pipeline_create(const lt_pipeline_cfg *cfg, lt_record_cb cb, void *ud);
/* One captured frame of the given DLT_* link type. */
void lt_pipeline_packet(lt_pipeline *p, int linktype, const uint8_t *pkt, size_t caplen,
                        lt_time_us ts);
struct lt_packet;
/* The same frame already decoded: decode_result and pk as lt_decode_packet gave them
 * (capture/workers.c decodes once, to place the flow, and hands the result on). */
void lt_pipeline_decoded(lt_pipeline *p, int decode_result, const struct lt_packet *pk, size_t caplen,
                         lt_time_us ts);
/* End of input: closes every connection, emitting pending exchanges. */
void lt_pipeline_finish(lt_pipeline *p, lt_time_us ts);
void lt_pipeline_destroy(lt_pipeline *p);
/* The pipeline's counters (owned by it; read them after finish or from its thread). */
lt_counters *lt_pipeline_counters(lt_pipeline *p);

/* Reads a pcap or pcapng file through the pipeline. 0 ok, -1 error (*err set, malloc'd). */
int lt_capture_file(lt_pipeline *p, const char *path, char **err);
/* Takes one frame of a file: 0, or -1 when it could not be queued (out of memory). */
typedef int (*lt_capture_frame_fn)(void *ud, int linktype, const uint8_t *frame, size_t caplen, lt_time_us ts);
/* Reads a pcap or pcapng file frame by frame into fn (the one file reader of
 * lt_capture_file and lt_workers_file); *last = the last frame's time (0:
 * none). 0 ok, -1 error: the file, or fn refused a frame (*err set, malloc'd). */
int lt_capture_read(const char *path, lt_capture_frame_fn fn, void *ud, lt_time_us *last, char **err);
/* Opens a capture file for libpcap the way lt_capture_read does (a stream
 * with a 1 MiB buffer filled by read(2), else libpcap's own open); NULL with errbuf
 * (PCAP_ERRBUF_SIZE bytes) set. For bench/pcap_loop's second baseline. */
struct pcap *lt_capture_open(const char *path, char *errbuf);

#endif
