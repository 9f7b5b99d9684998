// jsonl.mjs -- small views of `llmtap query --json` output (one JSON object per line) for shell tests.
//   node jsonl.mjs csv COL,COL < rows.jsonl    each row's columns joined by commas (null -> empty)
//   node jsonl.mjs sum COL < rows.jsonl        the sum of a numeric column
//   node jsonl.mjs json COL < rows.jsonl       each row's column as compact JSON
import fs from 'node:fs';

const [cmd, cols] = process.argv.slice(2);
const rows = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
if (cmd === 'csv') for (const r of rows) console.log(cols.split(',').map((c) => r[c] ?? '').join(','));
else if (cmd === 'json') for (const r of rows) console.log(JSON.stringify(r[cols] ?? null));
else if (cmd === 'sum') console.log(rows.reduce((s, r) => s + Number(r[cols] ?? 0), 0));
else { console.error('usage: jsonl.mjs csv COLS | sum COL | json COL'); process.exit(2); }
