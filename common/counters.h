/* counters.h -- one counter for every way input can be skipped or damaged.
 *
 * The rule of the project: nothing is dropped silently. Every packet,
 * stream, message or record that could not be decoded, reassembled, parsed,
 * stored or uploaded increments a counter here and logs a line. `replay`
 * prints all non-zero counters at the end; the daemon exports them.
 *
 * The list is an X-macro so the struct, the names and the printer never
 * drift apart. Add new counters at the end of the group they belong to. */
#ifndef LT_COUNTERS_H
#define LT_COUNTERS_H

#include <stdint.h>
#include <stdio.h>

#define LT_COUNTERS(X)                                                             \
    /* capture and decode */                                                      \
    X(packets, "packets read")                                                    \
    X(capture_bytes, "bytes of capture read")                                     \
    X(packets_truncated, "packets shorter than their headers (snaplen/damage)")   \
    X(packets_unsupported_link, "packets of an unsupported link type")            \
    X(packets_non_ip, "non-IP packets skipped")                                   \
    X(packets_non_tcp, "non-TCP IP packets skipped")                              \
    X(packets_bad_ip, "malformed IP headers")                                     \
    X(packets_bad_tcp, "malformed TCP headers")                                   \
    X(ipv4_fragments, "IPv4 fragments (not reassembled)")                         \
    X(ipv6_fragments, "IPv6 fragments (not reassembled)")                         \
    X(vxlan_packets, "VXLAN packets decapsulated (UDP 4789, e.g. Azure vTAP)")    \
    X(geneve_packets, "GENEVE packets decapsulated (UDP 6081)")                   \
    X(tunnel_errors, "malformed VXLAN/GENEVE headers or tunnels nested too deep") \
    /* flows and TCP reassembly */                                                \
    X(tcp_flows, "TCP connections tracked")                                       \
    X(tcp_midstream, "connections picked up mid-stream (no SYN)")                 \
    X(tcp_segments_ooo, "out-of-order segments buffered")                         \
    X(tcp_retransmit_bytes, "retransmitted/overlapping bytes dropped")            \
    X(tcp_holes, "holes in a TCP stream (lost segments)")                         \
    X(tcp_hole_bytes, "bytes missing in holes")                                   \
    X(tcp_memcap_hits, "times the reassembly memory cap forced a hole")           \
    X(tcp_idle_timeouts, "connections closed by idle timeout")                    \
    X(tcp_flows_evicted, "connections evicted because the flow table was full")   \
    X(tcp_resets, "connections ended by RST")                                     \
    /* application layer */                                                       \
    X(streams_non_http, "TCP streams that are not HTTP")                          \
    X(connections_unparsed, "connections not parsed: memory ran out as their parser started") \
    X(http_exchanges, "HTTP exchanges seen")                                      \
    X(http_incomplete, "HTTP exchanges incomplete (hole, missed start, cut)")     \
    X(http_parse_errors, "HTTP framing errors (resynchronized)")                  \
    X(http_resyncs, "HTTP parser resynchronizations at a message boundary")       \
    X(http_bodies_over_cap, "bodies larger than the body cap (truncated)")        \
    X(http_decode_errors, "Content-Encoding decode failures")                     \
    X(http2_connections, "HTTP/2 connections")                                    \
    X(http2_streams_dropped, "HTTP/2 streams dropped (headers undecodable)")      \
    X(http2_frame_errors, "HTTP/2 framing errors")                                \
    X(http2_length_complete, "HTTP/2 messages whole at content-length, END_STREAM not seen") \
    X(sse_events, "server-sent events parsed")                                    \
    X(json_errors, "JSON bodies or events that did not parse")                    \
    X(http_decode_bombs, "bodies whose decoding stopped at the expansion ratio")  \
    X(http2_header_limit_hits, "HTTP/2 header blocks over the decoded-size limit")\
    X(parser_budget_truncations, "bodies, heads or queued requests cut short by the memory budget (or by memory running out)") \
    /* records */                                                                 \
    X(llm_records, "LLM log records produced")                                    \
    X(gateway_records, "gateway log records produced")                            \
    X(usage_missing, "LLM records without reported usage")                        \
    X(non_llm_exchanges, "exchanges that are not LLM calls")                      \
    X(records_unwritten, "records not written: memory ran out (none with a secret left in)") \
    X(records_unprinted, "records whose --json line could not be printed: memory ran out (still stored)") \
    /* store */                                                                   \
    X(store_inserted, "records stored")                                           \
    X(store_duplicates, "records already in the store (replay)")                  \
    X(store_errors, "records that could not be stored")                           \
    X(store_evicted, "records evicted from the spool (size/age bound)")           \
    X(store_corrupt_moved, "corrupt spool files moved aside for a fresh one")           \
    X(store_queue_full, "records dropped: the spool writer's queue was full")     \
    /* uploader */                                                                \
    X(upload_rows, "rows accepted by Log Analytics")                              \
    X(upload_batches, "batches accepted by Log Analytics")                        \
    X(upload_retries, "upload attempts retried")                                  \
    X(upload_quarantined, "records quarantined after a 400")                      \
    X(upload_errors, "upload failures")                                           \
    X(upload_rows_backdated, "rows older than 2 days: Log Analytics sets TimeGenerated to ingestion time (CallTime keeps the call's)")

typedef struct lt_counters {
#define LT_COUNTER_FIELD(name, desc) uint64_t name;
    LT_COUNTERS(LT_COUNTER_FIELD)
#undef LT_COUNTER_FIELD
} lt_counters;

/* There is no global instance: every pipeline (one per capture worker), the
 * spool writer, the uploader and each proxy loop owns one lt_counters and
 * hands a pointer to the objects it creates; `replay` prints its own, and
 * `status` sums them with lt_counters_add(). Each struct is written by one
 * thread only. */
void lt_counters_reset(lt_counters *c);
/* into += from, counter by counter. */
void lt_counters_add(lt_counters *into, const lt_counters *from);
/* Prints every non-zero counter as "  name  value  (description)". */
void lt_counters_print(const lt_counters *c, FILE *out);
/* Every counter in a new JSON object (json_t *). */
struct json_t;
struct json_t *lt_counters_json(const lt_counters *c);

#endif
