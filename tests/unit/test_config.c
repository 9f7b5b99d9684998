/* test_config.c -- the configuration tables (common/confmap.c, agent/config.c,
 * uploader/upload_cfg.c): every value type with its ranges and overflow
 * checks, the two historical bugs (a size that overflowed, a bad server port
 * reported from freed memory), FILE:LINE errors for unknown keys, sections
 * and duplicates, the proxy hook, masking of secrets, the required-key
 * check, and dump -> load -> dump stability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/config.h"
#include "common/confmap.h"
#include "common/log.h"
#include "records/redact.h"
#include "uploader/upload_cfg.h"
#include "tmpdir.h"

static int setup(void **st) { (void)st; return tmpdir_make("config"); }

/* A struct and table exercising every type. */
typedef struct t_cfg {
    char *name, *url, *web, *token;
    int flag;
    int small, norange;
    int64_t big;
    size_t bytes;
    int secs;
    int64_t long_secs;
    int ms;
    int color;
    uint16_t ports[4];
    char **items;
    size_t n_items;
} t_cfg;

static const char *const colors[] = {"red", "green", "blue", NULL};
#define AT(f) LT_CONFMAP_AT(t_cfg, f)
static const lt_confmap_entry tmap[] = {
    {.key = "name", .type = LT_CONFMAP_STR, .def = "x", AT(name), .flags = LT_CONFMAP_REQUIRED, .desc = "a name"},
    {.key = "url", .type = LT_CONFMAP_URL, .def = "", AT(url), .flags = LT_CONFMAP_REQUIRED, .desc = "https only"},
    {.key = "web", .type = LT_CONFMAP_URL, .def = "http://a", AT(web), .flags = LT_CONFMAP_HTTP_OK, .desc = "http ok"},
    {.key = "token", .type = LT_CONFMAP_STR, .def = "", AT(token), .flags = LT_CONFMAP_SECRET, .desc = "secret"},
    {.key = "flag", .type = LT_CONFMAP_BOOL, .def = "false", AT(flag), .desc = "bool"},
    {.key = "small", .type = LT_CONFMAP_INT, .def = "5", AT(small), .lo = -3, .hi = 10, .desc = "int"},
    {.key = "big", .type = LT_CONFMAP_INT, .def = "0", AT(big), .lo = 0, .hi = INT64_MAX, .desc = "int64"},
    {.key = "norange", .type = LT_CONFMAP_INT, .def = "0", AT(norange), .desc = "no range: 0..INT32_MAX"},
    {.key = "bytes", .type = LT_CONFMAP_SIZE, .def = "64K", AT(bytes), .lo = 0, .hi = INT64_MAX, .desc = "size"},
    {.key = "secs", .type = LT_CONFMAP_DURATION, .def = "5m", AT(secs), .lo = 1, .hi = 86400, .desc = "dur"},
    {.key = "long_secs", .type = LT_CONFMAP_DURATION, .def = "7d", AT(long_secs), .lo = 0, .hi = INT64_MAX / 1000,
     .desc = "dur64"},
    {.key = "ms", .type = LT_CONFMAP_DURATION, .def = "250ms", AT(ms), .flags = LT_CONFMAP_MS, .lo = 0,
     .hi = 3600000, .desc = "ms"},
    {.key = "color", .type = LT_CONFMAP_ENUM, .def = "green", AT(color), .values = colors, .desc = "enum"},
    {.key = "ports", .type = LT_CONFMAP_PORTS, .def = "", AT(ports), .desc = "ports"},
    {.key = "items", .type = LT_CONFMAP_STRLIST, .def = "", AT(items), .aux_off = offsetof(t_cfg, n_items),
     .desc = "list"},
    {0},
};

/* Sets key=value on c; expects rc and, on error, the exact message. */
static void tset(t_cfg *c, const char *key, const char *value, int want_rc, const char *want_err)
{
    char err[256] = "";
    int rc = lt_confmap_set(tmap, c, "t", key, value, err, sizeof err);
    if (rc != want_rc || (want_err && strcmp(err, want_err))) {
        print_message("%s = %s: expected rc %d '%s', got rc %d '%s'\n", key, value, want_rc, want_err ? want_err : "",
                      rc, err);
        fail();
    }
}

static char *tfmt(const t_cfg *c, const char *key) { return lt_confmap_format(lt_confmap_find(tmap, key), c); }

