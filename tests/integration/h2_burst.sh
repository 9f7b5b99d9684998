#!/bin/bash
# Issue 13's HTTP/2 fidelity report: non-streamed answers (~2.5 KB) to Node's http2 client at
# 4 connections x 32 concurrent streams, where the server's END_STREAM frames of a whole wave
# travel together in one late segment (flow control holds the bodies back) and the kernel
# retransmits that segment (tail loss probe), were said to be recorded "truncated" although whole.
# tests/fixtures/h2burst/h2burst.pcap (tests/fixtures/gen/capture.sh ... h2burst.mjs 4 32 1 2500)
# must give every call complete and equal to the client's ground truth; with any one data
# segment dropped, the damage must show as a hole (never "truncated": the connection did close
# after every stream ended) and every record marked complete must still equal the truth.
# A capture that stops early (its first k frames, for every k) must also mark complete only what
# equals the truth; and a stop after a wave's bodies but before its late END_STREAM segment
# (the first 64 frames) must count those calls complete, as the counter http2_length_complete
# says: their DATA reached content-length.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}" "${BUILD:?}"
S=$BUILD/tests/tools/pcapsynth
pcap=tests/fixtures/h2burst/h2burst.pcap truth=tests/fixtures/h2burst/h2burst.truth.json
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
"$LLMTAP" replay "$pcap" --no-store --json -q --config /dev/null >"$tmp/r.jsonl"
if ! node tests/tools/compare.mjs "$tmp/r.jsonl" "$truth" --secrets sk-test-key-0123456789 >"$tmp/cmp.out"; then
    fails=$((fails + 1)); echo "FAIL $pcap: $(tail -3 "$tmp/cmp.out" | tr '\n' ' ')"
fi
inc=$(grep -c '"Complete":false' "$tmp/r.jsonl" || true)
[ "$inc" = 0 ] || { fails=$((fails + 1)); echo "FAIL $pcap: expected 0 incomplete records, got $inc"; }
n=$("$S" count "$pcap")
for i in $(seq 1 "$n"); do
    "$S" drop "$pcap" "$tmp/d.pcap" "$i"
    "$LLMTAP" replay "$tmp/d.pcap" --no-store --json -q --config /dev/null >"$tmp/d.jsonl"
    t=$(grep -c '"IncompleteReason":"truncated"' "$tmp/d.jsonl" || true)
    [ "$t" = 0 ] || { fails=$((fails + 1)); echo "FAIL segment $i dropped: expected no \"truncated\" record, got $t"; }
    if ! node tests/tools/compare.mjs "$tmp/d.jsonl" "$truth" --damaged maybe >"$tmp/cmp.out"; then
        fails=$((fails + 1)); echo "FAIL segment $i dropped: $(tail -3 "$tmp/cmp.out" | tr '\n' ' ')"
    fi
done
total=$(tcpdump -r "$pcap" 2>/dev/null | wc -l)
for k in $(seq 1 $((total - 1))); do
    tcpdump -r "$pcap" -c "$k" -w "$tmp/k.pcap" 2>/dev/null
    "$LLMTAP" replay "$tmp/k.pcap" --no-store --json --config /dev/null >"$tmp/k.jsonl" 2>"$tmp/k.err"
    if ! node tests/tools/compare.mjs "$tmp/k.jsonl" "$truth" --damaged maybe >"$tmp/cmp.out"; then
        fails=$((fails + 1)); echo "FAIL first $k frames: $(tail -3 "$tmp/cmp.out" | tr '\n' ' ')"
    fi
    if [ "$k" = 64 ]; then   # 85 answers whose DATA reached content-length: a gateway and an LLM record each
        c=$(grep -c '"Complete":true' "$tmp/k.jsonl" || true)
        [ "$c" = 170 ] || { fails=$((fails + 1)); echo "FAIL first 64 frames (bodies of a wave, not its END_STREAM): expected 170 complete records, got $c"; }
        lc=$(awk '$1 == "http2_length_complete" {print $2}' "$tmp/k.err")
        [ "$lc" = 85 ] || { fails=$((fails + 1)); echo "FAIL first 64 frames: expected http2_length_complete 85, got '$lc'"; }
    fi
done
echo "h2 burst: whole capture + $n single-segment drops + $((total - 1)) early stops, $fails failures"
[ "$fails" = 0 ]
