#!/usr/bin/env bash
# The project's whole test: formatting, clippy, unit/integration tests, real
# permessage-deflate clients (Python websockets, headless Chromium), then the
# full Autobahn conformance suite against the release build.
#
#   scripts/test.sh
#
# Everything it needs beyond the Rust toolchain is installed by the scripts
# themselves, so it runs on a fresh machine: the Autobahn venv by
# scripts/setup-autobahn.sh, the websockets venv (.venv-py) by
# scripts/test-deflate-clients.sh, chromium (apt-get) by scripts/test-browser.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

section() { printf '\n==== %s ====\n' "$*"; }

section "cargo fmt --check"
cargo fmt --all -- --check

# --workspace: the benchmark harness (bench/) is a member too, and its load generator's
# verification has tests of its own.
section "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

section "cargo test"
cargo test --workspace

section "permessage-deflate with a real client (Python websockets)"
# Its last line is the tally 'python-deflate: N passed, N failed'.
scripts/test-deflate-clients.sh

section "Real browser (headless Chromium, /?selftest)"
# Its last line is 'browser: PASS ...' or 'browser: FAIL ...'.
scripts/test-browser.sh

section "Autobahn conformance (full suite)"
# Its last line is the tally 'autobahn: N passed, N failed'.
scripts/run-autobahn.sh
