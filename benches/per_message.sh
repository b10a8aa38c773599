#!/usr/bin/env bash
# Instructions per message of wsmachine's hot paths, from callgrind (deterministic, unlike a
# timing on a shared machine): per_message run at N = 1000 and N = 2000, the difference / 1000.
# Each of send, header-mask and decode is counted for nexus-web too (the nexus- workload), and the
# line ends with its count and the ratio nexus-web / wsmachine.
# Usage: bash per_message.sh [WORKLOAD SIZE]...   (default: every workload at 16 and 128 bytes)
set -euo pipefail
cd "$(dirname "$0")"
command -v valgrind >/dev/null || { echo "per_message.sh needs valgrind" >&2; exit 1; }
cargo build --release -q --bin per_message
BIN=${CARGO_TARGET_DIR:-target}/release/per_message
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" "$3" 2>&1 >/dev/null |
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
if [ $# -eq 0 ]; then
  set -- send 16 send 128 header-mask 16 header-mask 128 decode 16 decode 128 decode-text 16384
fi
# per WORKLOAD SIZE: instructions per message.
per() {
  local a b
  a=$(count "$1" "$2" 1000)
  b=$(count "$1" "$2" 2000)
  echo $(( (b - a) / 1000 ))
}
while [ $# -ge 2 ]; do
  ours=$(per "$1" "$2")
  line=$(printf '%-12s %6s B: %6d instructions per message' "$1" "$2" "$ours")
  case $1 in
    send | header-mask | decode)
      peer=$(per "nexus-$1" "$2")
      line+=$(printf ' (nexus-web %d, %s x)' "$peer" \
        "$(awk -v p="$peer" -v o="$ours" 'BEGIN { printf "%.2f", p / o }')")
      ;;
  esac
  echo "$line"
  shift 2
done
