#!/bin/bash
# live_e2e.sh -- `llmtap run` end to end on a live interface.
#
# Two network namespaces joined by a veth pair: the Azure OpenAI stand-in
# (HTTP/1.1 and HTTP/2) serves on one side; on the other, real clients (the
# openai SDK, curl, a pipelining socket, Node's http2 client) call it, and
# `llmtap run` (two capture workers: PACKET_FANOUT by flow hash) captures on
# that side's veth end and uploads continuously to
# the Logs Ingestion stand-in (in the same namespace, on its loopback).
# Checks: every call's records match the clients' ground truth field by
# field (compare.mjs); every record arrived at the stand-in while the agent
# ran; `llmtap status` and the Prometheus page agree with the counters the
# agent prints on SIGTERM; SIGTERM exits 0 with nothing pending; the agent
# ran as nobody with no capabilities.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/live/netns.sh
source tests/standins/lib.sh
source tests/live/agent.sh
tmp=$(mktemp -d); chmod 755 "$tmp"
AGENT_PID= AOAI2_PID=
cleanup() {
    set +e   # a failing kill must not end the cleanup early
    [ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null
    [ -n "$AOAI2_PID" ] && kill "$AOAI2_PID" 2>/dev/null
    aoai_stop; standin_stop; netns_teardown; rm -rf "$tmp"
}
trap cleanup EXIT
netns_setup

# the Logs Ingestion stand-in inside the client namespace (node runs there)
standin_start_in_client_ns "$tmp"

aoai_start "$tmp"; H1_PORT=$AOAI_PORT; H1_PID=$AOAI_PID
AOAI_PID=; aoai_start "$tmp" --h2; H2_PORT=$AOAI_PORT; AOAI2_PID=$AOAI_PID; AOAI_PID=$H1_PID

a=$tmp/agent
mkdir -p "$a"; LIVE_WORKERS=2 live_conf "$a/llmtap.conf"   # two capture workers joined by PACKET_FANOUT
agent_start "$a" --interface "$IF_CLI" --json
grep -E '^(Uid|CapEff|CapPrm|CapAmb)' "/proc/$AGENT_PID/status" | tee "$tmp/proc.txt"
uid=$(awk '/^Uid/{print $2}' "$tmp/proc.txt"); eff=$(awk '/^CapEff/{print $2}' "$tmp/proc.txt")
[ "$uid" = "$(id -u nobody)" ] || { echo "FAIL: agent uid: expected $(id -u nobody) (nobody), got $uid"; exit 1; }
[ "$eff" = 0000000000000000 ] || { echo "FAIL: agent CapEff: expected 0000000000000000, got $eff"; exit 1; }

clients() { LT_STANDIN_HOST=$IP_SRV LT_CLIENT_IP=$IP_CLI ip netns exec "$NS_CLI" node "$@"; }
for s in chat curl; do clients tests/fixtures/gen/clients.mjs "$s" "$H1_PORT" "$tmp/$s.truth.json"; done
clients tests/fixtures/gen/h2clients.mjs h2 "$H2_PORT" "$tmp/h2.truth.json"
node tests/live/check_live.mjs merge "$tmp/all.truth.json" "$tmp/chat.truth.json" "$tmp/curl.truth.json" "$tmp/h2.truth.json"
calls=$(jq length "$tmp/all.truth.json")
echo "clients made $calls calls"

# continuous upload: everything delivered while the agent keeps running
for _ in $(seq 300); do
    agent_status "$a" --json >"$tmp/status.json" 2>/dev/null || true
    llm=$(jq '.records.ApiManagementGatewayLlmLog // 0' "$tmp/status.json")
    pend=$(jq '.spool.pending // 1' "$tmp/status.json"); q=$(jq '.spool.writer_queued // 1' "$tmp/status.json")
    [ "$llm" -ge "$calls" ] && [ "$pend" = 0 ] && [ "$q" = 0 ] && break
    sleep 0.2
done
echo "status: $llm LLM records, $pend pending"
agent_status "$a" | tee "$tmp/status.txt"
# the parser memory budget is visible: its limit (default 512 MiB) and a high-water mark the calls raised
blim=$(jq '.capture.memory_budget.limit_bytes' "$tmp/status.json"); bhigh=$(jq '.capture.memory_budget.high_water_bytes' "$tmp/status.json")
[ "$blim" = 536870912 ] && [ "$bhigh" -gt 0 ] ||
    { echo "FAIL: status capture.memory_budget: expected limit 536870912 and a high-water mark > 0, got $blim and $bhigh"; exit 1; }
mport=$(jq '.agent.metrics_port' "$tmp/status.json")
ip netns exec "$NS_CLI" curl -sf "http://127.0.0.1:$mport/metrics" >"$tmp/metrics.txt" || { echo "FAIL: no Prometheus page on port $mport"; exit 1; }
cp "$ACCEPTED" "$tmp/accepted-before-stop.jsonl"

agent_stop
echo "agent stopped in ${AGENT_STOP_MS} ms with status $AGENT_RC"
[ "$AGENT_RC" = 0 ] || { echo "FAIL: SIGTERM exit status: expected 0, got $AGENT_RC"; tail -20 "$a/agent.err"; exit 1; }

node tests/tools/compare.mjs "$a/records.jsonl" "$tmp/all.truth.json" --secrets sk-test-key-0123456789
node tests/live/check_live.mjs uploaded "$a/records.jsonl" "$tmp/accepted-before-stop.jsonl"
node tests/live/check_live.mjs agree "$tmp/status.json" "$tmp/metrics.txt" "$a/agent.err"
left=$(sqlite3 "$a/spool/spool.db" "select count(*) from records where state = 0")
[ "$left" = 0 ] || { echo "FAIL: $left records pending in the spool after SIGTERM (expected 0)"; exit 1; }
mode=$(stat -c %a "$a/spool/spool.db"); dmode=$(stat -c '%a %U' "$a/spool")
[ "$mode" = 600 ] && [ "$dmode" = "700 nobody" ] || { echo "FAIL: spool mode: expected 600 in a 700 directory owned by nobody, got $mode in $dmode"; exit 1; }
if grep -q "sk-test-key" "$a/agent.err" "$a/spool/spool.db"; then echo "FAIL: the api-key appears in the log or spool"; exit 1; fi
echo "live_e2e: OK"
