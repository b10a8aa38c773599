#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ from RFC 6455 §5.7 and the unit tests.

Run from anywhere: `python3 fuzz/seeds/make_seeds.py`. The files are committed; CI copies them
into a scratch corpus before fuzzing.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def mask(payload, key=KEY):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload=b"", fin=True, masked=False, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n <= 0xFFFF:
        head = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if masked:
        return head + KEY + mask(payload)
    return head + payload


def rfc_examples(masked):
    f = lambda *a, **k: frame(*a, masked=masked, **k)
    return {
        "hello": f(1, b"Hello"),
        "fragmented": f(1, b"Hel", fin=False) + f(0, b"lo"),
        "ping_pong": f(9, b"Hello") + f(10, b"Hello"),
        "binary_256": f(2, bytes(range(256))),
        # A 64 KiB frame, cut short: the stream ends mid-payload.
        "binary_64k": f(2, bytes(65536))[:300],
        "close": f(8, b"\x03\xe8bye"),
        "close_empty": f(8),
        "ping_between_fragments": f(1, b"Hel", fin=False) + f(9, b"x") + f(0, b"lo"),
        "utf8_split": f(1, b"\xce\xba\xe1", fin=False) + f(0, b"\xbd\xb9\xcf\x83"),
        "bad_utf8": f(1, b"\xce\xba\xed\xa0\x80"),
        "bad_close_code": f(8, b"\x03\xed"),
        "reserved_opcode": f(3, b""),
        "rsv1": f(1, b"x", rsv=4),
        "data_after_close": f(8, b"\x03\xe8") + f(1, b"late"),
        "continuation_first": f(0, b"x"),
    }


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(data)


def main():
    for name, data in rfc_examples(False).items():
        write("frame_header", name, data[:14])
    write("frame_header", "len64", bytes([0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 5]))
    write("frame_header", "masked", frame(1, b"Hello", masked=True)[:6])
    # Connection targets: a flags byte and a seed byte, then the stream.
    for flags, seed in [(0x00, 1), (0xC0, 7), (0x4C, 3), (0x96, 2), (0xE9, 5)]:
        for name, data in rfc_examples(True).items():
            write("connection_server", f"{name}_{flags:02x}", bytes([flags, seed]) + data)
        for name, data in rfc_examples(False).items():
            write("connection_client", f"{name}_{flags:02x}", bytes([flags, seed]) + data)
    utf8 = {
        "hello": b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
        "kosme": b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
        "max": b"\xf4\x8f\xbf\xbf",
        "above_max": b"\xf4\x90\x80\x80",
        "overlong": b"\xc0\xaf\xe0\x80\xaf",
        "surrogate": b"\xed\xa0\x80",
        "truncated": b"\xce\xba\xe1\xbd",
    }
    for name, data in utf8.items():
        for seed in (0, 5, 0x42, 0xFF):
            write("utf8", f"{name}_{seed:02x}", bytes([seed]) + data)
    # Handshakes: RFC 6455 §1.2 / §4.1 examples. Server: flags byte, then the request (flag 1
    # prepends a valid request start). Client: flags, three nonce bytes, then the response.
    request = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
    write("handshake_server", "rfc_request", b"\x00" + request)
    write("handshake_server", "rfc_request_frames", b"\x00" + request + b"\x81\x85\x37\xfa")
    write("handshake_server", "rfc_request_allowlist", b"\x08" + request)
    write("handshake_server", "prefixed", b"\x01Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    write("handshake_server", "h2_connect", b"\x00:method: CONNECT\n:protocol: websocket\n"
          b":scheme: https\n:authority: example.com\n:path: /chat\n"
          b"sec-websocket-version: 13\nsec-websocket-protocol: chat\n")
    write("handshake_server", "http10", b"\x00GET / HTTP/1.0\r\n\r\n")
    write("handshake_client", "rfc_response", b"\x00\x00\x00\x00HTTP/1.1 101 Switching Protocols\r\n"
          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
          b"Sec-WebSocket-Protocol: chat\r\n\r\n")
    write("handshake_client", "prefixed_ext", b"\x03\x00\x00\x00"
          b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n")
    write("handshake_client", "prefixed_proto", b"\x03\x01\x02\x03Sec-WebSocket-Protocol: superchat\r\n\r\n")
    write("handshake_client", "redirect", b"\x00\x00\x00\x00HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n")
    write("handshake_client", "h2_response", b"\x00\x00\x00\x00:status: 200\n"
          b"sec-websocket-protocol: chat\nsec-websocket-extensions: x-test\n")
    # driver_server: flags, seed, then an upgrade request and masked frames (stream.rs).
    upgrade = (b"GET /chat?a=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
    m = lambda op, p=b"", fin=True: frame(op, p, fin=fin, masked=True)
    write("driver_server", "echo_text", b"\x10\x03" + upgrade + m(0x1, b"hello") + m(0x8, b"\x03\xe8"))
    write("driver_server", "ping_close", b"\x00\x07" + upgrade + m(0x9, b"p") + m(0x8))
    write("driver_server", "fragments", b"\x50\x01" + upgrade + m(0x1, b"he", fin=False) + m(0x9)
          + m(0x0, b"llo"))
    write("driver_server", "refused", b"\x01\x05" + upgrade)
    write("driver_server", "rejected", b"\x02\x09" + upgrade)
    write("driver_server", "keepalive", b"\x20\x02" + upgrade)
    write("driver_server", "unmasked", b"\x10\x04" + upgrade + b"\x81\x05hello")
    # roundtrip: raw bytes for `arbitrary`; any bytes decode to some input.
    write("roundtrip", "empty", b"")
    write("roundtrip", "text", b"\x01\x07\x03\x00\x05Hello\x01")
    write("roundtrip", "mixed", bytes(range(64)))


if __name__ == "__main__":
    main()
