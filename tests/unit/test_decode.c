/* test_decode.c -- VXLAN and GENEVE decapsulation (regression tests for
 * capture/decode.c): the inner TCP segment is found with its inner
 * addresses and payload; malformed or too deeply nested tunnels are
 * BAD_TUNNEL; other UDP is NON_TCP; cuts anywhere are TRUNCATED, never a
 * read past the frame; and a real fixture capture wrapped frame by frame in
 * VXLAN gives byte-identical records through the pipeline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capture/decode.h"
#include "capture/pipeline.h"

static size_t put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; return 2; }

/* Ethernet + IPv4 + TCP (10.0.0.1:40000 -> 10.0.0.2:80) + "GET /" */
static size_t inner_frame(uint8_t *f)
{
    static const char pay[] = "GET / HTTP/1.1\r\n\r\n";
    size_t pl = sizeof pay - 1;
    memset(f, 0, 14 + 20 + 20);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45; put16(ip + 2, (uint16_t)(20 + 20 + pl)); ip[8] = 64; ip[9] = 6;
    memcpy(ip + 12, (uint8_t[]){10, 0, 0, 1}, 4); memcpy(ip + 16, (uint8_t[]){10, 0, 0, 2}, 4);
    uint8_t *tcp = ip + 20;
    put16(tcp, 40000); put16(tcp + 2, 80); tcp[12] = 5 << 4; tcp[13] = 0x18;
    memcpy(tcp + 20, pay, pl);
    return 14 + 20 + 20 + pl;
}

/* Outer Ethernet + IPv4 (192.168.0.1 -> 192.168.0.2) + UDP to dport + tunnel header, then inner. */
static size_t wrap(uint8_t *out, const uint8_t *inner, size_t n, uint16_t dport, const uint8_t *hdr, size_t hl)
{
    memset(out, 0, 14 + 20 + 8);
    put16(out + 12, 0x0800);
    uint8_t *ip = out + 14;
    ip[0] = 0x45; put16(ip + 2, (uint16_t)(20 + 8 + hl + n)); ip[8] = 64; ip[9] = 17;
    memcpy(ip + 12, (uint8_t[]){192, 168, 0, 1}, 4); memcpy(ip + 16, (uint8_t[]){192, 168, 0, 2}, 4);
    uint8_t *udp = ip + 20;
    put16(udp, 54321); put16(udp + 2, dport); put16(udp + 4, (uint16_t)(8 + hl + n));
    memcpy(udp + 8, hdr, hl);
    memcpy(udp + 8 + hl, inner, n);
    return 14 + 20 + 8 + hl + n;
}

static const uint8_t vxlan_hdr[8] = {0x08, 0, 0, 0, 0x00, 0x12, 0x34, 0};   /* VNI 0x1234 */

static void expect_inner(const lt_packet *pk)
{
    assert_int_equal(pk->src.family, 4);
    assert_memory_equal(pk->src.addr, ((uint8_t[]){10, 0, 0, 1}), 4);
    assert_memory_equal(pk->dst.addr, ((uint8_t[]){10, 0, 0, 2}), 4);
    assert_int_equal(pk->src.port, 40000);
    assert_int_equal(pk->dst.port, 80);
    assert_int_equal(pk->len, 18);
    assert_memory_equal(pk->payload, "GET / HTTP/1.1\r\n\r\n", 18);
}

static void test_vxlan(void **st)
{
    (void)st;
    uint8_t in[256], f[512];
    size_t n = wrap(f, in, inner_frame(in), 4789, vxlan_hdr, 8);
    lt_packet pk;
    assert_int_equal(lt_decode_packet(DLT_EN10MB, f, n, &pk), LT_DECODE_OK);
    expect_inner(&pk);
    assert_int_equal(pk.tunnel, LT_TUNNEL_VXLAN);
    assert_int_equal(pk.vni, 0x1234);
    lt_counters c = {0};
    lt_decode_count_tunnel(&c, &pk);
    assert_int_equal(c.vxlan_packets, 1);
}

static void test_geneve_with_options(void **st)
{
    (void)st;
    uint8_t in[256], f[512];
    /* opt len 2 (8 bytes of options), protocol 0x6558 (Ethernet), VNI 7 */
    uint8_t g[16] = {0x02, 0, 0x65, 0x58, 0, 0, 7, 0, 0x01, 0x02, 0x03, 0x01, 1, 2, 3, 4};
    size_t n = wrap(f, in, inner_frame(in), 6081, g, sizeof g);
    lt_packet pk;
    assert_int_equal(lt_decode_packet(DLT_EN10MB, f, n, &pk), LT_DECODE_OK);
    expect_inner(&pk);
    assert_int_equal(pk.tunnel, LT_TUNNEL_GENEVE);
    assert_int_equal(pk.vni, 7);
    /* protocol 0x0800: the inner packet is IP without Ethernet */
    uint8_t g2[8] = {0, 0, 0x08, 0x00, 0, 0, 9, 0};
    size_t ilen = inner_frame(in);
    n = wrap(f, in + 14, ilen - 14, 6081, g2, sizeof g2);
    assert_int_equal(lt_decode_packet(DLT_EN10MB, f, n, &pk), LT_DECODE_OK);
    expect_inner(&pk);
}

