#!/bin/bash
# llmtap proxy serving HTTP/2 clients on its TLS listener (ALPN h2): curl
# --http2 and a Node http2 session (20 concurrent streams, SSE chunk by
# chunk, failover on a 429, RST_STREAM cancelling the backend call) and the
# records of h2 calls equal to those of the same calls over HTTP/1.1; and
# h2c with prior knowledge on the cleartext listener (curl
# --http2-prior-knowledge, Node http2 on http://) beside HTTP/1.1 clients.
# Certificates made here by openssl (a throwaway CA and a "localhost"
# certificate); Node backend stand-ins on loopback, stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
source tests/lib/certs.sh
test_certs "$tmp" cert localhost "DNS:localhost,IP:127.0.0.1" || exit 1
LLMTAP=$LLMTAP node tests/proxy/h2.mjs "$tmp" "$tmp/ca.pem" "$tmp/cert.pem" "$tmp/cert.key"
