#!/usr/bin/env bash
# The scripts run the wsecho cargo just built, wherever CARGO_TARGET_DIR puts it, never
# a stale one under ./target.
#
#   scripts/test-target-dir.sh
#
# Runs scripts/run-autobahn.sh on one case (1.1.1) with CARGO_TARGET_DIR set to a
# temporary path and checks that the server it started is that path's release/wsecho.
# The path is a symlink to the real target directory, so that nothing is rebuilt: the
# proof is the path run-autobahn.sh ran, which a script that hard-codes target/ gets
# wrong. Every script finds its binaries through scripts/lib/target.sh; this checks one.
# The last line is 'target-dir: PASS ...' or 'target-dir: FAIL ...' (exit 1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/target.sh
source scripts/lib/target.sh

fail() {
  echo "target-dir: FAIL $*"
  exit 1
}

real="$(target_dir)"
mkdir -p "$real"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/wsecho-target-dir.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT # the link goes, not what it points to
ln -s "$real" "$tmp/target"
export CARGO_TARGET_DIR="$tmp/target"
unset WSECHO_BIN
[[ "$(target_dir)" == "$CARGO_TARGET_DIR" ]] ||
  fail "cargo metadata reports $(target_dir), not CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

log="$tmp/run-autobahn.log"
if ! WSECHO_AUTOBAHN_REPORTS="$tmp/reports" scripts/run-autobahn.sh --cases 1.1.1 >"$log" 2>&1; then
  tail -n 20 "$log"
  fail "scripts/run-autobahn.sh --cases 1.1.1 failed with CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
fi
want="$CARGO_TARGET_DIR/release/wsecho"
ran="$(sed -n 's/^run-autobahn: server: \([^ ]*\) .*/\1/p' "$log")"
[[ "$ran" == "$want" ]] || fail "run-autobahn.sh ran '${ran:-nothing}', not $want"
echo "target-dir: PASS run-autobahn.sh ran \$CARGO_TARGET_DIR/release/wsecho (1 case)"
