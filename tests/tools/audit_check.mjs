// audit_check.mjs -- the 403/429 audit: the gateway records with ResponseCode
// 403 or 429 (from `llmtap replay --json`) must be exactly the blocked and
// throttled calls of the ground truth, each with its caller and its reason.
//   node audit_check.mjs RECORDS.jsonl TRUTH_LIST
import { Check, readJsonl, readTruths } from '../lib/check.mjs';

const [recFile, truthList] = process.argv.slice(2);
const c = new Check('403/429 audit');
const recs = readJsonl(recFile, 'llmtap replay --json output');
const truth = readTruths(truthList);
const key = (code, ip, reason) => `${code}|${ip}|${reason}`;
const want = truth.filter((t) => [403, 429].includes(t.gateway.ResponseCode))
  .map((t) => key(t.gateway.ResponseCode, t.gateway.CallerIpAddress ?? '127.0.0.1', t.gateway.LastErrorReason)).sort();
const got = recs.filter((r) => r.Table === 'ApiManagementGatewayLogs' && [403, 429].includes(r.ResponseCode))
  .map((r) => key(r.ResponseCode, r.CallerIpAddress, r.LastErrorReason)).sort();
c.ok(want.length > 0, 'the ground truth has blocked or throttled calls');
c.eq(got, want, `blocked/throttled calls (code|caller|reason), ${want.length} expected`);
c.done();
