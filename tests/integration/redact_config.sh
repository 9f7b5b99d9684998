#!/bin/bash
# redact_config.sh -- issue 11 item 10: secret names configured in
# llmtap.conf ([records] redact_headers, redact_query_params,
# redact_body_fields). A capture (tests/fuzz/hostile_capture.py --custom)
# carries an X-My-Secret header, a my_sig query parameter and a JSON my_token
# field (nested in an unmodelled call's body), and a 400 error body echoing
# all three. Replayed with a configuration naming them:
#   - none of the three values is in the --json output, the spool or its WAL;
#   - RequestHeaders holds X-My-Secret as fp:<sha256 12 hex>, and the echo in
#     LastErrorMessage is replaced by the same fingerprints;
#   - the built-in names still apply (api-key fingerprinted, KeyFingerprint
#     set): configuration adds names, it cannot take built-in ones away;
#   - `llmtap config --dump` shows the configured names; a bad name is an
#     error at FILE:LINE (exit 2).
# Replayed without the configuration, every value is kept: the check can fail.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0
t() { checks=$((checks + 1)); if eval "$2"; then :; else fails=$((fails + 1)); echo "FAIL: $1"; fi; }
fp() { printf '%s' "$1" | sha256sum | cut -c1-12; }

python3 tests/fuzz/hostile_capture.py --custom "$tmp/c.pcap"
hdr=s3cr3tvalue; sig=my-sig-value-8877; tok=my-token-value-4411; key=hk-0a1b2c3d4e5f60718293a4b5c6d7e8f9
cat >"$tmp/llmtap.conf" <<'CONF'
[records]
redact_headers = x-my-secret
redact_query_params = MY_SIG
redact_body_fields = My_Token
CONF

# 1. without the configuration the values are kept (the capture carries them)
"$LLMTAP" replay "$tmp/c.pcap" --no-store --json --config /dev/null >"$tmp/plain.jsonl" 2>"$tmp/plain.log"
for v in $hdr $sig $tok; do
    n=$(grep -c -F -- "$v" "$tmp/plain.jsonl")
    t "no configuration: expected $v kept in the records, got it in $n lines" '[ "$n" -gt 0 ]'
done

# 2. with it: nowhere in stdout, the spool or its WAL
db=$tmp/spool.db
"$LLMTAP" replay "$tmp/c.pcap" --db "$db" --json --config "$tmp/llmtap.conf" >"$tmp/out.jsonl" 2>"$tmp/replay.log"
n=$(wc -l <"$tmp/out.jsonl"); stored=$(sqlite3 "$db" "select count(*) from records")
t "expected 4 records, all stored; got $n printed, $stored stored" '[ "$n" = 4 ] && [ "$stored" = 4 ]'
for v in $hdr $sig $tok $key; do
    for f in "$tmp/out.jsonl" "$db" "$db-wal"; do
        [ -f "$f" ] || continue
        got=$(grep -a -o -F -- "$v" "$f" | head -n 1)
        t "expected $v nowhere in $(basename "$f"), got '$got'" '[ -z "$got" ]'
    done
done

# 3. fingerprints where the values were: the header, the echo, the built-in api-key
want="\"X-My-Secret\":\"fp:$(fp $hdr)\""
n=$(grep -c -F -- "$want" "$tmp/out.jsonl")
t "expected $want in both gateway records, got it in $n" '[ "$n" = 2 ]'
want="\"LastErrorMessage\":\"echo fp:$(fp $hdr), fp:$(fp $tok) and fp:$(fp $sig)\""
got=$(grep -o '"LastErrorMessage":"[^"]*"' "$tmp/out.jsonl")
t "expected the echoed values fingerprinted: $want, got $got" '[ "$got" = "$want" ]'
got=$(grep -o '"api-key":"[^"]*"' "$tmp/out.jsonl")
t "built-in api-key: expected \"api-key\":\"fp:$(fp $key)\", got $got" '[ "$got" = "\"api-key\":\"fp:$(fp $key)\"" ]'
n=$(grep -c "\"KeyFingerprint\":\"$(fp $key)\"" "$tmp/out.jsonl")
t "built-in: expected KeyFingerprint $(fp $key) in the first call's 2 records, got $n" '[ "$n" = 2 ]'
n=$(grep -c -F -- "my_sig=fp:$(fp $sig)" "$tmp/out.jsonl")
t "expected my_sig=fp:$(fp $sig) in every Url (4), got $n" '[ "$n" = 4 ]'

# 4. the dump shows the names; a bad name is FILE:LINE
"$LLMTAP" config --dump --config "$tmp/llmtap.conf" >"$tmp/dump" 2>&1
for line in "redact_headers = x-my-secret" "redact_query_params = MY_SIG" "redact_body_fields = My_Token"; do
    t "config --dump: expected '$line', got '$(grep '^redact' "$tmp/dump" | tr '\n' '|')'" 'grep -qxF "$line" "$tmp/dump"'
done
printf '[records]\nredact_headers = api-key\nredact_body_fields = my token\n' >"$tmp/bad.conf"
"$LLMTAP" config --check --config "$tmp/bad.conf" 2>"$tmp/err"; rc=$?
want="$tmp/bad.conf:3: redact_body_fields: invalid name 'my token'"
t "bad name: expected exit 2 and '$want...', got $rc '$(cat "$tmp/err")'" \
  '[ $rc = 2 ] && grep -qF -- "$want" "$tmp/err"'

[ $fails -eq 0 ] && echo "ok: $checks checks (configured names redacted in records, spool and echoes; built-ins kept)"
[ $fails -eq 0 ]
