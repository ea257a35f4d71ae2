#!/usr/bin/env bash
# Server memory per idle HTTP/2 connection and per further idle WebSocket stream sharing
# it (RFC 8441): bench/python/h2_streams.py (Python h2 + wsproto, the pins of
# scripts/test-h2-clients.sh) against a release wsecho on CPU 0, over h2c.
#
#   scripts/bench-h2-streams.sh [--conns N] [--streams S] [--runs R]
#
# Defaults: 50 connections, 100 streams each (the server's default stream limit), 3
# runs, each on a fresh server; prints each run's line, then the medians. Creates or
# completes the venv .venv-py; builds the release wsecho. Not part of CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CONNS=50
STREAMS=100
RUNS=3
while (($#)); do
  case "$1" in
    --conns) CONNS="${2:?}"; shift 2 ;;
    --streams) STREAMS="${2:?}"; shift 2 ;;
    --runs) RUNS="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-h2-streams: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/lib/python-venv.sh
source "$ROOT/scripts/lib/python-venv.sh"
# shellcheck source=scripts/lib/wsecho-server.sh
source "$ROOT/scripts/lib/wsecho-server.sh"
# The pins the HTTP/2 client tests use.
eval "$(grep -E '^(H2|WSPROTO)_VERSION=' scripts/test-h2-clients.sh)"
venv_ensure "$ROOT/.venv-py" "h2==$H2_VERSION" "wsproto==$WSPROTO_VERSION"
cargo build --release --quiet --bin wsecho

LOGDIR="$(target_dir)/bench-h2-streams"
trap wsecho_stop EXIT
lines=()
for run in $(seq "$RUNS"); do
  wsecho_start "$LOGDIR"
  taskset -pc 0 "$WSECHO_PID" >/dev/null
  line="$("$ROOT/.venv-py/bin/python" bench/python/h2_streams.py \
    --port "$WSECHO_PORT" --pid "$WSECHO_PID" --conns "$CONNS" --streams "$STREAMS")"
  wsecho_stop
  echo "run $run: $line"
  lines+=("$line")
done
median() {
  printf '%s\n' "${lines[@]}" | grep -o "$1=[0-9]*" | cut -d= -f2 | sort -n \
    | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
echo "h2-streams: conns=$CONNS streams=$STREAMS runs=$RUNS" \
  "median rss_per_conn_b=$(median rss_per_conn_b)" \
  "rss_per_further_stream_b=$(median rss_per_further_stream_b)"
