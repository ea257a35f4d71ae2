#!/usr/bin/env bash
# Autobahn's client tests: independent WebSocket client libraries, each driven by a
# small program (tests/clients/, bench/src/bin/autobahn-client-tungstenite.rs),
# run the fuzzingserver's cases (`wstest -m fuzzingserver`) one client after another.
#
#   scripts/run-autobahn-clients.sh                          # every client, all cases
#   scripts/run-autobahn-clients.sh --clients node-ws,python-websockets --cases '1.*,2.*'
#   scripts/run-autobahn-clients.sh --write-reference        # update autobahn/clients/*.json
#   scripts/run-autobahn-clients.sh --check                  # differ from them: exit 1
#   scripts/run-autobahn-clients.sh --server ws://127.0.0.1:9001 --clients node-ws
#       # drive another fuzzingserver (started by you); its reports are its own
#
# Clients (the agent names the reports use): tungstenite, python-websockets,
# python-aiohttp, python-websocket-client, node-ws, node-undici. Each driver's
# header says what it offers (permessage-deflate or not). Everything they need is installed here at pinned
# versions: the Python ones into .venv-py (scripts/lib/python-venv.sh), the node
# ones with `npm ci` from tests/clients/package-lock.json into
# tests/clients/node_modules (git-ignored), tungstenite's driver built in release
# mode in cargo's target directory; the testsuite by scripts/setup-autobahn.sh.
#
# Per client, a fresh fuzzingserver on a free loopback port (so each index.json has
# that client alone, and one client's run cannot slow the next), with a spec made
# from --cases (wstest patterns, comma-separated; default all) and --exclude-cases.
# Reports go to OUT/AGENT/ (OUT is --out, default autobahn/reports/clients/,
# git-ignored): index.json and Autobahn's HTML, grades.json (trimmed by
# scripts/compare_autobahn_clients.py --grades), driver.log, wstest.log,
# seconds (the run's wall clock). A report that lacks cases the fuzzingserver
# announced is asked for again (it records a case only once the TCP connection is
# gone, which a driver can outrun), and the run fails if cases are still missing. When autobahn/clients/AGENT.json exists the run
# is compared with it case by case (behavior, behaviorClose); --check fails on a
# difference, --write-reference replaces the file instead (full runs only).
#
# --server URL: no fuzzingserver is started; the drivers run against URL, whose
# reports are wherever that server writes them (compare them with
# scripts/compare_autobahn_clients.py).
#
# Other options: --exclude-cases PATTERNS, --out DIR, --case-timeout SECS.
# A driver gives up on a case after --case-timeout seconds (default 200) and says
# so; the whole run of one client is cut after WSECHO_AUTOBAHN_CLIENTS_TIMEOUT
# seconds (default 7200). The last lines are one per client,
#   autobahn-clients: AGENT: N cases; behavior OK N, ...; behaviorClose OK N, ...; Ss
# and the exit status is 0 only if every driver finished without a timed out or
# failed case, every run wrote its report, and (--check) nothing differs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'run-autobahn-clients: ERROR: %s\n' "$*" >&2; exit 2; }
log() { printf 'run-autobahn-clients: %s\n' "$*"; }

ALL_CLIENTS="tungstenite,python-websockets,python-aiohttp,python-websocket-client,node-ws,node-undici"
# Pinned client libraries (PyPI and npm; the node ones are pinned again, with their
# whole tree, in tests/clients/package-lock.json).
WEBSOCKETS_VERSION="17.4"
AIOHTTP_VERSION="3.14.5"
WEBSOCKET_CLIENT_VERSION="1.9.2"

