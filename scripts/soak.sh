#!/usr/bin/env bash
# Soak test: 10,000 WebSocket connections echoing against one release wsecho for N minutes,
# then all closed; the server's resident memory and descriptor count must come back to
# their idle baseline.
#
# Every connection is proved to echo for the whole run, not merely to be open: wsecho runs
# with --idle-timeout (default 30 s) and loadgen pingpong sends a connection's next message
# only once its previous echo has come back and been verified. A connection that went
# without an echo for the idle timeout would be closed by the server with 1001, which both
# fails loadgen ("server closed the connection before the client did") and shows in the
# server's counters (close codes sent), checked here after the run.
#
# Loopback only; every wait is bounded. Not part of CI (it takes minutes and 20,000+ file
# descriptors). Exits non-zero if loadgen fails, a connection was closed by the server
# during the run, the descriptor count does not return to baseline, or RSS stays more than
# 8 MiB above baseline.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: scripts/soak.sh [options]

  --minutes N       minutes of echoing (default 3)
  --conns N         connections (default 10000)
  --size BYTES      message payload size (default 64)
  --idle-proof S    wsecho --idle-timeout: each connection must echo at least every S
                    seconds or be closed, failing the run (default 30)
  --sample S        seconds between progress samples (default 10)
  --rss-slack MIB   RSS allowed above baseline after the run (default 8)
  --out DIR         where logs go (default soak/DATE in cargo's target directory)
  --no-build        use the release binaries already built
  -h, --help        this text
EOF
}

MINUTES=3 CONNS=10000 SIZE=64 IDLE_PROOF=30 SAMPLE=10 RSS_SLACK_MIB=8 OUT="" BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES="$2"; shift ;;
        --conns) CONNS="$2"; shift ;;
        --size) SIZE="$2"; shift ;;
        --idle-proof) IDLE_PROOF="$2"; shift ;;
        --sample) SAMPLE="$2"; shift ;;
        --rss-slack) RSS_SLACK_MIB="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "soak.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
# Every binary from cargo's target directory (CARGO_TARGET_DIR is honoured).
# shellcheck source=scripts/lib/target.sh
source scripts/lib/target.sh
TARGET_DIR="$(target_dir)"
OUT="${OUT:-$TARGET_DIR/soak/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
BIN="$TARGET_DIR/release"
DURATION=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
# Connecting and upgrading every connection must fit in this many seconds (loadgen --timeout).
SETUP_TIMEOUT=120

