#!/bin/bash
# llmtap proxy streaming: SSE events arrive with the backend's spacing (arrival
# vs send timestamps), a stream cut after its first byte is never retried and
# ends early for the client, and a client disconnect cancels the backend
# request, HTTP/1.0 and Connection: close clients. Node backend stand-ins on
# loopback, stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
LLMTAP=$LLMTAP node tests/proxy/stream.mjs "$tmp" "$@"
