// h2.mjs -- HTTP/2 clients of `llmtap proxy` on its TLS listener (ALPN h2):
// curl --http2 negotiates h2; 20 concurrent streams on one Node http2
// session are all answered; an SSE stream arrives chunk by chunk, spread
// over time; a 429 backend fails over for an h2 call; a client RST_STREAM
// cancels the backend request; and the records of h2 calls equal those of
// the same calls over HTTP/1.1, except the fields that must differ.
// Scenario h2c: HTTP/2 with prior knowledge on the cleartext listener (curl
// --http2-prior-knowledge, a Node http2 session on http://), next to
// HTTP/1.1 clients of the same listener.
//   node h2.mjs DIR CA.pem CERT.pem KEY.pem     (certificates for "localhost")
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import { KEY, chat, check, proxyConf, sleep, startBackend, startProxy, runScenarios } from './harness.mjs';

const [dir, caFile, cert, key] = process.argv.slice(2);
process.env.LT_TEST_DB = `${dir}/spool.db`;
const ca = fs.readFileSync(caFile);
const PATH = '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21';
const GW = 'ApiManagementGatewayLogs', LLM = 'ApiManagementGatewayLlmLog';

function body(text, stream) {
  return JSON.stringify({ messages: [{ role: 'user', content: text }], ...(stream ? { stream: true } : {}) });
}

// One call on an http2 session; resolves {status, headers, body, chunks:[{t,text}], reset}.
function h2call(session, text, { stream = false, onChunk } = {}) {
  return new Promise((resolve, reject) => {
    const b = body(text, stream);
    const req = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/json', 'api-key': KEY,
      'content-length': Buffer.byteLength(b) });
    let status, headers;
    const chunks = [];
    const done = (extra) => resolve({ status, headers, body: chunks.map((c) => c.text).join(''), chunks, ...extra });
    req.on('response', (h) => { status = h[':status']; headers = h; });
    req.on('data', (d) => { const c = { t: performance.now(), text: d.toString('utf8') }; chunks.push(c); if (onChunk) onChunk(c, req); });
    req.on('close', () => done(req.rstCode ? { reset: req.rstCode } : {}));
    req.on('error', (e) => (req.rstCode ? done({ reset: req.rstCode }) : reject(e)));
    req.end(b);
  });
}

function connect(port, clear = false) {
  return new Promise((resolve, reject) => {
    const s = clear ? http2.connect(`http://127.0.0.1:${port}`) : http2.connect(`https://localhost:${port}`, { ca });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function curl(port, text) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--http2', '--cacert', caFile, '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
      '-H', 'content-type: application/json', '-H', `api-key: ${KEY}`, '--data', body(text),
      `https://localhost:${port}${PATH}`], (err, stdout, stderr) => resolve({ out: stdout.trim(), err: stderr }));
  });
}

// A record without the fields that differ between two runs of the same call (times, ids, the
// backend stand-in's per-call header values) or between HTTP/1.1 and h2: the protocol, and the
// Connection field an HTTP/1.1 client sends and an h2 client cannot (RFC 9113 8.2.2), with the
// request size it adds to.
const VARY = /^(TimeGenerated|CallTime|RecordId|CorrelationId|ConnectionId|.*Time|.*Ms|.*Duration.*|ClientProtocol|HttpVersion|ClientPort|.*Id|RateLimitRemaining.*|RequestSize)$/;
function shape(rec) {
  const o = {};
  for (const [k, v] of Object.entries(rec)) if (!VARY.test(k)) o[k] = v;
  if (o.RequestHeaders) { o.RequestHeaders = { ...o.RequestHeaders }; delete o.RequestHeaders.Connection; }
  if (o.ResponseHeaders) o.ResponseHeaders = Object.keys(o.ResponseHeaders);
  return o;
}
function connLine(rec) {
  const v = rec.RequestHeaders?.Connection;
  return v === undefined ? 0 : `Connection: ${v}\r\n`.length;
}
function diff(a, b) {
  const out = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = [a[k], b[k]];
  return out;
}

