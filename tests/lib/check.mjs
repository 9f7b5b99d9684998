// check.mjs -- assertions for the Node side of the integration tests.
//
// Every check says what it expected and what it got, so a failing test
// names the record and the field instead of dying in a JSON parse. Files
// the tests read (the Logs Ingestion stand-in's accepted rows, --json
// output, ground truth) go through readJsonl/readJson, which fail with the
// file's name and a hint when it is missing, empty or not JSON.
import fs from 'node:fs';

export class Check {
  constructor(name) { this.name = name; this.pass = 0; this.fail = 0; }
  ok(cond, what, expected, got) {
    if (cond) { this.pass++; return true; }
    this.fail++;
    const detail = expected === undefined && got === undefined ? ''
      : `: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`;
    console.log(`FAIL ${this.name ? this.name + ': ' : ''}${what}${detail}`);
    return false;
  }
  eq(got, expected, what) { return this.ok(JSON.stringify(got) === JSON.stringify(expected), what, expected, got); }
  done() {
    console.log(`${this.pass} passed, ${this.fail} failed`);
    process.exit(this.fail ? 1 : 0);
  }
}

// Stops the test with a reason (not a stack trace).
export function die(msg) {
  console.log(`FAIL ${msg}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// One JSON value per line. An empty file is an error unless allowEmpty.
export function readJsonl(file, what, { allowEmpty = false, hint = '' } = {}) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { die(`${what}: cannot read ${file}: ${e.message}`); }
  const lines = text.split('\n').filter((l) => l.trim());
  if (!lines.length && !allowEmpty) die(`${what}: ${file} is empty (expected rows)${hint ? ' -- ' + hint : ''}`);
  return lines.map((l, i) => {
    try { return JSON.parse(l); } catch (e) { return die(`${what}: ${file} line ${i + 1} is not JSON (${e.message}): ${l.slice(0, 200)}`); }
  });
}

export function readJson(file, what) {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { return die(`${what}: ${file}: ${e.message}`); }
}

// The ground truth of every fixture listed (one path per line) in listFile.
export function readTruths(listFile) {
  return fs.readFileSync(listFile, 'utf8').trim().split('\n').flatMap((f) => readJson(f, 'ground truth'));
}
