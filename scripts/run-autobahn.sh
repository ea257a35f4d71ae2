#!/usr/bin/env bash
# Run the Autobahn fuzzingclient against wsecho and compare with the baseline.
#
#   scripts/run-autobahn.sh                      # all cases
#   scripts/run-autobahn.sh --cases '6.*,7.1.1'  # a subset (wstest patterns)
#   scripts/run-autobahn.sh --update-expected    # rewrite autobahn/expected-results.json
#   scripts/run-autobahn.sh --allow-failing '12.*,13.*' -- --no-deflate
#       # extra args for wsecho after --; these cases may fail (no deflate)
#   scripts/run-autobahn.sh --tls                # over wss:// (self-signed), same baseline
#   scripts/run-autobahn.sh --url ws://127.0.0.1:8080/ [--cases ...]
#       # grade whatever answers at that URL (a proxy in front of wsecho)
#
# Builds the release wsecho (in cargo's target directory), sets up the testsuite venv, starts wsecho on a
# free loopback port, runs wstest, stops the server and runs
# scripts/autobahn_summary.py. Exits non-zero unless every case that ran
# passes (OK or INFORMATIONAL, behavior and behaviorClose; --allow-failing
# cases aside) and matches the baseline, a full run has all the baseline's
# cases, the server survived the run and wstest wrote its reports. The
# baseline is updated only from a run that passes all that. Reports and logs
# go to autobahn/reports/ (git-ignored).
#
# --url ws://HOST:PORT/PATH (or wss://): nothing is built or started; wstest
# runs against that URL (say a proxy in front of a wsecho you started) and the
# run is compared with the same baseline, case by case. Each case that differs
# is printed with its grades (behavior and behaviorClose, expected vs got) and
# what its report says happened; the last line is the verdict,
#   autobahn via URL: N cases, N OK, N INFORMATIONAL, N other; N differ from wsecho's baseline
# Exit status: 0 if every case that ran matches the baseline, 1 if some differ
# (or do not pass), 2 if the run could not be made (URL not reachable, wstest
# failed, no reports). Combines with --cases; not with --tls (the URL's scheme
# says it), --update-expected or server args. Reports: as below.
#
# Environment (for development and CI):
#   WSECHO_BIN  run this wsecho binary (or wrapper) instead of building the release
#       one in cargo's target directory (CARGO_TARGET_DIR is honoured)
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

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'run-autobahn: ERROR: %s\n' "$*" >&2; exit 2; }
log() { printf 'run-autobahn: %s\n' "$*"; }

