#!/usr/bin/env bash
# The benchmark crate (its own workspace, like fuzz/): fmt and clippy, then a release build of
# it and the peers it compares with, and `--check`, which checks every implementation's output
# on every workload and times nothing (a second or so), and the permessage-deflate echo's
# `--check`. The figures come from a full run by
# hand: `cd benches && cargo run --release` (README "Performance").
set -euo pipefail
source .ci/lib.sh
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt clippy

cd benches
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo run --release --quiet -- --check
# permessage-deflate echo, compressed and not: every echoed message compared, nothing timed.
cargo run --release --quiet --bin deflate_echo -- --check
