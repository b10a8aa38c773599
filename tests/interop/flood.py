"""Floods examples/echo_server and prints what it costs: a message flood and a ping flood,
each with --rate-msgs and without limits. For each: the server's RSS (VmRSS of
/proc/PID/status) before, at its peak and after; the round-trip time of another client's
echo during the flood (it must keep being served); what the flooder saw (echoes, pongs, the
close code). Bounded: each flood runs FLOOD_S seconds or FLOOD_MAX frames, whichever ends
first. Fails (exit 1) when the probe is not served, the server's RSS grows by more than
RSS_LIMIT, a flood over --rate-msgs does not end with 1008, or a ping flood gets more pongs
than pings."""
import socket
import statistics
import sys
import threading
import time

from websockets.sync.client import connect

from common import Server

FLOOD_S = 2.0
FLOOD_MAX = 2_000_000
RATE = 100
RSS_LIMIT = 16 << 20
TIMEOUT = 10

REQUEST = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
# Masked with the key 0 0 0 0, so the payload is as written.
MESSAGE = b"\x81\x85\x00\x00\x00\x00hello"
PING = b"\x89\x84\x00\x00\x00\x00ping"
BATCH = 1000


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Flooder:
    """A raw client that sends `frame` as fast as it can and counts what comes back."""

    def __init__(self, port, frame):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.sendall(REQUEST)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "no handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        self.frame = frame
        self.sent = 0
        self.echoes = 0
        self.pongs = 0
        self.close_code = None
        self.stop = False
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        buf = self.buf
        while True:
            while len(buf) >= 2:
                n = buf[1] & 0x7F
                start = 2
                if n == 126:
                    if len(buf) < 4:
                        break
                    n, start = int.from_bytes(buf[2:4], "big"), 4
                elif n == 127:
                    if len(buf) < 10:
                        break
                    n, start = int.from_bytes(buf[2:10], "big"), 10
                if len(buf) < start + n:
                    break
                op, payload = buf[0] & 0x0F, buf[start:start + n]
                buf = buf[start + n:]
                if op == 1:
                    self.echoes += 1
                elif op == 0xA:
                    self.pongs += 1
                elif op == 8:
                    self.close_code = int.from_bytes(payload[:2], "big") if payload else 1005
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk

    def flood(self):
        batch = self.frame * BATCH
        end = time.monotonic() + FLOOD_S
        while time.monotonic() < end and self.sent < FLOOD_MAX and self.close_code is None:
            try:
                self.sock.sendall(batch)
            except OSError:
                break
            self.sent += BATCH

    def finish(self):
        try:
            self.sock.sendall(b"\x88\x82\x00\x00\x00\x00\x03\xe8")
        except OSError:
            pass
        self.reader.join(TIMEOUT)
        self.sock.close()


def scenario(name, flags, frame):
    with Server("echo_server", flags) as server:
        pid = server.proc.pid
        with connect(server.url, open_timeout=TIMEOUT, proxy=None) as probe:
            probe.send("warm")
            probe.recv(timeout=TIMEOUT)
            before = rss(pid)
            flooder = Flooder(server.port, frame)
            flood = threading.Thread(target=flooder.flood, daemon=True)
            start = time.monotonic()
            flood.start()
            rtts, peak = [], before
            # The probe runs for the whole flood time, also after a flooder was closed.
            while time.monotonic() - start < FLOOD_S:
                t0 = time.monotonic()
                probe.send("probe")
                assert probe.recv(timeout=TIMEOUT) == "probe"
                rtts.append((time.monotonic() - t0) * 1000)
                peak = max(peak, rss(pid))
                time.sleep(0.02)
            flood.join(TIMEOUT)
            flooder.finish()
            time.sleep(0.3)
            after = rss(pid)
            probe.send("after")
            assert probe.recv(timeout=TIMEOUT) == "after"
    print(f"{name}: server {' '.join(flags) or '(no limits)'}")
    print(f"  flooder sent {flooder.sent} frames; "
          f"got {flooder.echoes} echoes, {flooder.pongs} pongs, close {flooder.close_code}")
    print(f"  server VmRSS before {before} B, peak {peak} B, after {after} B "
          f"(+{peak - before} B at the peak)")
    print(f"  probe echo RTT during the flood: {len(rtts)} samples, median "
          f"{statistics.median(rtts):.2f} ms, max {max(rtts):.2f} ms", flush=True)
    return flooder, before, peak, rtts


def main():
    signal_ok = True
    results = {}
    for name, flags, frame in [
        ("message flood", ["--rate-msgs", str(RATE)], MESSAGE),
        ("message flood", [], MESSAGE),
        ("ping flood", ["--rate-msgs", str(RATE)], PING),
        ("ping flood", [], PING),
    ]:
        flooder, before, peak, rtts = scenario(name, flags, frame)
        results[(name, bool(flags))] = flooder
        if peak - before > RSS_LIMIT:
            print(f"FAIL {name}: RSS grew by {peak - before} B", flush=True)
            signal_ok = False
        if not rtts:
            print(f"FAIL {name}: the probe was not served", flush=True)
            signal_ok = False
        if frame == PING and flooder.pongs > flooder.sent:
            print(f"FAIL {name}: more pongs than pings", flush=True)
            signal_ok = False
    limited = results[("message flood", True)]
    if limited.close_code != 1008:
        print(f"FAIL message flood over --rate-msgs: close {limited.close_code}", flush=True)
        signal_ok = False
    print("flood: ok" if signal_ok else "flood: FAILED", flush=True)
    return signal_ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
