#!/bin/bash
# llmtap proxy: balancing (weights over 10,000 requests, priority groups),
# failover on 429 / 500 / stall / reset / connect error, cooldown from
# retry-after-ms, x-ms-retry-after-ms and Retry-After (seconds, HTTP date),
# capped by max_cooldown; the circuit breaker opening and half-opening;
# 503 NO_BACKEND_AVAILABLE + Retry-After when every backend is cooling, and
# pass_429; per-backend state in `llmtap status` and on /metrics. Backends are Node stand-ins (tests/proxy/backend.mjs) on
# loopback, port 0; every process is stopped by its PID.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
LLMTAP=$LLMTAP node tests/proxy/balance.mjs "$tmp" "$@"
