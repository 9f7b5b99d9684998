#!/bin/bash
# Faults of the machine, in a private mount namespace with a small tmpfs:
#  - disk full: replay goes on, the records that cannot be stored are counted
#    (store_errors) and logged, nothing committed is damaged (integrity_check),
#    and storing resumes when space returns;
#  - a read-only spool: counted and logged the same way, no crash;
#  - a corrupt spool file: moved aside with a loud error, a fresh spool started.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}" "${BUILD:?}"
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then echo "needs root and mount namespaces"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BUILD/tests/tools/pcapsynth" multiply tests/fixtures/http1/chat.pcap "$tmp/m.pcap" 400 >/dev/null
"$BUILD/tests/tools/pcapsynth" multiply tests/fixtures/http1/ops.pcap "$tmp/o.pcap" 50 >/dev/null
export tmp
unshare -m --propagation private bash -c '
set -u
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok: $1"; else fail=$((fail + 1)); echo "FAIL: $1 (expected $3, got $4)"; fi; }
counter() { awk -v k="$1" "\$1 == k {print \$2}" "$2"; }
d=$tmp/fs; mkdir -p "$d"
mount -t tmpfs -o size=24m tmpfs "$d"
db=$d/spool.db
conf=$tmp/c.conf; printf "[store]\nmax_bytes = 0\n" >"$conf"

# disk full: a filler leaves ~2 MB; 400 connections of chat need about 9 MB
dd if=/dev/zero of="$d/filler" bs=1k count=22500 status=none 2>/dev/null
"$LLMTAP" replay "$tmp/m.pcap" --db "$db" --config "$conf" 2>"$tmp/full.err"; rc=$?
stored=$(counter store_inserted "$tmp/full.err"); errors=$(counter store_errors "$tmp/full.err"); produced=$(( $(counter llm_records "$tmp/full.err") + $(counter gateway_records "$tmp/full.err") ))
check "disk full: llmtap ends normally (exit 0 or 1, no crash)" "[ $rc -le 1 ]" "0 or 1" "$rc"
check "disk full: records that could not be stored are counted" "[ \"${errors:-0}\" -gt 0 ]" ">0 store_errors" "${errors:-0}"
check "disk full: stored + errors = produced" "[ $(( ${stored:-0} + ${errors:-0} )) = $produced ]" "$produced" "$(( ${stored:-0} + ${errors:-0} ))"
check "disk full: logged once, in words" "grep -q \"storing failed\" \"$tmp/full.err\"" "a storing failed line" "$(grep -c spool "$tmp/full.err") spool lines"
rows=$(sqlite3 "$db" "select count(*) from records" 2>&1)
check "disk full: the committed rows are exactly the ones counted as stored" "[ \"$rows\" = \"${stored:-0}\" ]" "${stored:-0}" "$rows"
ic=$(sqlite3 "$db" "pragma integrity_check" 2>&1)
check "disk full: the spool is intact" "[ \"$ic\" = ok ]" ok "$ic"

# space returns: the same capture again stores what was lost
rm -f "$d/filler"
"$LLMTAP" replay "$tmp/m.pcap" --db "$db" --config "$conf" 2>"$tmp/back.err"; rc=$?
rows=$(sqlite3 "$db" "select count(*) from records")
check "space back: exit 0" "[ $rc = 0 ]" 0 "$rc"
check "space back: every record stored" "[ \"$rows\" = $produced ]" "$produced" "$rows"

# read-only spool
mount -o remount,ro "$d"
"$LLMTAP" replay "$tmp/o.pcap" --db "$db" --config "$conf" 2>"$tmp/ro.err"; rc=$?
check "read-only: no crash (exit 0 or 1)" "[ $rc -le 1 ]" "0 or 1" "$rc"
check "read-only: a clear error" "grep -qiE \"read-only|readonly|cannot open\" \"$tmp/ro.err\"" "read-only in the error" "$(head -c 300 "$tmp/ro.err")"
mount -o remount,rw "$d"
check "read-only: nothing damaged" "[ \"$(sqlite3 "$db" "pragma integrity_check")\" = ok ] && [ \"$(sqlite3 "$db" "select count(*) from records")\" = $produced ]" "ok and $produced rows" "$(sqlite3 "$db" "select count(*) from records")"

# corrupt spool
rm -f "$db"*; head -c 65536 /dev/urandom >"$db"
"$LLMTAP" replay "$tmp/o.pcap" --db "$db" --config "$conf" 2>"$tmp/bad.err"; rc=$?
check "corrupt: replay succeeds on a fresh spool" "[ $rc = 0 ] && [ \"$(sqlite3 "$db" "select count(*) from records")\" -gt 0 ]" "exit 0 with rows" "exit $rc"
check "corrupt: the old file moved aside" "ls \"$db\".corrupt-* >/dev/null 2>&1" "$db.corrupt-TIME" "$(ls "$d")"
check "corrupt: said loudly" "grep -q \"moved aside\" \"$tmp/bad.err\"" "a moved aside line" "$(head -c 300 "$tmp/bad.err")"
check "corrupt: counted" "[ \"$(counter store_corrupt_moved "$tmp/bad.err")\" = 1 ]" 1 "$(counter store_corrupt_moved "$tmp/bad.err")"
umount "$d"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
'
