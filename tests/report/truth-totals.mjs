// truth-totals.mjs -- "Requests,TotalTokens" over the LLM calls of the given ground-truth files
// (tests/fixtures/*/X.truth.json), the figure a tokens query over the whole capture must show.
import fs from 'node:fs';

const calls = process.argv.slice(2).flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8'))).filter((t) => t.llm);
console.log(`${calls.length},${calls.reduce((s, t) => s + Number(t.llm.TotalTokens ?? 0), 0)}`);
