// query-check.mjs -- checks `llmtap query --json` results of the shipped KQL (kql/*.kql, the README's
// token query and 403 audit) against two independent sources: the ground truth the fixture clients
// wrote (*.truth.json) and the rows the Logs Ingestion stand-in accepted from `llmtap upload` for the
// same captures (32 KB chunk rows included, TimeGenerated possibly replaced by the ingestion time, so
// windows use CallTime, the call's own time, which equals the local TimeGenerated).
//
// usage: node query-check.mjs --now ISO --accepted accepted.jsonl --truths "a.truth.json ..." [--allow-empty] DIR
// DIR holds NAME.kql and NAME.jsonl (one JSON object per result row) for each query. A query is
// recognised by its result columns; a query this file does not know is only required to have run.
// --allow-empty: a query without rows at this "now" is skipped (the caller checks it has rows at another).
// Prints what each check expected and got; exit 1 on any mismatch.
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : undefined; };
const now = Date.parse(opt('--now'));
const acceptedFile = opt('--accepted');
const truthFiles = (opt('--truths') || '').split(/\s+/).filter(Boolean);
const allowEmpty = args.includes('--allow-empty') && args.splice(args.indexOf('--allow-empty'), 1).length > 0;
const dir = args[0];
if (!dir || Number.isNaN(now) || !acceptedFile) { console.error('usage: query-check.mjs --now ISO --accepted F --truths "..." DIR'); process.exit(2); }