static void expect_fmt(const t_cfg *c, const char *key, const char *want)
{
    char *got = tfmt(c, key);
    if (!got || strcmp(got, want)) {
        print_message("format of %s: expected '%s', got '%s'\n", key, want, got ? got : "(null)");
        free(got);
        fail();
    }
    free(got);
}

static void tinit(t_cfg *c)
{
    char err[256] = "";
    memset(c, 0, sizeof *c);
    assert_int_equal(lt_confmap_defaults(tmap, c, err, sizeof err), 0);
}

static void test_types_defaults(void **st)
{
    (void)st;
    t_cfg c;
    tinit(&c);
    assert_string_equal(c.name, "x");
    assert_null(c.url);
    assert_string_equal(c.web, "http://a");
    assert_int_equal(c.small, 5);
    assert_int_equal(c.bytes, 65536);
    assert_int_equal(c.secs, 300);
    assert_int_equal(c.long_secs, 7 * 86400);
    assert_int_equal(c.ms, 250);
    assert_int_equal(c.color, 1);
    assert_int_equal(c.ports[0], 0);
    assert_int_equal(c.n_items, 0);
    expect_fmt(&c, "bytes", "64K");
    expect_fmt(&c, "secs", "5m");
    expect_fmt(&c, "ms", "250ms");
    lt_confmap_free(tmap, &c);
    assert_null(c.name);
}

static void test_strings_urls(void **st)
{
    (void)st;
    t_cfg c;
    tinit(&c);
    tset(&c, "name", "hello world", 0, NULL);
    assert_string_equal(c.name, "hello world");
    tset(&c, "name", "", 0, NULL);
    assert_null(c.name);
    tset(&c, "url", "https://h.example", 0, NULL);
    assert_string_equal(c.url, "https://h.example");
    tset(&c, "url", "http://h.example", -1, "url: must start with https:// (got 'http://h.example')");
    assert_string_equal(c.url, "https://h.example"); /* a bad line leaves the value */
    tset(&c, "url", "https://", -1, "url: must start with https:// (got 'https://')");
    tset(&c, "web", "http://169.254.169.254", 0, NULL);
    tset(&c, "web", "ftp://x", -1, "web: must start with https:// or http:// (got 'ftp://x')");
    tset(&c, "nope", "1", -1, "unknown key 'nope' in [t]");
    lt_confmap_free(tmap, &c);
}

static void test_bool_int_enum(void **st)
{
    (void)st;
    t_cfg c;
    tinit(&c);
    const char *yes[] = {"true", "yes", "on", "1", "TRUE", "On"}, *no[] = {"false", "no", "off", "0", "No"};
    for (size_t i = 0; i < 6; i++) { c.flag = 0; tset(&c, "flag", yes[i], 0, NULL); assert_int_equal(c.flag, 1); }
    for (size_t i = 0; i < 5; i++) { c.flag = 1; tset(&c, "flag", no[i], 0, NULL); assert_int_equal(c.flag, 0); }
    tset(&c, "flag", "maybe", -1, "flag: expected true or false (yes/no, on/off, 1/0), got 'maybe'");
    tset(&c, "small", "-3", 0, NULL);
    assert_int_equal(c.small, -3);
    tset(&c, "small", "10", 0, NULL);
    tset(&c, "small", "11", -1, "small: '11' out of range (-3..10)");
    tset(&c, "small", "-4", -1, "small: '-4' out of range (-3..10)");
    tset(&c, "small", "7x", -1, "small: invalid number '7x'");
    tset(&c, "small", "", -1, "small: invalid number ''");
    assert_int_equal(c.small, 10);
    tset(&c, "big", "9223372036854775807", 0, NULL);
    assert_true(c.big == INT64_MAX);
    tset(&c, "big", "9223372036854775808", -1, "big: invalid number '9223372036854775808'");
    tset(&c, "norange", "2147483647", 0, NULL);
    assert_int_equal(c.norange, INT32_MAX);
    tset(&c, "norange", "2147483648", -1, "norange: '2147483648' out of range (0..2147483647)");
    tset(&c, "norange", "-1", -1, "norange: '-1' out of range (0..2147483647)");
    tset(&c, "long_secs", "0", 0, NULL);
    c.long_secs = INT64_MAX;                 /* set by code: formatting must not overflow */
    expect_fmt(&c, "long_secs", "9223372036854775807s");
    tset(&c, "color", "blue", 0, NULL);
    assert_int_equal(c.color, 2);
    tset(&c, "color", "pink", -1, "color: expected red, green or blue, got 'pink'");
    expect_fmt(&c, "color", "blue");
    lt_confmap_free(tmap, &c);
}

