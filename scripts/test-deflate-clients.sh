#!/usr/bin/env bash
# permessage-deflate against a real client library: Python's `websockets`
# (pinned below, in a virtualenv at .venv-py/) runs tests/python/test_deflate.py
# against a release wsecho on a free loopback port.
#
#   scripts/test-deflate-clients.sh
#
# Creates or reuses the venv (needs python3 >= 3.10 with venv, and PyPI), builds
# target/release/wsecho, starts it, runs the test, stops it. The last line is
# the tally 'python-deflate: N passed, M failed'; exits non-zero on any failure.
# Server logs: target/deflate-clients/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Newest release on PyPI when this was written (pip index versions websockets).
WEBSOCKETS_VERSION="17.4"
VENV="$ROOT/.venv-py"
LOGDIR="$ROOT/target/deflate-clients"
START=$SECONDS

log() { printf 'test-deflate-clients: %s\n' "$*"; }

# 1. The venv, reused when it already has the pinned version.
if ! "$VENV/bin/python" -c "import sys, websockets; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" 2>/dev/null; then
  log "creating $VENV with websockets==$WEBSOCKETS_VERSION"
  python3 -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "websockets==$WEBSOCKETS_VERSION"
fi

# 2. The server.
log "building target/release/wsecho"
cargo build --release --bin wsecho --quiet

# shellcheck source=scripts/lib/wsecho-server.sh
source "$ROOT/scripts/lib/wsecho-server.sh"
trap wsecho_stop EXIT
wsecho_start "$LOGDIR"
log "wsecho (pid $WSECHO_PID) at $WSECHO_URL"

# 3. The test.
rc=0
WSECHO_URL="$WSECHO_URL" "$VENV/bin/python" tests/python/test_deflate.py 2>&1 |
  tee "$LOGDIR/python.out" || rc=$?
if ! kill -0 "$WSECHO_PID" 2>/dev/null; then
  log "FAIL: wsecho died during the test; its log: $LOGDIR/wsecho.log"
  tail -n 20 "$LOGDIR/wsecho.log" || true
  rc=1
fi
wsecho_stop
log "done in $((SECONDS - START))s"
# The tally last, for whoever reads only the last line.
tally="$(grep '^python-deflate: ' "$LOGDIR/python.out" || true)"
if [[ -z "$tally" ]]; then
  tally="python-deflate: no tally (the test did not finish)"
  rc=1
fi
echo "$tally"
exit "$rc"
