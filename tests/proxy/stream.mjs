// stream.mjs -- streaming through `llmtap proxy`: SSE events reach the
// client with the spacing the backend wrote them (arrival timestamps against
// the backend's send timestamps, no sleeps measured), a stream that fails
// after its first byte is never retried (the client sees it end early, the
// other backend is never called), and a client that disconnects cancels the
// backend request.
//   node stream.mjs DIR [spacing|noretry|cancel]
import { execFileSync } from 'node:child_process';
import { KEY, chat, check, proxyConf, request, sleep, startBackend, startProxy, runScenarios } from './harness.mjs';

const dir = process.argv[2];
process.env.LT_TEST_DB = `${dir}/spool.db`;

function events(chunks) {
  // one entry per SSE event with the arrival time of the chunk that completed it
  const out = [];
  let buf = '';
  for (const c of chunks) {
    buf += c.text;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) { out.push({ t: c.t, text: buf.slice(0, i) }); buf = buf.slice(i + 2); }
  }
  return out;
}

async function spacing() {
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a]), ['-q']);
  await a.control({ kind: 'ok', sseGapMs: 150 });
  const r = await chat(px.port, 'stream me', { stream: true });
  const sent = (await a.stats()).sends.at(-1);
  const got = events(r.chunks);
  check('SSE: every event arrives', got.length === sent.length, sent.length, got.length);
  let worst = 0, where = -1;
  for (let i = 1; i < Math.min(got.length, sent.length); i++) {
    const d = Math.abs((got[i].t - got[i - 1].t) - (sent[i] - sent[i - 1]));
    if (d > worst) { worst = d; where = i; }
  }
  check('SSE: arrival spacing follows the backend\'s send spacing (150 ms gaps) within 75 ms for every event',
    worst < 75, '< 75 ms', `${worst.toFixed(1)} ms at event ${where}`);
  const distinct = new Set(got.map((e) => e.t)).size;
  check('SSE: no two events delivered together (no coalescing)', distinct === got.length, got.length, distinct);
  await px.stop();
  a.stop();
}

async function noretry() {
  const a = await startBackend('a'), b = await startBackend('b');
  const px = await startProxy(dir, proxyConf([a, { ...b, priority: 2 }]), ['-q']);
  await a.control({ kind: 'cut', count: 1 });
  let r;
  try { r = await chat(px.port, 'cut stream', { stream: true }); } catch (e) { r = { error: String(e) }; }
  const bs = await b.stats();
  check('cut stream: never retried on the next backend', bs.requests === 0, 0, bs.requests);
  check('cut stream: the client got the first bytes from a', (r.body || '').includes('Hel') || (r.headers && r.headers['x-backend'] === 'a'), 'partial stream from a', r);
  check('cut stream: the client sees the response end early', !!(r.aborted || r.error), 'aborted response', r.aborted ? 'aborted' : r.error || 'complete');
  await px.stop();
  const gw = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLogs');
  check('cut stream: gateway record says BACKEND_CLOSED_MID_RESPONSE, from a, 1 attempt',
    gw.length === 1 && gw[0].LastErrorReason === 'BACKEND_CLOSED_MID_RESPONSE' && gw[0].BackendId === 'a' && gw[0].Attempts === 1,
    { LastErrorReason: 'BACKEND_CLOSED_MID_RESPONSE', BackendId: 'a', Attempts: 1 },
    gw.map((g) => ({ LastErrorReason: g.LastErrorReason, BackendId: g.BackendId, Attempts: g.Attempts, Complete: g.Complete })));
  a.stop(); b.stop();
}

async function cancel() {
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a]), ['-q']);
  await a.control({ kind: 'ok', sseGapMs: 150 });
  let seen = 0;
  const r = await new Promise((resolve) => {
    chat(px.port, 'cancel me', {
      stream: true,
      onChunk: (c, req) => { if (++seen === 2) { req.destroy(); resolve('destroyed'); } },
    }).then(() => resolve('completed'), () => resolve('destroyed'));
  });
  check('cancel: the client went away mid-stream', r === 'destroyed', 'destroyed', r);
  let st;
  for (let i = 0; i < 40; i++) { st = await a.stats(); if (st.aborted) break; await sleep(50); }
  check('cancel: the backend request was cancelled (backend saw the connection close before the end)', st.aborted === 1, 1, st.aborted);
  check('cancel: the backend never finished the stream', st.served === 0, 0, st.served);
  // the proxy still serves
  await a.control({ kind: 'ok' });
  const r2 = await chat(px.port, 'after cancel');
  check('cancel: proxy serves the next call', r2.status === 200, 200, r2.status);
  await px.stop();
  const gw = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLogs');
  check('cancel: gateway record says CLIENT_CLOSED', gw.some((g) => g.LastErrorReason === 'CLIENT_CLOSED'), 'CLIENT_CLOSED', gw.map((g) => g.LastErrorReason));
  a.stop();
  void KEY; void request;
}

// HTTP/1.0 and "Connection: close" clients: the reply ends by closing the
// connection, which must not disturb the call's end (regression: a
// use-after-free when the close ran inside the reply's end)
async function close() {
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a]), ['-q']);
  const url = `http://127.0.0.1:${px.port}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21`;
  const outs = [];
  for (const flags of [['--http1.0'], ['-H', 'Connection: close']]) {
    for (const stream of [true, false]) {
      const body = JSON.stringify({ messages: [{ role: 'user', content: `close ${flags[0]} ${stream}` }], ...(stream ? { stream: true } : {}) });
      outs.push(execFileSync('curl', ['-s', ...flags, '-H', `api-key: ${KEY}`, '-H', 'content-type: application/json', '-d', body, url], { encoding: 'utf8' }));
    }
  }
  check('HTTP/1.0 and Connection: close: every answer complete', outs.every((o, i) => (i % 2 === 0 ? o.includes('[DONE]') : o.includes('"usage"'))), 'complete answers', outs.map((o) => o.slice(-40)));
  const r = await chat(px.port, 'still alive');
  check('proxy still serving afterwards', r.status === 200, 200, r.status);
  const st = await px.stop();
  check('exit 0', st.code === 0, 0, st);
  const gw = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLogs');
  check('records: 5 gateway records, 2 of them HTTP/1.0, all complete', gw.length === 5 && gw.filter((g) => g.ClientProtocol === 'HTTP/1.0').length === 2 && gw.every((g) => g.Complete === true),
    { n: 5, http10: 2, complete: true }, gw.map((g) => [g.ClientProtocol, g.Complete]));
  a.stop();
}

const all = { spacing, noretry, cancel, close };
await runScenarios(all, process.argv.slice(3));