/* One accepted numeric value: what it stores and how it is dumped. */
typedef struct t_num { const char *in; long long want; const char *fmt; } t_num;

static void expect_nums(t_cfg *c, const char *key, const void *field, size_t size, const t_num *ok, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tset(c, key, ok[i].in, 0, NULL);
        long long got = size == 8 ? *(const int64_t *)field : *(const int *)field;
        if (got != ok[i].want) {
            print_message("%s = %s: expected %lld, got %lld\n", key, ok[i].in, ok[i].want, got);
            fail();
        }
        expect_fmt(c, key, ok[i].fmt);
    }
}

static void test_sizes(void **st)
{
    (void)st;
    t_cfg c;
    tinit(&c);
    static const t_num ok[] = {
        {"0", 0, "0"}, {"1000", 1000, "1000"}, {"4K", 4096, "4K"}, {"4k", 4096, "4K"}, {"4KB", 4096, "4K"},
        {"2M", 2u << 20, "2M"}, {"3G", 3ull << 30, "3G"}, {"100B", 100, "100"}, {"1536K", 1536 << 10, "1536K"},
        {"8589934591G", 8589934591ull << 30, "8589934591G"},
    };
    expect_nums(&c, "bytes", &c.bytes, sizeof c.bytes, ok, sizeof ok / sizeof *ok);
    tset(&c, "bytes", "lots", -1, "bytes: invalid size 'lots' (a number with optional K, M or G)");
    tset(&c, "bytes", "-1", -1, "bytes: invalid size '-1' (a number with optional K, M or G)");
    tset(&c, "bytes", " 5", -1, "bytes: invalid size ' 5' (a number with optional K, M or G)");
    tset(&c, "bytes", "5T", -1, "bytes: invalid size '5T' (a number with optional K, M or G)");
    /* overflow is found before multiplying (UBSan would abort on a signed overflow) */
    tset(&c, "bytes", "9999999999999G", -1, "bytes: size '9999999999999G' is too large");
    tset(&c, "bytes", "8589934592G", -1, "bytes: size '8589934592G' is too large");
    tset(&c, "bytes", "99999999999999999999", -1, "bytes: size '99999999999999999999' is too large");
    assert_int_equal(c.bytes, 8589934591ull << 30);
    unsigned long long n;
    assert_int_equal(lt_confmap_parse_size("18446744073709551615", &n), -2);
    lt_confmap_free(tmap, &c);
}

static void test_durations(void **st)
{
    (void)st;
    t_cfg c;
    tinit(&c);
    static const t_num ok[] = {
        {"1", 1, "1s"}, {"90", 90, "90s"}, {"10s", 10, "10s"}, {"5m", 300, "5m"}, {"2h", 7200, "2h"},
        {"1d", 86400, "1d"}, {"120m", 7200, "2h"},
    };
    expect_nums(&c, "secs", &c.secs, sizeof c.secs, ok, sizeof ok / sizeof *ok);
    tset(&c, "secs", "0", -1, "secs: '0' out of range (1s..1d)");
    tset(&c, "secs", "2d", -1, "secs: '2d' out of range (1s..1d)");
    tset(&c, "secs", "5ms", -1, "secs: invalid duration '5ms' (a number with s, m, h or d)");
    tset(&c, "secs", "5w", -1, "secs: invalid duration '5w' (a number with s, m, h or d)");
    tset(&c, "secs", "-5s", -1, "secs: invalid duration '-5s' (a number with s, m, h or d)");
    tset(&c, "long_secs", "99999999999999999d", -1, "long_secs: duration '99999999999999999d' is too long");
    static const t_num ms[] = {{"1500ms", 1500, "1500ms"}, {"2s", 2000, "2s"}, {"0", 0, "0s"}, {"1h", 3600000, "1h"}};
    expect_nums(&c, "ms", &c.ms, sizeof c.ms, ms, sizeof ms / sizeof *ms);
    tset(&c, "ms", "1x", -1, "ms: invalid duration '1x' (a number with ms, s, m, h or d)");
    lt_confmap_free(tmap, &c);
}