async function main() {
  const a = await startBackend('a'), b = await startBackend('b');
  const px = await startProxy(dir, proxyConf([a, { ...b, priority: 2 }], `tls_cert = ${cert}\ntls_key = ${key}`), ['-q']);

  const c = await curl(px.port, 'curl h2');
  check('curl --http2: ALPN h2 negotiated, 200', c.out === '2 200', '2 200', `${c.out} ${c.err}`);

  // 20 concurrent streams on one session
  const s = await connect(px.port);
  check('Node http2 session: ALPN h2', s.alpnProtocol === 'h2', 'h2', s.alpnProtocol);
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => h2call(s, `concurrent ${i}`)));
  const good = rs.filter((r) => r.status === 200 && JSON.parse(r.body).choices?.[0]?.message?.content);
  check('20 concurrent streams on one connection: all 200 with a completion', good.length === 20, 20, rs.map((r) => r.status));

  // SSE, chunk by chunk
  await a.control({ kind: 'ok', sseGapMs: 120 });
  const sse = await h2call(s, 'h2 stream', { stream: true });
  const spread = sse.chunks.length ? sse.chunks[sse.chunks.length - 1].t - sse.chunks[0].t : 0;
  check('SSE over h2 ends with [DONE]', sse.status === 200 && sse.body.includes('[DONE]'), '[DONE]', sse.body.slice(-80));
  check('SSE over h2 arrives spread over time (several chunks, > 300 ms from first to last)', sse.chunks.length >= 4 && spread > 300,
    '>= 4 chunks over > 300 ms', `${sse.chunks.length} chunks over ${Math.round(spread)} ms`);

  // failover on a 429
  await a.control({ kind: '429', count: 1, retryAfterMs: 1500 });
  const fo = await h2call(s, 'h2 failover');
  check('h2 call: 429 from a fails over to b', fo.status === 200 && fo.headers['x-backend'] === 'b', '200 from b', `${fo.status} from ${fo.headers?.['x-backend']}`);
  await sleep(1600);

  // client RST_STREAM cancels the backend request
  await a.control({ kind: 'ok', sseGapMs: 300 });
  const before = (await a.stats()).aborted;
  const rst = await h2call(s, 'h2 cancel', { stream: true, onChunk: (ch, req) => { if (!req.rstCode) req.close(http2.constants.NGHTTP2_CANCEL); } });
  let after = before;
  for (let i = 0; i < 30 && after === before; i++) { await sleep(100); after = (await a.stats()).aborted; }
  check('client RST_STREAM: the stream is reset', rst.reset === http2.constants.NGHTTP2_CANCEL, http2.constants.NGHTTP2_CANCEL, rst.reset);
  check('client RST_STREAM cancels the backend request', after === before + 1, before + 1, after);
  await a.control({ kind: 'ok' });

  // the same two calls over h2 and over HTTP/1.1 (TLS both)
  const mark = px.lines.length;
  await h2call(s, 'same call');
  await h2call(s, 'same stream', { stream: true });
  await sleep(300);
  const h2recs = px.lines.slice(mark);
  const mark2 = px.lines.length;
  await chat(px.port, 'same call', { tls: true, ca: [ca] });
  await chat(px.port, 'same stream', { tls: true, ca: [ca], stream: true });
  s.close();
  const st = await px.stop();
  check('SIGTERM with an h2 session open: exit 0', st.code === 0, 0, st);
  const h1recs = px.lines.slice(mark2);
  for (const t of [GW, LLM]) {
    const x = h2recs.filter((r) => r.Table === t), y = h1recs.filter((r) => r.Table === t);
    check(`${t}: as many records for the h2 calls as for the HTTP/1.1 calls`, x.length === y.length && x.length === 2, 2, [x.length, y.length]);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = diff(shape(x[i]), shape(y[i]));
      check(`${t} #${i}: the h2 record equals the HTTP/1.1 one (but for times, ids, protocol)`, !Object.keys(d).length, {}, d);
      if (t === GW) check(`${t} #${i}: RequestSize differs by the HTTP/1.1 client's Connection line only`,
        y[i].RequestSize - x[i].RequestSize === connLine(y[i]), connLine(y[i]), y[i].RequestSize - x[i].RequestSize);
    }
  }
  const gw = h2recs.filter((r) => r.Table === GW);
  check('h2 gateway records say ClientProtocol HTTP/2', gw.length && gw.every((g) => g.ClientProtocol === 'HTTP/2'), 'HTTP/2', gw.map((g) => g.ClientProtocol));
  const h1gw = h1recs.filter((r) => r.Table === GW);
  check('HTTP/1.1 gateway records say ClientProtocol HTTP/1.1', h1gw.length && h1gw.every((g) => g.ClientProtocol === 'HTTP/1.1'), 'HTTP/1.1', h1gw.map((g) => g.ClientProtocol));
  const all = px.lines.filter((l) => l.Table === GW);
  const cancel = all.find((g) => g.LastErrorReason === 'CLIENT_CLOSED');
  check('the reset stream has a gateway record with LastErrorReason CLIENT_CLOSED', !!cancel, 'CLIENT_CLOSED', all.map((g) => g.LastErrorReason));
  const fog = all.find((g) => g.BackendId === 'b');
  check('the failed-over h2 call: Attempts 2, the 429 in AttemptErrors', fog?.Attempts === 2 && fog?.AttemptErrors?.[0]?.status === 429, 2, fog && [fog.Attempts, fog.AttemptErrors]);
  a.stop(); b.stop();
}

