#!/usr/bin/env bash
# How long the client suite takes on wsecho and on Autobahn's fuzzingserver, the same
# driver against each, side by side in one run (a benchmark, not a test): wsecho
# pinned to CPU 0 and the driver to CPU 1, then Autobahn's wstest on CPU 0 and the
# driver on CPU 1, RUNS times, medians.
#
#   scripts/bench-suite.sh [--client python-websockets] [--cases '12.1.*,13.1.*'] [--runs 1]
#
# Both servers serve the same cases (wsecho through --suite-spec, Autobahn through its
# spec), so the case numbers agree. The table gives each run's wall clock (the
# driver's start to its end) and the ratio. Logs go to cargo's target directory,
# bench-suite/. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
# shellcheck source=scripts/lib/wsecho-server.sh
source scripts/lib/wsecho-server.sh

CLIENT=python-websockets CASES='*' RUNS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --client) CLIENT="$2"; shift ;;
    --cases) CASES="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-suite: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

cargo build --release --locked -p wsecho --bin wsecho
scripts/setup-autobahn.sh >/dev/null
OUT="$(target_dir)/bench-suite"
rm -rf "$OUT"
mkdir -p "$OUT"
trap wsecho_stop EXIT
python3 - "$OUT/spec.json" "$CASES" <<'PY'
import json, sys
out, cases = sys.argv[1:]
json.dump({"cases": [c.strip() for c in cases.split(",") if c.strip()]}, open(out, "w"))
PY

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# One timed run of the client's driver against ws://127.0.0.1:PORT, pinned to CPU 1.
run_driver() {
  local port="$1" dir="$2" started ended
  started=$(date +%s.%N)
  taskset -c 1 scripts/run-autobahn-clients.sh --server "ws://127.0.0.1:$port" --clients "$CLIENT" \
    --out "$dir" >"$dir.log" 2>&1 || echo "bench-suite: the driver failed (see $dir.log)" >&2
  ended=$(date +%s.%N)
  echo "$ended - $started" | bc
}

ws_times=() ab_times=()
for run in $(seq "$RUNS"); do
  WSECHO_BIN_REAL="$(wsecho_bin)"
  printf '#!/bin/sh\nexec taskset -c 0 %q "$@"\n' "$WSECHO_BIN_REAL" >"$OUT/pinned-wsecho"
  chmod +x "$OUT/pinned-wsecho"
  WSECHO_BIN="$OUT/pinned-wsecho" wsecho_start "$OUT/wsecho-$run" --suite-spec "$OUT/spec.json"
  ws_times+=("$(run_driver "$WSECHO_PORT" "$OUT/wsecho-$run")")
  wsecho_stop

  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$OUT/autobahn-$run"
  python3 - "$OUT/autobahn-$run/spec.json" "$port" "$OUT/autobahn-$run" "$CASES" <<'PY'
import json, sys
out, port, outdir, cases = sys.argv[1:]
json.dump({"url": "ws://127.0.0.1:%s" % port, "outdir": outdir,
           "cases": [c.strip() for c in cases.split(",") if c.strip()],
           "exclude-cases": [], "exclude-agent-cases": {}}, open(out, "w"))
PY
  (cd "$OUT/autobahn-$run" && exec taskset -c 0 "$ROOT/.venv-autobahn/bin/wstest" \
    -m fuzzingserver --webport 0 -s spec.json) >"$OUT/autobahn-$run/wstest.log" 2>&1 &
  ab_pid=$!
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.1
  done
  ab_times+=("$(run_driver "$port" "$OUT/autobahn-$run/driver")")
  kill "$ab_pid" 2>/dev/null || true
  wait "$ab_pid" 2>/dev/null || true
done

ws=$(printf '%s\n' "${ws_times[@]}" | median)
ab=$(printf '%s\n' "${ab_times[@]}" | median)
echo
echo "| client | cases | runs | wsecho s | Autobahn s | Autobahn / wsecho |"
echo "|---|---|---|---:|---:|---:|"
printf '| %s | %s | %s | %.1f | %.1f | %.1fx |\n' "$CLIENT" "$CASES" "$RUNS" "$ws" "$ab" \
  "$(echo "$ab / $ws" | bc -l)"