static void test_ports_lists(void **st)
{
    (void)st;
    t_cfg c;
    tinit(&c);
    tset(&c, "ports", "80, 8080 443", 0, NULL);
    assert_int_equal(c.ports[0], 80);
    assert_int_equal(c.ports[1], 8080);
    assert_int_equal(c.ports[2], 443);
    assert_int_equal(c.ports[3], 0);
    expect_fmt(&c, "ports", "80, 8080, 443");
    tset(&c, "ports", "80, 0", -1, "ports: invalid port '0' (1..65535)");
    tset(&c, "ports", "65536", -1, "ports: invalid port '65536' (1..65535)");
    tset(&c, "ports", "8x", -1, "ports: invalid port '8x' (1..65535)");
    tset(&c, "ports", "99999999999999999999999", -1, "ports: invalid port '99999999999999999999999' (1..65535)");
    tset(&c, "ports", "1,2,3,4", -1, "ports: at most 3 ports");
    assert_int_equal(c.ports[2], 443); /* unchanged by the failures */
    tset(&c, "ports", "", 0, NULL);
    assert_int_equal(c.ports[0], 0);
    tset(&c, "items", "eth0", 0, NULL);
    assert_int_equal(c.n_items, 1);
    assert_string_equal(c.items[0], "eth0");
    tset(&c, "items", " eth0 ,eth1,  bond0 ", 0, NULL);
    assert_int_equal(c.n_items, 3);
    assert_string_equal(c.items[0], "eth0");
    assert_string_equal(c.items[2], "bond0");
    expect_fmt(&c, "items", "eth0, eth1, bond0");
    tset(&c, "items", "a,,b", -1, "items: empty item in list 'a,,b'");
    tset(&c, "items", "a,", -1, "items: empty item in list 'a,'");
    assert_int_equal(c.n_items, 3);
    tset(&c, "items", "", 0, NULL);
    assert_int_equal(c.n_items, 0);
    assert_null(c.items);
    lt_confmap_free(tmap, &c);
}