// h2c: a cleartext connection that opens with the HTTP/2 preface is served as HTTP/2.
async function h2c() {
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a]), ['-q']);
  const c = await new Promise((resolve) => {
    execFile('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
      '-H', 'content-type: application/json', '-H', `api-key: ${KEY}`, '--data', body('curl h2c'),
      `http://127.0.0.1:${px.port}${PATH}`], (err, stdout, stderr) => resolve({ out: stdout.trim(), err: stderr }));
  });
  check('h2c: curl --http2-prior-knowledge on the cleartext listener gets HTTP/2 200', c.out === '2 200', '2 200', `${c.out} ${c.err}`);
  const s = await connect(px.port, true);
  const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => h2call(s, `h2c ${i}`)));
  const good = rs.filter((r) => r.status === 200 && JSON.parse(r.body).choices?.[0]?.message?.content);
  check('h2c: 10 concurrent streams on one Node session (prior knowledge): all 200 with a completion', good.length === 10, 10, rs.map((r) => r.status));
  await a.control({ kind: 'ok', sseGapMs: 120 });
  const sse = await h2call(s, 'h2c stream', { stream: true });
  const spread = sse.chunks.length ? sse.chunks[sse.chunks.length - 1].t - sse.chunks[0].t : 0;
  check('h2c: SSE ends with [DONE], spread over time (several chunks, > 300 ms from first to last)',
    sse.body.includes('[DONE]') && sse.chunks.length >= 4 && spread > 300, '[DONE], >= 4 chunks over > 300 ms',
    `${sse.body.slice(-20)} ${sse.chunks.length} chunks over ${Math.round(spread)} ms`);
  await a.control({ kind: 'ok' });
  s.close();
  const h1 = await chat(px.port, 'HTTP/1.1 on the same listener');
  check('h2c: HTTP/1.1 clients of the same cleartext listener are still answered', h1.status === 200, 200, h1.status);
  const st = await px.stop();
  check('h2c: SIGTERM, exit 0', st.code === 0, 0, st);
  const gw = px.lines.filter((r) => r.Table === GW).map((g) => g.ClientProtocol);
  const n2 = gw.filter((p) => p === 'HTTP/2').length, n1 = gw.filter((p) => p === 'HTTP/1.1').length;
  check('h2c: gateway records say HTTP/2 for the 12 h2c calls and HTTP/1.1 for the other', n2 === 12 && n1 === 1,
    '12 HTTP/2, 1 HTTP/1.1', gw);
  a.stop();
}

await runScenarios({ main, h2c });
