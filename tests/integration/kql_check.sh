#!/bin/bash
# Every KQL query the project ships passes Microsoft's Kusto analyzer
# (@kusto/language-service-next, via tests/tools/kqlcheck.mjs) against the
# shipped table schema (packaging/azure/schema.json), and main.bicep declares
# exactly that schema. A deliberately broken query must fail, so the check can.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0
check() { checks=$((checks + 1)); if "$@" >"$tmp/out" 2>&1; then :; else fails=$((fails + 1)); echo "FAIL: $*"; tail -20 "$tmp/out"; fi; }
node packaging/azure/gen-bicep.mjs >"$tmp/main.bicep"
check diff -u packaging/azure/main.bicep "$tmp/main.bicep"
check node tests/tools/kqlcheck.mjs --schema packaging/azure/schema.json kql/*.kql README.md packaging/azure/README.md
sed 's/TotalTokens)/TotalTokenz)/' kql/tokens.kql >"$tmp/broken.kql"
check bash -c "! node tests/tools/kqlcheck.mjs --schema packaging/azure/schema.json $tmp/broken.kql"
echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
