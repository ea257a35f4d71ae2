#!/usr/bin/env bash
# Test the container image that scripts/build-image.sh built ($WSECHO_IMAGE,
# default wsecho:latest) from the outside, as a user would run it.
#
#   scripts/test-image.sh            # the image as built
#   scripts/test-image.sh --build    # scripts/build-image.sh first
#
# Steps, each printing 'ok' or 'FAIL' with what it saw:
#   1. the image's config: entrypoint /wsecho, default args --host 0.0.0.0,
#      one layer;
#   2. with the default args on the bridge network, the port published on a free
#      loopback port (-p): /healthz answers 200 through it;
#   3. with the host network on a free port (--port 0, --tls-self-signed): the
#      listening line in the container's log, ws:// and wss://;
#   4. an echo over ws:// and 5. over wss:// (scripts/ws_echo_check.py, Python's
#      standard library; over wss:// the certificate must be the one whose
#      fingerprint the listening line printed);
#   6. GET /healthz: 200 'ok'; 7. GET /metrics: 200, Prometheus text counting
#      the two echoes;
#   8. Autobahn's groups 1-10 against the container (scripts/run-autobahn.sh
#      --url), every case graded as in autobahn/expected-results.json;
#   9. the container still running, then stopped (SIGTERM): exit status 0 and
#      the shutdown's summary in its log.
# The containers are removed on exit, whatever happened. The last line is
# 'image: N steps passed, M failed'; the exit status is non-zero on any failure.
# Logs: $TARGET_DIR/test-image/ (cargo's target directory).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/image.sh
source scripts/lib/image.sh

log() { printf 'test-image: %s\n' "$*"; }
die() { printf 'test-image: ERROR: %s\n' "$*" >&2; exit 2; }

BUILD=0
case "${1:-}" in
  "") ;;
  --build) BUILD=1 ;;
  -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1 (see --help)" ;;
esac

START=$SECONDS
((BUILD)) && scripts/build-image.sh
image_engine || die "no container engine"
"${ENGINE[@]}" image inspect "$WSECHO_IMAGE" >/dev/null 2>&1 ||
  die "no image $WSECHO_IMAGE: build it with scripts/build-image.sh (or pass --build)"
LOGDIR="$(target_dir)/test-image"
mkdir -p "$LOGDIR"
log "testing $WSECHO_IMAGE with ${ENGINE[*]} (logs $LOGDIR)"

# Containers of this run, removed on exit.
NAME="wsecho-test-image-$$"
BRIDGE_NAME="$NAME-bridge"
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  # One at a time: a name already gone fails the whole call on Podman.
  local name
  for name in "$NAME" "$BRIDGE_NAME"; do
    "${ENGINE[@]}" rm -f "$name" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0
