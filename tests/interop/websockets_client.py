"""The `websockets` client against examples/echo_server and examples/tokio_echo: text, binary,
1 MiB, fragmented, ping, subprotocol, close codes, invalid UTF-8, and a server that keeps
serving after a bad client; then the policy flags: a token (401 with WWW-Authenticate, the
token in the header or the query), an origin list (403), --max-message (1009), --rate-msgs
(1008) and --max-connections (503 with Retry-After, seen as InvalidStatus); a slowloris gets
408 while others are served; keepalive drops a silent peer in time and keeps one that answers;
with --deflate, permessage-deflate is negotiated and every message comes back intact."""
import os
import socket
import sys
import time

from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.sync.client import connect

from common import Server, run

TIMEOUT = 10


def ws(server, **kwargs):
    return connect(server.url + "/echo", open_timeout=TIMEOUT, close_timeout=TIMEOUT,
                   proxy=None, max_size=None, **kwargs)


def text_and_binary():
    with ws(SERVER) as c:
        for message in ["hello", "", "été ✓ 𝄞", "x" * 125, "y" * 126, "z" * 65536]:
            c.send(message)
            assert c.recv(timeout=TIMEOUT) == message
        for message in [b"\x00\xff\x80", b"", bytes(range(256)) * 300]:
            c.send(message)
            assert c.recv(timeout=TIMEOUT) == message


def one_mebibyte():
    data = os.urandom(1 << 20)
    text = "ab\u00e9\u20ac" * (1 << 18)  # 1.75 MiB of UTF-8, multibyte characters throughout
    with ws(SERVER) as c:
        c.send(data)
        assert c.recv(timeout=TIMEOUT) == data
        c.send(text)
        assert c.recv(timeout=TIMEOUT) == text


def fragmented():
    with ws(SERVER) as c:
        # An iterable is sent as one message in fragments; "é" is split across two of them.
        c.send(["frag", "ment", "ed é"])
        assert c.recv(timeout=TIMEOUT) == "fragmented é"
        c.send([b"\x01", b"", b"\x02\x03"])
        assert c.recv(timeout=TIMEOUT) == b"\x01\x02\x03"


def ping():
    with ws(SERVER) as c:
        for payload in [b"", b"are you there", b"p" * 125]:
            pong = c.ping(payload)
            assert pong.wait(TIMEOUT), "no pong"
        c.send("after pings")
        assert c.recv(timeout=TIMEOUT) == "after pings"


def subprotocol():
    with ws(SERVER, subprotocols=["chat", "echo"]) as c:
        assert c.subprotocol == "echo"
    with ws(SERVER, subprotocols=["chat"]) as c:
        assert c.subprotocol is None


def no_compression():
    # websockets offers permessage-deflate by default; the server does not accept it.
    with ws(SERVER) as c:
        assert c.response.headers.get("Sec-WebSocket-Extensions") is None
        c.send("plain")
        assert c.recv(timeout=TIMEOUT) == "plain"


def close_codes():
    for code, reason in [(1000, ""), (1001, "going away"), (3000, "app"), (4999, "é" * 30)]:
        with ws(SERVER) as c:
            c.send("before close")
            assert c.recv(timeout=TIMEOUT) == "before close"
            c.close(code, reason)
            # The server echoes the code of our close (its reason is empty).
            assert c.close_code == code, (code, c.close_code)


def bad_client_then_good():
    # A client that sends an unmasked frame gets a 1002 close; the server serves on.
    with socket.create_connection(("127.0.0.1", SERVER.port), timeout=TIMEOUT) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1024)
        assert head.startswith(b"HTTP/1.1 101"), head
        s.sendall(b"\x81\x02hi")
        rest = head.split(b"\r\n\r\n", 1)[1]
        while len(rest) < 4:
            chunk = s.recv(1024)
            if not chunk:
                break
            rest += chunk
        assert rest[:4] == b"\x88\x02\x03\xea", rest
    with ws(SERVER) as c:
        c.send("still here")
        assert c.recv(timeout=TIMEOUT) == "still here"


