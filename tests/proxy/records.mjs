// records.mjs -- the records of proxied calls equal the ground truth of the
// same calls, field by field. For each fixture scenario the fixture clients
// (tests/fixtures/gen/clients.mjs: the openai SDK, curl, a raw pipelining
// socket) call `llmtap proxy --json` in front of one backend stand-in and
// write what they sent and received; tests/tools/compare.mjs then checks the
// proxy's records against it, as it does for the tap's captures. Also: the
// proxy's own columns on every gateway record, the spool holding the same
// records (0600, no secret), and records for answers the proxy makes itself
// (503 NO_BACKEND_AVAILABLE, 413 REQUEST_TOO_LARGE, 502 RESPONSE_TOO_LARGE).
//   node records.mjs DIR [SCENARIO...]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEY, chat, check, proxyConf, startBackend, startProxy, runScenarios } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const dir = process.argv[2];
const GW = 'ApiManagementGatewayLogs';

function sql(db, q) {
  return execFileSync('sqlite3', [db, q], { encoding: 'utf8' }).trim();
}

async function scenario(name) {
  const db = path.join(dir, `${name}.db`);
  process.env.LT_TEST_DB = db;
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a]), ['-q']);
  const truth = path.join(dir, `${name}.truth.json`);
  const cl = spawnSync(process.execPath, [path.join(root, 'tests/fixtures/gen/clients.mjs'), name, String(px.port), truth],
    { cwd: path.join(root, 'tests/fixtures/gen'), encoding: 'utf8', timeout: 120000 });
  check(`${name}: clients ran`, cl.status === 0, 0, `${cl.status} ${cl.stderr}`);
  const st = await px.stop();
  check(`${name}: SIGTERM exit 0`, st.code === 0, 0, st);
  a.stop();
  const recFile = path.join(dir, `${name}.jsonl`);
  fs.writeFileSync(recFile, px.lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const cmp = spawnSync(process.execPath, [path.join(root, 'tests/tools/compare.mjs'), recFile, truth, '--secrets', KEY], { encoding: 'utf8' });
  check(`${name}: records equal the ground truth (compare.mjs)`, cmp.status === 0, 'compare.mjs exit 0', cmp.stdout.split('\n').filter((l) => l && !/^ok/i.test(l)).slice(-12).join(' | '));
  for (const g of px.lines.filter((l) => l.Table === GW)) {
    // answered by the backend: its name and url, one attempt more than the failed ones;
    // answered by the proxy (the backend cooling after a 429): 503 NO_BACKEND_AVAILABLE
    const answered = g.BackendId === 'a';
    const ok = Array.isArray(g.AttemptErrors) && Number.isInteger(g.TotalTime) && (answered
      ? g.BackendUrl === a.url && g.Attempts === g.AttemptErrors.length + 1 && Number.isInteger(g.BackendTime) && g.BackendTime <= g.TotalTime
      : g.BackendId === null && g.ResponseCode === 503 && g.LastErrorReason === 'NO_BACKEND_AVAILABLE' && g.Attempts === g.AttemptErrors.length);
    check(`${name}: proxy columns on gateway record ${g.RecordId}`, ok,
      'BackendId a, BackendUrl, Attempts = errors + 1, BackendTime <= TotalTime (or a 503 NO_BACKEND_AVAILABLE of the proxy)',
      { BackendId: g.BackendId, BackendUrl: g.BackendUrl, Attempts: g.Attempts, AttemptErrors: g.AttemptErrors, TotalTime: g.TotalTime,
        BackendTime: g.BackendTime, ResponseCode: g.ResponseCode, LastErrorReason: g.LastErrorReason });
  }
  const stored = Number(sql(db, 'select count(*) from records'));
  check(`${name}: spool holds every record`, stored === px.lines.length, px.lines.length, stored);
  check(`${name}: spool is 0600`, (fs.statSync(db).mode & 0o777) === 0o600, '600', (fs.statSync(db).mode & 0o777).toString(8));
  check(`${name}: no secret in the spool`, !sql(db, 'select json from records').includes(KEY), 'no api-key value', 'found');
}

async function ownAnswers() {
  process.env.LT_TEST_DB = path.join(dir, 'own.db');
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a], 'max_request_size = 2K'), ['-q']);
  await a.control({ kind: '429', retryAfterMs: 4000 });
  const r1 = await chat(px.port, 'all cooling');
  const r2 = await chat(px.port, 'x'.repeat(4000));
  await px.stop();
  check('own 503: status', r1.status === 503, 503, r1.status);
  check('own 413: status', r2.status === 413, 413, r2.status);
  const gw = px.lines.filter((l) => l.Table === GW);
  const g503 = gw.find((g) => g.ResponseCode === 503), g413 = gw.find((g) => g.ResponseCode === 413);
  check('own 503: gateway record with LastErrorReason NO_BACKEND_AVAILABLE', g503?.LastErrorReason === 'NO_BACKEND_AVAILABLE', 'NO_BACKEND_AVAILABLE', g503?.LastErrorReason);
  check('own 503: AttemptErrors lists the 429 with its retry_after_ms', g503?.AttemptErrors?.[0]?.status === 429 && g503?.AttemptErrors?.[0]?.retry_after_ms === 4000 && g503?.AttemptErrors?.[0]?.backend === 'a',
    [{ backend: 'a', status: 429, retry_after_ms: 4000 }], g503?.AttemptErrors);
  check('own 503: BackendId empty (no backend answered)', g503 && g503.BackendId === null, null, g503?.BackendId);
  check('own 413: gateway record with LastErrorReason REQUEST_TOO_LARGE', g413?.LastErrorReason === 'REQUEST_TOO_LARGE', 'REQUEST_TOO_LARGE', g413?.LastErrorReason);
  check('own 413: no backend attempt', g413?.Attempts === 0, 0, g413?.Attempts);
  // a backend answer larger than max_response_size: 502 RESPONSE_TOO_LARGE
  await a.control({ kind: 'ok' });
  const px2 = await startProxy(dir, proxyConf([a], 'max_response_size = 200'), ['-q']);
  const r3 = await chat(px2.port, 'a normal answer is longer than 200 bytes');
  await px2.stop();
  let code = null;
  try { code = JSON.parse(r3.body).error.code; } catch { /* not JSON */ }
  check('own 502: response over max_response_size', r3.status === 502 && code === 'RESPONSE_TOO_LARGE', '502 RESPONSE_TOO_LARGE', `${r3.status} ${code}`);
  const g502 = px2.lines.find((l) => l.Table === GW);
  check('own 502: gateway record with LastErrorReason RESPONSE_TOO_LARGE', g502?.LastErrorReason === 'RESPONSE_TOO_LARGE' && g502?.ResponseCode === 502,
    { ResponseCode: 502, LastErrorReason: 'RESPONSE_TOO_LARGE' }, { ResponseCode: g502?.ResponseCode, LastErrorReason: g502?.LastErrorReason });
  a.stop();
}

const all = Object.fromEntries(['chat', 'choices', 'tools', 'ops', 'curl', 'errors'].map((n) => [n, () => scenario(n)]));
all.own = ownAnswers;
await runScenarios(all, process.argv.slice(3));
