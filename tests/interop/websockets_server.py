"""examples/client against a `websockets` server (and a few raw misbehaving servers): stdin
lines go out, echoes come back on stdout, exit 0; a refused handshake, a protocol violation or
a silent server is exit 1 with a message on stderr, never a hang. A 401 with WWW-Authenticate
is reported with its status and challenge; --header is sent (and refused before connecting
when it holds CR or LF); --reconnect retries a 503 with Retry-After and prints each attempt."""
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
        kwargs.setdefault("compression", None)
        self.server = serve(handler, "127.0.0.1", self.port,
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


def client(url, stdin_text, *args):
    return subprocess.run([CLIENT, url, *args], input=stdin_text, capture_output=True, text=True,
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


def echo(ws):
    for message in ws:
        ws.send(message)


def refused_401_with_its_challenge():
    def refuse(connection, request):
        if request.headers.get("Authorization") == "Bearer t0k":
            return None
        response = connection.respond(401, "token required\n")
        response.headers["WWW-Authenticate"] = 'Bearer realm="interop"'
        return response

    with WsServer(echo, process_request=refuse) as server:
        done = client(server.url(), "hello\n")
        assert done.returncode == 1, done
        assert "401" in done.stderr, done.stderr
        assert 'WWW-Authenticate: Bearer realm="interop"' in done.stderr, done.stderr
        assert "token required" in done.stderr, done.stderr
        # With the header it is let in.
        code, line, err = converse([server.url(), "--header", "Authorization: Bearer t0k"])
        assert code == 0, (code, err)
        assert line == "hello\n", (line, err)


def header_with_crlf_is_refused_before_connecting():
    seen = []

    def count(connection, request):
        seen.append(request.path)

    with WsServer(echo, process_request=count) as server:
        done = client(server.url(), "hello\n", "--header", "X-A: b\r\nSet-Cookie: c=d")
        assert done.returncode == 2, done
        assert "control byte" in done.stderr, done.stderr
        time.sleep(0.2)
    assert seen == [], seen


def converse(args, wait_before=0.0):
    """Runs the client with `args`; after `wait_before` seconds sends one line, waits for its
    echo on stdout, then ends stdin. Returns (returncode, stdout line, stderr)."""
    proc = subprocess.Popen([CLIENT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(wait_before)
        proc.stdin.write("hello\n")
        proc.stdin.flush()
        line = [None]
        reader = threading.Thread(target=lambda: line.__setitem__(0, proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(TIMEOUT)
        proc.stdin.close()
        proc.wait(timeout=TIMEOUT)
        return proc.returncode, line[0], proc.stderr.read()
    finally:
        proc.kill()


def reconnect_after_503_with_retry_after():
    refusals = []

    def busy_twice(connection, request):
        if len(refusals) < 2:
            refusals.append(time.monotonic())
            response = connection.respond(503, "busy\n")
            response.headers["Retry-After"] = "1"
            return response
        return None

    with WsServer(echo, process_request=busy_twice) as server:
        start = time.monotonic()
        code, line, err = converse([server.url(), "--reconnect"])
        elapsed = time.monotonic() - start
    assert code == 0, (code, err)
    assert line == "hello\n", (line, err)
    assert err.count("reconnect attempt") == 2, err
    assert "Retry-After: 1" in err, err
    # Retry-After is a floor: at least a second between attempts.
    assert refusals[1] - refusals[0] >= 1.0, refusals
    assert elapsed >= 2.0, elapsed


def keepalive_ping_flags():
    with WsServer(echo) as server:
        # websockets answers the client's pings for a second: it stays.
        code, line, err = converse([server.url(), "--ping-interval-ms", "200",
                                    "--pong-timeout-ms", "500"], wait_before=1.0)
    assert code == 0, (code, err)
    assert line == "hello\n", (line, err)


def silent_server_with_keepalive():
    def reply(conn, key):
        conn.sendall(accept_head(key))
        time.sleep(6)  # answers the handshake, then nothing: no pong

    listener, thread = raw_server(reply)
    with listener:
        start = time.monotonic()
        proc = subprocess.Popen([CLIENT, f"ws://127.0.0.1:{listener.getsockname()[1]}/",
                                 "--ping-interval-ms", "200", "--pong-timeout-ms", "300"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # stdin stays open: only the keepalive can end it.
        try:
            proc.wait(timeout=4)
        finally:
            proc.kill()
            _, err = proc.communicate(timeout=TIMEOUT)
        elapsed = time.monotonic() - start
    assert proc.returncode == 1, (proc.returncode, err)
    assert "did not answer our ping" in err, err
    assert elapsed < 3.0, elapsed


def compressed_echo_with_deflate():
    # A websockets server with compression on; our client offers permessage-deflate.
    answers = []

    def handler(ws):
        answers.append(ws.response.headers.get("Sec-WebSocket-Extensions") or "")
        for message in ws:
            ws.send(message)

    lines = ["hello", "été ✓ 𝄞" * 500, "z" * 200_000, "last line"]
    with WsServer(handler, compression="deflate") as server:
        proc = subprocess.Popen([CLIENT, server.url("/"), "--deflate"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for line in lines:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                echoed = proc.stdout.readline()
                assert echoed == line + "\n", echoed[:100]
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert answers and answers[0].startswith("permessage-deflate"), answers


if __name__ == "__main__":
    ok = run("client example vs websockets server", [
        compressed_echo_with_deflate,
        echo_lines, answers_pings_while_waiting_on_stdin, server_closes_first,
        server_closes_with_an_error, refused_handshake, protocol_violation, wrong_accept,
        silent_server, refused_401_with_its_challenge, header_with_crlf_is_refused_before_connecting,
        reconnect_after_503_with_retry_after, keepalive_ping_flags, silent_server_with_keepalive,
    ])
    sys.exit(0 if ok else 1)