static void test_bad_and_nested(void **st)
{
    (void)st;
    uint8_t in[256], f[512], f2[768], f3[1024];
    size_t n = wrap(f, in, inner_frame(in), 4789, (uint8_t[8]){0}, 8);   /* I flag clear */
    lt_packet pk;
    assert_int_equal(lt_decode_packet(DLT_EN10MB, f, n, &pk), LT_DECODE_BAD_TUNNEL);
    lt_counters c = {0};
    lt_decode_count(&c, LT_DECODE_BAD_TUNNEL);
    assert_int_equal(c.tunnel_errors, 1);
    /* two tunnels deep is allowed, three is not */
    n = wrap(f, in, inner_frame(in), 4789, vxlan_hdr, 8);
    size_t n2 = wrap(f2, f, n, 4789, vxlan_hdr, 8);
    assert_int_equal(lt_decode_packet(DLT_EN10MB, f2, n2, &pk), LT_DECODE_OK);
    expect_inner(&pk);
    size_t n3 = wrap(f3, f2, n2, 6081, (uint8_t[8]){0, 0, 0x65, 0x58, 0, 0, 1, 0}, 8);
    assert_int_equal(lt_decode_packet(DLT_EN10MB, f3, n3, &pk), LT_DECODE_BAD_TUNNEL);
    /* other UDP is not a tunnel */
    n = wrap(f, in, inner_frame(in), 53, vxlan_hdr, 8);
    assert_int_equal(lt_decode_packet(DLT_EN10MB, f, n, &pk), LT_DECODE_NON_TCP);
}

static void test_every_cut_is_safe(void **st)
{
    (void)st;
    uint8_t in[256], f[512];
    size_t n = wrap(f, in, inner_frame(in), 4789, vxlan_hdr, 8);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);   /* exact size: ASan sees any over-read */
        memcpy(copy, f, cut);
        lt_packet pk;
        int r = lt_decode_packet(DLT_EN10MB, copy, cut, &pk);
        if (r == LT_DECODE_OK) assert_true(pk.payload + pk.len <= copy + cut);
        else assert_true(r == LT_DECODE_TRUNCATED || r == LT_DECODE_NON_IP);
        free(copy);
    }
}

/* ---- a real capture, wrapped in VXLAN, gives the same records ---- */

typedef struct { char **v; size_t n; } recs;

static void collect(void *ud, lt_record *rec)
{
    recs *r = ud;
    r->v = realloc(r->v, sizeof *r->v * (r->n + 1));
    r->v[r->n++] = strdup(rec->text ? rec->text : "(no text)");
}

static void run_capture(const char *path, int vxlan, recs *out, lt_counters *ctr)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, eb);
    assert_non_null(pc);
    lt_pipeline_cfg cfg;
    lt_pipeline_cfg_defaults(&cfg);
    lt_pipeline *pl = lt_pipeline_create(&cfg, collect, out);
    struct pcap_pkthdr *h;
    const u_char *d;
    lt_time_us ts = 0;
    static uint8_t buf[300000];
    while (pcap_next_ex(pc, &h, &d) == 1) {
        ts = (lt_time_us)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        if (!vxlan) { lt_pipeline_packet(pl, pcap_datalink(pc), d, h->caplen, ts); continue; }
        assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
        size_t n = wrap(buf, d, h->caplen, 4789, vxlan_hdr, 8);
        lt_pipeline_packet(pl, DLT_EN10MB, buf, n, ts);
    }
    lt_pipeline_finish(pl, ts);
    *ctr = *lt_pipeline_counters(pl);
    lt_pipeline_destroy(pl);
    pcap_close(pc);
}

static void test_fixture_through_vxlan(void **st)
{
    (void)st;
    recs plain = {0}, wrapped = {0};
    lt_counters cp, cw;
    run_capture("tests/fixtures/http1/chat.pcap", 0, &plain, &cp);
    run_capture("tests/fixtures/http1/chat.pcap", 1, &wrapped, &cw);
    if (plain.n != wrapped.n) fprintf(stderr, "expected %zu records through VXLAN, got %zu\n", plain.n, wrapped.n);
    assert_int_equal(plain.n, wrapped.n);
    assert_true(plain.n > 0);
    for (size_t i = 0; i < plain.n; i++) {
        if (strcmp(plain.v[i], wrapped.v[i]))
            fprintf(stderr, "record %zu differs:\n plain   %s\n wrapped %s\n", i, plain.v[i], wrapped.v[i]);
        assert_string_equal(plain.v[i], wrapped.v[i]);
        free(plain.v[i]);
        free(wrapped.v[i]);
    }
    assert_int_equal(cw.vxlan_packets, cp.packets);
    assert_int_equal(cw.tcp_flows, cp.tcp_flows);
    free(plain.v);
    free(wrapped.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vxlan),
        cmocka_unit_test(test_geneve_with_options),
        cmocka_unit_test(test_bad_and_nested),
        cmocka_unit_test(test_every_cut_is_safe),
        cmocka_unit_test(test_fixture_through_vxlan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
