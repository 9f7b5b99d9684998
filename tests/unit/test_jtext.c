/* test_jtext.c -- lt_jtext_dump must write exactly json_dumps(v, JSON_COMPACT |
 * JSON_PRESERVE_ORDER): escapes, UTF-8, key order, numbers, nesting, and failure on
 * invalid UTF-8 (a string made with json_stringn_nocheck). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "common/jtext.h"

static void same_as_jansson(json_t *v, const char *what)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = 0;
    char *got = lt_jtext_dump(v, &n);
    if (!want) { if (got) fail_msg("%s: jansson fails, lt_jtext_dump gave <%s>", what, got); json_decref(v); return; }
    if (!got || n != strlen(want) || memcmp(got, want, n))
        fail_msg("%s:\n  expected <%s>\n  got      <%s>", what, want, got ? got : "(NULL)");
    free(want);
    free(got);
    json_decref(v);
}

static void test_strings(void **st)
{
    (void)st;
    const char ctl[] = "nul\0 \x01\x1f\x7f tab\t nl\n cr\r bs\b ff\f quote\" back\\ slash/ end";
    same_as_jansson(json_pack("{s:s%}", "ctl", ctl, sizeof ctl - 1), "control characters");
    same_as_jansson(json_pack("{s:s}", "utf8", "한국어 😊 é € long enough to cross sixteen-byte blocks \" here"), "UTF-8");
    same_as_jansson(json_pack("[s,s]", "", "0123456789abcdef0123456789abcdef\\"), "empty and block-sized");
    json_t *bad = json_object();
    json_object_set_new(bad, "k", json_stringn_nocheck("\xc0\x80", 2));
    same_as_jansson(bad, "invalid UTF-8");
}

/* Strings of 1 to 40 bytes with one byte that needs a look (quote,
 * backslash, control byte, the lead of a two- or three-byte letter) at every
 * position: the run scan looks at the last bytes of a string with a load of
 * its last 16, shifted, or at a short string in a padded copy. */
static void test_special_at_every_position(void **st)
{
    (void)st;
    static const char *const specials[] = {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe4\xb8\xad", " "};
    char s[64], what[96];
    size_t checked = 0;
    for (size_t len = 1; len <= 40; len++)
        for (size_t at = 0; at < len; at++)
            for (size_t k = 0; k < sizeof specials / sizeof *specials; k++) {
                size_t sl = strlen(specials[k]);
                if (at + sl > len) continue;
                memset(s, 'a', len);
                memcpy(s + at, specials[k], sl);
                json_t *v = json_array();
                json_array_append_new(v, json_stringn_nocheck(s, len));
                snprintf(what, sizeof what, "length %zu, special %zu at %zu", len, k, at);
                same_as_jansson(v, what);
                checked++;
            }
    assert_true(checked > 5000);
}

/* Every byte value at every position of strings of 1 to 34 bytes (the rest
 * plain letters): strings of up to 32 bytes with nothing to escape are
 * tested a word at a time (SWAR, overlapping loads) and written whole, so a
 * byte the word test misses, such as a lone 0x80 or 0xA2 (a quote's bits
 * with the top one set), would be copied where jansson escapes or refuses. */
static void test_every_byte_at_every_position(void **st)
{
    (void)st;
    char s[40], what[64];
    size_t checked = 0;
    for (size_t len = 1; len <= 34; len++)
        for (size_t at = 0; at < len; at++)
            for (unsigned c = 0; c <= 0xFF; c++) {
                memset(s, 'a' + (int)(len % 26), len);
                s[at] = (char)c;
                json_t *v = json_array();
                json_array_append_new(v, json_stringn_nocheck(s, len));
                snprintf(what, sizeof what, "length %zu, byte %02X at %zu", len, c, at);
                same_as_jansson(v, what);
                checked++;
            }
    assert_int_equal(checked, 256 * 34 * 35 / 2);
}

/* Random strings of up to 80 bytes made mostly of the pieces that matter
 * (quote, backslash, controls, DEL, two-, three- and four-byte letters),
 * several per string, against json_dumps: combinations the one-special
 * tests above do not make (two specials in one word, a letter across the
 * two overlapping loads). Every other string may also hold a stray byte
 * (a lone continuation or lead: refused by both). A fixed seed: the same
 * strings every run. */
static void test_random_strings(void **st)
{
    (void)st;
    static const char *const piece[] = {"\"", "\\", "\n", "\x01", "\x1f", " ", "!", "\x7f", "/", "\xc3\xa9",
                                        "\xe4\xb8\xad", "\xf0\x9f\x98\x8a", "\xa2", "\x80", "\xdc", "\xed\xa0\x80"};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char s[96], what[64];
    size_t written = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t want = (size_t)(x % 81), len = 0;
        size_t npieces = i % 2 ? 16 : 12;   /* the last four: bytes that are not UTF-8 */
        while (len < want) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const char *p = x % 4 ? NULL : piece[(x >> 8) % npieces];
            size_t pl = p ? strlen(p) : 1;
            if (len + pl > sizeof s) break;
            if (p) memcpy(s + len, p, pl);
            else s[len] = (char)('a' + (x >> 8) % 26);
            len += pl;
        }
        json_t *v = json_array();
        json_array_append_new(v, json_stringn_nocheck(s, len));
        char *got = lt_jtext_dump(v, &(size_t){0});
        written += got != NULL;
        free(got);
        snprintf(what, sizeof what, "random string %d (%zu bytes)", i, len);
        same_as_jansson(v, what);
    }
    assert_true(written > 100000);   /* most strings are valid: their text is compared, not only the refusal */
}

