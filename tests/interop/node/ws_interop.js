// The Node `ws` library (v8) with permessage-deflate: its client against examples/echo_server
// --deflate (the extension negotiated, text and binary of 1 B to 1 MiB echoed byte for byte,
// a clean 1000 close), and its server against examples/client --deflate (stdin lines echoed
// back on stdout, exit 0, the close the server sees is 1000).
//
//   node tests/interop/node/ws_interop.js
//
// `ws` is loaded from WS_MODULE or target/interop-node/node_modules/ws (the CI step installs it
// there). The commands come from ECHO_SERVER_CMD and CLIENT_CMD, with {port}, {url} and
// {examples} filled in; the defaults are "{examples}/echo_server 127.0.0.1:{port} --deflate"
// and "{examples}/client {url} --deflate". WS_EXPECT_DEFLATE=0 turns the extension checks off,
// for development against examples without --deflate only: the CI step sets it to 1.
// 127.0.0.1 only; every wait is bounded.
"use strict";
const { spawn } = require("child_process");
const net = require("net");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const EXAMPLES = process.env.EXAMPLES || path.join(ROOT, "target", "release", "examples");
const WS = require(process.env.WS_MODULE || path.join(ROOT, "target", "interop-node", "node_modules", "ws"));
const SERVER_CMD = process.env.ECHO_SERVER_CMD || "{examples}/echo_server 127.0.0.1:{port} --deflate";
const CLIENT_CMD = process.env.CLIENT_CMD || "{examples}/client {url} --deflate";
const EXPECT_DEFLATE = process.env.WS_EXPECT_DEFLATE !== "0";
const TIMEOUT = 20000;
const SIZES = [1, 125, 126, 64 * 1024, 1024 * 1024];

// A hang anywhere ends the script, not the CI job.
setTimeout(() => { console.log("FAIL whole script: no end in 180 s"); process.exit(1); }, 180000).unref();

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
}