static void test_secret_and_required(void **st)
{
    (void)st;
    t_cfg c;
    tinit(&c);
    char err[256] = "";
    assert_int_equal(lt_confmap_check(tmap, &c, "t", err, sizeof err), -1);
    assert_string_equal(err, "[t] url must be set in the configuration");
    tset(&c, "name", "", 0, NULL);
    assert_int_equal(lt_confmap_check(tmap, &c, "t", err, sizeof err), -1);
    assert_string_equal(err, "[t] name and url must be set in the configuration");
    tset(&c, "name", "n", 0, NULL);
    tset(&c, "url", "https://u", 0, NULL);
    assert_int_equal(lt_confmap_check(tmap, &c, "t", err, sizeof err), 0);
    tset(&c, "token", "s3cr3t-value", 0, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lt_confmap_dump(tmap, &c, "t", f);
    fclose(f);
    if (strstr(buf, "s3cr3t") || !strstr(buf, "\ntoken = ***\n")) {
        print_message("dump should mask token, got:\n%s\n", buf);
        fail();
    }
    free(buf);
    lt_confmap_free(tmap, &c);
    lt_upload_cfg u;
    lt_upload_cfg_defaults(&u);
    assert_int_equal(lt_upload_cfg_check(&u, err, sizeof err), -1);
    assert_string_equal(err, "[upload] endpoint and dcr_immutable_id must be set in the configuration");
    lt_upload_cfg_free(&u);
}

/* Loads text as a file; expects rc, and on error "FILE:" + want. */
static void load_text(lt_config *c, const char *text, int want_rc, const char *want)
{
    char p[128], err[512] = "";
    tmpdir_path(p, "t.conf");
    tmpdir_write(p, text);
    int rc = lt_config_load(c, p, err, sizeof err);
    char full[400] = "";
    if (want) snprintf(full, sizeof full, "%s:%s", p, want);
    if (rc != want_rc || (want && strcmp(err, full))) {
        print_message("loading:\n%s\nexpected rc %d '%s', got rc %d '%s'\n", text, want_rc, full, rc, err);
        fail();
    }
}

static void expect_load_error(const char *text, const char *want)
{
    lt_config c;
    lt_config_defaults(&c);
    load_text(&c, text, -1, want);
    lt_config_free(&c);
}

static void test_file_errors(void **st)
{
    (void)st;
    expect_load_error("[capture]\nbody_cap = 9999999999999G\n", "2: body_cap: size '9999999999999G' is too large");
    expect_load_error("; c\n[capture]\nflows_max = 10\nserver_ports = 80, 0\n",
                      "4: server_ports: invalid port '0' (1..65535)");
    expect_load_error("[capture]\n\n\nnope = 1\n", "4: unknown key 'nope' in [capture]");
    expect_load_error("[upload]\nendpoint = https://x\n[agent]\nsocket = /s\nqueue = 3\n",
                      "5: unknown key 'queue' in [agent]");
    expect_load_error("[log]\nlevel = info\n[proxy]\nlisten = :80\n", "4: unknown section [proxy]");
    expect_load_error("[capture]\ninterface = eth0\n  eth1\n",
                      "3: indented line: continuation lines are not supported");
    expect_load_error("[capture]\nfilter = tcp\n; note\n\n\tport 80\n",
                      "5: indented line: continuation lines are not supported");
    char long_line[600];
    snprintf(long_line, sizeof long_line, "[capture]\nfilter = %0190d\n[store]\npath = %0193d\n", 0, 0);
    expect_load_error(long_line, "4: line longer than 199 characters");
    expect_load_error("[capture]\nworkers = 65\n", "2: workers: '65' out of range (1..64)");
    expect_load_error("[agent]\nshutdown_deadline = 10x\n",
                      "2: shutdown_deadline: invalid duration '10x' (a number with ms, s, m, h or d)");
    expect_load_error("[upload]\nauth = magic\n", "2: auth: expected managed_identity, workload_identity, "
                                                  "client_secret or client_certificate, got 'magic'");
    expect_load_error("[upload]\nchunk_bytes = 64K\n", "2: chunk_bytes: '64K' out of range (1K..32K)");
    /* a key given twice: the last one wins; indented keys before any key are keys */
    lt_config c;
    lt_config_defaults(&c);
    load_text(&c, "[store]\n  max_age = 1d\nmax_age = 2d\n[log]\nlevel = info\n[store]\nmax_age = 3d\n", 0, NULL);
    assert_int_equal(c.spool.max_age_s, 3 * 86400);
    lt_config_free(&c);
    lt_config_defaults(&c);
    load_text(&c, "[store]\npath = /a\n[upload]\nendpoint = https://e\n[metrics]\nlisten = 127.0.0.1:9109\n", 0, NULL);
    assert_string_equal(c.metrics.listen, "127.0.0.1:9109");
    lt_config_free(&c);
}

static void test_file_values(void **st)
{
    (void)st;
    lt_config c;
    lt_config_defaults(&c);
    assert_int_equal(c.snaplen, 262144);
    assert_int_equal(c.buffer_size, 64u << 20);
    assert_int_equal(c.workers, 1);
    assert_string_equal(c.agent.user, "llmtap");
    assert_string_equal(c.agent.socket, "/run/llmtap/llmtap.sock");
    assert_int_equal(c.agent.shutdown_deadline_ms, 10000);
    assert_int_equal(c.agent.queue_max, 10000);
    assert_null(c.metrics.listen);
    assert_int_equal(c.n_interfaces, 0);
    assert_int_equal(c.upload.chunk_bytes, 32768);      /* the one default, used by chunk.c */
    assert_int_equal(c.upload.message_cap, 2u << 20);
    assert_int_equal(c.upload.max_retry_s, 600);
    assert_int_equal(c.pipeline.flows_max, 65536);      /* owned by lt_pipeline_cfg_defaults */
    assert_int_equal(c.log_level, LT_LOG_WARN);
    load_text(&c,
              "[capture]\ninterface = eth1\nsnaplen = 9000\nbuffer_size = 128M\nworkers = 4\n"
              "[upload]\nflush_interval = 7\nmax_retry = 60\nretry_cap = 2\nbatch_max_bytes = 6000\ngzip = false\n"
              "imds_endpoint = http://127.0.0.1:9\n[agent]\nshutdown_deadline = 1500ms\nqueue_max = 5\n"
              "[log]\nlevel = debug\n",
              0, NULL);
    assert_int_equal(c.n_interfaces, 1);
    assert_string_equal(c.interfaces[0], "eth1");
    assert_int_equal(c.snaplen, 9000);
    assert_int_equal(c.buffer_size, 128u << 20);
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.upload.flush_interval_s, 7);
    assert_int_equal(c.upload.max_retry_s, 60);
    assert_int_equal(c.upload.retry_cap_s, 2);
    assert_int_equal(c.upload.batch_max_bytes, 6000);
    assert_int_equal(c.upload.gzip, 0);
    assert_string_equal(c.upload.imds_endpoint, "http://127.0.0.1:9");
    assert_int_equal(c.agent.shutdown_deadline_ms, 1500);
    assert_int_equal(c.agent.queue_max, 5);
    assert_int_equal(c.log_level, LT_LOG_DEBUG);
    lt_config_free(&c);
    lt_config_defaults(&c);
    load_text(&c, "[capture]\ninterface = eth1, eth2\n", 0, NULL);
    assert_int_equal(c.n_interfaces, 2);
    assert_string_equal(c.interfaces[1], "eth2");
    lt_config_free(&c);
}

