#!/usr/bin/env bash
# What scripts/test.sh needs beyond this repository, checked first, installed
# where a script can, and asked for by name where it cannot.
#
#   scripts/check-prereqs.sh
#
# - Rust at least the rust-version of Cargo.toml (edition 2024 and let chains):
#   asked for ('rustup update'); the rustfmt and clippy components: added with
#   rustup when missing.
# - Python 3 with its venv module (the websockets and metrics clients):
#   Debian's python3-venv installed when missing.
# - Python 2.7 for the Autobahn testsuite (scripts/setup-autobahn.sh makes its
#   virtualenv): pyenv's 2.7.18. When pyenv is there but 2.7.18 is not, the
#   Debian packages pyenv needs to build it are installed here and the build
#   is left to setup-autobahn.sh; with no pyenv and no python2.7, it says how
#   to get one (AUTOBAHN_PYTHON2 may name any 2.7 interpreter).
# - Root or passwordless sudo, for apt-get: chromium (scripts/test-browser.sh),
#   nginx and haproxy (scripts/test-proxies.sh) install themselves that way.
#
# Exits 2 with one line per missing thing it could not provide.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh

log() { printf 'prereqs: %s\n' "$*"; }
missing=()

# Packages pyenv needs to build CPython (pyenv's wiki, for Debian).
PYENV_BUILD_DEPS=(build-essential libssl-dev zlib1g-dev libbz2-dev libreadline-dev
  libsqlite3-dev libncursesw5-dev xz-utils tk-dev libxml2-dev libxmlsec1-dev libffi-dev
  liblzma-dev curl)
PY27_VERSION=2.7.18
APT_LOG="${TMPDIR:-/tmp}/wsecho-prereqs-apt.log"

# 1. Rust.
want="$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)"
if ! command -v cargo >/dev/null; then
  missing+=("Rust $want or later (https://rustup.rs)")
else
  have="$(rustc --version | awk '{print $2}')"
  if [[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]]; then
    missing+=("Rust $want or later, found $have: run 'rustup update'")
  fi
  for component in rustfmt clippy; do
    probe=fmt
    [[ "$component" == clippy ]] && probe=clippy
    if ! cargo "$probe" --version >/dev/null 2>&1; then
      if command -v rustup >/dev/null; then
        log "adding the $component component"
        rustup component add "$component" >/dev/null 2>&1 || missing+=("the $component component: 'rustup component add $component' failed")
      else
        missing+=("the $component component of Rust (rustup component add $component)")
      fi
    fi
  done
fi

# 2. Python 3 with venv.
if ! command -v python3 >/dev/null; then
  apt_install "$APT_LOG" python3 python3-venv || missing+=("python3 and python3-venv")
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_install "$APT_LOG" python3-venv || missing+=("python3-venv")
fi

# 3. Python 2.7 for Autobahn.
is_py27() { [[ -n "$1" ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1; }
py27=""
if [[ -n "${AUTOBAHN_PYTHON2:-}" ]] && is_py27 "$AUTOBAHN_PYTHON2"; then
  py27="$AUTOBAHN_PYTHON2"
elif command -v pyenv >/dev/null && is_py27 "$(pyenv root)/versions/$PY27_VERSION/bin/python2.7"; then
  py27="pyenv $PY27_VERSION"
elif is_py27 "$(command -v python2.7 || true)"; then
  py27="$(command -v python2.7)"
fi
if [[ -z "$py27" ]]; then
  if command -v pyenv >/dev/null; then
    # setup-autobahn.sh runs 'pyenv install'; it needs a C toolchain and headers.
    apt_install "$APT_LOG" "${PYENV_BUILD_DEPS[@]}" ||
      missing+=("the packages pyenv needs to build Python $PY27_VERSION: ${PYENV_BUILD_DEPS[*]}")
    log "Python $PY27_VERSION will be built by pyenv (scripts/setup-autobahn.sh; a few minutes)"
  else
    missing+=("Python 2.7 for the Autobahn testsuite (Debian 12 has none): install pyenv \
(https://github.com/pyenv/pyenv#installation) and the packages it builds with (${PYENV_BUILD_DEPS[*]}), \
then 'pyenv install $PY27_VERSION'; or set AUTOBAHN_PYTHON2=/path/to/python2.7")
  fi
else
  log "Python 2.7: $py27"
fi

# 4. apt-get rights, for the browser and proxy checks, when what they install is missing.
if ((EUID != 0)) && ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
  need=()
  command -v chromium >/dev/null || need+=(chromium)
  { command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; } || need+=(nginx)
  { command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]]; } || need+=(haproxy)
  if ((${#need[@]})); then
    missing+=("root or passwordless sudo to install ${need[*]} (or install them: apt-get install ${need[*]})")
  fi
fi

if ((${#missing[@]})); then
  for m in "${missing[@]}"; do
    log "MISSING: $m"
  done
  exit 2
fi
log "all there: $(rustc --version | awk '{print $1, $2}'), $(python3 --version), Python 2.7 ($py27)"
