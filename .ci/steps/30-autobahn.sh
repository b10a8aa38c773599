#!/usr/bin/env bash
# Autobahn|Testsuite conformance, both roles: cases 1.*-10.*, then the whole of 12.*-13.*
# (permessage-deflate, 216 cases a role; the server role and the client role at once, since
# wstest is the bottleneck) for the echo servers (server role) and autobahn_client (client
# role); fails on any case not OK/INFORMATIONAL (NON-STRICT fails too). SHARDS=N splits each
# role's 12/13 over N wstest processes (default: half the cores).
set -euo pipefail
source .ci/lib.sh
apt_install python3
if [ ! -x /opt/autobahn/bin/wstest ]; then
  # wstest 0.8.2 in a Python 2.7 virtualenv at /opt/autobahn (about 35 s; needs root).
  bash tests/autobahn/install-wstest.sh
fi
cargo build --release --features embedded-io,embedded-io-async,deflate-compress --examples
bash tests/autobahn/run.sh
