/* decode.c -- from a captured frame to the TCP segment inside it.
 *
 * Link layers: Ethernet (with any stack of 802.1Q / 802.1ad tags, as QinQ
 * trunks and vTAP mirrors produce), Linux cooked capture v1 and v2 (what
 * `tcpdump -i any` writes), BSD loopback (NULL/LOOP, either byte order) and
 * raw IP. Network: IPv4 (options; fragments are counted and skipped: a
 * fragmented HTTP segment is rare on a gateway and not worth a reassembler)
 * and IPv6 with its extension-header chain. Lengths come from the IP header,
 * so Ethernet padding never leaks into the payload.
 *
 * Tunnels: a UDP datagram to port 4789 (VXLAN, RFC 7348: 8-byte header with
 * the I flag, then an Ethernet frame) or 6081 (GENEVE, RFC 8926: 8 bytes plus
 * options, then the frame named by its protocol type) is decapsulated and
 * the inner frame decoded by the same functions, at most LT_TUNNEL_MAX deep,
 * so a crafted tunnel-in-tunnel cannot recurse without bound. The outer
 * addresses are overwritten by the inner ones: flows are the mirrored
 * connection's, not the mirror's. */
#include <pcap/dlt.h>
#include <string.h>
#include "../common/counters.h"
#include "decode.h"

#define LT_VLAN_MAX 8
#define LT_TUNNEL_MAX 2
#define LT_PORT_VXLAN 4789
#define LT_PORT_GENEVE 6081

static int lt_decode_ethernet(const uint8_t *p, size_t len, lt_packet *out);
static int lt_decode_ethertype(uint16_t type, const uint8_t *p, size_t len, lt_packet *out);
static int lt_decode_udp(const uint8_t *p, size_t len, lt_packet *out);

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int lt_decode_tcp(const uint8_t *p, size_t len, lt_packet *out)
{
    if (len < 20) return LT_DECODE_TRUNCATED;
    size_t hl = (size_t)(p[12] >> 4) * 4;
    if (hl < 20) return LT_DECODE_BAD_TCP;
    if (hl > len) return LT_DECODE_TRUNCATED;
    out->src.port = rd16(p);
    out->dst.port = rd16(p + 2);
    out->seq = rd32(p + 4);
    out->ack = rd32(p + 8);
    out->flags = p[13];
    out->tcp_hdr = p;
    out->payload = p + hl;
    out->len = len - hl;
    return LT_DECODE_OK;
}

static int lt_decode_ipv4(const uint8_t *p, size_t caplen, lt_packet *out)
{
    if (caplen < 20) return LT_DECODE_TRUNCATED;
    if ((p[0] >> 4) != 4) return LT_DECODE_BAD_IP;
    size_t hl = (size_t)(p[0] & 0x0f) * 4, tot = rd16(p + 2);
    if (hl < 20 || tot < hl) return LT_DECODE_BAD_IP;
    if (tot > caplen) tot = caplen; /* snaplen: payload is cut, TCP reassembly sees a hole */
    if (hl > tot) return LT_DECODE_TRUNCATED;
    uint16_t frag = rd16(p + 6);
    if ((frag & 0x3fff) != 0) return LT_DECODE_IPV4_FRAGMENT;
    if (p[9] == 17) return lt_decode_udp(p + hl, tot - hl, out);
    if (p[9] != 6) return LT_DECODE_NON_TCP;
    out->src.family = out->dst.family = 4;
    memcpy(out->src.addr, p + 12, 4);
    memcpy(out->dst.addr, p + 16, 4);
    return lt_decode_tcp(p + hl, tot - hl, out);
}

static int lt_decode_ipv6(const uint8_t *p, size_t caplen, lt_packet *out)
{
    if (caplen < 40) return LT_DECODE_TRUNCATED;
    if ((p[0] >> 4) != 6) return LT_DECODE_BAD_IP;
    size_t plen = rd16(p + 4), end = 40 + plen;
    if (end > caplen) end = caplen;
    uint8_t nh = p[6];
    size_t off = 40;
    out->src.family = out->dst.family = 6;
    memcpy(out->src.addr, p + 8, 16);
    memcpy(out->dst.addr, p + 24, 16);
    for (int hops = 0; hops < 16; hops++) {
        switch (nh) {
        case 6: return lt_decode_tcp(p + off, end - off, out);
        case 0: case 43: case 60: /* hop-by-hop, routing, destination options */
            if (off + 8 > end) return LT_DECODE_TRUNCATED;
            nh = p[off];
            off += ((size_t)p[off + 1] + 1) * 8;
            break;
        case 51: /* AH: length in 4-octet units minus 2 */
            if (off + 8 > end) return LT_DECODE_TRUNCATED;
            nh = p[off];
            off += ((size_t)p[off + 1] + 2) * 4;
            break;
        case 17: return lt_decode_udp(p + off, end - off, out);
        case 44: return LT_DECODE_IPV6_FRAGMENT;
        default: return LT_DECODE_NON_TCP;
        }
        if (off > end) return LT_DECODE_TRUNCATED;
    }
    return LT_DECODE_BAD_IP;
}

static int lt_decode_ethertype(uint16_t type, const uint8_t *p, size_t len, lt_packet *out)
{
    if (type == 0x0800) return lt_decode_ipv4(p, len, out);
    if (type == 0x86dd) return lt_decode_ipv6(p, len, out);
    return LT_DECODE_NON_IP;
}

