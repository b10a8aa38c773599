//! Server-side handshake scenarios (RFC 6455 §4.2.1, §10.2): the request fields, partial input,
//! every request rule with the status it is refused with, the head limits and origin policies.

mod handshake_util;

use handshake_util::*;
use httparse::EMPTY_HEADER;
use wsmachine::handshake::server::{parse_request, HandshakeError, OriginPolicy, ServerOptions};
use wsmachine::handshake::{
    form_decode, percent_decode, DecodeError, Status, DEFAULT_MAX_HEAD_LEN,
};

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

/// The accessors a server's policy reads, on a parsed request with hostile fields.
#[test]
fn policy_accessors_on_a_parsed_request() {
    let input = REQUEST
        .replacen(
            b"/chat?room=1&x=2",
            b"/chat?&room=a+b%20c&&token=%zz&room=2&eq=a=b=c&pct=%E2%82%AC&flag",
        )
        .replacen(
            b"Cookie: id=42\r\n",
            b"Cookie: id=42; theme=\"dark\"; ; junk\r\nCookie: id=43; sid=s\r\n\
              Authorization: Bearer abc.DEF-123~+/==\r\n",
        );
    let mut headers = [EMPTY_HEADER; 16];
    let (req, _) = parse(&input, &mut headers).unwrap().complete().unwrap();
    assert_eq!(req.path(), "/chat");
    let pairs: Vec<_> = req.query_pairs().collect();
    assert_eq!(
        pairs,
        [
            ("room", "a+b%20c"),
            ("token", "%zz"),
            ("room", "2"),
            ("eq", "a=b=c"),
            ("pct", "%E2%82%AC"),
            ("flag", ""),
        ]
    );
    assert_eq!(req.query_value("room"), Some("a+b%20c"), "first wins");
    assert_eq!(req.query_value("flag"), Some(""));
    assert_eq!(req.query_value("missing"), None);
    let mut buf = [0u8; 8];
    assert_eq!(
        form_decode(req.query_value("room").unwrap(), &mut buf),
        Ok(&b"a b c"[..])
    );
    assert_eq!(
        percent_decode(req.query_value("room").unwrap(), &mut buf),
        Ok(&b"a+b c"[..])
    );
    assert_eq!(
        form_decode(req.query_value("token").unwrap(), &mut buf),
        Err(DecodeError::InvalidEscape { offset: 0 })
    );
    assert_eq!(
        form_decode(req.query_value("pct").unwrap(), &mut buf[..2]),
        Err(DecodeError::BufferTooSmall { needed: 3 })
    );
    assert_eq!(
        form_decode(req.query_value("pct").unwrap(), &mut buf),
        Ok("\u{20ac}".as_bytes())
    );

    assert_eq!(req.cookie("id"), Some("42"), "first line first");
    assert_eq!(req.cookie("theme"), Some("dark"));
    assert_eq!(req.cookie("sid"), Some("s"));
    assert_eq!(req.cookie("junk"), None);
    assert_eq!(req.cookies().count(), 4);

    let auth = req.authorization().unwrap();
    assert!(auth.is_scheme("BEARER"));
    assert_eq!(req.bearer_token(), Some("abc.DEF-123~+/=="));

    // A repeated Authorization is ambiguous: no credentials at all.
    let twice = REQUEST.replacen(
        b"Cookie: id=42\r\n",
        b"Authorization: Bearer a\r\nAuthorization: Bearer b\r\n",
    );
    let mut headers = [EMPTY_HEADER; 16];
    let (req, _) = parse(&twice, &mut headers).unwrap().complete().unwrap();
    assert_eq!((req.authorization(), req.bearer_token()), (None, None));
    assert_eq!(req.cookie("id"), None);
    // Another scheme, or a malformed token, is no bearer token.
    for value in [&b"Basic YTpi"[..], b"Bearer a b", b"Bearer", b"Bearer a=b"] {
        let line = [b"Authorization: ", value, b"\r\n"].concat();
        let input = REQUEST.replacen(b"Cookie: id=42\r\n", &line);
        let mut headers = [EMPTY_HEADER; 16];
        let (req, _) = parse(&input, &mut headers).unwrap().complete().unwrap();
        assert_eq!(
            req.bearer_token(),
            None,
            "{}",
            String::from_utf8_lossy(value)
        );
    }
}
