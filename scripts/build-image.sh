#!/usr/bin/env bash
# Build wsecho's container image: a fully static x86_64-unknown-linux-musl release
# binary in an OCI image FROM scratch (deploy/Containerfile), nothing else in it.
#
#   scripts/build-image.sh              # tags wsecho:latest and wsecho:VERSION
#   WSECHO_IMAGE=registry.example/wsecho:dev scripts/build-image.sh
#
# - musl-gcc (Debian's musl-tools; aws-lc-sys compiles C for the target) is
#   installed with apt-get when missing, the Rust target with rustup.
# - The binary is the one cargo builds (--locked), found in cargo's target
#   directory (cargo metadata: CARGO_TARGET_DIR respected), checked to be static
#   (no ELF interpreter and no NEEDED library: a static-pie), its debug info
#   stripped in the build context (symbols kept, for backtraces and perf).
# - The image is built with Docker where its daemon answers, else Podman
#   (scripts/lib/image.sh; WSECHO_CONTAINER_ENGINE=docker|podman forces one).
#
# The last line is 'build-image: IMAGE, N bytes (N MB) with ENGINE'.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
# shellcheck source=lib/image.sh
source scripts/lib/image.sh

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { printf 'build-image: ERROR: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1 (see --help)" ;;
esac

# 1. The toolchain for a static binary.
if ! command -v musl-gcc >/dev/null; then
  apt_install "${TMPDIR:-/tmp}/wsecho-build-image-apt.log" musl-tools || die "musl-gcc is needed"
fi
if ! rustup target list --installed | grep -qx "$IMAGE_TARGET"; then
  log "adding the Rust target $IMAGE_TARGET"
  rustup target add "$IMAGE_TARGET"
fi
image_engine || die "no container engine"
log "container engine: ${ENGINE[*]}"

# 2. The binary.
log "building the $IMAGE_TARGET release binary"
cargo build --release --locked --target "$IMAGE_TARGET" --bin wsecho
BIN="$(target_dir)/$IMAGE_TARGET/release/wsecho"
[[ -x "$BIN" ]] || die "cargo built no $BIN"
# Static: no program interpreter and no dynamic section (readelf -l / -d).
if readelf -lW "$BIN" | grep -q 'INTERP' || readelf -dW "$BIN" | grep -q 'NEEDED'; then
  die "$BIN is not static: $(file -b "$BIN" 2>/dev/null || readelf -lW "$BIN" | grep -A1 INTERP)"
fi
"$BIN" --version >/dev/null || die "$BIN does not run"

# 3. The image, from a build context holding only the Containerfile and the binary.
CONTEXT="$(mktemp -d "${TMPDIR:-/tmp}/wsecho-image.XXXXXX")"
trap 'rm -rf "$CONTEXT"' EXIT
cp deploy/Containerfile "$CONTEXT/Containerfile"
objcopy --strip-debug "$BIN" "$CONTEXT/wsecho"
VERSION="$(image_version)"
log "binary: $BIN, $(stat -c %s "$BIN") bytes as built, $(stat -c %s "$CONTEXT/wsecho") without debug info"
TAGS=(-t "$WSECHO_IMAGE")
# The version tag beside the default one (not beside a name given in WSECHO_IMAGE).
[[ "$WSECHO_IMAGE" == wsecho:latest ]] && TAGS+=(-t "wsecho:$VERSION")
log "building $WSECHO_IMAGE (version $VERSION)"
"${ENGINE[@]}" build --platform linux/amd64 --build-arg "VERSION=$VERSION" "${TAGS[@]}" \
  -f "$CONTEXT/Containerfile" "$CONTEXT" >&2

size="$(image_size_bytes)"
echo "build-image: $WSECHO_IMAGE, $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB) with ${ENGINE[0]}"
