"""examples/client against a `websockets` server (and a few raw misbehaving servers): stdin
lines go out, echoes come back on stdout, exit 0; a refused handshake, a protocol violation or
a silent server is exit 1 with a message on stderr, never a hang."""
import base64
import hashlib
import socket
import subprocess
import sys
import threading
import time

from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import serve

from common import example, free_port, run

TIMEOUT = 20
CLIENT = example("client")


class WsServer:
    """A websockets server on a free port, running `handler` per connection, in a thread."""

    def __init__(self, handler, **kwargs):
        self.port = free_port()
        self.closes = []
        self.server = serve(handler, "127.0.0.1", self.port, compression=None,
                            open_timeout=TIMEOUT, close_timeout=TIMEOUT, **kwargs)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/"):
        return f"ws://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(TIMEOUT)


def client(url, stdin_text):
    return subprocess.run([CLIENT, url], input=stdin_text, capture_output=True, text=True,
                          timeout=TIMEOUT)


def echo_lines():
    closes = []

    def handler(ws):
        for message in ws:
            ws.send(message)
        closes.append(ws.close_code)

    lines = ["hello", "", "été ✓ 𝄞", "x" * 100_000, "last line"]
    with WsServer(handler) as server:
        proc = subprocess.Popen([CLIENT, server.url("/chat?room=1")], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # One line at a time, each echo read back before the next: a close sent right
            # after the last line would overtake echoes still on their way.
            for line in lines:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                echoed = proc.stdout.readline()
                assert echoed == line + "\n", echoed[:100]
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == "", out
    time.sleep(0.2)
    assert closes == [1000], closes


def answers_pings_while_waiting_on_stdin():
    result = {}

    def handler(ws):
        ws.send("first")
        result["pong"] = ws.ping(b"are you there").wait(5)
        ws.send("second")
        for message in ws:
            ws.send(message)

    with WsServer(handler) as server:
        proc = subprocess.Popen([CLIENT, server.url()], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # stdin stays open: the client must read the socket meanwhile.
            assert proc.stdout.readline() == "first\n"
            assert proc.stdout.readline() == "second\n"
            proc.stdin.write("bye\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == "bye\n"
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
    assert result.get("pong") is True, result
    assert out == "", (out, err)
    assert proc.returncode == 0, err


def server_closes_first():
    def handler(ws):
        ws.send("hello from the server")
        ws.close(1000, "done")

    with WsServer(handler) as server:
        proc = subprocess.Popen([CLIENT, server.url()], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # stdin stays open (communicate() would close it): the server's close alone
            # ends the client.
            proc.wait(timeout=TIMEOUT)
            out, err = proc.stdout.read(), proc.stderr.read()
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == "hello from the server\n", out


def server_closes_with_an_error():
    def handler(ws):
        ws.close(1011, "oops")

    with WsServer(handler) as server:
        proc = subprocess.Popen([CLIENT, server.url()], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # stdin stays open, so the client does not close first.
            proc.wait(timeout=TIMEOUT)
            err = proc.stderr.read()
        finally:
            proc.kill()
    assert proc.returncode == 1, (proc.returncode, err)
    assert "1011" in err, err


def refused_handshake():
    def refuse(connection, request):
        return connection.respond(403, "go away\n")

    with WsServer(lambda ws: None, process_request=refuse) as server:
        done = client(server.url(), "hello\n")
    assert done.returncode == 1, done
    assert "403" in done.stderr, done.stderr


def raw_server(reply):
    """A TCP server for one connection: reads the request head, then calls `reply(sock, key)`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve_one():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(TIMEOUT)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            reply(conn, key)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    return listener, thread


def accept_head(key):
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                              .digest())
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")


def protocol_violation():
    def reply(conn, key):
        # A masked frame from a server (RFC 6455 §5.1), then wait for the client's close.
        conn.sendall(accept_head(key) + b"\x81\x82\x00\x00\x00\x00hi")
        try:
            conn.recv(1024)
        except OSError:
            pass

    listener, thread = raw_server(reply)
    with listener:
        done = client(f"ws://127.0.0.1:{listener.getsockname()[1]}/", "hello\n")
        thread.join(TIMEOUT)
    assert done.returncode == 1, done
    assert "masked" in done.stderr, done.stderr


def wrong_accept():
    def reply(conn, key):
        conn.sendall(accept_head(b"not the key"))

    listener, thread = raw_server(reply)
    with listener:
        done = client(f"ws://127.0.0.1:{listener.getsockname()[1]}/", "hello\n")
        thread.join(TIMEOUT)
    assert done.returncode == 1, done
    assert "Accept" in done.stderr, done.stderr


def silent_server():
    def reply(conn, key):
        time.sleep(8)  # never answers; the client gives up first

    listener, thread = raw_server(reply)
    with listener:
        start = time.monotonic()
        done = client(f"ws://127.0.0.1:{listener.getsockname()[1]}/", "hello\n")
        elapsed = time.monotonic() - start
    assert done.returncode == 1, done
    assert elapsed < 7.5, elapsed


if __name__ == "__main__":
    ok = run("client example vs websockets server", [
        echo_lines, answers_pings_while_waiting_on_stdin, server_closes_first,
        server_closes_with_an_error, refused_handshake, protocol_violation, wrong_accept,
        silent_server,
    ])
    sys.exit(0 if ok else 1)
