//! Client-side handshake scenarios (RFC 6455 §4.1): validating the 101 split at every byte,
//! every response rule, refusals read back with their status, and a client/server round trip.

mod handshake_util;

use handshake_util::*;
use httparse::EMPTY_HEADER;
use wsmachine::handshake::client::{parse_response, ClientRequest, ResponseError, RetryAfter};
use wsmachine::handshake::server::{
    parse_request, Accept, HandshakeError, OriginPolicy, ServerOptions,
};
use wsmachine::handshake::{accept_key, DEFAULT_MAX_HEAD_LEN};

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

#[test]
fn client_response_errors() {
    let proto = "sec-websocket-protocol";
    let ext = "sec-websocket-extensions";
    let cases: Vec<(Vec<u8>, ResponseError)> = vec![
        (RESPONSE.replacen(b"101 Switching Protocols", b"200 OK"), ResponseError::Refused { status: 200 }),
        (RESPONSE.replacen(b"HTTP/1.1", b"HTTP/1.0"), ResponseError::Malformed),
        (RESPONSE.replacen(b"101 Switching Protocols", b"401 No"), ResponseError::Refused { status: 401 }),
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
        // A line that lists nothing is an answer too, and not one we offered.
        (response_with_line(proto, "Sec-WebSocket-Protocol: "), ResponseError::Subprotocol),
        (response_with_line(proto, "Sec-WebSocket-Protocol: ,"), ResponseError::Subprotocol),
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
    let validated = |response: &[u8]| {
        let mut headers = [EMPTY_HEADER; 16];
        let (resp, _) = parse_response(response, &mut headers, 4096)
            .unwrap()
            .complete()
            .unwrap();
        resp.validate(&expected).err()
    };
    assert_eq!(validated(RESPONSE), Some(ResponseError::Subprotocol));
    let no_proto = response_with_line(proto, "");
    assert_eq!(validated(&no_proto), Some(ResponseError::Extensions));
    // Nor may a line that lists nothing answer a client that offered nothing.
    let empty_proto = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: \r\n\r\n";
    assert_eq!(validated(empty_proto), Some(ResponseError::Subprotocol));
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
        Some(ResponseError::Refused { status: 302 })
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
            Some(ResponseError::Refused { status: code })
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

/// A refusal is reported with its status over HTTP/1.1 and HTTP/1.0 alike, and the response is
/// the view of it: reason, headers, `Retry-After`, and the start of the body as received.
#[test]
fn client_reads_refusals_with_status_headers_and_body() {
    let mut out = [0u8; 512];
    let (_, expected) = offer().write(&NONCE, &mut out).unwrap();
    // (response, status, Retry-After, body as read)
    type Case = (
        &'static [u8],
        u16,
        Option<RetryAfter<'static>>,
        &'static [u8],
    );
    let cases: &[Case] = &[
        (
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n\
              Content-Length: 5\r\n\r\nlogin\x81\x00",
            401,
            None,
            b"login",
        ),
        (
            b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 120\r\n\r\nbusy",
            503,
            Some(RetryAfter::Seconds(120)),
            b"busy",
        ),
        (
            b"HTTP/1.0 429 Too Many Requests\r\nRetry-After: 99999999999999999999999\r\n\
              Content-Length: 10\r\n\r\nslow",
            429,
            Some(RetryAfter::Seconds(u32::MAX)),
            b"slow",
        ),
        (
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n\
              Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n4\r\nbusy\r\n",
            503,
            Some(RetryAfter::Date("Fri, 31 Dec 1999 23:59:59 GMT")),
            b"4\r\nbusy\r\n",
        ),
        (
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\nabc",
            304,
            None,
            b"",
        ),
        (
            b"HTTP/1.1 302 Found\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            302,
            None,
            b"ab",
        ),
    ];
    for &(input, status, retry_after, body) in cases {
        let mut headers = [EMPTY_HEADER; 8];
        let (resp, _) = parse_response(input, &mut headers, DEFAULT_MAX_HEAD_LEN)
            .unwrap()
            .complete()
            .unwrap();
        let text = String::from_utf8_lossy(input);
        assert_eq!(resp.status(), status, "{text}");
        assert_eq!(
            resp.validate(&expected).err(),
            Some(ResponseError::Refused { status }),
            "{text}"
        );
        assert_eq!(resp.retry_after(), retry_after, "{text}");
        assert_eq!(resp.body(), body, "{text}");
    }
    let mut headers = [EMPTY_HEADER; 8];
    let (resp, _) = parse_response(cases[0].0, &mut headers, DEFAULT_MAX_HEAD_LEN)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(resp.www_authenticate(), Some("Bearer realm=\"chat\""));
    assert_eq!(resp.content_length(), Some(5));
    assert_eq!(resp.reason(), "Unauthorized");

    // A 101 over HTTP/1.0 is malformed: HTTP/1.0 has no 1xx; its bytes after the head are no body.
    let old = RESPONSE.replacen(b"HTTP/1.1", b"HTTP/1.0");
    let mut headers = [EMPTY_HEADER; 8];
    let (resp, _) = parse_response(&[&old[..], b"\x81\x00"].concat(), &mut headers, 4096)
        .map(|s| s.complete().map(|(r, n)| (r.status(), n)))
        .unwrap()
        .unwrap();
    assert_eq!(resp, 101);
    assert_eq!(validate(&old), Err(ResponseError::Malformed));
    // HTTP/2.0 and 0.9 heads are still malformed.
    for version in [&b"HTTP/2.0"[..], b"HTTP/0.9"] {
        let bad = RESPONSE.replacen(b"HTTP/1.1", version);
        assert_eq!(validate(&bad), Err(ResponseError::Malformed));
    }
}
