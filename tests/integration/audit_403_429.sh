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
node -e '
  const fs = require("fs");
  const recs = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const truth = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").flatMap((f) => JSON.parse(fs.readFileSync(f, "utf8")));
  const key = (code, ip, reason) => `${code}|${ip}|${reason}`;
  const want = truth.filter((t) => [403, 429].includes(t.gateway.ResponseCode))
    .map((t) => key(t.gateway.ResponseCode, t.gateway.CallerIpAddress ?? "127.0.0.1", t.gateway.LastErrorReason)).sort();
  const got = recs.filter((r) => r.Table === "ApiManagementGatewayLogs" && [403, 429].includes(r.ResponseCode))
    .map((r) => key(r.ResponseCode, r.CallerIpAddress, r.LastErrorReason)).sort();
  const ok = JSON.stringify(want) === JSON.stringify(got) && want.length > 0;
  if (!ok) console.log("want", want, "\ngot ", got);
  console.log(`audit of ${want.length} blocked/throttled calls: ${ok ? "1 passed, 0 failed" : "0 passed, 1 failed"}`);
  process.exit(ok ? 0 : 1);' "$tmp/all.jsonl" "$tmp/truth-files"
