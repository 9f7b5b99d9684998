// kql-extract.mjs -- writes every KQL query of the given files to OUTDIR/<file>_<n>.kql, one query per
// file, so tests can run each one through `llmtap query` or the Kusto analyzer.
//
//   .kql   queries separated by a line holding only //--- (as tests/tools/kqlcheck.mjs reads them)
//   .md    every ```kql / ```kusto fenced block, except those marked `nocheck`
//   .json  an Azure Workbook (packaging/azure/workbook.json): the query of every KqlItem, including
//          those in groups, with the workbook's parameters ({TimeRange}, {Deployment}, ...) replaced by
//          values Log Analytics would substitute (--params FILE.json maps name -> text; the defaults
//          below otherwise); with --names, OUTDIR/<file>_<n>.name holds the item's name.
//
// usage: node kql-extract.mjs OUTDIR FILE... [--params P.json]
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const pi = args.indexOf('--params');
const params = {
  TimeRange: '>= ago(7d)', 'TimeRange:start': 'ago(7d)', 'TimeRange:end': 'now()', Deployment: "'gpt-4o'",
  Consumer: "'ae9a4bb8b08b'", CorrelationId: '00000000-0000-0000-0000-000000000000',
  ...(pi >= 0 ? JSON.parse(fs.readFileSync(args.splice(pi, 2)[1], 'utf8')) : {}),
};
const [outDir, ...files] = args;
if (!outDir || !files.length) { console.error('usage: kql-extract.mjs OUTDIR FILE... [--params P.json]'); process.exit(2); }

function fromKql(text) {
  return text.split(/^\/\/---[ \t]*$/m).filter((q) => q.replace(/\/\/.*$/gm, '').trim());
}

function fromMarkdown(text) {
  const out = [];
  const re = /^(```|~~~)[ \t]*(kql|kusto)\b([^\n]*)\n([\s\S]*?)^\1[ \t]*$/gm;
  for (let m; (m = re.exec(text));) if (!/\bnocheck\b/i.test(m[3])) out.push(m[4]);
  return out;
}

// Replaces {Name} and {Name:part} the way a workbook does before sending the query.
export function substitute(query, values) {
  return query.replace(/\{([A-Za-z][A-Za-z0-9_]*(?::[A-Za-z]+)?)\}/g, (all, name) => {
    if (!(name in values)) throw new Error(`workbook parameter {${name}} has no test value`);
    return values[name];
  });
}

function workbookItems(items, out) {
  for (const it of items || []) {
    if (it.type === 3 && it.content && it.content.query) out.push({ name: it.name, query: it.content.query });
    if (it.content && it.content.items) workbookItems(it.content.items, out);
    if (it.type === 9 && it.content && it.content.parameters)
      for (const p of it.content.parameters) if (p.query) out.push({ name: `param-${p.name}`, query: p.query });
  }
  return out;
}

function fromWorkbook(text) {
  return workbookItems(JSON.parse(text).items, []).map((i) => substitute(i.query, params));
}

fs.mkdirSync(outDir, { recursive: true });
let n = 0;
for (const f of files) {
  const text = fs.readFileSync(f, 'utf8');
  const base = path.basename(f).replace(/\.[^.]+$/, '');
  const queries = f.endsWith('.md') ? fromMarkdown(text) : f.endsWith('.json') ? fromWorkbook(text) : fromKql(text);
  queries.forEach((q, i) => { fs.writeFileSync(path.join(outDir, `${base}_${i}.kql`), q.trim() + '\n'); n++; });
}
console.log(`${n} queries from ${files.length} files`);
