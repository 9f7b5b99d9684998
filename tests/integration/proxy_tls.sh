#!/bin/bash
# llmtap proxy over HTTPS on both sides, with certificates made here by
# openssl (a throwaway CA and a "localhost" certificate): TLS listener, https
# backend verified against its ca_bundle, refusal of an untrusted backend.
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
LLMTAP=$LLMTAP node tests/proxy/tls.mjs "$tmp" "$tmp/ca.pem" "$tmp/cert.pem" "$tmp/key.pem"
