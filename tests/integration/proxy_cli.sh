#!/bin/bash
# llmtap proxy's command line and configuration: usage and exit codes,
# [proxy]/[backend.NAME] errors as FILE:LINE: reason, no backend, the
# sections in `llmtap config --dump` and `--check`.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0
t() { checks=$((checks + 1)); if eval "$2"; then :; else fails=$((fails + 1)); echo "FAIL: $1"; [ -f "$tmp/err" ] && sed 's/^/    got: /' "$tmp/err"; fi; }

"$LLMTAP" proxy --help >"$tmp/out" 2>&1; rc=$?; t "--help: exit 0" '[ $rc = 0 ] && grep -q "no-upload" "$tmp/out"'
"$LLMTAP" proxy --bogus >/dev/null 2>"$tmp/err"; rc=$?; t "unknown flag: exit 2" '[ $rc = 2 ]'
printf '[proxy]\nworkers = 0\n' >"$tmp/a.conf"
"$LLMTAP" proxy --config "$tmp/a.conf" >/dev/null 2>"$tmp/err"; rc=$?
t "workers = 0: exit 2, FILE:LINE: reason" '[ $rc = 2 ] && grep -q "a.conf:2: workers: .0. out of range (1..64)" "$tmp/err"'
printf '[proxy]\nlisten = 127.0.0.1:0\n' >"$tmp/b.conf"
"$LLMTAP" proxy --config "$tmp/b.conf" >/dev/null 2>"$tmp/err"; rc=$?
t "no backend: exit 2 and says so" '[ $rc = 2 ] && grep -q "no \[backend.NAME\] section" "$tmp/err"'
printf '[backend.east]\nurl = ftp://x\n' >"$tmp/c.conf"
"$LLMTAP" proxy --config "$tmp/c.conf" >/dev/null 2>"$tmp/err"; rc=$?
t "bad backend url: exit 2, FILE:LINE" '[ $rc = 2 ] && grep -q "c.conf:2: url: must start with https://" "$tmp/err"'
printf '[backend.east]\npriority = 2\n' >"$tmp/d.conf"
"$LLMTAP" proxy --config "$tmp/d.conf" >/dev/null 2>"$tmp/err"; rc=$?
t "backend without url: exit 2, names it" '[ $rc = 2 ] && grep -q "url" "$tmp/err"'
printf '[proxy]\nretry_on = 429, 5xx\n[backend.east]\nurl = https://east.example\n' >"$tmp/e.conf"
"$LLMTAP" proxy --config "$tmp/e.conf" >/dev/null 2>"$tmp/err"; rc=$?
t "bad retry_on: exit 2, quotes it" '[ $rc = 2 ] && grep -q "retry_on: expected" "$tmp/err"'
printf '[proxy]\nwhen_all_cooling = pass_429\nmax_cooldown = 30s\n[backend.east]\nurl = https://east.example\nweight = 3\n[backend.west]\nurl = https://west.example\npriority = 2\n' >"$tmp/f.conf"
"$LLMTAP" config --check --config "$tmp/f.conf" >/dev/null 2>"$tmp/err"; rc=$?; t "config --check accepts [proxy] and [backend.*]" '[ $rc = 0 ]'
"$LLMTAP" config --dump --config "$tmp/f.conf" >"$tmp/dump" 2>"$tmp/err"
t "config --dump shows both backends" 'grep -q "^\[backend.east\]" "$tmp/dump" && grep -q "^\[backend.west\]" "$tmp/dump" && grep -q "^weight = 3" "$tmp/dump"'
t "config --dump shows the [proxy] values" 'grep -q "^when_all_cooling = pass_429" "$tmp/dump" && grep -q "^max_cooldown = 30s" "$tmp/dump"'
rm -f "$tmp/err"
echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
