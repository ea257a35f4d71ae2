#!/usr/bin/env bash
# Fuzzes the protocol core with the cargo-fuzz targets in fuzz/ (libFuzzer, AddressSanitizer,
# debug assertions on). Not part of CI's default path: run it by hand.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   fuzz each target for SECONDS (default 60)
#   scripts/fuzz.sh cmin [TARGET|all]        minimize what fuzzing found into fuzz/corpus
#   scripts/fuzz.sh replay [TARGET|all]      run every committed corpus input once (CI)
#
# Targets: frame_header handshake connection utf8 deflate_offer tls h2_frames hpack
# h2_connection suite server client_core (see fuzz/README.md).
#
# `replay` needs neither cargo-fuzz nor nightly flags: the targets are built as plain
# debug binaries (debug assertions on, no sanitizer) in the project's target directory,
# and libFuzzer runs each corpus file through the target's entry once (-runs=0). A
# panic on a committed input fails it in seconds. Its last line is the tally
# 'fuzz-replay: N passed, N failed' (targets).
# One target at a time, one process each (no -jobs/-workers): it takes one core.
#
# New inputs go to fuzz/work/TARGET (ignored by git); the committed seeds in
# fuzz/corpus/TARGET are read, never written, until `cmin` merges the two.
# A crash is copied to fuzz/crashes/TARGET/ with a hex dump beside it, the command to
# reproduce it is printed, and the script exits 1 after the remaining targets (2 when
# a target does not even build).
#
# Environment: FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS="-max_len=65536").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/target.sh
source "$ROOT/scripts/lib/target.sh"

ALL=(frame_header handshake connection utf8 deflate_offer tls h2_frames hpack h2_connection suite server client_core)

# cargo-fuzz passes nightly-only -Z flags (sanitizer, sancov instrumentation) to rustc
# and cargo; on a stable toolchain this tells them to accept those flags anyway.
export RUSTC_BOOTSTRAP=1

usage() {
  sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

ensure_cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
  fi
}

targets_for() {
  case "$1" in
    all) printf '%s\n' "${ALL[@]}" ;;
    *)
      for t in "${ALL[@]}"; do
        if [[ "$t" == "$1" ]]; then
          echo "$t"
          return
        fi
      done
      echo "fuzz.sh: unknown target '$1' (one of: ${ALL[*]} all)" >&2
      exit 2
      ;;
  esac
}

