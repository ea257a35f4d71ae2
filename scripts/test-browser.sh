#!/usr/bin/env bash
# A real browser against wsecho: headless Chromium loads the server's own page
# as /?selftest, whose script opens a WebSocket (Chromium offers
# permessage-deflate as every browser does), checks ws.extensions, echoes text
# (non-ASCII) and binary messages from 0 bytes to 2 MiB and closes with 1000.
#
#   scripts/test-browser.sh
#
# Installs Debian's chromium if it is missing (apt-get, as root or via sudo -n;
# CI runs as root without a terminal) and nodejs if node is missing. Builds
# the release wsecho and runs it with RUST_LOG=wsecho=debug; besides the
# page's verdict, the server log must show the connection open with
# permessage-deflate on and closed by the client with 1000, and no failure.
# Then the same over https:// and wss:// against wsecho --tls-self-signed, the
# browser trusting exactly the written certificate (by its public key hash).
# The last line is 'browser: PASS ...' or 'browser: FAIL ...'.
# Logs: browser-test/ in cargo's target directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/lib/target.sh
source "$ROOT/scripts/lib/target.sh"
LOGDIR="$(target_dir)/browser-test"
TIMEOUT="${WSECHO_BROWSER_TIMEOUT:-120}"
START=$SECONDS

log() { printf 'test-browser: %s\n' "$*"; }
fail() {
  log "$*"
  echo "browser: FAIL $*"
  exit 1
}

# 1. Chromium and node.
# shellcheck source=scripts/lib/chromium.sh
source "$ROOT/scripts/lib/chromium.sh"
chromium_install "$LOGDIR" 2> >(sed 's/^/test-browser: /' >&2) || fail "no chromium (see above)"
log "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"), node $(node --version)"

