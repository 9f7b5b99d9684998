// workbook-check.mjs -- structural checks of packaging/azure/workbook.json and of its place in
// main.bicep that do not need Azure or the Bicep CLI: a Notebook/1.0 document; every query item a
// Log Analytics query with a unique name, a title and the time-range context; every {Parameter} a
// query uses declared by the parameter block or exported by a grid; the views the issue asks for
// present; the file within loadTextContent's 131072-character limit; main.bicep deploying it only
// when deployWorkbook is set, from the file next to it, with the table names substituted.
//
// usage: node workbook-check.mjs workbook.json main.bicep      (exit 1 on any failure)
import fs from 'node:fs';
import path from 'node:path';

const [wbFile, bicepFile] = process.argv.slice(2);
let fails = 0;
const check = (ok, what, got) => { if (!ok) { fails++; console.log(`FAIL ${what}${got === undefined ? '' : `: got ${JSON.stringify(got)}`}`); } };

const text = fs.readFileSync(wbFile, 'utf8');
const wb = JSON.parse(text);
check(wb.version === 'Notebook/1.0', 'version Notebook/1.0', wb.version);
check(text.length <= 131072, 'workbook.json within the 131072 characters loadTextContent accepts', text.length);
const all = [];
(function walk(items) { for (const it of items || []) { all.push(it); if (it.content && it.content.items) walk(it.content.items); } })(wb.items);
const queries = all.filter((i) => i.type === 3);
const params = all.filter((i) => i.type === 9).flatMap((i) => i.content.parameters || []);
const declared = new Set([...params.map((p) => p.name), ...queries.map((q) => q.content.exportParameterName).filter(Boolean)]);
const names = all.map((i) => i.name);
check(new Set(names).size === names.length && names.every(Boolean), 'every item has a unique name', names);
for (const p of ['TimeRange', 'Deployment', 'Consumer']) check(params.some((x) => x.name === p), `parameter ${p} declared`);
for (const q of queries) {
  const c = q.content;
  check(c.version === 'KqlItem/1.0' && c.queryType === 0 && c.resourceType === 'microsoft.operationalinsights/workspaces', `${q.name}: a Log Analytics query`, c);
  check(Boolean(c.title), `${q.name}: has a title`);
  check(c.timeContextFromParameter === 'TimeRange' && /\{TimeRange\}/.test(c.query), `${q.name}: follows the time-range picker`);
  for (const m of c.query.matchAll(/\{([A-Za-z]\w*)(?::\w+)?\}/g)) check(declared.has(m[1]), `${q.name}: parameter {${m[1]}} is declared`);
}
const want = { 'tokens per day per deployment': /bin\(CallTime, 1d\), DeploymentName/, 'tokens per caller IP': /by CallerIpAddress/,
  'tokens per key': /by KeyFingerprint/, 'latency p50/p95/p99 and TTFT': /percentile\(DurationMs, 99\)[\s\S]*TimeToFirstTokenMs/,
  '403 audit': /ResponseCode == 403[\s\S]*LastErrorReason/, '429 by backend/consumer with Retry-After': /ResponseCode == 429[\s\S]*RetryAfter[\s\S]*BackendId/,
  'incomplete records by reason': /Complete == false[\s\S]*by IncompleteReason/, 'one call reassembled from its chunks': /strcat_array\(make_list_if[\s\S]*CorrelationId/ };
for (const [what, re] of Object.entries(want)) check(queries.some((q) => re.test(q.content.query)), `a view: ${what}`);

const bicep = fs.readFileSync(bicepFile, 'utf8');
check(/^param deployWorkbook bool = false$/m.test(bicep), 'main.bicep: optional parameter deployWorkbook = false');
const res = bicep.match(/resource workbook 'Microsoft\.Insights\/workbooks@[\d-]+' = if \(deployWorkbook\) \{[\s\S]*?\n\}/);
check(Boolean(res), 'main.bicep: a Microsoft.Insights/workbooks resource under if (deployWorkbook)');
const load = res && res[0].match(/loadTextContent\('([^']+)'\)/);
check(load && fs.existsSync(path.join(path.dirname(bicepFile), load[1])) && path.resolve(path.dirname(bicepFile), load[1]) === path.resolve(wbFile),
  'main.bicep: serializedData loads workbook.json from beside it', load && load[1]);
check(res && /sourceId: workspace\.id/.test(res[0]) && /llmTableName/.test(res[0]) && /gatewayTableName/.test(res[0]),
  'main.bicep: workbook on the workspace, table names substituted');
console.log(`${queries.length} query items, ${params.length} parameters: ${fails ? `${fails} failure(s)` : 'ok'}`);
process.exit(fails ? 1 : 0);
