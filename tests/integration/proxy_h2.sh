#!/bin/bash
# llmtap proxy serving HTTP/2 clients on its TLS listener (ALPN h2): curl
# --http2 and a Node http2 session (20 concurrent streams, SSE chunk by
# chunk, failover on a 429, RST_STREAM cancelling the backend call) and the
# records of h2 calls equal to those of the same calls over HTTP/1.1.
# Certificates made here by openssl (a throwaway CA and a "localhost"
# certificate); Node backend stand-ins on loopback, stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=llmtap test CA" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tmp/key.pem" -out "$tmp/req.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/ext.cnf"
openssl x509 -req -in "$tmp/req.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
    -extfile "$tmp/ext.cnf" -out "$tmp/cert.pem" 2>/dev/null
[ -s "$tmp/cert.pem" ] || { echo "FAIL: openssl could not make the test certificates"; exit 1; }
LLMTAP=$LLMTAP node tests/proxy/h2.mjs "$tmp" "$tmp/ca.pem" "$tmp/cert.pem" "$tmp/key.pem"
