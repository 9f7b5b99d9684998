#!/bin/bash
# llmtap proxy on SIGTERM: stops accepting, finishes the stream in flight,
# commits the spool and exits 0; cuts what is left at the drain deadline.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
LLMTAP=$LLMTAP node tests/proxy/drain.mjs "$tmp"
