#!/usr/bin/env bash
# Miri over the unit tests (undefined behaviour, overflow and out-of-bounds checks in debug),
# then the whole test suite on i686, where `usize` is 32 bits.
set -euo pipefail
source .ci/lib.sh

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
installed=$(rustup component list --installed --toolchain nightly)
if ! grep -q '^miri' <<<"$installed" || ! grep -q '^rust-src' <<<"$installed"; then
  rustup component add miri rust-src --toolchain nightly
fi
cargo +nightly miri setup
cargo +nightly miri test --lib

apt_install gcc-multilib
rust_target i686-unknown-linux-gnu
cargo test --all-features --target i686-unknown-linux-gnu
