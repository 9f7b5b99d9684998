// tls.mjs -- HTTPS on both sides of `llmtap proxy`: clients reach the proxy
// over TLS ([proxy] tls_cert/tls_key), the proxy reaches an https backend and
// verifies it against the backend's ca_bundle (a private test CA); without
// the CA the backend is refused (502, never a silent plain connection).
//   node tls.mjs DIR CA.pem CERT.pem KEY.pem     (certificates for "localhost")
import { check, chat, proxyConf, results, startBackend, startProxy, stopAll } from './harness.mjs';

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
  await px.stop();
  const gw = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLogs');
  const llm = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLlmLog');
  check('TLS: two gateway records with the https backend url', gw.length === 2 && gw.every((g) => g.BackendUrl === a.url), a.url, gw.map((g) => g.BackendUrl));
  check('TLS: two LLM records parsed from the decrypted bytes', llm.length === 2 && llm.every((l) => l.DeploymentName === 'gpt-4o'), 2, llm.length);
  // no ca_bundle: the private CA is not trusted, the backend is refused
  const px2 = await startProxy(dir, proxyConf([a]), ['-q']);
  r = await chat(px2.port, 'untrusted');
  check('backend certificate not trusted: 502, never forwarded', r.status === 502 && !r.headers['x-backend'], 502, `${r.status} ${r.headers['x-backend'] || ''}`);
  await px2.stop();
  const g2 = px2.lines.find((l) => l.Table === 'ApiManagementGatewayLogs');
  check('untrusted backend: record with BACKEND_UNREACHABLE', g2?.LastErrorReason === 'BACKEND_UNREACHABLE', 'BACKEND_UNREACHABLE', g2?.LastErrorReason);
  a.stop();
}

try { await main(); } catch (e) { results.fail++; console.log(`FAIL: ${e.stack}`); }
stopAll();
console.log(`${results.pass} passed, ${results.fail} failed`);
process.exit(results.fail ? 1 : 0);
