#!/bin/bash
# Synthetic damage derived from the real HTTP/1.1 captures (tests/tools/pcapsynth):
# every link type, reordering, duplicates, overlapping retransmits, every single
# dropped data segment, captures starting mid-connection, 1000 concurrent
# connections. The rule checked everywhere: a record marked complete equals the
# ground truth; damage shows up as Complete=false with a reason (and in counters),
# never as a wrong record.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}" "${BUILD:?}"
S=$BUILD/tests/tools/pcapsynth
FX=tests/fixtures/http1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0
ok()   { checks=$((checks + 1)); }
bad()  { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
cmp()  { # pcap truth [compare args...]
    local p=$1 t=$2; shift 2
    "$LLMTAP" replay "$p" --no-store --json -q >"$tmp/r.jsonl"
    if node tests/tools/compare.mjs "$tmp/r.jsonl" "$t" "$@" >"$tmp/cmp.out"; then ok; else bad "$p $*: $(tail -3 "$tmp/cmp.out" | tr '\n' ' ')"; fi
}
counter() { "$LLMTAP" replay "$1" --no-store 2>&1 >/dev/null | awk -v n="$2" '$1 == n {print $2}'; }

for kind in en10mb vlan qinq sll sll2 null raw; do
    "$S" relink $FX/chat.pcap "$tmp/l.pcap" $kind; cmp "$tmp/l.pcap" $FX/chat.truth.json
done
for f in $FX/*.pcap; do
    t=${f%.pcap}.truth.json
    for op in reorder dup overlap; do "$S" $op "$f" "$tmp/o.pcap"; cmp "$tmp/o.pcap" "$t"; done
done
"$S" dup $FX/chat.pcap "$tmp/o.pcap"
[ "$(counter "$tmp/o.pcap" tcp_retransmit_bytes)" -gt 0 ] && ok || bad "dup: tcp_retransmit_bytes not counted"
"$S" reorder $FX/chat.pcap "$tmp/o.pcap"
[ "$(counter "$tmp/o.pcap" tcp_segments_ooo)" -gt 0 ] && ok || bad "reorder: tcp_segments_ooo not counted"

for name in chat tools curl; do
    n=$("$S" count $FX/$name.pcap)
    for i in $(seq 1 "$n"); do
        "$S" drop $FX/$name.pcap "$tmp/d.pcap" "$i"
        cmp "$tmp/d.pcap" $FX/$name.truth.json --damaged any
    done
done
"$S" drop $FX/chat.pcap "$tmp/d.pcap" 20
[ "$(counter "$tmp/d.pcap" tcp_holes)" = 1 ] && ok || bad "drop: tcp_holes != 1"
cmp "$tmp/d.pcap" $FX/chat.truth.json --damaged 1

for i in 8 20 30 60 100; do
    "$S" cut $FX/chat.pcap "$tmp/c.pcap" $i
    cmp "$tmp/c.pcap" $FX/chat.truth.json --damaged any
    [ "$(counter "$tmp/c.pcap" tcp_midstream)" = 1 ] && ok || bad "cut $i: tcp_midstream not counted"
done

"$S" multiply $FX/chat.pcap "$tmp/m.pcap" 1000
"$LLMTAP" replay "$tmp/m.pcap" --no-store --json -q >"$tmp/m.jsonl"
llm=$(grep -c '"Table":"ApiManagementGatewayLlmLog"' "$tmp/m.jsonl")
complete=$(grep '"Table":"ApiManagementGatewayLlmLog"' "$tmp/m.jsonl" | grep -c '"Complete":true')
[ "$llm" = 5000 ] && [ "$complete" = 5000 ] && ok || bad "1000 connections: $llm LLM records, $complete complete (want 5000)"
[ "$(counter "$tmp/m.pcap" tcp_flows)" = 1000 ] && ok || bad "1000 connections: tcp_flows"

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
