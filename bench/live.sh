#!/bin/bash
# bench/live.sh -- live capture throughput of `llmtap run` on a veth pair.
#
#   bench/live.sh BUILD [MEGABYTES]        (root: network namespaces)
#
# The generated bench capture (bench/gen_capture: Azure OpenAI calls, half
# of them SSE streams, 64 interleaved connections; 1 GB by default, four
# times the kernel ring so the ring cannot hide a slow reader) is sent by
# bench/pktsend (sendmmsg on AF_PACKET, qdisc bypassed: tcpreplay cannot
# push 2 Gbit/s into a veth on 2 cores) into one end of a veth pair (its own
# namespaces, made and removed here); `llmtap run --no-upload` captures the
# other end. For each rate (Mbit/s, or top speed) and for 1 and 2 capture
# workers (PACKET_FANOUT), a run is "zero-drop" when the kernel dropped
# nothing (pcap_stats) and the agent read every packet sent and produced
# every exchange of the capture. Then the agent's RSS over a soak at a
# steady rate: LIVE_SOAK_S seconds (default 60; LIVE_SOAK_S=600 for the
# 10-minute soak). LIVE_RING sets the ring per handle (default 64M).
# Writes the "Live capture" section of BENCHMARKS.md (between markers).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MB=${2:-${LIVE_MB:-1024}}
RATES=${LIVE_RATES-"1000 1500 2000 2500 top"}   # LIVE_RATES="" runs the soak alone
RING=${LIVE_RING:-64M}
SOAK_S=${LIVE_SOAK_S:-60}
SOAK_MBPS=${LIVE_SOAK_MBPS:-400}
case $BUILD in /*) LLMTAP=$BUILD/llmtap ;; *) LLMTAP=$PWD/$BUILD/llmtap ;; esac
source tests/live/netns.sh
out=bench/out; mkdir -p "$out"
cap=$out/bench-$MB.pcap
[ -f "$cap" ] || "$BUILD/bench/gen_capture" "$cap" "$MB" >"$cap.info"
[ -f "$cap.info" ] || "$BUILD/bench/gen_capture" "$cap" "$MB" >"$cap.info"
exchanges=$(awk '{print $2}' "$cap.info")
frames=$("$BUILD/bench/pcap_loop" "$cap" | awk '{print $2}')   # tcpdump -r prints some frames on two lines
tmp=$(mktemp -d /dev/shm/llmtap-live.XXXXXX); chmod 755 "$tmp"
APID= SPID=
cleanup() { set +e; [ -n "$APID" ] && kill -9 "$APID" 2>/dev/null; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; netns_teardown; rm -rf "$tmp"; }
trap cleanup EXIT
netns_setup
ip -n "$NS_SRV" link set "$IF_SRV" mtu 9000; ip -n "$NS_CLI" link set "$IF_CLI" mtu 9000
printf '[agent]\nuser = nobody\n[capture]\nbuffer_size = %s\nworkers = %s\n' "$RING" 1 >"$tmp/w1.conf"
printf '[agent]\nuser = nobody\n[capture]\nbuffer_size = %s\nworkers = %s\n' "$RING" 2 >"$tmp/w2.conf"
chmod 644 "$tmp"/*.conf

start_agent() { # workers
    rm -rf "$tmp/spool" "$tmp/run"
    ip netns exec "$NS_CLI" "$LLMTAP" run --config "$tmp/w$1.conf" --interface "$IF_CLI" --no-upload \
        --db "$tmp/spool/spool.db" --socket "$tmp/run/s.sock" -q 2>"$tmp/agent.err" &
    APID=$!
    for _ in $(seq 100); do [ -S "$tmp/run/s.sock" ] && return 0; sleep 0.1; done
    cat "$tmp/agent.err"; return 1
}
status() { "$LLMTAP" status --socket "$tmp/run/s.sock" --json; }
settle() { # until the packet count stops moving
    local last=-1 now
    for _ in $(seq 100); do
        now=$(status | jq '[.capture.interfaces[].packets] | add')
        [ "$now" = "$last" ] && return 0
        last=$now; sleep 0.5
    done
}
replay() { # rate -> prints "actual_mbps"
    local r=$1; [ "$r" = top ] && r=0
    ip netns exec "$NS_SRV" "$BUILD/bench/pktsend" "$IF_SRV" "$cap" "$r" | awk '{print $8}'
}
cap_ticks() { # CPU ticks of the capture worker threads (named llmtap-capN)
    local t sum=0
    for t in /proc/"$APID"/task/*; do
        grep -q '^llmtap-cap' "$t/comm" 2>/dev/null || continue
        sum=$((sum + $(awk '{print $14 + $15}' "$t/stat")))
    done
    echo "$sum"
}
veth_drops() { # frames the veth pair itself dropped (both ends, both directions)
    local n=0 f
    for f in tx_dropped rx_dropped; do
        n=$((n + $(ip netns exec "$NS_SRV" cat "/sys/class/net/$IF_SRV/statistics/$f") \
              + $(ip netns exec "$NS_CLI" cat "/sys/class/net/$IF_CLI/statistics/$f")))
    done
    echo "$n"
}
one_run() { # workers rate -> a table row
    start_agent "$1"
    local vd0; vd0=$(veth_drops)
    local mbps; mbps=$(replay "$2")
    settle
    local vd=$(( $(veth_drops) - vd0 ))
    local st; st=$(status)
    local ticks; ticks=$(awk '{print $14 + $15}' "/proc/$APID/stat")
    local cticks; cticks=$(cap_ticks)
    kill -TERM "$APID"; wait "$APID" || true; APID=
    local pk dr ifd ex
    pk=$(jq '[.capture.interfaces[].packets] | add' <<<"$st")
    dr=$(jq '[.capture.interfaces[].kernel_dropped] | add' <<<"$st")
    ifd=$(jq '[.capture.interfaces[].interface_dropped] | add' <<<"$st")
    ex=$(jq '.counters.http_exchanges' <<<"$st")
    local ok=no; [ "$dr" = 0 ] && [ "$pk" -ge "$frames" ] && [ "$ex" -ge "$exchanges" ] && ok=yes
    local bytes cpu; bytes=$(jq '[.capture.interfaces[].bytes] | add' <<<"$st")
    cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
    local per; per=$(awk -v b="$bytes" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? b * 8 / 1e6 / c : 0) }')
    local ccpu; ccpu=$(awk -v t="$cticks" -v hz="$(getconf CLK_TCK)" -v w="$1" 'BEGIN { printf "%.2f", t / hz / w }')
    local cper; cper=$(awk -v b="$bytes" -v c="$ccpu" -v w="$1" 'BEGIN { printf "%.0f", (c > 0 ? b * 8 / 1e6 / c / w : 0) }')
    echo "| $1 | $2 | $mbps | $pk / $frames | $dr | $ifd + $vd | $ex / $exchanges | $ok | $cpu s | $per | $ccpu s | $cper |"
}
rows=()
for w in 1 2; do
    for r in $RATES; do row=$(one_run "$w" "$r"); echo "$row"; rows+=("$row"); done
done

# RSS over a soak at a steady rate
start_agent 1
samples=()
t0=$SECONDS
( while [ ! -e "$tmp/stop" ]; do ip netns exec "$NS_SRV" "$BUILD/bench/pktsend" "$IF_SRV" "$cap" "$SOAK_MBPS" >/dev/null 2>&1; done ) &
SPID=$!
while [ $((SECONDS - t0)) -lt "$SOAK_S" ]; do
    samples+=("$(awk '/^VmRSS/{print $2}' "/proc/$APID/status")"); sleep 5
done
touch "$tmp/stop"; wait "$SPID" || true; SPID=
st=$(status); kill -TERM "$APID"; wait "$APID" || true; APID=
first=${samples[0]}; last=${samples[-1]}; max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
soak="soak $SOAK_S s at $SOAK_MBPS Mbit/s (1 worker, ring $RING, load average $(cut -d" " -f1-3 /proc/loadavg) at the end): RSS first $((first / 1024)) MiB, max $((max / 1024)) MiB, last $((last / 1024)) MiB ($(printf '%s ' "${samples[@]}" | awk '{for(i=1;i<=NF;i++) printf "%d ", $i/1024}')MiB every 5 s); kernel drops $(jq '[.capture.interfaces[].kernel_dropped]|add' <<<"$st"), exchanges $(jq .counters.http_exchanges <<<"$st")"
echo "$soak"

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
section=$(mktemp)
{
    echo "<!-- live:begin (bench/live.sh writes this section) -->"
    echo "## Live capture (\`bench/live.sh\`, $(date -u +%Y-%m-%d))"
    echo
    echo "- Machine: $cpu, $(nproc) cores (shared by the sender and the agent), kernel $(uname -r)."
    echo "- \`bench/live.sh $BUILD $MB\`: \`$cap\` ($MB MB, $frames frames, $exchanges exchanges) sent by bench/pktsend into a veth"
    echo "  pair (MTU 9000) between two namespaces; \`llmtap run --no-upload\` on the other end, TPACKET_V3 ring $RING per handle"
    echo "  (the capture is several times the ring: a reader slower than the rate drops)."
    echo "- Zero-drop = kernel drops 0 (pcap_stats), every frame read, every exchange produced. Veth drops are"
    echo "  frames the veth pair lost before any socket saw them (its own statistics)."
    echo "- \"Rate achieved\" is the sender's average over the file; the veth's receive work (the kernel copying"
    echo "  each frame into the ring) runs on the sender's core. Agent CPU = all of the agent's threads (capture"
    echo "  workers, spool writer, status); capture-worker CPU = the llmtap-capN threads alone, per worker."
    echo "  Per CPU-second columns = captured Mbit / CPU seconds: the rate one core could sustain."
    echo
    echo "| Workers | Rate asked (Mbit/s) | Rate achieved (Mbit/s) | Frames read / sent | Kernel drops | Interface drops + veth drops | Exchanges / in capture | Zero-drop | Agent CPU | Mbit/s per agent CPU-second | Capture-worker CPU (each) | Mbit/s per capture-worker CPU-second |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    best=$(printf '%s\n' "${rows[@]}" | awk -F'|' '{gsub(/ /, "", $11); print $11}' | sort -n | tail -1)
    cbest=$(printf '%s\n' "${rows[@]}" | awk -F'|' '{gsub(/ /, "", $13); print $13}' | sort -n | tail -1)
    fastest=$(printf '%s\n' "${rows[@]}" | awk -F'|' '$9 ~ /yes/ {gsub(/ /, "", $4); print $4}' | sort -n | tail -1)
    f1=$(printf '%s\n' "${rows[@]}" | awk -F'|' '$2+0 == 1 && $9 ~ /yes/ {gsub(/ /, "", $4); print $4}' | sort -n | tail -1)
    echo "- Highest zero-drop rate: ${fastest:-none} Mbit/s (one capture worker: ${f1:-none} Mbit/s); capacity up to $best Mbit/s"
    echo "  per agent CPU-second, $cbest Mbit/s per capture-worker CPU-second, against the goal of 2000 Mbit/s per core."
    echo "- RSS: $soak."
    echo "<!-- live:end -->"
} >"$section"
if grep -q '<!-- live:begin' BENCHMARKS.md; then
    awk -v f="$section" '/<!-- live:begin/{while((getline l < f) > 0) print l; skip=1} /<!-- live:end -->/{skip=0; next} !skip' BENCHMARKS.md >"$tmp/b.md"
else
    { cat BENCHMARKS.md; echo; cat "$section"; } >"$tmp/b.md"
fi
cp "$tmp/b.md" BENCHMARKS.md; rm -f "$section"
echo "BENCHMARKS.md: live capture section written"
