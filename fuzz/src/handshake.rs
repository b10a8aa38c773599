//! The logic of the handshake fuzz targets (RFC 6455 §4, RFC 8441), free of libFuzzer so that
//! `tests/` can include this file and replay inputs through the same code.

use wsmachine::handshake::client::{parse_response, ClientRequest, ResponseError};
use wsmachine::handshake::h2::{parse_connect, validate_response, ConnectRequest};
use wsmachine::handshake::server::ServerOptions;
use wsmachine::handshake::server::{parse_request, Accept, HandshakeError, OriginPolicy};
use wsmachine::handshake::{
    accept_key, form_decode, is_valid_key, percent_decode, write_rejection, Challenge, DecodeError,
    Rejection, Status, WriteError, MAX_REJECTION_BODY,
};

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
/// to start from a valid request prefix), then the request accessors and `accept` (also with
/// the request's own headers as extra headers) or `write_rejection`, plus the RFC 8441
/// `parse_connect` over the same bytes read as `name: value` lines. Flag 0x20 reads the bytes
/// as a caller-built [`Rejection`] instead ([`caller_rejection`]).
pub fn server(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    if flags & 0x20 != 0 {
        caller_rejection(rest);
        return;
    }
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
            accessors(&request);
            extra_headers_from_request(&request);
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

/// The policy accessors of a parsed request: query pairs and their decoding, cookies,
/// `Authorization`. Nothing panics, every part is a piece of the head, decoding never writes
/// more than the input's length, and the errors say where and how much.
fn accessors(request: &wsmachine::handshake::server::Request<'_, '_>) {
    let query = request.query().unwrap_or_default();
    let mut total = 0;
    for (key, value) in request.query_pairs() {
        assert!(!key.contains('&') && !key.contains('=') && !value.contains('&'));
        total += key.len() + value.len();
        for part in [key, value] {
            check_decoding(part);
        }
    }
    assert!(total <= query.len());
    if let Some((first_key, first_value)) = request.query_pairs().next() {
        assert_eq!(request.query_value(first_key), Some(first_value));
    }
    for (name, value) in request.cookies() {
        assert!(!name.is_empty());
        assert!(!name
            .bytes()
            .any(|b| matches!(b, b';' | b'=' | b' ' | b'\t' | b'"')));
        assert!(!value.contains(';'));
        let first = request.cookies().find(|(n, _)| *n == name).map(|(_, v)| v);
        assert_eq!(request.cookie(name), first);
    }
    match request.authorization() {
        Some(auth) => {
            assert!(!auth.scheme().is_empty() && !auth.scheme().contains(' '));
            match request.bearer_token() {
                Some(token) => {
                    assert!(auth.is_scheme("Bearer") && token == auth.credentials());
                    assert!(!token.is_empty() && !token.starts_with('='));
                }
                None => assert!(!auth.is_scheme("bearer") || auth.bearer_token().is_none()),
            }
        }
        None => assert_eq!(request.bearer_token(), None),
    }
}

/// Both decoders on `part`: into a buffer as long as the input they succeed or name a `%`
/// without two hex digits; one byte short of the decoded length is `BufferTooSmall` with it.
fn check_decoding(part: &str) {
    let mut buf = vec![0u8; part.len()];
    for plus in [false, true] {
        let decoder = if plus { form_decode } else { percent_decode };
        match decoder(part, &mut buf) {
            Ok(decoded) => {
                let len = decoded.len();
                assert!(len <= part.len());
                assert_eq!(len, part.len() - 2 * part.matches('%').count());
                if len > 0 {
                    let mut short = vec![0u8; len - 1];
                    assert_eq!(
                        decoder(part, &mut short),
                        Err(DecodeError::BufferTooSmall { needed: len })
                    );
                }
            }
            Err(DecodeError::InvalidEscape { offset }) => {
                assert_eq!(part.as_bytes().get(offset), Some(&b'%'));
                // The same error whatever the buffer.
                assert_eq!(
                    decoder(part, &mut []),
                    Err(DecodeError::InvalidEscape { offset })
                );
            }
            Err(e) => panic!("decoding {part:?} into its own length: {e:?}"),
        }
    }
}

/// The request's own header lines (the UTF-8 ones) offered as extra headers of the 101: refused
/// exactly when the reference rules say so, else written one line each.
fn extra_headers_from_request(request: &wsmachine::handshake::server::Request<'_, '_>) {
    let extra: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|h| Some((h.name, core::str::from_utf8(h.value).ok()?)))
        .take(3)
        .collect();
    for k in 0..=extra.len() {
        let extra = &extra[..k];
        let accept = Accept {
            extra_headers: extra,
            ..Accept::default()
        };
        let mut out = [0u8; 2048];
        let broken = broken_header_rules(extra, &[]);
        match request.accept(&accept, &mut out) {
            Ok(n) => {
                assert!(broken.is_empty(), "accepted {extra:?}");
                let count = head_lines(&out[..n]).expect("our 101 is a clean head");
                assert_eq!(count, 3 + k);
            }
            Err(WriteError::BufferTooSmall { needed }) => assert!(needed > out.len()),
            Err(e) => assert!(broken.contains(&e), "{e:?} for {extra:?}"),
        }
    }
}

