#!/bin/bash
# live_deb.sh -- the Debian package and its systemd unit.
#
# `make deb` builds llmtap_<version>_<arch>.deb with debhelper; dpkg-deb must
# list the binary, the configuration (a conffile, 0640) and the unit;
# postinst must create the system user; lintian must report no error; the
# unit must carry the hardening the issue lists, and `systemd-analyze
# security --offline=yes` scores it (the score is printed, and must stay in
# the "OK" band, below 4.0).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BUILD:=build}"
fail() { echo "FAIL: $*"; exit 1; }
# as a user builds it: not with the settings of an enclosing make (make asan CC=clang passes CC
# down through MAKEFLAGS and the environment)
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u SAN -u OPT make -s BUILD="$BUILD" deb >"$BUILD/deb.log" 2>&1 || { tail -30 "$BUILD/deb.log"; fail "make deb failed"; }
deb=$(ls "$BUILD"/llmtap_*_*.deb | head -1)
[ -f "$deb" ] || fail "no llmtap_<version>_<arch>.deb in $BUILD"
echo "built $deb"
dpkg-deb -c "$deb" | tee "$BUILD/deb.contents"
want() { grep -qE "$1" "$BUILD/deb.contents" || fail "dpkg-deb -c: expected $2, not listed"; }
want '^-rwxr-xr-x root/root .* \./usr/bin/llmtap$' "/usr/bin/llmtap (0755)"
want '^-rw-r----- root/root .* \./etc/llmtap/llmtap\.conf$' "/etc/llmtap/llmtap.conf (0640)"
want '\./lib/systemd/system/llmtap\.service$' "the systemd unit"
ctl=$(mktemp -d); trap 'rm -rf "$ctl"' EXIT
dpkg-deb -e "$deb" "$ctl/DEBIAN"
grep -qx /etc/llmtap/llmtap.conf "$ctl/DEBIAN/conffiles" || fail "conffiles: expected /etc/llmtap/llmtap.conf, got: $(cat "$ctl/DEBIAN/conffiles" 2>/dev/null)"
grep -q 'adduser --system --group' "$ctl/DEBIAN/postinst" || fail "postinst does not create the system user llmtap"
grep -q 'dpkg-statoverride --update --add root llmtap 0640 /etc/llmtap/llmtap.conf' "$ctl/DEBIAN/postinst" ||
    fail "postinst does not give the configuration to group llmtap"

lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' | tee "$BUILD/lintian.txt" || true
if grep -q '^E:' "$BUILD/lintian.txt"; then fail "lintian reports errors (above)"; fi
echo "lintian: no errors ($(grep -c '^W:' "$BUILD/lintian.txt" || true) warnings)"

unit=packaging/llmtap.service
for d in 'Type=(notify|simple)' 'Restart=on-failure' 'User=llmtap' 'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' \
    'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' \
    'PrivateTmp=yes' 'StateDirectory=llmtap' 'RuntimeDirectory=llmtap' \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK' 'SystemCallFilter=@system-service' 'MemoryMax=[0-9]+[KMG]'; do
    grep -qxE "$d" "$unit" || fail "$unit: expected a line $d"
done
systemd-analyze security --offline=yes "$unit" >"$BUILD/security.txt" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for llmtap.service: \([0-9.]*\).*/\1/p' "$BUILD/security.txt")
[ -n "$score" ] || { cat "$BUILD/security.txt"; fail "systemd-analyze security printed no score"; }
grep -v '^✓' "$BUILD/security.txt"
echo "systemd-analyze security --offline=yes: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s < 4.0) }' || fail "exposure level: expected below 4.0 (OK band), got $score"
systemd-analyze verify "$unit" 2>&1 | grep -vE 'llmtap: command not found|/usr/bin/llmtap|Failed to prepare filename' | grep -iE 'unknown|invalid|error' &&
    fail "systemd-analyze verify reports problems in the unit (above)"
echo "live_deb: OK"
