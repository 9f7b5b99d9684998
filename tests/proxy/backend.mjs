// backend.mjs -- one Azure OpenAI backend behind `llmtap proxy` in the tests.
//
//   node backend.mjs NAME [--tls CERT KEY]      prints "PORT <n>" on stdout
//
// Normal answers come from the fixture stand-in's azure.mjs (same shapes, same
// quirks); every answer carries "x-backend: NAME" so a test sees who answered.
// The test steers it over HTTP:
//   POST /_control {"kind":"ok"|"429"|"500"|"503"|"stall"|"reset"|"drop"|"cut", "count":N,
//                   "retryAfterMs":..,"xMsRetryAfterMs":..,"retryAfter":..,"retryAfterDate":SECONDS_FROM_NOW,
//                   "sseGapMs":..}
//     kind applies to the next N calls (all calls when count is absent), then "ok" again;
//     drop closes the connection without an answer (like reset, with a FIN; TLS too);
//   GET /_stats -> {requests, served, aborted, kinds:{...}, sends:[[t_ms,...] per stream],
//                   xff/hop/cid: X-Forwarded-For, x-hop, x-ms-client-request-id per request,
//                   conns: connections (TLS: handshakes) that carried calls, not /_ requests}
//   POST /_closeidle closes every idle keep-alive connection (as a backend's own
//     keep-alive timeout would), answers {closed: N}
// "now" honours LLMTAP_CLOCK_OFFSET (seconds) like llmtap, for Retry-After dates.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { handle } from '../fixtures/gen/azure.mjs';

const name = process.argv[2] || 'backend';
const tlsAt = process.argv.indexOf('--tls');
const offsetMs = Number(process.env.LLMTAP_CLOCK_OFFSET || 0) * 1000;
const now = () => Date.now() + offsetMs;
let mode = { kind: 'ok' };
let seq = 0;
const stats = { requests: 0, served: 0, aborted: 0, kinds: {}, sends: [], xff: [], hop: [], cid: [], conns: 0 };
const callSockets = new WeakSet();   // sockets that carried a call (one TLS handshake each)
const openSockets = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function take() {
  const m = mode;
  if (m.count === undefined) return m;
  if (m.count <= 0) { mode = { kind: 'ok', sseGapMs: m.sseGapMs }; return mode; }
  m.count--;
  return m;
}

function errorBody(code, message) {
  return JSON.stringify({ error: { code, message } });
}

function throttle(res, m) {
  const h = { 'content-type': 'application/json', 'x-backend': name };
  if (m.retryAfterMs !== undefined) h['retry-after-ms'] = String(m.retryAfterMs);
  if (m.xMsRetryAfterMs !== undefined) h['x-ms-retry-after-ms'] = String(m.xMsRetryAfterMs);
  if (m.retryAfter !== undefined) h['retry-after'] = String(m.retryAfter);
  if (m.retryAfterDate !== undefined) h['retry-after'] = new Date(now() + m.retryAfterDate * 1000).toUTCString();
  const body = errorBody('429', `Rate limit of ${name} exceeded.`);
  h['content-length'] = Buffer.byteLength(body);
  res.writeHead(429, h);
  res.end(body);
}

async function answer(req, res, body, m) {
  const ans = handle({ method: req.method, path: req.url, headers: req.headers, body, seq: seq++ });
  const headers = { ...ans.headers, 'x-backend': name };
  if (!ans.events) {
    const out = Buffer.from(ans.body || '');
    headers['content-length'] = String(out.length);
    res.writeHead(ans.status, headers);
    res.end(out);
    return;
  }
  res.writeHead(ans.status, headers);
  res.flushHeaders();
  const sends = [];
  stats.sends.push(sends);
  for (const e of ans.events) {
    if (res.destroyed) return;
    res.write(e);
    sends.push(Date.now());
    await sleep(m.sseGapMs ?? 4);
  }
  res.end();
}

async function serve(req, res) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks).toString('utf8');
  if (req.url.startsWith('/_control')) { mode = JSON.parse(body); res.end('ok'); return; }
  if (req.url.startsWith('/_closeidle')) {
    const idle = openSockets.size - 1;   // all but this request's own
    server.closeIdleConnections();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ closed: idle }));
    return;
  }
  if (req.url.startsWith('/_stats')) { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(stats)); return; }
  stats.requests++;
  if (!callSockets.has(req.socket)) { callSockets.add(req.socket); stats.conns++; }
  stats.xff.push(req.headers['x-forwarded-for'] || '');
  stats.hop.push(req.headers['x-hop'] || '');
  stats.cid.push(req.headers['x-ms-client-request-id'] || '');
  const m = take();
  stats.kinds[m.kind] = (stats.kinds[m.kind] || 0) + 1;
  let finished = false;
  res.on('finish', () => { finished = true; stats.served++; });
  res.on('close', () => { if (!finished) stats.aborted++; });
  switch (m.kind) {
  case '429': throttle(res, m); return;
  case '500': case '503': {
    const b = errorBody(m.kind, `${name} failed.`);
    res.writeHead(Number(m.kind), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b), 'x-backend': name });
    res.end(b);
    return;
  }
  case 'stall': return;                         // never answers
  case 'cut': {                                 // a stream that dies after its first events
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-backend': name });
    res.write('data: {"choices":[]}\n\n');
    await sleep(30);
    res.write('data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n');
    await sleep(30);
    req.socket.resetAndDestroy();
    return;
  }
  case 'reset': req.socket.resetAndDestroy(); return;
  case 'drop': req.socket.destroy(); return;
  default: await answer(req, res, body, m);
  }
}

const onReq = (q, s) => serve(q, s).catch((e) => { console.error(e); s.destroy(); });
const server = tlsAt > 0
  ? https.createServer({ cert: fs.readFileSync(process.argv[tlsAt + 1]), key: fs.readFileSync(process.argv[tlsAt + 2]) }, onReq)
  : http.createServer(onReq);
server.keepAliveTimeout = 30000;
server.on(tlsAt > 0 ? 'secureConnection' : 'connection', (s) => { openSockets.add(s); s.on('close', () => openSockets.delete(s)); });
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
