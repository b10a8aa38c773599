#!/usr/bin/env bash
# Autobahn|Testsuite, both roles, in two phases:
#   cases 1.* to 10.*, no compression (fuzzingclient.json, fuzzingserver.json), one run after
#     the other (about 20 s a role);
#   permessage-deflate, the examples started with --deflate: the whole of 12.* and 13.* (216
#     cases a role; fuzzingclient-deflate.json, fuzzingserver-deflate.json), the server role
#     and the client role at the same time, each split into SHARDS wstest processes (default:
#     half the cores, at least 1), since wstest (Python 2) is the bottleneck: it burns about
#     5 times the CPU of our side, and each role takes about 6 CPU-minutes of it. Shard i of N
#     takes every N-th case (tests/autobahn/cases.py, with wstest's own case matcher). Beside
#     them tokio_echo, whose compression path is echo_server's over the async adapter, runs
#     one fragmented case per offer variant (DEFLATE_CASES_TOKIO);
#   server role: wstest fuzzingclient against examples/echo_server and examples/tokio_echo;
#   client role: wstest fuzzingserver against examples/autobahn_client.
# Prints each run's wall time, then `ROLE: N OK, N NON-STRICT, N FAILED, N other` per role
# (the shards' reports merged) and fails unless every case's behavior and behaviorClose are OK
# or INFORMATIONAL. Reports go to tests/autobahn/reports/.
#
# Needs the release examples:
#   cargo build --release --features embedded-io,embedded-io-async,deflate-compress --examples
# DEFLATE=0 skips the compression phase; SHARDS=N sets the wstest processes per role;
# DEFLATE_CASES (comma-separated case patterns) runs those instead of the whole of 12/13.
# Environment: WSTEST (default /opt/autobahn/bin/wstest), EXAMPLES (default target/release/examples).
# Ports are free ones picked at random; everything listens on or connects to 127.0.0.1 (wstest's
# fuzzingserver itself binds 0.0.0.0, it has no option for the interface).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
wstest=${WSTEST:-/opt/autobahn/bin/wstest}
examples=${EXAMPLES:-$root/target/release/examples}
reports=$here/reports
# Each wstest run is bounded: the 301-case runs take about 20 s a role, a shard of 12/13 about
# 7 minutes on an idle 2-core machine (one shard a role); 30 minutes covers a loaded one.
limit=600
deflate_limit=${DEFLATE_LIMIT:-1800}
wstest_python=$(dirname "$wstest")/python
cores=$(nproc 2>/dev/null || echo 2)
shards=${SHARDS:-$(( cores / 2 > 0 ? cores / 2 : 1 ))}

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

# start_server SERVER NAME [FLAGS...]: SERVER on a free port (logging to NAME.log); sets `url`.
start_server() {
  local server=$1 name=$2
  shift 2
  local port
  port=$(free_port)
  "$examples/$server" "127.0.0.1:$port" "$@" >"$name.log" 2>&1 &
  pids+=($!)
  wait_for "$name.log" listening
  url="ws://127.0.0.1:$port"
}

# fuzzingclient URL TEMPLATE NAME CASES LIMIT [AGENT]: one bounded fuzzingclient run against
# the server at URL, reporting to ./NAME as AGENT (default NAME); prints its wall time.
fuzzingclient() {
  local url=$1 template=$2 name=$3 cases=$4 bound=$5 agent=${6:-$3}
  config "$template" "fuzzingclient-$name.json" "$url" "./$name" "$agent" "$cases"
  local start=$SECONDS rc=0
  timeout "$bound" "$wstest" -m fuzzingclient -s "fuzzingclient-$name.json" >"wstest-$name.log" 2>&1 || rc=$?
  echo "fuzzingclient against $name: $((SECONDS - start)) s$(status $rc)"
  return "$rc"
}

# start_fuzzingserver TEMPLATE NAME CASES: a fuzzingserver on a free port, reporting to ./NAME;
# sets `url` and `fuzzingserver_pid`.
start_fuzzingserver() {
  local template=$1 name=$2 cases=$3
  local port
  port=$(free_port)
  config "$template" "fuzzingserver-$name.json" "ws://127.0.0.1:$port" "./$name" "$name" "$cases"
  "$wstest" -m fuzzingserver -s "fuzzingserver-$name.json" -u 0 >"wstest-fuzzingserver-$name.log" 2>&1 &
  fuzzingserver_pid=$!
  pids+=($!)
  wait_port "$port"
  url="ws://127.0.0.1:$port"
}

