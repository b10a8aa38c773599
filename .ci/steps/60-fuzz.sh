#!/usr/bin/env bash
# The fuzz crate: fmt and clippy, then every cargo-fuzz target for FUZZ_SECONDS (30) each,
# two at a time (one per core), starting from the committed seeds in a scratch corpus. A crash
# fails the step; its input is left in fuzz/artifacts/<target>/ and printed here.
set -euo pipefail
source .ci/lib.sh
secs=${FUZZ_SECONDS:-30}

rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt clippy
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

cd fuzz
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo +nightly fuzz build

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT

# One target for $secs from its seeds; its summary (or, on a crash, the log's tail and the
# input) goes to $corpus/$target.out. Returns non-zero on a crash.
fuzz_one() {
  local target=$1 t0=$SECONDS runs
  mkdir -p "$corpus/$target"
  [ -d "seeds/$target" ] && cp "seeds/$target"/* "$corpus/$target/"
  if ! cargo +nightly fuzz run "$target" "$corpus/$target" -- \
      -max_total_time="$secs" -timeout=10 -print_final_stats=1 >"$corpus/$target.log" 2>&1; then
    {
      echo "--- $target: CRASH"
      tail -n 60 "$corpus/$target.log"
      for f in artifacts/"$target"/*; do [ -f "$f" ] && { echo "crash input $f:"; xxd "$f" | head -n 40; }; done
    } >"$corpus/$target.out"
    return 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$corpus/$target.log" | grep -o '[0-9]*$' || true)
  echo "--- $target: ${runs:-?} runs in $((SECONDS - t0)) s, no crash" >"$corpus/$target.out"
}

# Two targets at a time, one per core: the same seconds each, half the wall time.
targets=($(cargo +nightly fuzz list))
failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pair=("${targets[@]:i:2}")
  echo "--- fuzz ${pair[*]} for ${secs}s each, at the same time"
  pids=()
  for target in "${pair[@]}"; do
    fuzz_one "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  for target in "${pair[@]}"; do cat "$corpus/$target.out"; done
  [ "$failed" = 0 ] || exit 1
done
