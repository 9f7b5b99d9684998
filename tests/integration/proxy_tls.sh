#!/bin/bash
# llmtap proxy over HTTPS on both sides, with certificates made here by
# openssl (a throwaway CA and a "localhost" certificate): TLS listener, https
# backend verified against its ca_bundle, refusal of an untrusted backend.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
source tests/lib/certs.sh
test_certs "$tmp" cert localhost "DNS:localhost,IP:127.0.0.1" || exit 1
LLMTAP=$LLMTAP node tests/proxy/tls.mjs "$tmp" "$tmp/ca.pem" "$tmp/cert.pem" "$tmp/cert.key"
