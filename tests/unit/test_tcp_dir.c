/* test_stream_tcp.c -- TCP reassembly and frame decoding: in order, out of
 * order, retransmits and overlaps, holes proven by the peer, holes at close,
 * sequence wraparound, the memory cap; every link type the decoder knows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>
#include "capture/decode.h"
#include "capture/tcp_dir.h"
#include "common/counters.h"

/* The counters every object under test counts into. */
static lt_counters tctr;

typedef struct out {
    char data[4096];
    size_t len;
    uint64_t gaps;
    int eof;
} out;

static void on_data(void *ud, int side, const uint8_t *p, size_t n, lt_time_us ts)
{
    (void)side; (void)ts;
    out *o = ud;
    memcpy(o->data + o->len, p, n);
    o->len += n;
}
static void on_gap(void *ud, int side, uint64_t n, lt_time_us ts) { (void)side; (void)ts; out *o = ud; o->gaps += n; o->data[o->len++] = '#'; }
static void on_eof(void *ud, int side, lt_time_us ts) { (void)side; (void)ts; ((out *)ud)->eof = 1; }

static lt_tcp_mem mem = {0, 1 << 20, 1 << 16, &tctr, NULL};

static void seg(lt_tcp_dir *d, out *o, uint32_t seq, const char *s, int fin)
{
    lt_tcp_sink k = {on_data, on_gap, on_eof, o};
    lt_tcp_dir_segment(d, 0, seq, (const uint8_t *)s, strlen(s), fin, 1, &mem, &k);
}

static void test_in_order(void **st)
{
    (void)st;
    lt_tcp_dir d; out o = {0};
    lt_tcp_dir_init(&d);
    lt_tcp_dir_syn(&d, 99);
    seg(&d, &o, 100, "hello ", 0);
    seg(&d, &o, 106, "world", 1);
    assert_string_equal(o.data, "hello world");
    assert_int_equal(o.eof, 1);
    lt_tcp_dir_free(&d, &mem);
}

static void test_out_of_order_and_retransmit(void **st)
{
    (void)st;
    lt_tcp_dir d; out o = {0};
    lt_tcp_dir_init(&d);
    lt_tcp_dir_syn(&d, 0);
    seg(&d, &o, 7, "world", 0);          /* early */
    seg(&d, &o, 1, "hello ", 0);         /* fills the gap */
    seg(&d, &o, 1, "hello ", 0);         /* retransmit */
    seg(&d, &o, 4, "lo wor", 0);         /* overlap */
    seg(&d, &o, 10, "ld!", 0);           /* partial overlap */
    assert_string_equal(o.data, "hello world!");
    assert_int_equal(o.gaps, 0);
    lt_tcp_dir_free(&d, &mem);
}

static void test_hole_proven_by_peer(void **st)
{
    (void)st;
    lt_tcp_dir d; out o = {0};
    lt_tcp_sink k = {on_data, on_gap, on_eof, &o};
    lt_tcp_dir_init(&d);
    lt_tcp_dir_syn(&d, 0);
    seg(&d, &o, 1, "abc", 0);
    seg(&d, &o, 10, "xyz", 0);           /* 4..9 lost by the capture */
    assert_string_equal(o.data, "abc");
    lt_tcp_dir_peer_answered(&d, 0, 13, 2, &mem, &k);
    assert_string_equal(o.data, "abc#xyz");
    assert_int_equal(o.gaps, 6);
    lt_tcp_dir_free(&d, &mem);
}

static void test_hole_at_close(void **st)
{
    (void)st;
    lt_tcp_dir d; out o = {0};
    lt_tcp_sink k = {on_data, on_gap, on_eof, &o};
    lt_tcp_dir_init(&d);
    seg(&d, &o, 1000, "first", 0);       /* no SYN: mid-stream */
    seg(&d, &o, 1010, "later", 1);
    lt_tcp_dir_flush(&d, 0, 3, &mem, &k);
    assert_string_equal(o.data, "first#later");
    assert_int_equal(o.eof, 1);
    lt_tcp_dir_free(&d, &mem);
}

static void test_wraparound(void **st)
{
    (void)st;
    lt_tcp_dir d; out o = {0};
    lt_tcp_dir_init(&d);
    lt_tcp_dir_syn(&d, 0xfffffffc);
    seg(&d, &o, 0x00000003, "CD", 0);    /* after the wrap, early */
    seg(&d, &o, 0xfffffffd, "0123AB", 0);
    assert_string_equal(o.data, "0123ABCD");
    lt_tcp_dir_free(&d, &mem);
}

static void test_memcap(void **st)
{
    (void)st;
    lt_tcp_dir d; out o = {0};
    lt_tcp_mem small = {0, 1 << 20, 8, &tctr, NULL};
    lt_tcp_sink k = {on_data, on_gap, on_eof, &o};
    uint64_t hits = tctr.tcp_memcap_hits;
    lt_tcp_dir_init(&d);
    lt_tcp_dir_syn(&d, 0);
    lt_tcp_dir_segment(&d, 0, 5, (const uint8_t *)"0123456789", 10, 0, 1, &small, &k);
    assert_int_equal(tctr.tcp_memcap_hits, hits + 1);
    assert_string_equal(o.data, "#0123456789");
    lt_tcp_dir_free(&d, &small);
    assert_int_equal(small.used, 0);
}

