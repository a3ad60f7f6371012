#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ once, then runs each for a bounded time; fails if the fuzzer
# reports a crash, a timeout (one input over 10 s) or an out-of-memory in any of them
# (docs/fuzzing.md).
#
#   ci/fuzz.sh                          # every target, 30 s each
#   FUZZ_SECONDS=600 ci/fuzz.sh statements jwt
#
# cargo-fuzz is installed once into $CARGO_FUZZ_ROOT (default /var/cache/lrs-ci/cargo-fuzz),
# outside the repository; the targets build with the nightly toolchain. Each run starts from the
# seeds fuzz/seed.py derives from the test fixtures plus whatever earlier runs added to
# fuzz/corpus/ (not committed). A crashing input is left in fuzz/artifacts/<target>/.
# The targets run on a 2 MiB stack, the size of an HTTP worker's.
# Environment: FUZZ_SECONDS (30), FUZZ_MAX_LEN (65536), FUZZ_SANITIZER (address; "none" builds
# faster), FUZZ_TARGET_DIR ($CARGO_TARGET_DIR/fuzz, else target/fuzz), CARGO_FUZZ_ROOT.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${CARGO_FUZZ_ROOT:-/var/cache/lrs-ci/cargo-fuzz}"
seconds="${FUZZ_SECONDS:-30}"
max_len="${FUZZ_MAX_LEN:-65536}"
sanitizer="${FUZZ_SANITIZER:-address}"
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$repo/target}/fuzz}"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "installing the nightly toolchain" >&2
  rustup toolchain install nightly --profile minimal >&2
fi
if [ ! -x "$root/bin/cargo-fuzz" ]; then
  echo "installing cargo-fuzz into $root" >&2
  cargo install --root "$root" cargo-fuzz --locked >&2
fi
export PATH="$root/bin:$PATH"

cd "$repo/fuzz"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
python3 seed.py >&2

started=$SECONDS
cargo +nightly fuzz build --target-dir "$target_dir" --sanitizer "$sanitizer" >&2
echo "built ${#targets[@]} fuzz targets in $((SECONDS - started)) s" >&2

failed=()
for target in "${targets[@]}"; do
  echo "fuzzing $target for $seconds s" >&2
  if ! (
    ulimit -s 2048
    cargo +nightly fuzz run "$target" --target-dir "$target_dir" --sanitizer "$sanitizer" -- \
      -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >&2
  ); then
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found failures in: ${failed[*]} (inputs in fuzz/artifacts/; docs/fuzzing.md" \
    "says how one becomes a regression test)" >&2
  exit 1
fi
echo "fuzzed ${targets[*]} for $seconds s each: no failures" >&2