// Split on whitespace; quotes are not needed for these commands (the paths have no spaces).
function argv(template, values) {
  return fill(template, values).trim().split(/\s+/);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function bounded(promise, what, ms = TIMEOUT) {
  let timer;
  const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Deterministic bytes, half noise and half runs (something for deflate to shrink, something not).
function bytes(n, seed) {
  const out = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    if ((i >> 10) & 1) { out[i] = (i >> 4) & 0xff; continue; }
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// Text of exactly n UTF-8 bytes, with a 2-byte "é" and a 4-byte "𝄞" here and there.
function text(n, seed) {
  const b = bytes(n, seed);
  const parts = [];
  let i = 0;
  while (i < n) {
    if (n - i >= 4 && i % 997 === 3) { parts.push("\u{1D11E}"); i += 4; continue; }
    if (n - i >= 2 && i % 499 === 7) { parts.push("\u00e9"); i += 2; continue; }
    parts.push(String.fromCharCode(0x20 + (b[i] % 95)));
    i += 1;
  }
  return parts.join("");
}

function hasDeflate(extensions) {
  return /(^|[ ,])permessage-deflate($|[ ;,])/.test(extensions || "");
}

// The echo server on a free port, after its "listening" line.
async function startServer() {
  const port = await freePort();
  const args = argv(SERVER_CMD, { port, examples: EXAMPLES });
  const proc = spawn(args[0], args.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const stderr = [];
  proc.stderr.on("data", (d) => stderr.push(d.toString()));
  await bounded(new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => { out += d; if (out.includes("listening")) resolve(); });
    proc.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}: ${stderr.join("")}`)));
    proc.once("error", reject);
  }), `${args.join(" ")} to listen`, 10000);
  return { port, args, proc, stderr, stop: () => proc.kill("SIGKILL") };
}

// One ws client connection: a queue of received messages and the close.
function open(url, options) {
  const ws = new WS(url, { handshakeTimeout: TIMEOUT, maxPayload: 64 << 20, ...options });
  const inbox = [];
  const waiters = [];
  let closed = null;
  ws.on("message", (data, isBinary) => {
    const m = { data: Buffer.isBuffer(data) ? data : Buffer.concat(data), isBinary };
    const w = waiters.shift();
    if (w) w.resolve(m); else inbox.push(m);
  });
  const closedP = new Promise((resolve) => {
    ws.on("close", (code, reason) => {
      closed = { code, reason: reason.toString() };
      for (const w of waiters.splice(0)) w.reject(new Error(`closed ${code} while waiting`));
      resolve(closed);
    });
  });
  ws.on("error", () => {});  // the close follows; an error before open rejects `opened`
  const opened = bounded(new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_, res) => reject(new Error(`status ${res.statusCode}`)));
  }), "open");
  const next = (what) => bounded(inbox.length ? Promise.resolve(inbox.shift())
    : closed ? Promise.reject(new Error(`closed ${closed.code}`))
      : new Promise((resolve, reject) => waiters.push({ resolve, reject })), what);
  return { ws, opened, next, closed: closedP };
}

async function echoes(server, options) {
  const c = open(`ws://127.0.0.1:${server.port}/echo`, options);
  await c.opened;
  if (EXPECT_DEFLATE && !hasDeflate(c.ws.extensions)) {
    throw new Error(`extensions is "${c.ws.extensions}", not permessage-deflate`);
  }
  for (const n of SIZES) {
    const s = text(n, n);
    if (Buffer.byteLength(s) !== n) throw new Error(`test bug: text of ${Buffer.byteLength(s)} B`);
    c.ws.send(s);
    const t = await c.next(`text echo of ${n} B`);
    if (t.isBinary) throw new Error(`text of ${n} B came back binary`);
    if (!t.data.equals(Buffer.from(s))) throw new Error(`text of ${n} B differs (${t.data.length} B back)`);
    const b = bytes(n, n + 1);
    c.ws.send(b);
    const r = await c.next(`binary echo of ${n} B`);
    if (!r.isBinary) throw new Error(`binary of ${n} B came back as text`);
    if (!r.data.equals(b)) throw new Error(`binary of ${n} B differs (${r.data.length} B back)`);
  }
  c.ws.close(1000, "done");
  const e = await bounded(c.closed, "close");
  if (e.code !== 1000) throw new Error(`close code ${e.code}, not 1000`);
  return `extensions="${c.ws.extensions}"`;
}

// From a raw socket: an offer, then an uncompressed text frame; the echo must come back as one
// compressed frame (RSV1 set) that inflates to what was sent.
async function echoIsCompressedOnTheWire(server) {
  const sock = net.connect(server.port, "127.0.0.1");
  sock.on("error", () => {});
  let data = Buffer.alloc(0);
  const more = (pred, what) => bounded(new Promise((resolve, reject) => {
    const check = () => { if (pred()) { sock.off("data", onData); resolve(); } };
    const onData = (d) => { data = Buffer.concat([data, d]); check(); };
    sock.on("data", onData);
    sock.once("close", () => reject(new Error(`closed before ${what}: ${JSON.stringify(data.toString("latin1").slice(0, 200))}`)));
    check();
  }), what);
  try {
    await bounded(new Promise((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); }), "connect");
    sock.write("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
    await more(() => data.includes("\r\n\r\n"), "the response head");
    const end = data.indexOf("\r\n\r\n");
    const head = data.slice(0, end).toString("latin1");
    data = data.slice(end + 4);
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`answer ${JSON.stringify(head)}`);
    const ext = (head.match(/^sec-websocket-extensions:\s*(.*)$/im) || [])[1] || "";
    if (EXPECT_DEFLATE && !hasDeflate(ext)) throw new Error(`Sec-WebSocket-Extensions "${ext}"`);
    const payload = Buffer.from("compress me ".repeat(10));  // 120 B: a 7-bit length
    sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
    await more(() => data.length >= 2 && data.length >= 2 + (data[1] & 0x7f), "the echo");
    const len = data[1] & 0x7f;
    if (len > 125) throw new Error(`echo length byte ${len}`);
    const body = data.slice(2, 2 + len);
    sock.end();
    if (!EXPECT_DEFLATE) return `first byte 0x${data[0].toString(16)}`;
    if (data[0] !== 0xc1) throw new Error(`echo frame starts 0x${data[0].toString(16)}, not 0xc1 (FIN, RSV1, text)`);
    const zlib = require("zlib");
    // A message ends on a sync flush (its last 4 bytes, 00 00 ff ff, are not sent): no final block.
    const plain = zlib.inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]),
      { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    if (!plain.equals(payload)) throw new Error(`inflates to ${JSON.stringify(plain.toString().slice(0, 60))}`);
    return `"${ext}", ${payload.length} B echoed in ${len} B`;
  } finally {
    sock.destroy();
  }
}

function clientWithDefaults(server) {
  return echoes(server, { perMessageDeflate: true });
}

function clientCompressingEverything(server) {
  // threshold 0: ws compresses even the 1-byte messages (its default leaves those under 1 KiB).
  return echoes(server, { perMessageDeflate: { threshold: 0 } });
}

// A ws server on a free port that echoes each message as it came (text or binary).
async function startWsServer(perMessageDeflate) {
  const port = await freePort();
  const wss = new WS.Server({ host: "127.0.0.1", port, perMessageDeflate, maxPayload: 64 << 20 });
  await bounded(new Promise((resolve, reject) => { wss.once("listening", resolve); wss.once("error", reject); }), "ws server");
  const seen = [];
  wss.on("connection", (ws, req) => {
    const record = { extensions: ws.extensions, offered: req.headers["sec-websocket-extensions"], close: null,
      firstByte: null };
    seen.push(record);
    // The first byte of the client's first frame, beside ws's own reader (the client sends no
    // frame before our 101, and this listener is on before the 101 can arrive).
    req.socket.once("data", (d) => { record.firstByte = d[0]; });
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on("close", (code) => { record.close = code; });
    ws.on("error", () => {});
  });
  return { port, wss, seen, stop: () => new Promise((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()); }) };
}

