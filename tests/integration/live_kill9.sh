#!/bin/bash
# live_kill9.sh -- `kill -9` of the live agent, 20 times, and what it loses.
#
# Clients call the Azure OpenAI stand-in across the veth while the agent
# captures and uploads; the agent is killed with SIGKILL and started again on
# the same spool. Kills alternate between two kinds:
#   - live (odd kills): at a random moment (0.5 to 4 s after a start, seeded,
#     so a failure can be replayed) during traffic;
#   - quiescent (even kills): the client loop is paused (a flag file; the
#     loop answers with the generation it saw once its call is over), and
#     `llmtap status --json` is read until it stops changing. What is in
#     flight then is spool.writer_queued (records produced but not yet
#     committed) plus spool.writer_dropped (refused by a full queue; 0 here);
#     the records of that run (its --json output, by RecordId) absent from
#     the spool after the kill must be exactly that many, and the run's
#     --json lines exactly records.ApiManagementGatewayLlmLog +
#     records.ApiManagementGatewayLogs of the status. Every other quiescent
#     kill (kills 4, 8, ...) first holds the spool's write lock (sqlite3
#     BEGIN IMMEDIATE, shorter than the writer's 5 s busy timeout) while one
#     more client run makes records: they wait in the writer's queue, the
#     status must say so (in flight > 0) and the kill must lose exactly them.
# At the end one clean run drains the spool, and every record ever committed
# must have arrived at the Logs Ingestion stand-in (at least once).
# KILLS (default 20) and KILL_SEED (default 4242) can be set.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
KILLS=${KILLS:-20}
RANDOM=${KILL_SEED:-4242}
source tests/live/netns.sh
source tests/standins/lib.sh
source tests/live/agent.sh
tmp=$(mktemp -d); chmod 755 "$tmp"
AGENT_PID= CPID= HOLD_PID=
cleanup() {
    set +e   # a failing kill must not end the cleanup early
    [ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null
    [ -n "$HOLD_PID" ] && { touch "$tmp/release"; kill "$HOLD_PID" 2>/dev/null; }
    [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
    aoai_stop; standin_stop; netns_teardown; rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
netns_setup
standin_start_in_client_ns "$tmp"
aoai_start "$tmp"
a=$tmp/agent; mkdir -p "$a"; live_conf "$a/llmtap.conf"
db=$a/spool/spool.db
committed() { sqlite3 "$db" "select tbl, json_extract(json, '\$.CorrelationId'), coalesce(json_extract(json, '\$.RecordId'), '') from records" 2>/dev/null || true; }
: >"$tmp/committed.txt"
# Pausing: the test writes a generation number to $tmp/pause; the loop, between
# calls, answers with the same number in $tmp/paused and waits while paused.
client_loop() {
    set +e   # runs in the background: the test may remove the pause file under it, which must not end the loop
    local i=0
    while [ ! -e "$tmp/stop" ]; do
        if [ -e "$tmp/pause" ]; then
            cp "$tmp/pause" "$tmp/paused.tmp" 2>/dev/null && mv "$tmp/paused.tmp" "$tmp/paused"
            sleep 0.1; continue
        fi
        i=$((i + 1))
        LT_STANDIN_HOST=$IP_SRV LT_CLIENT_IP=$IP_CLI ip netns exec "$NS_CLI" node tests/fixtures/gen/clients.mjs \
            chat "$AOAI_PORT" "$tmp/truth.$i.json" >/dev/null 2>&1 || true
    done
}
# The status numbers that move with traffic, on one line.
status_line() {
    agent_status "$a" --json 2>/dev/null | jq -r '[.records.ApiManagementGatewayLlmLog + .records.ApiManagementGatewayLogs,
        .spool.writer_queued, .spool.writer_dropped, .counters.http_exchanges, .counters.tcp_flows] | @tsv' 2>/dev/null || true
}
# Pauses the clients and waits until two status reads 0.5 s apart agree.
quiesce() {
    local gen=$1 prev= now=
    echo "$gen" >"$tmp/pause"
    for _ in $(seq 600); do [ "$(cat "$tmp/paused" 2>/dev/null)" = "$gen" ] && break; sleep 0.1; done
    [ "$(cat "$tmp/paused" 2>/dev/null)" = "$gen" ] || fail "kill $gen: the client loop did not pause within 60 s"
    for _ in $(seq 60); do
        now=$(status_line)
        [ -n "$now" ] && [ "$now" = "$prev" ] && { QUIET=$now; return 0; }
        prev=$now; sleep 0.5
    done
    fail "kill $gen: the status did not settle within 30 s (last: $now)"
}
# One client run, from the test itself (the loop stays paused).
client_once() {
    LT_STANDIN_HOST=$IP_SRV LT_CLIENT_IP=$IP_CLI ip netns exec "$NS_CLI" node tests/fixtures/gen/clients.mjs \
        chat "$AOAI_PORT" "$tmp/truth.held.$1.json" >/dev/null 2>&1 || true
}
# Takes the spool's write lock (the agent's writer then waits in SQLite's busy
# handler, its records queued in memory) until $tmp/release exists.
hold_spool() {
    rm -f "$tmp/locked" "$tmp/release"
    { printf '.bail on\n.timeout 5000\nBEGIN IMMEDIATE;\n.shell touch %s/locked\n' "$tmp"
      while [ ! -e "$tmp/release" ]; do sleep 0.1; done; echo 'ROLLBACK;'; } | sqlite3 "$db" >/dev/null 2>&1 &
    HOLD_PID=$!
    for _ in $(seq 100); do [ -e "$tmp/locked" ] && return 0; sleep 0.1; done
    fail "could not take the spool's write lock within 10 s"
}
release_spool() { touch "$tmp/release"; wait "$HOLD_PID" 2>/dev/null || true; HOLD_PID=; }
# Records of this run (RecordId of its --json lines) absent from the spool.
lost_records() {
    jq -r '.RecordId' "$a/records.jsonl" | sort -u >"$tmp/produced.ids"
    sqlite3 "$db" "select json_extract(json, '\$.RecordId') from records" 2>/dev/null | sort -u >"$tmp/spool.ids"
    comm -23 "$tmp/produced.ids" "$tmp/spool.ids" | grep -c . || true
}
client_loop &
CPID=$!
quiet_kills=0 quiet_inflight=0
for k in $(seq "$KILLS"); do
    : >"$a/records.jsonl"
    agent_start "$a" --interface "$IF_CLI" --json
    ms=$((500 + RANDOM % 3500))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    if [ $((k % 2)) = 0 ]; then
        quiesce "$k"
        kind=quiescent
        if [ $((k % 4)) = 0 ]; then
            kind="quiescent, spool locked during one more client run"
            hold_spool; client_once "$k"; quiesce "$k"
        fi
        read -r st_produced st_queued st_dropped _ _ <<<"$QUIET"
        inflight=$((st_queued + st_dropped))
        kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=
        [ -z "$HOLD_PID" ] || release_spool
        rm -f "$tmp/pause"
        [ "$kind" = quiescent ] || [ "$inflight" -gt 0 ] ||
            fail "kill $k: expected records in flight while the spool was locked, the status said $inflight"
        committed >>"$tmp/committed.txt"
        produced=$(grep -c . "$a/records.jsonl" || true)
        lost=$(lost_records)
        echo "kill $k ($kind, after ${ms} ms of traffic): $produced records produced this run," \
             "status said $inflight in flight (writer_queued $st_queued, writer_dropped $st_dropped), $lost lost"
        [ "$produced" = "$st_produced" ] ||
            fail "kill $k: expected the run's --json lines to equal the status' records produced ($st_produced), got $produced"
        [ "$lost" = "$inflight" ] ||
            fail "kill $k: expected the records lost by the kill to be what the status said was in flight ($inflight), got $lost"
        quiet_kills=$((quiet_kills + 1)); quiet_inflight=$((quiet_inflight + inflight))
    else
        kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=
        committed | tee -a "$tmp/committed.txt" >"$tmp/now.txt"
        produced=$(grep -c . "$a/records.jsonl" || true)
        echo "kill $k (live, at ${ms} ms): $produced records produced this run, $(lost_records) of them not committed," \
             "$(wc -l <"$tmp/now.txt") in the spool"
    fi
done
[ "$KILLS" -lt 2 ] || [ "$quiet_kills" -gt 0 ] || fail "no quiescent kill was checked"
touch "$tmp/stop"; wait "$CPID" 2>/dev/null || true; CPID=
sort -u "$tmp/committed.txt" >"$tmp/committed.u.txt"
total=$(wc -l <"$tmp/committed.u.txt")
echo "after $KILLS kills: $total distinct records committed; $quiet_kills quiescent kills lost exactly what the status said was in flight ($quiet_inflight in all); a clean run drains the spool"
: >"$a/records.jsonl"
agent_start "$a" --interface "$IF_CLI"
for _ in $(seq 300); do
    agent_status "$a" --json >"$tmp/status.json" 2>/dev/null || true
    [ "$(jq '.spool.pending // 1' "$tmp/status.json")" = 0 ] && break; sleep 0.2
done
agent_stop
[ "$AGENT_RC" = 0 ] || fail "final run: SIGTERM exit status expected 0, got $AGENT_RC"
left=$(sqlite3 "$db" "select count(*) from records where state = 0")
[ "$left" = 0 ] || fail "final run: expected 0 records pending, got $left"
[ "$total" -gt 0 ] || fail "no record was committed in $KILLS runs"
node tests/live/check_live.mjs committed "$tmp/committed.u.txt" "$ACCEPTED"
echo "live_kill9: OK"
