// report-browser.mjs -- opens an `llmtap report` HTML file in a real browser (Debian's chromium,
// headless, driven over the DevTools protocol by puppeteer-core) and checks what a reader sees:
// no console errors, no network request of any kind (the file must be self-contained), every chart
// drawn as a non-empty SVG, the totals and the charts' bars equal to the ground truth of the
// captures, the 403/429 table complete. Saves a full-page screenshot.
//
// usage: node report-browser.mjs REPORT.html SCREENSHOT.png TRUTH.json...
// Prints what each check expected and got; exit 1 on any mismatch.
import puppeteer from 'puppeteer-core';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [report, shot, ...truthFiles] = process.argv.slice(2);
if (!report || !shot || !truthFiles.length) { console.error('usage: report-browser.mjs REPORT.html SHOT.png TRUTH.json...'); process.exit(2); }
const truth = truthFiles.flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const calls = truth.filter((t) => t.llm);
const sum = (f) => calls.reduce((s, t) => s + Number(t.llm[f] ?? 0), 0);

let fails = 0, checks = 0;
function eq(what, got, want) {
  checks++;
  if (JSON.stringify(got) === JSON.stringify(want)) return;
  fails++;
  console.log(`FAIL ${what}: expected ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const url = pathToFileURL(path.resolve(report)).href;
  const consoleErrors = [], requests = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.url() === url) return req.continue();
    requests.push(req.url());
    return req.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  eq('console errors and warnings', consoleErrors, []);
  eq('network requests other than the file itself', requests, []);

  const seen = await page.evaluate(() => {
    const charts = {};
    for (const s of document.querySelectorAll('svg.chart')) {
      const box = s.getBoundingClientRect();
      charts[s.dataset.chart] = {
        shapes: s.querySelectorAll('rect, line, text').length, bars: [...s.querySelectorAll('rect[data-value]')].map((r) => Number(r.dataset.value)),
        width: Math.round(box.width), height: Math.round(box.height), empty: s.dataset.empty === '1',
      };
    }
    const totals = Object.fromEntries([...document.querySelectorAll('[data-total]')].map((e) => [e.dataset.total, Number(e.textContent)]));
    const rows = (id) => document.querySelectorAll(`table[data-table="${id}"] tbody tr`).length;
    const auditCodes = [...document.querySelectorAll('table[data-table="audit"] td[data-col="ResponseCode"]')].map((td) => Number(td.textContent));
    return { charts, totals, auditRows: rows('audit'), auditCodes, scripts: document.scripts.length };
  });

  eq('script elements in the page', seen.scripts, 0);
  for (const id of ['daily-tokens', 'callers', 'keys', 'latency', 'ttft', 'audit', 'incomplete']) {
    const c = seen.charts[id];
    if (!c) { fails++; console.log(`FAIL chart ${id}: expected an svg.chart, got none`); continue; }
    checks++;
    if (!(c.shapes > 0 && c.width > 100 && c.height > 30)) { fails++; console.log(`FAIL chart ${id}: expected a drawn SVG, got ${JSON.stringify(c)}`); }
    if (id !== 'incomplete' && !c.bars.length) { fails++; console.log(`FAIL chart ${id}: expected bars, got none (empty=${c.empty})`); }
  }
  const total = sum('TotalTokens');
  eq('totals', seen.totals.Requests !== undefined && {
    Requests: seen.totals.Requests, PromptTokens: seen.totals.PromptTokens, CompletionTokens: seen.totals.CompletionTokens,
    TotalTokens: seen.totals.TotalTokens, CachedTokens: seen.totals.CachedTokens, ReasoningTokens: seen.totals.ReasoningTokens,
    GatewayRequests: seen.totals.GatewayRequests, Blocked: seen.totals.Blocked, Throttled: seen.totals.Throttled,
  }, {
    Requests: calls.length, PromptTokens: sum('PromptTokens'), CompletionTokens: sum('CompletionTokens'), TotalTokens: total,
    CachedTokens: sum('CachedTokens'), ReasoningTokens: sum('ReasoningTokens'), GatewayRequests: truth.length,
    Blocked: truth.filter((t) => t.gateway.ResponseCode === 403).length, Throttled: truth.filter((t) => t.gateway.ResponseCode === 429).length,
  });
  const barSum = (id) => (seen.charts[id] ? seen.charts[id].bars.reduce((s, v) => s + v, 0) : null);
  eq('daily chart: sum of the stacked bars', barSum('daily-tokens'), total);
  eq('top keys chart: sum of the bars (all keys fit)', barSum('keys'), total);
  eq('latency histogram: calls in its bars', barSum('latency'), calls.length);
  const codes = truth.map((t) => t.gateway.ResponseCode).filter((c) => c === 403 || c === 429).sort();
  eq('403/429 chart: calls in its bars', barSum('audit'), codes.length);
  eq('403/429 table: response codes', [...seen.auditCodes].sort(), codes);

  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
} finally {
  await browser.close();
}
console.log(`${checks - fails} of ${checks} checks passed`);
process.exit(fails ? 1 : 0);