/// The header lines of a head that ends with an empty line, or `None` when a CR or LF stands
/// anywhere but in a line's CRLF: the count of a head no caller string has split.
fn head_lines(head: &[u8]) -> Option<usize> {
    let text = head.strip_suffix(b"\r\n\r\n")?;
    let lines = text.split(|&b| b == b'\n').count();
    let crlf = text.windows(2).filter(|w| w == b"\r\n").count();
    let cr = text.iter().filter(|&&b| b == b'\r').count();
    (lines == crlf + 1 && cr == crlf).then(|| lines - 1)
}

/// The reference rules for headers a caller adds (written out again here, not the crate's
/// code): which [`WriteError`]s `headers` deserve, given the names a typed field writes.
fn broken_header_rules(headers: &[(&str, &str)], typed: &[&str]) -> Vec<WriteError> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let mut broken = Vec::new();
    for (name, value) in headers {
        let name_ok = !name.is_empty() && name.bytes().all(tchar);
        let value_ok = value
            .bytes()
            .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
        if !name_ok || !value_ok {
            broken.push(WriteError::InvalidHeader);
        }
        let lower = name.to_ascii_lowercase();
        let owned = [
            "host",
            "upgrade",
            "connection",
            "content-length",
            "transfer-encoding",
            "keep-alive",
            "te",
            "trailer",
        ];
        if owned.contains(&lower.as_str())
            || lower.starts_with("sec-websocket-")
            || typed.contains(&lower.as_str())
        {
            broken.push(WriteError::ReservedHeader);
        }
    }
    broken
}

