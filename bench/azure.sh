#!/bin/bash
# Replay on captures shaped like real Azure OpenAI traffic (issue 13): the openai SDK over
# HTTP/1.1 (tests/fixtures/gen/azstream.mjs) and Node's http2 client (h2burst.mjs, 4 connections
# x 32 streams in flight) against the stand-in, every answer streamed as ~90 chunks in Azure's
# shape (sorted keys, content_filter_results, logprobs, finish_reason, index on every chunk), a
# usage chunk, every 5th HTTP/1.1 call a streamed tool call. Generated at bench time into
# bench/out/ (needs root for tcpdump; not committed). Prints Markdown: one table, the ratios.
#   bench/azure.sh BUILD [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; CALLS=${2:-2000}
out=bench/out; mkdir -p "$out"
gen=tests/fixtures/gen/capture.sh
[ -f "$out/azure-h1.pcap" ] || "$gen" "$out" azure-h1 --h1 azstream.mjs "$CALLS" 64 330 5 >&2
[ -f "$out/azure-h2.pcap" ] || "$gen" "$out" azure-h2 --h2 h2burst.mjs 4 32 $((CALLS / 128)) 330 1 1 >&2
. bench/lib.sh   # run, measure, measure_db
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
echo "| Capture | Run | Wall | Capture MB/s | Calls/s | SSE events/s | Peak RSS | Ratio to bare read |"
echo "|---|---|---|---|---|---|---|---|"
for p in h1 h2; do
    f=$out/azure-$p.pcap
    cat "$f" >/dev/null
    mb=$(calc "$(stat -c %s "$f") / 1048576")
    stats=$("$BUILD/llmtap" replay "$f" --no-store --config /dev/null 2>&1 >/dev/null)
    calls=$(awk '$1 == "http_exchanges" {print $2}' <<<"$stats"); events=$(awk '$1 == "sse_events" {print $2}' <<<"$stats")
    read -r bw _ _ brss <<<"$(measure "$BUILD/bench/pcap_loop" "$f")"
    read -r mw _ _ mrss <<<"$(measure "$BUILD/bench/pcap_loop" --reader "$f")"
    read -r tw _ _ trss <<<"$(measure "$BUILD/llmtap" replay "$f" --no-store --config /dev/null -q)"
    read -r sw _ _ srss <<<"$(measure_db "$f" --config /dev/null -q)"
    name="azure-$p ($mb MB, $calls calls, $events events)"
    for r in "bare libpcap loop|$bw|$brss" "same loop over llmtap's reader|$mw|$mrss" "replay --no-store|$tw|$trss" "replay --db (tmpfs)|$sw|$srss"; do
        IFS='|' read -r label w rss <<<"$r"
        echo "| $name | $label | $w s | $(calc "$mb / $w") | $(calc "$calls / $w" 0) | $(calc "$events / $w" 0) | $(calc "$rss / 1024") MiB | $(calc "$bw / $w" 2) |"
    done
    eval "tw_$p=$tw; sw_$p=$sw; bw_$p=$bw; calls_$p=$calls"
done
# --workers on azure-h1 x 4 (pcapsynth multiply: the same calls on 4 x as many connections): azure-h1
# alone replays in about 0.1 s, a fifth of it the process's start-up (loading ~30 shared libraries)
x4=$out/azure-h1x4.pcap
[ -f "$x4" ] || "$BUILD/tests/tools/pcapsynth" multiply "$out/azure-h1.pcap" "$x4" 4 >/dev/null
cat "$x4" >/dev/null
read -r w1 _ _ _ <<<"$(measure "$BUILD/llmtap" replay "$x4" --no-store --config /dev/null -q --workers 1)"
read -r w2 _ _ _ <<<"$(measure "$BUILD/llmtap" replay "$x4" --no-store --config /dev/null -q --workers 2)"
# storing on the same 0.4 s runs: GNU time's 0.01 s steps are 10% of azure-h1's own 0.1 s
read -r sx _ _ _ <<<"$(measure_db "$x4" --config /dev/null -q)"
echo
echo "- replay --workers 2 vs 1 on azure-h1 x 4 ($(calc "$(stat -c %s "$x4") / 1048576") MB): $w2 s vs $w1 s, **$(calc "$w1 / $w2" 2)x** ($(nproc) cores; goal >= 1.7x)."
echo "- HTTP/1.1 replay / bare read: **$(calc "$bw_h1 / $tw_h1" 2)** on the Azure-shaped HTTP/1.1 capture (goal >= 0.5)."
echo "- HTTP/2 replay speed relative to HTTP/1.1 (calls/s, same answer shapes): **$(calc "($calls_h2 / $tw_h2) / ($calls_h1 / $tw_h1)" 2)** (goal >= 0.8)."
echo "- Storing: --db on tmpfs costs **+$(calc "($sx / $w1 - 1) * 100" 0)%** over --no-store on azure-h1 x 4 ($sx s vs $w1 s;"
echo "  +$(calc "($sw_h1 / $tw_h1 - 1) * 100" 0)% on azure-h1 alone, timed to 0.01 s, with the spool's creation and last commit in its 0.1 s) (goal <= 15%)."
