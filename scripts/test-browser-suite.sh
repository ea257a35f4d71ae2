#!/usr/bin/env bash
# Headless Chromium graded by the client suite: the browser's own WebSocket runs
# Autobahn's client cases from wsecho's /suite page, over ws:// and over wss://
# (where Chromium opens its WebSockets on HTTP/2, RFC 8441), and the same page
# runs them against Autobahn's fuzzingserver to compare the grades case by case.
#
#   scripts/test-browser-suite.sh [--cases A-B] [--no-autobahn]
#
# --cases: case numbers (wsecho's, all 517 counted; default 1-301, groups 1 to 10,
# what wsecho runs today). Autobahn's fuzzingserver is given every case too, so
# its numbers are the same.
# --no-autobahn: only the wsecho runs (no comparison).
#
# Runs, each with a fresh server on a free loopback port (autobahn first):
#   http      the page at http://.../suite, its WebSockets ws:// to wsecho;
#   https     the page at https://.../suite from wsecho --tls-self-signed, which
#             Chromium is told to trust (that certificate only): wss:// on the
#             page's HTTP/2 connection (RFC 8441);
#   https-h1  the same with Chromium's HTTP/2 off: wss:// over HTTP/1.1;
#   autobahn  the page from a wsecho over http, its WebSockets to the fuzzingserver
#             (?server=ws://...; an https page may not open ws://, so Autobahn
#             is compared over ws:// only). Its testsuite is
#             scripts/setup-autobahn.sh's (.venv-autobahn), or WSTEST names one.
# For each run: the page must end ('suite done: N cases'), the server's
# index.json (wsecho's /reports/index.json, the fuzzingserver's outdir) must hold
# every case for the agent 'chromium', and the grade the page saw from
# /getCaseStatus must be the report's; the WebSockets must be on HTTP/2 in the
# https run only (wsecho's /metrics). wsecho's reports: NAME/reports/.
# Then each wsecho run is compared with the autobahn run case by case (behavior
# and behaviorClose, with scripts/compare_autobahn_clients.py's reader). Two kinds
# of difference are listed but pass: OK against NON-STRICT alone (a race inside
# the browser between the page's echo and its failing the connection, lost or won
# on either server), and in the https run a behaviorClose alone (over HTTP/2
# Chromium ends a WebSocket with RST_STREAM where it sends a close frame over
# HTTP/1.1). A case that differs otherwise is run once more on that wsecho (five
# at most; the summary names them), and fails if it still differs.
# The last line is 'browser-suite: PASS ...' or 'browser-suite: FAIL ...'.
# Logs and reports: browser-suite/ in cargo's target directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CASES="1-301"
AUTOBAHN=1
while (($#)); do
  case "$1" in
    --cases) (($# >= 2)) || { echo "--cases needs A-B" >&2; exit 2; }; CASES="$2"; shift 2 ;;
    --cases=*) CASES="${1#--cases=}"; shift ;;
    --no-autobahn) AUTOBAHN=0; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$CASES" =~ ^[0-9]+(-[0-9]+)?$ ]] || { echo "--cases wants A-B or A, not $CASES" >&2; exit 2; }

# shellcheck source=scripts/lib/target.sh
source "$ROOT/scripts/lib/target.sh"
LOGDIR="$(target_dir)/browser-suite"
TIMEOUT="${WSECHO_BROWSER_SUITE_TIMEOUT:-1800}"
AGENT=chromium
START=$SECONDS

log() { printf 'test-browser-suite: %s\n' "$*"; }
fail() {
  log "$*"
  echo "browser-suite: FAIL $*"
  exit 1
}

# 1. Chromium, node, wsecho, and Autobahn's testsuite.
# shellcheck source=scripts/lib/chromium.sh
source "$ROOT/scripts/lib/chromium.sh"
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
chromium_install "$LOGDIR" 2> >(sed 's/^/test-browser-suite: /' >&2) || fail "no chromium (see above)"
log "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"), node $(node --version)"
log "building the release wsecho"
cargo build --release --bin wsecho --quiet
if ((AUTOBAHN)); then
  if [[ -z "${WSTEST:-}" ]]; then
    scripts/setup-autobahn.sh >"$LOGDIR/setup-autobahn.log" 2>&1 ||
      fail "scripts/setup-autobahn.sh failed: $(tail -n 1 "$LOGDIR/setup-autobahn.log")"
    WSTEST="$ROOT/.venv-autobahn/bin/wstest"
  fi
