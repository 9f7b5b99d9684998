#!/usr/bin/env node
// compare.mjs -- compares `llmtap replay X.pcap --json` output with X.truth.json, field by field.
//
//   node compare.mjs RECORDS.jsonl TRUTH.json [--secrets s1,s2,...] [--damaged N]
//
// --damaged N|any|maybe: the capture was damaged on purpose. Exactly N calls may be incomplete
// (their records say Complete=false with a reason) or missing, and extra records are
// allowed only when they are marked incomplete; every other call must match in full.
// "any" = at least one call damaged; "maybe" = possibly none (the lost bytes held no exchange).
//
// Every ground-truth call must have exactly one LLM record (matched by x-request-id) and one
// gateway record (same CorrelationId), with every field the truth names equal; no record may
// be left unmatched, and no secret may appear anywhere in the output. Prints one line per
// mismatch and a last line "N passed, N failed" (one check per call and table).
import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const [recFile, truthFile, ...rest] = process.argv.slice(2);
const secretsArg = rest.indexOf('--secrets');
const secrets = secretsArg >= 0 ? rest[secretsArg + 1].split(',').filter(Boolean) : [];
const damagedArg = rest.indexOf('--damaged');
const damagedAny = damagedArg >= 0 && rest[damagedArg + 1] === 'any';
const damagedMaybe = damagedArg >= 0 && rest[damagedArg + 1] === 'maybe';
const damaged = damagedArg < 0 ? -1 : (damagedAny || damagedMaybe) ? 1e9 : Number(rest[damagedArg + 1]);
const hurt = new Set();   // truth calls that were incomplete or missing
const raw = fs.readFileSync(recFile, 'utf8');
const records = raw.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8'));
const scen = truthFile.split('/').pop().replace('.truth.json', '');
let pass = 0, fail = 0;
const problems = [];

const llm = records.filter((r) => r.Table === 'ApiManagementGatewayLlmLog');
const gw = records.filter((r) => r.Table === 'ApiManagementGatewayLogs');
const usedLlm = new Set(), usedGw = new Set();

function normChoices(msgs) {
  return (msgs || []).map((m) => ({
    index: m.index,
    content: m.content !== undefined ? m.content : m.text !== undefined ? m.text : null,
    tool_calls: (m.tool_calls || []).map((t) => ({ id: t.id, name: t.function ? t.function.name : t.name, arguments: t.function ? t.function.arguments : t.arguments })),
    finish_reason: m.finish_reason ?? null,
  }));
}

function responsesText(msgs) {
  let t = '';
  for (const item of msgs || [])
    if (item.type === 'message' || item.role === 'assistant')
      for (const c of Array.isArray(item.content) ? item.content : [{ type: 'output_text', text: item.content }])
        if (c.type === 'output_text') t += c.text;
  return t;
}

// The value of a truth field as read from the record.
function actual(rec, field) {
  switch (field) {
  case 'ResponseMessages': return normChoices(rec.ResponseMessages);
  case 'EmbeddingCount': return rec.ResponseMessages?.[0]?.count;
  case 'EmbeddingDimensions': return rec.ResponseMessages?.[0]?.dimensions;
  case 'ResponseText': return responsesText(rec.ResponseMessages);
  case 'ImageUrls': return (rec.ResponseMessages || []).map((d) => d.url);
  case 'ImagePrompt': return rec.RequestMessages?.[0]?.prompt;
  case 'TranscriptText': return rec.ResponseMessages?.[0]?.text;
  default: return rec[field];
  }
}

function check(label, rec, expect, n) {
  if (damaged >= 0 && rec.Complete === false) { hurt.add(n); return; }
  let ok = true;
  for (const [field, want] of Object.entries(expect)) {
    const got = actual(rec, field);
    const wantN = field === 'ResponseMessages' ? normChoices(want) : want;
    if (!isDeepStrictEqual(got, wantN)) {
      ok = false;
      problems.push(`${scen} call#${label} ${field}: expected ${JSON.stringify(wantN)} got ${JSON.stringify(got)}`);
    }
  }
  if (rec.Complete !== true) {
    ok = false;
    problems.push(`${scen} call#${label} Complete: expected true got ${rec.Complete} (${rec.IncompleteReason})`);
  }
  ok ? pass++ : fail++;
}

for (const t of truth) {
  const i = llm.findIndex((r, k) => !usedLlm.has(k) && r.XRequestId === t.xRequestId);
  let corr = null;
  if (t.llm) {
    if (i < 0 && damaged >= 0) hurt.add(t.n);
    else if (i < 0) { fail++; problems.push(`${scen} call#${t.n} (${t.method} ${t.path}): no LLM record with x-request-id ${t.xRequestId}`); }
    else { usedLlm.add(i); corr = llm[i].CorrelationId; check(`${t.n} llm`, llm[i], t.llm, t.n); }
  }
  const j = gw.findIndex((r, k) => !usedGw.has(k) && (corr ? r.CorrelationId === corr : r.ResponseHeaders?.['x-request-id'] === t.xRequestId));
  if (j < 0 && (damaged >= 0 && hurt.has(t.n))) continue;
  if (j < 0) { fail++; problems.push(`${scen} call#${t.n} (${t.method} ${t.path}): no gateway record`); }
  else { usedGw.add(j); check(`${t.n} gateway`, gw[j], t.gateway, t.n); }
}
const extraOk = (r) => damaged >= 0 && r.Complete === false;
llm.forEach((r, k) => { if (!usedLlm.has(k) && !extraOk(r)) { fail++; problems.push(`${scen}: extra LLM record ${r.Method} ${r.Url} (${r.XRequestId})`); } });
gw.forEach((r, k) => { if (!usedGw.has(k) && !extraOk(r)) { fail++; problems.push(`${scen}: extra gateway record ${r.Method} ${r.Url} ${r.ResponseCode}`); } });
if (damaged >= 0) {
  if (hurt.size === damaged || (damagedAny && hurt.size >= 1) || damagedMaybe) pass++;
  else { fail++; problems.push(`${scen}: expected ${damaged} damaged calls, found ${hurt.size} (${[...hurt].join(',')})`); }
}
for (const s of secrets) {
  if (raw.includes(s)) { fail++; problems.push(`${scen}: secret "${s.slice(0, 6)}..." appears in the output`); } else pass++;
}
for (const p of problems) console.log(p);
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
