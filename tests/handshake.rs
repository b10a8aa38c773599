//! Opening handshake scenarios (RFC 6455 §4): server parsing and rejections, client requests and
//! response validation, and a client/server round trip.

use httparse::{Header, EMPTY_HEADER};
use wsmachine::handshake::client::{parse_response, ClientRequest, ResponseError};
use wsmachine::handshake::server::{
    parse_request, write_rejection, Accept, HandshakeError, OriginPolicy, Request, ServerOptions,
};
use wsmachine::handshake::{accept_key, Status, WriteError, DEFAULT_MAX_HEAD_LEN};

const REQUEST: &[u8] = b"GET /chat?room=1&x=2 HTTP/1.1\r\n\
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
const FRAME: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

fn opts() -> ServerOptions<'static> {
    ServerOptions::default()
}

fn parse<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
) -> Result<Status<(Request<'h, 'b>, usize)>, HandshakeError> {
    parse_request(buf, headers, &opts())
}

/// The fields of a request, owned, to compare two parses.
fn summary(r: &Request<'_, '_>) -> String {
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

#[test]
fn server_parses_request_fields() {
    let mut input = REQUEST.to_vec();
    input.extend_from_slice(FRAME);
    let mut headers = [EMPTY_HEADER; 16];
    let Status::Complete((req, consumed)) = parse(&input, &mut headers).unwrap() else {
        panic!("partial");
    };
    assert_eq!(consumed, REQUEST.len());
    assert_eq!(
        &input[consumed..],
        FRAME,
        "frame bytes after the head are not lost"
    );
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), Some("room=1&x=2"));
    assert_eq!(req.host(), "server.example.com");
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.key(), b"dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(
        req.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat", "v2.chat"]
    );
    let exts: Vec<_> = req.extensions().collect();
    assert_eq!(exts.len(), 2);
    assert_eq!(exts[0].name(), "permessage-deflate");
    assert_eq!(
        exts[0].params().collect::<Vec<_>>(),
        [("client_max_window_bits", None)]
    );
    assert_eq!(exts[1].name(), "x-foo");
    assert_eq!(exts[1].params().collect::<Vec<_>>(), [("a", Some("1"))]);
    assert_eq!(req.header("COOKIE"), Some(&b"id=42"[..]));
    assert_eq!(req.header("authorization"), None);
}

#[test]
fn server_request_split_at_every_byte() {
    let mut input = REQUEST.to_vec();
    input.extend_from_slice(FRAME);
    let mut headers = [EMPTY_HEADER; 16];
    let Status::Complete((whole, consumed)) = parse(&input, &mut headers).unwrap() else {
        panic!("partial");
    };
    let expected = summary(&whole);
    for cut in 0..input.len() {
        let mut headers = [EMPTY_HEADER; 16];
        match parse(&input[..cut], &mut headers) {
            Ok(Status::Partial) => assert!(cut < REQUEST.len(), "partial at {cut}"),
            Ok(Status::Complete((req, n))) => {
                assert!(cut >= REQUEST.len(), "complete too early at {cut}");
                assert_eq!(n, consumed);
                assert_eq!(summary(&req), expected);
            }
            Err(e) => panic!("error {e:?} at {cut}"),
        }
    }
}

