#!/usr/bin/env bash
# The project's whole test: formatting, clippy, unit/integration tests, then
# the full Autobahn conformance suite against the release build.
#
#   scripts/test.sh
#
# Everything it needs beyond the Rust toolchain (the Autobahn venv) is
# installed by scripts/setup-autobahn.sh, so it runs on a fresh machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

section() { printf '\n==== %s ====\n' "$*"; }

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy"
cargo clippy --all-targets -- -D warnings

section "cargo test"
cargo test

section "Autobahn conformance (full suite)"
# Its last line is the tally 'autobahn: N passed, N failed'.
scripts/run-autobahn.sh