# Copies the artifacts a failed run left and says how to reproduce them.
collect_crashes() {
  local target="$1" since="$2" dest="fuzz/crashes/$1" found=0
  mkdir -p "$dest"
  shopt -s nullglob
  for f in fuzz/artifacts/"$target"/*; do
    [[ "$f" -nt "$since" ]] || continue
    found=1
    cp "$f" "$dest/"
    od -An -tx1 -v "$f" | tr -d ' \n' >"$dest/$(basename "$f").hex"
    echo "fuzz.sh: $target: $(basename "$f") -> $dest/ ($(wc -c <"$f") bytes)"
    echo "  reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $target $dest/$(basename "$f")"
  done
  shopt -u nullglob
  ((found)) || echo "fuzz.sh: $target failed without leaving an artifact (see its log)"
}

run_target() {
  local target="$1" seconds="$2"
  local work="fuzz/work/$target" log="fuzz/work/$target.log" stamp
  mkdir -p "$work"
  stamp="$(mktemp)"
  echo "==== fuzz $target for ${seconds}s (log: $log)"
  # -timeout: an input taking over 10 s is a hang, reported like a crash.
  # shellcheck disable=SC2086
  if cargo fuzz run "$target" "$work" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 ${FUZZ_ARGS:-} \
    >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1 || true
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
    rm -f "$stamp"
    return 0
  fi
  grep -E 'panicked at|^SUMMARY|ERROR: libFuzzer' "$log" | head -n 5 || true
  collect_crashes "$target" "$stamp"
  rm -f "$stamp"
  return 1
}

cmin_target() {
  local target="$1" merged
  merged="$(mktemp -d)"
  echo "==== cmin $target"
  # The named seeds (from fuzz/examples/gen_corpus.rs) always stay; libFuzzer's merge
  # then adds, from the old corpus and from fuzz/work, only inputs that reach an edge
  # the set so far does not. Edges only (-use_counters=0): keeping every hit-count
  # variant too would commit ten times the files for little a fresh run cannot regain.
  cp fuzz/corpus/"$target"/seed-* "$merged"/ 2>/dev/null || true
  cargo fuzz run "$target" "$merged" "fuzz/corpus/$target" "fuzz/work/$target" -- \
    -merge=1 -use_counters=0 >"fuzz/work/$target.cmin.log" 2>&1
  rm -rf "fuzz/corpus/$target"
  mv "$merged" "fuzz/corpus/$target"
  chmod 755 "fuzz/corpus/$target"
  echo "fuzz/corpus/$target: $(find "fuzz/corpus/$target" -type f | wc -l) files, $(du -sh --apparent-size "fuzz/corpus/$target" | cut -f1)"
}

# Every committed corpus input of each target, once, through a plain debug build.
replay() {
  local target_dir passed=0 failed=() t log
  # The bootstrap override is for cargo-fuzz's flags only; a plain build needs none.
  unset RUSTC_BOOTSTRAP
  # The root workspace's target directory (scripts/lib/target.sh), not fuzz/target.
  target_dir="$(target_dir)"
  echo "==== fuzz replay: building the targets (debug, in $target_dir)"
  if ! CARGO_TARGET_DIR="$target_dir" cargo build --manifest-path fuzz/Cargo.toml --bins \
    >"$target_dir/fuzz-replay-build.log" 2>&1; then
    tail -n 30 "$target_dir/fuzz-replay-build.log" >&2
    echo "fuzz.sh: the fuzz targets do not build" >&2
    exit 2
  fi
  for t in $(targets_for "$1"); do
    log="$target_dir/fuzz-replay-$t.log"
    if "$target_dir/debug/$t" -runs=0 -timeout=10 -artifact_prefix="$target_dir/fuzz-replay-$t-" \
      "fuzz/corpus/$t" >"$log" 2>&1; then
      echo "fuzz replay: $t: $(find "fuzz/corpus/$t" -type f | wc -l) inputs, no crash"
      passed=$((passed + 1))
    else
      grep -E 'panicked at|^SUMMARY|ERROR: libFuzzer|Running: ' "$log" | head -n 5 || true
      echo "fuzz replay: $t FAILED (log: $log)"
      failed+=("$t")
    fi
  done
  echo "fuzz-replay: $passed passed, ${#failed[@]} failed"
  ((${#failed[@]} == 0))
}

main() {
  local what="${1:-all}"
  [[ "$what" == -h || "$what" == --help ]] && usage
  if [[ "$what" == replay ]]; then
    replay "${2:-all}"
    return
  fi
  ensure_cargo_fuzz
  mkdir -p fuzz/work
  if [[ "$what" == cmin ]]; then
    local t
    for t in $(targets_for "${2:-all}"); do
      mkdir -p "fuzz/work/$t"
      cmin_target "$t"
    done
    return 0
  fi
  local seconds="${2:-60}" failed=() t
  [[ "$seconds" =~ ^[0-9]+$ ]] || usage
  # Build first, so a tree that does not compile is told apart from a crash.
  for t in $(targets_for "$what"); do
    if ! cargo fuzz build "$t" >"fuzz/work/build.log" 2>&1; then
      tail -n 30 fuzz/work/build.log >&2
      echo "fuzz.sh: $t does not build (not a crash; see fuzz/work/build.log)" >&2
      exit 2
    fi
  done
  for t in $(targets_for "$what"); do
    run_target "$t" "$seconds" || failed+=("$t")
  done
  if ((${#failed[@]})); then
    echo "fuzz.sh: crashes in: ${failed[*]} (inputs in fuzz/crashes/)" >&2
    exit 1
  fi
  echo "fuzz.sh: no crashes"
}

main "$@"
