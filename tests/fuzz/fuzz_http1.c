/* fuzz_http1.c -- libFuzzer harness for the HTTP/1.x parser (lt_http1_ops),
 * both directions of one connection.
 *
 * The input is a connection script (fuzz_script.h): feeds of either
 * direction, holes, FINs, a reset, optional small caps and a differential
 * run with every feed split into small pieces. Exchanges are checked for
 * invariants and turned into records that must be deliverable. Seeds:
 * tests/fuzz/make_seeds.py. Regression inputs: tests/fuzz/regress/http1/. */
#include "fuzz_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_script_main(&lt_http1_ops, 11, data, size);
}
