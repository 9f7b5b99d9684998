#!/bin/bash
# Real HTTP/2 captures (tests/fixtures/http2: Node's http2 client with 24 concurrent
# streams, a 20 KB header in CONTINUATION frames, SETTINGS_HEADER_TABLE_SIZE 256, a 403
# and a 429; curl --http2-prior-knowledge) compared field by field with the clients'
# ground truth. Then damage: captures joined mid-connection and every dropped data
# segment -- a record marked complete must still equal the truth (never another
# stream's headers), and the damage must be visible.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}" "${BUILD:?}"
S=$BUILD/tests/tools/pcapsynth
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0
cmp() {
    local p=$1 t=$2; shift 2
    checks=$((checks + 1))
    "$LLMTAP" replay "$p" --no-store --json -q >"$tmp/r.jsonl"
    if ! node tests/tools/compare.mjs "$tmp/r.jsonl" "$t" "$@" >"$tmp/cmp.out"; then
        fails=$((fails + 1)); echo "FAIL $p $*: $(tail -3 "$tmp/cmp.out" | tr '\n' ' ')"
    fi
}
for pcap in tests/fixtures/http2/*.pcap; do
    t=${pcap%.pcap}.truth.json
    cmp "$pcap" "$t" --secrets sk-test-key-0123456789
    "$S" reorder "$pcap" "$tmp/o.pcap"; cmp "$tmp/o.pcap" "$t"
    "$S" dup "$pcap" "$tmp/o.pcap"; cmp "$tmp/o.pcap" "$t"
    for i in 10 20 40 60 90; do "$S" cut "$pcap" "$tmp/c.pcap" $i; cmp "$tmp/c.pcap" "$t" --damaged any; done
    n=$("$S" count "$pcap")
    for i in $(seq 1 3 "$n"); do "$S" drop "$pcap" "$tmp/d.pcap" "$i"; cmp "$tmp/d.pcap" "$t" --damaged maybe; done
done
echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
