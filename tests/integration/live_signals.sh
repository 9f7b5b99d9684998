#!/bin/bash
# live_signals.sh -- SIGHUP and SIGTERM of `llmtap run`.
#
# 1. The agent starts with an [upload] endpoint where nothing listens: the
#    calls' records are committed to the spool and stay pending.
# 2. The file now names the Logs Ingestion stand-in; SIGHUP: the agent
#    applies the new [upload] without a restart and delivers every record.
# 3. Back to the dead endpoint (SIGHUP), more calls, then SIGTERM: the agent
#    stops capturing, commits the spool, gives up its last upload attempt at
#    [agent] shutdown_deadline (3 s), and exits 0; every record of the new
#    calls is in the spool, pending, for the next start.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/live/netns.sh
source tests/standins/lib.sh
source tests/live/agent.sh
tmp=$(mktemp -d); chmod 755 "$tmp"
AGENT_PID=
cleanup() { set +e; [ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null; aoai_stop; standin_stop; netns_teardown; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
netns_setup
standin_start_in_client_ns "$tmp"
aoai_start "$tmp"
a=$tmp/agent; mkdir -p "$a"
good=https://127.0.0.1:$HTTPS_PORT dead=https://127.0.0.1:9   # port 9 (discard): nothing listens in the namespace
conf() { LIVE_ENDPOINT=$1 LIVE_RETRY_CAP=1s LIVE_DEADLINE=3s live_conf "$a/llmtap.conf"; }
conf "$dead"
agent_start "$a" --interface "$IF_CLI" --json
clients() { LT_STANDIN_HOST=$IP_SRV LT_CLIENT_IP=$IP_CLI ip netns exec "$NS_CLI" node "$@"; }
wait_records() { # N: until the agent produced N LLM records and committed them all
    for _ in $(seq 300); do
        agent_status "$a" --json >"$tmp/status.json" 2>/dev/null || true
        [ "$(jq '.records.ApiManagementGatewayLlmLog // 0' "$tmp/status.json")" -ge "$1" ] &&
            [ "$(jq '.spool.writer_queued // 1' "$tmp/status.json")" = 0 ] && return 0
        sleep 0.2
    done
    fail "expected $1 LLM records in the agent's status, got $(jq '.records.ApiManagementGatewayLlmLog' "$tmp/status.json")"
}
clients tests/fixtures/gen/clients.mjs chat "$AOAI_PORT" "$tmp/chat.truth.json"
n1=$(jq length "$tmp/chat.truth.json"); wait_records "$n1"
pending=$(sqlite3 "$a/spool/spool.db" "select count(*) from records where state = 0")
[ "$pending" = $((2 * n1)) ] || fail "dead endpoint: expected $((2 * n1)) records pending in the spool, got $pending"
[ ! -s "$ACCEPTED" ] || fail "dead endpoint: nothing should have been accepted, got $(wc -l <"$ACCEPTED") rows"
age=$(jq '.spool.oldest_pending_age_s' "$tmp/status.json")
[ "$age" -ge 0 ] 2>/dev/null || fail "dead endpoint: expected the status to give the oldest pending record's age, got '$age'"
echo "1. dead endpoint: $pending records committed and pending, the oldest for ${age} s"

conf "$good"; kill -HUP "$AGENT_PID"
for _ in $(seq 150); do   # the spool's count and the upload run's report (token expiry) land moments apart
    agent_status "$a" --json >"$tmp/status.json"
    [ "$(jq '.spool.pending' "$tmp/status.json")" = 0 ] && [ "$(jq '.upload.token_expires // 0' "$tmp/status.json")" != 0 ] &&
        break
    sleep 0.2
done
[ "$(jq -r '.upload.endpoint' "$tmp/status.json")" = "$good" ] || fail "after SIGHUP: expected upload endpoint $good, got $(jq -r .upload.endpoint "$tmp/status.json")"
[ "$(jq '.spool.pending' "$tmp/status.json")" = 0 ] || fail "after SIGHUP: expected 0 pending, got $(jq .spool.pending "$tmp/status.json")"
node tests/live/check_live.mjs uploaded "$a/records.jsonl" "$ACCEPTED"
exp=$(jq '.upload.token_expires' "$tmp/status.json"); now=$(( $(date +%s) + ${LLMTAP_CLOCK_OFFSET:-0} ))
[ "$exp" -gt "$now" ] 2>/dev/null || fail "after delivery: expected the status to give a token expiry after $now, got '$exp'"
echo "2. SIGHUP applied the new endpoint; every record delivered; token valid for $((exp - now)) s"

conf "$dead"; kill -HUP "$AGENT_PID"
for _ in $(seq 50); do agent_status "$a" --json >"$tmp/status.json"; [ "$(jq -r .upload.endpoint "$tmp/status.json")" = "$dead" ] && break; sleep 0.1; done
before=$(wc -l <"$a/records.jsonl")
clients tests/fixtures/gen/clients.mjs curl "$AOAI_PORT" "$tmp/curl.truth.json"
n2=$(jq length "$tmp/curl.truth.json"); wait_records $((n1 + n2))
agent_stop
echo "SIGTERM: exit status $AGENT_RC after ${AGENT_STOP_MS} ms (shutdown_deadline 3 s)"
[ "$AGENT_RC" = 0 ] || fail "SIGTERM: expected exit status 0, got $AGENT_RC"
[ "$AGENT_STOP_MS" -lt 15000 ] || fail "SIGTERM: expected the last upload attempt to end by the 3 s deadline, the agent took ${AGENT_STOP_MS} ms"
grep -q 'last attempt before exit' "$a/agent.err" || grep -q 'SIGTERM\|Terminated' "$a/agent.err" || fail "no shutdown line in the log"
new=$(( $(wc -l <"$a/records.jsonl") - before ))
pending=$(sqlite3 "$a/spool/spool.db" "select count(*) from records where state = 0")
[ "$pending" = "$new" ] || fail "after SIGTERM: expected the $new records of the new calls committed and pending, got $pending pending"
node tests/tools/compare.mjs <(tail -n "$new" "$a/records.jsonl") "$tmp/curl.truth.json" --secrets sk-test-key-0123456789
echo "3. SIGTERM: exit 0 within the deadline, $pending records committed for the next start"
echo "live_signals: OK"
