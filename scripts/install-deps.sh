#!/bin/sh
# Installs every build and test dependency of llmtap on Debian 12.
# Run as root (or with sudo available). Safe to run again.
set -eu
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential pkg-config ca-certificates \
    libpcap-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev libnghttp2-dev \
    zlib1g-dev libbrotli-dev libdeflate-dev libssl-dev libevent-dev libinih-dev libcmocka-dev libmimalloc-dev \
    sqlite3 tcpdump curl nghttp2-client openssl iproute2 python3 python3-hpack
# chromium (headless) opens `llmtap report` in tests/integration/report_browser.sh
$SUDO apt-get install -y -q --no-install-recommends chromium
# clang for make fuzz (libFuzzer lives in libclang-rt-14-dev) and make asan CC=clang
$SUDO apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev
# live capture tests, make deb and bench/live.sh: tcpreplay, debhelper + fakeroot + dpkg-dev
# (dpkg-buildpackage), lintian, systemd (systemd-analyze security), util-linux (setpriv), jq
$SUDO apt-get install -y -q --no-install-recommends tcpreplay debhelper fakeroot dpkg-dev lintian systemd util-linux jq
# Node 18+ drives the test fixtures; keep the machine's own Node if it has one.
command -v node >/dev/null 2>&1 || $SUDO apt-get install -y -q nodejs npm
(cd tests && npm ci --no-audit --no-fund)
