//! The handshake writers (RFC 6455 §4.1, §4.2.2): the 101, the rejections and the client's
//! request, byte for byte, into small buffers, and refusing what would inject a header.

mod handshake_util;

use handshake_util::*;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::server::{write_rejection, Accept, HandshakeError};
use wsmachine::handshake::{Rejection, WriteError};

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
         Sec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
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

/// The 101, a rejection and the client's request check extra headers by the same rules: each
/// hostile header gets the same answer from all three, and nothing is written.
#[test]
fn extra_headers_one_rule_for_every_writer() {
    let cases: &[((&str, &str), Option<WriteError>)] = &[
        (("Set-Cookie", "id=1; HttpOnly"), None),
        (("X-Tab", "a\tb"), None),
        (
            ("X", "1\r\nSet-Cookie: evil=1"),
            Some(WriteError::InvalidHeader),
        ),
        (
            ("X", "1\nSet-Cookie: evil=1"),
            Some(WriteError::InvalidHeader),
        ),
        (
            ("X", "1\rSet-Cookie: evil=1"),
            Some(WriteError::InvalidHeader),
        ),
        (("X", "a\0b"), Some(WriteError::InvalidHeader)),
        (
            ("X", "\r\n\r\nHTTP/1.1 200 OK"),
            Some(WriteError::InvalidHeader),
        ),
        (("X\r\nSet-Cookie", "evil"), Some(WriteError::InvalidHeader)),
        (("X: y\r\nZ", "1"), Some(WriteError::InvalidHeader)),
        (("", "1"), Some(WriteError::InvalidHeader)),
        (("Content-Length", "0"), Some(WriteError::ReservedHeader)),
        (
            ("transfer-encoding", "chunked"),
            Some(WriteError::ReservedHeader),
        ),
        (
            ("CONNECTION", "keep-alive"),
            Some(WriteError::ReservedHeader),
        ),
        (("Upgrade", "h2c"), Some(WriteError::ReservedHeader)),
        (
            ("Sec-WebSocket-Accept", "forged"),
            Some(WriteError::ReservedHeader),
        ),
        (
            ("Sec-WebSocket-Version", "8"),
            Some(WriteError::ReservedHeader),
        ),
        (("Host", "evil.test"), Some(WriteError::ReservedHeader)),
    ];
    for &(header, expected) in cases {
        let headers = [header];
        let accept = Accept {
            extra_headers: &headers,
            ..Accept::default()
        };
        let rejection = Rejection {
            headers: &headers,
            ..Rejection::forbidden()
        };
        let request = ClientRequest {
            extra_headers: &headers,
            ..ClientRequest::new("a.test", "/")
        };
        for writer in ["101", "rejection", "request"] {
            let mut out = [0u8; 1024];
            let result = match writer {
                "101" => accept_with(&accept, &mut out),
                "rejection" => rejection.write(&mut out),
                _ => request.write(&NONCE, &mut out).map(|(n, _)| n),
            };
            match expected {
                Some(err) => assert_eq!(result, Err(err), "{writer} {header:?}"),
                None => {
                    let n = result.unwrap_or_else(|e| panic!("{writer} {header:?}: {e:?}"));
                    let line = format!("\r\n{}: {}\r\n", header.0, header.1);
                    assert!(out[..n].windows(line.len()).any(|w| w == line.as_bytes()));
                }
            }
        }
    }
}

/// A policy refusal written by the caller reads back, on the client, as that status with its
/// headers.
#[test]
fn policy_rejections_read_back_on_the_client() {
    let rejections = [
        Rejection::unauthorized_bearer(Some("chat")),
        Rejection::not_found(),
        Rejection::too_many_requests(Some(30)),
        Rejection::service_unavailable(None),
        Rejection {
            headers: &[("Location", "wss://other.test/chat")],
            ..Rejection::new(307, "Temporary Redirect")
        },
        Rejection {
            headers: &[("Content-Type", "text/plain")],
            body: b"no",
            ..Rejection::forbidden()
        },
    ];
    for r in rejections {
        let mut out = [0u8; 512];
        let n = r.write(&mut out).unwrap();
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut response = httparse::Response::new(&mut headers);
        let head = match response.parse(&out[..n]).unwrap() {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => panic!("partial"),
        };
        assert_eq!(response.code, Some(r.status));
        assert_eq!(response.reason, Some(r.reason));
        assert_eq!(&out[head..n], r.body);
        let get = |name: &str| {
            let mut values = response.headers.iter().filter(|h| h.name == name);
            let v = values.next().map(|h| std::str::from_utf8(h.value).unwrap());
            assert!(values.next().is_none(), "{name} repeated");
            v
        };
        assert_eq!(
            get("Content-Length"),
            Some(r.body.len().to_string().as_str())
        );
        assert_eq!(get("Connection"), Some("close"));
        assert_eq!(
            get("Retry-After").map(|v| v.parse::<u32>().unwrap()),
            r.retry_after
        );
        for (name, value) in r.headers {
            assert_eq!(get(name), Some(*value));
        }
        if r.status == 401 {
            assert_eq!(get("WWW-Authenticate"), Some("Bearer realm=\"chat\""));
        }
        assert_eq!(
            response.headers.len(),
            2 + r.headers.len()
                + usize::from(r.retry_after.is_some())
                + usize::from(r.challenge.is_some())
        );
    }
}

#[test]
fn server_accept_into_every_short_buffer_says_how_much() {
    // The accept value is written in place: a buffer that ends before, inside or right after
    // it still gets the full count, and no prefix is reported as written.
    let mut out = [0u8; 512];
    let n = accept_with(&Accept::default(), &mut out).unwrap();
    let full = out[..n].to_vec();
    for len in 0..n {
        let mut short = vec![0u8; len];
        assert_eq!(
            accept_with(&Accept::default(), &mut short),
            Err(WriteError::BufferTooSmall { needed: n }),
            "{len}"
        );
    }
    let mut exact = vec![0u8; n];
    assert_eq!(accept_with(&Accept::default(), &mut exact), Ok(n));
    assert_eq!(exact, full);
}