failed=0
pass() { passed=$((passed + 1)); log "ok   $*"; }
fail() { failed=$((failed + 1)); log "FAIL $*"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# http_get URL OUT: the status code on stdout, the body in OUT ("000" if no answer).
http_get() { curl -s -m 5 -o "$2" -w '%{http_code}' "$1" || true; }

# 1. The image's configuration.
config="$("${ENGINE[@]}" image inspect --format \
  '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{len .RootFS.Layers}}' "$WSECHO_IMAGE")"
if [[ "$config" == '["/wsecho"] ["--host","0.0.0.0"] 1' ]]; then
  pass "config: entrypoint [\"/wsecho\"], args [\"--host\",\"0.0.0.0\"], 1 layer"
else
  fail "config: got '$config', expected '[\"/wsecho\"] [\"--host\",\"0.0.0.0\"] 1'"
fi

# 2. The default args, reached through a published port.
port="$(free_port)"
if ! "${ENGINE[@]}" run -d --name "$BRIDGE_NAME" "${RUN_FLAGS[@]}" -p "127.0.0.1:$port:5050" \
  "$WSECHO_IMAGE" >"$LOGDIR/bridge.run" 2>&1; then
  fail "default args with -p 127.0.0.1:$port:5050: the container did not start: $(tail -n 1 "$LOGDIR/bridge.run")"
else
  code=000
  for _ in $(seq 50); do
    code="$(http_get "http://127.0.0.1:$port/healthz" "$LOGDIR/bridge.healthz")"
    [[ "$code" == 200 ]] && break
    sleep 0.2
  done
  if [[ "$code" == 200 ]]; then
    pass "default args with -p 127.0.0.1:$port:5050: GET /healthz through the published port answers 200"
  else
    fail "default args with -p 127.0.0.1:$port:5050: GET /healthz answered $code after 10 s; log: $("${ENGINE[@]}" logs "$BRIDGE_NAME" 2>&1 | tail -n 3)"
  fi
fi
"${ENGINE[@]}" rm -f "$BRIDGE_NAME" >/dev/null 2>&1 || true

# 3. The host network, a port the kernel picks, TLS beside cleartext.
"${ENGINE[@]}" run -d --name "$NAME" "${RUN_FLAGS[@]}" --network host "$WSECHO_IMAGE" \
  --host 127.0.0.1 --port 0 --tls-self-signed >"$LOGDIR/host.run" 2>&1 ||
  die "the container did not start with --network host: $(tail -n 1 "$LOGDIR/host.run")"
line=""
for _ in $(seq 100); do
  line="$("${ENGINE[@]}" logs "$NAME" 2>/dev/null | grep -m1 '^wsecho listening on' || true)"
  [[ -n "$line" ]] && break
  sleep 0.1
done
re='^wsecho listening on ws://127\.0\.0\.1:([0-9]+) and wss://127\.0\.0\.1:([0-9]+) \(self-signed certificate, SHA-256 ([0-9A-F:]{95})\)$'
if [[ "$line" =~ $re ]] && [[ "${BASH_REMATCH[1]}" == "${BASH_REMATCH[2]}" ]]; then
  PORT="${BASH_REMATCH[1]}"
  FINGERPRINT="${BASH_REMATCH[3]}"
  pass "listening line: ${line:0:80}…"
else
  "${ENGINE[@]}" logs "$NAME" >"$LOGDIR/wsecho.log" 2>&1 || true
  fail "listening line: got '${line:-nothing in 10 s}' (log $LOGDIR/wsecho.log)"
  log "image: $passed steps passed, $failed failed (the rest need the listening line)"
  exit 1
fi

# 4, 5. One echo each way.
for url in "ws://127.0.0.1:$PORT/" "wss://127.0.0.1:$PORT/"; do
  args=("$url")
  [[ "$url" == wss://* ]] && args+=(--fingerprint "$FINGERPRINT")
  if out="$(python3 scripts/ws_echo_check.py "${args[@]}")"; then
    pass "echo: $out"
  else
    fail "echo: $out"
  fi
done

# 6, 7. The HTTP endpoints.
code="$(http_get "http://127.0.0.1:$PORT/healthz" "$LOGDIR/healthz")"
if [[ "$code" == 200 && "$(cat "$LOGDIR/healthz")" == ok ]]; then
  pass "GET /healthz: 200 'ok'"
else
  fail "GET /healthz: $code '$(head -c 100 "$LOGDIR/healthz")', expected 200 'ok'"
fi
code="$(http_get "http://127.0.0.1:$PORT/metrics" "$LOGDIR/metrics")"
texts="$(sed -n 's/^wsecho_messages_total{opcode="text"} \([0-9]*\)$/\1/p' "$LOGDIR/metrics")"
if [[ "$code" == 200 && "$texts" == 2 ]] && grep -q '^# TYPE wsecho_connections counter$' "$LOGDIR/metrics"; then
  pass "GET /metrics: 200, Prometheus text, wsecho_messages_total{opcode=\"text\"} 2 (the two echoes)"
else
  fail "GET /metrics: $code, text messages '${texts:-none}' (expected 200 and 2; body $LOGDIR/metrics)"
fi

# 8. Autobahn against the container, graded against the committed baseline.
GROUPS_1_10='1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*'
ab_rc=0
scripts/run-autobahn.sh --url "ws://127.0.0.1:$PORT/" --cases "$GROUPS_1_10" \
  >"$LOGDIR/autobahn.out" 2>&1 || ab_rc=$?
verdict="$(grep '^autobahn via ' "$LOGDIR/autobahn.out" | tail -n 1 || true)"
if ((ab_rc == 0)) && [[ -n "$verdict" ]]; then
  pass "Autobahn groups 1-10: ${verdict#autobahn via }"
else
  tail -n 20 "$LOGDIR/autobahn.out" | sed 's/^/    /'
  fail "Autobahn groups 1-10 (exit $ab_rc): ${verdict:-no verdict} (output $LOGDIR/autobahn.out)"
fi

# 9. Still up after all that, and a clean stop on SIGTERM.
state="$("${ENGINE[@]}" inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null || echo gone)"
if [[ "$state" != true ]]; then
  fail "container running after the tests: $state"
else
  "${ENGINE[@]}" stop -t 10 "$NAME" >/dev/null 2>&1 || true
  status="$("${ENGINE[@]}" inspect --format '{{.State.ExitCode}}' "$NAME" 2>/dev/null || echo '?')"
  "${ENGINE[@]}" logs "$NAME" >"$LOGDIR/wsecho.log" 2>&1 || true
  summary="$(grep -o 'shut down; connections: [0-9]* accepted' "$LOGDIR/wsecho.log" | tail -n 1 || true)"
  if [[ "$status" == 0 && -n "$summary" ]]; then
    pass "stop (SIGTERM): exit status 0, '$summary'"
  else
    fail "stop (SIGTERM): exit status $status, summary '${summary:-none}' (log $LOGDIR/wsecho.log)"
  fi
fi

log "done in $((SECONDS - START)) s"
echo "image: $passed steps passed, $failed failed"
((failed == 0))
