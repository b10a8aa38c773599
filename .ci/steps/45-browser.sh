#!/usr/bin/env bash
# Interop with compression on: headless Chromium against echo_server --deflate (a page served
# from 127.0.0.1 by http.server), and the Node `ws` library both ways (its client against
# echo_server --deflate, its server against client --deflate). 127.0.0.1 only, random free
# ports, every wait bounded, each browser run under `timeout`.
set -euo pipefail
source .ci/lib.sh
apt_install python3 chromium
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
echo "node $(node --version), npm $(npm --version), $(chromium --version 2>/dev/null)"
export PYTHONDONTWRITEBYTECODE=1
# ws goes into a scratch dir under target/ (never into the tree).
mods=target/interop-node
if [ ! -f "$mods/node_modules/ws/package.json" ]; then
  mkdir -p "$mods"
  npm install --prefix "$mods" --no-audit --no-fund --silent ws@8
fi
# The interop step's build plus deflate-compress, which the examples' --deflate needs.
cargo build --release --features embedded-io,embedded-io-async,deflate-compress --examples
# The extension checks are on in CI: WS_EXPECT_DEFLATE=0 is for development only.
export WS_EXPECT_DEFLATE=1
unset ECHO_SERVER_CMD CLIENT_CMD
status=0
if timeout 240 python3 tests/interop/browser/browser.py > target/browser-interop.log 2>&1; then
  chromium_line="PASS"; else chromium_line="FAIL"; status=1; fi
cat target/browser-interop.log
# The same page against tokio_echo --deflate.
if timeout 240 python3 tests/interop/browser/browser.py \
    "{examples}/tokio_echo 127.0.0.1:{port} --deflate" > target/browser-interop.log 2>&1; then
  chromium_tokio_line="PASS"; else chromium_tokio_line="FAIL"; status=1; fi
cat target/browser-interop.log
if timeout 240 node tests/interop/node/ws_interop.js > target/node-interop.log 2>&1; then
  node_line="PASS"; else node_line="FAIL"; status=1; fi
cat target/node-interop.log
echo "chromium interop (echo_server --deflate): $chromium_line"
echo "chromium interop (tokio_echo --deflate): $chromium_tokio_line"
echo "node ws interop (echo_server --deflate, client --deflate vs ws server): $node_line"
exit $status