const LLM = 'Custom-ApiManagementGatewayLlmLog_CL', GW = 'Custom-ApiManagementGatewayLogs_CL';
const accepted = fs.readFileSync(acceptedFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const truth = truthFiles.flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const when = (r) => Date.parse(r.CallTime ?? r.TimeGenerated);
const within = (r, ms) => when(r) >= now - ms;
const H = 3600e3, D = 24 * H;
const llm0 = accepted.filter((r) => r._stream === LLM && (r.SequenceNumber ?? 0) === 0);
const gw = accepted.filter((r) => r._stream === GW);
// Ground truth has no timestamps: a truth call is in a query's window when the record the stand-in
// accepted for it (same x-request-id) is.
const callTime = new Map(llm0.filter((r) => r.XRequestId).map((r) => [r.XRequestId, when(r)]));
const truthIn = (ms) => truth.filter((t) => (callTime.get(t.xRequestId) ?? -Infinity) >= now - ms);
const num = (v) => (v === undefined || v === null ? 0 : Number(v));
const key = (v) => (v === undefined || v === null ? '' : String(v));

let fails = 0, checks = 0;
const lost = truth.filter((t) => !callTime.has(t.xRequestId)).map((t) => t.xRequestId);
if (lost.length) { console.log(`FAIL ground truth calls without an accepted LLM row: ${JSON.stringify(lost.slice(0, 5))} (${lost.length})`); process.exit(1); }
function eq(query, what, got, want) {
  checks++;
  if (isDeepStrictEqual(got, want)) return;
  fails++;
  console.log(`FAIL ${query}: ${what}: expected ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
}

// Group rows by a key function, summing with an accumulator.
function group(rows, keyOf, init, add) {
  const m = new Map();
  for (const r of rows) { const k = keyOf(r); if (!m.has(k)) m.set(k, init()); add(m.get(k), r); }
  return Object.fromEntries([...m.entries()].sort());
}
const byKey = (res, keyOf, valOf) => Object.fromEntries(res.map((r) => [keyOf(r), valOf(r)]).sort());

function nearestRank(values, p) {
  const v = values.filter((x) => x !== undefined && x !== null).map(Number).sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.max(1, Math.ceil((p / 100) * v.length)) - 1];
}

const checkers = [
  { cols: 'TotalRequests,PromptTokensSum,CompletionTokensSum,TotalTokensSum,AvgTokensPerReq', name: 'token totals', run(res, q) {
    const win = q.includes('ago(1d)') ? D : 30 * D;
    const sums = (rows, get) => {
      const used = rows.filter((r) => num(get(r, 'TotalTokens')) > 0);
      return { TotalRequests: used.length, PromptTokensSum: used.reduce((s, r) => s + num(get(r, 'PromptTokens')), 0),
        CompletionTokensSum: used.reduce((s, r) => s + num(get(r, 'CompletionTokens')), 0),
        TotalTokensSum: used.reduce((s, r) => s + num(get(r, 'TotalTokens')), 0) };
    };
    const got = { ...res[0] }; delete got.AvgTokensPerReq;
    eq('token totals', 'vs ground truth', got, sums(truthIn(win).filter((t) => t.llm), (t, f) => t.llm[f]));
    eq('token totals', 'vs stand-in rows', got, sums(llm0.filter((r) => within(r, win)), (r, f) => r[f]));
    eq('token totals', 'AvgTokensPerReq = TotalTokensSum / TotalRequests', res[0].AvgTokensPerReq, got.TotalTokensSum / got.TotalRequests);
  } },
  { cols: 'TotalRequests,TotalTokensSum', name: 'deduplicated token totals', run(res) {
    const used = truthIn(D).filter((t) => t.llm && num(t.llm.TotalTokens) > 0);
    eq('deduplicated token totals', 'vs ground truth', res[0], { TotalRequests: used.length, TotalTokensSum: used.reduce((s, t) => s + num(t.llm.TotalTokens), 0) });
  } },
  { cols: 'Day,DeploymentName,Requests,PromptTokens,CompletionTokens,TotalTokens,CachedTokens,ReasoningTokens', name: 'tokens per day and deployment', run(res) {
    const f = ['Requests', 'PromptTokens', 'CompletionTokens', 'TotalTokens', 'CachedTokens', 'ReasoningTokens'];
    const got = byKey(res, (r) => `${r.Day.slice(0, 10)}|${key(r.DeploymentName)}`, (r) => f.map((k) => r[k]));
    const acc = (get) => (a, r) => { a[0]++; for (let i = 1; i < f.length; i++) a[i] += num(get(r, f[i])); };
    eq('tokens per day and deployment', 'vs stand-in rows', got,
      group(llm0, (r) => `${new Date(when(r)).toISOString().slice(0, 10)}|${key(r.DeploymentName)}`, () => [0, 0, 0, 0, 0, 0], acc((r, k) => r[k])));
    const dayOf = (t) => new Date(callTime.get(t.xRequestId)).toISOString().slice(0, 10);
    eq('tokens per day and deployment', 'vs ground truth (day of the call)', got,
      group(truthIn(30 * D).filter((t) => t.llm), (t) => `${dayOf(t)}|${key(t.llm.DeploymentName)}`, () => [0, 0, 0, 0, 0, 0], acc((t, k) => t.llm[k])));
  } },
  { cols: 'Day,DeploymentName,Requests,TotalTokens', name: 'tokens per call day', run(res) {
    const got = byKey(res, (r) => `${r.Day.slice(0, 10)}|${key(r.DeploymentName)}`, (r) => [r.Requests, r.TotalTokens]);
    eq('tokens per call day', 'vs stand-in rows (by CallTime)', got,
      group(llm0, (r) => `${r.CallTime.slice(0, 10)}|${key(r.DeploymentName)}`, () => [0, 0], (a, r) => { a[0]++; a[1] += num(r.TotalTokens); }));
  } },
  { cols: 'KeyFingerprint,Requests,TotalTokens,StreamsWithoutUsage', name: 'tokens per key', run(res) {
    const got = byKey(res, (r) => key(r.KeyFingerprint), (r) => [r.Requests, r.TotalTokens, r.StreamsWithoutUsage]);
    eq('tokens per key', 'vs stand-in rows', got, group(llm0.filter((r) => within(r, 7 * D)), (r) => key(r.KeyFingerprint), () => [0, 0, 0],
      (a, r) => { a[0]++; a[1] += num(r.TotalTokens); a[2] += r.UsageSource === 'missing' ? 1 : 0; }));
    const calls = truthIn(7 * D).filter((t) => t.llm);
    eq('tokens per key', 'totals over all keys vs ground truth', [res.reduce((s, r) => s + r.Requests, 0), res.reduce((s, r) => s + r.TotalTokens, 0)],
      [calls.length, calls.reduce((s, t) => s + num(t.llm.TotalTokens), 0)]);
    const order = res.map((r) => r.TotalTokens);
    eq('tokens per key', 'ordered by TotalTokens desc', order, [...order].sort((a, b) => b - a));
  } },
  { cols: 'DeploymentName,IsStreamCompletion,Calls,P50TtftMs,P95TtftMs,P95DurationMs', name: 'latency', run(res) {
    const rows = llm0.filter((r) => within(r, D) && Number(r.ResponseCode) === 200);
    const want = {};
    for (const [k, g] of Object.entries(group(rows, (r) => `${key(r.DeploymentName)}|${Boolean(r.IsStreamCompletion)}`, () => [], (a, r) => a.push(r))))
      want[k] = [g.length, nearestRank(g.map((r) => r.TimeToFirstTokenMs), 50), nearestRank(g.map((r) => r.TimeToFirstTokenMs), 95), nearestRank(g.map((r) => r.DurationMs), 95)];
    eq('latency', 'vs stand-in rows (nearest-rank percentiles)',
      byKey(res, (r) => `${key(r.DeploymentName)}|${Boolean(r.IsStreamCompletion)}`, (r) => [r.Calls, r.P50TtftMs, r.P95TtftMs, r.P95DurationMs]), want);
  } },
  { cols: 'TimeGenerated,CallerIpAddress,RequestUrl,ResponseCode,ResponseSize,RequestHeaders,OperationName', name: '403 audit', run(res) {
    const got = res.map((r) => [r.CallerIpAddress, r.RequestUrl, r.ResponseCode, r.ResponseSize]).sort();
    eq('403 audit', 'vs stand-in rows of the last hour', got,
      gw.filter((r) => within(r, H) && Number(r.ResponseCode) === 403).map((r) => [r.CallerIpAddress, r.Url, 403, r.ResponseSize]).sort());
    eq('403 audit', 'no secret in RequestHeaders', res.filter((r) => /"(api-key|authorization|ocp-apim-subscription-key)":"(?!fp:)/i.test(JSON.stringify(r.RequestHeaders))).length, 0);
  } },
  { cols: 'TimeGenerated,CallerIpAddress,Url,OperationName,RetryAfter,RetryAfterMs,LastErrorMessage,KeyFingerprint', name: '429 audit', run(res) {
    const got = res.map((r) => [r.CallerIpAddress, r.Url, r.RetryAfter, r.LastErrorMessage]).sort();
    eq('429 audit', 'vs ground truth', got, truthIn(D).filter((t) => t.gateway.ResponseCode === 429)
      .map((t) => [t.gateway.CallerIpAddress ?? '127.0.0.1', t.gateway.Url, t.gateway.RetryAfter, t.gateway.LastErrorMessage]).sort());
    eq('429 audit', 'RetryAfterMs vs stand-in rows', res.map((r) => [r.Url, r.RetryAfterMs]).sort(),
      gw.filter((r) => within(r, D) && Number(r.ResponseCode) === 429).map((r) => [r.Url, r.RetryAfterMs]).sort());
  } },
  { cols: 'CallerIpAddress,ResponseCode,LastErrorReason,Calls,First,Last', name: '403/429 by caller', run(res) {
    const got = byKey(res, (r) => `${r.CallerIpAddress}|${r.ResponseCode}|${key(r.LastErrorReason)}`, (r) => r.Calls);
    const want = {};
    for (const t of truthIn(7 * D).filter((x) => [403, 429].includes(x.gateway.ResponseCode))) {
      const k = `${t.gateway.CallerIpAddress ?? '127.0.0.1'}|${t.gateway.ResponseCode}|${key(t.gateway.LastErrorReason)}`;
      want[k] = (want[k] || 0) + 1;
    }
    eq('403/429 by caller', 'vs ground truth', got, Object.fromEntries(Object.entries(want).sort()));
  } },
];

const names = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -6)).sort();
let known = 0;
for (const n of names) {
  const res = fs.readFileSync(path.join(dir, `${n}.jsonl`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const q = fs.readFileSync(path.join(dir, `${n}.kql`), 'utf8');
  if (!res.length && allowEmpty) { console.log(`empty ${n} (no rows in its window at this now)`); continue; }
  if (!res.length) { fails++; console.log(`FAIL ${n}: no rows (expected the fixtures' rows in its window)`); continue; }
  const cols = Object.keys(res[0]).join(',');
  const c = checkers.find((k) => k.cols === cols);
  if (c) { known++; c.run(res, q); console.log(`ok ${n} (${c.name}, ${res.length} rows)`); }
  else if (res[0].RecordId !== undefined && /arg_max/.test(q) && !/join/.test(q)) {
    known++;
    const llm = /LlmLog/.test(q);
    eq(n, 'one row per record (dedupe)', res.length, truthIn(D).length);
    eq(n, 'distinct RecordIds', new Set(res.map((r) => r.RecordId)).size, (llm ? llm0 : gw).filter((r) => within(r, D)).length);
    console.log(`ok ${n} (dedupe, ${res.length} rows)`);
  } else if (res[0].FullRequestMessages !== undefined) {
    known++;
    const chunks = accepted.filter((r) => r._stream === LLM && (r.SequenceNumber ?? 0) > 0);
    const whole = (r, col, part) => {
      const cs = chunks.filter((c) => c.RecordId === r.RecordId && c.MessageChunk === part).sort((a, b) => a.SequenceNumber - b.SequenceNumber);
      return cs.length ? JSON.parse(cs.map((c) => (typeof c[col] === 'string' ? c[col] : JSON.stringify(c[col]))).join('')) : r[col];
    };
    const want = Object.fromEntries(llm0.filter((r) => within(r, D)).map((r) => [r.CorrelationId, whole(r, 'RequestMessages', 'request') ?? null]).sort());
    const got = Object.fromEntries(res.map((r) => [r.CorrelationId, r.FullRequestMessages ?? null]).sort());
    eq(n, 'full prompts vs the stand-in rows reassembled from their chunks', got, want);
    console.log(`ok ${n} (reassembly, ${res.length} rows, ${chunks.length} chunk rows at the stand-in)`);
  } else console.log(`ran ${n} (${res.length} rows; no aggregate check for columns ${cols.slice(0, 80)})`);
}
console.log(`${checks - fails} of ${checks} checks passed over ${names.length} queries (${known} compared)`);
process.exit(fails || !known ? 1 : 0);
