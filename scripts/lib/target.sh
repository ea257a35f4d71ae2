# shellcheck shell=bash
# Sourced by every script that runs what cargo builds: where cargo puts it.
#
#   source scripts/lib/target.sh
#   target_dir          # prints cargo's target directory: CARGO_TARGET_DIR,
#                       # build.target-dir of a .cargo/config.toml, or ./target
#   release_bin NAME    # prints that directory's release/NAME
#   wsecho_bin          # WSECHO_BIN if set, else release_bin wsecho
#
# Never a hard-coded target/: with CARGO_TARGET_DIR set elsewhere that path holds
# nothing, or worse, a stale binary that gets tested silently. The answer is cargo's
# own (`cargo metadata --no-deps`: no resolution, about 0.1 s); keep it in a variable
# rather than asking again in a loop.

# The checkout, fixed when sourced (BASH_SOURCE may be relative to the caller's cwd).
WSECHO_ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

target_dir() {
  local json
  if ! json="$(cargo metadata --format-version 1 --no-deps --manifest-path "$WSECHO_ROOT_DIR/Cargo.toml")"; then
    echo "cargo metadata failed: cannot tell where cargo builds" >&2
    return 1
  fi
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' <<<"$json"
}

release_bin() {
  local dir
  dir="$(target_dir)" || return 1
  printf '%s/release/%s\n' "$dir" "$1"
}

wsecho_bin() {
  if [[ -n "${WSECHO_BIN:-}" ]]; then
    printf '%s\n' "$WSECHO_BIN"
  else
    release_bin wsecho
  fi
}
