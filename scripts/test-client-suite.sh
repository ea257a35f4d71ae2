#!/usr/bin/env bash
# The client suite graded against Autobahn's own grades: one release wsecho serves
# the suite (`--reports`), the drivers of independent client libraries run all of
# its cases (scripts/run-autobahn-clients.sh --server), and each client's grades are
# compared case by case (behavior, behaviorClose) with what Autobahn's fuzzingserver
# gave the same driver (autobahn/clients/AGENT.json).
#
#   scripts/test-client-suite.sh [--clients tungstenite,python-websocket-client]
#                                [--allow 'AGENT:CASE,...']
#
# --allow names cases that may differ for a client, for timing the case leaves to
# the client (see autobahn/clients/README.md: python websockets' 3.4 and 4.1.5
# change between runs on Autobahn itself); each is listed when it differs. Any other
# difference, a case missing on either side, or a driver that did not finish fails
# the run. The last line is 'client-suite: PASS|FAIL ...'. Reports, the drivers'
# logs and wsecho's log go to cargo's target directory, client-suite/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/wsecho-server.sh
source scripts/lib/wsecho-server.sh

CLIENTS="tungstenite,python-websocket-client"
ALLOW="python-websockets:3.4,python-websockets:4.1.5,python-websockets:4.2.5"
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS="$2"; shift ;;
    --allow) ALLOW="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-client-suite: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

cargo build --release --locked -p wsecho --bin wsecho
OUT="$(target_dir)/client-suite"
rm -rf "$OUT"
mkdir -p "$OUT"
trap wsecho_stop EXIT
RUST_LOG=wsecho=info wsecho_start "$OUT" --reports "$OUT/reports"
echo "test-client-suite: wsecho on port $WSECHO_PORT; clients $CLIENTS; logs in $OUT"

status=0
scripts/run-autobahn-clients.sh --server "ws://127.0.0.1:$WSECHO_PORT" \
  --clients "$CLIENTS" --out "$OUT/drivers" || status=$?
if [ "$status" != 0 ]; then
  echo "test-client-suite: a driver did not finish (exit $status); see $OUT/drivers"
fi

summary=()
IFS=',' read -r -a agents <<<"$CLIENTS"
for agent in "${agents[@]}"; do
  allowed=()
  IFS=',' read -r -a pairs <<<"$ALLOW"
  for pair in "${pairs[@]}"; do
    [[ "$pair" == "$agent:"* ]] && allowed+=("${pair#"$agent:"}")
  done
  cmp="$OUT/compare-$agent.txt"
  python3 scripts/compare_autobahn_clients.py "$OUT/reports/index.json" \
    "autobahn/clients/$agent.json" --agent-a "$agent" >"$cmp" 2>&1 || true
  # The differing cases: the lines that name a case id first.
  differing=$(grep -E '^[0-9]+(\.[0-9]+)+ ' "$cmp" | awk '{print $1}' || true)
  bad=()
  for case in $differing; do
    ok=0
    for a in "${allowed[@]}"; do [ "$a" = "$case" ] && ok=1; done
    if [ "$ok" = 1 ]; then
      echo "test-client-suite: $agent: $case differs, allowed (timing): $(grep -E "^$case " "$cmp")"
    else
      bad+=("$case")
      echo "test-client-suite: $agent: $(grep -E "^$case " "$cmp")"
    fi
  done
  if ! grep -q '^compare: ' "$cmp"; then
    bad+=("(no comparison: $(tail -n 1 "$cmp"))")
  fi
  total=$(grep -oE '^compare: [0-9]+ cases' "$cmp" | grep -oE '[0-9]+' || echo 0)
  summary+=("$agent $total cases, ${#bad[@]} differ")
  [ "${#bad[@]}" = 0 ] || status=1
done
kill -0 "$WSECHO_PID" 2>/dev/null || { echo "test-client-suite: wsecho died"; status=1; }
verdict=PASS
[ "$status" = 0 ] || verdict=FAIL
joined=$(printf '%s; ' "${summary[@]}")
echo "client-suite: $verdict: ${joined%; }"
exit "$status"
