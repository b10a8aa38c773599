#!/usr/bin/env bash
# Autobahn|Testsuite, cases 1.* to 10.* (no compression: 12.*/13.* are excluded), both roles:
#   server role: wstest fuzzingclient against examples/echo_server and examples/tokio_echo;
#   client role: wstest fuzzingserver against examples/autobahn_client.
# Prints `ROLE: N OK, N NON-STRICT, N FAILED, N other` per role and fails unless every case's
# behavior and behaviorClose are OK or INFORMATIONAL. Reports go to tests/autobahn/reports/.
#
# Needs the release examples: cargo build --release --features embedded-io,embedded-io-async --examples
# Environment: WSTEST (default /opt/autobahn/bin/wstest), EXAMPLES (default target/release/examples).
# Ports are free ones picked at random; everything listens on or connects to 127.0.0.1 (wstest's
# fuzzingserver itself binds 0.0.0.0, it has no option for the interface).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
wstest=${WSTEST:-/opt/autobahn/bin/wstest}
examples=${EXAMPLES:-$root/target/release/examples}
reports=$here/reports
# Each wstest run is bounded; the whole 301-case run takes about 20 s per role.
limit=600

for bin in echo_server tokio_echo autobahn_client; do
  [ -x "$examples/$bin" ] || { echo "missing $examples/$bin: build the release examples first" >&2; exit 1; }
done
[ -x "$wstest" ] || { echo "missing $wstest: run tests/autobahn/install-wstest.sh (as root)" >&2; exit 1; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for LOG TEXT: until LOG contains TEXT (10 s at most).
wait_for() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s at most).
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# config TEMPLATE OUT URL OUTDIR AGENT: the committed config with this run's URL and outdir.
config() {
  python3 - "$@" <<'PY'
import json, sys
template, out, url, outdir, agent = sys.argv[1:]
with open(template) as f:
    c = json.load(f)
c["outdir"] = outdir
if "servers" in c:
    c["servers"] = [{"agent": agent, "url": url}]
else:
    c["url"] = url
with open(out, "w") as f:
    json.dump(c, f, indent=2)
PY
}

rm -rf "$reports"
mkdir -p "$reports"
cd "$reports"

# Server role: one fuzzingclient run per server.
for server in echo_server tokio_echo; do
  port=$(free_port)
  "$examples/$server" "127.0.0.1:$port" >"$server.log" 2>&1 &
  pids+=($!)
  wait_for "$server.log" listening
  config "$here/fuzzingclient.json" "fuzzingclient-$server.json" "ws://127.0.0.1:$port" "./$server" "$server"
  start=$SECONDS
  timeout "$limit" "$wstest" -m fuzzingclient -s "fuzzingclient-$server.json" >"wstest-$server.log" 2>&1
  echo "fuzzingclient against $server: $((SECONDS - start)) s"
done

# Client role: a fuzzingserver, and autobahn_client running its cases.
port=$(free_port)
config "$here/fuzzingserver.json" fuzzingserver.json "ws://127.0.0.1:$port" ./autobahn_client autobahn_client
"$wstest" -m fuzzingserver -s fuzzingserver.json -u 0 >wstest-fuzzingserver.log 2>&1 &
pids+=($!)
wait_port "$port"
start=$SECONDS
timeout "$limit" "$examples/autobahn_client" "ws://127.0.0.1:$port" autobahn_client >autobahn_client.log 2>&1
echo "autobahn_client against fuzzingserver: $((SECONDS - start)) s"

python3 "$here/summary.py" \
  "server (echo_server)=echo_server/index.json" \
  "server (tokio_echo)=tokio_echo/index.json" \
  "client (autobahn_client)=autobahn_client/index.json"
