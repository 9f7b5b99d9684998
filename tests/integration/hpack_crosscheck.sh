#!/bin/bash
# HPACK cross-check: header blocks encoded by an independent encoder
# (python3-hpack: Huffman and raw literals, indexed and never-indexed fields,
# evictions, table size updates, CONTINUATION) must be decoded by llmtap's
# HTTP/2 parser exactly as encoded, whatever the chunking of the input.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BUILD:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/tools/hpack_gen.py "$tmp/h"
rc=0
for chunk in 1 7 100 100000; do
    "$BUILD/tests/tools/h2feed" "$tmp/h.client" "$tmp/h.server" $chunk >"$tmp/out.$chunk.jsonl"
    node tests/tools/hpack_check.mjs "$tmp/h.expected.json" "$tmp/out.$chunk.jsonl" $chunk || rc=1
done
exit $rc
