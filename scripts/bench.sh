#!/usr/bin/env bash
# Side-by-side benchmark: wsecho against single-threaded peers (tokio-tungstenite,
# fastwebsockets, and a raw byte echo that marks the practical limit), every workload
# against every server in turn, round after round, then one markdown table of medians.
#
# It is a benchmark, never a timed test: CI does not run it. Needs 2+ cores (the server is
# pinned to CPU 0, the load generator to CPU 1); --instructions and --deflate-cost need
# valgrind.
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
                     baseline (and wsecho-h2, baseline-h2: see --h2)
                     (default: all four; ratios are to the first of wsecho or the first listed)
  --baseline BIN     a previous wsecho binary, run as server "baseline" right after
                     wsecho (added to --servers), to show a change is within noise
  --only REGEX       only workloads whose id matches REGEX (grep -E)
  --out DIR          where results.txt and table.md go (default bench/DATE in cargo's
                     target directory)
  --tls              the wss:// table: every server over TLS (wsecho --tls-self-signed,
                     tungstenite on tokio-rustls, raw = peer-raw --tls, rustls on mio),
                     workloads pingpong 100x20B, bulk 1 and 16 MiB, idle, connect
                     (default servers: wsecho tungstenite raw)
  --h2               add server wsecho-h2 right after wsecho (and baseline-h2 after
                     baseline with --baseline): the same wsecho, the load
                     generator speaking HTTP/2 (loadgen --h2: one RFC 8441 WebSocket
                     stream per h2c connection, or per ALPN h2 connection with --tls),
                     on pingpong 100x20B binary, bulk 1 MiB and idle; its ratio to
                     wsecho is HTTP/2 against HTTP/1.1 (the peers speak no HTTP/2)
  --instructions     instead: user-space instructions per echoed message under
                     valgrind --tool=callgrind (default servers: wsecho raw)
  --deflate-cost     instead: the cost of permessage-deflate per message, 1 KiB and
                     64 KiB of text, context takeover on and off, through wsecho
                     (deflate-client) against zlib-rs doing the same codec work
                     alone (deflate-limit): instructions under callgrind (one round,
                     they barely vary) and CPU time (--runs rounds, medians)
                     (servers: wsecho, and baseline with --baseline)
  --scaling          instead: wsecho --threads N for N = 1, 2, 4, ... up to the core
                     count, the server on CPUs 0..N-1 and one load generator per
                     remaining core (one unpinned, sharing, when none remains);
                     msgs/s per N and the efficiency against N x one loop
                     (scripts/lib/bench-scaling.sh; --runs rounds, medians)
  --no-build         use the release binaries already built
  -h, --help         this text
EOF
}

RUNS=5 DURATION=2 WARMUP=0.5 QUICK=0 INSTRUCTIONS=0 BUILD=1 WSECHO_OK=1 TLS=0 DEFLATE_COST=0
SCALING=0 H2=0
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
        --deflate-cost) DEFLATE_COST=1 ;;
        --scaling) SCALING=1 ;;
        --tls) TLS=1 ;;
        --h2) H2=1 ;;
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
    if [ "$DEFLATE_COST" = 1 ]; then SERVERS="wsecho"
    elif [ "$INSTRUCTIONS" = 1 ]; then SERVERS="wsecho raw"
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
if [ "$H2" = 1 ]; then
    if [ "$INSTRUCTIONS" = 1 ] || [ "$DEFLATE_COST" = 1 ] || [ "$SCALING" = 1 ]; then
        echo "bench.sh: --h2 adds rows to the workload table only" >&2; exit 2
    fi
    # Beside wsecho, so that its ratio is to wsecho over HTTP/1.1 in the same rounds.
    case " $SERVERS " in
        *" wsecho-h2 "*) ;;
        *" wsecho "*) SERVERS=$(echo " $SERVERS " | sed 's/ wsecho / wsecho wsecho-h2 /; s/^ //; s/ $//') ;;
        *) SERVERS="wsecho wsecho-h2 $SERVERS" ;;
    esac
    # The previous binary over HTTP/2 too, right after it, to show a change is within
    # noise on the HTTP/2 path.
    if [ -n "$BASELINE" ] && [[ " $SERVERS " != *" baseline-h2 "* ]]; then
        SERVERS=$(echo " $SERVERS " | sed 's/ baseline / baseline baseline-h2 /; s/^ //; s/ $//')
    fi
