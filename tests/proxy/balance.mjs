// balance.mjs -- balancing and failover through `llmtap proxy` against
// several backend stand-ins: weights over 10,000 requests, priority order,
// a 429 moving the call to the next backend at once and the cooled backend
// coming back after its Retry-After (and no later than max_cooldown), the
// circuit breaker opening and half-opening, connect errors / stalls / resets
// failing over, and 503 NO_BACKEND_AVAILABLE with Retry-After when every
// backend is cooling (or the 429 itself with when_all_cooling = pass_429).
//   node balance.mjs DIR        (LLMTAP set; exit 1 on any failure)
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { check, chat, proxyConf, request, sleep, startBackend, startProxy, runScenarios } from './harness.mjs';

const dir = process.argv[2];
process.env.LT_TEST_DB = `${dir}/spool.db`;

async function weights() {
  const a = await startBackend('a'), b = await startBackend('b'), c = await startBackend('c');
  // two event loops (SO_REUSEPORT): the shares are kept across them
  const px = await startProxy(dir, proxyConf([{ ...a, weight: 3 }, { ...b, weight: 1 }, { ...c, priority: 2 }], 'workers = 2'), ['-q']);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const count = {};
  const N = 10000;
  let next = 0;
  async function worker() {
    while (next < N) {
      next++;
      const r = await request({ port: px.port, path: '/openai/v1/models', headers: { 'api-key': 'k' }, agent });
      const who = r.headers['x-backend'] || `status ${r.status}`;
      count[who] = (count[who] || 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
  const shareA = (count.a || 0) / N, shareB = (count.b || 0) / N;
  check('weights 3:1: share of a over 10,000 requests', Math.abs(shareA - 0.75) <= 0.02, 0.75, shareA);
  check('weights 3:1: share of b over 10,000 requests', Math.abs(shareB - 0.25) <= 0.02, 0.25, shareB);
  check('priority 2 backend unused while priority 1 is healthy', !count.c, 0, count.c || 0);
  const st = await px.stop();
  check('SIGTERM: exit 0', st.code === 0, 0, st);
  for (const x of [a, b, c]) x.stop();
}

async function cooldown() {
  const a = await startBackend('a'), b = await startBackend('b');
  const px = await startProxy(dir, proxyConf([a, { ...b, priority: 2 }], 'max_cooldown = 1500ms'), ['-q']);
  let r = await chat(px.port, 'first');
  check('priority: healthy priority-1 backend answers', r.headers['x-backend'] === 'a', 'a', r.headers['x-backend']);
  await a.control({ kind: '429', count: 1, retryAfterMs: 700 });
  r = await chat(px.port, 'throttled');
  check('429: same call answered by the next backend', r.status === 200 && r.headers['x-backend'] === 'b', '200 from b', `${r.status} from ${r.headers['x-backend']}`);
  r = await chat(px.port, 'while cooling');
  check('429: next call skips the cooling backend', r.headers['x-backend'] === 'b', 'b', r.headers['x-backend']);
  await sleep(800);
  r = await chat(px.port, 'after cooldown');
  check('429: backend back after retry-after-ms', r.headers['x-backend'] === 'a', 'a', r.headers['x-backend']);
  // Retry-After as an HTTP date, and the cap on a huge Retry-After
  await a.control({ kind: '429', count: 1, retryAfterDate: 2 });
  await chat(px.port, 'date');
  r = await chat(px.port, 'date cooling');
  check('429 with an HTTP-date Retry-After cools', r.headers['x-backend'] === 'b', 'b', r.headers['x-backend']);
  await sleep(2100);
  r = await chat(px.port, 'date over');
  check('HTTP-date cooldown ends', r.headers['x-backend'] === 'a', 'a', r.headers['x-backend']);
  await a.control({ kind: '429', count: 1, retryAfter: 86400 });
  await chat(px.port, 'quota');
  await sleep(1700);
  r = await chat(px.port, 'capped');
  check('86400 s Retry-After capped by max_cooldown (1.5 s)', r.headers['x-backend'] === 'a', 'a', r.headers['x-backend']);
  // every backend cooling: 503 with Retry-After, no backend touched again
  await a.control({ kind: '429', retryAfterMs: 2500 });
  await b.control({ kind: '429', xMsRetryAfterMs: 1200 });
  r = await chat(px.port, 'all cooling');
  let code = null;
  try { code = JSON.parse(r.body).error.code; } catch { /* not JSON */ }
  check('all cooling: 503', r.status === 503, 503, r.status);
  check('all cooling: error code NO_BACKEND_AVAILABLE', code === 'NO_BACKEND_AVAILABLE', 'NO_BACKEND_AVAILABLE', code);
  check('all cooling: Retry-After = seconds to the soonest recovery, rounded up', r.headers['retry-after'] === '2', '2', r.headers['retry-after']);
  const before = (await a.stats()).requests + (await b.stats()).requests;
  r = await chat(px.port, 'still cooling');
  const after = (await a.stats()).requests + (await b.stats()).requests;
  check('all cooling: no backend is called', after === before && r.status === 503, `${before} calls, 503`, `${after} calls, ${r.status}`);
  await px.stop();
  // pass_429
  await a.control({ kind: '429', retryAfterMs: 5000 });
  await b.control({ kind: '429', retryAfterMs: 5000 });
  const px2 = await startProxy(dir, proxyConf([a, b], 'when_all_cooling = pass_429'), ['-q']);
  r = await chat(px2.port, 'pass');
  check('pass_429: the last 429 is passed through', r.status === 429 && r.headers['retry-after-ms'] === '5000', '429 with retry-after-ms 5000', `${r.status} ${r.headers['retry-after-ms']}`);
  const rec = px2.lines.find((l) => l.Table === 'ApiManagementGatewayLogs');
  await px2.stop();
  const gw = px2.lines.filter((l) => l.Table === 'ApiManagementGatewayLogs');
  check('pass_429: gateway record lists both attempts', gw[0]?.Attempts === 2 && gw[0]?.AttemptErrors?.length === 2, 2, gw[0]?.AttemptErrors);
  void rec;
  a.stop(); b.stop();
}

async function breaker() {
  const a = await startBackend('a'), b = await startBackend('b');
  const dead = { name: 'dead', url: 'http://127.0.0.1:9', priority: 1 };
  const px = await startProxy(dir, proxyConf([a, { ...b, priority: 2 }],
    'breaker_failures = 3\nbreaker_window = 10s\nbreaker_open = 1s\nfirst_byte_timeout = 600ms'), ['-q']);
  await a.control({ kind: '500', count: 3 });
  for (let i = 0; i < 3; i++) {
    const r = await chat(px.port, `fail ${i}`);
    check(`500 #${i + 1}: failed over to b`, r.status === 200 && r.headers['x-backend'] === 'b', '200 from b', `${r.status} from ${r.headers['x-backend']}`);
  }
  const seen = (await a.stats()).requests;
  let r = await chat(px.port, 'open');
  check('breaker open: a not called', (await a.stats()).requests === seen && r.headers['x-backend'] === 'b', seen, (await a.stats()).requests);
  await sleep(1100);
  r = await chat(px.port, 'probe');
  check('breaker half-open: one probe goes to a and closes it', r.headers['x-backend'] === 'a', 'a', r.headers['x-backend']);
  r = await chat(px.port, 'closed');
  check('breaker closed again', r.headers['x-backend'] === 'a', 'a', r.headers['x-backend']);
  // stall -> first-byte timeout -> b; reset -> b
  await a.control({ kind: 'stall', count: 1 });
  r = await chat(px.port, 'stall');
  check('stall: first-byte timeout fails over', r.status === 200 && r.headers['x-backend'] === 'b', '200 from b', `${r.status} from ${r.headers['x-backend']}`);
  await a.control({ kind: 'reset', count: 1 });
  r = await chat(px.port, 'reset');
  check('reset: fails over', r.status === 200 && r.headers['x-backend'] === 'b', '200 from b', `${r.status} from ${r.headers['x-backend']}`);
  await px.stop();
  const gw = px.lines.filter((l) => l.Table === 'ApiManagementGatewayLogs');
  const stalled = gw.find((g) => (g.AttemptErrors || []).some((e) => e.error === 'timeout'));
  check('stall: gateway record has the timeout in AttemptErrors', !!stalled, 'an AttemptErrors entry with error=timeout', gw.map((g) => g.AttemptErrors));
  // connect error
  const px2 = await startProxy(dir, proxyConf([dead, { ...b, priority: 2 }]), ['-q']);
  r = await chat(px2.port, 'connect');
  check('connect error: fails over', r.status === 200 && r.headers['x-backend'] === 'b', '200 from b', `${r.status} from ${r.headers['x-backend']}`);
  await px2.stop();
  a.stop(); b.stop();
}

async function status() {
  const a = await startBackend('a'), b = await startBackend('b');
  const conf = proxyConf([a, { ...b, priority: 2 }]) + '\n[metrics]\nlisten = 127.0.0.1:0\n';
  const px = await startProxy(dir, conf, []);
  await chat(px.port, 'one');
  await a.control({ kind: '429', count: 1, retryAfterMs: 30000 });
  await chat(px.port, 'two');
  const cfgFile = px.proc.spawnargs[px.proc.spawnargs.indexOf('--config') + 1];
  let doc = null;
  try { doc = JSON.parse(execFileSync(process.env.LLMTAP, ['status', '--config', cfgFile, '--json'], { encoding: 'utf8' })); } catch (e) { doc = { error: String(e) }; }
  const ba = (doc.backends || []).find((x) => x.name === 'a'), bb = (doc.backends || []).find((x) => x.name === 'b');
  check('status: backend a has 2 requests, one 429, cooling until a time', ba && ba.requests === 2 && ba.responses_429 === 1 && typeof ba.cooling_until === 'string',
    { requests: 2, responses_429: 1, cooling_until: 'ISO time' }, ba || doc);
  check('status: backend b answered once, breaker closed, latency figures', bb && bb.requests === 1 && bb.breaker === 'closed' && Number.isInteger(bb.latency_p50_ms) && Number.isInteger(bb.latency_p99_ms),
    { requests: 1, breaker: 'closed', latency_p50_ms: 'int' }, bb || doc);
  check('status: proxy section counts records', doc.proxy && doc.proxy.records >= 2, '>= 2', doc.proxy);
  const m = px.stderr().match(/metrics on port (\d+)/);
  let text = '';
  if (m) text = (await request({ port: Number(m[1]), path: '/metrics' })).body;
  check('metrics: per-backend 429 counter with the backend as a label', /responses_429\{[^}]*"a"[^}]*\} 1\b/.test(text), 'llmtap_backends_responses_429{...="a"} 1',
    text.split('\n').filter((l) => l.includes('429')).join(' | ') || text.slice(0, 300));
  await px.stop();
  a.stop(); b.stop();
}

async function headers() {
  const a = await startBackend('a');
  const px = await startProxy(dir, proxyConf([a]), ['-q']);
  await chat(px.port, 'plain');
  await chat(px.port, 'forwarded', { headers: { 'content-type': 'application/json', 'api-key': 'sk-test-key-0123456789', 'x-forwarded-for': '203.0.113.7', 'x-ms-client-request-id': 'cid-42', connection: 'keep-alive, x-hop', 'x-hop': 'secret-hop' } });
  const st = await a.stats();
  check('X-Forwarded-For: the client address appended', st.xff[0] === '127.0.0.1', '127.0.0.1', st.xff[0]);
  check('X-Forwarded-For: appended to the one the client sent', st.xff[1] === '203.0.113.7, 127.0.0.1', '203.0.113.7, 127.0.0.1', st.xff[1]);
  check('hop-by-hop: a header named in Connection is not forwarded', !st.hop[1], 'absent', st.hop[1]);
  check('x-ms-client-request-id passed through', st.cid[1] === 'cid-42', 'cid-42', st.cid[1]);
  await px.stop();
  a.stop();
}

const all = { weights, cooldown, breaker, status, headers };
await runScenarios(all, process.argv.slice(3));
