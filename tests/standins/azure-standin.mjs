// azure-standin.mjs -- local stand-ins for the Azure endpoints llmtap's uploader talks to,
// strict about the documented protocols:
//
//   HTTPS (cert/key from the command line):
//     POST /{tenant}/oauth2/v2.0/token           Entra client credentials: client_secret, a
//                                                certificate JWT assertion (RS256, verified with the
//                                                certificate, aud = this URL, exp), or a federated token
//     POST /dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01
//                                                Logs Ingestion: bearer token (signature, audience
//                                                https://monitor.azure.com, expiry), Content-Type
//                                                application/json, optional Content-Encoding gzip, at most
//                                                1 MB as received, a JSON array, every column declared in
//                                                the stream (packaging/azure/schema.json) with its type.
//                                                Answers 204; 400/401/403/413; 429 + Retry-After / 503 on command.
//     POST /control                              test control: {"fail":[{"status":429,"retryAfter":1},...],
//                                                "limit":bytes, "tokenTtl":seconds, "down":true|false}
//     GET  /accepted                             what was accepted, as JSON lines
//   HTTP (IMDS and friends):
//     GET /metadata/identity/oauth2/token        IMDS (Metadata: true)
//     GET /msi/token                             App Service style (X-IDENTITY-HEADER)
//     GET /arc/token                             Azure Arc: 401 with WWW-Authenticate realm=<key file>,
//                                                then Basic <key>
//
// Prints "HTTPS_PORT n" and "HTTP_PORT n". Accepted rows are appended to ACCEPTED.jsonl.
//   node azure-standin.mjs CERT KEY CLIENT_CERT ACCEPTED.jsonl [ARC_KEY_FILE]
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

const [certFile, keyFile, clientCertFile, acceptedFile, arcKeyFile] = process.argv.slice(2);
const schema = JSON.parse(fs.readFileSync(new URL('../../packaging/azure/schema.json', import.meta.url), 'utf8')).tables;
const TENANT = 'test-tenant', CLIENT = 'test-client', SECRET = 'test-secret', FEDERATED = 'federated-token-xyz';
const DCR = 'dcr-test', AUDIENCE = 'https://monitor.azure.com';
const HMAC_KEY = crypto.randomBytes(32);
const state = { fail: [], limit: 1024 * 1024, tokenTtl: 3600, down: false, stats: { posts: 0, rows: 0, status: {} }, tokens: 0 };
const clientCert = clientCertFile ? new crypto.X509Certificate(fs.readFileSync(clientCertFile)) : null;

// "now" of llmtap's clock: the suite runs llmtap with LLMTAP_CLOCK_OFFSET (seconds)
// to move it in time, and tokens must expire on the same clock.
const CLOCK_OFFSET_MS = (Number(process.env.LLMTAP_CLOCK_OFFSET) || 0) * 1000;
const now = () => Date.now() + CLOCK_OFFSET_MS;
const b64u = (b) => Buffer.from(b).toString('base64url');
function issueToken(aud = AUDIENCE) {
  state.tokens++;
  const body = b64u(JSON.stringify({ aud, exp: Math.floor(now() / 1000) + state.tokenTtl, n: state.tokens }));
  return `${b64u('{"alg":"HS256"}')}.${body}.${b64u(crypto.createHmac('sha256', HMAC_KEY).update(body).digest())}`;
}
function checkToken(auth) {
  const m = /^Bearer (.+)$/.exec(auth || '');
  if (!m) return 'missing bearer token';
  const [, body, sig] = m[1].split('.');
  if (!sig || !crypto.timingSafeEqual(Buffer.from(sig, 'base64url'), crypto.createHmac('sha256', HMAC_KEY).update(body).digest())) return 'bad signature';
  const p = JSON.parse(Buffer.from(body, 'base64url'));
  if (p.aud !== AUDIENCE) return `wrong audience ${p.aud}`;
  if (p.exp * 1000 < now()) return 'token expired';
  return null;
}
function tokenAnswer(res, aud) {
  const t = issueToken(aud);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ token_type: 'Bearer', expires_in: state.tokenTtl, ext_expires_in: state.tokenTtl, access_token: t }));
}
function imdsAnswer(res, resource) {
  if (resource !== AUDIENCE) { res.writeHead(400); res.end('{"error":"invalid_resource"}'); return; }
  const t = issueToken();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ access_token: t, expires_on: String(Math.floor(now() / 1000) + state.tokenTtl), resource, token_type: 'Bearer' }));
}
const fail = (res, status, code, message, extra = {}) => {
  state.stats.status[status] = (state.stats.status[status] || 0) + 1;
  res.writeHead(status, { 'content-type': 'application/json', ...extra });
  res.end(JSON.stringify({ error: { code, message } }));
};

function verifyAssertion(jwt, aud) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url')), payload = JSON.parse(Buffer.from(p, 'base64url'));
  if (header.alg !== 'RS256') return 'alg must be RS256';
  const thumb = b64u(crypto.createHash('sha256').update(clientCert.raw).digest());
  if (header['x5t#S256'] !== thumb) return 'x5t#S256 does not match the certificate';
  if (!crypto.verify('sha256', Buffer.from(`${h}.${p}`), clientCert.publicKey, Buffer.from(s, 'base64url'))) return 'bad signature';
  if (payload.aud !== aud || payload.iss !== CLIENT || payload.sub !== CLIENT) return 'bad claims';
  if (payload.exp * 1000 < now()) return 'assertion expired';
  return null;
}

function typeOk(type, v) {
  if (v === null) return true;
  switch (type) {
  case 'string': return typeof v === 'string';
  case 'datetime': return typeof v === 'string' && !Number.isNaN(Date.parse(v));
  case 'int': case 'long': return Number.isInteger(v);
  case 'real': return typeof v === 'number';
  case 'boolean': return typeof v === 'boolean';
  default: return true;
  }
}

