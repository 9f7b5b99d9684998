/* decode.h -- link, VLAN, IP and TCP header decoding of one captured frame.
 *
 * A pure function: a frame and its DLT link type in, an lt_packet (addresses,
 * ports, TCP fields and a pointer to the payload inside the frame) out. No
 * copies: the payload points into the capture buffer. Frames that are not
 * TCP over IPv4/IPv6 return a reason, which the pipeline counts.
 *
 * VXLAN (UDP 4789) and GENEVE (UDP 6081) are decapsulated: Azure virtual
 * network TAP mirrors traffic in VXLAN, so the inner frame is decoded as if
 * it had been captured directly and its flow is tracked by inner addresses. */
#ifndef LT_DECODE_H
#define LT_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "../common/counters.h"
#include "../common/lt.h"

enum lt_decode_result {
    LT_DECODE_OK = 0,
    LT_DECODE_TRUNCATED,
    LT_DECODE_UNSUPPORTED_LINK,
    LT_DECODE_NON_IP,
    LT_DECODE_NON_TCP,
    LT_DECODE_BAD_IP,
    LT_DECODE_BAD_TCP,
    LT_DECODE_IPV4_FRAGMENT,
    LT_DECODE_IPV6_FRAGMENT,
    LT_DECODE_BAD_TUNNEL,      /* VXLAN/GENEVE header malformed, or nested too deep */
};

enum lt_tunnel { LT_TUNNEL_NONE = 0, LT_TUNNEL_VXLAN, LT_TUNNEL_GENEVE };

enum { LT_TCP_FIN = 0x01, LT_TCP_SYN = 0x02, LT_TCP_RST = 0x04, LT_TCP_PSH = 0x08, LT_TCP_ACK = 0x10 };

typedef struct lt_packet {
    lt_endpoint src, dst;
    uint32_t seq, ack;
    uint8_t flags;
    const uint8_t *tcp_hdr;  /* the TCP header inside the frame */
    const uint8_t *payload;
    size_t len;
    int vlan_depth;
    int tunnel;              /* enum lt_tunnel: the outermost encapsulation removed */
    int tunnel_depth;        /* tunnels removed (a tunnel inside a tunnel counts 2) */
    uint32_t vni;            /* VXLAN / GENEVE network identifier of the innermost tunnel */
} lt_packet;

int lt_decode_packet(int linktype, const uint8_t *frame, size_t caplen, lt_packet *out);
/* Counts a decode result. */
void lt_decode_count(lt_counters *ctr, int result);
/* Counts a decoded packet's decapsulation (vxlan_packets / geneve_packets). */
void lt_decode_count_tunnel(lt_counters *ctr, const lt_packet *pk);

#endif
