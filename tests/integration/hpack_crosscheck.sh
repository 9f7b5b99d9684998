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
    node -e '
      const fs = require("fs");
      const want = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const got = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse).sort((a, b) => a.stream - b.stream);
      let bad = 0;
      if (got.length !== want.length) { console.log(`streams: want ${want.length} got ${got.length}`); bad++; }
      want.forEach((w, i) => {
        const g = got[i] || {};
        if (g.stream !== w.stream || g.path !== w.path || g.status !== 200 || g.incomplete !== 0 ||
            JSON.stringify(g.headers) !== JSON.stringify(w.headers)) { bad++; console.log(`stream ${w.stream} differs`); }
      });
      console.log(`chunk ${process.argv[3]}: ${want.length - bad} passed, ${bad} failed`);
      process.exit(bad ? 1 : 0);' "$tmp/h.expected.json" "$tmp/out.$chunk.jsonl" $chunk || rc=1
done
exit $rc
