#!/bin/bash
# The one-way house: capture → flows → parsers → records → store → uploader.
# Fails when an include crosses a wall the design forbids:
#   parsers/ includes none of records/, store/, uploader/, capture/, agent/, proxy/, analytics/
#   store/ and uploader/ include nothing of parsers/ or capture/ (they see opaque records)
#   records/ includes nothing of capture/, store/, uploader/, agent/, proxy/
#   capture/ includes nothing of store/, uploader/, agent/, proxy/
set -uo pipefail
cd "$(dirname "$0")/../.."
fail=0; pass=0
rule() { # folder, forbidden folders (regex alternation)
    local bad
    bad=$(grep -rnE "#include +\"(\.\./)?($2)/" "$1" --include=*.c --include=*.h 2>/dev/null)
    if [ -n "$bad" ]; then echo "FAIL: $1/ must not include $2/:"; echo "$bad" | sed 's/^/  /'; fail=$((fail + 1));
    else echo "ok: $1/ includes nothing of $2/"; pass=$((pass + 1)); fi
}
rule parsers 'records|store|uploader|capture|agent|proxy|analytics'
rule store 'parsers|capture|agent|proxy|uploader'
rule uploader 'parsers|capture|agent|proxy'
rule records 'capture|store|uploader|agent|proxy|analytics'
rule capture 'store|uploader|agent|proxy|analytics'
rule common 'parsers|records|store|uploader|capture|agent|proxy|analytics'
# store/ and uploader/ see records only through record.h (no HTTP message behind it)
bad=$(grep -n '#include' records/record.h | grep -v -E '<jansson.h>|common/lt.h')
if [ -n "$bad" ]; then echo "FAIL: records/record.h must stay opaque (only jansson and common/lt.h):"; echo "$bad"; fail=$((fail + 1));
else echo "ok: records/record.h is opaque"; pass=$((pass + 1)); fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