CASES="*"
ALLOW_FAILING=""
UPDATE=0
TLS=0
URL=""
SERVER_ARGS=()
while (($#)); do
  case "$1" in
    --cases) (($# >= 2)) || die "--cases needs a value"; CASES="$2"; shift 2 ;;
    --cases=*) CASES="${1#--cases=}"; shift ;;
    --allow-failing) (($# >= 2)) || die "--allow-failing needs a value"; ALLOW_FAILING="$2"; shift 2 ;;
    --allow-failing=*) ALLOW_FAILING="${1#--allow-failing=}"; shift ;;
    --update-expected) UPDATE=1; shift ;;
    --tls) TLS=1; shift ;;
    --url) (($# >= 2)) || die "--url needs a value"; URL="$2"; shift 2 ;;
    --url=*) URL="${1#--url=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; SERVER_ARGS=("$@"); break ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

# --url: check the URL and what it cannot combine with, before any work.
URL_HOST=""
URL_PORT=""
if [[ -n "$URL" ]]; then
  ((TLS == 0)) || die "--url and --tls do not combine: use a wss:// URL"
  ((UPDATE == 0)) || die "--url and --update-expected do not combine: the baseline is wsecho's own"
  ((${#SERVER_ARGS[@]} == 0)) || die "--url starts no server: drop the server args after --"
  [[ -z "${WSECHO_AUTOBAHN_SERVER_CMD:-}" ]] || die "--url starts no server: unset WSECHO_AUTOBAHN_SERVER_CMD"
  # ws[s]://HOST[:PORT][/PATH]; HOST may be [IPv6].
  re='^(wss?)://(\[[0-9A-Fa-f:.]+\]|[^]/:?#@[]+)(:([0-9]{1,5}))?([/?].*)?$'
  [[ "$URL" =~ $re ]] || die "--url wants ws://HOST:PORT/PATH or wss://HOST:PORT/PATH, not '$URL'"
  URL_HOST="${BASH_REMATCH[2]}"
  URL_PORT="${BASH_REMATCH[4]}"
  if [[ -z "$URL_PORT" ]]; then
    URL_PORT=80
    [[ "${BASH_REMATCH[1]}" == wss ]] && URL_PORT=443
  fi
  ((10#$URL_PORT >= 1 && 10#$URL_PORT <= 65535)) || die "--url: bad port $URL_PORT in '$URL'"
  [[ -n "${BASH_REMATCH[5]}" ]] || URL="$URL/"
fi

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

# 1. The server binary (unless replaced, or none with --url) and the testsuite.
WSECHO=""
if [[ -z "$URL" && -z "${WSECHO_AUTOBAHN_SERVER_CMD:-}" ]]; then
  # shellcheck source=scripts/lib/target.sh
  source "$ROOT/scripts/lib/target.sh"
  if [[ -n "${WSECHO_BIN:-}" ]]; then
    log "wsecho: $WSECHO_BIN (WSECHO_BIN; not building)"
  else
    log "building the release wsecho"
    cargo build --release --bin wsecho
  fi
  WSECHO="$(wsecho_bin)" || die "cannot tell where cargo builds"
  [[ -x "$WSECHO" ]] || die "no wsecho binary at $WSECHO"
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

if [[ -n "$URL" ]]; then
  # Nothing to start: the URL must accept a TCP connection now.
  host="${URL_HOST#[}"
  host="${host%]}"
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$URL_PORT" 2>/dev/null ||
    die "nothing accepts TCP connections at $URL_HOST:$URL_PORT (--url $URL)"
  log "no server started: grading $URL"
elif [[ -n "${WSECHO_AUTOBAHN_SERVER_CMD:-}" ]]; then
  log "server (WSECHO_AUTOBAHN_SERVER_CMD): $WSECHO_AUTOBAHN_SERVER_CMD"
  bash -c "exec $WSECHO_AUTOBAHN_SERVER_CMD" >"$SERVER_LOG" 2>&1 9>&- &
else
  SERVER_CMD=("$WSECHO" --host 127.0.0.1 --port "$PORT" "${SERVER_ARGS[@]}")
  # wstest does not verify the certificate when the spec names no hostname.
  ((TLS)) && SERVER_CMD+=(--tls-self-signed)
  log "server: ${SERVER_CMD[*]}"
  "${SERVER_CMD[@]}" >"$SERVER_LOG" 2>&1 9>&- &
fi
[[ -n "$URL" ]] || SERVER_PID=$!

show_server_log() {
  echo "---- last lines of $SERVER_LOG ----"
  tail -n 30 "$SERVER_LOG" || true
  echo "----"
}

# Ready = the port accepts a TCP connection (opened and closed at once).
if [[ -z "$URL" ]]; then
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
fi

# 4. The spec: config/fuzzingclient.json with this run's port, outdir and cases.
SCHEME=ws
((TLS)) && SCHEME=wss
python3 - "$ROOT/config/fuzzingclient.json" "$SPEC" "$PORT" "$OUTDIR" "$CASES" "$SCHEME" "$URL" <<'PY'
import json, sys
template, out, port, outdir, cases, scheme, url = sys.argv[1:]
spec = json.load(open(template))
assert len(spec["servers"]) == 1, "the template must name exactly one server"
spec["servers"][0]["url"] = url or "%s://127.0.0.1:%s" % (scheme, port)
spec["outdir"] = outdir
spec["cases"] = [c.strip() for c in cases.split(",") if c.strip()]
json.dump(spec, open(out, "w"), indent=2)
PY

# 5. Run wstest (quiet: its output goes to a log; progress every minute).
if [[ -n "$URL" ]]; then
  log "wstest -m fuzzingclient against $URL, cases '$CASES' (log $WSTEST_LOG)"
else
  log "wstest -m fuzzingclient over $SCHEME://, cases '$CASES' (log $WSTEST_LOG)"
fi
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

# 6. The server must have survived the whole run (with --url there is none).
if [[ -n "$URL" ]]; then
  :
elif kill -0 "$SERVER_PID" 2>/dev/null; then
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
if [[ -n "$URL" ]]; then
  # The summary's last line is then the verdict, 'autobahn via URL: ...'.
  SUMMARY_ARGS+=(--via "$URL")
  log "reports: $OUTDIR/index.html"
fi
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

if [[ -n "$URL" ]]; then
  # 0 all match, 1 some differ, 2 no verdict (wstest failed, reports missing).
  if ((wstest_rc != 0 || summary_rc == 2)) || [[ ! -f "$REPORTS/summary.json" ]]; then
    log "FAILED: no verdict for $URL (reports: $OUTDIR/)"
    exit 2
  fi
  exit "$summary_rc"
fi

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
