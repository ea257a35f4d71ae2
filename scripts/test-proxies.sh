#!/usr/bin/env bash
# Autobahn through real proxies: Debian's nginx and HAProxy in front of
# wsecho, each graded against wsecho's own baseline.
#
#   scripts/test-proxies.sh                  # groups 1-10 through each proxy
#   scripts/test-proxies.sh --strict         # also fail if a case differs
#   scripts/test-proxies.sh --cases '7.*'    # other cases (wstest patterns)
#   scripts/test-proxies.sh --only haproxy/h2 --cases '*'
#       # one run (PROXY/TRANSPORT), here the full suite through HAProxy over HTTP/2
#
# Installs nginx and haproxy with apt-get if they are missing (as root, or via
# sudo -n; otherwise it stops with exit code 2 naming the packages). Builds
# the release wsecho and starts it on a free loopback port and on a Unix
# socket (--unix). Then for each proxy (nginx,
# haproxy) and transport to wsecho (tcp, and unix when there is one): a copy
# of config/nginx.conf or config/haproxy.cfg with this run's addresses, the
# proxy started in the foreground on a free port as an ordinary process (its
# pid file, logs and temp dirs in a temp dir; not the system service), and
# scripts/run-autobahn.sh --url ws://127.0.0.1:PORT/ --cases ... through it.
# Everything started is stopped on exit. A table of the grades per run ends
# the output; its last line is
#   proxies: PASS 4 runs: nginx/tcp 0 differ, ...   (or proxies: FAIL ...)
#
# Exit status: 1 if a run could not be made (a proxy or wsecho that does not
# start or dies, wstest failing, no reports); cases that differ from the
# baseline are reported, and fail only with --strict. 2 if nginx/haproxy are
# missing and cannot be installed.
# HAProxy also runs with HTTP/2 to wsecho (transport h2: RFC 8441 extended
# CONNECT on h2c).
# Reports: autobahn/reports/proxies/<proxy>-<transport>/ (wstest's reports,
# summary, and the proxy's logs). Temp files: a mktemp dir, removed on exit.
#
# Environment: WSECHO_BIN=PATH runs that wsecho binary instead of building
# the release wsecho (to grade the proxies in front of a given build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'test-proxies: %s\n' "$*"; }
die() { printf 'test-proxies: ERROR: %s\n' "$1" >&2; exit "${2:-1}"; }
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

