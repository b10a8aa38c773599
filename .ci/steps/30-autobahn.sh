#!/usr/bin/env bash
# Autobahn|Testsuite conformance, cases 1.*-10.* and (permessage-deflate) 12.*-13.*: the echo servers (server role) and
# autobahn_client (client role); fails on any case not OK/INFORMATIONAL (NON-STRICT fails too).
set -euo pipefail
source .ci/lib.sh
apt_install python3
if [ ! -x /opt/autobahn/bin/wstest ]; then
  # wstest 0.8.2 in a Python 2.7 virtualenv at /opt/autobahn (about 35 s; needs root).
  bash tests/autobahn/install-wstest.sh
fi
cargo build --release --features embedded-io,embedded-io-async,deflate-compress --examples
bash tests/autobahn/run.sh
