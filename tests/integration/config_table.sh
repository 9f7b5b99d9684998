#!/bin/bash
# The configuration tables seen from the command line: the committed
# packaging/llmtap.conf is exactly `llmtap config --template` (regenerate it
# with that command when a table changes), the template loads and documents
# every key the dump shows, dump -> load -> dump is stable, errors are
# FILE:LINE: reason with exit status 2 (overflowing sizes, a bad server port,
# unknown keys and sections, continuation lines), a key given twice takes
# the last value, and every [upload] key that existed before the tables
# still loads.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0
t() { checks=$((checks + 1)); if eval "$2"; then :; else fails=$((fails + 1)); echo "FAIL: $1"; fi; }

# 1. the shipped file is generated from the tables
"$LLMTAP" config --template >"$tmp/template.conf"; rc=$?
t "config --template: exit 0" '[ $rc = 0 ]'
if ! diff -u packaging/llmtap.conf "$tmp/template.conf" >"$tmp/diff"; then
    echo "packaging/llmtap.conf differs from 'llmtap config --template' (expected: the template; got: the file):"
    head -40 "$tmp/diff"
fi
t "packaging/llmtap.conf == llmtap config --template" '[ ! -s "$tmp/diff" ]'
"$LLMTAP" config --check --config packaging/llmtap.conf 2>"$tmp/err"; rc=$?
t "packaging/llmtap.conf loads (got: $(cat "$tmp/err"))" '[ $rc = 0 ]'

# 2. every key of the dump is documented in the template, with its default
"$LLMTAP" config --dump --config packaging/llmtap.conf >"$tmp/defaults.conf"; rc=$?
t "config --dump: exit 0" '[ $rc = 0 ]'
nkeys=$(grep -c ' =' "$tmp/defaults.conf")
t "dump has every key (got $nkeys, expected > 40)" '[ "$nkeys" -gt 40 ]'
while IFS= read -r line; do
    case $line in \[*\]|'') continue ;; esac
    t "template documents '$line'" 'grep -qxF ";$line" packaging/llmtap.conf'
done <"$tmp/defaults.conf"
for k in endpoint dcr_immutable_id llm_stream gateway_stream auth tenant_id client_id client_secret_file \
         client_cert_file authority_host imds_endpoint scope ca_bundle gzip batch_max_bytes chunk_bytes \
         message_cap flush_interval max_retry retry_cap; do
    t "[upload] $k documented" 'sed -n "/^\[upload\]/,/^\[/p" packaging/llmtap.conf | grep -q "^;$k ="'
done
for k in user socket shutdown_deadline queue_max; do
    t "[agent] $k documented" 'sed -n "/^\[agent\]/,/^\[/p" packaging/llmtap.conf | grep -q "^;$k ="'
done

# 3. dump -> load -> dump, with values in every section (old-style values included)
cat >"$tmp/mine.conf" <<CONF
[capture]
interface = eth1, eth2
filter = tcp port 80
server_ports = 80, 8080
idle_timeout = 90
body_cap = 2M
[records]
store_embeddings = true
[store]
path = $tmp/spool.db
max_age = 36h
[upload]
endpoint = https://dce.example.com
dcr_immutable_id = dcr-1
auth = client_secret
client_secret_file = /etc/llmtap/secret
imds_endpoint = http://127.0.0.1:1
batch_max_bytes = 6000
flush_interval = 7
max_retry = 60
retry_cap = 2
[agent]
shutdown_deadline = 1500ms
[metrics]
listen = 127.0.0.1:9109
[log]
level = error
CONF
"$LLMTAP" config --dump --config "$tmp/mine.conf" >"$tmp/d1.conf" 2>"$tmp/err"; rc=$?
t "dump of a full config: exit 0 (got: $(cat "$tmp/err"))" '[ $rc = 0 ]'
"$LLMTAP" config --dump --config "$tmp/d1.conf" >"$tmp/d2.conf" 2>"$tmp/err"; rc=$?
t "dump of the dump: exit 0 (got: $(cat "$tmp/err"))" '[ $rc = 0 ]'
diff -u "$tmp/d1.conf" "$tmp/d2.conf" || true
t "dump -> load -> dump identical" 'cmp -s "$tmp/d1.conf" "$tmp/d2.conf"'
for want in "interface = eth1, eth2" "server_ports = 80, 8080" "idle_timeout = 90s" "max_age = 36h" \
            "client_secret_file = /etc/llmtap/secret" "batch_max_bytes = 6000" "max_retry = 1m" \
            "shutdown_deadline = 1500ms" "listen = 127.0.0.1:9109" "level = error" "snaplen = 262144"; do
    t "dump shows '$want' (got: $(grep -F "${want%% =*} =" "$tmp/d1.conf" | head -1))" 'grep -qxF "$want" "$tmp/d1.conf"'