function ingest(req, res, body, dcr, stream) {
  state.stats.posts++;
  if (state.down) { req.socket.destroy(); return; }
  if (dcr !== DCR) return fail(res, 404, 'NotFound', `data collection rule ${dcr} not found`);
  const bad = checkToken(req.headers.authorization);
  if (bad) return fail(res, 401, 'InvalidToken', bad);
  if (state.fail.length) { const f = state.fail.shift(); return fail(res, f.status, 'Injected', 'injected failure', f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {}); }
  if (body.length > state.limit) return fail(res, 413, 'ContentLengthLimitExceeded', `body of ${body.length} bytes exceeds ${state.limit}`);
  if (!/^application\/json/.test(req.headers['content-type'] || '')) return fail(res, 415, 'UnsupportedMediaType', 'Content-Type must be application/json');
  let text;
  try { text = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body).toString('utf8') : body.toString('utf8'); }
  catch { return fail(res, 400, 'InvalidContentEncoding', 'body is not gzip'); }
  let rows;
  try { rows = JSON.parse(text); } catch { return fail(res, 400, 'InvalidPayload', 'body is not JSON'); }
  if (!Array.isArray(rows)) return fail(res, 400, 'InvalidPayload', 'body must be a JSON array');
  const table = stream.replace(/^Custom-/, '');
  const cols = schema[table];
  if (!cols) return fail(res, 400, 'InvalidStream', `stream ${stream} is not declared`);
  for (const r of rows) {
    if (JSON.stringify(r).includes('POISON-RECORD')) return fail(res, 400, 'InvalidPayload', 'record rejected by transformation (poison marker)');
    for (const [k, v] of Object.entries(r)) {
      if (!(k in cols)) return fail(res, 400, 'InvalidPayload', `column ${k} is not declared in ${stream}`);
      if (!typeOk(cols[k], v)) return fail(res, 400, 'InvalidPayload', `column ${k}: value does not match type ${cols[k]}`);
    }
  }
  fs.appendFileSync(acceptedFile, rows.map((r) => JSON.stringify({ _stream: stream, ...r })).join('\n') + (rows.length ? '\n' : ''));
  state.stats.rows += rows.length;
  state.stats.status[204] = (state.stats.status[204] || 0) + 1;
  res.writeHead(204);
  res.end();
}

async function readBody(req) { const c = []; for await (const x of req) c.push(x); return Buffer.concat(c); }

const httpsServer = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, async (req, res) => {
  const body = await readBody(req);
  const url = new URL(req.url, `https://${req.headers.host}`);
  const m = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'POST' && m) {
    if (url.searchParams.get('api-version') !== '2023-01-01') return fail(res, 400, 'InvalidApiVersion', 'api-version=2023-01-01 expected');
    return ingest(req, res, body, decodeURIComponent(m[1]), decodeURIComponent(m[2]));
  }
  const t = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
  if (req.method === 'POST' && t) {
    const f = new URLSearchParams(body.toString());
    if (t[1] !== TENANT || f.get('client_id') !== CLIENT || f.get('grant_type') !== 'client_credentials') return fail(res, 400, 'invalid_client', 'unknown tenant or client');
    if (f.get('scope') !== `${AUDIENCE}/.default`) return fail(res, 400, 'invalid_scope', `scope ${f.get('scope')}`);
    if (f.get('client_secret') !== null) return f.get('client_secret') === SECRET ? tokenAnswer(res) : fail(res, 401, 'invalid_client', 'bad secret');
    if (f.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return fail(res, 400, 'invalid_request', 'assertion type');
    const a = f.get('client_assertion');
    if (a === FEDERATED) return tokenAnswer(res);
    let err;
    try { err = clientCert ? verifyAssertion(a || '', `https://${req.headers.host}${url.pathname}`) : 'no client certificate configured'; }
    catch (e) { err = `malformed client assertion: ${e.message}`; }
    return err ? fail(res, 401, 'invalid_client', err) : tokenAnswer(res);
  }
  if (req.method === 'POST' && url.pathname === '/control') {
    Object.assign(state, JSON.parse(body.toString() || '{}'));
    res.writeHead(200); res.end(JSON.stringify(state.stats)); return;
  }
  if (url.pathname === '/stats') { res.writeHead(200); res.end(JSON.stringify({ ...state.stats, tokens: state.tokens })); return; }
  res.writeHead(404); res.end();
});

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  const resource = url.searchParams.get('resource');
  if (url.pathname === '/metadata/identity/oauth2/token') {
    if (req.headers.metadata !== 'true') { res.writeHead(400); res.end('{"error":"bad_request","error_description":"Required metadata header not specified"}'); return; }
    return imdsAnswer(res, resource);
  }
  if (url.pathname === '/msi/token') {
    if (req.headers['x-identity-header'] !== 'identity-header-secret') { res.writeHead(401); res.end(); return; }
    return imdsAnswer(res, resource);
  }
  if (url.pathname === '/arc/token') {
    const key = fs.readFileSync(arcKeyFile, 'utf8').trim();
    if (req.headers.authorization === `Basic ${key}`) return imdsAnswer(res, resource);
    res.writeHead(401, { 'www-authenticate': `Basic realm=${arcKeyFile}` }); res.end(); return;
  }
  res.writeHead(404); res.end();
});

httpsServer.listen(0, '127.0.0.1', () => {
  httpServer.listen(0, '127.0.0.1', () => {
    console.log(`HTTPS_PORT ${httpsServer.address().port}`);
    console.log(`HTTP_PORT ${httpServer.address().port}`);
  });
});
process.on('SIGTERM', () => process.exit(0));
