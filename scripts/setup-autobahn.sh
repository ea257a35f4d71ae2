#!/usr/bin/env bash
# Create (or reuse) the Python 2.7 virtualenv that runs the Autobahn testsuite.
#
#   scripts/setup-autobahn.sh        -> .venv-autobahn/bin/wstest
#
# Idempotent: a stamp file records the pinned version; a venv whose stamp
# matches and whose wstest imports is reused as is. Otherwise it is rebuilt.
# Python 2.7 is found as pyenv's 2.7.18 (installed with pyenv if missing), or
# $AUTOBAHN_PYTHON2, or python2.7 on PATH.
set -euo pipefail

AUTOBAHN_VERSION="25.10.1"
VIRTUALENV_VERSION="20.15.1" # the last virtualenv that runs on Python 2.7
PY27_VERSION="2.7.18"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-autobahn"
STAMP="$VENV/.autobahn-stamp"
WANT="autobahntestsuite==$AUTOBAHN_VERSION"
# wss:// (run-autobahn.sh --tls): Twisted's TLS needs pyOpenSSL, and
# service_identity (else a warning on every connection). The testsuite requires
# both unpinned; these are the versions pip resolved for it on Python 2.7
# (cryptography 3.3 is the last line that runs on 2.7), pinned so a fresh venv
# gets the set the wss:// runs were measured with.
TLS_PINS=("pyOpenSSL==19.1.0" "cryptography==3.3.2" "service_identity==18.1.0")

log() { printf 'setup-autobahn: %s\n' "$*" >&2; }
die() { printf 'setup-autobahn: ERROR: %s\n' "$*" >&2; exit 1; }

# True if the venv's wstest is usable (the testsuite imports and wstest runs).
venv_ok() {
  [[ -x "$VENV/bin/python" && -x "$VENV/bin/wstest" ]] || return 1
  "$VENV/bin/python" -c 'import autobahntestsuite, autobahn, twisted' >/dev/null 2>&1 || return 1
  # The TLS side, for --tls: a context factory must build.
  "$VENV/bin/python" -c 'import service_identity, OpenSSL.SSL; from twisted.internet import ssl; ssl.ClientContextFactory().getContext()' >/dev/null 2>&1 || return 1
  "$VENV/bin/wstest" --help >/dev/null 2>&1
}

# Concurrent setups (shared work tree) wait for each other: lock this script.
exec 8<"${BASH_SOURCE[0]}"
flock 8

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && venv_ok; then
  log "reusing $VENV ($WANT)"
  exit 0
fi

# Print the path of a working Python 2.7 interpreter, or nothing.
is_py27() { [[ -n "$1" ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1; }
find_py27() {
  local cand
  if [[ -n "${AUTOBAHN_PYTHON2:-}" ]] && is_py27 "$AUTOBAHN_PYTHON2"; then
    echo "$AUTOBAHN_PYTHON2"; return
  fi
  if command -v pyenv >/dev/null 2>&1; then
    cand="$(pyenv root)/versions/$PY27_VERSION/bin/python2.7"
    if is_py27 "$cand"; then echo "$cand"; return; fi
  fi
  cand="$(command -v python2.7 || true)"
  if is_py27 "$cand"; then echo "$cand"; return; fi
}

PY27="$(find_py27)"
if [[ -z "$PY27" ]]; then
  if command -v pyenv >/dev/null 2>&1; then
    log "Python $PY27_VERSION not found; running 'pyenv install -s $PY27_VERSION'"
    pyenv install -s "$PY27_VERSION" || die "pyenv install $PY27_VERSION failed (it needs the Python source download and build deps)"
    PY27="$(find_py27)"
  fi
  [[ -n "$PY27" ]] || die "no Python 2.7 found: install pyenv's $PY27_VERSION, or set AUTOBAHN_PYTHON2=/path/to/python2.7"
fi
log "using Python 2.7 at $PY27"

PIP_FLAGS=(--disable-pip-version-check --no-input -q)
export PYTHONWARNINGS=ignore # silence Python 2.7 deprecation banners

# virtualenv goes into the 2.7 interpreter itself (as pyenv's pip would put it).
if ! "$PY27" -c 'import virtualenv' >/dev/null 2>&1; then
  log "installing virtualenv==$VIRTUALENV_VERSION into $PY27"
  "$PY27" -m pip install "${PIP_FLAGS[@]}" "virtualenv==$VIRTUALENV_VERSION"
fi

log "creating $VENV"
rm -rf "$VENV"
"$PY27" -m virtualenv -q "$VENV"
log "installing $WANT ${TLS_PINS[*]}"
"$VENV/bin/pip" install "${PIP_FLAGS[@]}" "$WANT" "${TLS_PINS[@]}"

venv_ok || die "wstest does not run after install: try '$VENV/bin/wstest --help'"
echo "$WANT" >"$STAMP"
log "ready: $VENV/bin/wstest ($WANT)"
