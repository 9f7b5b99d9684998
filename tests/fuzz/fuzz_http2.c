/* fuzz_http2.c -- libFuzzer harness for the HTTP/2 connection parser
 * (lt_http2_ops: frames, streams, HPACK through libnghttp2, DATA through the
 * Content-Encoding decoders).
 *
 * Same connection script as HTTP/1 (fuzz_script.h), so the fuzzer mixes
 * frames of both directions with holes, FINs and resets; seeds are the
 * per-direction byte streams of the HTTP/2 fixture captures, cut into the
 * script format by tests/fuzz/make_seeds.py. Regression inputs:
 * tests/fuzz/regress/http2/. */
#include "fuzz_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_script_main(&lt_http2_ops, 20, data, size);
}
