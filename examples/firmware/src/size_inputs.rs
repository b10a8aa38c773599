//! The inputs of the footprint firmwares (RFC 6455 §1.3's handshake, §5.7's frames). Every one
//! of them carries all of these bytes, whether it reads them or not, so the inputs cancel out
//! of the comparison with the baseline and only code remains.

// Each firmware reads only its own side's fields.
#![allow(dead_code)]

/// What the client and server footprint firmwares feed the crate.
pub struct Inputs {
    /// RFC 6455 §1.3's nonce, "dGhlIHNhbXBsZSBub25jZQ==" in base64.
    pub nonce: [u8; 16],
    /// The host the client asks for.
    pub host: &'static str,
    /// The path the client asks for.
    pub path: &'static str,
    /// The text message the client sends.
    pub client_text: &'static str,
    /// The text message the server sends.
    pub server_text: &'static str,
    /// The server's 101 for that nonce, then a text frame "hi" and the reply to the client's
    /// close.
    pub response: &'static [u8],
    /// RFC 6455 §1.3's request, then the masked "Hello" of §5.7 and a masked close 1000.
    pub request: &'static [u8],
    /// The subprotocol the deflate client offers.
    pub subprotocol: &'static str,
    /// The server's 101 for the nonce, choosing that subprotocol and permessage-deflate with a
    /// 512-byte window, then RFC 7692 §7.2.3.1's compressed "Hello" and the reply to the
    /// client's close.
    pub deflate_response: &'static [u8],
}

static INPUTS: Inputs = Inputs {
    nonce: *b"the sample nonce",
    host: "example.com",
    path: "/ws",
    client_text: "hello",
    server_text: "hi",
    response: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\
\x81\x02hi\x88\x02\x03\xe8",
    request: b"GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n\
\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58\
\x88\x82\x37\xfa\x21\x3d\x34\x12",
    subprotocol: "chat",
    deflate_response: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9\r\n\r\n\
\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00\x88\x02\x03\xe8",
};

/// The inputs, behind `black_box`: nothing is computed from them at compile time, and all of
/// them stay in every firmware.
pub fn inputs() -> &'static Inputs {
    core::hint::black_box(&INPUTS)
}
