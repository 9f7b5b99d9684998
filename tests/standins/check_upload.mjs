// check_upload.mjs -- what the Logs Ingestion stand-in accepted, checked
// against the spool and the ground truth. Used by the upload tests:
//   node check_upload.mjs e2e ACCEPTED TRUTH_LIST LLM_COUNT GW_COUNT [UPLOAD_LOG]
//   node check_upload.mjs crash ACCEPTED TOTAL KILLS
//   node check_upload.mjs ids ACCEPTED            (prints distinct RecordIds)
//   node check_upload.mjs calltime ACCEPTED       (prints rows whose CallTime = TimeGenerated)
import fs from 'node:fs';
import { Check, readJsonl, readTruths } from '../lib/check.mjs';

const LLM = 'Custom-ApiManagementGatewayLlmLog_CL', GW = 'Custom-ApiManagementGatewayLogs_CL';
const [mode, accepted, ...rest] = process.argv.slice(2);
const logTail = (f) => (f && fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').slice(-8).join(' | ') : '');

function e2e([truthList, nllm, ngw, uploadLog]) {
  const c = new Check('upload e2e');
  const rows = readJsonl(accepted, 'rows accepted by Log Analytics', { hint: `upload log: ${logTail(uploadLog)}` });
  const truth = readTruths(truthList);
  const llm0 = rows.filter((r) => r._stream === LLM && (r.SequenceNumber ?? 0) === 0);
  const gw = rows.filter((r) => r._stream === GW);
  c.eq(llm0.length, Number(nllm), 'LLM rows with SequenceNumber 0 vs LLM records spooled');
  c.eq(gw.length, Number(ngw), 'gateway rows vs gateway records spooled');
  c.eq(new Set(llm0.map((r) => r.RecordId)).size, llm0.length, 'distinct LLM RecordIds (no duplicates without a crash)');
  for (const r of rows) {
    if (!c.ok(r.CallTime !== undefined, `row ${r.RecordId} (${r._stream}) has CallTime`)) break;
  }
  const withTokens = llm0.filter((r) => Number(r.TotalTokens) > 0);
  const truthTok = truth.filter((x) => x.llm && x.llm.UsageSource === 'reported' && x.llm.TotalTokens > 0);
  const sum = (a, f) => a.reduce((s, x) => s + Number(f(x)), 0);
  c.eq(withTokens.length, truthTok.length, 'TotalRequests (token query)');
  for (const k of ['PromptTokens', 'CompletionTokens', 'TotalTokens'])
    c.eq(sum(withTokens, (r) => r[k]), sum(truthTok, (x) => x.llm[k]), `${k}Sum (token query)`);
  const a403 = gw.filter((r) => r.ResponseCode === 403).map((r) => `${r.CallerIpAddress}|${r.Url}`).sort();
  const w403 = truth.filter((x) => x.gateway.ResponseCode === 403).map((x) => `${x.gateway.CallerIpAddress ?? '127.0.0.1'}|${x.gateway.Url}`).sort();
  c.ok(w403.length > 0, 'the ground truth has 403 calls');
  c.eq(a403, w403, '403 audit (caller|url)');
  c.ok(!JSON.stringify(rows).includes('sk-test-key-0123456789'), 'no secret reached Log Analytics');
  c.done();
}

function crash([total, kills]) {
  const c = new Check('upload crash');
  const rows = readJsonl(accepted, 'rows accepted by Log Analytics');
  const ids = new Set(rows.map((r) => r.RecordId));
  const uniq = new Set(rows.map((r) => `${r.RecordId}|${r.SequenceNumber ?? 0}`));
  console.log(`${kills} kills, ${total} records, ${rows.length} rows accepted, ${rows.length - uniq.size} duplicates removed by the dedupe key`);
  c.ok(Number(kills) > 0, 'at least one upload was killed', '>0', Number(kills));
  c.eq(ids.size, Number(total), 'records that arrived');
  c.done();
}

if (mode === 'e2e') e2e(rest);
else if (mode === 'crash') crash(rest);
else if (mode === 'calltime') console.log(readJsonl(accepted, 'accepted rows').filter((r) => r.CallTime && r.CallTime === r.TimeGenerated).length);
else if (mode === 'ids') console.log(new Set(readJsonl(accepted, 'accepted rows', { allowEmpty: true }).map((r) => r.RecordId)).size);
else { console.error(`usage: check_upload.mjs e2e|crash|ids ACCEPTED ...`); process.exit(2); }
