#!/usr/bin/env bash
# The fuzz crate: fmt and clippy, then every cargo-fuzz target for FUZZ_SECONDS (30) each,
# starting from the committed seeds in a scratch corpus. A crash fails the step; its input is
# left in fuzz/artifacts/<target>/ and printed here.
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
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$corpus/$target"
  [ -d "seeds/$target" ] && cp "seeds/$target"/* "$corpus/$target/"
  echo "--- fuzz $target for ${secs}s"
  t0=$SECONDS
  if ! cargo +nightly fuzz run "$target" "$corpus/$target" -- \
      -max_total_time="$secs" -timeout=10 -print_final_stats=1 >"$corpus/$target.log" 2>&1; then
    tail -n 60 "$corpus/$target.log"
    for f in artifacts/"$target"/*; do [ -f "$f" ] && { echo "crash input $f:"; xxd "$f" | head -n 40; }; done
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$corpus/$target.log" | grep -o '[0-9]*$' || true)
  echo "--- $target: ${runs:-?} runs in $((SECONDS - t0)) s, no crash"
done
