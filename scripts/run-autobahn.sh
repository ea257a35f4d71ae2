#!/usr/bin/env bash
# Run the Autobahn fuzzingclient against wsecho and compare with the baseline.
#
#   scripts/run-autobahn.sh                      # all cases
#   scripts/run-autobahn.sh --cases '6.*,7.1.1'  # a subset (wstest patterns)
#   scripts/run-autobahn.sh --update-expected    # rewrite autobahn/expected-results.json
#   scripts/run-autobahn.sh --allow-failing '12.*,13.*' -- --no-deflate
#       # extra args for wsecho after --; these cases may fail (no deflate)
#   scripts/run-autobahn.sh --tls                # over wss:// (self-signed), same baseline
#
# Builds target/release/wsecho, sets up the testsuite venv, starts wsecho on a
# free loopback port, runs wstest, stops the server and runs
# scripts/autobahn_summary.py. Exits non-zero unless every case that ran
# passes (OK or INFORMATIONAL, behavior and behaviorClose; --allow-failing
# cases aside) and matches the baseline, a full run has all the baseline's
# cases, the server survived the run and wstest wrote its reports. The
# baseline is updated only from a run that passes all that. Reports and logs
# go to autobahn/reports/ (git-ignored).
#
# Environment (for development and CI):
#   WSECHO_AUTOBAHN_SERVER_CMD  replace the server: a shell command run with
#       $PORT set, e.g. '.venv-autobahn/bin/wstest -m testeeserver -w ws://127.0.0.1:$PORT'
#       (single-quoted so $PORT expands later). Skips the cargo build.
#   WSECHO_AUTOBAHN_START_TIMEOUT  seconds to wait for the port (default 30)
#   WSECHO_AUTOBAHN_TIMEOUT        seconds wstest may run in all (default 3600)
#   WSECHO_AUTOBAHN_REPORTS        reports dir (default autobahn/reports); runs
#       sharing one dir wait for each other (a lock file in it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'run-autobahn: ERROR: %s\n' "$*" >&2; exit 2; }
log() { printf 'run-autobahn: %s\n' "$*"; }

CASES="*"
ALLOW_FAILING=""
UPDATE=0
TLS=0
SERVER_ARGS=()
while (($#)); do
  case "$1" in
    --cases) (($# >= 2)) || die "--cases needs a value"; CASES="$2"; shift 2 ;;
    --cases=*) CASES="${1#--cases=}"; shift ;;
    --allow-failing) (($# >= 2)) || die "--allow-failing needs a value"; ALLOW_FAILING="$2"; shift 2 ;;
    --allow-failing=*) ALLOW_FAILING="${1#--allow-failing=}"; shift ;;
    --update-expected) UPDATE=1; shift ;;
    --tls) TLS=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; SERVER_ARGS=("$@"); break ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

REPORTS="${WSECHO_AUTOBAHN_REPORTS:-$ROOT/autobahn/reports}"
OUTDIR="$REPORTS/servers"
SPEC="$REPORTS/fuzzingclient.json"
SERVER_LOG="$REPORTS/wsecho.log"
WSTEST_LOG="$REPORTS/wstest.log"
START_TIMEOUT="${WSECHO_AUTOBAHN_START_TIMEOUT:-30}"
RUN_TIMEOUT="${WSECHO_AUTOBAHN_TIMEOUT:-3600}"

# One run at a time per reports dir: the work tree is shared, and a second
# wstest would clobber the reports and skew the timing-sensitive cases.
mkdir -p "$REPORTS"
exec 9>"$REPORTS/.run.lock"
if ! flock -n 9; then
  log "another run-autobahn.sh is using $REPORTS; waiting for it"
  flock 9
fi

# Old reports must never be mistaken for this run's.
rm -rf "$OUTDIR" "$SPEC" "$SERVER_LOG" "$WSTEST_LOG" "$REPORTS/summary.md" "$REPORTS/summary.json"
mkdir -p "$OUTDIR"

# 1. The server binary (unless replaced) and the testsuite.
if [[ -z "${WSECHO_AUTOBAHN_SERVER_CMD:-}" ]]; then
  log "building target/release/wsecho"
  cargo build --release --bin wsecho
fi
"$ROOT/scripts/setup-autobahn.sh" 9>&-
WSTEST="$ROOT/.venv-autobahn/bin/wstest"

# 2. A free loopback port (the kernel picks one; the tiny race is harmless here).
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PORT

# 3. Start the server in the background; the EXIT trap always stops it.
SERVER_PID=""
WSTEST_PID=""
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
# On any exit: stop a still running wstest, then the server.
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  if [[ -n "$WSTEST_PID" ]] && kill -0 "$WSTEST_PID" 2>/dev/null; then
    kill -TERM "$WSTEST_PID" 2>/dev/null || true
    wait "$WSTEST_PID" 2>/dev/null || true
  fi
  stop_server
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n "${WSECHO_AUTOBAHN_SERVER_CMD:-}" ]]; then
  log "server (WSECHO_AUTOBAHN_SERVER_CMD): $WSECHO_AUTOBAHN_SERVER_CMD"
  bash -c "exec $WSECHO_AUTOBAHN_SERVER_CMD" >"$SERVER_LOG" 2>&1 9>&- &