log() { echo "soak.sh: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# --- build -----------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
    log "building release wsecho and loadgen"
    cargo build --release -p wsecho --bin wsecho
    cargo build --release -p wsecho-bench --bin loadgen
fi
[ -x "$BIN/wsecho" ] || die "no $BIN/wsecho"
[ -x "$BIN/loadgen" ] || die "no $BIN/loadgen"

# --- descriptors -----------------------------------------------------------------------
# Server and load generator each hold one socket per connection: lift the soft limit of
# this shell (inherited by both) to the hard limit.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ]; then
    [ "$hard" -ge $((CONNS + 64)) ] ||
        die "the hard descriptor limit ($hard) is too low for $CONNS connections"
fi
ulimit -n "$hard"

# --- helpers ---------------------------------------------------------------------------
SERVER_PID="" LOADGEN_PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    for pid in $LOADGEN_PID $SERVER_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
fd_count() { find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
alive() { kill -0 "$1" 2>/dev/null; }

# summary: asks the server for its counters (SIGUSR1) and prints the new summary line.
summary() {
    local before after
    before=$(grep -c 'connections: .* accepted' "$OUT/wsecho.log" || true)
    kill -USR1 "$SERVER_PID"
    for _ in $(seq 100); do
        after=$(grep -c 'connections: .* accepted' "$OUT/wsecho.log" || true)
        [ "$after" -gt "$before" ] && break
        sleep 0.02
    done
    [ "$after" -gt "$before" ] || die "no summary from wsecho within 2 s of SIGUSR1"
    grep 'connections: .* accepted' "$OUT/wsecho.log" | tail -n1
}
open_of() { sed -n 's/.* \([0-9][0-9]*\) open;.*/\1/p' <<<"$1"; }
messages_of() { sed -n 's/.*; messages: \([0-9][0-9]*\);.*/\1/p' <<<"$1"; }
closes_of() { sed -n 's/.*close codes sent: *//p' <<<"$1"; }

# --- server ----------------------------------------------------------------------------
: >"$OUT/wsecho.out"
RUST_LOG=wsecho=info "$BIN/wsecho" --host 127.0.0.1 --port 0 --idle-timeout "$IDLE_PROOF" \
    >"$OUT/wsecho.out" 2>"$OUT/wsecho.log" &
SERVER_PID=$!
PORT=""
for _ in $(seq 200); do
    PORT=$(sed -n 's/.*listening on ws:\/\/.*:\([0-9][0-9]*\).*/\1/p' "$OUT/wsecho.out" | head -n1)
    [ -n "$PORT" ] && break
    alive "$SERVER_PID" || break
    sleep 0.05
done
[ -n "$PORT" ] || die "wsecho did not start (see $OUT/wsecho.log)"
sleep 0.5
BASE_RSS=$(rss_kib) BASE_FDS=$(fd_count)
log "wsecho pid $SERVER_PID on port $PORT; idle baseline: RSS $BASE_RSS KiB, $BASE_FDS fds"

# --- load ------------------------------------------------------------------------------
log "$CONNS connections, pingpong ${SIZE}-byte binary messages, ${MINUTES} min; logs in $OUT"
"$BIN/loadgen" pingpong --port "$PORT" --server-pid "$SERVER_PID" -c "$CONNS" -k 1 -s "$SIZE" \
    --concurrency 256 --timeout "$SETUP_TIMEOUT" --warmup 1 --duration "$DURATION" \
    --tag "soak conns=$CONNS minutes=$MINUTES" >"$OUT/loadgen.out" 2>"$OUT/loadgen.err" &
LOADGEN_PID=$!

PEAK_RSS=$BASE_RSS PEAK_FDS=$BASE_FDS MAX_OPEN=0
start=$(date +%s)
limit=$((start + SETUP_TIMEOUT + DURATION + 60))
last_msgs=0
while alive "$LOADGEN_PID"; do
    [ "$(date +%s)" -lt "$limit" ] || die "loadgen still running $((limit - start)) s after start"
    for _ in $(seq $((SAMPLE * 10))); do
        alive "$LOADGEN_PID" || break
        sleep 0.1
    done
    alive "$LOADGEN_PID" || break
    rss=$(rss_kib) fds=$(fd_count) line=$(summary)
    open=$(open_of "$line") msgs=$(messages_of "$line")
    [ "$rss" -gt "$PEAK_RSS" ] && PEAK_RSS=$rss
    [ "$fds" -gt "$PEAK_FDS" ] && PEAK_FDS=$fds
    [ "$open" -gt "$MAX_OPEN" ] && MAX_OPEN=$open
    printf 'soak.sh: t=%4ss  RSS %7s KiB  fds %6s  open %6s  messages %11s (+%s)  closes sent: %s\n' \
        "$(($(date +%s) - start))" "$rss" "$fds" "$open" "$msgs" "$((msgs - last_msgs))" \
        "$(closes_of "$line")" >&2
    last_msgs=$msgs
done
if ! wait "$LOADGEN_PID"; then
    LOADGEN_PID=""
    die "loadgen failed: $(tail -n3 "$OUT/loadgen.err")"
fi
LOADGEN_PID=""
result=$(cat "$OUT/loadgen.out")
log "loadgen: $result"
PEAK_HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")

# --- after: every connection gone, memory and descriptors back --------------------------
# loadgen exited, which closed all its sockets; the server must notice each one.
deadline=$(($(date +%s) + 30))
while :; do
    line=$(summary)
    open=$(open_of "$line")
    [ "$open" = 0 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || die "$open connections still open 30 s after loadgen exited"
    sleep 0.5
done
log "after: $line"
upgraded=$(sed -n 's/.* \([0-9][0-9]*\) upgraded,.*/\1/p' <<<"$line")
closes=$(closes_of "$line")
deadline=$(($(date +%s) + 30))
while :; do
    AFTER_RSS=$(rss_kib) AFTER_FDS=$(fd_count)
    if [ "$AFTER_FDS" -le "$BASE_FDS" ] && [ "$AFTER_RSS" -le $((BASE_RSS + RSS_SLACK_MIB * 1024)) ]; then
        break
    fi
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.5
done

echo "soak: $CONNS connections x ${MINUTES} min pingpong (${SIZE} B)"
echo "  loadgen:        $result"
echo "  server:         $upgraded upgraded, at most $MAX_OPEN open at once, close codes sent: $closes"
echo "  RSS (KiB):      baseline $BASE_RSS, peak sampled $PEAK_RSS (VmHWM $PEAK_HWM), after $AFTER_RSS (bound $((BASE_RSS + RSS_SLACK_MIB * 1024)))"
echo "  fds:            baseline $BASE_FDS, peak sampled $PEAK_FDS, after $AFTER_FDS"

status=0
[ "$upgraded" = "$CONNS" ] || { log "FAIL: $upgraded connections upgraded, expected $CONNS"; status=1; }
[ "$MAX_OPEN" = "$CONNS" ] || { log "FAIL: at most $MAX_OPEN connections open at a sample, expected $CONNS"; status=1; }
[ "$closes" = none ] || { log "FAIL: the server closed connections during the run: $closes"; status=1; }
[ "$AFTER_FDS" -le "$BASE_FDS" ] || { log "FAIL: $AFTER_FDS descriptors after, baseline $BASE_FDS"; status=1; }
[ "$AFTER_RSS" -le $((BASE_RSS + RSS_SLACK_MIB * 1024)) ] ||
    { log "FAIL: RSS $AFTER_RSS KiB after, more than $RSS_SLACK_MIB MiB above baseline $BASE_RSS KiB"; status=1; }
[ "$status" = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit "$status"
