# netns.sh -- network namespaces for the live tests. Source it; it defines:
#   netns_setup          -> two namespaces joined by a veth pair:
#                           $NS_SRV (veth $IF_SRV, $IP_SRV) and $NS_CLI (veth $IF_CLI, $IP_CLI),
#                           loopback up in both; names carry this shell's PID
#   netns_teardown       -> deletes both namespaces (their veth ends go with them)
#   in_ns NS CMD...      -> runs CMD inside NS (exec: the PID is CMD's)
# Every name is made here and removed by netns_teardown; nothing else is touched.
netns_setup() {
    NS_SRV=lt-srv-$$ NS_CLI=lt-cli-$$
    IF_SRV=lts$$ IF_CLI=ltc$$
    IP_SRV=10.77.0.1 IP_CLI=10.77.0.2
    ip netns add "$NS_SRV"
    ip netns add "$NS_CLI"
    ip link add "$IF_SRV" type veth peer name "$IF_CLI"
    ip link set "$IF_SRV" netns "$NS_SRV"
    ip link set "$IF_CLI" netns "$NS_CLI"
    ip -n "$NS_SRV" addr add "$IP_SRV/24" dev "$IF_SRV"
    ip -n "$NS_CLI" addr add "$IP_CLI/24" dev "$IF_CLI"
    for ns in "$NS_SRV" "$NS_CLI"; do ip -n "$ns" link set lo up; done
    ip -n "$NS_SRV" link set "$IF_SRV" up
    ip -n "$NS_CLI" link set "$IF_CLI" up
}

netns_teardown() {
    [ -n "${NS_SRV:-}" ] && ip netns del "$NS_SRV" 2>/dev/null || true
    [ -n "${NS_CLI:-}" ] && ip netns del "$NS_CLI" 2>/dev/null || true
}

in_ns() { local ns=$1; shift; exec ip netns exec "$ns" "$@"; }

# Starts the Azure OpenAI stand-in (tests/fixtures/gen/standin.mjs) in $NS_SRV
# on $AOAI_HOST (default $IP_SRV); sets AOAI_PID and AOAI_PORT. $1: output dir, $2: extra flag (--h2).
aoai_start() {
    local dir=$1 flag=${2:-}
    LT_STANDIN_HOST=${AOAI_HOST:-$IP_SRV} ip netns exec "$NS_SRV" node tests/fixtures/gen/standin.mjs $flag \
        >"$dir/aoai.out" 2>"$dir/aoai.err" &
    AOAI_PID=$!
    for _ in $(seq 100); do grep -q PORT "$dir/aoai.out" 2>/dev/null && break; sleep 0.1; done
    AOAI_PORT=$(awk '/PORT/{print $2}' "$dir/aoai.out")
    [ -n "$AOAI_PORT" ] || { echo "FAIL: the Azure OpenAI stand-in did not start"; cat "$dir/aoai.err"; return 1; }
}

aoai_stop() { [ -n "${AOAI_PID:-}" ] && { kill "$AOAI_PID" 2>/dev/null || true; wait "$AOAI_PID" 2>/dev/null || true; }; AOAI_PID=; }

# A VXLAN overlay over the veth pair, like a mirror/vTAP: vxlan devices (VNI
# 42, UDP 4789) in both namespaces with overlay addresses $OV_SRV / $OV_CLI.
# Traffic between the overlay addresses crosses the veth encapsulated.
vxlan_setup() {
    OV_SRV=10.88.0.1 OV_CLI=10.88.0.2
    ip -n "$NS_SRV" link add ltvx0 type vxlan id 42 remote "$IP_CLI" local "$IP_SRV" dstport 4789 dev "$IF_SRV"
    ip -n "$NS_CLI" link add ltvx0 type vxlan id 42 remote "$IP_SRV" local "$IP_CLI" dstport 4789 dev "$IF_CLI"
    ip -n "$NS_SRV" addr add "$OV_SRV/24" dev ltvx0
    ip -n "$NS_CLI" addr add "$OV_CLI/24" dev ltvx0
    ip -n "$NS_SRV" link set ltvx0 up
    ip -n "$NS_CLI" link set ltvx0 up
}
