#!/bin/bash
# run.sh BUILD SECONDS -- `make fuzz-run`: runs every libFuzzer target of
# BUILD/fuzz/ for SECONDS on its corpus and fails if any of them finds
# anything (crash, sanitizer report, leak, timeout, out-of-memory).
#
# The corpus of target NAME is BUILD/fuzz/corpus/NAME: the seeds written by
# make_seeds.py plus the committed regression inputs (regress/NAME), plus
# whatever earlier runs kept there. Findings land in BUILD/fuzz/findings/NAME/;
# copy one into tests/fuzz/regress/NAME/ once fixed so it is replayed forever.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SECONDS_EACH=${2:-60}
OUT="$BUILD/fuzz"
python3 tests/fuzz/make_seeds.py "$OUT/seeds" || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for bin in "$OUT"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/fuzz_}
    corpus="$OUT/corpus/$name"
    mkdir -p "$corpus" "$OUT/findings/$name"
    cp -n "$OUT/seeds/$name"/* "$corpus"/ 2>/dev/null
    [ -d "tests/fuzz/regress/$name" ] && cp -n "tests/fuzz/regress/$name"/* "$corpus"/ 2>/dev/null
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    echo "== fuzz_$name: $SECONDS_EACH s, corpus $(ls "$corpus" | wc -l) inputs"
    if ! "$bin" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -max_len=262144 -print_final_stats=1 -artifact_prefix="$OUT/findings/$name/" \
        "$corpus" >"$OUT/fuzz_$name.log" 2>&1; then
        failed+=("$name")
        echo "FINDING in fuzz_$name (log: $OUT/fuzz_$name.log, input in $OUT/findings/$name/)"
        grep -E "ERROR|runtime error|invariant|mismatch|SUMMARY" "$OUT/fuzz_$name.log" | head -n 10 | sed 's/^/    /'
    else
        grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$OUT/fuzz_$name.log" | sed 's/^/    /'
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz targets with findings: ${failed[*]}"; exit 1; }
echo "no findings"