CLIENTS="$ALL_CLIENTS"
CASES="*"
EXCLUDE=""
SERVER=""
OUT="$ROOT/autobahn/reports/clients"
CASE_TIMEOUT=200
CHECK=0
WRITE_REF=0
while (($#)); do
  case "$1" in
    --clients) (($# >= 2)) || die "--clients needs a value"; CLIENTS="$2"; shift 2 ;;
    --clients=*) CLIENTS="${1#--clients=}"; shift ;;
    --cases) (($# >= 2)) || die "--cases needs a value"; CASES="$2"; shift 2 ;;
    --cases=*) CASES="${1#--cases=}"; shift ;;
    --exclude-cases) (($# >= 2)) || die "--exclude-cases needs a value"; EXCLUDE="$2"; shift 2 ;;
    --exclude-cases=*) EXCLUDE="${1#--exclude-cases=}"; shift ;;
    --server) (($# >= 2)) || die "--server needs a value"; SERVER="$2"; shift 2 ;;
    --server=*) SERVER="${1#--server=}"; shift ;;
    --out) (($# >= 2)) || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --out=*) OUT="${1#--out=}"; shift ;;
    --case-timeout) (($# >= 2)) || die "--case-timeout needs a value"; CASE_TIMEOUT="$2"; shift 2 ;;
    --case-timeout=*) CASE_TIMEOUT="${1#--case-timeout=}"; shift ;;
    --check) CHECK=1; shift ;;
    --write-reference) WRITE_REF=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

IFS=, read -r -a WANT <<<"$CLIENTS"
((${#WANT[@]})) || die "--clients names none"
for c in "${WANT[@]}"; do
  [[ ",$ALL_CLIENTS," == *",$c,"* ]] || die "unknown client '$c' (known: $ALL_CLIENTS)"
done
if ! [[ "$CASE_TIMEOUT" =~ ^[1-9][0-9]*$ ]]; then
  die "--case-timeout wants whole seconds"
fi
if [[ -n "$SERVER" ]]; then
  [[ "$SERVER" =~ ^ws://[^/?#]+$ ]] || die "--server wants ws://HOST:PORT (the drivers add the paths), not '$SERVER'"
  ((WRITE_REF == 0 && CHECK == 0)) || die "--server: its reports are the server's; compare them with scripts/compare_autobahn_clients.py"
fi
((WRITE_REF == 0 || CHECK == 0)) || die "--check and --write-reference do not combine"
if ((WRITE_REF)) && [[ "$CASES" != "*" || -n "$EXCLUDE" ]]; then
  die "--write-reference takes a full run (no --cases or --exclude-cases)"
fi
RUN_TIMEOUT="${WSECHO_AUTOBAHN_CLIENTS_TIMEOUT:-7200}"
# Absolute: wstest runs in the report directory and is given outdir.
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
REFDIR="$ROOT/autobahn/clients"

has() { [[ " ${WANT[*]} " == *" $1 "* ]]; }

# 1. What the drivers and the fuzzingserver need.
VENV="$ROOT/.venv-py"
if has python-websockets || has python-aiohttp || has python-websocket-client; then
  # shellcheck source=scripts/lib/python-venv.sh
  source "$ROOT/scripts/lib/python-venv.sh"
  venv_ensure "$VENV" "websockets==$WEBSOCKETS_VERSION" "aiohttp==$AIOHTTP_VERSION" \
    "websocket-client==$WEBSOCKET_CLIENT_VERSION" ||
    die "cannot set up $VENV"
fi
if has node-ws || has node-undici; then
  if ! command -v npm >/dev/null; then
    # As scripts/test-browser.sh does: Debian's package (this image's comes with npm).
    # shellcheck source=scripts/lib/apt.sh
    source "$ROOT/scripts/lib/apt.sh"
    apt_install "$OUT/apt.log" nodejs || die "cannot install nodejs (see above)"
    command -v npm >/dev/null || apt_install "$OUT/apt.log" npm || die "cannot install npm"
  fi
  # undici 7 wants node >= 20.18.1 (package.json's engines); npm ci only warns.
  node -e 'const [a, b, c] = process.versions.node.split(".").map(Number);
    process.exit(a > 20 || (a === 20 && (b > 18 || (b === 18 && c >= 1))) ? 0 : 1)' ||
    die "the node clients need node 20.18.1 or later, not $(node --version)"
  # npm ci only when the lock file changed since the last install (npm writes its
  # own copy of the tree into node_modules/.package-lock.json).
  if ! cmp -s tests/clients/package-lock.json tests/clients/node_modules/.autobahn-lock 2>/dev/null; then
    log "installing the node clients (npm ci in tests/clients)"
    (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    cp tests/clients/package-lock.json tests/clients/node_modules/.autobahn-lock
  fi
fi
TUNGSTENITE_BIN=""
if has tungstenite; then
  # shellcheck source=scripts/lib/target.sh
  source "$ROOT/scripts/lib/target.sh"
  log "building the tungstenite driver (release)"
  cargo build --release --quiet -p wsecho-bench --bin autobahn-client-tungstenite
  TUNGSTENITE_BIN="$(release_bin autobahn-client-tungstenite)" || die "cannot tell where cargo builds"
fi
WSTEST=""
if [[ -z "$SERVER" ]]; then
  "$ROOT/scripts/setup-autobahn.sh"
  WSTEST="$ROOT/.venv-autobahn/bin/wstest"
fi

# The driver command of a client: driver_cmd AGENT sets DRIVER.
driver_cmd() {
  case "$1" in
    tungstenite) DRIVER=("$TUNGSTENITE_BIN") ;;
    python-websockets) DRIVER=("$VENV/bin/python" tests/clients/python_websockets.py) ;;
    python-aiohttp) DRIVER=("$VENV/bin/python" tests/clients/python_aiohttp.py) ;;
    python-websocket-client) DRIVER=("$VENV/bin/python" tests/clients/python_websocket_client.py) ;;
    node-ws) DRIVER=(node tests/clients/node_ws.mjs) ;;
    node-undici) DRIVER=(node tests/clients/node_undici.mjs) ;;
  esac
}

# 2. One client's run. The fuzzingserver (unless --server) and the driver are
# stopped by the EXIT trap if the script is cut short.
SERVER_PID=""
DRIVER_PID=""
stop_pid() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  stop_pid "$DRIVER_PID"
  stop_pid "$SERVER_PID"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# update_reports BASE AGENT: one connection to BASE/updateReports?agent=AGENT with
# nothing but the standard library (the drivers' libraries may not be installed).
update_reports() {
  python3 - "$1" "$2" <<'PY'
import base64, os, socket, struct, sys, urllib.parse
base, agent = sys.argv[1:]
host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port or 80
s = socket.create_connection((host, port), timeout=30)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /updateReports?agent=%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
           % (urllib.parse.quote(agent, safe=""), host, port, key)).encode())
