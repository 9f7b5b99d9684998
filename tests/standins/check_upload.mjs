// check_upload.mjs -- what the Logs Ingestion stand-in accepted, checked
// against the spool and the ground truth. Used by the upload tests:
//   node check_upload.mjs e2e ACCEPTED TRUTH_LIST LLM_COUNT GW_COUNT [UPLOAD_LOG]
//   node check_upload.mjs crash ACCEPTED TOTAL KILLS
//   node check_upload.mjs ids ACCEPTED            (prints distinct RecordIds)
//   node check_upload.mjs tokens -                (stand-in /stats on stdin: tokens issued)
//   node check_upload.mjs bigmake DB DIR / bigcheck ACCEPTED DIR   (1 KB, 100 KB, 5 MB prompts)
//   node check_upload.mjs calltime ACCEPTED       (prints rows whose CallTime = TimeGenerated)
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Check, readJsonl, readTruths } from '../lib/check.mjs';

const BIG = [['kb1', 1 << 10], ['kb100', 100 << 10], ['mb5', 5 << 20]];
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

// Three records with 1 KB, 100 KB and 5 MB prompts of multi-byte text and
// characters that escape, written into the spool DB (their JSON kept in DIR).
// now on llmtap's clock (LLMTAP_CLOCK_OFFSET), µs: when a row entered the spool
const spoolNow = () => (Date.now() + (Number(process.env.LLMTAP_CLOCK_OFFSET) || 0) * 1000) * 1000;

function bigmake([dir]) {
  const db = accepted;
  for (const [id, n] of BIG) {
    const unit = '한국어 텍스트와 "quotes" and \\ backslashes\n 😊 ';
    const text = unit.repeat(Math.ceil(n / Buffer.byteLength(unit)));
    const rec = { TimeGenerated: '2026-11-22T00:00:00.000000Z', CallTime: '2026-11-22T00:00:00.000000Z', CorrelationId: id,
      RecordId: id, SequenceNumber: 0, TotalTokens: 5, PromptTokens: 3, CompletionTokens: 2,
      RequestMessages: [{ role: 'user', content: text }], ResponseMessages: [{ index: 0, content: 'ok' }] };
    fs.writeFileSync(`${dir}/big-${id}.json`, JSON.stringify(rec));
    execFileSync('sqlite3', [db, `insert into records (tbl,id,time,json,bytes,created) values (0,'${id}',1795000000000000,readfile('${dir}/big-${id}.json'),${n},${spoolNow()})`]);
  }
}

// The big prompts as Log Analytics received them: chunks <= 32 KB escaped that
// reassemble exactly, the 5 MB one capped at 2 MB and flagged, tokens on row 0.
function bigcheck([dir]) {
  const c = new Check('big prompts');
  const rows = readJsonl(accepted, 'rows accepted by Log Analytics');
  for (const [id] of BIG) {
    const orig = JSON.stringify(JSON.parse(fs.readFileSync(`${dir}/big-${id}.json`, 'utf8')).RequestMessages);
    const mine = rows.filter((r) => r.RecordId === id).sort((a, b) => a.SequenceNumber - b.SequenceNumber);
    const row0 = mine.find((r) => r.SequenceNumber === 0);
    if (!c.ok(row0, `${id}: row 0 arrived`)) continue;
    const chunks = mine.filter((r) => r.MessageChunk === 'request');
    for (const x of chunks) c.ok(JSON.stringify(x.RequestMessages).length - 2 <= 32768, `${id}: chunk ${x.SequenceNumber} within 32 KB escaped`, '<= 32768', JSON.stringify(x.RequestMessages).length - 2);
    const text = chunks.length ? chunks.map((x) => x.RequestMessages).join('') : JSON.stringify(row0.RequestMessages);
    if (id === 'mb5') {
      c.ok(row0.RequestMessagesTruncated === true, 'mb5: flagged RequestMessagesTruncated', true, row0.RequestMessagesTruncated);
      c.ok(Buffer.byteLength(text) <= 2 << 20, 'mb5: capped at 2 MB', '<= 2097152', Buffer.byteLength(text));
      c.ok(orig.startsWith(text), 'mb5: the kept text is a prefix of the prompt');
    } else c.ok(text === orig, `${id}: reassembled text equals the prompt`, orig.length, text.length);
    if (id === 'kb1') c.eq(chunks.length, 0, 'kb1: stays in row 0 (chunks)');
    c.eq(row0.TotalTokens, 5, `${id}: TotalTokens on row 0`);
    c.eq(mine.filter((r) => r.SequenceNumber > 0 && r.TotalTokens !== undefined).length, 0, `${id}: chunk rows without tokens`);
  }
  c.done();
}

if (mode === 'e2e') e2e(rest);
else if (mode === 'tokens') { let s = ''; process.stdin.on('data', (d) => { s += d; }).on('end', () => console.log(JSON.parse(s).tokens)); }
else if (mode === 'bigmake') bigmake(rest);
else if (mode === 'bigcheck') bigcheck(rest);
else if (mode === 'crash') crash(rest);
else if (mode === 'calltime') console.log(readJsonl(accepted, 'accepted rows').filter((r) => r.CallTime && r.CallTime === r.TimeGenerated).length);
else if (mode === 'ids') console.log(new Set(readJsonl(accepted, 'accepted rows', { allowEmpty: true }).map((r) => r.RecordId)).size);
else { console.error(`usage: check_upload.mjs e2e|crash|ids ACCEPTED ...`); process.exit(2); }
