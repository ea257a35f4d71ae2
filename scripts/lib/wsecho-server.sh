# shellcheck shell=bash
# Sourced by the client test scripts: start a release wsecho on a free loopback
# port and stop it again.
#
#   source scripts/lib/wsecho-server.sh
#   wsecho_start LOGDIR [wsecho args...]   # sets WSECHO_PID, WSECHO_PORT, WSECHO_URL
#                                          # (ws://, empty with --tls-only) and
#                                          # WSECHO_WSS_URL (wss://, empty without TLS)
#   wsecho_stop                            # idempotent; use it in an EXIT trap
#
# wsecho's stdout goes to LOGDIR/wsecho.out, its stderr (the log) to
# LOGDIR/wsecho.log. The caller builds the release wsecho first; it is run from
# cargo's target directory (scripts/lib/target.sh), or WSECHO_BIN names another
# binary or wrapper.

# shellcheck source=scripts/lib/target.sh
source "$(dirname "${BASH_SOURCE[0]}")/target.sh"

WSECHO_PID=""
WSECHO_PORT=""
WSECHO_URL=""
WSECHO_WSS_URL=""

wsecho_start() {
  local dir="$1"
  shift
  local bin
  bin="$(wsecho_bin)" || return 1
  [[ -x "$bin" ]] || { echo "wsecho binary $bin missing: build it first" >&2; return 1; }
  mkdir -p "$dir"
  : >"$dir/wsecho.out"
  "$bin" --host 127.0.0.1 --port 0 "$@" >"$dir/wsecho.out" 2>"$dir/wsecho.log" &
  WSECHO_PID=$!
  # The listening line is printed once the socket is bound; wait up to 10 s.
  local line=""
  for _ in $(seq 100); do
    line="$(grep -m1 -E '^wsecho listening on wss?://' "$dir/wsecho.out" || true)"
    [[ -n "$line" ]] && break
    kill -0 "$WSECHO_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$line" ]]; then
    echo "wsecho did not start; its log:" >&2
    cat "$dir/wsecho.log" >&2 || true
    wsecho_stop
    return 1
  fi
  # 'wsecho listening on ws://ADDR', with TLS 'wsecho listening on ws://ADDR and
  # wss://ADDR (self-signed certificate, SHA-256 AB:...)', with --tls-only
  # 'wsecho listening on wss://ADDR (...)'. The first ws:// and the first wss://
  # word are the URLs, wherever they stand (not the last word: that is the
  # fingerprint with TLS).
  local words word
  read -r -a words <<<"$line"
  WSECHO_URL=""
  WSECHO_WSS_URL=""
  for word in "${words[@]}"; do
    [[ -z "$WSECHO_URL" && "$word" == ws://* ]] && WSECHO_URL="$word"
    [[ -z "$WSECHO_WSS_URL" && "$word" == wss://* ]] && WSECHO_WSS_URL="$word"
  done
  local any="${WSECHO_URL:-$WSECHO_WSS_URL}"
  WSECHO_PORT="${any##*:}"
  WSECHO_PORT="${WSECHO_PORT%%/*}"
  [[ -z "$WSECHO_WSS_URL" || "$WSECHO_WSS_URL" == */ ]] || WSECHO_WSS_URL="$WSECHO_WSS_URL/"
  [[ -z "$WSECHO_URL" || "$WSECHO_URL" == */ ]] || WSECHO_URL="$WSECHO_URL/"
}

wsecho_stop() {
  [[ -n "$WSECHO_PID" ]] || return 0
  if kill -0 "$WSECHO_PID" 2>/dev/null; then
    kill -TERM "$WSECHO_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$WSECHO_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$WSECHO_PID" 2>/dev/null || true
  fi
  wait "$WSECHO_PID" 2>/dev/null || true
  WSECHO_PID=""
}
