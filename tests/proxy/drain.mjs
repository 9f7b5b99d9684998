// drain.mjs -- SIGTERM on `llmtap proxy`: it stops accepting at once, lets
// the call in flight finish (a stream of several seconds keeps flowing to the
// end), commits the spool and exits 0; a call still running at the drain
// deadline is cut and the proxy still exits 0 with its record stored.
//   node drain.mjs DIR
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { check, chat, proxyConf, sleep, startBackend, startProxy, runScenarios } from './harness.mjs';

const dir = process.argv[2];

function connectRefused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
}

async function graceful() {
  process.env.LT_TEST_DB = `${dir}/drain.db`;
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a], 'drain_timeout = 20s'), ['-q']);
  await a.control({ kind: 'ok', sseGapMs: 60 });
  let stopped;
  const call = chat(px.port, 'a long stream to drain', {
    stream: true,
    onChunk: () => { if (!stopped) stopped = px.stop(); },
  });
  const r = await call;
  check('drain: the stream in flight finished after SIGTERM', r.status === 200 && r.body.includes('[DONE]') && !r.aborted, 'complete stream with [DONE]', r.body.slice(-60));
  const st = await stopped;
  check('drain: exit 0', st.code === 0, 0, st);
  const rows = execFileSync('sqlite3', [`${dir}/drain.db`, "select count(*) from records where json like '%a long stream to drain%'"], { encoding: 'utf8' }).trim();
  check('drain: the drained call\'s LLM record is committed to the spool', rows === '1', '1', rows);
  a.stop();
}

async function deadline() {
  process.env.LT_TEST_DB = `${dir}/deadline.db`;
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a], 'drain_timeout = 700ms\nfirst_byte_timeout = 60s'), ['-q']);
  await a.control({ kind: 'stall' });
  const call = chat(px.port, 'stalled').catch((e) => ({ error: String(e) }));
  await sleep(200);
  const t0 = Date.now();
  const stopping = px.stop();
  await sleep(150);
  check('SIGTERM: new connections refused', await connectRefused(px.port), 'ECONNREFUSED', 'connected');
  const st = await stopping;
  const took = Date.now() - t0;
  check('deadline: exit 0 after the drain deadline', st.code === 0, 0, st);
  check('deadline: did not wait for the stalled call beyond the deadline (plus 2 s slack)', took < 2700, '< 2700 ms', took);
  const r = await call;
  check('deadline: the stalled client is disconnected', !!(r.error || r.aborted), 'error', r);
  const rows = execFileSync('sqlite3', [`${dir}/deadline.db`, "select count(*) from records where json like '%ApiManagementGatewayLogs%' or 1"], { encoding: 'utf8' }).trim();
  check('deadline: the cut call still has its gateway record', Number(rows) >= 1, '>= 1', rows);
  a.stop();
}

await runScenarios({ graceful, deadline });
