#!/usr/bin/env bash
# Side-by-side benchmark: wsecho against single-threaded peers (tokio-tungstenite,
# fastwebsockets, and a raw byte echo that marks the practical limit), every workload
# against every server in turn, round after round, then one markdown table of medians.
#
# It is a benchmark, never a timed test: CI does not run it. Needs 2+ cores (the server is
# pinned to CPU 0, the load generator to CPU 1); --instructions needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: scripts/bench.sh [options]

  --quick            one round of short runs (about a minute)
  --runs N           rounds; each runs every workload on every server (default 5)
  --duration S       measured seconds per run (default 2; --quick 0.5)
  --warmup S         seconds before measuring (default 0.5; --quick 0.2)
  --servers "A B"    servers to compare, from: wsecho tungstenite fastwebsockets raw
                     baseline
                     (default: all four; ratios are to the first of wsecho or the first listed)
  --baseline BIN     a previous wsecho binary, run as server "baseline" right after
                     wsecho (added to --servers), to show a change is within noise
  --only REGEX       only workloads whose id matches REGEX (grep -E)
  --out DIR          where results.txt and table.md go (default target/bench/DATE)
  --tls              the wss:// table: every server over TLS (wsecho --tls-self-signed,
                     tungstenite on tokio-rustls, raw = peer-raw --tls, rustls on mio),
                     workloads pingpong 100x20B, bulk 1 and 16 MiB, idle, connect
                     (default servers: wsecho tungstenite raw)
  --instructions     instead: user-space instructions per echoed message under
                     valgrind --tool=callgrind (default servers: wsecho raw)
  --no-build         use the release binaries already built
  -h, --help         this text
EOF
}

RUNS=5 DURATION=2 WARMUP=0.5 QUICK=0 INSTRUCTIONS=0 BUILD=1 WSECHO_OK=1 TLS=0
SERVERS="" ONLY="" OUT="" BASELINE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --runs) RUNS="$2"; shift ;;
        --duration) DURATION="$2"; shift ;;
        --warmup) WARMUP="$2"; shift ;;
        --servers) SERVERS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --baseline) BASELINE="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        --instructions) INSTRUCTIONS=1 ;;
        --tls) TLS=1 ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    RUNS=1 DURATION=0.5 WARMUP=0.2
fi
if [ -z "$SERVERS" ]; then
    if [ "$INSTRUCTIONS" = 1 ]; then SERVERS="wsecho raw"
    elif [ "$TLS" = 1 ]; then SERVERS="wsecho tungstenite raw"
    else SERVERS="wsecho tungstenite fastwebsockets raw"; fi
fi
if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || { echo "bench.sh: --baseline $BASELINE is not an executable" >&2; exit 2; }
    case " $SERVERS " in
        *" baseline "*) ;;
        *" wsecho "*) SERVERS=$(echo " $SERVERS " | sed 's/ wsecho / wsecho baseline /; s/^ //; s/ $//') ;;
        *) SERVERS="baseline $SERVERS" ;;
    esac
fi
OUT="${OUT:-target/bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
BIN=target/release

log() { echo "bench.sh: $*" >&2; }

# --- build -----------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
    log "building release binaries"
    cargo build --release -p wsecho-bench --bins
    # wsecho is written alongside this harness: a broken tree drops it from the comparison
    # (rather than measuring a stale binary) instead of stopping the peers' measurements.
    if ! cargo build --release -p wsecho --bin wsecho; then
        log "wsecho does not build; benchmarking without it"
        WSECHO_OK=0
    fi
fi
available=""
for s in $SERVERS; do
    case "$s" in
        wsecho) bin=$BIN/wsecho ;;
        baseline)
            bin="$BASELINE"
            [ -n "$bin" ] || { log "server baseline needs --baseline BIN"; exit 2; } ;;
        tungstenite|fastwebsockets|raw) bin=$BIN/peer-$s ;;
        *) log "unknown server $s"; exit 2 ;;
    esac
    if [ "$s" = wsecho ] && [ "$WSECHO_OK" = 0 ]; then continue; fi
    if [ -x "$bin" ]; then available="$available $s"; else log "no $bin; skipping $s"; fi