def invalid_utf8_closes_1007():
    with ws(SERVER) as c:
        # websockets refuses to send invalid text, so write the frame through its protocol.
        with c.send_context():
            c.protocol.send_text(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")
        try:
            c.recv(timeout=TIMEOUT)
            raise AssertionError("expected a close")
        except ConnectionClosedError as e:
            assert e.rcvd is not None and e.rcvd.code == 1007, e


CHECKS = [text_and_binary, one_mebibyte, fragmented, ping, subprotocol, no_compression,
          close_codes, bad_client_then_good, invalid_utf8_closes_1007]


def refused(server, path="/", **kwargs):
    """The InvalidStatus of a refused handshake."""
    try:
        with connect(server.url + path, open_timeout=TIMEOUT, proxy=None, **kwargs):
            pass
    except InvalidStatus as e:
        return e.response
    raise AssertionError("not refused")


TOKEN = "s3cr+t"
POLICY = ["--token", TOKEN, "--origin", "https://good.example", "--max-message", "1000",
          "--rate-msgs", "20"]


def token_missing_or_wrong_is_401_bearer():
    for path, headers in [("/", None), ("/?token=nope", None),
                          ("/", {"Authorization": "Bearer nope"})]:
        response = refused(SERVER, path, additional_headers=headers)
        assert response.status_code == 401, response.status_code
        assert response.headers["WWW-Authenticate"] == "Bearer", response.headers


def token_in_the_header_or_the_query():
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with ws(SERVER, additional_headers=auth) as c:
        c.send("header")
        assert c.recv(timeout=TIMEOUT) == "header"
    with connect(SERVER.url + "/?token=s3cr%2Bt", open_timeout=TIMEOUT, proxy=None) as c:
        c.send("query")
        assert c.recv(timeout=TIMEOUT) == "query"


def origin_off_the_list_is_403():
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = refused(SERVER, additional_headers=auth, origin="https://evil.example")
    assert response.status_code == 403, response.status_code
    with ws(SERVER, additional_headers=auth, origin="https://good.example") as c:
        c.send("good origin")
        assert c.recv(timeout=TIMEOUT) == "good origin"


def too_big_is_1009_and_too_fast_is_1008():
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with ws(SERVER, additional_headers=auth) as c:
        c.send("x" * 1000)
        assert c.recv(timeout=TIMEOUT) == "x" * 1000
        c.send("x" * 1001)
        try:
            c.recv(timeout=TIMEOUT)
            raise AssertionError("expected 1009")
        except ConnectionClosedError as e:
            assert e.rcvd is not None and e.rcvd.code == 1009, e
    # The flood from a raw socket: a websockets client that is still sending when the 1008
    # arrives sometimes waits out its close_timeout inside send() (seen with 17.x).
    with socket.create_connection(("127.0.0.1", SERVER.port), timeout=TIMEOUT) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        s.sendall(b"\x81\x85\x00\x00\x00\x00flood" * 200)
        data = read_all(s)
    head, frames = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    echo = b"\x81\x05flood"
    echoed = 0
    while frames.startswith(echo):
        frames = frames[len(echo):]
        echoed += 1
    assert frames == b"\x88\x02\x03\xf0", frames
    assert 20 <= echoed <= 22, echoed


POLICY_CHECKS = [token_missing_or_wrong_is_401_bearer, token_in_the_header_or_the_query,
                 origin_off_the_list_is_403, too_big_is_1009_and_too_fast_is_1008]


def over_the_cap_is_503_with_retry_after():
    with ws(SERVER) as first, ws(SERVER):
        for _ in range(3):
            response = refused(SERVER)
            assert response.status_code == 503, response.status_code
            assert response.headers["Retry-After"] == "1", response.headers
        first.send("served meanwhile")
        assert first.recv(timeout=TIMEOUT) == "served meanwhile"


TIMERS = ["--handshake-timeout-ms", "500", "--ping-interval-ms", "300", "--pong-timeout-ms", "300"]


def raw_upgrade(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    return s


def read_all(s):
    data = b""
    while True:
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            raise AssertionError(f"reset after {data!r}")
        if not chunk:
            return data
        data += chunk


def slowloris_gets_408_while_others_are_served():
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", SERVER.port), timeout=TIMEOUT) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        with ws(SERVER) as c:
            c.send("served meanwhile")
            assert c.recv(timeout=TIMEOUT) == "served meanwhile"
        answer = read_all(slow)
    elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert 0.45 <= elapsed < 1.5, elapsed


def a_silent_peer_is_dropped_and_one_that_answers_stays():
    start = time.monotonic()
    with raw_upgrade(SERVER) as s:
        data = read_all(s)
    elapsed = time.monotonic() - start
    head, frames = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    # A ping (empty payload), then the close with 1001, then the end of the stream.
    assert frames[:1] == b"\x89", frames
    assert b"\x88\x02\x03\xe9" in frames, frames
    assert 0.6 <= elapsed < 0.6 + 0.4, elapsed
    # websockets answers pings: open after five intervals.
    with ws(SERVER) as c:
        time.sleep(1.5)
        c.send("alive")
        assert c.recv(timeout=TIMEOUT) == "alive"


def compression_negotiated_and_echoed():
    # websockets offers permessage-deflate by default; with --deflate the server accepts it
    # and echoes compressed: every kind and size must come back intact.
    with ws(SERVER) as c:
        answer = c.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert answer.startswith("permessage-deflate"), answer
        for message in ["hello", "", "été ✓ 𝄞" * 1000, b"\x00" * 70000, os.urandom(1 << 20)]:
            c.send(message)
            assert c.recv(timeout=TIMEOUT) == message


DEFLATE_CHECKS = [compression_negotiated_and_echoed, text_and_binary, one_mebibyte, fragmented,
                  ping, close_codes, invalid_utf8_closes_1007]


TIMER_CHECKS = [slowloris_gets_408_while_others_are_served,
                a_silent_peer_is_dropped_and_one_that_answers_stays]


if __name__ == "__main__":
    results = []
    for name in ["echo_server", "tokio_echo"]:
        with Server(name) as SERVER:
            results.append(run(f"websockets client vs {name}", CHECKS))
        with Server(name, POLICY) as SERVER:
            results.append(run(f"websockets client vs {name} {' '.join(POLICY)}", POLICY_CHECKS))
        with Server(name, ["--max-connections", "2"]) as SERVER:
            results.append(run(f"websockets client vs {name} --max-connections 2",
                               [over_the_cap_is_503_with_retry_after]))
        with Server(name, TIMERS) as SERVER:
            results.append(run(f"websockets client vs {name} {' '.join(TIMERS)}", TIMER_CHECKS))
        with Server(name, ["--deflate"]) as SERVER:
            results.append(run(f"websockets client vs {name} --deflate", DEFLATE_CHECKS))
    sys.exit(0 if all(results) else 1)
