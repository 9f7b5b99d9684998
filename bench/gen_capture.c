/* gen_capture.c -- writes a large, realistic capture for `make bench`.
 *
 *   gen_capture OUT.pcap MEGABYTES [CONCURRENCY]
 *
 * Ethernet/IPv4/TCP with handshakes, MSS-sized segments, ACKs and FINs.
 * Connections carry keep-alive Azure OpenAI chat calls: requests of 1-4 KB
 * of JSON messages; responses alternate between a non-streamed JSON body and
 * an SSE stream of Azure-shaped chunks (the empty-choices first chunk, a role
 * chunk, a few hundred content deltas, a finish chunk, a usage chunk,
 * [DONE]). CONCURRENCY connections (default 64) are open at any time and
 * their packets interleave, as on a gateway. A fixed seed makes the file
 * reproducible. Prints "exchanges N bytes B" on stdout. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSS 1448

typedef struct conn {
    uint32_t cseq, sseq;
    uint16_t cport;
    int calls_left;
    int active;
} conn;

static pcap_dumper_t *out;
static uint64_t written, exchanges;
static struct timeval now = {1795000000, 0};
static uint32_t rng = 12345;

static uint32_t rnd(void) { rng = rng * 1103515245 + 12345; return rng >> 8; }

static void tick(int us)
{
    now.tv_usec += us;
    while (now.tv_usec >= 1000000) { now.tv_usec -= 1000000; now.tv_sec++; }
}

static void frame(const conn *c, int to_server, uint8_t flags, uint32_t seq, uint32_t ack, const char *p, size_t n)
{
    uint8_t f[14 + 20 + 20 + MSS];
    memset(f, 0, 54);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *tcp = ip + 20;
    ip[0] = 0x45; ip[8] = 64; ip[9] = 6;
    size_t tot = 40 + n;
    ip[2] = (uint8_t)(tot >> 8); ip[3] = (uint8_t)tot;
    uint8_t cli[4] = {10, 1, (uint8_t)(c->cport >> 8), (uint8_t)c->cport}, srv[4] = {10, 0, 0, 5};
    memcpy(ip + 12, to_server ? cli : srv, 4);
    memcpy(ip + 16, to_server ? srv : cli, 4);
    uint16_t sp = to_server ? c->cport : 443, dp = to_server ? 443 : c->cport;
    tcp[0] = (uint8_t)(sp >> 8); tcp[1] = (uint8_t)sp; tcp[2] = (uint8_t)(dp >> 8); tcp[3] = (uint8_t)dp;
    tcp[4] = (uint8_t)(seq >> 24); tcp[5] = (uint8_t)(seq >> 16); tcp[6] = (uint8_t)(seq >> 8); tcp[7] = (uint8_t)seq;
    tcp[8] = (uint8_t)(ack >> 24); tcp[9] = (uint8_t)(ack >> 16); tcp[10] = (uint8_t)(ack >> 8); tcp[11] = (uint8_t)ack;
    tcp[12] = 0x50; tcp[13] = flags; tcp[14] = 0xff; tcp[15] = 0xff;
    if (n) memcpy(tcp + 20, p, n); /* a bare SYN or ACK comes with p == NULL */
    struct pcap_pkthdr h = {now, (bpf_u_int32)(54 + n), (bpf_u_int32)(54 + n)};
    pcap_dump((u_char *)out, &h, f);
    written += h.caplen + 16;
    tick(3);
}

/* Sends a byte string from one side in MSS segments; the peer ACKs every other one. */
static void send_bytes(conn *c, int to_server, const char *p, size_t n)
{
    uint32_t *seq = to_server ? &c->cseq : &c->sseq, *ack = to_server ? &c->sseq : &c->cseq;
    int k = 0;
    for (size_t off = 0; off < n; off += MSS) {
        size_t len = n - off < MSS ? n - off : MSS;
        frame(c, to_server, 0x18, *seq, *ack, p + off, len);
        *seq += (uint32_t)len;
        if (++k % 2 == 0) frame(c, !to_server, 0x10, *ack, *seq, NULL, 0);
    }
    frame(c, !to_server, 0x10, *ack, *seq, NULL, 0);
}

static const char *words[] = {"the ", "gateway ", "logs ", "every ", "call ", "안녕 ", "token ", "stream ", "Azure ", "model "};

