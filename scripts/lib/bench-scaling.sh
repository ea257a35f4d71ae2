# shellcheck shell=bash
# scripts/bench.sh --scaling: wsecho --threads N for N = 1, 2, 4, ... up to the core
# count, each with the load generators it leaves room for; sourced by bench.sh, which
# sets BIN, OUT, RUNS, DURATION, WARMUP and log().
#
# Cores are split: the server gets CPUs 0..N-1 (taskset), one load generator process
# per remaining core, pinned there (each: pingpong, 100 connections x 20 B). With no core
# left (N equal to the core count, as N = 2 on a 2-core box), one load generator runs
# unpinned, sharing the server's cores: what such a box allows. Every figure is the
# median over --runs rounds, the rounds outermost so that drift spreads over every N.
# Efficiency is msgs/s at N over N times msgs/s at 1 loop.

scaling_main() {
    local cores n counts=() rounds="$RUNS"
    cores=$(nproc)
    command -v taskset >/dev/null || { log "--scaling needs taskset"; exit 1; }
    for ((n = 1; n <= cores; n *= 2)); do counts+=("$n"); done
    local results="$OUT/scaling.txt"
    : >"$results"
    log "scaling on $cores cores: loops ${counts[*]}, $rounds round(s) of ${DURATION}s"
    for run in $(seq "$rounds"); do
        for n in "${counts[@]}"; do
            scaling_run "$n" "$cores" "$run" >>"$results"
            echo >&2 -n "."
        done
    done
    echo >&2
    scaling_table "$results" "$cores" "${counts[@]}" | tee "$OUT/scaling.md"
}

# scaling_run N CORES RUN: one measurement; prints "loops=N run=RUN msgs_per_s=X gens=G".
scaling_run() {
    local n="$1" cores="$2" run="$3" out="$OUT/scaling-server.out" port="" pid
    local server_cpus="0-$((n - 1))"
    (ulimit -n "$(ulimit -Hn)"; exec taskset -c "$server_cpus" "$BIN/wsecho" --host 127.0.0.1 \
        --port 0 --threads "$n" >"$out" 2>>"$OUT/scaling-server.err") &
    pid=$!
    for _ in $(seq 400); do
        port=$(sed -n 's/.*listening on ws:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$out" | head -n1)
        [ -n "$port" ] && break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        log "wsecho --threads $n did not start"
        kill "$pid" 2>/dev/null || true
        echo "loops=$n run=$run error=start"
        return
    fi
    local pins=() c
    for ((c = n; c < cores; c++)); do pins+=("taskset -c $c"); done
    [ "${#pins[@]}" -gt 0 ] || pins=("")
    local gen=0 files=()
    for pin in "${pins[@]}"; do
        gen=$((gen + 1))
        local f="$OUT/scaling-gen.$gen"
        files+=("$f")
        # shellcheck disable=SC2086 # $pin is a command prefix or nothing
        $pin "$BIN/loadgen" pingpong -c 100 -s 20 --port "$port" --duration "$DURATION" \
            --warmup "$WARMUP" --tag "loops=$n gen=$gen" >"$f" 2>>"$OUT/loadgen.err" &
    done
    local wait_gens=1
    for job in $(jobs -p); do
        [ "$job" = "$pid" ] && continue
        wait "$job" || wait_gens=0
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ "$wait_gens" = 0 ]; then
        echo "loops=$n run=$run error=loadgen"
        return
    fi
    local total
    total=$(cat "${files[@]}" | sed -n 's/.* msgs_per_s=\([0-9.]*\).*/\1/p' |
        awk '{ s += $1 } END { printf "%.0f", s }')
    echo "loops=$n run=$run msgs_per_s=$total gens=$gen"
}

# scaling_table FILE CORES N...: the markdown table of medians.
scaling_table() {
    local file="$1" cores="$2"
    shift 2
    local base="" n med gens per eff
    echo "| loops | server CPUs | load generators | msgs/s (median) | per loop | efficiency vs N x 1 loop |"
    echo "|---|---|---|---|---|---|"
    for n in "$@"; do
        med=$(sed -n "s/^loops=$n run=[0-9]* msgs_per_s=\([0-9]*\).*/\1/p" "$file" | sort -n |
            awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
        gens=$(sed -n "s/^loops=$n run=.* gens=\([0-9]*\).*/\1/p" "$file" | head -n1)
        if [ -z "$med" ]; then
            echo "| $n | 0-$((n - 1)) | — | failed | — | — |"
            continue
        fi
        [ -n "$base" ] || base="$med"
        per=$(awk -v m="$med" -v n="$n" 'BEGIN { printf "%.0f", m / n }')
        eff=$(awk -v m="$med" -v n="$n" -v b="$base" 'BEGIN { printf "%.2f", m / (n * b) }')
        local where="pinned to the other $gens core(s)"
        [ "$n" -lt "$cores" ] || where="1, unpinned (sharing the server's cores)"
        echo "| $n | 0-$((n - 1)) | $where | $med | $per | $eff |"
    done
    echo
    echo "$cores cores ($(nproc) online); pingpong 100 connections x 20 B per load generator."
}
