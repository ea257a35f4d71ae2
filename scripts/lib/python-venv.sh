# shellcheck shell=bash
# The project's Python virtualenv for client tests: sourced, not run.
#
#   venv_ensure VENV NAME==VERSION...   make VENV (python3 -m venv) if it has no
#                                       working python, then pip-install whichever
#                                       pinned NAME==VERSION is missing or at
#                                       another version; the others are left as
#                                       they are, so scripts pinning different
#                                       packages can share one venv.
#
# Needs python3 >= 3.10 with the venv module, and PyPI. Progress goes to stderr.

venv_ensure() {
  local venv="$1"
  shift
  if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    echo "creating $venv" >&2
    python3 -m venv --clear "$venv" || return 1
  fi
  # The pins not yet satisfied, by installed distribution metadata (not import).
  local missing
  missing="$("$venv/bin/python" - "$@" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

for pin in sys.argv[1:]:
    name, _, wanted = pin.partition("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != wanted:
        print(pin)
PY
)" || return 1
  [[ -z "$missing" ]] && return 0
  # shellcheck disable=SC2086 # one pin a line, none with spaces
  echo "installing into $venv:" $missing >&2
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input $missing
}