else
  SERVER_CMD=(target/release/wsecho --host 127.0.0.1 --port "$PORT" "${SERVER_ARGS[@]}")
  # wstest does not verify the certificate when the spec names no hostname.
  ((TLS)) && SERVER_CMD+=(--tls-self-signed)
  log "server: ${SERVER_CMD[*]}"
  "${SERVER_CMD[@]}" >"$SERVER_LOG" 2>&1 9>&- &
fi
SERVER_PID=$!

show_server_log() {
  echo "---- last lines of $SERVER_LOG ----"
  tail -n 30 "$SERVER_LOG" || true
  echo "----"
}

# Ready = the port accepts a TCP connection (opened and closed at once).
deadline=$((SECONDS + START_TIMEOUT))
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    show_server_log
    die "the server exited before listening on port $PORT"
  fi
  ((SECONDS < deadline)) || { show_server_log; die "port $PORT not accepting after ${START_TIMEOUT}s"; }
  sleep 0.1
done
log "server listening on 127.0.0.1:$PORT (pid $SERVER_PID, log $SERVER_LOG)"

# 4. The spec: config/fuzzingclient.json with this run's port, outdir and cases.
SCHEME=ws
((TLS)) && SCHEME=wss
python3 - "$ROOT/config/fuzzingclient.json" "$SPEC" "$PORT" "$OUTDIR" "$CASES" "$SCHEME" <<'PY'
import json, sys
template, out, port, outdir, cases, scheme = sys.argv[1:]
spec = json.load(open(template))
assert len(spec["servers"]) == 1, "the template must name exactly one server"
spec["servers"][0]["url"] = "%s://127.0.0.1:%s" % (scheme, port)
spec["outdir"] = outdir
spec["cases"] = [c.strip() for c in cases.split(",") if c.strip()]
json.dump(spec, open(out, "w"), indent=2)
PY

# 5. Run wstest (quiet: its output goes to a log; progress every minute).
log "wstest -m fuzzingclient over $SCHEME://, cases '$CASES' (log $WSTEST_LOG)"
started=$SECONDS
timeout "$RUN_TIMEOUT" "$WSTEST" -m fuzzingclient -s "$SPEC" >"$WSTEST_LOG" 2>&1 9>&- &
WSTEST_PID=$!
next_note=$((SECONDS + 60))
while kill -0 "$WSTEST_PID" 2>/dev/null; do
  sleep 1
  if ((SECONDS >= next_note)); then
    last="$(grep -o 'Running test case ID [0-9.]*' "$WSTEST_LOG" | tail -n 1 || true)"
    log "$((SECONDS - started))s: ${last:-starting}"
    next_note=$((SECONDS + 60))
  fi
done
wstest_rc=0
wait "$WSTEST_PID" || wstest_rc=$?
log "wstest finished in $((SECONDS - started))s (exit $wstest_rc)"

failed=0
show_wstest_log() {
  echo "---- last lines of $WSTEST_LOG ----"
  tail -n 30 "$WSTEST_LOG" || true
  echo "----"
}
if ((wstest_rc != 0)); then
  show_wstest_log
  if ((wstest_rc == 124)); then
    log "FAIL: wstest timed out after ${RUN_TIMEOUT}s"
  else
    log "FAIL: wstest exited $wstest_rc"
  fi
  failed=1
fi

# 6. The server must have survived the whole run.
if kill -0 "$SERVER_PID" 2>/dev/null; then
  stop_server
else
  server_rc=0
  wait "$SERVER_PID" || server_rc=$?
  SERVER_PID=""
  show_server_log
  log "FAIL: the server died during the run (exit status $server_rc)"
  failed=1
fi

# 7. Summary and baseline comparison (a missing index.json fails here too).
SUMMARY_ARGS=(--index "$OUTDIR/index.json" --cases "$CASES" --allow-failing "$ALLOW_FAILING")
if ((UPDATE)); then
  if ((failed)); then
    log "not updating the baseline from a failed run"
  else
    SUMMARY_ARGS+=(--write-expected)
  fi
fi
summary_rc=0
python3 "$ROOT/scripts/autobahn_summary.py" "${SUMMARY_ARGS[@]}" --markdown "$REPORTS/summary.md" || summary_rc=$?
if ((summary_rc == 2)) && ((wstest_rc == 0)); then
  show_wstest_log
fi
((summary_rc == 0)) || failed=1

if ((failed)); then
  log "FAILED (reports: $OUTDIR/index.html)"
else
  log "OK (reports: $OUTDIR/index.html)"
fi
# Closing tally: cases passing the gate vs not (a run failed otherwise counts one more).
if [[ -f "$REPORTS/summary.json" ]]; then
  python3 - "$REPORTS/summary.json" "$failed" "$summary_rc" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
extra = 1 if sys.argv[2] == "1" and sys.argv[3] == "0" else 0
print("autobahn: %d passed, %d failed" % (r["matching"], r["failed"] + extra))
PY
fi
exit "$failed"
