//! The logic of the handshake fuzz targets (RFC 6455 §4, RFC 8441), free of libFuzzer so that
//! `tests/` can include this file and replay inputs through the same code.

use wsmachine::handshake::client::{parse_response, ClientRequest, ResponseError};
use wsmachine::handshake::h2::{parse_connect, validate_response, ConnectRequest};
use wsmachine::handshake::server::ServerOptions;
use wsmachine::handshake::server::{parse_request, Accept, HandshakeError, OriginPolicy};
use wsmachine::handshake::{accept_key, is_valid_key, write_rejection, Status, WriteError};

/// A valid request head up to (not including) its last headers and the blank line, so the
/// fuzzer starts deep in the header checks.
pub const REQUEST_PREFIX: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\n\
    Host: example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Version: 13\r\n";

/// The subprotocols and extensions the fuzzed client offers.
pub const OFFERED: &[&str] = &["chat", "superchat"];
/// The extension offer of the fuzzed client.
pub const OFFERED_EXTENSIONS: &str = "permessage-deflate; client_max_window_bits, x-test";

/// Splits `name: value` lines into HTTP/2 fields; a leading `:` belongs to the name.
fn fields(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .map(|line| {
            let skip = usize::from(line.starts_with(':'));
            match line.get(skip..).and_then(|l| l.find(':')) {
                Some(i) => (&line[..skip + i], line[skip + i + 1..].trim_start()),
                None => (line, ""),
            }
        })
        .collect()
}

/// `parse_request` on arbitrary bytes (flags byte first: limits, origin policy, and whether
/// to start from a valid request prefix), then `accept` or `write_rejection`, plus the RFC 8441
/// `parse_connect` over the same bytes read as `name: value` lines.
pub fn server(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut input = Vec::new();
    if flags & 1 != 0 {
        input.extend_from_slice(REQUEST_PREFIX);
    }
    input.extend_from_slice(rest);
    let max_head_len = if flags & 2 != 0 { 200 } else { 4096 };
    let allow = ["https://example.com"];
    let check = |o: Option<&str>| o.is_some_and(|o| o.len() % 2 == 0);
    let origin = match (flags >> 2) & 3 {
        0 | 1 => OriginPolicy::Any,
        2 => OriginPolicy::AllowList(&allow),
        _ => OriginPolicy::Check(&check),
    };
    let opts = ServerOptions {
        max_head_len,
        origin,
    };
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let headers_len = if flags & 0x10 != 0 { 4 } else { 16 };
    let result = parse_request(&input, &mut headers[..headers_len], &opts);
    match result {
        Ok(Status::Partial) => assert!(input.len() <= max_head_len),
        Ok(Status::Complete((request, len))) => {
            assert!(len <= input.len() && len <= max_head_len);
            assert!(input[..len].ends_with(b"\n"));
            assert!(is_valid_key(request.key()));
            assert!(request.path().len() <= len && request.host().len() <= len);
            // The head is decided by its own bytes: a cut before its end is partial, and the
            // frames after it do not change it.
            let mut again = [httparse::EMPTY_HEADER; 16];
            for cut in [len - 1, len / 2, len.saturating_sub(3)] {
                assert!(matches!(
                    parse_request(&input[..cut], &mut again[..headers_len], &opts),
                    Ok(Status::Partial)
                ));
            }
            let mut again = [httparse::EMPTY_HEADER; 16];
            match parse_request(&input[..len], &mut again[..headers_len], &opts) {
                Ok(Status::Complete((same, n))) => {
                    assert_eq!(n, len);
                    assert_eq!((same.path(), same.key()), (request.path(), request.key()));
                }
                other => panic!("the head alone gave {other:?}"),
            }
            // Accept with the first subprotocol offered and every extension offered, by name.
            let chosen = request.subprotocols().next();
            let accept = Accept {
                subprotocol: chosen,
                ..Accept::default()
            };
            let mut out = [0u8; 1024];
            match request.accept(&accept, &mut out) {
                Ok(n) => {
                    let response = &out[..n];
                    assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
                    assert!(response.ends_with(b"\r\n\r\n"));
                    let key = accept_key(request.key());
                    assert!(response.windows(key.len()).any(|w| w == key));
                    let mut h = [httparse::EMPTY_HEADER; 8];
                    let parsed = parse_response(response, &mut h, 4096);
                    let Ok(Status::Complete((r, m))) = parsed else {
                        panic!("our 101 does not parse: {parsed:?}");
                    };
                    assert_eq!((r.status(), m), (101, n));
                    assert_eq!(
                        r.header("sec-websocket-protocol"),
                        chosen.map(str::as_bytes)
                    );
                }
                Err(WriteError::BufferTooSmall { needed }) => assert!(needed > out.len()),
                Err(e) => panic!("accepting an offered subprotocol failed: {e:?}"),
            }
            // A token never contains CR LF, so this was not offered.
            let bogus = Accept {
                subprotocol: Some("not offered\r\n"),
                ..Accept::default()
            };
            assert_eq!(
                request.accept(&bogus, &mut out),
                Err(WriteError::SubprotocolNotOffered)
            );
            let _ = request.extensions().count();
        }
        Err(e) => rejection(e),
    }
    if let Ok(text) = core::str::from_utf8(rest) {
        let f = fields(text);
        if let Ok(connect) = parse_connect(f.iter().copied()) {
            assert!(!connect.path().is_empty() && !connect.authority().is_empty());
            let chosen = connect.subprotocols().next();
            let mut out = [("", ""); 4];
            let n = connect
                .response_fields(chosen, None, &mut out)
                .expect("an offered subprotocol");
            assert_eq!(out[0], (":status", "200"));
            assert!(n <= 2);
            let _ = connect.extensions().count();
        }
    }
}