static char *dump_text(const lt_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lt_config_dump(c, f);
    fclose(f);
    return buf;
}

static void test_dump_round_trip(void **st)
{
    (void)st;
    lt_config c;
    lt_config_defaults(&c);
    load_text(&c,
              "[capture]\ninterface = eth1, eth2\nfilter = tcp port 80\nserver_ports = 80, 8080\nidle_timeout = 90\n"
              "body_cap = 1000\n[records]\nstore_embeddings = yes\nxff_trusted_hops = 2\n[store]\nmax_age = 36h\n"
              "[upload]\nendpoint = https://dce.example\ndcr_immutable_id = dcr-1\nauth = client_secret\n"
              "client_secret_file = /etc/llmtap/secret\n[agent]\nshutdown_deadline = 250ms\n"
              "[metrics]\nlisten = 127.0.0.1:9109\n",
              0, NULL);
    char *d1 = dump_text(&c);
    lt_config_free(&c);
    assert_non_null(strstr(d1, "\nclient_secret_file = /etc/llmtap/secret\n"));  /* a path, shown */
    assert_non_null(strstr(d1, "\ninterface = eth1, eth2\n"));
    assert_non_null(strstr(d1, "\nidle_timeout = 90s\n"));
    assert_non_null(strstr(d1, "\nmax_age = 36h\n"));
    assert_non_null(strstr(d1, "\nshutdown_deadline = 250ms\n"));
    assert_non_null(strstr(d1, "\nfilter = tcp port 80\n"));
    assert_non_null(strstr(d1, "\nsnaplen = 262144\n"));      /* every key, defaults included */
    char p[128];
    tmpdir_path(p, "dump.conf");
    tmpdir_write(p, d1);
    char err[512] = "";
    lt_config_defaults(&c);
    if (lt_config_load(&c, p, err, sizeof err) < 0) {
        print_message("the dump does not load: %s\n%s\n", err, d1);
        fail();
    }
    char *d2 = dump_text(&c);
    lt_config_free(&c);
    if (strcmp(d1, d2)) {
        print_message("dump -> load -> dump differs:\n--- first\n%s\n--- second\n%s\n", d1, d2);
        fail();
    }
    free(d1);
    free(d2);
}

