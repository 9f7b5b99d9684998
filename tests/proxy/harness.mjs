// harness.mjs -- starts backends (backend.mjs) and `llmtap proxy` for the proxy
// tests, talks to them, and checks results with messages that say what was
// expected and what came. Every process it starts is stopped by its PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const procs = new Set();
export const results = { pass: 0, fail: 0 };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function check(what, ok, expected, got) {
  if (ok) { results.pass++; return true; }
  results.fail++;
  console.log(`FAIL: ${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  return false;
}

export function stopAll() {
  for (const p of procs) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  procs.clear();
}
process.on('exit', stopAll);

// The end of every proxy test: runs the scenarios (name -> async function)
// named in names, or all of them in order when names is empty; an exception
// counts as one failure and ends the run. Then stops every process started,
// prints the tally and exits 1 on any failure.
export async function runScenarios(all, names = []) {
  try {
    for (const n of names.length ? names : Object.keys(all)) await all[n]();
  } catch (e) {
    results.fail++;
    console.log(`FAIL: ${e.stack}`);
  }
  stopAll();
  console.log(`${results.pass} passed, ${results.fail} failed`);
  process.exit(results.fail ? 1 : 0);
}

function waitLine(proc, stream, re, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what}: no "${re}" within 10 s; output: ${buf}`)), 10000);
    proc[stream].on('data', (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) { clearTimeout(t); resolve(m); }
    });
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`${what} exited (${code}): ${buf}`)); });
  });
}

export async function startBackend(name, tls) {
  const args = [path.join(here, 'backend.mjs'), name, ...(tls ? ['--tls', tls.cert, tls.key] : [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.add(proc);
  const m = await waitLine(proc, 'stdout', /PORT (\d+)/, `backend ${name}`);
  const port = Number(m[1]);
  const scheme = tls ? 'https' : 'http';
  const b = {
    name, port, proc, url: `${scheme}://${tls ? 'localhost' : '127.0.0.1'}:${port}`,
    control: (mode) => request({ port, tls, ca: tls?.ca, method: 'POST', path: '/_control', body: JSON.stringify(mode) }),
    stats: async () => JSON.parse((await request({ port, tls, ca: tls?.ca, path: '/_stats' })).body),
    stop: () => { try { process.kill(proc.pid, 'SIGTERM'); } catch { /* gone */ } procs.delete(proc); },
  };
  return b;
}

// conf: text of llmtap.conf; returns {port, proc, lines (stdout JSON lines), stop()}
export async function startProxy(dir, conf, extra = []) {
  const cfgPath = path.join(dir, `proxy-${Date.now()}-${Math.random().toString(16).slice(2)}.conf`);
  fs.writeFileSync(cfgPath, conf);
  const llmtap = process.env.LLMTAP;
  const proc = spawn(llmtap, ['proxy', '--config', cfgPath, '--no-upload', '--json', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(proc);
  const lines = [];
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
    let i;
    while ((i = out.indexOf('\n')) >= 0) { lines.push(JSON.parse(out.slice(0, i))); out = out.slice(i + 1); }
  });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const m = await waitLine(proc, 'stderr', /proxy listening on [^ ]+:(\d+)/, 'llmtap proxy');
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  return {
    port: Number(m[1]), proc, lines, stderr: () => err,
    stop: async () => {
      process.kill(proc.pid, 'SIGTERM');
      const r = await exited;
      procs.delete(proc);
      return r.code === 0 ? r : { ...r, stderr: err.slice(-4000) };
    },
  };
}

// One HTTP request; resolves {status, headers, body, chunks: [{t, text}]}.
export function request({ port, method = 'GET', path: p = '/', body, headers = {}, tls, ca, agent, onChunk, host = '127.0.0.1' }) {
  return new Promise((resolve, reject) => {
    const mod = tls ? https : http;
    const h = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = mod.request({ host: tls ? 'localhost' : host, port, method, path: p, headers: h, agent, ca, servername: 'localhost' }, (res) => {
      const chunks = [];
      res.on('data', (d) => { const c = { t: performance.now(), text: d.toString('utf8') }; chunks.push(c); if (onChunk) onChunk(c, req, res); });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: chunks.map((c) => c.text).join(''), chunks }));
      res.on('error', reject);
      res.on('aborted', () => resolve({ status: res.statusCode, headers: res.headers, body: chunks.map((c) => c.text).join(''), chunks, aborted: true }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export const KEY = 'sk-test-key-0123456789';
export function chat(port, text, opts = {}) {
  const body = JSON.stringify({ messages: [{ role: 'user', content: text }], ...(opts.stream ? { stream: true } : {}) });
  return request({
    port, method: 'POST', path: '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21', body,
    headers: { 'content-type': 'application/json', 'api-key': KEY }, ...opts,
  });
}

export function proxyConf(backends, extra = '') {
  const sock = `${path.dirname(process.env.LT_TEST_DB)}/status-${process.pid}-${Math.random().toString(16).slice(2, 8)}.sock`;
  let s = `[proxy]\nlisten = 127.0.0.1:0\n${extra}\n[store]\npath = ${process.env.LT_TEST_DB}\n[agent]\nsocket = ${sock}\n`;
  for (const b of backends) {
    s += `\n[backend.${b.name}]\nurl = ${b.url}\npriority = ${b.priority ?? 1}\nweight = ${b.weight ?? 1}\n`;
    if (b.ca) s += `ca_bundle = ${b.ca}\n`;
  }
  return s;
}