done

# 4. errors: FILE:LINE: reason, exit 2, nothing on stdout
err_case() { # name, file text, expected message after FILE:
    printf '%b' "$2" >"$tmp/bad.conf"
    "$LLMTAP" config --check --config "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    local want="llmtap: $tmp/bad.conf:$3"
    t "$1: exit 2 (got $rc)" '[ $rc = 2 ]'
    t "$1: expected '$want', got '$(cat "$tmp/err")'" '[ "$(cat "$tmp/err")" = "$want" ]'
    t "$1: no dump on stdout" '[ ! -s "$tmp/out" ]'
}
err_case "size overflow" '[capture]\nbody_cap = 9999999999999G\n' "2: body_cap: size '9999999999999G' is too large"
err_case "port 0" '[capture]\n\nserver_ports = 80, 0\n' "3: server_ports: invalid port '0' (1..65535)"
err_case "unknown key" '[upload]\nendpoint = https://a\nendpont = https://b\n' "3: unknown key 'endpont' in [upload]"
err_case "unknown section" '[log]\nlevel = info\n[uplaod]\nx = 1\n' "4: unknown section [uplaod]"
err_case "continuation line" '[capture]\ninterface = eth0\n   eth1\n' "3: indented line: continuation lines are not supported"
err_case "http endpoint" '[upload]\nendpoint = http://plain\n' "2: endpoint: must start with https:// (got 'http://plain')"
err_case "workers range" '[capture]\nworkers = 0\n' "2: workers: '0' out of range (1..64)"

# a key given twice: the last one wins (the upload tests append overrides)
printf '[upload]\nmax_retry = 60\nretry_cap = 2\nmax_retry = 5\n' >"$tmp/twice.conf"
"$LLMTAP" config --dump --config "$tmp/twice.conf" >"$tmp/out" 2>"$tmp/err"; rc=$?
t "key twice: exit 0 (got $rc: $(cat "$tmp/err"))" '[ $rc = 0 ]'
t "key twice: last wins (got: $(grep "^max_retry" "$tmp/out"))" 'grep -qx "max_retry = 5s" "$tmp/out"'

# 5. the other commands read the same tables
"$LLMTAP" replay tests/fixtures/http1/chat.pcap --config "$tmp/mine.conf" --no-store >/dev/null 2>"$tmp/err"; rc=$?
t "replay accepts the full config (got: $(head -c 300 "$tmp/err"))" '[ $rc = 0 ]'
printf '[upload]\nendpoint = https://x\n' >"$tmp/noid.conf"
"$LLMTAP" upload --config "$tmp/noid.conf" --db "$tmp/u.db" >/dev/null 2>"$tmp/err"; rc=$?
t "upload without dcr_immutable_id: exit 2 (got $rc)" '[ $rc = 2 ]'
t "upload names the missing key (got: $(cat "$tmp/err"))" \
    'grep -qxF "llmtap: [upload] dcr_immutable_id must be set in the configuration" "$tmp/err"'
"$LLMTAP" config >/dev/null 2>&1; rc=$?
t "config without a mode: exit 2" '[ $rc = 2 ]'

echo "config_table: $((checks - fails))/$checks checks passed"
[ "$fails" = 0 ]
