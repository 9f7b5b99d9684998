#!/bin/bash
# HPACK, block by block: header blocks written by an independent encoder
# (python3-hpack via tests/tools/hpack_blocks.py: Huffman and raw literals,
# indexed and never-indexed fields, evictions under small tables, size updates
# to 0 and back, binary and non-ASCII values, 20 KB values, seeded random
# sets) must be decoded by parsers/hpack.c -- the decoder of the HTTP/2 parser
# in parsers/http2_conn.c -- exactly as encoded: every name and value byte, the
# order, and the never-indexed flag; blocks whole, in 1-byte fragments and cut
# in two. Three malformed cases must be refused. Generated at test time.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BUILD:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/tools/hpack_blocks.py "$tmp/cases.json"
"$BUILD/tests/tools/hpack_decode" "$tmp/cases.json"
