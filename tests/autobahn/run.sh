#!/usr/bin/env bash
# Autobahn|Testsuite, both roles, in two runs:
#   cases 1.* to 10.*, no compression (fuzzingclient.json, fuzzingserver.json);
#   permessage-deflate, the examples started with --deflate: a bounded subset of 12.* and 13.*
#     (fuzzingclient-deflate.json, fuzzingserver-deflate.json: 12.1.* and, as wstest matches
#     case patterns as prefixes, 13.X.1-3 and 13.X.10-18 for every offer variant X: 102 cases,
#     about 3 to 4 minutes a role; the whole of 12.*/13.* takes over 10 minutes a role, wstest
#     being the bottleneck), 12.1.1 and 13.1.1 for tokio_echo (DEFLATE_CASES_TOKIO), whose
#     compression path is echo_server's over the async adapter (the browser step covers it too);
#   server role: wstest fuzzingclient against examples/echo_server and examples/tokio_echo;
#   client role: wstest fuzzingserver against examples/autobahn_client.
# Prints `ROLE: N OK, N NON-STRICT, N FAILED, N other` per role and fails unless every case's
# behavior and behaviorClose are OK or INFORMATIONAL. Reports go to tests/autobahn/reports/.
#
# Needs the release examples:
#   cargo build --release --features embedded-io,embedded-io-async,deflate-compress --examples
# DEFLATE=0 skips the compression run.
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

# config TEMPLATE OUT URL OUTDIR AGENT [CASES]: the committed config with this run's URL and
# outdir (and CASES, comma-separated, instead of the template's).
config() {
  python3 - "$@" <<'PY'
import json, sys
template, out, url, outdir, agent = sys.argv[1:6]
with open(template) as f:
    c = json.load(f)
if len(sys.argv) > 6 and sys.argv[6]:
    c["cases"] = sys.argv[6].split(",")
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

# server_run SERVER TEMPLATE NAME CASES [FLAGS...]: one fuzzingclient run against SERVER.
server_run() {
  local server=$1 template=$2 name=$3 cases=$4
  shift 4
  local port
  port=$(free_port)
  "$examples/$server" "127.0.0.1:$port" "$@" >"$name.log" 2>&1 &
  pids+=($!)
  wait_for "$name.log" listening
  config "$template" "fuzzingclient-$name.json" "ws://127.0.0.1:$port" "./$name" "$name" "$cases"
  local start=$SECONDS
  timeout "$limit" "$wstest" -m fuzzingclient -s "fuzzingclient-$name.json" >"wstest-$name.log" 2>&1
  echo "fuzzingclient against $name: $((SECONDS - start)) s"
}

# client_run TEMPLATE NAME [FLAGS...]: a fuzzingserver, and autobahn_client running its cases.
client_run() {
  local template=$1 name=$2
  shift 2
  local port
  port=$(free_port)
  config "$template" "fuzzingserver-$name.json" "ws://127.0.0.1:$port" "./$name" "$name"
  "$wstest" -m fuzzingserver -s "fuzzingserver-$name.json" -u 0 >"wstest-fuzzingserver-$name.log" 2>&1 &
  local wstest_pid=$!
  pids+=($wstest_pid)
  wait_port "$port"
  local start=$SECONDS
  timeout "$limit" "$examples/autobahn_client" "ws://127.0.0.1:$port" "$name" "$@" >"$name.log" 2>&1
  echo "autobahn_client against fuzzingserver ($name): $((SECONDS - start)) s"
  kill "$wstest_pid" 2>/dev/null || true
}

# Cases 1.* to 10.*, no compression.
server_run echo_server "$here/fuzzingclient.json" echo_server ""
server_run tokio_echo "$here/fuzzingclient.json" tokio_echo ""
client_run "$here/fuzzingserver.json" autobahn_client

roles=(
  "server (echo_server)=echo_server/index.json"
  "server (tokio_echo)=tokio_echo/index.json"
  "client (autobahn_client)=autobahn_client/index.json"
)

# The permessage-deflate subset of 12.* and 13.*; tokio_echo runs the same code over the async
# adapter, so a subset of its cases bounds the run.
if [ "${DEFLATE:-1}" != 0 ]; then
  server_run echo_server "$here/fuzzingclient-deflate.json" echo_server-deflate "" --deflate
  server_run tokio_echo "$here/fuzzingclient-deflate.json" tokio_echo-deflate \
    "${DEFLATE_CASES_TOKIO:-12.1.1,13.1.1}" --deflate
  client_run "$here/fuzzingserver-deflate.json" autobahn_client-deflate --deflate
  roles+=(
    "server (echo_server --deflate, 12-13)=echo_server-deflate/index.json"
    "server (tokio_echo --deflate, 12.1.1 and 13.1.1)=tokio_echo-deflate/index.json"
    "client (autobahn_client --deflate, 12-13)=autobahn_client-deflate/index.json"
  )
fi

python3 "$here/summary.py" "${roles[@]}"
