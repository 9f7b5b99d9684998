# bench/lib.sh -- the timing helpers bench/run.sh and bench/azure.sh share
# (sourced; BUILD set by the caller).
#   run CMD...          prints "wall user sys maxrss_kb" (GNU time)
#   measure CMD...      3 runs, the line of the median wall
#   measure_db PCAP ARGS...  as measure for `llmtap replay PCAP --db`, each run
#                       into a fresh spool on tmpfs, removed afterwards
run() { /usr/bin/time -f "%e %U %S %M" "$@" 2>&1 >/dev/null | tail -1; }
measure() {
    local rows=() i
    for i in 1 2 3; do rows+=("$(run "$@")"); done
    printf '%s\n' "${rows[@]}" | sort -n | sed -n 2p
}
measure_db() {
    local rows=() i db
    for i in 1 2 3; do
        db=$(mktemp -d /dev/shm/llmtap-bench.XXXXXX)
        rows+=("$(run "$BUILD/llmtap" replay "$1" --db "$db/spool.db" "${@:2}")")
        rm -rf "$db"
    done
    printf '%s\n' "${rows[@]}" | sort -n | sed -n 2p
}
