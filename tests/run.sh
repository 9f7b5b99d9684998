#!/bin/bash
# Runs the whole test suite against one build directory and prints a tally.
#   tests/run.sh build        (make test)
#   tests/run.sh build-asan   (make asan)
# Unit tests: every $BUILD/tests/test_* binary (cmocka). Integration tests:
# every tests/integration/*.sh, run with LLMTAP=$BUILD/llmtap and BUILD set.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export BUILD LLMTAP="$PWD/$BUILD/llmtap"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0; fail=0; failed=()
echo "== suite on $BUILD, llmtap clock offset ${LLMTAP_CLOCK_OFFSET:-0} s"
run_one() {
    local name=$1; shift
    local log="$BUILD/test-logs/$name.log"
    mkdir -p "$(dirname "$log")"
    if "$@" >"$log" 2>&1; then
        pass=$((pass + 1)); echo "PASS $name"
    else
        fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (log: $log)"
        tail -n 30 "$log" | sed 's/^/    /'
    fi
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
    [ -f "$t" ] || continue
    run_one "integration/$(basename "$t" .sh)" bash "$t"
done
echo
[ ${#failed[@]} -eq 0 ] || printf 'failed: %s\n' "${failed[@]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
