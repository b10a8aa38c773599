//! Shared fixtures of the handshake scenario tests (`tests/handshake_*.rs`): RFC 6455 §1.3's
//! request and response, and helpers that edit, parse and check them.
#![allow(dead_code)]

use httparse::{Header, EMPTY_HEADER};
use wsmachine::handshake::client::{parse_response, ClientRequest, ResponseError};
use wsmachine::handshake::server::{
    parse_request, write_rejection, Accept, HandshakeError, Request, ServerOptions,
};
use wsmachine::handshake::{Status, WriteError, DEFAULT_MAX_HEAD_LEN};

pub const REQUEST: &[u8] = b"GET /chat?room=1&x=2 HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Protocol: v2.chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; a=\"1\"\r\n\
Cookie: id=42\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

/// A masked text frame "Hello" from RFC 6455 §5.7.
pub const FRAME: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

pub fn opts() -> ServerOptions<'static> {
    ServerOptions::default()
}

pub fn parse<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
) -> Result<Status<(Request<'h, 'b>, usize)>, HandshakeError> {
    parse_request(buf, headers, &opts())
}

/// The fields of a request, owned, to compare two parses.
pub fn summary(r: &Request<'_, '_>) -> String {
    let exts: Vec<String> = r
        .extensions()
        .map(|e| format!("{}{:?}", e.name(), e.params().collect::<Vec<_>>()))
        .collect();
    format!(
        "{} {:?} {} {:?} {:?} {:?} {:?}",
        r.path(),
        r.query(),
        r.host(),
        r.origin(),
        r.subprotocols().collect::<Vec<_>>(),
        exts,
        r.header("cookie"),
    )
}

/// `REQUEST` with the line starting `name:` replaced by `line` (or removed when empty).
pub fn with_line(name: &str, line: &str) -> Vec<u8> {
    let text = std::str::from_utf8(REQUEST).unwrap();
    let mut out = String::new();
    for l in text.split_inclusive("\r\n") {
        if l.to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        {
            if !line.is_empty() {
                out.push_str(line);
                out.push_str("\r\n");
            }
        } else {
            out.push_str(l);
        }
    }
    out.into_bytes()
}

pub fn reject(err: HandshakeError) -> String {
    let mut out = [0u8; 512];
    let n = write_rejection(err, &mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

/// Checks the whole shape of a rejection: status line, Connection: close, a Content-Length that
/// matches the body, and the extra lines.
pub fn assert_rejection(err: HandshakeError, status_line: &str, lines: &[&str]) {
    let text = reject(err);
    assert!(text.starts_with(status_line), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let head_lines: Vec<&str> = head.split("\r\n").collect();
    // A 426 names its Upgrade header as a connection option too (RFC 9110 §7.8).
    let connection = if err.status_code() == 426 {
        "Connection: Upgrade, close"
    } else {
        "Connection: close"
    };
    assert!(head_lines.contains(&connection), "{text}");
    assert!(
        head_lines.contains(&format!("Content-Length: {}", body.len()).as_str()),
        "{text}"
    );
    assert_eq!(body, err.to_string());
    for l in lines {
        assert!(head_lines.contains(l), "{l} missing from {text}");
    }
    if !lines.contains(&"Sec-WebSocket-Version: 13") {
        assert!(!text.contains("Sec-WebSocket-Version"), "{text}");
    }
}

pub trait Replace {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl Replace for [u8] {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let i = self.windows(from.len()).position(|w| w == from).unwrap();
        [&self[..i], to, &self[i + from.len()..]].concat()
    }
}

pub fn accept_with(accept: &Accept<'_>, out: &mut [u8]) -> Result<usize, WriteError> {
    let mut headers = [EMPTY_HEADER; 16];
    let (req, _) = parse(REQUEST, &mut headers).unwrap().complete().unwrap();
    req.accept(accept, out)
}

pub const NONCE: [u8; 16] = *b"the sample nonce";

pub const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
\r\n";

pub fn offer() -> ClientRequest<'static> {
    ClientRequest {
        subprotocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits"),
        ..ClientRequest::new("server.example.com", "/chat")
    }
}

pub fn validate(input: &[u8]) -> Result<Option<String>, ResponseError> {
    let mut out = [0u8; 512];
    let (_, expected) = offer().write(&NONCE, &mut out).unwrap();
    let mut headers = [EMPTY_HEADER; 16];
    match parse_response(input, &mut headers, DEFAULT_MAX_HEAD_LEN)? {
        Status::Partial => Ok(None),
        Status::Complete((resp, n)) => {
            let acc = resp.validate(&expected)?;
            let exts: Vec<String> = acc
                .extensions()
                .map(|e| format!("{}{:?}", e.name(), e.params().collect::<Vec<_>>()))
                .collect();
            Ok(Some(format!("{n} {:?} {exts:?}", acc.subprotocol())))
        }
    }
}

pub fn response_with_line(name: &str, line: &str) -> Vec<u8> {
    let text = std::str::from_utf8(RESPONSE).unwrap();
    let mut out = String::new();
    for l in text.split_inclusive("\r\n") {
        if l.to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        {
            if !line.is_empty() {
                out.push_str(line);
                out.push_str("\r\n");
            }
        } else {
            out.push_str(l);
        }
    }
    out.into_bytes()
}