fi

# shellcheck source=scripts/lib/wsecho-server.sh
source "$ROOT/scripts/lib/wsecho-server.sh"
FUZZ_PID=""
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  wsecho_stop
  if [[ -n "$FUZZ_PID" ]]; then
    kill -TERM "$FUZZ_PID" 2>/dev/null || true
    wait "$FUZZ_PID" 2>/dev/null || true
    FUZZ_PID=""
  fi
}
trap cleanup EXIT

# The page's cases, one run: run_page NAME PAGE_URL [CHROMIUM_FLAGS]; the page's
# log in LOGDIR/NAME/browser.out, what it saw per case in LOGDIR/NAME/page.json.
run_page() {
  local name="$1" url="$2" extra="${3:-}"
  mkdir -p "$LOGDIR/$name"
  log "$name: opening $url"
  CHROMIUM_EXTRA_ARGS="$extra" nice -n 19 node tests/browser/suite.mjs "$CHROMIUM" "$url" "$TIMEOUT" \
    "$LOGDIR/$name/page.json" | tee "$LOGDIR/$name/browser.out" | sed "s|^|test-browser-suite: $name: |"
  return "${PIPESTATUS[0]}"
}

# Checks one run's report against what the page saw: every case, same grade.
# check_report NAME INDEX_JSON; prints the problems, one a line.
check_report() {
  python3 - "$LOGDIR/$1/page.json" "$2" "$AGENT" <<'PY'
import json, sys
page_file, index_file, agent = sys.argv[1:]
try:
    page = json.load(open(page_file))
    index = json.load(open(index_file))
except (OSError, ValueError) as e:
    print("cannot read %s" % e)
    sys.exit(0)
cases = index.get(agent)
if not cases:
    print("%s has no agent %s (it has %s)" % (index_file, agent, ", ".join(index) or "none"))
    sys.exit(0)
if not page:
    print("the page ran no case")
for r in page:
    got = cases.get(r["id"])
    if got is None:
        print("case %s (#%s) is missing from %s" % (r["id"], r["n"], index_file))
    elif got["behavior"] != r["behavior"]:
        print("case %s: the page saw %s, the report says %s" % (r["id"], r["behavior"], got["behavior"]))
PY
}

# Grade counts of one report, for the log.
tally() {
  python3 - "$1" "$AGENT" <<'PY'
import collections, json, sys
cases = json.load(open(sys.argv[1])).get(sys.argv[2], {})
for field in ("behavior", "behaviorClose"):
    c = collections.Counter(r[field] for r in cases.values())
    print("%s %s" % (field, ", ".join("%s %d" % kv for kv in sorted(c.items()))), end="; " if field == "behavior" else "\n")
PY
}

# Case by case, a wsecho run against the autobahn run: compare_run NAME writes
# LOGDIR/NAME/compare.txt (its last line the counts) and the ids that differ to
# LOGDIR/NAME/differ.txt; returns 1 if any differ.
compare_run() {
  local name="$1"
  python3 - "$LOGDIR/autobahn/reports/index.json" "$LOGDIR/$name/index.json" "$AGENT" "$name" \
    "$LOGDIR/$name/differ.txt" >"$LOGDIR/$name/compare.txt" 2>&1 <<'PY'
import sys
sys.path.insert(0, "scripts")
from compare_autobahn_clients import case_key, fmt, load

a_file, b_file, agent, name, differ_file = sys.argv[1:]
a, b = load(a_file, agent), load(b_file, agent)
h2 = name == "https"
equal, timing, transport, differ = 0, [], [], []
for case in sorted(set(a) | set(b), key=case_key):
    ra, rb = a.get(case), b.get(case)
    if ra is None or rb is None:
        differ.append("%-8s only on %s" % (case, "Autobahn" if rb is None else "wsecho"))
        continue
    line = "%-8s %s  ->  %s" % (case, fmt(ra), fmt(rb))
    same_close = ra["behaviorClose"] == rb["behaviorClose"]
    if ra["behavior"] == rb["behavior"] and same_close:
        equal += 1
    elif same_close and {ra["behavior"], rb["behavior"]} == {"OK", "NON-STRICT"}:
        # The case sends a message and then a frame the client must fail on:
        # whether the page's echo leaves before Chromium's network side fails the
        # connection is a race inside the browser, lost or won on either server.
        timing.append(line)
    elif h2 and ra["behavior"] == rb["behavior"]:
        # Over HTTP/2 Chromium ends a WebSocket with RST_STREAM(CANCEL) where over
        # HTTP/1.1 it sends its close frame (and its 1002 on a failure): wsecho
        # grades the stream as Autobahn grades a connection dropped that way.
        transport.append(line)
    else:
        differ.append(line)
with open(differ_file, "w") as f:
    f.writelines(line.split()[0] + "\n" for line in differ)
for title, lines in (("timing (OK or NON-STRICT by a race in the browser)", timing),
                     ("HTTP/2 (the client reset the stream, no close frame)", transport),
                     ("DIFFER", differ)):
    for line in lines:
        print("%s: %s" % (title.split(" ")[0], line))
print("compare: %d cases: %d equal, %d timing, %d HTTP/2 close, %d differ"
      % (len(set(a) | set(b)), equal, len(timing), len(transport), len(differ)))
sys.exit(1 if differ else 0)
PY
}