/* ---- decode ---- */

static const uint8_t ipv4_tcp[] = {
    0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
    'G', 'E', 'T', ' ',
};

static void check_decoded(int lt, const uint8_t *f, size_t n)
{
    lt_packet p;
    assert_int_equal(lt_decode_packet(lt, f, n, &p), LT_DECODE_OK);
    assert_int_equal(p.src.port, 40000);
    assert_int_equal(p.dst.port, 443);
    assert_int_equal(p.len, 4);
    assert_memory_equal(p.payload, "GET ", 4);
}

static void test_decode_link_types(void **st)
{
    (void)st;
    uint8_t f[256];
    check_decoded(DLT_RAW, ipv4_tcp, sizeof ipv4_tcp);
    memset(f, 0, 14); f[12] = 0x08; memcpy(f + 14, ipv4_tcp, sizeof ipv4_tcp);
    check_decoded(DLT_EN10MB, f, 14 + sizeof ipv4_tcp);
    memset(f, 0, 22); f[12] = 0x88; f[13] = 0xa8; f[16] = 0x81; f[17] = 0x00; f[20] = 0x08;
    memcpy(f + 22, ipv4_tcp, sizeof ipv4_tcp);
    check_decoded(DLT_EN10MB, f, 22 + sizeof ipv4_tcp);   /* QinQ */
    memset(f, 0, 16); f[14] = 0x08; memcpy(f + 16, ipv4_tcp, sizeof ipv4_tcp);
    check_decoded(DLT_LINUX_SLL, f, 16 + sizeof ipv4_tcp);
    memset(f, 0, 20); f[0] = 0x08; memcpy(f + 20, ipv4_tcp, sizeof ipv4_tcp);
    check_decoded(DLT_LINUX_SLL2, f, 20 + sizeof ipv4_tcp);
    memset(f, 0, 4); f[0] = 2; memcpy(f + 4, ipv4_tcp, sizeof ipv4_tcp);
    check_decoded(DLT_NULL, f, 4 + sizeof ipv4_tcp);
    f[0] = 0; f[3] = 2;                                   /* other byte order */
    check_decoded(DLT_NULL, f, 4 + sizeof ipv4_tcp);
    /* Ethernet padding after the IP packet is not payload */
    memset(f, 0, 14); f[12] = 0x08; memcpy(f + 14, ipv4_tcp, sizeof ipv4_tcp); memset(f + 14 + sizeof ipv4_tcp, 0xee, 10);
    check_decoded(DLT_EN10MB, f, 24 + sizeof ipv4_tcp);
}

static void test_decode_ipv6_ext(void **st)
{
    (void)st;
    uint8_t f[200] = {0x60, 0, 0, 0, 0, 0, 0, 64};
    size_t tcp_len = sizeof ipv4_tcp - 20;
    f[4] = 0; f[5] = (uint8_t)(8 + 8 + tcp_len);
    f[6] = 0;                            /* hop-by-hop */
    f[8 + 15] = 1; f[24 + 15] = 2;
    uint8_t *e = f + 40;
    e[0] = 60; e[1] = 0;                 /* then destination options, 8 bytes */
    e[8] = 6; e[9] = 0;                  /* then TCP */
    memcpy(f + 56, ipv4_tcp + 20, tcp_len);
    lt_packet p;
    assert_int_equal(lt_decode_packet(DLT_RAW, f, 56 + tcp_len, &p), LT_DECODE_OK);
    assert_int_equal(p.src.family, 6);
    assert_int_equal(p.dst.port, 443);
    f[56 - 8] = 44;                      /* a fragment header instead of TCP */
    assert_int_equal(lt_decode_packet(DLT_RAW, f, 56 + tcp_len, &p), LT_DECODE_IPV6_FRAGMENT);
}

static void test_decode_errors(void **st)
{
    (void)st;
    uint8_t f[64];
    lt_packet p;
    memcpy(f, ipv4_tcp, sizeof ipv4_tcp);
    assert_int_equal(lt_decode_packet(DLT_RAW, f, 30, &p), LT_DECODE_TRUNCATED);
    f[6] = 0x20;                         /* more fragments */
    assert_int_equal(lt_decode_packet(DLT_RAW, f, sizeof ipv4_tcp, &p), LT_DECODE_IPV4_FRAGMENT);
    memcpy(f, ipv4_tcp, sizeof ipv4_tcp); f[9] = 17;
    assert_int_equal(lt_decode_packet(DLT_RAW, f, sizeof ipv4_tcp, &p), LT_DECODE_NON_TCP);
    uint8_t arp[20] = {0}; arp[12] = 0x08; arp[13] = 0x06;
    assert_int_equal(lt_decode_packet(DLT_EN10MB, arp, sizeof arp, &p), LT_DECODE_NON_IP);
    assert_int_equal(lt_decode_packet(9999, arp, sizeof arp, &p), LT_DECODE_UNSUPPORTED_LINK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order), cmocka_unit_test(test_out_of_order_and_retransmit),
        cmocka_unit_test(test_hole_proven_by_peer), cmocka_unit_test(test_hole_at_close),
        cmocka_unit_test(test_wraparound), cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_decode_link_types), cmocka_unit_test(test_decode_ipv6_ext),
        cmocka_unit_test(test_decode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