static void test_template_is_defaults(void **st)
{
    (void)st;
    /* Every "key = value" line of the defaults dump appears as ";key = value" in
     * the template, and the template itself loads. */
    lt_config c;
    lt_config_defaults(&c);
    char *want = dump_text(&c);
    lt_config_free(&c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lt_config_template(f);
    fclose(f);
    char *save = NULL;
    for (char *l = strtok_r(want, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '[') continue;
        char line[300];
        snprintf(line, sizeof line, "\n;%s\n", l);
        if (!strstr(buf, line)) {
            print_message("template lacks the default line ';%s'\n", l);
            fail();
        }
    }
    char p[128], err[512] = "";
    tmpdir_path(p, "template.conf");
    tmpdir_write(p, buf);
    lt_config_defaults(&c);
    if (lt_config_load(&c, p, err, sizeof err) < 0) {
        print_message("the template does not load: %s\n", err);
        fail();
    }
    lt_config_free(&c);
    free(want);
    free(buf);
}

/* What every table entry must satisfy, checked over all the shipped tables. */
static void lint_entry(const char *section, const lt_confmap_entry *e, const lt_confmap_entry *map)
{
    const char *why = NULL;
    int numeric = e->type == LT_CONFMAP_INT || e->type == LT_CONFMAP_SIZE || e->type == LT_CONFMAP_DURATION;
    if (lt_confmap_find(map, e->key) != e) why = "key appears twice in its table";
    else if (!e->desc || strlen(e->desc) < 8 || strchr(e->desc, '\n')) why = "no one-line description";
    else if (numeric && e->size != 4 && e->size != 8) why = "numeric field is neither 4 nor 8 bytes";
    else if (numeric && e->lo > e->hi) why = "range lo > hi";
    else if (e->type == LT_CONFMAP_ENUM && (!e->values || !e->values[0])) why = "enum without values";
    else if ((e->type == LT_CONFMAP_STR || e->type == LT_CONFMAP_URL) && e->size != sizeof(char *)) why = "not a char *";
    else if (e->type == LT_CONFMAP_STRLIST && !e->aux_off) why = "list without a count field";
    if (why) {
        print_message("[%s] %s: %s\n", section, e->key, why);
        fail();
    }
}

static void test_tables_lint(void **st)
{
    (void)st;
    size_t n;
    const lt_confmap_section *s = lt_config_sections(&n);
    assert_true(n >= 7);
    int keys = 0;
    for (size_t i = 0; i < n; i++) {
        for (const lt_confmap_entry *e = s[i].map; e->key; e++, keys++) lint_entry(s[i].name, e, s[i].map);
        /* every default parses (lt_config_defaults only logs a bad one) */
        lt_config c;
        memset(&c, 0, sizeof c);
        char err[256] = "";
        if (lt_confmap_defaults(s[i].map, (char *)&c + s[i].off, err, sizeof err) < 0) {
            print_message("[%s]: a default does not parse: %s\n", s[i].name, err);
            fail();
        }
        lt_confmap_free(s[i].map, (char *)&c + s[i].off);
    }
    assert_true(keys >= 45);
}

/* Issue 11 item 10: [records] redact_* add secret names to the built-in
 * lists (never replace them); names are validated with FILE:LINE errors,
 * and each key's description names every built-in it adds to. */
static void expect_desc_names(const char *key, const char *const *builtin)
{
    size_t n;
    const lt_confmap_section *s = lt_config_sections(&n);
    const lt_confmap_entry *e = NULL;
    for (size_t i = 0; i < n && !e; i++)
        if (!strcmp(s[i].name, "records")) e = lt_confmap_find(s[i].map, key);
    assert_non_null(e);
    for (; *builtin; builtin++) {
        char word[80];
        snprintf(word, sizeof word, " %s%s", *builtin, ",");
        char last[80];
        snprintf(last, sizeof last, " %s.", *builtin);
        if (!strstr(e->desc, word) && !strstr(e->desc, last))
            fail_msg("[records] %s: expected the built-in name '%s' in the description, got: %s", key, *builtin,
                     e->desc);
    }
}

static void test_redact_names(void **st)
{
    (void)st;
    lt_config c;
    lt_config_defaults(&c);
    const lt_redact_cfg *r = &c.pipeline.record.redact;
    assert_int_equal(r->n_extra_headers + r->n_extra_params + r->n_extra_fields, 0);
    load_text(&c, "[records]\nredact_headers = X-My-Secret, x-other.v2\nredact_query_params = my_sig\n"
                  "redact_body_fields = my_token,Deep_Secret\n", 0, NULL);
    assert_int_equal(r->n_extra_headers, 2);
    assert_string_equal(r->extra_headers[0], "X-My-Secret");
    assert_string_equal(r->extra_headers[1], "x-other.v2");
    assert_int_equal(r->n_extra_params, 1);
    assert_string_equal(r->extra_params[0], "my_sig");
    assert_int_equal(r->n_extra_fields, 2);
    assert_string_equal(r->extra_fields[1], "Deep_Secret");
    /* the built-in lists stay in force */
    assert_ptr_equal(r->headers, lt_redact_default_headers);
    assert_ptr_equal(r->params, lt_redact_default_params);
    assert_ptr_equal(r->fields, lt_redact_default_fields);
    char *dump = NULL;
    size_t dlen = 0;
    FILE *f = open_memstream(&dump, &dlen);
    lt_config_dump(&c, f);
    fclose(f);
    if (!strstr(dump, "\nredact_headers = X-My-Secret, x-other.v2\n") ||
        !strstr(dump, "\nredact_body_fields = my_token, Deep_Secret\n"))
        fail_msg("expected the configured names in the dump, got:\n%s", dump);
    free(dump);
    lt_config_free(&c);
    expect_load_error("[records]\nredact_headers = X-My Secret\n",
                      "2: redact_headers: invalid name 'X-My Secret' (1..64 letters, digits, '-', '_' or '.')");
    expect_load_error("[records]\n\nredact_query_params = a=b\n",
                      "3: redact_query_params: invalid name 'a=b' (1..64 letters, digits, '-', '_' or '.')");
    expect_load_error("[records]\nredact_body_fields = a,,b\n", "2: redact_body_fields: empty item in list 'a,,b'");
    expect_load_error("[records]\nredact_body_fields = \"tok\"\n",
                      "2: redact_body_fields: invalid name '\"tok\"' (1..64 letters, digits, '-', '_' or '.')");
    char long_name[120];
    snprintf(long_name, sizeof long_name, "[records]\nredact_headers = %065d\n", 0);
    char want[200];
    snprintf(want, sizeof want, "2: redact_headers: invalid name '%064d' (1..64 letters, digits, '-', '_' or '.')", 0);
    expect_load_error(long_name, want);
    expect_desc_names("redact_headers", lt_redact_default_headers);
    expect_desc_names("redact_query_params", lt_redact_default_params);
    expect_desc_names("redact_body_fields", lt_redact_default_fields);
}

/* A stand-in for proxy/: owns [proxy] and [backend.NAME], fills its struct with the engine. */
typedef struct t_proxy { char *listen; int n_backends; char *last_url; } t_proxy;
static const lt_confmap_entry proxy_map[] = {
    {.key = "listen", .type = LT_CONFMAP_STR, LT_CONFMAP_AT(t_proxy, listen), .desc = "listen"},
    {0},
};
static const lt_confmap_entry backend_map[] = {
    {.key = "url", .type = LT_CONFMAP_URL, LT_CONFMAP_AT(t_proxy, last_url), .desc = "url"},
    {0},
};
static int hook_owns(const char *s) { return !strcmp(s, "proxy") || !strncmp(s, "backend.", 8); }
static int hook_set(lt_config *cfg, const char *section, const char *key, const char *value, char *err, size_t n)
{
    if (!cfg->proxy) cfg->proxy = calloc(1, sizeof(t_proxy));
    t_proxy *p = cfg->proxy;
    if (!strcmp(section, "proxy")) return lt_confmap_set(proxy_map, p, section, key, value, err, n);
    if (!strcmp(key, "url")) p->n_backends++;
    return lt_confmap_set(backend_map, p, section, key, value, err, n);
}
static void hook_free(lt_config *cfg)
{
    lt_confmap_free(proxy_map, cfg->proxy);
    lt_confmap_free(backend_map, cfg->proxy);
    free(cfg->proxy);
}

static void hook_dump(const lt_config *cfg, FILE *out)
{
    if (cfg->proxy) lt_confmap_dump(proxy_map, cfg->proxy, "proxy", out);
}
static void hook_template(FILE *out)
{
    t_proxy p = {0};
    lt_confmap_template(proxy_map, &p, "proxy", out);
}

static void test_proxy_hook(void **st)
{
    (void)st;
    static const lt_config_hook hook = {.owns = hook_owns, .set = hook_set, .free = hook_free, .dump = hook_dump,
                                        .template = hook_template};
    lt_config_hook_register(&hook);
    lt_config c;
    lt_config_defaults(&c);
    load_text(&c, "[proxy]\nlisten = 0.0.0.0:8080\n[backend.east]\nurl = https://east\n[backend.west]\n"
                  "url = https://west\n", 0, NULL);
    t_proxy *p = c.proxy;
    assert_non_null(p);
    assert_string_equal(p->listen, "0.0.0.0:8080");
    assert_int_equal(p->n_backends, 2);
    assert_string_equal(p->last_url, "https://west");
    char *d = dump_text(&c);
    if (!strstr(d, "\n[proxy]\nlisten = 0.0.0.0:8080\n")) {
        print_message("dump lacks the hook's [proxy] section:\n%s\n", d);
        fail();
    }
    free(d);
    lt_config_free(&c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lt_config_template(f);
    fclose(f);
    if (!strstr(buf, "\n[proxy]\n; listen\n;listen =\n")) {
        print_message("template lacks the hook's [proxy] section:\n%s\n", buf);
        fail();
    }
    free(buf);
    expect_load_error("[backend.a]\nurl = http://a\n", "2: url: must start with https:// (got 'http://a')");
    expect_load_error("[proxy]\nnope = 1\n", "2: unknown key 'nope' in [proxy]");
    expect_load_error("[backendx]\nurl = https://a\n", "2: unknown section [backendx]");
    lt_config_hook_register(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_defaults),  cmocka_unit_test(test_strings_urls),
        cmocka_unit_test(test_bool_int_enum),   cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),       cmocka_unit_test(test_ports_lists),
        cmocka_unit_test(test_secret_and_required), cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_values),     cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_template_is_defaults), cmocka_unit_test(test_proxy_hook),
        cmocka_unit_test(test_tables_lint),     cmocka_unit_test(test_redact_names),
    };
    return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
