#!/usr/bin/env bash
# Interop with the Python `websockets` library: its client against the echo servers, its server
# against the client example. 127.0.0.1 only, random free ports, every wait bounded.
set -euo pipefail
source .ci/lib.sh
apt_install python3 python3-venv
export PYTHONDONTWRITEBYTECODE=1
venv=target/interop-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import websockets' 2>/dev/null || "$venv/bin/pip" install -q websockets
"$venv/bin/python" -c 'import websockets; print("websockets", websockets.__version__)'
cargo build --release --features embedded-io,embedded-io-async,deflate-compress --examples
timeout 300 "$venv/bin/python" tests/interop/websockets_client.py
timeout 300 "$venv/bin/python" tests/interop/websockets_server.py
timeout 300 "$venv/bin/python" tests/interop/websockets_tls.py
# Floods against echo_server with and without --rate-msgs: RSS, a probe's echo RTT, what the
# flooder sees (about 12 s).
timeout 120 "$venv/bin/python" tests/interop/flood.py