done
SERVERS="${available# }"
[ -n "$SERVERS" ] || { log "no server to benchmark"; exit 1; }

# --- pinning ---------------------------------------------------------------------------
# One core each, so neither process steals the other's CPU and each server's one thread
# gets a whole core.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_SERVER=(taskset -c 0) PIN_LOADGEN=(taskset -c 1)
else
    log "fewer than 2 CPUs or no taskset: running unpinned"
    PIN_SERVER=() PIN_LOADGEN=()
fi

# --- servers ---------------------------------------------------------------------------
SERVER_PID="" SERVER_PORT=""

# server_cmd NAME: sets CMD to the command line that starts server NAME on a free port.
server_cmd() {
    case "$1" in
        wsecho) CMD=("$BIN/wsecho" --host 127.0.0.1 --port 0) ;;
        baseline) CMD=("$BASELINE" --host 127.0.0.1 --port 0) ;;
        *) CMD=("$BIN/peer-$1" --host 127.0.0.1 --port 0) ;;
    esac
    if [ "$TLS" = 1 ]; then
        if [ "$1" = wsecho ] || [ "$1" = baseline ]; then CMD+=(--tls-self-signed); else CMD+=(--tls); fi
    fi
}

# start_server NAME [WRAPPER...]: starts NAME on a free port and waits for its listening
# line; sets SERVER_PID (the server itself: the subshell execs it) and SERVER_PORT.
start_server() {
    local name="$1"; shift
    local out="$OUT/server.out" err="$OUT/server-$name.err"
    : >"$out"
    # The idle workload holds 10,000 connections: lift the descriptor limit first.
    server_cmd "$name"
    (ulimit -n "$(ulimit -Hn)"; exec "$@" "${CMD[@]}" >"$out" 2>>"$err") &
    SERVER_PID=$!
    for _ in $(seq 400); do
        # The first URL's port: 'listening on ws://ADDR' (wsecho with TLS adds
        # ' and wss://ADDR (...)'; the peers with TLS print 'wss://ADDR').
        SERVER_PORT=$(sed -n 's/.*listening on wss\{0,1\}:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$out" | head -n1)
        [ -n "$SERVER_PORT" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    log "$name did not start (see $err)"
    stop_server
    return 1
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID="" SERVER_PORT=""
}
trap stop_server EXIT

# raw_args NAME: sets RAW to the loadgen flags NAME needs (the raw peer echoes masked frames).
raw_args() {
    RAW=()
    if [ "$1" = raw ]; then RAW=(--raw); fi
    if [ "$TLS" = 1 ]; then RAW+=(--tls); fi
}

# --- instructions per message ----------------------------------------------------------
if [ "$INSTRUCTIONS" = 1 ]; then
    command -v valgrind >/dev/null || { log "valgrind is not installed"; exit 1; }
    # Two runs that differ only in message count: the difference cancels startup,
    # connection setup and shutdown, leaving the cost of the extra echoes alone.
    # Note: valgrind counts each iteration of a rep-prefixed string instruction (rep stosb
    # in memset, rep movsb in memcpy) as one instruction, so code that clears or copies big
    # buffers per message scores far worse here than its CPU time suggests.
    M1=20000 M2=120000
    echo "| server | Ir, $M1 msgs | Ir, $M2 msgs | instructions / message |"
    echo "|---|---|---|---|"
    for s in $SERVERS; do
        declare -A ir=()
        for m in $M1 $M2; do
            cg="$OUT/callgrind.$s.$m.out"
            ir[$m]=""
            start_server "$s" valgrind --tool=callgrind --callgrind-out-file="$cg" || break
            raw_args "$s"
            if "${PIN_LOADGEN[@]}" "$BIN/loadgen" pingpong --port "$SERVER_PORT" "${RAW[@]}" \
                -c 100 -s 20 --messages "$m" --timeout 600 --tag "server=$s" \
                >>"$OUT/instructions.txt" 2>>"$OUT/loadgen.err"; then
                stop_server # callgrind writes its totals as the server exits on SIGTERM
                ir[$m]=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$cg")
            else
                stop_server
                log "$s: $(tail -n1 "$OUT/loadgen.err")"
                break
            fi
        done
        if [ -n "${ir[$M1]:-}" ] && [ -n "${ir[$M2]:-}" ]; then
            per=$(awk -v a="${ir[$M1]}" -v b="${ir[$M2]}" -v n=$((M2 - M1)) 'BEGIN { printf "%.0f", (b - a) / n }')
            echo "| $s | ${ir[$M1]} | ${ir[$M2]} | $per |"
        else
            echo "| $s | failed | failed | — |"
        fi
        unset ir
    done | tee "$OUT/instructions.md"
    exit 0
fi

# --- workloads -------------------------------------------------------------------------
# id|loadgen arguments. Ids name the table's rows, so they carry no spaces.
WORKLOADS=(
    "pingpong-100x20B-bin|pingpong -c 100 -s 20 --kind binary"
    "pingpong-100x20B-text|pingpong -c 100 -s 20 --kind text"
    "pingpong-1000x20B-bin|pingpong -c 1000 -s 20 --kind binary"
    "pingpong-1000x20B-text|pingpong -c 1000 -s 20 --kind text"
    "pingpong-10x16KiB|pingpong -c 10 -s 16384"
    "pingpong-20x20B-8inflight|pingpong -c 20 -k 8 -s 20"
    "rate-50k-100x20B|rate -c 100 -s 20 --rate 50000"
    "bulk-1MiB-bin|bulk -c 1 -k 1 -s 1048576"
    "bulk-16MiB-bin-2inflight|bulk -c 1 -k 2 -s 16777216"
    "bulk-16MiB-text-2inflight|bulk -c 1 -k 2 -s 16777216 --kind text"
    "idle-10000|idle -c 10000 --concurrency 256"
    "connect-64|connect --concurrency 64"
)
if [ "$TLS" = 1 ]; then
    WORKLOADS=(
        "tls-pingpong-100x20B-bin|pingpong -c 100 -s 20 --kind binary"
        "tls-bulk-1MiB-bin|bulk -c 1 -k 1 -s 1048576"
        "tls-bulk-16MiB-bin-2inflight|bulk -c 1 -k 2 -s 16777216"
        "tls-idle-10000|idle -c 10000 --concurrency 256"
        "tls-connect-64|connect --concurrency 64"
    )
fi

RESULTS="$OUT/results.txt"
: >"$RESULTS"
total=0
for w in "${WORKLOADS[@]}"; do
    if [ -z "$ONLY" ] || grep -qE "$ONLY" <<<"${w%%|*}"; then total=$((total + 1)); fi
done
n_servers=$(wc -w <<<"$SERVERS")
log "$RUNS round(s) x $total workload(s) x $n_servers server(s): $SERVERS; results in $OUT"

# Rounds outermost, servers innermost (A B C D, A B C D, ...): drift in the machine's
# state spreads over every server instead of favouring whichever ran first.
for run in $(seq "$RUNS"); do
    for w in "${WORKLOADS[@]}"; do
        id="${w%%|*}"
        read -ra args <<<"${w#*|}"
        if [ -n "$ONLY" ] && ! grep -qE "$ONLY" <<<"$id"; then continue; fi
        for s in $SERVERS; do
            tag="workload=$id server=$s run=$run"
            # A fresh server per run, so peak RSS and idle RSS belong to this workload alone.
            if ! start_server "$s" "${PIN_SERVER[@]}"; then
                echo "$tag error=start" >>"$RESULTS"
                continue
            fi
            raw_args "$s"
            if line=$("${PIN_LOADGEN[@]}" "$BIN/loadgen" "${args[@]}" --port "$SERVER_PORT" --server-pid "$SERVER_PID" \
                "${RAW[@]}" --duration "$DURATION" --warmup "$WARMUP" --tag "$tag" 2>>"$OUT/loadgen.err"); then
                echo "$line" >>"$RESULTS"
            else
                log "$tag failed: $(tail -n1 "$OUT/loadgen.err")"
                echo "$tag error=loadgen" >>"$RESULTS"
            fi
            stop_server
            echo >&2 -n "."
        done
    done
done
echo >&2

"$BIN/bench-report" "$RESULTS" wsecho | tee "$OUT/table.md"