/* Every one-, two- and three-byte sequence from 0x80 up (valid, overlong,
 * surrogate, cut short by the end of the string or by the next byte) and
 * the four-byte boundaries, inside a string and at its end: written or
 * refused exactly as jansson does. */
static void test_utf8_sequences(void **st)
{
    (void)st;
    unsigned char s[16];
    size_t checked = 0;
    for (unsigned a = 0x80; a <= 0xFF; a++)
        for (unsigned b = 0; b <= 0xFF; b++)
            for (unsigned c = 0; c <= 0xFF; c += (a >= 0xE0 && a <= 0xEF) ? 1 : 0x3F) {
                for (int tail = 0; tail < 2; tail++) { /* "x" + seq + "yz", or the sequence ending the string */
                    size_t n = 0;
                    s[n++] = 'x';
                    s[n++] = (unsigned char)a;
                    s[n++] = (unsigned char)b;
                    s[n++] = (unsigned char)c;
                    if (!tail) { s[n++] = 'y'; s[n++] = 'z'; }
                    json_t *v = json_array();
                    json_array_append_new(v, json_stringn_nocheck((const char *)s, n));
                    char *want = json_dumps(v, JSON_COMPACT);
                    size_t len = 0;
                    char *got = lt_jtext_dump(v, &len);
                    if ((want == NULL) != (got == NULL) || (want && (len != strlen(want) || memcmp(got, want, len))))
                        fail_msg("bytes %02X %02X %02X (%s): expected %s, got %s", a, b, c, tail ? "at the end" : "inside",
                                 want ? want : "(refused)", got ? got : "(refused)");
                    free(want);
                    free(got);
                    json_decref(v);
                    checked++;
                }
            }
    static const char *const four[] = {"\xF0\x90\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xF4\x90\x80\x80",
                                       "\xF5\x80\x80\x80", "\xF0\x9F\x98", "\xF0\x9F\x98\x8A"};
    for (size_t i = 0; i < sizeof four / sizeof *four; i++)
    {
        json_t *v = json_array();
        json_array_append_new(v, json_stringn_nocheck(four[i], strlen(four[i])));
        same_as_jansson(v, "four-byte boundary");
    }
    assert_true(checked > 2000000);
}

static void test_structure(void **st)
{
    (void)st;
    same_as_jansson(json_pack("{s:i,s:I,s:f,s:f,s:b,s:b,s:n,s:{},s:[],s:[i,[i,{s:s}]]}", "z", 0, "big", (json_int_t)-9007199254740993LL,
                              "real", 0.1, "e", 1e300, "t", 1, "f", 0, "null", "eo", "ea", "nest", 1, 2, "x", "y"), "mixed");
    json_t *o = json_object(); /* insertion order, not key order */
    json_object_set_new(o, "zeta", json_integer(1));
    json_object_set_new(o, "alpha", json_integer(2));
    json_object_set_new(o, "zeta", json_integer(3));
    same_as_jansson(o, "key order");
    same_as_jansson(json_pack("[f,f,f]", -0.0, 123456789.125, 3.0), "reals");
    same_as_jansson(json_pack("[I,I,I,I,I]", (json_int_t)INT64_MIN, (json_int_t)INT64_MAX, (json_int_t)-1, (json_int_t)10,
                              (json_int_t)-1000000000000LL), "integers at the 64-bit limits");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_special_at_every_position),
        cmocka_unit_test(test_every_byte_at_every_position),
        cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_utf8_sequences),
        cmocka_unit_test(test_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