static size_t make_request(char *b, size_t cap, int stream)
{
    char body[8192];
    size_t n = 0, target = 1000 + rnd() % 3000;
    n += (size_t)snprintf(body + n, sizeof body - n, "{\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},{\"role\":\"user\",\"content\":\"");
    while (n < target) n += (size_t)snprintf(body + n, sizeof body - n, "%s", words[rnd() % 10]);
    n += (size_t)snprintf(body + n, sizeof body - n, "\"}],\"max_tokens\":800%s}", stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "");
    return (size_t)snprintf(b, cap, "POST /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n"
                            "Host: aoai.example.com\r\napi-key: bench-key-%u\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\n\r\n%s", rnd() % 50, n, body);
}

static size_t make_stream(char *b, size_t cap)
{
    size_t n = (size_t)snprintf(b, cap, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                                "Transfer-Encoding: chunked\r\nx-request-id: r-%u\r\nx-ms-region: East US 2\r\n\r\n", rnd());
    char ev[1024];
    int chunks = 150 + (int)(rnd() % 300);
    for (int i = -2; i <= chunks + 2; i++) {
        int m;
        if (i == -2) m = snprintf(ev, sizeof ev, "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}]}\n\n");
        else if (i == chunks + 1) m = snprintf(ev, sizeof ev, "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", chunks, chunks + 900);
        else if (i == chunks + 2) m = snprintf(ev, sizeof ev, "data: [DONE]\n\n");
        else if (i == chunks) m = snprintf(ev, sizeof ev, "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1795000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
        else m = snprintf(ev, sizeof ev, "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1795000000,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"finish_reason\":null,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}],\"usage\":null}\n\n", words[rnd() % 10]);
        if (n + (size_t)m + 32 > cap) break;
        n += (size_t)snprintf(b + n, cap - n, "%x\r\n%s\r\n", m, ev);
    }
    n += (size_t)snprintf(b + n, cap - n, "0\r\n\r\n");
    return n;
}

static size_t make_json(char *b, size_t cap)
{
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"id\":\"chatcmpl-j\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":\"");
    size_t target = 800 + rnd() % 2000;
    while (n < target) n += (size_t)snprintf(body + n, sizeof body - n, "%s", words[rnd() % 10]);
    n += (size_t)snprintf(body + n, sizeof body - n, "\"}}],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":300,\"total_tokens\":1200}}");
    return (size_t)snprintf(b, cap, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                            "x-request-id: r-%u\r\nx-ms-region: East US 2\r\n\r\n%s", n, rnd(), body);
}

static void open_conn(conn *c, uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->cport = port;
    c->cseq = rnd();
    c->sseq = rnd();
    c->calls_left = 1 + (int)(rnd() % 6);
    c->active = 1;
    frame(c, 1, 0x02, c->cseq, 0, NULL, 0);
    frame(c, 0, 0x12, c->sseq, c->cseq + 1, NULL, 0);
    c->cseq++; c->sseq++;
    frame(c, 1, 0x10, c->cseq, c->sseq, NULL, 0);
}

static void one_call(conn *c, char *buf, size_t cap)
{
    int stream = rnd() % 2;
    size_t n = make_request(buf, cap, stream);
    send_bytes(c, 1, buf, n);
    n = stream ? make_stream(buf, cap) : make_json(buf, cap);
    send_bytes(c, 0, buf, n);
    exchanges++;
    if (--c->calls_left == 0) {
        frame(c, 1, 0x11, c->cseq, c->sseq, NULL, 0);
        frame(c, 0, 0x11, c->sseq, c->cseq + 1, NULL, 0);
        frame(c, 1, 0x10, c->cseq + 1, c->sseq + 1, NULL, 0);
        c->active = 0;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: gen_capture OUT.pcap MEGABYTES [CONCURRENCY]\n"); return 2; }
    uint64_t target = strtoull(argv[2], NULL, 10) << 20;
    int conc = argc > 3 ? atoi(argv[3]) : 64;
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    out = pcap_dump_open(dead, argv[1]);
    if (!out) { fprintf(stderr, "gen_capture: %s\n", pcap_geterr(dead)); return 1; }
    conn *cs = calloc((size_t)conc, sizeof *cs);
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    uint16_t port = 1024;
    while (written < target) {
        conn *c = &cs[rnd() % (unsigned)conc];
        if (!c->active) { open_conn(c, port); port = (uint16_t)(port == 65000 ? 1024 : port + 1); }
        one_call(c, buf, cap);
    }
    pcap_dump_close(out);
    pcap_close(dead);
    printf("exchanges %llu bytes %llu\n", (unsigned long long)exchanges, (unsigned long long)written);
    free(cs);
    free(buf);
    return 0;
}