data = b""
while True:  # the 101, then the server's close frame once the reports are written
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
    head, sep, rest = data.partition(b"\r\n\r\n")
    if sep and len(rest) >= 2 and rest[0] & 0x0F == 8:
        s.sendall(struct.pack("!BB4s", 0x88, 0x80, os.urandom(4)))  # masked empty close
        break
s.close()
sys.exit(0 if data.startswith(b"HTTP/1.1 101") else 1)
PY
}

SUMMARIES=()
failed=0
run_client() {
  local agent="$1" dir="$OUT/$1" base
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ -n "$SERVER" ]]; then
    base="$SERVER"
  else
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    base="ws://127.0.0.1:$port"
    python3 - "$dir/fuzzingserver.json" "$base" "$dir" "$CASES" "$EXCLUDE" <<'PY'
import json, sys
out, url, outdir, cases, exclude = sys.argv[1:]
split = lambda s: [c.strip() for c in s.split(",") if c.strip()]
spec = {"url": url, "outdir": outdir, "cases": split(cases),
        "exclude-cases": split(exclude), "exclude-agent-cases": {}}
json.dump(spec, open(out, "w"), indent=2)
PY
    # In the report dir, which wstest's relative paths then name. --webport 0: no
    # web UI, whose fixed port 8080 would make a second fuzzingserver die.
    (cd "$dir" && exec "$WSTEST" -m fuzzingserver --webport 0 -s fuzzingserver.json) >"$dir/wstest.log" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + 30))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        tail -n 20 "$dir/wstest.log" >&2 || true
        stop_pid "$SERVER_PID"
        SERVER_PID=""
        log "$agent: FAILED: the fuzzingserver did not listen on port $port"
        failed=1
        SUMMARIES+=("autobahn-clients: $agent: FAILED (no fuzzingserver)")
        return
      fi
      sleep 0.1
    done
    # wstest binds the WebSocket port before anything else that can fail.
    sleep 0.5
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 20 "$dir/wstest.log" >&2 || true
      SERVER_PID=""
      log "$agent: FAILED: the fuzzingserver exited after listening on port $port"
      failed=1
      SUMMARIES+=("autobahn-clients: $agent: FAILED (fuzzingserver exited)")
      return
    fi
  fi

  driver_cmd "$agent"
  log "$agent: ${DRIVER[*]} $base $agent (log $dir/driver.log)"
  local started=$SECONDS rc=0
  timeout "$RUN_TIMEOUT" "${DRIVER[@]}" "$base" "$agent" --case-timeout "$CASE_TIMEOUT" >"$dir/driver.log" 2>&1 &
  DRIVER_PID=$!
  local next_note=$((SECONDS + 60))
  while kill -0 "$DRIVER_PID" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next_note)); then
      local last
      last="$(grep -o 'Running test case ID [0-9.]*' "$dir/wstest.log" 2>/dev/null | tail -n 1 || true)"
      log "$agent: $((SECONDS - started))s: ${last:-running}"
      next_note=$((SECONDS + 60))
    fi
  done
  wait "$DRIVER_PID" || rc=$?
  DRIVER_PID=""
  local took=$((SECONDS - started))
  echo "$took" >"$dir/seconds"
  grep -E '^case [0-9]+: (TIMEOUT|FAILED)' "$dir/driver.log" | sed "s/^/run-autobahn-clients: $agent: /" || true
  tail -n 1 "$dir/driver.log" | sed "s/^/run-autobahn-clients: /"
  log "$agent: driver finished in ${took}s (exit $rc)"
  ((rc == 0)) || failed=1

  if [[ -n "$SERVER" ]]; then
    SUMMARIES+=("autobahn-clients: $agent: driver exit $rc in ${took}s against $SERVER (reports: the server's)")
    return
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || { log "$agent: FAILED: the fuzzingserver died during the run"; failed=1; }
  # The fuzzingserver records a case when its TCP connection is gone; a driver whose
  # library ends a case at the close handshake can ask for the reports before the
  # last case is recorded (seen with 7.1.6 as the last case). Then ask again.
  local want have
  want="$(sed -n 's/^Ok, will run \([0-9]*\) test cases.*/\1/p' "$dir/wstest.log" | head -n 1)"
  for _ in 1 2 3; do
    have="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1])).get(sys.argv[2], {})))' \
      "$dir/index.json" "$agent" 2>/dev/null || echo 0)"
    if [[ -z "$want" ]] || ((have >= want)); then break; fi
    log "$agent: the report has $have of $want cases; asking for it again"
    sleep 1
    update_reports "$base" "$agent" || true
  done
  if [[ -n "$want" ]] && ((have < want)); then
    log "$agent: FAILED: the report has $have of the $want cases"
    failed=1
  fi
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  if ! python3 scripts/compare_autobahn_clients.py --grades "$dir/index.json" --agent "$agent" -o "$dir/grades.json"; then
    tail -n 20 "$dir/wstest.log" >&2 || true
    log "$agent: FAILED: no report from the fuzzingserver ($dir/index.json)"
    failed=1
    SUMMARIES+=("autobahn-clients: $agent: FAILED (no report) after ${took}s")
    return
  fi
  local counts
  counts="$(python3 - "$dir/grades.json" <<'PY'
