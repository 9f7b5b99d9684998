// check_live.mjs -- checks for the live-capture tests (tests/integration/live_*.sh).
//
//   node check_live.mjs merge OUT.truth.json IN1.truth.json IN2.truth.json ...
//       one ground-truth file from several client runs (for compare.mjs)
//   node check_live.mjs uploaded RECORDS.jsonl ACCEPTED.jsonl
//       every record the agent produced (its --json output) arrived at the
//       Logs Ingestion stand-in (LLM: row 0 by CorrelationId; gateway: by
//       CorrelationId), and nothing arrived that the agent did not produce
//   node check_live.mjs committed IDS.txt ACCEPTED.jsonl
//       every record committed to the spool (lines "table|CorrelationId|RecordId",
//       as sqlite3 prints them)
//       arrived (kill -9 test)
//   node check_live.mjs agree STATUS.json METRICS.txt FINAL_COUNTERS.txt
//       `llmtap status --json`, the Prometheus page and the counters the
//       agent printed when it stopped give the same numbers
import fs from 'node:fs';
import { Check, readJsonl } from '../lib/check.mjs';

const [mode, ...args] = process.argv.slice(2);
const LLM = 'Custom-ApiManagementGatewayLlmLog_CL', GW = 'Custom-ApiManagementGatewayLogs_CL';
const c = new Check(`live ${mode}`);

function keysOf(rows, stream) {
  return new Set(rows.filter((r) => r._stream === stream && !(r.SequenceNumber > 0)).map((r) => r.CorrelationId));
}

function uploaded([recFile, accFile]) {
  const recs = readJsonl(recFile), acc = readJsonl(accFile);
  c.ok(recs.length > 0, `the agent produced records (${recFile})`, '> 0', recs.length);
  for (const [table, stream] of [['ApiManagementGatewayLlmLog', LLM], ['ApiManagementGatewayLogs', GW]]) {
    const got = keysOf(acc, stream);
    const want = new Set(recs.filter((r) => r.Table === table).map((r) => r.CorrelationId));
    for (const id of want) c.ok(got.has(id), `${table} record CorrelationId=${id} uploaded`, 'accepted', 'missing');
    for (const id of got) c.ok(want.has(id), `${stream} row CorrelationId=${id} was produced by this agent run`, 'produced', 'unknown');
  }
}

function committed([idsFile, accFile]) {
  const acc = readJsonl(accFile);
  const ids = fs.readFileSync(idsFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split(/[| ]/));
  const got = { 0: keysOf(acc, LLM), 1: keysOf(acc, GW) };
  const byRecordId = new Set(acc.filter((r) => r._stream === LLM).map((r) => r.RecordId));
  let n = 0;
  for (const [tbl, corr, rid] of ids) {
    n++;
    const ok = got[tbl]?.has(corr) && (tbl !== '0' || !rid || byRecordId.has(rid));
    c.ok(ok, `committed record (table ${tbl}, CorrelationId ${corr}) delivered`, 'accepted', 'missing');
  }
  c.ok(n > 0, 'records were committed before the kills', '> 0', n);
}

function parseFinal(txt) {
  const m = {};
  for (const l of txt.split('\n')) { const x = l.match(/^\s+([a-z0-9_]+)\s+(\d+)\s/); if (x) m[x[1]] = Number(x[2]); }
  return m;
}

function agree([statusFile, metricsFile, finalFile]) {
  const st = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
  const prom = {};
  for (const l of fs.readFileSync(metricsFile, 'utf8').split('\n')) {
    const x = l.match(/^(llmtap_[A-Za-z0-9_]+)(\{[^}]*\})? (\S+)$/);
    if (x) prom[x[1] + (x[2] || '')] = Number(x[3]);
  }
  const fin = parseFinal(fs.readFileSync(finalFile, 'utf8'));
  for (const k of ['llm_records', 'gateway_records', 'http_exchanges', 'tcp_flows', 'store_inserted']) {
    const s = st.counters?.[k];
    c.ok(s > 0, `status counters.${k} is non-zero after traffic`, '> 0', s);
    c.eq(prom[`llmtap_counters_${k}_total`], s, `Prometheus llmtap_counters_${k}_total equals status counters.${k}`);
    c.eq(fin[k] ?? 0, s, `final counter ${k} printed at exit equals status counters.${k}`);
  }
  c.eq(prom.llmtap_records_ApiManagementGatewayLlmLog, st.records?.ApiManagementGatewayLlmLog, 'Prometheus LLM record count equals status');
  c.eq(st.records?.ApiManagementGatewayLlmLog, st.counters?.llm_records, 'status records.ApiManagementGatewayLlmLog equals counters.llm_records');
  const secret = /sk-test-key|Bearer |api-key:/i;
  c.ok(!secret.test(JSON.stringify(st)), 'no secret in the status document');
  c.ok(!secret.test(fs.readFileSync(metricsFile, 'utf8')), 'no secret on the Prometheus page');
}

function merge([out, ...ins]) {
  const all = ins.flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  fs.writeFileSync(out, JSON.stringify(all.map((t, n) => ({ ...t, n })), null, 1));
  process.exit(0);
}

const fn = { merge, uploaded, committed, agree }[mode];
if (!fn) { console.log(`unknown mode ${mode}`); process.exit(2); }
fn(args);
c.done();
