# agent.sh -- start, query and stop `llmtap run` in a test's client namespace.
# Source after tests/live/netns.sh and tests/standins/lib.sh. Defines:
#   live_conf FILE [extra lines]  -> an llmtap.conf uploading to the Logs Ingestion
#                                    stand-in (managed identity via its IMDS), user nobody;
#                                    LIVE_ENDPOINT, LIVE_DEADLINE, LIVE_RETRY_CAP, LIVE_WORKERS override
#   standin_start_in_client_ns TMP -> the Logs Ingestion stand-in (tests/standins/lib.sh) run inside
#                                    $NS_CLI, where the agent uploads from; fails clearly if it did not start
#   agent_start DIR [run args]    -> AGENT_PID; waits for the status socket DIR/run/llmtap.sock
#   agent_status DIR [--json]     -> `llmtap status` against it
#   agent_stop                    -> SIGTERM, waits; AGENT_RC, AGENT_STOP_MS
live_conf() {
    local f=$1; shift
    {
        echo "[agent]"
        echo "user = nobody"
        echo "shutdown_deadline = ${LIVE_DEADLINE:-10s}"
        echo "[capture]"
        echo "workers = ${LIVE_WORKERS:-1}"
        echo "[metrics]"
        echo "listen = 127.0.0.1:0"
        echo "[upload]"
        echo "endpoint = ${LIVE_ENDPOINT:-https://127.0.0.1:$HTTPS_PORT}"
        echo "dcr_immutable_id = dcr-test"
        echo "auth = managed_identity"
        echo "imds_endpoint = http://127.0.0.1:$HTTP_PORT"
        echo "ca_bundle = $SDIR/ca.pem"
        echo "flush_interval = 1s"
        echo "retry_cap = ${LIVE_RETRY_CAP:-2s}"
        echo "max_retry = 60s"
        for l in "$@"; do echo "$l"; done
    } >"$f"
    chmod 644 "$f"
}

agent_start() {
    local dir=$1; shift
    mkdir -p "$dir"
    chmod 755 "$dir"
    ip netns exec "$NS_CLI" "$LLMTAP" run --config "$dir/llmtap.conf" --db "$dir/spool/spool.db" \
        --socket "$dir/run/llmtap.sock" "$@" >>"$dir/records.jsonl" 2>>"$dir/agent.err" &
    AGENT_PID=$!
    for _ in $(seq 100); do [ -S "$dir/run/llmtap.sock" ] && break; sleep 0.1; done
    [ -S "$dir/run/llmtap.sock" ] || { echo "FAIL: the agent did not start"; cat "$dir/agent.err"; return 1; }
}

agent_status() { local dir=$1; shift; "$LLMTAP" status --config "$dir/llmtap.conf" --socket "$dir/run/llmtap.sock" "$@"; }

agent_stop() {
    local t0; t0=$(date +%s%N)
    kill -TERM "$AGENT_PID"
    AGENT_RC=0; wait "$AGENT_PID" || AGENT_RC=$?
    AGENT_STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
    AGENT_PID=
}

standin_start_in_client_ns() {
    local tmp=$1
    mkdir -p "$tmp/bin"
    printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS_CLI" "$(command -v node)" >"$tmp/bin/node"
    chmod +x "$tmp/bin/node"
    PATH=$tmp/bin:$PATH standin_start "$tmp/s"
    [ -n "$HTTPS_PORT" ] || { echo "FAIL: Logs Ingestion stand-in did not start"; cat "$tmp/s/standin.err"; exit 1; }
}
