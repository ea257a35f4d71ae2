# shellcheck shell=bash
# The container image's shared pieces: sourced by scripts/build-image.sh and
# scripts/test-image.sh, not run.
#
#   WSECHO_IMAGE        the image reference both scripts use (default wsecho:latest;
#                       the build also tags wsecho:VERSION, Cargo.toml's version)
#   IMAGE_TARGET        the Rust target of the static binary
#   image_engine        sets ENGINE (an array: the command and its global flags) to
#                       Docker where its daemon answers, else Podman, and RUN_FLAGS
#                       (flags `run` needs here, often none); returns 1 with a
#                       reason on stderr when neither works.
#                       WSECHO_CONTAINER_ENGINE=docker|podman forces one.
#   target_dir          (from lib/target.sh) cargo's target directory
#   image_version       prints the package version from cargo metadata
#   image_size_bytes    prints the size of $WSECHO_IMAGE as the engine reports it

WSECHO_IMAGE="${WSECHO_IMAGE:-wsecho:latest}"
# shellcheck disable=SC2034 # used by the scripts sourcing this
IMAGE_TARGET="x86_64-unknown-linux-musl"
ENGINE=()
# shellcheck disable=SC2034
RUN_FLAGS=()

image_engine() {
  local want="${WSECHO_CONTAINER_ENGINE:-}"
  case "$want" in
    "" | docker | podman) ;;
    *) echo "WSECHO_CONTAINER_ENGINE is docker or podman, not '$want'" >&2; return 1 ;;
  esac
  # Docker only when its daemon answers: a docker client with no daemon (or a
  # docker that is podman's shim) is common on CI machines.
  if [[ -z "$want" || "$want" == docker ]] && command -v docker >/dev/null &&
    timeout 15 docker info >/dev/null 2>&1; then
    ENGINE=(docker)
    return 0
  fi
  if [[ "$want" == docker ]]; then
    echo "WSECHO_CONTAINER_ENGINE=docker, but 'docker info' fails (no daemon?)" >&2
    return 1
  fi
  if ! command -v podman >/dev/null; then
    echo "neither a working Docker nor Podman: install Podman ('apt-get install podman runc')" >&2
    return 1
  fi
  ENGINE=(podman)
  # Podman defaults to crun and to systemd's cgroup manager; on a machine with
  # runc but no crun, or not booted with systemd (containers, VMs started
  # without it), name what is there.
  if ! command -v crun >/dev/null && command -v runc >/dev/null; then
    ENGINE+=(--runtime runc)
  fi
  [[ -d /run/systemd/system ]] || ENGINE+=(--cgroup-manager=cgroupfs)
  # Podman asks runc for its own rlimits (nofile 1048576, a high nproc), which
  # needs CAP_SYS_RESOURCE when above ours: without that capability (a sandbox,
  # a container) runc fails with 'error setting rlimit type 7: operation not
  # permitted'. Then ask for our own open-file limit (wsecho sizes
  # --max-connections by it) and a modest process limit (measured here: up to
  # 32768 worked, 50000 and this shell's own 96553 failed).
  local eff
  eff="$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status 2>/dev/null)"
  if [[ -n "$eff" ]] && ((!((16#$eff >> 24) & 1))); then
    local nofile
    nofile="$(ulimit -Hn)"
    [[ "$nofile" == unlimited ]] && nofile=1048576
    # shellcheck disable=SC2034
    RUN_FLAGS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=4096:4096")
  fi
  if ! "${ENGINE[@]}" info >/dev/null 2>&1; then
    echo "'${ENGINE[*]} info' fails:" >&2
    "${ENGINE[@]}" info 2>&1 | tail -n 5 >&2
    return 1
  fi
}

_image_metadata() {
  cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
    python3 -c "$1"
}

# shellcheck source=target.sh
source "$(dirname "${BASH_SOURCE[0]}")/target.sh"

image_version() {
  _image_metadata 'import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "wsecho"))'
}

image_size_bytes() {
  "${ENGINE[@]}" image inspect --format '{{.Size}}' "$WSECHO_IMAGE"
}