fi
# The workloads wsecho-h2 runs (ids, with the TLS table's prefix): the figures issue 19
# asks of HTTP/2, not the whole table over again.
H2_WORKLOADS='^(tls-)?(pingpong-100x20B-bin|bulk-1MiB-bin|idle-10000)$'
# Every binary from cargo's target directory (CARGO_TARGET_DIR is honoured).
# shellcheck source=scripts/lib/target.sh
source scripts/lib/target.sh
TARGET_DIR="$(target_dir)"
OUT="${OUT:-$TARGET_DIR/bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
BIN="$TARGET_DIR/release"

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
# --- scaling over cores -----------------------------------------------------------------
if [ "$SCALING" = 1 ]; then
    [ "$WSECHO_OK" = 1 ] || { log "--scaling needs wsecho to build"; exit 1; }
    # shellcheck source=lib/bench-scaling.sh
    source "$(dirname "$0")/lib/bench-scaling.sh"
    scaling_main
    exit 0
fi

available=""
for s in $SERVERS; do
    case "$s" in
        wsecho|wsecho-h2) bin=$BIN/wsecho ;;
        baseline|baseline-h2)
            bin="$BASELINE"
            [ -n "$bin" ] || { log "server baseline needs --baseline BIN"; exit 2; } ;;
        tungstenite|fastwebsockets|raw) bin=$BIN/peer-$s ;;
        *) log "unknown server $s"; exit 2 ;;
    esac
    if { [ "$s" = wsecho ] || [ "$s" = wsecho-h2 ]; } && [ "$WSECHO_OK" = 0 ]; then continue; fi
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
        wsecho|wsecho-h2) CMD=("$BIN/wsecho" --host 127.0.0.1 --port 0) ;;
        baseline|baseline-h2) CMD=("$BASELINE" --host 127.0.0.1 --port 0) ;;
        *) CMD=("$BIN/peer-$1" --host 127.0.0.1 --port 0) ;;
    esac
    if [ "$TLS" = 1 ]; then
        case "$1" in
            wsecho|wsecho-h2|baseline|baseline-h2) CMD+=(--tls-self-signed) ;;
            *) CMD+=(--tls) ;;
        esac
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

