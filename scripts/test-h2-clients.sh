#!/usr/bin/env bash
# The two RFC 8441 (WebSockets over HTTP/2) test clients run against a server, over
# h2c with prior knowledge and over TLS with ALPN h2: the Python client
# (tests/python/test_h2.py: Python h2 + wsproto) and the Rust one
# (test-support/tests/h2_peer.rs: the h2 crate, feature h2 of wsecho-test-support).
#
#   scripts/test-h2-clients.sh [--peer hypercorn|wsecho]
#
# --peer hypercorn (the default) is the test of the test clients: hypercorn, an
#   independent ASGI server that serves RFC 8441, runs tests/python/h2_echo_app.py,
#   so that a misreading shared by our clients and wsecho's server cannot hide. Its
#   known departures (no END_STREAM after a close the client started; DATA after a
#   close handshake drops its connection) are tolerated there and only there, and
#   asserted to be exactly those (see tests/python/test_h2.py).
# --peer wsecho runs the same clients, held to every check, against a release
#   the release wsecho (built here) with a self-signed certificate, h2c and TLS
#   on its one port.
#
# Creates or completes the venv .venv-py (python3 >= 3.10 with venv, and PyPI) with
# the pins below, makes a throwaway certificate with the openssl CLI (installed with
# apt-get if missing), builds the Rust client's test, starts the server(s) on free
# loopback ports, stops them at the end. Logs: h2-clients/ in cargo's target directory. The last lines
# are the tallies 'python-h2: ...', 'rust-h2: ...' and, last, their sum
# 'h2-clients: N passed, M failed'; exits non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Newest releases on PyPI when this was written.
H2_VERSION="4.4.1"
WSPROTO_VERSION="1.3.2"
HYPERCORN_VERSION="0.18.0"
VENV="$ROOT/.venv-py"
# shellcheck source=scripts/lib/target.sh
source "$ROOT/scripts/lib/target.sh"
LOGDIR="$(target_dir)/h2-clients"

log() { printf 'test-h2-clients: %s\n' "$*"; }

PEER=hypercorn
while (($#)); do
  case "$1" in
    --peer)
      PEER="${2:-}"
      shift 2 || { log "--peer needs hypercorn or wsecho"; exit 2; }
      ;;
    --peer=*) PEER="${1#--peer=}"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument $1"; exit 2 ;;
  esac
done
[[ "$PEER" == hypercorn || "$PEER" == wsecho ]] || { log "--peer hypercorn|wsecho, not $PEER"; exit 2; }

# shellcheck source=scripts/lib/python-venv.sh
source "$ROOT/scripts/lib/python-venv.sh"
# shellcheck source=scripts/lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"
# shellcheck source=scripts/lib/wsecho-server.sh
source "$ROOT/scripts/lib/wsecho-server.sh"

rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

# 1. Setup: the venv, the Rust client's test binary, the server.
venv_ensure "$VENV" "h2==$H2_VERSION" "wsproto==$WSPROTO_VERSION" \
  "hypercorn==$HYPERCORN_VERSION"
log "building the Rust client's test (wsecho-test-support, feature h2)"
cargo test -p wsecho-test-support --features h2 --test h2_peer --no-run --quiet

HC_PIDS=()
stop_all() {
  local pid
  for pid in "${HC_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${HC_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  HC_PIDS=()
  wsecho_stop
}
trap stop_all EXIT

# hypercorn_start NAME ARGS...: hypercorn on a free loopback port, its port in HC_PORT
# (not printed: a command substitution's subshell would lose the pid).
HC_PORT=""
hypercorn_start() {
  local name="$1"
  shift
  local out="$LOGDIR/hypercorn-$name.log"
  "$VENV/bin/hypercorn" tests/python/h2_echo_app.py:app --bind 127.0.0.1:0 "$@" \
    >"$out" 2>&1 &
  HC_PIDS+=("$!")
  local port=""
  for _ in $(seq 100); do
    # "Running on http://127.0.0.1:PORT (CTRL + C to quit)"
    port="$(sed -n 's|.*Running on https\{0,1\}://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$out" | head -n1)"
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { log "hypercorn ($name) did not start:"; cat "$out" >&2; return 1; }
  HC_PORT="$port"
}

if [[ "$PEER" == hypercorn ]]; then
  command -v openssl >/dev/null || apt_install "$LOGDIR/apt.log" openssl
  # A leaf certificate (CA:FALSE: rustls' webpki refuses a CA as end entity) for
  # localhost and 127.0.0.1, thrown away with the log directory.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -keyout "$LOGDIR/key.pem" -out "$LOGDIR/cert.pem" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=digitalSignature" -addext "extendedKeyUsage=serverAuth" \
    >"$LOGDIR/openssl.log" 2>&1
  hypercorn_start h2c
  H2C_PORT="$HC_PORT"
  hypercorn_start tls --certfile "$LOGDIR/cert.pem" --keyfile "$LOGDIR/key.pem"
  TLS_PORT="$HC_PORT"
  log "hypercorn $HYPERCORN_VERSION: h2c on 127.0.0.1:$H2C_PORT, TLS on 127.0.0.1:$TLS_PORT"
else
  log "building the release wsecho"
  cargo build --release --bin wsecho --quiet
  wsecho_start "$LOGDIR/wsecho" --tls-self-signed --tls-write-cert "$LOGDIR/cert.pem"
  # One port for both: wsecho tells TLS from cleartext by the first bytes, as it
  # will tell the h2c preface from HTTP/1.1.
  H2C_PORT="$WSECHO_PORT"
  TLS_PORT="$WSECHO_PORT"
  log "wsecho (pid $WSECHO_PID) on 127.0.0.1:$WSECHO_PORT, h2c and TLS"
fi
export H2_PEER="127.0.0.1:$H2C_PORT" H2_TLS_PEER="127.0.0.1:$TLS_PORT" \
  H2_TLS_CERT="$LOGDIR/cert.pem" H2_TLS_NAME=localhost H2_PEER_KIND="$PEER"

# 2. The clients.
START=$SECONDS
rc=0
"$VENV/bin/python" tests/python/test_h2.py 2>&1 | tee "$LOGDIR/python.out" || rc=$?
cargo test -p wsecho-test-support --features h2 --test h2_peer --quiet -- --ignored 2>&1 |
  tee "$LOGDIR/rust.out" || rc=$?
log "clients done in $((SECONDS - START))s against $PEER; logs in $LOGDIR"
stop_all

# 3. The tallies, last, for whoever reads only the last lines.
py_tally="$(grep '^python-h2: ' "$LOGDIR/python.out" || true)"
if [[ -z "$py_tally" ]]; then
  py_tally="python-h2: 0 passed, 1 failed (the test did not finish)"
  rc=1
fi
# cargo's 'test result: ok. 11 passed; 0 failed; ...'
rust_line="$(grep '^test result: ' "$LOGDIR/rust.out" | tail -n1 || true)"
if [[ "$rust_line" =~ ([0-9]+)\ passed\;\ ([0-9]+)\ failed ]]; then
  rust_tally="rust-h2: ${BASH_REMATCH[1]} passed, ${BASH_REMATCH[2]} failed"
else
  rust_tally="rust-h2: 0 passed, 1 failed (the test did not finish)"
  rc=1
fi
echo "$py_tally"
echo "$rust_tally"
[[ "$py_tally" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]
passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
[[ "$rust_tally" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]
passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
((failed == 0)) || rc=1
echo "h2-clients: $passed passed, $failed failed"
exit "$rc"