/// The rejection for `e`: a well-formed response with its status code, or a clean
/// `BufferTooSmall` into a small buffer.
fn rejection(e: HandshakeError) {
    let mut out = [0u8; 512];
    let n = write_rejection(e, &mut out).expect("a rejection fits 512 bytes");
    let mut h = [httparse::EMPTY_HEADER; 8];
    let parsed = parse_response(&out[..n], &mut h, 4096);
    let Ok(Status::Complete((r, m))) = parsed else {
        panic!("our rejection does not parse: {parsed:?}");
    };
    assert_eq!(r.status(), e.status_code());
    assert!(m <= n);
    assert!(matches!(
        write_rejection(e, &mut out[..10]),
        Err(WriteError::BufferTooSmall { .. })
    ));
}

/// The client side: a request written with a nonce from the input, then arbitrary response
/// bytes (optionally after a valid 101 head start with the right accept value) parsed and
/// validated; plus the RFC 8441 `validate_response` over the bytes read as fields.
pub fn client(data: &[u8]) {
    let Some((&[flags, n0, n1, n2], rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let mut nonce = [0u8; 16];
    nonce[..3].copy_from_slice(&[n0, n1, n2]);
    let request = ClientRequest {
        subprotocols: OFFERED,
        extensions: Some(OFFERED_EXTENSIONS),
        ..ClientRequest::new("example.com", "/chat")
    };
    let mut out = [0u8; 512];
    let (n, expected) = request.write(&nonce, &mut out).expect("request fits");
    assert!(out[..n].ends_with(b"\r\n\r\n"));
    let mut input = Vec::new();
    if flags & 1 != 0 {
        input.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        );
        if flags & 2 != 0 {
            input.extend_from_slice(b"Sec-WebSocket-Accept: ");
            input.extend_from_slice(expected.accept());
            input.extend_from_slice(b"\r\n");
        }
    }
    input.extend_from_slice(rest);
    let max_head_len = if flags & 4 != 0 { 150 } else { 4096 };
    let mut headers = [httparse::EMPTY_HEADER; 16];
    match parse_response(&input, &mut headers, max_head_len) {
        Ok(Status::Partial) => assert!(input.len() <= max_head_len),
        Ok(Status::Complete((response, len))) => {
            assert!(len <= input.len() && len <= max_head_len);
            let mut again = [httparse::EMPTY_HEADER; 16];
            assert!(matches!(
                parse_response(&input[..len - 1], &mut again, max_head_len),
                Ok(Status::Partial)
            ));
            let _ = (response.reason(), response.location());
            match response.validate(&expected) {
                Ok(accepted) => {
                    assert_eq!(response.status(), 101);
                    assert_eq!(
                        response.header("sec-websocket-accept"),
                        Some(&expected.accept()[..])
                    );
                    if let Some(p) = accepted.subprotocol() {
                        assert!(OFFERED.contains(&p));
                    }
                    for ext in accepted.extensions() {
                        assert!(["permessage-deflate", "x-test"].contains(&ext.name()));
                        let _ = ext.params().count();
                    }
                }
                Err(ResponseError::Refused { status }) => assert_eq!(status, response.status()),
                Err(_) => {}
            }
        }
        Err(_) => {}
    }
    if let Ok(text) = core::str::from_utf8(rest) {
        let offered = ConnectRequest {
            scheme: "https",
            authority: "example.com",
            path: "/chat",
            origin: None,
            subprotocols: OFFERED,
            extensions: Some(OFFERED_EXTENSIONS),
        };
        let f = fields(text);
        if let Ok(accepted) = validate_response(f.iter().copied(), &offered) {
            if let Some(p) = accepted.subprotocol() {
                assert!(OFFERED.contains(&p));
            }
            for ext in accepted.extensions() {
                assert!(["permessage-deflate", "x-test"].contains(&ext.name()));
            }
        }
    }
}