PROBLEMS=()
RERUN_NOTES=()
# 2. Autobahn's fuzzingserver, every case selected (so that its case numbers are
# wsecho's), the page served by a wsecho.
if ((AUTOBAHN)); then
  dir="$LOGDIR/autobahn"
  mkdir -p "$dir/reports"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  python3 - "$dir/fuzzingserver.json" "ws://127.0.0.1:$port" "$dir/reports" <<'PY'
import json, sys
out, url, outdir = sys.argv[1:]
json.dump({"url": url, "outdir": outdir, "cases": ["*"], "exclude-cases": [],
           "exclude-agent-cases": {}}, open(out, "w"), indent=2)
PY
  # --webport 0: no web UI (its fixed port 8080 may be taken).
  (cd "$dir" && exec nice -n 19 "$WSTEST" -m fuzzingserver --webport 0 -s fuzzingserver.json) >"$dir/wstest.log" 2>&1 &
  FUZZ_PID=$!
  deadline=$((SECONDS + 30))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$FUZZ_PID" 2>/dev/null || ((SECONDS >= deadline)); then
      tail -n 20 "$dir/wstest.log" >&2 || true
      fail "the fuzzingserver did not listen on port $port"
    fi
    sleep 0.2
  done
  wsecho_start "$dir" || fail "wsecho (serving the page) did not start"
  started=$SECONDS
  run_page autobahn "http://127.0.0.1:$WSECHO_PORT/suite?agent=$AGENT&cases=$CASES&server=ws://127.0.0.1:$port" ||
    PROBLEMS+=("autobahn: the page did not finish ($(tail -n 1 "$dir/browser.out"))")
  log "autobahn: $((SECONDS - started))s"
  wsecho_stop
  # Autobahn writes its reports on /updateReports, before it answers.
  kill -0 "$FUZZ_PID" 2>/dev/null || PROBLEMS+=("autobahn: the fuzzingserver died")
  cleanup
  p=""
  while IFS= read -r p; do PROBLEMS+=("autobahn: $p"); done < <(check_report autobahn "$dir/reports/index.json")
  log "autobahn: $(tally "$dir/reports/index.json" 2>/dev/null || echo 'no report')"
fi


