#!/bin/bash
# live_vxlan.sh -- `llmtap run` on mirrored traffic delivered in VXLAN, as
# Azure virtual network TAP delivers it.
#
# The two namespaces of the live test are joined by a veth "underlay"; Linux
# vxlan devices (VNI 42, UDP 4789) carry an overlay across it. The Azure
# OpenAI stand-in serves on the overlay address, the clients call it over
# the overlay, and the agent captures the UNDERLAY veth, where every packet
# is VXLAN-encapsulated. Checks: records match the clients' ground truth
# field by field (HTTP/1.1 and HTTP/2), the inner flows were tracked by
# inner addresses (CallerIpAddress is the overlay client, never the underlay), every packet was
# counted as decapsulated, every record was uploaded.
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
vxlan_setup

standin_start_in_client_ns "$tmp"

AOAI_HOST=$OV_SRV
aoai_start "$tmp"; H1_PORT=$AOAI_PORT; H1_PID=$AOAI_PID
AOAI_PID=; aoai_start "$tmp" --h2; H2_PORT=$AOAI_PORT; AOAI2_PID=$AOAI_PID; AOAI_PID=$H1_PID

a=$tmp/agent
mkdir -p "$a"; live_conf "$a/llmtap.conf"
agent_start "$a" --interface "$IF_CLI" --json

clients() { LT_STANDIN_HOST=$OV_SRV LT_CLIENT_IP=$OV_CLI ip netns exec "$NS_CLI" node "$@"; }
clients tests/fixtures/gen/clients.mjs chat "$H1_PORT" "$tmp/chat.truth.json"
clients tests/fixtures/gen/h2clients.mjs h2 "$H2_PORT" "$tmp/h2.truth.json"
node tests/live/check_live.mjs merge "$tmp/all.truth.json" "$tmp/chat.truth.json" "$tmp/h2.truth.json"
calls=$(jq length "$tmp/all.truth.json")
for _ in $(seq 300); do
    agent_status "$a" --json >"$tmp/status.json" 2>/dev/null || true
    llm=$(jq '.records.ApiManagementGatewayLlmLog // 0' "$tmp/status.json")
    pend=$(jq '.spool.pending // 1' "$tmp/status.json"); q=$(jq '.spool.writer_queued // 1' "$tmp/status.json")
    [ "$llm" -ge "$calls" ] && [ "$pend" = 0 ] && [ "$q" = 0 ] && break
    sleep 0.2
done
cp "$ACCEPTED" "$tmp/accepted.jsonl"
agent_stop
[ "$AGENT_RC" = 0 ] || { echo "FAIL: SIGTERM exit status: expected 0, got $AGENT_RC"; tail -20 "$a/agent.err"; exit 1; }
echo "clients made $calls calls over the overlay; agent counters:"
grep -E 'vxlan_packets|packets read|tunnel_errors|llm_records' "$a/agent.err" || true

node tests/tools/compare.mjs "$a/records.jsonl" "$tmp/all.truth.json" --secrets sk-test-key-0123456789
node tests/live/check_live.mjs uploaded "$a/records.jsonl" "$tmp/accepted.jsonl"
vx=$(jq '.counters.vxlan_packets' "$tmp/status.json"); tcp_pk=$(jq '.counters.packets' "$tmp/status.json")
[ "$vx" -gt 0 ] || { echo "FAIL: counters.vxlan_packets: expected > 0 (the capture is all VXLAN), got $vx"; exit 1; }
nonvx=$(jq '[.counters.packets_non_tcp, .counters.tunnel_errors] | add' "$tmp/status.json")
echo "packets $tcp_pk, decapsulated $vx, non-TCP or bad tunnel $nonvx"
ov=$(jq -r 'select(.Table=="ApiManagementGatewayLogs") | .CallerIpAddress' "$a/records.jsonl" | sort -u | tr '\n' ' ')
case " $ov" in *" $OV_CLI "*) ;; *) echo "FAIL: CallerIpAddress of gateway records: expected the overlay client $OV_CLI among them, got: $ov"; exit 1 ;; esac
case " $ov" in *" $IP_CLI "*) echo "FAIL: CallerIpAddress $IP_CLI is the underlay (outer) address: the flow was not tracked by inner addresses"; exit 1 ;; esac
echo "live_vxlan: OK"
