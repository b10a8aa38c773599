#!/usr/bin/env bash
# wsmachine on a Cortex-M4 under QEMU (mps2-an386): the client/server pair and the wire vectors,
# with semihosting output and with defmt (decoded by defmt-print), then the footprint report.
# The no-default-features library builds for thumbv6m and riscv32imc, with and without defmt.
set -euo pipefail
source .ci/lib.sh
apt_install qemu-system-arm binutils-arm-none-eabi
rust_target thumbv7em-none-eabihf
rust_target thumbv6m-none-eabi
rust_target riscv32imc-unknown-none-elf
command -v defmt-print >/dev/null || cargo install defmt-print --locked --quiet

for t in thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf; do
  cargo build --lib --no-default-features --features defmt --target "$t"
done

cd examples/firmware
# The firmware crate is its own workspace: lint it here.
cargo fmt -- --check
cargo clippy --release -- -D warnings
CARGO_TARGET_DIR=target/defmt cargo clippy --release --features defmt -- -D warnings
# The deflate footprint bin.
cargo clippy --release --features size-deflate -- -D warnings

QEMU=(qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic
  -semihosting-config enable=on,target=native -kernel)
ELF=target/thumbv7em-none-eabihf/release
ELF_DEFMT=target/defmt/thumbv7em-none-eabihf/release
log=$(mktemp)

# run NAME ELF EXPECTED [DECODE]: runs the firmware, fails unless it exits 0 and printed EXPECTED.
run() {
  local name=$1 elf=$2 expected=$3 status
  if [ "${4:-}" = defmt ]; then
    set +e
    timeout 120 "${QEMU[@]}" "$elf" </dev/null | defmt-print -e "$elf" >"$log" 2>&1
    status=${PIPESTATUS[0]}
    set -e
  else
    status=0
    timeout 120 "${QEMU[@]}" "$elf" </dev/null >"$log" 2>&1 || status=$?
  fi
  cat "$log"
  if [ "$status" -ne 0 ] || ! grep -q "$expected" "$log"; then
    echo "firmware $name: FAILED (exit $status)"
    return 1
  fi
  echo "firmware $name: exit 0"
}

cargo build --release --bin pair --bin vectors
run pair "$ELF/pair" "pair: all steps passed"
run vectors "$ELF/vectors" "vectors: all groups passed"

CARGO_TARGET_DIR=target/defmt cargo build --release --features defmt --bin pair --bin vectors
run "pair (defmt)" "$ELF_DEFMT/pair" "pair: all steps passed" defmt
for line in "handshake: server got Request" "binary: client->server 4096 bytes" \
  "close: client 1000"; do
  grep -q "$line" "$log" || { echo "defmt output lacks: $line"; exit 1; }
done
run "vectors (defmt)" "$ELF_DEFMT/vectors" "vectors: all groups passed" defmt

# The network firmwares (issue 13), behind features so that the footprint builds stay without
# them: `smoltcp` (TCP sockets over a fixed-capacity loopback device, no allocator), `embassy`
# (the async adapter over embassy-net TcpSockets on a loopback driver, embassy-executor, a
# SysTick time driver) and `tls` (embedded-tls carrying a wsmachine client; it runs up to the
# ServerHello, as there is no TLS 1.3 server in the firmware).
cargo clippy --release --features smoltcp,tls -- -D warnings
cargo build --release --features smoltcp,tls --bin smoltcp --bin embassy --bin tls
run smoltcp "$ELF/smoltcp" "smoltcp: all steps passed"
run embassy "$ELF/embassy" "embassy: all steps passed"
run tls "$ELF/tls" "tls: ClientHello checked"

# Fails the step when a path (client, server, deflate client) costs more than its flash budget
# (size-report.sh), adds .data/.bss, or Connection outgrows 256 bytes; prints what each optional
# feature costs.
./size-report.sh
