#!/bin/bash
# The 403/429 audit: over every real capture (HTTP/1.1 and HTTP/2, mixed with
# successful calls), the gateway records with ResponseCode 403 or 429 must be
# exactly the blocked and throttled calls of the ground truth, each with its
# caller and its reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for p in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap; do
    "$LLMTAP" replay "$p" --no-store --json -q >>"$tmp/all.jsonl"
    cat "${p%.pcap}.truth.json" >>"$tmp/truths.txt"; echo >>"$tmp/truths.txt"
done
ls tests/fixtures/http1/*.truth.json tests/fixtures/http2/*.truth.json >"$tmp/truth-files"
node tests/tools/audit_check.mjs "$tmp/all.jsonl" "$tmp/truth-files"