CASES='1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*'
STRICT=0
ONLY=""
while (($#)); do
  case "$1" in
    --strict) STRICT=1; shift ;;
    --cases) (($# >= 2)) || die "--cases needs a value" 2; CASES="$2"; shift 2 ;;
    --cases=*) CASES="${1#--cases=}"; shift ;;
    --only) (($# >= 2)) || die "--only needs PROXY/TRANSPORT" 2; ONLY="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" 2 ;;
  esac
done

START=$SECONDS
REPORTS="$ROOT/autobahn/reports/proxies"

# 1. nginx and haproxy (Debian puts them in /usr/sbin, which a user's PATH may lack).
find_bin() { command -v "$1" 2>/dev/null || { [[ -x "/usr/sbin/$1" ]] && echo "/usr/sbin/$1"; } || true; }
NGINX="$(find_bin nginx)"
HAPROXY="$(find_bin haproxy)"
missing=()
[[ -n "$NGINX" ]] || missing+=(nginx)
[[ -n "$HAPROXY" ]] || missing+=(haproxy)
if ((${#missing[@]})); then
  # (Debian may start the packaged services, nginx on port 80; this test does
  # not use them.)
  # shellcheck source=lib/apt.sh
  source "$ROOT/scripts/lib/apt.sh"
  apt_install "$REPORTS/apt.log" "${missing[@]}" 2>&1 | sed 's/^/test-proxies: /' ||
    die "cannot install ${missing[*]} (see above)" 2
  NGINX="$(find_bin nginx)"
  HAPROXY="$(find_bin haproxy)"
  [[ -n "$NGINX" && -n "$HAPROXY" ]] || die "nginx or haproxy not found after installing them" 2
fi
log "$("$NGINX" -v 2>&1), $("$HAPROXY" -v 2>&1 | head -n 1)"

# 2. wsecho, on a free TCP port and (when it has --unix) a Unix socket.
if [[ -n "${WSECHO_BIN:-}" ]]; then
  [[ -x "$WSECHO_BIN" ]] || die "WSECHO_BIN=$WSECHO_BIN is not an executable" 2
  log "wsecho: $WSECHO_BIN (WSECHO_BIN; not building)"
else
  log "building the release wsecho"
  cargo build --release --bin wsecho --quiet || die "cargo build --release failed"
  # shellcheck source=scripts/lib/target.sh
  source "$ROOT/scripts/lib/target.sh"
  WSECHO_BIN="$(release_bin wsecho)" || die "cannot tell where cargo builds"
fi
export WSECHO_BIN
# Runtime files: short paths (a Unix socket path has at most 107 bytes), and
# traversable by the proxies' workers (nginx's run as nobody when started
# as root).
RUN="$(mktemp -d "${TMPDIR:-/tmp}/wsecho-proxies.XXXXXX")"
chmod 755 "$RUN"

# shellcheck source=scripts/lib/wsecho-server.sh
source "$ROOT/scripts/lib/wsecho-server.sh"
PROXY_PID=""
stop_proxy() {
  [[ -n "$PROXY_PID" ]] || return 0
  if kill -0 "$PROXY_PID" 2>/dev/null; then
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PROXY_PID" 2>/dev/null || true
  fi
  wait "$PROXY_PID" 2>/dev/null || true
  PROXY_PID=""
}
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  stop_proxy
  wsecho_stop
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every run is made, always: a run that cannot be made (wsecho refusing --unix,
# say) fails the step rather than dropping out of it.
TRANSPORTS=(tcp unix)
SOCK="$RUN/wsecho.sock"
# 666: the proxies' workers may run as another user (nobody for nginx); the
# directory is this run's own. In production: --unix-mode 660 and the proxy's
# group on the socket.
WSECHO_ARGS=(--unix "$SOCK" --unix-mode 666)
# Info level: each connection's last line names its peer ('unix' on the socket),
# which tells which transport a run really used.
RUST_LOG=wsecho=info wsecho_start "$RUN/wsecho" "${WSECHO_ARGS[@]}" || die "wsecho did not start (log above)"
WSECHO_LOG="$RUN/wsecho/wsecho.log"
if [[ " ${TRANSPORTS[*]} " == *" unix "* ]]; then
  for _ in $(seq 100); do [[ -S "$SOCK" ]] && break; sleep 0.1; done
  [[ -S "$SOCK" ]] || die "wsecho --unix $SOCK made no socket (log $RUN/wsecho/wsecho.log)"
fi
log "wsecho (pid $WSECHO_PID) on 127.0.0.1:$WSECHO_PORT${WSECHO_ARGS[*]:+ and unix:$SOCK}"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A copy of a committed config with this run's addresses: wsecho's TCP address
# and Unix socket, the proxy's port, and for the unix transport the two server
# lines' comments swapped. Fails if the file no longer has the expected lines.
make_config() {
  local src="$1" out="$2" transport="$3" port="$4"
  python3 - "$src" "$out" "$transport" "$WSECHO_PORT" "$SOCK" "$port" <<'PY'
import re, sys
src, out, transport, wsport, sock, port = sys.argv[1:]
text = open(src).read()
for old in ("127.0.0.1:5050", "127.0.0.1:8080", "/tmp/wsecho.sock"):
    if old not in text:
        sys.exit(f"{src} no longer contains {old}")
# The active TCP server line, the commented-out Unix one, and (HAProxy) the
# commented-out HTTP/2 one.
tcp = re.compile(r"^(\s*)(server .*127\.0\.0\.1:5050.*)$", re.M)
unix = re.compile(r"^(\s*)# (server .*/tmp/wsecho\.sock.*)$", re.M)
h2 = re.compile(r"^(\s*)# (server .*127\.0\.0\.1:5050 proto h2.*)$", re.M)
if len(tcp.findall(text)) != 1 or len(unix.findall(text)) != 1:
    sys.exit(f"{src}: expected one 'server ... 127.0.0.1:5050' line and one '# server ... /tmp/wsecho.sock' line")
if transport == "unix":
    text = tcp.sub(r"\1# \2", text)
    text = unix.sub(r"\1\2", text)
if transport == "h2":
    if len(h2.findall(text)) != 1:
        sys.exit(f"{src}: expected one '# server ... 127.0.0.1:5050 proto h2' line")
    text = tcp.sub(r"\1# \2", text)
    text = h2.sub(r"\1\2", text)
text = text.replace("127.0.0.1:5050", f"127.0.0.1:{wsport}")
text = text.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
text = text.replace("/tmp/wsecho.sock", sock)
open(out, "w").write(text)
PY
}

# Start one proxy in the foreground (background job), wait for its port.
start_proxy() {
  local proxy="$1" dir="$2" conf="$3" port="$4"
  case "$proxy" in
    nginx)
      mkdir -p "$dir/prefix"
      "$NGINX" -p "$dir/prefix/" -c "$conf" -e "$dir/prefix/error.log" >"$dir/prefix/stdout.log" 2>&1 &
      ;;
    haproxy)
      "$HAPROXY" -db -f "$conf" -p "$dir/haproxy.pid" >"$dir/haproxy.log" 2>&1 &
      ;;
  esac
  PROXY_PID=$!
  local deadline=$((SECONDS + 15))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$PROXY_PID" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

show_logs() {
  local f
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    echo "---- last lines of $f ----"
    tail -n 20 "$f"
  done
  echo "----"
}

# 3. Each proxy and transport. Results: ROWS (table lines), counters.
ROWS=()
BROKEN=0
DIFFERING=0
VERDICTS=()
row() { ROWS+=("$(printf '%-8s %-9s %5s %5s %5s %5s %6s %6s' "$@")"); }
row proxy transport cases OK INFO other differ time_s
# HAProxy also speaks HTTP/2 to wsecho (RFC 8441, h2c).
H2_TRANSPORT=(h2)
transports_of() {
  printf '%s\n' "${TRANSPORTS[@]}"
  [[ "$1" == haproxy ]] && printf '%s\n' "${H2_TRANSPORT[@]}"
  return 0
}
RUNS=0
for proxy in nginx haproxy; do
  for transport in $(transports_of "$proxy"); do
    [[ -z "$ONLY" || "$ONLY" == "$proxy/$transport" ]] || continue
    RUNS=$((RUNS + 1))
    name="$proxy-$transport"
    dir="$RUN/$name"
    out="$REPORTS/$name"
    mkdir -p "$dir" "$out"
    rm -f "$out/run.log" "$out"/proxy-*.log "$out/$proxy".*
    port="$(free_port)"
    src="$ROOT/config/nginx.conf"
    [[ "$proxy" == haproxy ]] && src="$ROOT/config/haproxy.cfg"
    conf="$dir/${src##*/}"
    make_config "$src" "$conf" "$transport" "$port" || die "cannot template $src"
    cp "$conf" "$out/"
    t0=$SECONDS
    log_before="$(wc -l <"$WSECHO_LOG")"
    if ! start_proxy "$proxy" "$dir" "$conf" "$port"; then
      show_logs "$dir"/*.log "$dir"/prefix/*.log
      log "$name: $proxy did not start on 127.0.0.1:$port"
      stop_proxy
      BROKEN=$((BROKEN + 1))
      VERDICTS+=("$proxy/$transport did not start")
      row "$proxy" "$transport" - - - - - -
      continue
    fi
    url="ws://127.0.0.1:$port/"
    log "$name: $proxy (pid $PROXY_PID) on $url -> wsecho over $transport"
    rc=0
    WSECHO_AUTOBAHN_REPORTS="$out" scripts/run-autobahn.sh --url "$url" --cases "$CASES" 2>&1 |
      tee "$out/run.log" || rc=$?
    secs=$((SECONDS - t0))
    alive=1
    kill -0 "$PROXY_PID" 2>/dev/null || alive=0
    stop_proxy
    # The proxy's logs beside the reports, for reading what it did.
    for f in "$dir"/*.log "$dir"/prefix/*.log; do
      [[ -f "$f" ]] && cp "$f" "$out/proxy-${f##*/}"
    done
    if ! kill -0 "$WSECHO_PID" 2>/dev/null; then
      show_logs "$WSECHO_LOG"
      die "$name: wsecho died during the run"
    fi
    # The connections wsecho saw in this run, by transport.
    tail -n "+$((log_before + 1))" "$WSECHO_LOG" >"$out/wsecho.log"
    via_unix="$(grep -cE '\] c[0-9]+ unix: ended' "$out/wsecho.log" || true)"
    via_tcp="$(grep -cE '\] c[0-9]+ [0-9.]+:[0-9]+: ended' "$out/wsecho.log" || true)"
    via_h2="$(grep -cE '\] c[0-9]+ [0-9.]+:[0-9]+ \(HTTP/2, [0-9]+ streams\): ended' "$out/wsecho.log" || true)"
    right=1
    case "$transport" in
      unix) ((via_unix > 0 && via_tcp == 0 && via_h2 == 0)) || right=0 ;;
      h2) ((via_h2 > 0 && via_tcp == 0 && via_unix == 0)) || right=0 ;;
      *) ((via_tcp > 0 && via_unix == 0 && via_h2 == 0)) || right=0 ;;
    esac
    if ((!right)); then
      log "$name: wsecho saw $via_tcp connections over TCP, $via_h2 over HTTP/2 and $via_unix over its Unix socket ($out/wsecho.log)"
      BROKEN=$((BROKEN + 1))
      VERDICTS+=("$proxy/$transport went over the wrong transport")
      row "$proxy" "$transport" - - - - - "$secs"
      continue
    fi
    if ((rc == 2 || rc > 2 || !alive)) || [[ ! -f "$out/summary.json" ]]; then
      ((alive)) || log "$name: $proxy died during the run (logs: $out/proxy-*.log)"
      log "$name: no verdict (run-autobahn exit $rc; $out/run.log)"
      BROKEN=$((BROKEN + 1))
      VERDICTS+=("$proxy/$transport no verdict")
      row "$proxy" "$transport" - - - - - "$secs"
      continue
    fi
    read -r n ok info other differ < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["cases"], r["ok"], r["informational"], r["cases"] - r["ok"] - r["informational"],
      len(r["differing"]))' "$out/summary.json")
    DIFFERING=$((DIFFERING + differ))
    VERDICTS+=("$proxy/$transport $differ differ")
    row "$proxy" "$transport" "$n" "$ok" "$info" "$other" "$differ" "$secs"
  done
done

# 4. The table and the verdict.
echo
log "Autobahn cases '$CASES' through each proxy, compared with wsecho's baseline"
printf '%s\n' "${ROWS[@]}"
for proxy in nginx haproxy; do
  for transport in $(transports_of "$proxy"); do
    [[ -z "$ONLY" || "$ONLY" == "$proxy/$transport" ]] || continue
    f="$REPORTS/$proxy-$transport/summary.json"
    [[ -f "$f" ]] || continue
    ids="$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["differing"]))' "$f")"
    [[ -z "$ids" ]] || log "$proxy/$transport differs in: $ids"
  done
done
log "done in $((SECONDS - START))s (reports: $REPORTS/)"
status=PASS
rc=0
if ((BROKEN)); then
  status=FAIL
  rc=1
elif ((STRICT && DIFFERING)); then
  status="FAIL (--strict)"
  rc=1
fi
runs=$RUNS
((runs > 0)) || { status=FAIL; rc=1; }
summary="$(IFS=,; echo "${VERDICTS[*]}")"
echo "proxies: $status $runs runs: ${summary//,/, }"
exit "$rc"
