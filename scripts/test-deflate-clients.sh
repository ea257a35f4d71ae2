#!/usr/bin/env bash
# permessage-deflate against a real client library: Python's `websockets`
# (pinned below, in a virtualenv at .venv-py/) runs tests/python/test_deflate.py
# against a release wsecho on a free loopback port (traced where a connection asks,
# for its check of the trace of a compressed echo), tests/python/test_metrics.py
# (GET /metrics through prometheus_client's OpenMetrics parser) on the same server,
# then tests/python/test_tls.py
# over wss:// against one started with --tls-self-signed, trusting the written
# certificate.
#
#   scripts/test-deflate-clients.sh
#
# Creates or reuses the venv (needs python3 >= 3.10 with venv, and PyPI), builds
# the release wsecho, starts it, runs the test, stops it. The last line is
# the tallies 'python-deflate: N passed, M failed', 'python-metrics: ...' and
# 'python-tls: ...';
# exits non-zero on any failure.
# Server logs: deflate-clients/ in cargo's target directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Newest releases on PyPI when this was written (pip index versions websockets).
WEBSOCKETS_VERSION="17.4"
# The Prometheus client, for its OpenMetrics parser (tests/python/test_metrics.py).
PROMETHEUS_CLIENT_VERSION="0.26.0"
VENV="$ROOT/.venv-py"
# shellcheck source=scripts/lib/target.sh
source "$ROOT/scripts/lib/target.sh"
LOGDIR="$(target_dir)/deflate-clients"
START=$SECONDS

log() { printf 'test-deflate-clients: %s\n' "$*"; }

# 1. The venv, reused when it already has the pinned version.
if ! "$VENV/bin/python" -c "
import sys, websockets
from importlib.metadata import version
sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION'
         or version('prometheus-client') != '$PROMETHEUS_CLIENT_VERSION')" 2>/dev/null; then
  log "creating $VENV with websockets==$WEBSOCKETS_VERSION prometheus-client==$PROMETHEUS_CLIENT_VERSION"
  python3 -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "websockets==$WEBSOCKETS_VERSION" "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
fi

# 2. The server.
log "building the release wsecho"
cargo build --release --bin wsecho --quiet

# shellcheck source=scripts/lib/wsecho-server.sh
source "$ROOT/scripts/lib/wsecho-server.sh"
trap wsecho_stop EXIT
# Traced are only the connections that ask (?trace): the trace check's, not the others.
wsecho_start "$LOGDIR" --trace-on-request --trace-file "$LOGDIR/trace.txt"
log "wsecho (pid $WSECHO_PID) at $WSECHO_URL"

# 3. The test.
rc=0
WSECHO_URL="$WSECHO_URL" WSECHO_TRACE_FILE="$LOGDIR/trace.txt" \
  "$VENV/bin/python" tests/python/test_deflate.py 2>&1 |
  tee "$LOGDIR/python.out" || rc=$?
# /metrics, read by prometheus_client's OpenMetrics parser, on the same server.
WSECHO_URL="$WSECHO_URL" "$VENV/bin/python" tests/python/test_metrics.py 2>&1 |
  tee "$LOGDIR/python-metrics.out" || rc=$?
if ! kill -0 "$WSECHO_PID" 2>/dev/null; then
  log "FAIL: wsecho died during the test; its log: $LOGDIR/wsecho.log"
  tail -n 20 "$LOGDIR/wsecho.log" || true
  rc=1
fi
wsecho_stop

# 4. Over TLS: a server with a self-signed certificate, the client trusting it.
wsecho_start "$LOGDIR/tls" --tls-self-signed --tls-write-cert "$LOGDIR/tls/cert.pem"
log "wsecho (pid $WSECHO_PID) at $WSECHO_WSS_URL"
WSECHO_WSS_URL="$WSECHO_WSS_URL" WSECHO_CERT="$LOGDIR/tls/cert.pem" WSECHO_PID="$WSECHO_PID" \
  "$VENV/bin/python" tests/python/test_tls.py 2>&1 | tee "$LOGDIR/python-tls.out" || rc=$?
# The last check sends SIGTERM: the server must have exited, and with 0.
tls_rc=0
for _ in $(seq 50); do kill -0 "$WSECHO_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$WSECHO_PID" 2>/dev/null; then
  log "FAIL: wsecho did not exit after SIGTERM"
  rc=1
else
  wait "$WSECHO_PID" || tls_rc=$?
  ((tls_rc == 0)) || { log "FAIL: wsecho exited $tls_rc after SIGTERM"; rc=1; }
  WSECHO_PID=""
fi
wsecho_stop
log "done in $((SECONDS - START))s"
# The tallies last, for whoever reads only the last lines.
for name in deflate metrics tls; do
  out="$LOGDIR/python.out"
  [[ "$name" != deflate ]] && out="$LOGDIR/python-$name.out"
  tally="$(grep "^python-$name: " "$out" || true)"
  if [[ -z "$tally" ]]; then
    tally="python-$name: no tally (the test did not finish)"
    rc=1
  fi
  echo "$tally"
done
exit "$rc"
