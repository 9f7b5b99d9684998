#!/bin/bash
# llmtap proxy logs through the tap's pipeline: the fixture clients (openai
# SDK, curl, pipelining socket) call the proxy in front of a backend
# stand-in; the proxy's --json records and its spool must equal the clients'
# ground truth field by field (tests/tools/compare.mjs), carry BackendId,
# BackendUrl, Attempts, AttemptErrors, TotalTime, BackendTime, keep secrets
# out, and the answers the proxy makes itself (503, 413) get records too.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
LLMTAP=$LLMTAP node tests/proxy/records.mjs "$tmp" "$@"