# 2-4. One page run: the server (with debug logging), the browser, then the
# server's side of it. run_page NAME SCHEME [wsecho args...] sets VERDICT and
# returns non-zero on failure.
log "building the release wsecho"
cargo build --release --bin wsecho --quiet
# shellcheck source=scripts/lib/wsecho-server.sh
source "$ROOT/scripts/lib/wsecho-server.sh"
trap wsecho_stop EXIT
run_page() {
  local name="$1" scheme="$2"
  shift 2
  local dir="$LOGDIR/$name" rc=0 extra=""
  RUST_LOG=wsecho=debug wsecho_start "$dir" "$@"
  if [[ "$scheme" == https ]]; then
    # Trust exactly wsecho's certificate.
    extra="$(chromium_trust "$dir/cert.pem")" || { VERDICT="browser: FAIL cannot read $dir/cert.pem"; return 1; }
  fi
  local page="$scheme://127.0.0.1:$WSECHO_PORT/?selftest"
  log "$name: wsecho (pid $WSECHO_PID); opening $page"
  CHROMIUM_EXTRA_ARGS="$extra" node tests/browser/selftest.mjs "$CHROMIUM" "$page" "$TIMEOUT" |
    tee "$dir/browser.out" || rc=$?
  VERDICT="$(grep '^browser: ' "$dir/browser.out" | tail -n 1 || true)"
  [[ -n "$VERDICT" ]] || VERDICT="browser: FAIL no verdict from tests/browser/selftest.mjs"
  # Give the server a moment to log the close.
  sleep 0.3
  # Over https the browser chooses HTTP/2 by ALPN and opens its WebSockets as RFC
  # 8441 streams on that connection: the server's metrics say how many did.
  local h2_websockets
  h2_websockets="$(python3 -c '
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
print(next((l.split()[1] for l in text.splitlines() if l.startswith("wsecho_http2_websockets_total ")), "missing"))
' "http://127.0.0.1:$WSECHO_PORT/metrics" 2>&1 || true)"
  kill -0 "$WSECHO_PID" 2>/dev/null || { rc=1; VERDICT="browser: FAIL wsecho died"; }
  wsecho_stop
  local problems=()
  grep -q 'open (permessage-deflate on)' "$dir/wsecho.log" ||
    problems+=("the server log has no 'open (permessage-deflate on)'")
  # One connection declines permessage-deflate on purpose: the page's ?fragment=3
  # (fragmenting echoes turns it off).
  local plain
  plain="$(grep -c 'open (permessage-deflate off)' "$dir/wsecho.log" || true)"
  [[ "$plain" == 1 ]] ||
    problems+=("$plain connections opened without permessage-deflate (1 expected, ?fragment=3)")
  grep -q 'closed by client with 1000' "$dir/wsecho.log" ||
    problems+=("the server log has no 'closed by client with 1000'")
  # The one close of the server's own is the one the page asked for (?close=4000).
  grep -q ': closing: 4000 bye' "$dir/wsecho.log" ||
    problems+=("the server log has no 'closing: 4000 bye' (the page's ?close=4000&reason=bye)")
  grep -E ': failed: |: closing: ' "$dir/wsecho.log" | grep -v -q ': closing: 4000 bye' &&
    problems+=("the server failed or closed a connection: $(grep -E ': failed: |: closing: ' "$dir/wsecho.log" | grep -v -m1 ': closing: 4000 bye')")
  # The page must open its WebSocket with the scheme that goes with its own:
  # ws:// from http://, wss:// from https://.
  local want_ws=ws
  [[ "$scheme" == https ]] && want_ws=wss
  grep -q "^websocket url: $want_ws://127.0.0.1:$WSECHO_PORT/\$" "$dir/browser.out" ||
    problems+=("the page did not open $want_ws://127.0.0.1:$WSECHO_PORT/ ($(grep -m1 '^websocket url: ' "$dir/browser.out" || echo 'no websocket url'))")
  # And the server must agree: the connection that upgraded did (or did not) do
  # the TLS handshake.
  # ("PEER: open ..." over HTTP/1.1, "PEER stream N: open ..." over HTTP/2.)
  local peer
  peer="$(grep -m1 -E '[0-9.:]+( stream [0-9]+)?: open \(permessage-deflate' "$dir/wsecho.log" |
    sed -E 's/.* ([0-9.]+:[0-9]+)( stream [0-9]+)?: open .*/\1/' || true)"
  if [[ "$scheme" == https ]]; then
    [[ -n "$peer" ]] && grep -q "$peer: TLS handshake done" "$dir/wsecho.log" ||
      problems+=("the upgraded connection ${peer:-(none)} shows no TLS handshake in the server log")
    # Chromium offers h2 first, and wsecho advertises SETTINGS_ENABLE_CONNECT_PROTOCOL:
    # the page and its WebSockets share one HTTP/2 connection.
    grep -q "$peer: TLS handshake done: .*ALPN h2\$" "$dir/wsecho.log" ||
      problems+=("the upgraded connection ${peer:-(none)} did not choose h2 by ALPN")
    [[ "$h2_websockets" =~ ^[0-9]+$ ]] && ((h2_websockets >= 3)) ||
      problems+=("/metrics counts ${h2_websockets} WebSockets over HTTP/2 (the page opens 3)")
    VERDICT="${VERDICT} (over HTTP/2: ${h2_websockets} WebSockets)"
  else
    grep -q 'TLS handshake done' "$dir/wsecho.log" &&
      problems+=("a TLS handshake on the cleartext run")
    [[ "$h2_websockets" == 0 ]] ||
      problems+=("/metrics counts ${h2_websockets} WebSockets over HTTP/2 on the cleartext run (0 expected)")
  fi
  if ((${#problems[@]})); then
    for p in "${problems[@]}"; do log "$name: $p"; done
    log "$name: server log: $dir/wsecho.log"
    rc=1
    [[ "$VERDICT" == "browser: PASS"* ]] && VERDICT="browser: FAIL ${problems[0]}"
  fi
  ((rc == 0)) || [[ "$VERDICT" == "browser: FAIL"* ]] || VERDICT="browser: FAIL (exit $rc) ${VERDICT#browser: }"
  VERDICT="${VERDICT/browser: /browser: $name: }"
  return "$rc"
}
rc=0
run_page http http || rc=1
verdict_http="$VERDICT"
run_page https https --tls-self-signed --tls-write-cert "$LOGDIR/https/cert.pem" || rc=1
verdict_https="$VERDICT"
verdict="browser: PASS"
((rc == 0)) || verdict="browser: FAIL"
verdict="$verdict (${verdict_http#browser: }; ${verdict_https#browser: })"
log "done in $((SECONDS - START))s"
echo "$verdict"
exit "$rc"
