#!/usr/bin/env bash
# The project's whole test: formatting, clippy, unit/integration tests, the Kubernetes
# manifest's offline checks (scripts/check-deploy.sh), real
# permessage-deflate clients (Python websockets, headless Chromium), then the
# full Autobahn conformance suite against the release build, its groups 1-10
# again over wss://, and through nginx and HAProxy (HAProxy also speaking HTTP/2
# to wsecho), and the HTTP/2 clients.
#
#   scripts/test.sh           # everything: what CI runs (.ci/run)
#   scripts/test.sh --quick   # prerequisites, fmt, clippy, cargo test and Autobahn's
#                             # groups 1-7 once: the check before a commit
#
# Each section is a step. The last line is the verdict, also when a step fails:
#   test: N steps passed, 0 failed in S s
#   test: N steps passed, 1 failed (STEP) in S s
#
# Everything it needs beyond the Rust toolchain is installed by the scripts
# themselves, so it runs on a fresh machine: the Autobahn venv by
# scripts/setup-autobahn.sh, the websockets venv (.venv-py) by
# scripts/test-deflate-clients.sh, chromium (apt-get) by scripts/test-browser.sh,
# nginx and haproxy (apt-get) by scripts/test-proxies.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/lib/target.sh
source scripts/lib/target.sh
QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac

# A step is a section: starting one counts the one before as passed (set -e ended the
# run otherwise), and the EXIT trap names the step that was running when it failed.
STEP="" PASSED=0 STARTED=$SECONDS
section() {
  [[ -z "$STEP" ]] || PASSED=$((PASSED + 1))
  STEP="$*"
  printf '\n==== %s ====\n' "$*"
}
verdict() {
  local rc=$? result="0 failed"
  if ((rc == 0)); then
    [[ -z "$STEP" ]] || PASSED=$((PASSED + 1))
  else
    result="1 failed ($STEP, exit $rc)"
  fi
  printf '\ntest: %d steps passed, %s in %d s\n' "$PASSED" "$result" $((SECONDS - STARTED))
}
trap verdict EXIT

section "Prerequisites"
# Rust and its components, Python 3 with venv, Python 2.7 for Autobahn, apt-get
# rights: installed where a script can, named where it cannot (exit 2).
scripts/check-prereqs.sh

section "cargo fmt --check"
cargo fmt --all -- --check

# --workspace: the benchmark harness (bench/) is a member too, and its load generator's
# verification has tests of its own.
section "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

section "cargo test"
cargo test --workspace

if ((QUICK)); then
  section "Autobahn conformance (groups 1-7)"
  # 246 cases, wstest about 7 s on 2 cores (framing, pings, reserved bits, opcodes,
  # fragmentation, UTF-8, closing); 9 (performance), 10, 12 and 13 (deflate) are the
  # full run's.
  scripts/run-autobahn.sh --cases '1.*,2.*,3.*,4.*,5.*,6.*,7.*'
  exit 0
fi

section "deploy/kubernetes.yaml: kubernetes-validate and checks against wsecho"
# Offline: the schema (kubernetes-validate, in .venv-deploy), then the port, probe
# paths, scrape annotations, flags and SIGTERM grace against the debug wsecho that
# cargo test just built (about 3 s). Its last line is 'check-deploy: N checks passed,
# M failed'.
scripts/check-deploy.sh

# fuzz/ is a workspace of its own: the steps above never see it.
section "fuzz targets: fmt, clippy, every committed corpus input replayed"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
CARGO_TARGET_DIR="$(target_dir)" cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
# Each target built as a plain debug binary, each corpus file run once through it (no
# cargo-fuzz, no nightly flags). Its last line is 'fuzz-replay: N passed, N failed'.
scripts/fuzz.sh replay

section "permessage-deflate with a real client (Python websockets)"
# Its last line is the tally 'python-deflate: N passed, N failed'.
scripts/test-deflate-clients.sh

section "WebSockets over HTTP/2 with two independent clients"
# The Rust h2 crate's client and Python h2 + wsproto, first against hypercorn (the
# test of the test clients), then against wsecho, over h2c and TLS. Each run's last
# line is the tally 'h2-clients: N passed, M failed'.
scripts/test-h2-clients.sh --peer hypercorn
scripts/test-h2-clients.sh --peer wsecho

section "Real browser (headless Chromium, /?selftest)"
# Its last line is 'browser: PASS ...' or 'browser: FAIL ...'.
scripts/test-browser.sh

section "Autobahn conformance (full suite)"
# Its last line is the tally 'autobahn: N passed, N failed'.
scripts/run-autobahn.sh

section "Scripts run the binary cargo built (CARGO_TARGET_DIR)"
# run-autobahn.sh on one case with CARGO_TARGET_DIR set elsewhere; its last line is
# 'target-dir: PASS|FAIL ...'.
scripts/test-target-dir.sh

section "Autobahn conformance over wss:// (groups 1-10)"
# The same baseline over TLS: 301 cases, wstest about 16 s on 2 cores. Groups 12
# and 13 (permessage-deflate, about 440 of the full TLS run's 457 s) are left to a
# by-hand 'scripts/run-autobahn.sh --tls'.
scripts/run-autobahn.sh --tls --cases '1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*'

section "Client suite: two client libraries through all 517 cases, graded as Autobahn"
# wsecho serves Autobahn's client cases; the tungstenite and websocket-client drivers
# run all of them and each case's grades must equal what Autobahn's fuzzingserver
# gave the same driver (autobahn/clients/*.json). Neither offers permessage-deflate
# (12.x and 13.x: UNIMPLEMENTED on both; tests/suite.rs runs a deflate client through
# a sample). About 2.5 minutes. Its last line is 'client-suite: PASS|FAIL ...'.
scripts/test-client-suite.sh --clients tungstenite,python-websocket-client

section "Client suite in headless Chromium (/suite), compared with Autobahn"
# The /suite page over ws://, wss:// on HTTP/1.1 and wss:// on HTTP/2, cases 1-301,
# each run compared with the same page on Autobahn's fuzzingserver. About 4 minutes.
scripts/test-browser-suite.sh

section "Autobahn through nginx and HAProxy (groups 1-10)"
# Each proxy in front of wsecho, over TCP and over its Unix socket (--unix), and
# HAProxy speaking HTTP/2 to wsecho (RFC 8441, h2c), graded against the same
# baseline: about 17 s a run, 85 s in all. --strict: a case that grades
# differently through a proxy fails the step (every run measured 0 differing
# cases), as does a run that cannot be made or graded. Its last line is
# 'proxies: PASS|FAIL N runs: ...'.
scripts/test-proxies.sh --strict
