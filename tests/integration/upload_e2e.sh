#!/bin/bash
# Replay every real capture into a spool, upload it to the Logs Ingestion
# stand-in (HTTPS, strict about tokens, gzip, size, columns and types), and
# check what the service accepted: every record once, one row 0 per LLM call,
# the issue's token query and 403 audit computed over the accepted rows equal
# to the ground truth; then the spool holds nothing pending.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
standin_start "$tmp/s"
write_conf "$tmp/llmtap.conf" client_secret
db=$tmp/spool.db
for p in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap; do "$LLMTAP" replay "$p" --db "$db" -q; done
"$LLMTAP" upload --config "$tmp/llmtap.conf" --db "$db"
ls tests/fixtures/http1/*.truth.json tests/fixtures/http2/*.truth.json >"$tmp/truths"
node -e '
  const fs = require("fs");
  const [acc, truthList, dbRows] = process.argv.slice(1);
  const rows = fs.readFileSync(acc, "utf8").trim().split("\n").map(JSON.parse);
  const truth = fs.readFileSync(truthList, "utf8").trim().split("\n").flatMap((f) => JSON.parse(fs.readFileSync(f, "utf8")));
  let pass = 0, fail = 0;
  const t = (ok, msg) => { ok ? pass++ : (fail++, console.log("FAIL: " + msg)); };
  const llm0 = rows.filter((r) => r._stream === "Custom-ApiManagementGatewayLlmLog_CL" && (r.SequenceNumber ?? 0) === 0);
  const gw = rows.filter((r) => r._stream === "Custom-ApiManagementGatewayLogs_CL");
  const [nllm, ngw] = dbRows.split(",").map(Number);
  t(llm0.length === nllm, `LLM row-0 count ${llm0.length} != spooled ${nllm}`);
  t(gw.length === ngw, `gateway rows ${gw.length} != spooled ${ngw}`);
  t(new Set(llm0.map((r) => r.RecordId)).size === llm0.length, "duplicate LLM rows without a crash");
  // the token query over accepted rows vs the ground truth
  const withTokens = llm0.filter((r) => Number(r.TotalTokens) > 0);
  const truthTok = truth.filter((c) => c.llm && c.llm.UsageSource === "reported" && c.llm.TotalTokens > 0);
  const sum = (a, f) => a.reduce((s, x) => s + Number(f(x)), 0);
  t(withTokens.length === truthTok.length, `TotalRequests ${withTokens.length} != truth ${truthTok.length}`);
  t(sum(withTokens, (r) => r.PromptTokens) === sum(truthTok, (c) => c.llm.PromptTokens), "PromptTokensSum differs");
  t(sum(withTokens, (r) => r.CompletionTokens) === sum(truthTok, (c) => c.llm.CompletionTokens), "CompletionTokensSum differs");
  t(sum(withTokens, (r) => r.TotalTokens) === sum(truthTok, (c) => c.llm.TotalTokens), "TotalTokensSum differs");
  // the 403 audit
  const a403 = gw.filter((r) => r.ResponseCode === 403).map((r) => `${r.CallerIpAddress}|${r.Url}`).sort();
  const w403 = truth.filter((c) => c.gateway.ResponseCode === 403).map((c) => `${c.gateway.CallerIpAddress ?? "127.0.0.1"}|${c.gateway.Url}`).sort();
  t(JSON.stringify(a403) === JSON.stringify(w403) && w403.length > 0, `403 audit: ${a403} vs ${w403}`);
  t(!JSON.stringify(rows).includes("sk-test-key-0123456789"), "a secret reached Log Analytics");
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(fail ? 1 : 0);' "$ACCEPTED" "$tmp/truths" "$(sqlite3 "$db" "select sum(tbl=0)||','||sum(tbl=1) from records")"
[ "$(sqlite3 "$db" "select count(*) from records where state = 0")" = 0 ]
