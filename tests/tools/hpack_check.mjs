// hpack_check.mjs -- the HTTP/2 parser's decoded streams (h2feed output)
// against the header sets python3-hpack encoded.
//   node hpack_check.mjs EXPECTED.json GOT.jsonl CHUNK
import { Check, readJson, readJsonl } from '../lib/check.mjs';

const [wantFile, gotFile, chunk] = process.argv.slice(2);
const c = new Check(`hpack chunk ${chunk}`);
const want = readJson(wantFile, 'encoded header sets');
const got = readJsonl(gotFile, 'h2feed output').sort((a, b) => a.stream - b.stream);
c.eq(got.length, want.length, 'streams decoded');
want.forEach((w, i) => {
  const g = got[i] || {};
  c.eq({ stream: g.stream, path: g.path, status: g.status, incomplete: g.incomplete, headers: g.headers },
    { stream: w.stream, path: w.path, status: 200, incomplete: 0, headers: w.headers }, `stream ${w.stream}`);
});
c.done();
