#!/usr/bin/env bash
# fmt, clippy, tests, docs and the no_std firmware-target builds.
set -euo pipefail
source .ci/lib.sh
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt clippy
rust_target thumbv7em-none-eabihf
rust_target thumbv6m-none-eabi
rust_target riscv32imc-unknown-none-elf

cargo fmt --all -- --check
cargo clippy --all-targets --all-features -- -D warnings
cargo test --all-features
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features
for t in thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf; do
  cargo build --lib --no-default-features --target "$t"
done
# permessage-deflate's receive side builds with no allocator.
cargo build --lib --no-default-features --features deflate --target thumbv7em-none-eabihf
