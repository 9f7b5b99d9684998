#!/bin/bash
# live_privilege.sh -- least privilege of `llmtap run`.
#
# 1. Started the way the systemd unit starts it (User=, AmbientCapabilities=
#    CAP_NET_RAW CAP_NET_ADMIN, CapabilityBoundingSet=, NoNewPrivileges=),
#    emulated with setpriv as user nobody: the agent opens its capture, then
#    /proc/PID/status shows uid nobody and no capability at all, and it still
#    records a call made across the veth.
# 2. The same user without the capabilities: a clear error, exit status 1.
# 3. Started as root with [agent] user = root: it stays root, with a warning.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/live/netns.sh
tmp=$(mktemp -d); chmod 755 "$tmp"
APID=
cleanup() { set +e; [ -n "$APID" ] && kill -9 "$APID" 2>/dev/null; aoai_stop; netns_teardown; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
netns_setup
aoai_start "$tmp"
nobody_uid=$(id -u nobody); nobody_gid=$(id -g nobody)
mkdir -p "$tmp/state" "$tmp/run"
chown nobody:"$nobody_gid" "$tmp/state" "$tmp/run"; chmod 700 "$tmp/state" "$tmp/run"
printf '[agent]\nuser = llmtap-unused\n[log]\nlevel = info\n' >"$tmp/llmtap.conf"; chmod 644 "$tmp/llmtap.conf"

as_unit() { # the unit's User=, AmbientCapabilities=, CapabilityBoundingSet=, NoNewPrivileges=
    exec ip netns exec "$NS_CLI" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
        --inh-caps=+net_raw,+net_admin --ambient-caps=+net_raw,+net_admin \
        --bounding-set=-all,+net_raw,+net_admin --no-new-privs "$@"
}
as_unit "$LLMTAP" run --config "$tmp/llmtap.conf" --interface "$IF_CLI" --db "$tmp/state/spool.db" \
    --socket "$tmp/run/llmtap.sock" --no-upload --json >"$tmp/records.jsonl" 2>"$tmp/agent.err" &
APID=$!
for _ in $(seq 100); do [ -S "$tmp/run/llmtap.sock" ] && break; sleep 0.1; done
[ -S "$tmp/run/llmtap.sock" ] || { cat "$tmp/agent.err"; fail "the agent did not start as nobody with the unit's capabilities"; }
grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapAmb|NoNewPrivs)' "/proc/$APID/status" | tee "$tmp/proc.txt"
field() { awk -v k="$1:" '$1 == k { print $2 }' "$tmp/proc.txt"; }
[ "$(field Uid)" = "$nobody_uid" ] || fail "Uid: expected $nobody_uid (nobody), got $(field Uid)"
for c in CapInh CapPrm CapEff CapAmb; do
    [ "$(field $c)" = 0000000000000000 ] || fail "$c: expected 0000000000000000 after start-up, got $(field $c)"
done
[ "$(field NoNewPrivs)" = 1 ] || fail "NoNewPrivs: expected 1, got $(field NoNewPrivs)"
# the capture opened before the drop still works
ip netns exec "$NS_CLI" curl -s -o /dev/null -H 'api-key: sk-test-key-0123456789' -H 'content-type: application/json' \
    -d '{"messages":[{"role":"user","content":"hello"}]}' \
    "http://$IP_SRV:$AOAI_PORT/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
for _ in $(seq 100); do grep -q ApiManagementGatewayLlmLog "$tmp/records.jsonl" && break; sleep 0.1; done
grep -q '"DeploymentName":"gpt-4o"' "$tmp/records.jsonl" || fail "no LLM record for the call made after the privilege drop"
kill -TERM "$APID"; rc=0; wait "$APID" || rc=$?; APID=
[ "$rc" = 0 ] || fail "SIGTERM: expected exit status 0, got $rc"
[ "$(stat -c %U "$tmp/state/spool.db")" = nobody ] || fail "spool owner: expected nobody, got $(stat -c %U "$tmp/state/spool.db")"
echo "1. as the unit starts it: uid nobody, no capabilities, capture works"

rc=0
ip netns exec "$NS_CLI" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups --inh-caps=-all \
    "$LLMTAP" run --config "$tmp/llmtap.conf" --interface "$IF_CLI" --db "$tmp/state/spool2.db" \
    --socket "$tmp/run/x.sock" --no-upload 2>"$tmp/nocap.err" || rc=$?
cat "$tmp/nocap.err"
[ "$rc" = 1 ] || fail "without CAP_NET_RAW: expected exit status 1, got $rc"
grep -qiE "$IF_CLI.*(permission|not permitted)" "$tmp/nocap.err" || fail "without CAP_NET_RAW: expected an error naming $IF_CLI and the permission problem"
echo "2. without capabilities: refused with a clear error"

printf '[agent]\nuser = root\n' >"$tmp/root.conf"
ip netns exec "$NS_CLI" "$LLMTAP" run --config "$tmp/root.conf" --interface "$IF_CLI" --db "$tmp/root.db" \
    --socket "$tmp/root.sock" --no-upload 2>"$tmp/root.err" &
APID=$!
for _ in $(seq 100); do [ -S "$tmp/root.sock" ] && break; sleep 0.1; done
uid=$(awk '$1 == "Uid:" { print $2 }' "/proc/$APID/status")
kill -TERM "$APID"; wait "$APID" || true; APID=
[ "$uid" = 0 ] || fail "[agent] user = root: expected uid 0, got $uid"
grep -q 'user = root' "$tmp/root.err" || fail "[agent] user = root: expected a warning in the log"
echo "3. user = root: stays root, warned"
echo "live_privilege: OK"