# raw_args NAME: sets RAW to the loadgen flags NAME needs (the raw peer echoes masked frames;
# wsecho-h2 is wsecho spoken to over HTTP/2).
raw_args() {
    RAW=()
    if [ "$1" = raw ]; then RAW=(--raw); fi
    if [ "$1" = wsecho-h2 ] || [ "$1" = baseline-h2 ]; then RAW=(--h2); fi
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

# --- permessage-deflate cost ----------------------------------------------------------
# What one permessage-deflate echo costs wsecho against the limit: deflate-limit inflating
# the same client payloads and compressing the echoes with zlib-rs alone (flate2, raw
# DEFLATE, window 15, level 6, sync flush, the tail removed and put back, reset after
# every message without context takeover), with nothing around it: no sockets, no
# framing, no UTF-8 check. Both sides use the same messages (wsecho_bench::deflate).
if [ "$DEFLATE_COST" = 1 ]; then
    command -v valgrind >/dev/null || { log "valgrind is not installed"; exit 1; }
    for s in $SERVERS; do
        case "$s" in wsecho|baseline) ;; *) log "--deflate-cost measures wsecho (and baseline) only, not $s"; exit 2 ;; esac
    done
    CELLS=("1024 on" "1024 off" "65536 on" "65536 off")
    # Messages per run: the instruction runs differ only in their count (M1, M2), which
    # cancels startup, the handshake and the verified first round of every distinct
    # message; the CPU runs are sized to about a second each.
    m_ir() { if [ "$1" -le 4096 ]; then echo "200 1200"; else echo "10 40"; fi; }
    m_cpu() {
        local m; if [ "$1" -le 4096 ]; then m=20000; else m=500; fi
        [ "$QUICK" = 1 ] && m=$((m / 4))
        echo "$m"
    }
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
    ir_of() { sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$1"; }
    RESULTS="$OUT/deflate-cost.txt"
    : >"$RESULTS"

    # Messages in flight for the CPU runs: with one, every message costs the server a
    # wake-up from idle on its own core as well (on this 2-core VM a plain 1 KiB echo then
    # takes 24 µs of server CPU, against 2.5 µs with 16 in flight); with several, the next
    # message is waiting when an echo is done, as in the limit's loop.
    k_cpu() { if [ "$1" -le 4096 ]; then echo 16; else echo 4; fi; }

    # deflate_client SERVER SIZE TAKEOVER|plain MESSAGES INFLIGHT [WRAPPER...]: one run of
    # the client against a fresh SERVER (under WRAPPER, e.g. valgrind); prints its line.
    deflate_client() {
        local srv="$1" size="$2" mode="$3" msgs="$4" inflight="$5"; shift 5
        local flags=(--takeover "$mode") line
        [ "$mode" = plain ] && flags=(--plain)
        start_server "$srv" "$@" || return 1
        if line=$("${PIN_LOADGEN[@]}" "$BIN/deflate-client" --port "$SERVER_PORT" --server-pid "$SERVER_PID" \
            --size "$size" "${flags[@]}" --messages "$msgs" --inflight "$inflight" 2>>"$OUT/deflate-client.err"); then
            stop_server
            echo "$line"
        else
            stop_server
            log "$srv $size $mode: $(tail -n1 "$OUT/deflate-client.err")"
            return 1
        fi
    }

    # Instructions: one round (callgrind's counts of the same run differ by well under 1 %),
    # one message in flight.
    log "instructions per message under callgrind (a few minutes)"
    for cell in "${CELLS[@]}" "1024 plain" "65536 plain" "20 plain"; do
        read -r size mode <<<"$cell"
        read -r m1 m2 <<<"$(m_ir "$size")"
        [ "$mode" = plain ] && { m1=2000; m2=12000; }
        # The limit, and (once a size) the limit with the UTF-8 check a server must make.
        case "$mode" in on) progs=(limit limit-utf8) ;; off) progs=(limit) ;; *) progs=() ;; esac
        for p in "${progs[@]}" $SERVERS; do
            declare -A ir=()
            for m in $m1 $m2; do
                cg="$OUT/callgrind.deflate.$p.$size.$mode.$m"
                case "$p" in
                    limit|limit-utf8)
                        utf8=(); [ "$p" = limit-utf8 ] && utf8=(--utf8)
                        valgrind --tool=callgrind --callgrind-out-file="$cg" "$BIN/deflate-limit" \
                            --size "$size" --takeover "$mode" --messages "$m" "${utf8[@]}" \
                            >/dev/null 2>>"$OUT/deflate-limit.err" || { log "deflate-limit failed"; break; } ;;
                    *)
                        deflate_client "$p" "$size" "$mode" "$m" 1 valgrind --tool=callgrind \
                            --callgrind-out-file="$cg" >/dev/null || break ;;
                esac
                ir[$m]=$(ir_of "$cg")
            done
            if [ -n "${ir[$m1]:-}" ] && [ -n "${ir[$m2]:-}" ]; then
                per=$(awk -v a="${ir[$m1]}" -v b="${ir[$m2]}" -v n=$((m2 - m1)) 'BEGIN { printf "%.0f", (b - a) / n }')
                echo "metric=ir program=$p size=$size takeover=$mode value=$per" >>"$RESULTS"
            fi
            unset ir
            echo >&2 -n "."
        done
    done
    echo >&2

    # CPU time: rounds outermost, the limit and the servers in turn within each cell; the
    # limit on the server's CPU.
    log "$RUNS round(s) of CPU time per message"
    for run in $(seq "$RUNS"); do
        for cell in "${CELLS[@]}" "1024 plain" "65536 plain"; do
            read -r size mode <<<"$cell"
            m=$(m_cpu "$size")
            if [ "$mode" != plain ] && line=$("${PIN_SERVER[@]}" "$BIN/deflate-limit" --size "$size" \
                --takeover "$mode" --messages "$m" 2>>"$OUT/deflate-limit.err"); then
                echo "metric=cpu program=limit size=$size takeover=$mode run=$run value=$(field cpu_ns_per_msg "$line")" >>"$RESULTS"
            fi
            for s in $SERVERS; do
                if line=$(deflate_client "$s" "$size" "$mode" "$m" "$(k_cpu "$size")" "${PIN_SERVER[@]}"); then
                    echo "metric=cpu program=$s size=$size takeover=$mode run=$run value=$(field server_cpu_ns_per_msg "$line")" >>"$RESULTS"
                fi
            done
            echo >&2 -n "."
        done
    done
    echo >&2

    # The table: instructions (one round) and the median CPU time (min–max) per message.
    # value PROGRAM SIZE MODE METRIC: the median of the matching values ("" if none).
    value() {
        awk -v p="$1" -v s="$2" -v t="$3" -v m="$4" '
            $0 !~ ("metric=" m " ") || $0 !~ ("program=" p " ") || $0 !~ ("size=" s " ") || $0 !~ ("takeover=" t " ") { next }
            { sub(/.*value=/, ""); v[++c] = $0 + 0 }
            END {
                if (!c) exit
                for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
                med = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
                printf "%s %s %s", med, v[1], v[c]
            }' "$RESULTS"
    }
    kib() { if [ "$1" -ge 1024 ]; then echo "$(($1 / 1024)) KiB"; else echo "$1 B"; fi; }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", b / a; else printf "—" }'; }
    us() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }
    {
        echo "| payload | takeover | server | limit Ir/msg | server Ir/msg | ratio | limit CPU µs/msg | server CPU µs/msg | ratio |"
        echo "|---|---|---|---|---|---|---|---|---|"
        for cell in "${CELLS[@]}"; do
            read -r size mode <<<"$cell"
            read -r li _ <<<"$(value limit "$size" "$mode" ir)"
            read -r lc lcmin lcmax <<<"$(value limit "$size" "$mode" cpu)"
            for s in $SERVERS; do
                read -r si _ <<<"$(value "$s" "$size" "$mode" ir)"
                read -r sc scmin scmax <<<"$(value "$s" "$size" "$mode" cpu)"
                echo "| $(kib "$size") text | $mode | $s | ${li:-—} | ${si:-—} | $(ratio "${li:-0}" "${si:-0}") |" \
                    "$(us "${lc:-0}") ($(us "${lcmin:-0}")–$(us "${lcmax:-0}")) |" \
                    "$(us "${sc:-0}") ($(us "${scmin:-0}")–$(us "${scmax:-0}")) | $(ratio "${lc:-0}" "${sc:-0}") |"
            done
        done
        echo
        echo "Limit: deflate-limit, zlib-rs alone on the same payloads. Ir: one message in flight."
        echo "CPU: median (min–max) of $RUNS round(s), $(k_cpu 1024) messages in flight at 1 KiB, $(k_cpu 65536) at 64 KiB."
        echo
        echo "| payload | UTF-8 check in the limit, Ir/msg | plain echo of the text, no deflate: Ir/msg, CPU µs/msg |"
        echo "|---|---|---|"
        for size in 1024 65536; do
            read -r on _ <<<"$(value limit-utf8 "$size" on ir)"
            read -r off _ <<<"$(value limit "$size" on ir)"
            utf8=$(awk -v a="${on:-0}" -v b="${off:-0}" 'BEGIN { if (a && b) printf "%.0f", a - b; else printf "—" }')
            plain=""
            for s in $SERVERS; do
                read -r pl _ <<<"$(value "$s" "$size" plain ir)"
                read -r pc _ <<<"$(value "$s" "$size" plain cpu)"
                plain="$plain${plain:+, }$s ${pl:-—}, $(us "${pc:-0}")"
            done
            echo "| $(kib "$size") text | $utf8 | $plain |"
        done
        small=""
        for s in $SERVERS; do
            read -r pl _ <<<"$(value "$s" 20 plain ir)"
            small="$small${small:+, }$s ${pl:-—}"
        done
        echo
        echo "Fixed cost of a message through the plain echo path (20 B text, same client): $small Ir."
    } | tee "$OUT/deflate-cost.md"
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
            if { [ "$s" = wsecho-h2 ] || [ "$s" = baseline-h2 ]; } &&
                ! grep -qE "$H2_WORKLOADS" <<<"$id"; then continue; fi
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