/// `REQUEST` with the line starting `name:` replaced by `line` (or removed when empty).
fn with_line(name: &str, line: &str) -> Vec<u8> {
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

fn reject(err: HandshakeError) -> String {
    let mut out = [0u8; 512];
    let n = write_rejection(err, &mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

/// Checks the whole shape of a rejection: status line, Connection: close, a Content-Length that
/// matches the body, and the extra lines.
fn assert_rejection(err: HandshakeError, status_line: &str, lines: &[&str]) {
    let text = reject(err);
    assert!(text.starts_with(status_line), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let head_lines: Vec<&str> = head.split("\r\n").collect();
    assert!(head_lines.contains(&"Connection: close"), "{text}");
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

#[test]
fn every_request_error_is_detected_and_rejected() {
    let key = "Sec-WebSocket-Key";
    let cases: Vec<(Vec<u8>, HandshakeError)> = vec![
        (REQUEST.replacen(b"GET", b"POST"), HandshakeError::Method),
        (REQUEST.replacen(b"HTTP/1.1", b"HTTP/1.0"), HandshakeError::HttpVersion),
        (REQUEST.replacen(b"HTTP/1.1", b"HTTP/2.0"), HandshakeError::Malformed),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(), HandshakeError::Malformed),
        (with_line("host", ""), HandshakeError::Host),
        (with_line("host", "Host: a\r\nHost: b"), HandshakeError::Host),
        (with_line("upgrade", ""), HandshakeError::Upgrade),
        (with_line("upgrade", "Upgrade: h2c"), HandshakeError::Upgrade),
        (with_line("connection", "Connection: keep-alive"), HandshakeError::Connection),
        (with_line("connection", ""), HandshakeError::Connection),
        (with_line(key, ""), HandshakeError::Key),
        (with_line(key, "Sec-WebSocket-Key: dGhlIHNhbXBsZQ=="), HandshakeError::Key),
        (with_line(key, "Sec-WebSocket-Key: not base64 at all!!!!"), HandshakeError::Key),
        (
            with_line(key, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="),
            HandshakeError::DuplicateKey,
        ),
        (with_line("sec-websocket-version", ""), HandshakeError::Version),
        (with_line("sec-websocket-version", "Sec-WebSocket-Version: 8"), HandshakeError::Version),
        (
            with_line("sec-websocket-version", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 8"),
            HandshakeError::Version,
        ),
        (
            with_line("sec-websocket-protocol", "Sec-WebSocket-Protocol: chat room"),
            HandshakeError::Subprotocols,
        ),
        (
            with_line("sec-websocket-extensions", "Sec-WebSocket-Extensions: a;;b"),
            HandshakeError::Extensions,
        ),
    ];
    for (input, err) in &cases {
        let mut headers = [EMPTY_HEADER; 16];
        assert_eq!(
            parse(input, &mut headers).err(),
            Some(*err),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    for err in [
        HandshakeError::Malformed,
        HandshakeError::Method,
        HandshakeError::HttpVersion,
        HandshakeError::Host,
        HandshakeError::Upgrade,
        HandshakeError::Connection,
        HandshakeError::Key,
        HandshakeError::DuplicateKey,
        HandshakeError::Subprotocols,
        HandshakeError::Extensions,
    ] {
        assert_eq!(err.status_code(), 400);
        assert_rejection(err, "HTTP/1.1 400 Bad Request\r\n", &[]);
    }
    assert_rejection(
        HandshakeError::Version,
        "HTTP/1.1 426 Upgrade Required\r\n",
        &["Sec-WebSocket-Version: 13", "Upgrade: websocket"],
    );
}

trait Replace {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl Replace for [u8] {
    fn replacen(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let i = self.windows(from.len()).position(|w| w == from).unwrap();
        [&self[..i], to, &self[i + from.len()..]].concat()
    }
}

#[test]
fn head_too_large_is_431_complete_or_not() {
    let opts = ServerOptions {
        max_head_len: REQUEST.len() - 1,
        ..ServerOptions::default()
    };
    let mut headers = [EMPTY_HEADER; 16];
    assert_eq!(
        parse_request(REQUEST, &mut headers, &opts).err(),
        Some(HandshakeError::HeadTooLarge)
    );
    // A head that never ends: partial up to the limit, then 431.
    let endless = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 5000]].concat();
    let mut headers = [EMPTY_HEADER; 16];
    assert!(matches!(
        parse(&endless[..DEFAULT_MAX_HEAD_LEN], &mut headers),
        Ok(Status::Partial)
    ));
    let mut headers = [EMPTY_HEADER; 16];
    assert_eq!(
        parse(&endless[..DEFAULT_MAX_HEAD_LEN + 1], &mut headers).err(),
        Some(HandshakeError::HeadTooLarge)
    );
    // Exactly at the limit is fine.
    let opts = ServerOptions {
        max_head_len: REQUEST.len(),
        ..ServerOptions::default()
    };
    let mut headers = [EMPTY_HEADER; 16];
    assert!(parse_request(REQUEST, &mut headers, &opts).is_ok());
    assert_rejection(
        HandshakeError::HeadTooLarge,
        "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        &[],
    );
}

#[test]
fn too_many_headers_is_431() {
    // REQUEST has 10 header lines.
    let mut headers = [EMPTY_HEADER; 9];
    assert_eq!(
        parse(REQUEST, &mut headers).err(),
        Some(HandshakeError::TooManyHeaders)
    );
    assert_eq!(HandshakeError::TooManyHeaders.status_code(), 431);
    assert_rejection(
        HandshakeError::TooManyHeaders,
        "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        &[],
    );
    let mut headers = [EMPTY_HEADER; 10];
    assert!(parse(REQUEST, &mut headers).is_ok());
}

#[test]
fn origin_policy_allow_list_and_check() {
    let run = |input: &[u8], policy: OriginPolicy<'_>| {
        let mut headers = [EMPTY_HEADER; 16];
        let opts = ServerOptions {
            origin: policy,
            ..ServerOptions::default()
        };
        parse_request(input, &mut headers, &opts).map(|s| s.complete().is_some())
    };
    let list = ["https://app.example.com", "HTTP://EXAMPLE.COM"];
    assert_eq!(run(REQUEST, OriginPolicy::AllowList(&list)), Ok(true));
    assert_eq!(
        run(REQUEST, OriginPolicy::AllowList(&list[..1])),
        Err(HandshakeError::Origin)
    );
    let no_origin = with_line("origin", "");
    assert_eq!(
        run(&no_origin, OriginPolicy::AllowList(&list[..1])),
        Ok(true)
    );
    let browser_only = |o: Option<&str>| o.is_some_and(|o| o.ends_with("example.com"));
    assert_eq!(run(REQUEST, OriginPolicy::Check(&browser_only)), Ok(true));
    assert_eq!(
        run(&no_origin, OriginPolicy::Check(&browser_only)),
        Err(HandshakeError::Origin)
    );
    let evil = with_line("origin", "Origin: http://evil.test");
    assert_eq!(
        run(&evil, OriginPolicy::Check(&browser_only)),
        Err(HandshakeError::Origin)
    );
    assert_eq!(run(&evil, OriginPolicy::Any), Ok(true));
    let two = with_line(
        "origin",
        "Origin: http://example.com\r\nOrigin: http://evil.test",
    );
    assert_eq!(
        run(&two, OriginPolicy::AllowList(&list)),
        Err(HandshakeError::Origin)
    );
    assert_eq!(run(&two, OriginPolicy::Any), Err(HandshakeError::Origin));
    assert_eq!(HandshakeError::Origin.status_code(), 403);
    assert_rejection(HandshakeError::Origin, "HTTP/1.1 403 Forbidden\r\n", &[]);
}

#[test]
fn rejection_into_small_buffer_says_how_much() {
    let full = reject(HandshakeError::Version);
    let mut out = [0u8; 20];
    assert_eq!(
        write_rejection(HandshakeError::Version, &mut out),
        Err(WriteError::BufferTooSmall { needed: full.len() })
    );
    let mut out = vec![0u8; full.len()];
    assert_eq!(
        write_rejection(HandshakeError::Version, &mut out),
        Ok(full.len())
    );
}

fn accept_with(accept: &Accept<'_>, out: &mut [u8]) -> Result<usize, WriteError> {
    let mut headers = [EMPTY_HEADER; 16];
    let (req, _) = parse(REQUEST, &mut headers).unwrap().complete().unwrap();
    req.accept(accept, out)
}

#[test]
fn server_accept_writes_101() {
    let mut out = [0u8; 512];
    let accept = Accept {
        subprotocol: Some("superchat"),
        extensions: Some("permessage-deflate; server_no_context_takeover"),
        extra_headers: &[("Set-Cookie", "id=1")],
    };
    let n = accept_with(&accept, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         Sec-WebSocket-Protocol: superchat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
         Set-Cookie: id=1\r\n\
         \r\n"
    );
    let mut small = vec![0u8; n - 1];
    assert_eq!(
        accept_with(&accept, &mut small),
        Err(WriteError::BufferTooSmall { needed: n })
    );
    let mut out = [0u8; 512];
    let n = accept_with(&Accept::default(), &mut out).unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    assert!(!text.contains("Sec-WebSocket-Protocol"), "{text}");
    assert!(!text.contains("Sec-WebSocket-Extensions"), "{text}");
}

#[test]
fn server_accept_refuses_what_was_not_offered_and_injection() {
    let mut out = [0u8; 512];
    let cases = [
        (
            Accept {
                subprotocol: Some("Chat"),
                ..Accept::default()
            },
            WriteError::SubprotocolNotOffered,
        ),
        (
            Accept {
                extensions: Some("permessage-deflate, x-bar"),
                ..Accept::default()
            },
            WriteError::ExtensionNotOffered,
        ),
        (
            Accept {
                extensions: Some("x-foo\r\nX-Injected: 1"),
                ..Accept::default()
            },
            WriteError::InvalidHeader,
        ),
        (
            Accept {
                extensions: Some(""),
                ..Accept::default()
            },
            WriteError::InvalidHeader,
        ),
        (
            Accept {
                extra_headers: &[("X-Ok", "1"), ("X-Bad", "a\r\nSet-Cookie: evil")],
                ..Accept::default()
            },
            WriteError::InvalidHeader,
        ),
        (
            Accept {
                extra_headers: &[("X-Bad\r\nSet-Cookie", "evil")],
                ..Accept::default()
            },
            WriteError::InvalidHeader,
        ),
        (
            Accept {
                extra_headers: &[("Sec-WebSocket-Accept", "forged")],
                ..Accept::default()
            },
            WriteError::ReservedHeader,
        ),
    ];
    for (accept, err) in cases {
        assert_eq!(accept_with(&accept, &mut out), Err(err), "{accept:?}");
    }
}

const NONCE: [u8; 16] = *b"the sample nonce";

#[test]
fn client_request_bytes() {
    let req = ClientRequest {
        port: 8080,
        query: Some("room=1"),
        origin: Some("https://example.com"),
        subprotocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits"),
        extra_headers: &[("Authorization", "Bearer abc")],
        ..ClientRequest::new("server.example.com", "/chat")
    };
    let mut out = [0u8; 512];
    let (n, expected) = req.write(&NONCE, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "GET /chat?room=1 HTTP/1.1\r\n\
         Host: server.example.com:8080\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Origin: https://example.com\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         Authorization: Bearer abc\r\n\
         \r\n"
    );
    assert_eq!(expected.accept(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    let mut small = vec![0u8; n - 1];
    assert_eq!(
        req.write(&NONCE, &mut small).err(),
        Some(WriteError::BufferTooSmall { needed: n })
    );
}

#[test]
fn client_request_ports_and_paths() {
    let host_line = |req: ClientRequest<'_>| {
        let mut out = [0u8; 256];
        let (n, _) = req.write(&NONCE, &mut out).unwrap();
        let text = String::from_utf8(out[..n].to_vec()).unwrap();
        let first = text.lines().next().unwrap().to_owned();
        let host = text.lines().nth(1).unwrap().to_owned();
        (first, host)
    };
    let base = ClientRequest::new("a.test", "");
    assert_eq!(
        host_line(base),
        ("GET / HTTP/1.1".to_owned(), "Host: a.test".to_owned())
    );
    assert_eq!(
        host_line(ClientRequest { port: 443, ..base }).1,
        "Host: a.test:443"
    );
    assert_eq!(
        host_line(ClientRequest {
            port: 443,
            secure: true,
            ..base
        })
        .1,
        "Host: a.test"
    );
    assert_eq!(
        host_line(ClientRequest {
            port: 80,
            secure: true,
            ..base
        })
        .1,
        "Host: a.test:80"
    );
    assert_eq!(
        host_line(ClientRequest {
            host: "[::1]",
            port: 9001,
            ..base
        })
        .1,
        "Host: [::1]:9001"
    );
}

#[test]
fn client_request_refuses_injection() {
    let base = ClientRequest::new("a.test", "/");
    let bad = [
        ClientRequest {
            host: "a.test\r\nX: y",
            ..base
        },
        ClientRequest { host: "", ..base },
        ClientRequest {
            path: "/a b",
            ..base
        },
        ClientRequest {
            path: "/\r\n",
            ..base
        },
        ClientRequest {
            path: "chat",
            ..base
        },
        ClientRequest {
            path: "/chat#frag",
            ..base
        },
        ClientRequest {
            path: "/caf\u{e9}",
            ..base
        },
        ClientRequest {
            query: Some("a\nb"),
            ..base
        },
        ClientRequest {
            origin: Some("o\r\nX: y"),
            ..base
        },
        ClientRequest {
            subprotocols: &["chat", "a,b"],
            ..base
        },
        ClientRequest {
            extensions: Some("x;\r\n"),
            ..base
        },
        ClientRequest {
            extra_headers: &[("X", "1\r\n2")],
            ..base
        },
    ];
    let mut out = [0u8; 256];
    for req in bad {
        assert_eq!(
            req.write(&NONCE, &mut out).err(),
            Some(WriteError::InvalidHeader),
            "{req:?}"
        );
    }
    let reserved = ClientRequest {
        extra_headers: &[("sec-websocket-key", "x")],
        ..base
    };
    assert_eq!(
        reserved.write(&NONCE, &mut out).err(),
        Some(WriteError::ReservedHeader)
    );
}

const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
\r\n";

fn offer() -> ClientRequest<'static> {
    ClientRequest {
        subprotocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits"),
        ..ClientRequest::new("server.example.com", "/chat")
    }
}

fn validate(input: &[u8]) -> Result<Option<String>, ResponseError> {
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

#[test]
fn client_validates_response_split_at_every_byte() {
    let mut input = RESPONSE.to_vec();
    input.extend_from_slice(b"\x81\x05Hello");
    let whole = validate(&input).unwrap().unwrap();
    assert_eq!(
        whole,
        format!(
            "{} Some(\"chat\") [\"permessage-deflate[(\\\"server_no_context_takeover\\\", None)]\"]",
            RESPONSE.len()
        )
    );
    for cut in 0..input.len() {
        let got = validate(&input[..cut]).unwrap();
        if cut < RESPONSE.len() {
            assert_eq!(got, None, "at {cut}");
        } else {
            assert_eq!(got.as_deref(), Some(whole.as_str()), "at {cut}");
        }
    }
}

fn response_with_line(name: &str, line: &str) -> Vec<u8> {
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

#[test]
fn client_response_errors() {
    let proto = "sec-websocket-protocol";
    let ext = "sec-websocket-extensions";
    let cases: Vec<(Vec<u8>, ResponseError)> = vec![
        (RESPONSE.replacen(b"101 Switching Protocols", b"200 OK"), ResponseError::Status(200)),
        (RESPONSE.replacen(b"HTTP/1.1", b"HTTP/1.0"), ResponseError::Malformed),
        (b"HTTP/1.1 101\r\nBad Header\r\n\r\n".to_vec(), ResponseError::Malformed),
        (response_with_line("upgrade", ""), ResponseError::Upgrade),
        (response_with_line("upgrade", "Upgrade: h2c"), ResponseError::Upgrade),
        (response_with_line("connection", "Connection: close"), ResponseError::Connection),
        (response_with_line("sec-websocket-accept", ""), ResponseError::Accept),
        (
            response_with_line("sec-websocket-accept", "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ=="),
            ResponseError::Accept,
        ),
        (
            response_with_line(
                "sec-websocket-accept",
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            ),
            ResponseError::Accept,
        ),
        (response_with_line(proto, "Sec-WebSocket-Protocol: other"), ResponseError::Subprotocol),
        (response_with_line(proto, "Sec-WebSocket-Protocol: CHAT"), ResponseError::Subprotocol),
        (
            response_with_line(proto, "Sec-WebSocket-Protocol: chat, superchat"),
            ResponseError::Subprotocol,
        ),
        (
            response_with_line(proto, "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat"),
            ResponseError::Subprotocol,
        ),
        (response_with_line(ext, "Sec-WebSocket-Extensions: x-other"), ResponseError::Extensions),
        (
            response_with_line(ext, "Sec-WebSocket-Extensions: permessage-deflate;;"),
            ResponseError::Extensions,
        ),
    ];
    for (input, err) in cases {
        assert_eq!(
            validate(&input),
            Err(err),
            "{}",
            String::from_utf8_lossy(&input)
        );
    }
    // Nothing offered: a subprotocol or extension in the response is an error.
    let mut out = [0u8; 256];
    let (_, expected) = ClientRequest::new("a", "/")
        .write(&NONCE, &mut out)
        .unwrap();
    let mut headers = [EMPTY_HEADER; 16];
    let (resp, _) = parse_response(RESPONSE, &mut headers, 4096)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(
        resp.validate(&expected).err(),
        Some(ResponseError::Subprotocol)
    );
    let no_proto = response_with_line(proto, "");
    let mut headers = [EMPTY_HEADER; 16];
    let (resp, _) = parse_response(&no_proto, &mut headers, 4096)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(
        resp.validate(&expected).err(),
        Some(ResponseError::Extensions)
    );
    // Limits.
    let mut headers = [EMPTY_HEADER; 16];
    assert_eq!(
        parse_response(RESPONSE, &mut headers, RESPONSE.len() - 1).err(),
        Some(ResponseError::HeadTooLarge)
    );
    let mut headers = [EMPTY_HEADER; 16];
    assert_eq!(
        parse_response(&RESPONSE[..20], &mut headers, 19).err(),
        Some(ResponseError::HeadTooLarge)
    );
    let mut headers = [EMPTY_HEADER; 3];
    assert_eq!(
        parse_response(RESPONSE, &mut headers, 4096).err(),
        Some(ResponseError::TooManyHeaders)
    );
}

#[test]
fn client_sees_refusal_status_and_location() {
    let input = b"HTTP/1.1 302 Found\r\nLocation: wss://other.example.com/chat\r\nContent-Length: 0\r\n\r\n";
    let mut headers = [EMPTY_HEADER; 8];
    let (resp, n) = parse_response(input, &mut headers, 4096)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(n, input.len());
    assert_eq!((resp.status(), resp.reason()), (302, "Found"));
    assert_eq!(resp.location(), Some("wss://other.example.com/chat"));
    let mut out = [0u8; 512];
    let (_, expected) = offer().write(&NONCE, &mut out).unwrap();
    assert_eq!(
        resp.validate(&expected).err(),
        Some(ResponseError::Status(302))
    );

    // The server's own rejections read back as their status.
    for (err, code) in [
        (HandshakeError::Version, 426),
        (HandshakeError::Origin, 403),
    ] {
        let text = reject(err);
        let mut headers = [EMPTY_HEADER; 8];
        let (resp, _) = parse_response(text.as_bytes(), &mut headers, 4096)
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(resp.status(), code);
        assert_eq!(
            resp.validate(&expected).err(),
            Some(ResponseError::Status(code))
        );
    }
}

#[test]
fn round_trip_negotiates_subprotocol_and_extension() {
    let client = ClientRequest {
        port: 9001,
        origin: Some("https://app.example.com"),
        subprotocols: &["v2.chat", "chat"],
        extensions: Some("permessage-deflate; client_max_window_bits, x-unknown"),
        extra_headers: &[("Authorization", "Bearer t0ken")],
        ..ClientRequest::new("server.example.com", "/ws")
    };
    let nonce = [7u8; 16];
    let mut wire = [0u8; 1024];
    let (req_len, expected) = client.write(&nonce, &mut wire).unwrap();
    // The client's first frame follows the request in the same segment.
    wire[req_len..req_len + FRAME.len()].copy_from_slice(FRAME);
    let c2s = &wire[..req_len + FRAME.len()];

    // Server.
    let allowed = ["https://app.example.com"];
    let opts = ServerOptions {
        origin: OriginPolicy::AllowList(&allowed),
        ..ServerOptions::default()
    };
    let mut headers = [EMPTY_HEADER; 16];
    let (req, consumed) = parse_request(c2s, &mut headers, &opts)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(&c2s[consumed..], FRAME);
    assert_eq!(req.host(), "server.example.com:9001");
    assert_eq!(req.path(), "/ws");
    assert_eq!(req.header("authorization"), Some(&b"Bearer t0ken"[..]));
    // Server supports "chat" only, and permessage-deflate only.
    let chosen = req.subprotocols().find(|p| *p == "chat");
    let deflate = req
        .extensions()
        .find(|e| e.name() == "permessage-deflate")
        .unwrap();
    assert_eq!(
        deflate.params().collect::<Vec<_>>(),
        [("client_max_window_bits", None)]
    );
    let accept = Accept {
        subprotocol: chosen,
        extensions: Some("permessage-deflate; client_max_window_bits=10"),
        extra_headers: &[],
    };
    let mut s2c = [0u8; 512];
    let resp_len = req.accept(&accept, &mut s2c).unwrap();
    s2c[resp_len..resp_len + 7].copy_from_slice(b"\x81\x05Hello");
    let s2c = &s2c[..resp_len + 7];

    // Client.
    let mut headers = [EMPTY_HEADER; 16];
    let (resp, n) = parse_response(s2c, &mut headers, DEFAULT_MAX_HEAD_LEN)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(&s2c[n..], b"\x81\x05Hello");
    assert_eq!(
        resp.header("sec-websocket-accept"),
        Some(&accept_key(req.key())[..])
    );
    let accepted = resp.validate(&expected).unwrap();
    assert_eq!(accepted.subprotocol(), Some("chat"));
    let exts: Vec<_> = accepted.extensions().collect();
    assert_eq!(exts.len(), 1);
    assert_eq!(exts[0].name(), "permessage-deflate");
    assert_eq!(
        exts[0].params().collect::<Vec<_>>(),
        [("client_max_window_bits", Some("10"))]
    );

    // Another nonce gives another key, which this response does not answer.
    let (_, other) = client.write(&[8u8; 16], &mut [0u8; 1024]).unwrap();
    assert_eq!(resp.validate(&other).err(), Some(ResponseError::Accept));
}
