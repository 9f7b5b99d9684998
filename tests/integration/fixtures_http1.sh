#!/bin/bash
# Real HTTP/1.1 captures (tests/fixtures/http1, made by tests/fixtures/gen/generate.sh
# from the openai SDK, curl and a pipelining socket against the Azure OpenAI stand-in):
# llmtap's records must equal the clients' ground truth field by field, and no secret
# may appear in the output.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
secrets=sk-test-key-0123456789,apim-sub-key-42,eyJ0eXAiOiJKV1QiLCJhbGciOi
rc=0
for pcap in tests/fixtures/http1/*.pcap; do
    name=$(basename "$pcap" .pcap)
    "$LLMTAP" replay "$pcap" --no-store --json -q >"$tmp/$name.jsonl"
    echo "== $name"
    node tests/tools/compare.mjs "$tmp/$name.jsonl" "tests/fixtures/http1/$name.truth.json" --secrets "$secrets" || rc=1
done
exit $rc
