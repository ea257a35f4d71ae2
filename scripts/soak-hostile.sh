#!/usr/bin/env bash
# Hostile soak: issue 25's attackers in loops against one release wsecho (pinned to CPU 0)
# beside an echo prober, for N minutes (bench/src/bin/hostile-soak.rs, pinned to CPU 1).
# Fails when the prober's worst round trip or the server's RSS growth passes its bound,
# or when RSS still climbs in the second half (hostile-soak --help for the bounds).
#
#   scripts/soak-hostile.sh [--minutes N] [--no-tls] [hostile-soak options...]
#
# Loopback only; not part of CI (it takes minutes). Binaries are found through
# `cargo metadata` (CARGO_TARGET_DIR is honoured), or WSECHO_BIN for the server.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/wsecho-server.sh
source scripts/lib/wsecho-server.sh

MINUTES=10 TLS=1 EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES="$2"; shift ;;
    --no-tls) TLS=0 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done

cargo build --release -p wsecho --bin wsecho -p wsecho-bench --bin hostile-soak
TARGET=$(target_dir)
export WSECHO_BIN="${WSECHO_BIN:-$TARGET/release/wsecho}"
OUT="$TARGET/soak-hostile/$(date +%Y%m%d-%H%M%S)"
trap wsecho_stop EXIT
ulimit -n "$(ulimit -Hn)"
ARGS=()
[ "$TLS" = 1 ] && ARGS+=(--tls-self-signed)
WSECHO_BIN_REAL="$WSECHO_BIN"
WSECHO_BIN="$OUT/pinned-wsecho"
mkdir -p "$OUT"
printf '#!/bin/sh\nexec taskset -c 0 %q "$@"\n' "$WSECHO_BIN_REAL" >"$WSECHO_BIN"
chmod +x "$WSECHO_BIN"
RUST_LOG=wsecho=info wsecho_start "$OUT" "${ARGS[@]}"
echo "soak-hostile.sh: wsecho pid $WSECHO_PID port $WSECHO_PORT, $MINUTES min; logs in $OUT" >&2
SOAK_ARGS=(--addr "127.0.0.1:$WSECHO_PORT" --pid "$WSECHO_PID" --minutes "$MINUTES")
[ "$TLS" = 1 ] && SOAK_ARGS+=(--tls)
status=0
taskset -c 1 "$TARGET/release/hostile-soak" "${SOAK_ARGS[@]}" "${EXTRA[@]}" || status=$?
kill -0 "$WSECHO_PID" 2>/dev/null || { echo "soak-hostile.sh: FAIL: wsecho died" >&2; status=1; }
exit "$status"