static int lt_decode_ethernet(const uint8_t *p, size_t len, lt_packet *out)
{
    if (len < 14) return LT_DECODE_TRUNCATED;
    size_t off = 12;
    uint16_t type = rd16(p + off);
    while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
        if (++out->vlan_depth > LT_VLAN_MAX) return LT_DECODE_NON_IP;
        off += 4;
        if (off + 2 > len) return LT_DECODE_TRUNCATED;
        type = rd16(p + off);
    }
    off += 2;
    return lt_decode_ethertype(type, p + off, len - off, out);
}

static int lt_decode_ip_by_version(const uint8_t *p, size_t len, lt_packet *out)
{
    if (len < 1) return LT_DECODE_TRUNCATED;
    if ((p[0] >> 4) == 4) return lt_decode_ipv4(p, len, out);
    if ((p[0] >> 4) == 6) return lt_decode_ipv6(p, len, out);
    return LT_DECODE_NON_IP;
}

static int lt_decode_null(const uint8_t *p, size_t len, lt_packet *out)
{
    if (len < 4) return LT_DECODE_TRUNCATED;
    uint32_t af = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (af > 0xffff) af = rd32(p); /* written in the other byte order */
    if (af == 2) return lt_decode_ipv4(p + 4, len - 4, out);
    if (af == 24 || af == 28 || af == 30 || af == 10) return lt_decode_ipv6(p + 4, len - 4, out);
    return LT_DECODE_NON_IP;
}

int lt_decode_packet(int linktype, const uint8_t *p, size_t len, lt_packet *out)
{
    memset(out, 0, sizeof *out);
    switch (linktype) {
    case DLT_EN10MB:
        return lt_decode_ethernet(p, len, out);
    case DLT_LINUX_SLL:
        if (len < 16) return LT_DECODE_TRUNCATED;
        return lt_decode_ethertype(rd16(p + 14), p + 16, len - 16, out);
    case DLT_LINUX_SLL2:
        if (len < 20) return LT_DECODE_TRUNCATED;
        return lt_decode_ethertype(rd16(p), p + 20, len - 20, out);
    case DLT_NULL:
    case DLT_LOOP:
        return lt_decode_null(p, len, out);
    case DLT_RAW:
    case 101: /* LINKTYPE_RAW, should libpcap pass it through */
    case 14:
        return lt_decode_ip_by_version(p, len, out);
    case DLT_IPV4:
        return lt_decode_ipv4(p, len, out);
    case DLT_IPV6:
        return lt_decode_ipv6(p, len, out);
    default:
        return LT_DECODE_UNSUPPORTED_LINK;
    }
}

static int lt_decode_vxlan(const uint8_t *p, size_t len, lt_packet *out)
{
    if (len < 8) return LT_DECODE_TRUNCATED;
    if (!(p[0] & 0x08)) return LT_DECODE_BAD_TUNNEL;   /* I flag: the VNI is valid */
    out->vni = rd32(p + 4) >> 8;
    if (!out->tunnel) out->tunnel = LT_TUNNEL_VXLAN;
    return lt_decode_ethernet(p + 8, len - 8, out);
}

static int lt_decode_geneve(const uint8_t *p, size_t len, lt_packet *out)
{
    if (len < 8) return LT_DECODE_TRUNCATED;
    if (p[0] >> 6) return LT_DECODE_BAD_TUNNEL;          /* version 0 only */
    size_t hl = 8 + (size_t)(p[0] & 0x3f) * 4;
    if (hl > len) return LT_DECODE_TRUNCATED;
    uint16_t proto = rd16(p + 2);
    out->vni = rd32(p + 4) >> 8;
    if (!out->tunnel) out->tunnel = LT_TUNNEL_GENEVE;
    if (proto == 0x6558) return lt_decode_ethernet(p + hl, len - hl, out);   /* transparent Ethernet bridging */
    return lt_decode_ethertype(proto, p + hl, len - hl, out);
}

/* UDP: only the tunnel ports carry TCP inside; anything else is skipped. */
static int lt_decode_udp(const uint8_t *p, size_t len, lt_packet *out)
{
    if (len < 8) return LT_DECODE_TRUNCATED;
    uint16_t dport = rd16(p + 2);
    if (dport != LT_PORT_VXLAN && dport != LT_PORT_GENEVE) return LT_DECODE_NON_TCP;
    if (++out->tunnel_depth > LT_TUNNEL_MAX) return LT_DECODE_BAD_TUNNEL;
    if (dport == LT_PORT_VXLAN) return lt_decode_vxlan(p + 8, len - 8, out);
    return lt_decode_geneve(p + 8, len - 8, out);
}

void lt_decode_count_tunnel(lt_counters *ctr, const lt_packet *pk)
{
    if (pk->tunnel == LT_TUNNEL_VXLAN) ctr->vxlan_packets++;
    else if (pk->tunnel == LT_TUNNEL_GENEVE) ctr->geneve_packets++;
}

void lt_decode_count(lt_counters *ctr, int r)
{
    switch (r) {
    case LT_DECODE_TRUNCATED: ctr->packets_truncated++; break;
    case LT_DECODE_UNSUPPORTED_LINK: ctr->packets_unsupported_link++; break;
    case LT_DECODE_NON_IP: ctr->packets_non_ip++; break;
    case LT_DECODE_NON_TCP: ctr->packets_non_tcp++; break;
    case LT_DECODE_BAD_IP: ctr->packets_bad_ip++; break;
    case LT_DECODE_BAD_TCP: ctr->packets_bad_tcp++; break;
    case LT_DECODE_IPV4_FRAGMENT: ctr->ipv4_fragments++; break;
    case LT_DECODE_IPV6_FRAGMENT: ctr->ipv6_fragments++; break;
    case LT_DECODE_BAD_TUNNEL: ctr->tunnel_errors++; break;
    default: break;
    }
}
