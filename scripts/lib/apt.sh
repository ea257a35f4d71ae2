# shellcheck shell=bash
# Installing Debian packages from the scripts: sourced, not run.
#
#   apt_install LOG PKG...   install PKG... with apt-get (as root, or with
#                            passwordless sudo), output to LOG. Returns 1 with
#                            a one-line reason on stderr when it cannot:
#                            not root and no sudo (naming the command to run),
#                            or apt-get failing (the log's tail shown).

apt_install() {
  local log="$1"
  shift
  local sudo=()
  if ((EUID != 0)); then
    if ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
      echo "need $*: run 'apt-get install $*' as root (or give this user passwordless sudo)" >&2
      return 1
    fi
    sudo=(sudo -n)
  fi
  mkdir -p "$(dirname "$log")"
  echo "installing $* with apt-get (log $log)" >&2
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "apt-get update failed" >&2
    return 1
  fi
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "$@" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "apt-get install $* failed" >&2
    return 1
  fi
}