// examples/client: each line written, its echo read back before the next (a close sent right
// after the last line would overtake echoes still on their way), then the end of stdin.
async function clientAgainst(perMessageDeflate) {
  const server = await startWsServer(perMessageDeflate);
  try {
    const url = `ws://127.0.0.1:${server.port}/chat`;
    const args = argv(CLIENT_CMD, { url, examples: EXAMPLES });
    const proc = spawn(args[0], args.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "", err = "";
    const lineWaiters = [];
    const check = () => {
      while (lineWaiters.length && out.includes("\n")) {
        const i = out.indexOf("\n");
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        lineWaiters.shift()(line);
      }
    };
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (d) => { out += d; check(); });
    proc.stderr.on("data", (d) => { err += d; });
    proc.stdin.on("error", () => {});  // EPIPE from a client that exited: its exit tells why
    // "close", not "exit": it comes after stdout and stderr have ended, so err is complete.
    const exited = new Promise((resolve) => proc.once("close", (code, signal) => resolve({ code, signal })));
    const timer = setTimeout(() => proc.kill("SIGKILL"), TIMEOUT * 2);
    try {
      const lines = ["hello", "", "\u00e9t\u00e9 \u2713 \u{1D11E}", "x".repeat(125), "y".repeat(126),
        "z".repeat(65536), text(1 << 20, 7).replace(/\n/g, " "), "last line"];
      for (const line of lines) {
        proc.stdin.write(line + "\n");
        const back = await bounded(Promise.race([
          new Promise((resolve) => { lineWaiters.push(resolve); check(); }),
          exited.then((e) => { throw new Error(`client exited ${e.code} early: ${err.trim()}`); })]),
        `echo of a ${line.length}-character line`);
        if (back !== line) throw new Error(`echo differs: ${JSON.stringify(back.slice(0, 60))} (${back.length} characters, sent ${line.length})`);
      }
      proc.stdin.end();
      const e = await bounded(exited, "client exit");
      if (e.code !== 0) throw new Error(`client exit ${e.code} ${e.signal || ""}: ${err.trim()}`);
      if (out !== "") throw new Error(`more output: ${JSON.stringify(out.slice(0, 100))}`);
    } finally {
      clearTimeout(timer);
      proc.kill("SIGKILL");
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const s = server.seen;
    if (s.length !== 1) throw new Error(`${s.length} connections`);
    if (s[0].close !== 1000) throw new Error(`the server saw close ${s[0].close}, not 1000`);
    if (EXPECT_DEFLATE && !hasDeflate(s[0].extensions)) {
      throw new Error(`negotiated "${s[0].extensions}" (offered "${s[0].offered || ""}"), not permessage-deflate`);
    }
    if (EXPECT_DEFLATE && s[0].firstByte !== 0xc1) {
      throw new Error(`the first line's frame starts 0x${(s[0].firstByte ?? 0).toString(16)}, not 0xc1 (FIN, RSV1, text)`);
    }
    return `offered="${s[0].offered || ""}" negotiated="${s[0].extensions}" first frame 0x${(s[0].firstByte ?? 0).toString(16)}`;
  } finally {
    await server.stop();
  }
}

function clientVsWsServer() {
  return clientAgainst(true);
}

function clientVsWsServerCompressingEverything() {
  return clientAgainst({ threshold: 0 });
}

async function run(title, checks, arg) {
  let failed = 0;
  const start = Date.now();
  for (const check of checks) {
    const t0 = Date.now();
    try {
      const note = await check(arg);
      console.log(`ok   ${check.name} (${((Date.now() - t0) / 1000).toFixed(2)} s) ${note || ""}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${check.name}: ${e && e.message ? e.message : e}`);
    }
  }
  const off = EXPECT_DEFLATE ? "" : " (extension check OFF: development only)";
  console.log(`${title}: ${checks.length - failed} passed, ${failed} failed${off} in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return failed === 0;
}

async function main() {
  console.log(`node ${process.version}, ws ${require(path.join(path.dirname(require.resolve(process.env.WS_MODULE || path.join(ROOT, "target", "interop-node", "node_modules", "ws"))), "package.json")).version}`);
  const results = [];
  let server = null;
  try {
    server = await startServer();
  } catch (e) {
    console.log(`FAIL ${e.message.trim()}`);
    console.log(`ws client vs ${SERVER_CMD}: FAIL (the server did not start)`);
    results.push(false);
  }
  if (server) {
    try {
      const shown = server.args.slice(1).join(" ").replace(String(server.port), "PORT");
      results.push(await run(`ws client vs echo_server ${shown}`, [clientWithDefaults, clientCompressingEverything, echoIsCompressedOnTheWire], server));
    } finally {
      server.stop();
      if (server.stderr.length) console.log("server stderr:\n  " + server.stderr.join("").trim().split("\n").slice(-10).join("\n  "));
    }
  }
  const shownClient = argv(CLIENT_CMD, { url: "URL", examples: "" }).slice(1).join(" ");
  results.push(await run(`client ${shownClient} vs ws server`, [clientVsWsServer, clientVsWsServerCompressingEverything]));
  process.exit(results.every(Boolean) ? 0 : 1);
}

main().catch((e) => { console.log(`FAIL ${e && e.stack ? e.stack : e}`); process.exit(1); });
