#!/usr/bin/env bash
# Check deploy/kubernetes.yaml offline: kubernetes-validate (strict: no unknown
# fields) against the Kubernetes version it ships the schemas of, then
# scripts/check_deploy.py against the real binary: args' flags in `wsecho --help`,
# containerPort = --port (and the probes', Service's and scrape annotation's port),
# the probe and metrics paths answering from a wsecho started with those args, and
# SIGTERM's 1001 and exit within terminationGracePeriodSeconds.
#
#   scripts/check-deploy.sh [MANIFEST]     # default deploy/kubernetes.yaml
#
# The venv (.venv-deploy, kubernetes-validate pinned below, and PyYAML with it) is
# created on first use (python3 >= 3.10 with venv, and PyPI). The binary is the
# debug wsecho cargo builds (found in cargo's target directory), or WSECHO_BIN.
# wsecho's shutdown grace is read from the source (SHUTDOWN_GRACE). The last line
# is 'check-deploy: N checks passed, M failed'; exit status 1 on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/python-venv.sh
source scripts/lib/python-venv.sh
# shellcheck source=lib/target.sh
source scripts/lib/target.sh

KUBERNETES_VALIDATE_VERSION="1.37.0"
VENV="$ROOT/.venv-deploy"
MANIFEST="${1:-deploy/kubernetes.yaml}"
[[ -f "$MANIFEST" ]] || { echo "check-deploy: no $MANIFEST" >&2; exit 2; }

venv_ensure "$VENV" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2

if [[ -z "${WSECHO_BIN:-}" ]]; then
  cargo build --quiet --bin wsecho
  WSECHO_BIN="$(target_dir)/debug/wsecho"
fi
grace="$(sed -n 's/^const SHUTDOWN_GRACE: Duration = Duration::from_secs(\([0-9]*\));.*/\1/p' src/server/mod.rs)"
[[ -n "$grace" ]] || { echo "check-deploy: SHUTDOWN_GRACE not found in src/server/mod.rs" >&2; exit 2; }

rc=0
validate_ok=1
if out="$("$VENV/bin/kubernetes-validate" --strict "$MANIFEST" 2>&1)"; then
  printf '%s\n' "$out" | sed 's/^/check-deploy: ok   kubernetes-validate --strict: /'
else
  printf '%s\n' "$out" | sed 's/^/check-deploy:      /'
  echo "check-deploy: FAIL kubernetes-validate --strict $MANIFEST"
  validate_ok=0
fi
# The checks against the binary, whose tally counts the validation too.
"$VENV/bin/python" scripts/check_deploy.py "$MANIFEST" "$WSECHO_BIN" "$grace" >"${TMPDIR:-/tmp}/check-deploy.$$" || rc=$?
head -n -1 "${TMPDIR:-/tmp}/check-deploy.$$"
tally="$(tail -n 1 "${TMPDIR:-/tmp}/check-deploy.$$")"
rm -f "${TMPDIR:-/tmp}/check-deploy.$$"
if [[ "$tally" =~ ^check-deploy:\ ([0-9]+)\ checks\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((BASH_REMATCH[1] + validate_ok))
  failed=$((BASH_REMATCH[2] + 1 - validate_ok))
else
  echo "check-deploy: FAIL scripts/check_deploy.py gave no tally (exit $rc)"
  passed=$validate_ok
  failed=$((2 - validate_ok))
fi
echo "check-deploy: $passed checks passed, $failed failed"
((failed == 0 && rc == 0))
