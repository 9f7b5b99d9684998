#!/bin/bash
# live_kill9.sh -- `kill -9` of the live agent at random points, 20 times.
#
# Clients call the Azure OpenAI stand-in across the veth without pause
# while the agent captures and uploads; at a random moment (0.5 to 4 s
# after a start, seeded, so a failure can be replayed) the agent is killed
# with SIGKILL and started again on the same spool. After each kill the records committed to the
# spool are read. At the end one clean run drains the spool, and every
# record ever committed must have arrived at the Logs Ingestion stand-in
# (at least once). What a kill loses is what was only in memory: the
# exchanges still open in the pipeline and the writer's queue; the test
# prints, per kill, records produced (--json) versus committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
KILLS=${KILLS:-20}
RANDOM=${KILL_SEED:-4242}
source tests/live/netns.sh
source tests/standins/lib.sh
source tests/live/agent.sh
tmp=$(mktemp -d); chmod 755 "$tmp"
AGENT_PID= CPID=
cleanup() {
    set +e   # a failing kill must not end the cleanup early
    [ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null
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
client_loop() {
    local i=0
    while [ ! -e "$tmp/stop" ]; do
        i=$((i + 1))
        LT_STANDIN_HOST=$IP_SRV LT_CLIENT_IP=$IP_CLI ip netns exec "$NS_CLI" node tests/fixtures/gen/clients.mjs \
            chat "$AOAI_PORT" "$tmp/truth.$i.json" >/dev/null 2>&1 || true
    done
}
client_loop &
CPID=$!
for k in $(seq "$KILLS"); do
    : >"$a/records.jsonl"
    agent_start "$a" --interface "$IF_CLI" --json
    ms=$((500 + RANDOM % 3500))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=
    committed | tee -a "$tmp/committed.txt" >"$tmp/now.txt"
    produced=$(grep -c . "$a/records.jsonl" || true)
    echo "kill $k at ${ms} ms: $produced records produced this run, $(wc -l <"$tmp/now.txt") in the spool"
done
touch "$tmp/stop"; wait "$CPID" 2>/dev/null || true; CPID=
sort -u "$tmp/committed.txt" >"$tmp/committed.u.txt"
total=$(wc -l <"$tmp/committed.u.txt")
echo "after $KILLS kills: $total distinct records committed; a clean run drains the spool"
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
