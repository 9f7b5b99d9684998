#!/bin/bash
# fuzz_regress.sh -- replays the committed fuzz regression inputs
# (tests/fuzz/regress/NAME/*) through each harness built without libFuzzer
# ($BUILD/fuzz-replay/fuzz_NAME, the harness linked with tests/fuzz/driver.c).
# Each input once crashed, leaked, hung or broke an invariant before its fix;
# under `make asan` the replay runs with the sanitizers. Fails, naming the
# target and the last input started, on any abort or sanitizer report.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0; total=0
for dir in tests/fuzz/regress/*/; do
    name=$(basename "$dir")
    bin="$BUILD/fuzz-replay/fuzz_$name"
    n=$(ls "$dir" | wc -l)
    if [ ! -x "$bin" ]; then
        echo "FAIL $name: expected the replay binary $bin (make BUILD=$BUILD all), got none"
        fail=1; continue
    fi
    log=$(mktemp)
    if timeout 300 "$bin" "$dir" >"$log" 2>&1; then
        echo "ok   $name: $n inputs replayed"
    else
        echo "FAIL $name: expected all $n inputs to run clean; last input started and its report:"
        grep "^driver: " "$log" | tail -n 1 | sed 's/^/    /'
        grep -v "^driver: " "$log" | head -n 40 | sed 's/^/    /'
        fail=1
    fi
    total=$((total + n))
    rm -f "$log"
done
[ "$total" -gt 0 ] || { echo "FAIL: expected regression inputs in tests/fuzz/regress/*/, found none"; exit 1; }
echo "$total regression inputs replayed"
exit $fail
