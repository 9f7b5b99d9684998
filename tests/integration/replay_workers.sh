#!/bin/bash
# llmtap replay --workers N (capture/workers.c: each of N threads reads the file and runs the
# flows placed on its pipeline; every thread must place every flow alike): for every committed
# capture, 2 and 3 workers must give the same records as one pipeline (compared sorted: records
# come in the order they complete) and the same counters, so no flow is run twice or lost; from
# stdin (one thread runs every pipeline) likewise; and storing through the shared spool must
# insert every record once (a second replay: all duplicates). Two generated 16 MB captures
# (bench/gen_capture: 64 and 3 concurrent connections) place many flows, and few on 3 pipelines. A
# reader thread that cannot start leaves its pipeline to the caller's thread: the same records.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}" "${BUILD:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0 n=0
"$BUILD/bench/gen_capture" "$tmp/gen64.pcap" 16 64 >/dev/null
"$BUILD/bench/gen_capture" "$tmp/gen3.pcap" 16 3 >/dev/null
# a committed capture with three frames the decoder refuses appended (ARP, UDP, an IPv4 header cut
# short; little-endian pcap records): the reader decodes for placement, the pipeline must count them
rec() { printf '\x59\xbb\x0f\x6b\x00\x00\x00\x00'; printf "\\x$1\\x00\\x00\\x00\\x$1\\x00\\x00\\x00"; }
eth='\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01'
{ cat tests/fixtures/http1/azure.pcap
  rec 2a; printf "$eth\x08\x06"; head -c 28 /dev/zero
  rec 2a; printf "$eth\x08\x00\x45\x00\x00\x1c\x00\x00\x00\x00\x40\x11\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02\x04\xd2\x16\x2e\x00\x08\x00\x00"
  rec 16; printf "$eth\x08\x00\x45\x00\x00\x1c\x00\x00\x00\x00"; } >"$tmp/junk.pcap"
for pcap in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap tests/fixtures/h2burst/*.pcap "$tmp/gen64.pcap" "$tmp/gen3.pcap" "$tmp/junk.pcap"; do
    "$LLMTAP" replay "$pcap" --json --no-store --config /dev/null 2>"$tmp/c1" | sort >"$tmp/r1"
    if [ ! -s "$tmp/r1" ]; then fails=$((fails + 1)); echo "FAIL $pcap: expected records from one pipeline, got none"; fi
    if [ "$pcap" = "$tmp/junk.pcap" ] && [ "$(grep -cE '^ *packets_(truncated|non_ip|non_tcp) +1 ' "$tmp/c1")" != 3 ]; then
        fails=$((fails + 1)); echo "FAIL $pcap: expected packets_truncated, packets_non_ip and packets_non_tcp 1, got:"
        grep '^ *packets' "$tmp/c1"
    fi
    for w in 2 3; do
        n=$((n + 1))
        "$LLMTAP" replay "$pcap" --json --no-store --config /dev/null --workers $w 2>"$tmp/cw" | sort >"$tmp/rw"
        if ! cmp -s "$tmp/r1" "$tmp/rw"; then
            fails=$((fails + 1))
            echo "FAIL $pcap --workers $w: records differ from one pipeline's (expected $(wc -l <"$tmp/r1"), got $(wc -l <"$tmp/rw")):"
            diff "$tmp/r1" "$tmp/rw" | head -4 | cut -c1-200
        fi
        if ! diff <(grep -v '^llmtap' "$tmp/c1") <(grep -v '^llmtap' "$tmp/cw") >"$tmp/cd"; then
            fails=$((fails + 1)); echo "FAIL $pcap --workers $w: counters differ (< one pipeline, > workers):"; head -6 "$tmp/cd"
        fi
    done
done
# stdin cannot be read by each thread: one thread runs the pipelines, with the same records
n=$((n + 1))
"$LLMTAP" replay - --json --no-store --config /dev/null --workers 2 <"$tmp/gen64.pcap" 2>/dev/null | sort >"$tmp/rs"
"$LLMTAP" replay "$tmp/gen64.pcap" --json --no-store --config /dev/null 2>/dev/null | sort >"$tmp/r1"
if [ ! -s "$tmp/r1" ] || ! cmp -s "$tmp/r1" "$tmp/rs"; then
    fails=$((fails + 1)); echo "FAIL stdin --workers 2: expected the $(wc -l <"$tmp/r1") records of one pipeline, got $(wc -l <"$tmp/rs")"
fi
# a reader thread that cannot be started (pthread_create failing from its Nth call: tests/lib/failthread.c,
# preloaded): its pipeline and any after it run on the caller's thread, with a warning, and the records and
# counters are still those of one pipeline (replay --workers 3 --no-store starts exactly two threads)
cc -shared -fPIC -o "$tmp/failthread.so" tests/lib/failthread.c -ldl
"$LLMTAP" replay "$tmp/gen64.pcap" --json --no-store --config /dev/null 2>"$tmp/c1" | sort >"$tmp/r1"
for from in 1 2; do
    n=$((n + 1))
    LT_TEST_THREADS_FAIL_FROM=$from LD_PRELOAD="$tmp/failthread.so" \
        "$LLMTAP" replay "$tmp/gen64.pcap" --json --no-store --config /dev/null --workers 3 2>"$tmp/cf" | sort >"$tmp/rf"
    warned=$(grep -c 'could not start; its pipeline runs on the first' "$tmp/cf" || true)
    if [ "$warned" != 1 ] || ! cmp -s "$tmp/r1" "$tmp/rf" || ! diff <(grep -v '^llmtap' "$tmp/c1") <(grep -v '^llmtap' "$tmp/cf") >/dev/null; then
        fails=$((fails + 1))
        echo "FAIL --workers 3 with thread $from of 2 failing to start: expected one warning and the $(wc -l <"$tmp/r1") records and counters of one pipeline, got $warned warnings and $(wc -l <"$tmp/rf") records:"
        grep '^llmtap' "$tmp/cf" | head -3; diff <(grep -v '^llmtap' "$tmp/c1") <(grep -v '^llmtap' "$tmp/cf") | head -4
    fi
done
pcap=tests/fixtures/http1/azure.pcap
want=$(wc -l < <("$LLMTAP" replay "$pcap" --json --no-store --config /dev/null -q))
"$LLMTAP" replay "$pcap" --db "$tmp/s.db" --config /dev/null --workers 2 2>"$tmp/s1"
"$LLMTAP" replay "$pcap" --db "$tmp/s.db" --config /dev/null --workers 2 2>"$tmp/s2"
got=$(awk '/^llmtap: replay of/ {print $(NF-5)}' "$tmp/s1"); dup=$(awk '/^llmtap: replay of/ {print $(NF-2)}' "$tmp/s2")
if [ "$got" != "$want" ] || [ "$dup" != "$want" ]; then
    fails=$((fails + 1)); echo "FAIL --db --workers 2: expected $want stored then $want already stored, got $got and $dup"
fi
echo "replay --workers: $n comparisons + store, $fails failures"
[ "$fails" = 0 ]