# 3. wsecho over http and https: run_wsecho NAME SCHEME h1|h2 [wsecho args...].
run_wsecho() {
  local name="$1" scheme="$2" h2="$3"
  shift 3
  local dir="$LOGDIR/$name" extra=""
  mkdir -p "$dir"
  RUST_LOG=wsecho=info wsecho_start "$dir" --reports "$dir/reports" "$@" ||
    { PROBLEMS+=("$name: wsecho did not start"); return; }
  [[ "$scheme" == https ]] && extra="$(chromium_trust "$dir/cert.pem")"
  # Chromium opens its WebSockets on the page's HTTP/2 connection when it can.
  [[ "$h2" == h2 ]] || extra="$extra --disable-http2"
  local started=$SECONDS
  run_page "$name" "$scheme://127.0.0.1:$WSECHO_PORT/suite?agent=$AGENT&cases=$CASES" "$extra" ||
    PROBLEMS+=("$name: the page did not finish ($(tail -n 1 "$dir/browser.out"))")
  log "$name: $((SECONDS - started))s"
  # The reports and the metrics, over the same port in cleartext.
  fetch_reports() {
    python3 - "http://127.0.0.1:$WSECHO_PORT" "$dir" <<'PY' || PROBLEMS+=("$name: cannot read wsecho's reports or metrics")
import sys, urllib.request
base, out = sys.argv[1:]
open(out + "/index.json", "wb").write(urllib.request.urlopen(base + "/reports/index.json", timeout=30).read())
open(out + "/metrics", "wb").write(urllib.request.urlopen(base + "/metrics", timeout=30).read())
PY
  }
  fetch_reports
  local p
  while IFS= read -r p; do PROBLEMS+=("$name: $p"); done < <(check_report "$name" "$dir/index.json")
  # A case that differs from Autobahn's is run once more (a few at most): a
  # browser under load now and then does what it does not do again (seen once in
  # about 1,500 case runs: 6.22.2 over wss:// HTTP/1.1, Chromium closing with
  # 1001 after 500 ms instead of echoing). What differs twice fails.
  if ((AUTOBAHN)); then
    local rc=0 id num
    compare_run "$name" || rc=$?
    if ((rc == 1)) && (($(wc -l <"$dir/differ.txt") <= 5)); then
      cp "$dir/compare.txt" "$dir/compare-first.txt"
      while IFS= read -r id; do
        num="$(python3 -c 'import json, sys; print(next((r["n"] for r in json.load(open(sys.argv[1])) if r["id"] == sys.argv[2]), ""))' "$dir/page.json" "$id")"
        [[ -n "$num" ]] || continue
        log "$name: case $id differs from Autobahn's: running it once more"
        run_page "$name/rerun-$id" "$scheme://127.0.0.1:$WSECHO_PORT/suite?agent=$AGENT&cases=$num" "$extra" || true
      done <"$dir/differ.txt"
      cp "$dir/differ.txt" "$dir/differ-first.txt"
      fetch_reports
      rc=0
      compare_run "$name" || rc=$?
      RERUN_NOTES+=("$name: $(grep -c . "$dir/differ-first.txt") ran again ($(paste -sd, "$dir/differ-first.txt"))")
    fi
    sed "s/^/test-browser-suite: $name vs autobahn: /" "$dir/compare.txt"
    ((rc == 0)) || PROBLEMS+=("$name: $(tail -n 1 "$dir/compare.txt") from Autobahn's")
  fi
  kill -0 "$WSECHO_PID" 2>/dev/null || PROBLEMS+=("$name: wsecho died")
  wsecho_stop
  # Over https Chromium chose h2 by ALPN and opened its WebSockets as RFC 8441
  # streams: the server counts them.
  local n
  n="$(awk '$1 == "wsecho_http2_websockets_total" { print $2 }' "$dir/metrics" 2>/dev/null || true)"
  if [[ "$h2" == h2 ]]; then
    [[ "$n" =~ ^[0-9]+$ ]] && ((n > 0)) || PROBLEMS+=("$name: no WebSocket over HTTP/2 (/metrics: ${n:-nothing})")
  else
    [[ "$n" == 0 ]] || PROBLEMS+=("$name: ${n:-no count of} WebSockets over HTTP/2, none expected")
  fi
  log "$name: $(tally "$dir/index.json" 2>/dev/null || echo 'no report'); WebSockets over HTTP/2: ${n:-?}"
}
run_wsecho http http h1
run_wsecho https https h2 --tls-self-signed --tls-write-cert "$LOGDIR/https/cert.pem"
run_wsecho https-h1 https h1 --tls-self-signed --tls-write-cert "$LOGDIR/https-h1/cert.pem"


log "done in $((SECONDS - START))s"
if ((${#PROBLEMS[@]})); then
  for p in "${PROBLEMS[@]}"; do log "$p"; done
  echo "browser-suite: FAIL ${PROBLEMS[0]} (and $((${#PROBLEMS[@]} - 1)) more; logs in $LOGDIR)"
  exit 1
fi
summary="cases $CASES on wsecho over ws://, wss:// on HTTP/2 and wss:// on HTTP/1.1"
((AUTOBAHN)) && summary="$summary, graded as on Autobahn's fuzzingserver ($(for n in http https https-h1; do
  printf '%s: %s; ' "$n" "$(tail -n 1 "$LOGDIR/$n/compare.txt" | sed 's/^compare: //')"; done | sed 's/; $//'))"
((${#RERUN_NOTES[@]})) && summary="$summary; once more: ${RERUN_NOTES[*]}"
echo "browser-suite: PASS $summary"