/// A caller-built [`Rejection`] from arbitrary bytes: two bytes of status, a flags byte, then
/// the reason, up to three header names and values and the body, separated by `0xFF` (never in
/// UTF-8, so every other byte, CR, LF and NUL included, can be in a part). Either the reference
/// rules refuse it, with one of the errors they name, or it is written: a response that parses
/// back with the status, reason, headers and body given, one line per header, a CR or LF from
/// the input nowhere, and exactly the needed length.
pub fn caller_rejection(data: &[u8]) {
    let Some((&[hi, lo, flags], rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let status = u16::from_be_bytes([hi, lo]) % 1000;
    let parts: Vec<String> = rest
        .split(|&b| b == 0xff)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let part = |i: usize| parts.get(i).map_or("", String::as_str);
    let headers: Vec<(&str, &str)> = (0..usize::from(flags & 3))
        .map(|i| (part(1 + 2 * i), part(2 + 2 * i)))
        .collect();
    let body_text = part(7);
    let long_body = vec![b'b'; MAX_REJECTION_BODY + 1];
    let body = match flags >> 6 {
        0 => body_text.as_bytes(),
        1 => &long_body[..MAX_REJECTION_BODY],
        2 => &long_body[..],
        _ => &[],
    };
    let realm = (flags & 8 != 0).then(|| part(8));
    let rejection = Rejection {
        status,
        reason: part(0),
        headers: &headers,
        challenge: (flags & 4 != 0).then_some(Challenge::Bearer { realm }),
        retry_after: (flags & 0x10 != 0).then(|| u32::from_be_bytes([hi, lo, flags, hi])),
        body,
    };

    let mut typed = Vec::new();
    if rejection.challenge.is_some() {
        typed.push("www-authenticate");
    }
    if rejection.retry_after.is_some() {
        typed.push("retry-after");
    }
    let mut broken = broken_header_rules(&headers, &typed);
    if !(300..=599).contains(&status) || status == 304 {
        broken.push(WriteError::InvalidStatus);
    }
    if !rejection
        .reason
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
    {
        broken.push(WriteError::InvalidReason);
    }
    let bad_realm = realm.is_some_and(|r| r.bytes().any(|b| b != b'\t' && (b < 0x20 || b == 0x7f)));
    if rejection.challenge.is_some() && bad_realm {
        broken.push(WriteError::InvalidHeader);
    }
    if body.len() > MAX_REJECTION_BODY {
        broken.push(WriteError::BodyTooLarge);
    }

    let mut out = vec![0u8; 8192];
    let n = match rejection.write(&mut out) {
        Ok(n) => n,
        Err(e) => {
            assert!(broken.contains(&e), "{e:?} for {rejection:?}");
            assert_eq!(rejection.validate(), Err(e));
            return;
        }
    };
    assert!(broken.is_empty(), "wrote {rejection:?} despite {broken:?}");
    let written = &out[..n];
    let mut h = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut h);
    let head_len = match response.parse(written) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!("our rejection does not parse: {other:?}"),
    };
    assert_eq!(response.code, Some(status));
    // httparse gives an empty reason for one with obs-text.
    if rejection.reason.is_ascii() {
        assert_eq!(response.reason, Some(rejection.reason));
    }
    assert!(
        &written[head_len..] == body,
        "the body is not written as given"
    );
    // The caller's and the typed headers, a 426's two, then Content-Length and Connection.
    let expected_lines = headers.len() + typed.len() + if status == 426 { 2 } else { 0 } + 2;
    assert_eq!(response.headers.len(), expected_lines);
    assert_eq!(head_lines(&written[..head_len]), Some(expected_lines));
    for ((name, value), line) in headers.iter().zip(response.headers.iter()) {
        assert_eq!(line.name, *name);
        assert_eq!(line.value, value.trim_matches([' ', '\t']).as_bytes());
    }
    let content_length = response.headers.iter().find(|h| h.name == "Content-Length");
    assert_eq!(
        content_length.map(|h| h.value),
        Some(body.len().to_string().as_bytes())
    );
    // Our own parser reads it back as a refusal with the same status.
    let mut h = [httparse::EMPTY_HEADER; 16];
    match parse_response(written, &mut h, 8192) {
        Ok(Status::Complete((r, m))) => {
            assert_eq!((r.status(), m), (status, head_len));
            assert!(r.body() == body, "the body reads back differently");
        }
        other => panic!("parse_response: {other:?}"),
    }
    assert_eq!(
        rejection.write(&mut out[..n - 1]),
        Err(WriteError::BufferTooSmall { needed: n })
    );
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
            let _ = (
                response.reason(),
                response.location(),
                response.www_authenticate(),
            );
            let _ = response.retry_after();
            // The body is what was received after the head, never more, and never past a
            // Content-Length.
            let body = response.body();
            assert!(body.len() <= input.len() - len);
            assert!(input[len..].starts_with(body));
            if let Some(cl) = response.content_length() {
                assert!(body.len() as u64 <= cl);
            }
            if matches!(response.status(), 100..=199 | 204 | 304) {
                assert!(body.is_empty());
            }
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