import collections, json, sys
g = json.load(open(sys.argv[1]))
def tally(field):
    c = collections.Counter(r[field] for r in g.values())
    return ", ".join("%s %d" % kv for kv in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
print("%d cases; behavior %s; behaviorClose %s" % (len(g), tally("behavior"), tally("behaviorClose")))
PY
)"
  SUMMARIES+=("autobahn-clients: $agent: $counts; ${took}s")

  local ref="$REFDIR/$agent.json"
  if ((WRITE_REF)); then
    if ((rc != 0)); then
      log "$agent: not writing $ref from a run whose driver failed"
    else
      mkdir -p "$REFDIR"
      cp "$dir/grades.json" "$ref"
      log "$agent: wrote $ref"
    fi
  elif [[ -f "$ref" ]]; then
    local cmp_rc=0 common=()
    # A subset: compare only the cases that ran.
    [[ "$CASES" == "*" && -z "$EXCLUDE" ]] || common=(--common)
    python3 scripts/compare_autobahn_clients.py "${common[@]}" "$ref" "$dir/grades.json" >"$dir/compare.txt" || cmp_rc=$?
    sed "s/^/run-autobahn-clients: $agent: vs reference: /" "$dir/compare.txt"
    if ((cmp_rc != 0 && CHECK)); then
      failed=1
    fi
  fi
}

for agent in "${WANT[@]}"; do
  run_client "$agent"
done
log "reports: $OUT/AGENT/index.json (and index.html)"
for s in "${SUMMARIES[@]}"; do
  echo "$s"
done
exit "$failed"
