// tls.mjs -- HTTPS on both sides of `llmtap proxy`: clients reach the proxy
// over TLS ([proxy] tls_cert/tls_key), the proxy reaches an https backend and
// verifies it against the backend's ca_bundle (a private test CA); without
// the CA the backend is refused (502, never a silent plain connection).
// Backend connections are kept alive: sequential calls share one TLS
// connection, a connection the backend closed while idle is not used again,
// and a pooled connection that dies before answering is retried on a fresh
// one without failing the call (one backend only: no failover could hide it).
//   node tls.mjs DIR CA.pem CERT.pem KEY.pem     (certificates for "localhost")
import { check, chat, proxyConf, request, sleep, startBackend, startProxy, runScenarios } from './harness.mjs';

const [dir, ca, cert, key] = process.argv.slice(2);
process.env.LT_TEST_DB = `${dir}/spool.db`;
const tls = { ca: [await import('node:fs').then((fs) => fs.readFileSync(ca))], cert, key };

async function main() {
  const a = await startBackend('a', tls);
  const px = await startProxy(dir, proxyConf([{ ...a, ca }], `tls_cert = ${cert}\ntls_key = ${key}`), ['-q']);
  let r = await chat(px.port, 'over tls', { tls: true, ca: tls.ca });
  check('https client -> proxy -> https backend: 200 from a', r.status === 200 && r.headers['x-backend'] === 'a', '200 from a', `${r.status} from ${r.headers['x-backend']}`);
  r = await chat(px.port, 'stream over tls', { tls: true, ca: tls.ca, stream: true });
  check('SSE over TLS both ways ends with [DONE]', r.status === 200 && r.body.includes('[DONE]'), '[DONE]', r.body.slice(-80));
  // keep-alive: N sequential calls, one TLS connection at the backend
  const N = 20;
  let ok = 0;
  for (let i = 0; i < N; i++) ok += (await chat(px.port, `keepalive ${i}`, { tls: true, ca: tls.ca })).status === 200;
  let st = await a.stats();
  check(`keep-alive: ${N + 2} sequential calls all answered`, ok === N && st.requests === N + 2, N + 2, `${ok + 2} ok, ${st.requests} at the backend`);
  check(`keep-alive: ${N + 2} calls used 1 TLS connection to the backend`, st.conns === 1, 1, st.conns);
  // the backend closes the idle connection (its keep-alive timeout): the next call still succeeds, on a new one
  const closed = JSON.parse((await request({ port: a.port, tls: true, ca: tls.ca, method: 'POST', path: '/_closeidle', body: '' })).body);
  check('backend closed the idle pooled connection', closed.closed >= 1, '>= 1', closed.closed);
  await sleep(100);
  r = await chat(px.port, 'after idle close', { tls: true, ca: tls.ca });
  st = await a.stats();
  check('after the backend closed the idle connection: 200, on a second connection', r.status === 200 && st.conns === 2, '200, 2 connections', `${r.status}, ${st.conns}`);
  // a pooled connection dies on the request before any answer (the close raced the request):
  // retried once on a fresh connection, the call succeeds, the backend is not blamed
  await a.control({ kind: 'drop', count: 1 });
  r = await chat(px.port, 'stale pooled connection', { tls: true, ca: tls.ca });
  st = await a.stats();
  check('pooled connection dropped before answering: retried on a fresh one, 200 from a', r.status === 200 && r.headers['x-backend'] === 'a' && st.conns === 3, '200 from a, 3 connections', `${r.status} from ${r.headers['x-backend']}, ${st.conns}`);
  await px.stop();
  const gw = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLogs');
  const llm = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLlmLog');
  const calls = N + 4;
  check(`TLS: ${calls} gateway records with the https backend url`, gw.length === calls && gw.every((g) => g.BackendUrl === a.url), a.url, gw.map((g) => g.BackendUrl));
  check(`TLS: ${calls} LLM records parsed from the decrypted bytes`, llm.length === calls && llm.every((l) => l.DeploymentName === 'gpt-4o'), calls, llm.length);
  const last = gw.filter((g) => g.BackendUrl === a.url).at(-1);
  check('stale connection retry: 1 attempt, no AttemptErrors (the backend is not blamed)', last?.Attempts === 1 && (last?.AttemptErrors || []).length === 0, '1 attempt, []', `${last?.Attempts}, ${JSON.stringify(last?.AttemptErrors)}`);
  // no ca_bundle: the private CA is not trusted, the backend is refused
  const px2 = await startProxy(dir, proxyConf([a]), ['-q']);
  r = await chat(px2.port, 'untrusted');
  check('backend certificate not trusted: 502, never forwarded', r.status === 502 && !r.headers['x-backend'], 502, `${r.status} ${r.headers['x-backend'] || ''}`);
  await px2.stop();
  const g2 = px2.lines.find((l) => l.Table === 'ApiManagementGatewayLogs');
  check('untrusted backend: record with BACKEND_UNREACHABLE', g2?.LastErrorReason === 'BACKEND_UNREACHABLE', 'BACKEND_UNREACHABLE', g2?.LastErrorReason);
  a.stop();
}

await runScenarios({ main });
