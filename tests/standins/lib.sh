# lib.sh -- shared setup for the upload tests: a test CA and certificates
# (openssl), the Azure stand-ins started on loopback ports chosen by the OS,
# and an llmtap.conf pointing at them. Source it; it defines:
#   standin_start DIR    -> sets HTTPS_PORT HTTP_PORT, STANDIN_PID, ACCEPTED
#   write_conf FILE AUTH [extra lines...]
#   control JSON         -> POST /control
#   standin_stop
source "$(dirname "${BASH_SOURCE[0]}")/../lib/certs.sh"
standin_start() {
    SDIR=$1
    mkdir -p "$SDIR"
    test_certs "$SDIR" server 127.0.0.1 IP:127.0.0.1 || return 1
    (
        cd "$SDIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=llmtap client" -keyout client.key \
            -out client.crt >/dev/null 2>&1
        cat client.crt client.key >client.pem
        echo "arc-secret-key" >arc.key
        echo "test-secret" >secret.txt
        echo "federated-token-xyz" >federated.jwt
        chmod 600 secret.txt client.pem
    )
    ACCEPTED=$SDIR/accepted.jsonl
    : >"$ACCEPTED"
    node "$(dirname "${BASH_SOURCE[0]}")/azure-standin.mjs" "$SDIR/server.pem" "$SDIR/server.key" "$SDIR/client.crt" \
        "$ACCEPTED" "$SDIR/arc.key" >"$SDIR/standin.out" 2>"$SDIR/standin.err" &
    STANDIN_PID=$!
    for _ in $(seq 100); do grep -q HTTP_PORT "$SDIR/standin.out" 2>/dev/null && break; sleep 0.1; done
    HTTPS_PORT=$(awk '/HTTPS_PORT/{print $2}' "$SDIR/standin.out")
    HTTP_PORT=$(awk '/^HTTP_PORT/{print $2}' "$SDIR/standin.out")
}

write_conf() { # file auth [extra [upload] lines]
    local f=$1 auth=$2; shift 2
    {
        echo "[upload]"
        echo "endpoint = https://127.0.0.1:$HTTPS_PORT"
        echo "dcr_immutable_id = dcr-test"
        echo "auth = $auth"
        echo "tenant_id = test-tenant"
        echo "client_id = test-client"
        echo "client_secret_file = $SDIR/secret.txt"
        echo "client_cert_file = $SDIR/client.pem"
        echo "authority_host = https://127.0.0.1:$HTTPS_PORT"
        echo "imds_endpoint = http://127.0.0.1:$HTTP_PORT"
        echo "ca_bundle = $SDIR/ca.pem"
        echo "retry_cap = 2"
        echo "max_retry = 60"
        for l in "$@"; do echo "$l"; done
        echo "[log]"
        echo "level = error"
    } >"$f"
}

control() { curl -s --cacert "$SDIR/ca.pem" -X POST -d "$1" "https://127.0.0.1:$HTTPS_PORT/control" >/dev/null; }
stats() { curl -s --cacert "$SDIR/ca.pem" "https://127.0.0.1:$HTTPS_PORT/stats"; }
standin_stop() { kill "$STANDIN_PID" 2>/dev/null || true; wait "$STANDIN_PID" 2>/dev/null || true; }
