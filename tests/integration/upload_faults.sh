#!/bin/bash
# Upload under faults, against the strict stand-in:
#  - 429 with Retry-After and 503 answers are retried until accepted;
#  - a service limit below our batch size (413) makes batches split;
#  - one poison record is quarantined with the service's error text, the rest arrive;
#  - tokens that expire mid-run are refreshed;
#  - a 20 s outage (connections dropped) is ridden out, nothing lost;
#  - prompts of 1 KB, 100 KB and 5 MB of multi-byte text are chunked into rows of at
#    most 32 KB (escaped), reassemble exactly, and 5 MB is capped at 2 MB and flagged;
#  - every auth method obtains a token: IMDS, App Service, Azure Arc, workload identity,
#    client secret, client certificate.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
standin_start "$tmp/s"
fails=0; checks=0
t() { checks=$((checks + 1)); if eval "$2"; then :; else fails=$((fails + 1)); echo "FAIL: $1"; fi; }
# now on llmtap's clock (LLMTAP_CLOCK_OFFSET), in µs: when a row entered the spool
spool_now() { echo "$(( $(date +%s) + ${LLMTAP_CLOCK_OFFSET:-0} ))000000"; }
pending() { sqlite3 "$1" "select count(*) from records where state = 0"; }
fresh_spool() { rm -f "$1"*; "$LLMTAP" replay tests/fixtures/http1/chat.pcap --db "$1" -q; "$LLMTAP" replay tests/fixtures/http1/errors.pcap --db "$1" -q; }
accepted_ids() { node tests/standins/check_upload.mjs ids "$ACCEPTED"; }

# retries: 429 (Retry-After), 503, 429
write_conf "$tmp/c.conf" client_secret
fresh_spool "$tmp/a.db"; : >"$ACCEPTED"
control '{"fail":[{"status":429,"retryAfter":1},{"status":503},{"status":429,"retryAfter":0}]}'
"$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/a.db" 2>"$tmp/err"; rc=$?
t "retries: exit 0" '[ $rc = 0 ]'
t "retries: all delivered" '[ "$(pending "$tmp/a.db")" = 0 ]'
t "retries: counted" 'grep -Eq "upload_retries +3" "$tmp/err"'
t "retries: each record accepted once" '[ "$(accepted_ids)" = "$(sqlite3 "$tmp/a.db" "select count(*) from records")" ]'

# 413: the service limit is below our batch size
write_conf "$tmp/c.conf" client_secret
fresh_spool "$tmp/b.db"; : >"$ACCEPTED"
control '{"limit":1500}'
"$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/b.db" 2>"$tmp/err"; rc=$?
control '{"limit":1048576}'
t "413: batches split, all delivered" '[ $rc = 0 ] && [ "$(pending "$tmp/b.db")" = 0 ]'
t "413: several batches" '[ "$(grep -E "upload_batches" "$tmp/err" | awk "{print \$2}")" -gt 2 ]'

# poison record
fresh_spool "$tmp/p.db"; : >"$ACCEPTED"
sqlite3 "$tmp/p.db" "insert into records (tbl,id,time,json,bytes,created) values (1,'poison',$(date +%s%6N),'{\"TimeGenerated\":\"2026-11-22T00:00:00Z\",\"RecordId\":\"poison\",\"Url\":\"POISON-RECORD\"}',80,$(spool_now))"
"$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/p.db" 2>"$tmp/err"; rc=$?
t "poison: run completes" '[ $rc = 0 ]'
t "poison: quarantined with the error text" '[ "$(sqlite3 "$tmp/p.db" "select count(*) from records where state = 2 and id = '"'poison'"' and error like '"'%poison marker%'"'")" = 1 ]'
t "poison: the rest arrived" '[ "$(accepted_ids)" = "$(( $(sqlite3 "$tmp/p.db" "select count(*) from records") - 1 ))" ]'
t "poison: logged" 'grep -q "quarantined" "$tmp/err"'

# token expiring mid-run (2 s tokens, a run stretched by retries)
write_conf "$tmp/t.conf" client_secret "batch_max_bytes = 4000"
fresh_spool "$tmp/t.db"; : >"$ACCEPTED"
before=$(stats | node tests/standins/check_upload.mjs tokens -)
control '{"tokenTtl":2,"fail":[{"status":503,"retryAfter":2},{"status":503,"retryAfter":2},{"status":503,"retryAfter":2}]}'
"$LLMTAP" upload --config "$tmp/t.conf" --db "$tmp/t.db" 2>"$tmp/err"; rc=$?
after=$(stats | node tests/standins/check_upload.mjs tokens -)
control '{"tokenTtl":3600}'
t "token expiry: delivered" '[ $rc = 0 ] && [ "$(pending "$tmp/t.db")" = 0 ]'
t "token expiry: refreshed" '[ $((after - before)) -ge 2 ]'

# outage: connections dropped for a while, then back
fresh_spool "$tmp/o.db"; : >"$ACCEPTED"
control '{"down":true}'
( sleep 6; control '{"down":false}' ) & revive=$!
"$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/o.db" 2>"$tmp/err"; rc=$?
wait "$revive"
t "outage: ridden out" '[ $rc = 0 ] && [ "$(pending "$tmp/o.db")" = 0 ]'
t "outage: nothing lost" '[ "$(accepted_ids)" = "$(sqlite3 "$tmp/o.db" "select count(*) from records")" ]'

# large prompts with multi-byte text
rm -f "$tmp/big.db"*
"$LLMTAP" replay tests/fixtures/http1/chat.pcap --db "$tmp/big.db" -q
node tests/standins/check_upload.mjs bigmake "$tmp/big.db" "$tmp"
: >"$ACCEPTED"
"$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/big.db" 2>"$tmp/err"; rc=$?
t "big prompts: delivered" '[ $rc = 0 ] && [ "$(pending "$tmp/big.db")" = 0 ]'
node tests/standins/check_upload.mjs bigcheck "$ACCEPTED" "$tmp"; rc=$?
t "big prompts: chunks <= 32 KB, reassemble exactly, 5 MB capped and flagged, tokens on row 0 only" '[ $rc = 0 ]'

# every auth method
for auth in managed_identity:imds managed_identity:appservice managed_identity:arc workload_identity client_secret client_certificate; do
    kind=${auth%%:*}; variant=${auth#*:}
    write_conf "$tmp/auth.conf" "$kind" "max_retry = 5"
    fresh_spool "$tmp/auth.db"
    env_args=(-u IDENTITY_ENDPOINT -u IDENTITY_HEADER -u IMDS_ENDPOINT -u AZURE_FEDERATED_TOKEN_FILE)
    case $variant in
        appservice) env_args+=(IDENTITY_ENDPOINT="http://127.0.0.1:$HTTP_PORT/msi/token" IDENTITY_HEADER=identity-header-secret) ;;
        arc) env_args+=(IDENTITY_ENDPOINT="http://127.0.0.1:$HTTP_PORT/arc/token" IMDS_ENDPOINT="http://127.0.0.1:$HTTP_PORT") ;;
        workload_identity) env_args+=(AZURE_FEDERATED_TOKEN_FILE="$tmp/s/federated.jwt") ;;
    esac
    env "${env_args[@]}" "$LLMTAP" upload --config "$tmp/auth.conf" --db "$tmp/auth.db" 2>"$tmp/err"; rc=$?
    [ $rc = 0 ] || tail -4 "$tmp/err"
    t "auth $auth" '[ $rc = 0 ] && [ "$(pending "$tmp/auth.db")" = 0 ]'
done
echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