# client_run URL NAME AGENT LIMIT [FLAGS...]: autobahn_client, bounded, running every case of
# the fuzzingserver at URL as AGENT (logging to NAME.log); prints its wall time.
client_run() {
  local url=$1 name=$2 agent=$3 bound=$4
  shift 4
  local start=$SECONDS rc=0
  timeout "$bound" "$examples/autobahn_client" "$url" "$agent" "$@" >"$name.log" 2>&1 || rc=$?
  echo "autobahn_client against fuzzingserver ($name): $((SECONDS - start)) s$(status $rc)"
  return "$rc"
}

# status RC: what a run's exit status says, if anything (124: the timeout ended it).
status() {
  case $1 in
    0) ;;
    124) echo " (timed out)" ;;
    *) echo " (exit $1)" ;;
  esac
}

# shard_cases TEMPLATE I N: the ids of shard I of N of TEMPLATE's cases, comma-separated (the
# script ends if they cannot be had: a shard must never fall back to the template's patterns).
shard_cases() {
  "$wstest_python" -W ignore "$here/cases.py" "$1" "$2" "$3"
}

# Cases 1.* to 10.*, no compression, one run after the other.
failed=0
start_server echo_server echo_server
fuzzingclient "$url" "$here/fuzzingclient.json" echo_server "" "$limit" || failed=1
start_server tokio_echo tokio_echo
fuzzingclient "$url" "$here/fuzzingclient.json" tokio_echo "" "$limit" || failed=1
start_fuzzingserver "$here/fuzzingserver.json" autobahn_client ""
client_run "$url" autobahn_client autobahn_client "$limit" || failed=1
# Its reports are written: the fuzzingserver has nothing left to do.
kill "$fuzzingserver_pid" 2>/dev/null || true

roles=(
  "server (echo_server)=echo_server/index.json"
  "server (tokio_echo)=tokio_echo/index.json"
  "client (autobahn_client)=autobahn_client/index.json"
)

# The whole of 12.* and 13.*, permessage-deflate: every run at once, each in the background.
if [ "${DEFLATE:-1}" != 0 ]; then
  phase=$SECONDS
  jobs_=()
  server_reports=()
  client_reports=()
  # The templates' cases, or DEFLATE_CASES instead, to be split into shards.
  config "$here/fuzzingclient-deflate.json" fuzzingclient-deflate-cases.json "" . - \
    "${DEFLATE_CASES:-}"
  config "$here/fuzzingserver-deflate.json" fuzzingserver-deflate-cases.json "" . - \
    "${DEFLATE_CASES:-}"
  start_server echo_server echo_server-deflate --deflate
  server_url=$url
  for i in $(seq "$shards"); do
    cases=$(shard_cases fuzzingclient-deflate-cases.json "$i" "$shards")
    fuzzingclient "$server_url" "$here/fuzzingclient-deflate.json" "echo_server-deflate-$i" \
      "$cases" "$deflate_limit" echo_server-deflate &
    jobs_+=($!)
    pids+=($!)
    server_reports+=("echo_server-deflate-$i/index.json")
    cases=$(shard_cases fuzzingserver-deflate-cases.json "$i" "$shards")
    start_fuzzingserver "$here/fuzzingserver-deflate.json" "autobahn_client-deflate-$i" "$cases"
    client_run "$url" "autobahn_client-deflate-$i" autobahn_client-deflate "$deflate_limit" \
      --deflate &
    jobs_+=($!)
    pids+=($!)
    client_reports+=("autobahn_client-deflate-$i/index.json")
  done
  tokio_cases=${DEFLATE_CASES_TOKIO:-12.2.11,13.1.11,13.2.11,13.3.11,13.4.11,13.5.11,13.6.11,13.7.11}
  start_server tokio_echo tokio_echo-deflate --deflate
  fuzzingclient "$url" "$here/fuzzingclient-deflate.json" tokio_echo-deflate "$tokio_cases" \
    "$deflate_limit" &
  jobs_+=($!)
  pids+=($!)
  for job in "${jobs_[@]}"; do wait "$job" || failed=1; done
  echo "12.* and 13.*, $shards shard(s) a role, all at once: $((SECONDS - phase)) s"
  joined() { local IFS=,; echo "$*"; }
  roles+=(
    "server (echo_server --deflate, ${DEFLATE_CASES:-12-13})=$(joined "${server_reports[@]}")"
    "server (tokio_echo --deflate, ${tokio_cases//,/ })=tokio_echo-deflate/index.json"
    "client (autobahn_client --deflate, ${DEFLATE_CASES:-12-13})=$(joined "${client_reports[@]}")"
  )
fi

# A run that failed or timed out has no report, or an incomplete one: the summary says which.
python3 "$here/summary.py" "${roles[@]}" || failed=1
[ "$failed" = 0 ] || { echo "autobahn: a run failed, or a case did not pass (see above)" >&2; exit 1; }
