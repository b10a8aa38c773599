//! Property tests of the opening handshake (RFC 6455 §4): header order, name casing and list
//! whitespace do not matter; no input or caller string makes anything panic.

use httparse::EMPTY_HEADER;
use proptest::prelude::*;
use wsmachine::handshake::client::{parse_response, ClientRequest};
use wsmachine::handshake::h2;
use wsmachine::handshake::server::{parse_request, write_rejection, Accept, ServerOptions};
use wsmachine::handshake::{accept_key, Rejection, Status};

/// Upper- or lowercases each ASCII letter of `s` as `flips` says.
fn recase(s: &str, flips: &[bool]) -> String {
    s.chars()
        .zip(flips.iter().cycle())
        .map(|(c, up)| {
            if *up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Optional whitespace as RFC 7230 allows it around list elements.
fn ows() -> impl Strategy<Value = String> {
    "[ \t]{0,3}"
}

/// A comma-separated list of `items` with arbitrary OWS and empty elements around them.
fn list(items: Vec<String>) -> impl Strategy<Value = String> {
    let n = items.len();
    (
        proptest::collection::vec((ows(), ows(), any::<bool>()), n),
        ows(),
    )
        .prop_map(move |(seps, lead)| {
            let mut out = lead;
            for (i, (item, (before, after, empty))) in items.iter().zip(seps).enumerate() {
                if i > 0 {
                    out.push_str(&before);
                    out.push(',');
                    out.push_str(&after);
                }
                if empty {
                    out.push(',');
                    out.push_str(&after);
                }
                out.push_str(item);
            }
            out
        })
}

fn tokens_around(wanted: &'static str) -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[a-z][a-z0-9-]{0,8}", 0..3),
        proptest::collection::vec("[a-z][a-z0-9-]{0,8}", 0..3),
        proptest::collection::vec(any::<bool>(), 8),
    )
        .prop_flat_map(move |(before, after, flips)| {
            let mut items = before;
            items.push(recase(wanted, &flips));
            items.extend(after);
            list(items)
        })
}

prop_compose! {
    fn valid_request()(
        connection in tokens_around("upgrade"),
        upgrade in tokens_around("websocket"),
        protocols in list(vec!["chat".into(), "v2.chat".into()]),
        nonce in any::<[u8; 16]>(),
        flips in proptest::collection::vec(any::<bool>(), 24),
        noise in proptest::collection::vec(("x-[a-z]{1,6}", "[ -~]{0,20}"), 0..4),
    )(
        lines in Just({
            let key = base64_of(&nonce);
            let mut lines = vec![
                ("host".to_owned(), "example.com".to_owned()),
                ("upgrade".to_owned(), upgrade),
                ("connection".to_owned(), connection),
                ("sec-websocket-key".to_owned(), key),
                ("sec-websocket-version".to_owned(), "13".to_owned()),
                ("sec-websocket-protocol".to_owned(), protocols),
            ];
            lines.extend(noise);
            lines
        }).prop_shuffle(),
        flips in Just(flips),
        nonce in Just(nonce),
    ) -> (Vec<u8>, [u8; 16]) {
        let mut text = String::from("GET /ws HTTP/1.1\r\n");
        for (name, value) in lines {
            text.push_str(&recase(&name, &flips));
            text.push_str(": ");
            text.push_str(&value);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        (text.into_bytes(), nonce)
    }
}

fn base64_of(nonce: &[u8; 16]) -> String {
    // Through the client, so the test does not need its own base64.
    let mut out = [0u8; 512];
    let (n, _) = ClientRequest::new("a", "/").write(nonce, &mut out).unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Sec-WebSocket-Key: "))
        .unwrap();
    line["Sec-WebSocket-Key: ".len()..].to_owned()
}

proptest! {
    #[test]
    fn any_order_casing_and_list_whitespace_is_accepted((input, nonce) in valid_request()) {
        let mut headers = [EMPTY_HEADER; 16];
        let parsed = parse_request(&input, &mut headers, &ServerOptions::default());
        let Ok(Status::Complete((req, consumed))) = parsed else {
            return Err(TestCaseError::fail(format!("{parsed:?}\n{}", String::from_utf8_lossy(&input))));
        };
        prop_assert_eq!(consumed, input.len());
        prop_assert_eq!(req.subprotocols().collect::<Vec<_>>(), ["chat", "v2.chat"]);
        let key = base64_of(&nonce);
        prop_assert_eq!(req.key(), key.as_bytes());
        let mut out = [0u8; 512];
        let n = req.accept(&Accept { subprotocol: Some("v2.chat"), ..Accept::default() }, &mut out).unwrap();
        let accept = accept_key(req.key());
        let text = std::str::from_utf8(&out[..n]).unwrap();
        prop_assert!(text.contains(std::str::from_utf8(&accept).unwrap()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..600),
        n_headers in 0usize..20,
        max in 0usize..700,
    ) {
        let mut headers = vec![EMPTY_HEADER; n_headers];
        let opts = ServerOptions { max_head_len: max, ..ServerOptions::default() };
        if let Ok(Status::Complete((req, n))) = parse_request(&input, &mut headers, &opts) {
            prop_assert!(n <= input.len());
            let _ = (req.path(), req.query(), req.subprotocols().count());
            for e in req.extensions() { let _ = e.params().count(); }
            let _ = req.accept(&Accept::default(), &mut [0u8; 64]);
        }
        let mut headers = vec![EMPTY_HEADER; n_headers];
        if let Ok(Status::Complete((resp, n))) = parse_response(&input, &mut headers, max) {
            prop_assert!(n <= input.len());
            let (_, expected) = ClientRequest { subprotocols: &["a"], extensions: Some("b"), ..ClientRequest::new("h", "/") }
                .write(&[0; 16], &mut [0u8; 512]).unwrap();
            if let Ok(acc) = resp.validate(&expected) {
                for e in acc.extensions() { let _ = e.params().count(); }
            }
        }
    }

    #[test]
    fn mutated_requests_never_panic(
        (input, _) in valid_request(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut input = input;
        for (i, b) in edits {
            let i = i.index(input.len());
            input[i] = b;
        }
        let input = &input[..cut.index(input.len() + 1)];
        let mut headers = [EMPTY_HEADER; 16];
        match parse_request(input, &mut headers, &ServerOptions::default()) {
            Ok(Status::Complete((req, _))) => {
                for e in req.extensions() { let _ = e.params().count(); }
                let _ = req.accept(&Accept::default(), &mut [0u8; 300]);
            }
            Ok(Status::Partial) => {}
            Err(e) => {
                let mut out = [0u8; 256];
                let n = write_rejection(e, &mut out).unwrap();
                prop_assert!(out[..n].starts_with(b"HTTP/1.1 4"));
            }
        }
    }

    #[test]
    fn arbitrary_caller_strings_never_panic_or_inject(
        host in "\\PC{0,12}",
        path in "\\PC{0,12}",
        proto in "[ -~\r\n]{0,8}",
        ext in "[ -~\r\n]{0,12}",
        name in "[ -~\r\n]{0,8}",
        value in "[ -~\r\n]{0,8}",
        port in any::<u16>(),
        secure in any::<bool>(),
        len in 0usize..400,
    ) {
        let protos = [proto.as_str()];
        let extra = [(name.as_str(), value.as_str())];
        let req = ClientRequest {
            port, secure, subprotocols: &protos, extensions: Some(&ext), extra_headers: &extra,
            ..ClientRequest::new(&host, &path)
        };
        let mut out = vec![0u8; len];
        if let Ok((n, _)) = req.write(&[1; 16], &mut out) {
            // What was written parses back as a request, with the same number of header lines.
            let mut headers = [EMPTY_HEADER; 16];
            let parsed = parse_request(&out[..n], &mut headers, &ServerOptions::default());
            let Ok(Status::Complete((r, m))) = parsed else {
                return Err(TestCaseError::fail(format!("{parsed:?}")));
            };
            prop_assert_eq!(m, n);
            prop_assert_eq!(r.headers().len(), 8);
        }
        let fields = h2::ConnectRequest {
            scheme: "https", authority: &host, path: &path, origin: None,
            subprotocols: &protos, extensions: Some(&ext),
        };
        let mut pairs = [("", ""); 8];
        if let Ok(n) = fields.write_fields(&mut pairs) {
            prop_assert!(h2::parse_connect(pairs[..n].iter().copied()).is_ok());
        }
    }

    /// One rule for caller headers (RFC 9110 §5.5): the 101, a rejection and the client's
    /// request accept or refuse the same header with the same error, and what one writes is a
    /// single line that reads back as that header.
    #[test]
    fn every_writer_checks_extra_headers_alike(
        name in "[ -~\r\n\t\0\u{e9}]{0,10}|[Cc]ontent-[Ll]ength|TE|[Ss]ec-[Ww]eb[Ss]ocket-[A-Za-z]{0,6}",
        value in "[ -~\r\n\t\0\u{7f}\u{e9}]{0,12}",
    ) {
        let headers = [(name.as_str(), value.as_str())];
        let mut out = [0u8; 512];
        let mut request_headers = [EMPTY_HEADER; 16];
        let (request, _) = parse_request(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\n\r\n", &mut request_headers, &ServerOptions::default())
            .unwrap().complete().unwrap();
        let accept = Accept { extra_headers: &headers, ..Accept::default() };
        let results = [
            request.accept(&accept, &mut out).map(|n| out[..n].to_vec()),
            Rejection { headers: &headers, ..Rejection::forbidden() }
                .write(&mut out).map(|n| out[..n].to_vec()),
            ClientRequest { extra_headers: &headers, ..ClientRequest::new("a", "/") }
                .write(&[0; 16], &mut out).map(|(n, _)| out[..n].to_vec()),
        ];
        let verdicts: Vec<_> = results.iter().map(|r| r.as_ref().err().copied()).collect();
        prop_assert!(verdicts.iter().all(|v| *v == verdicts[0]), "{:?}", verdicts);
        if verdicts[0].is_none() {
            let line = format!("\r\n{name}: {value}\r\n");
            for written in results.iter().flatten() {
                prop_assert!(written.windows(line.len()).any(|w| w == line.as_bytes()));
                // CR and LF appear only as line ends.
                let crlf = written.windows(2).filter(|w| w == b"\r\n").count();
                let cr = written.iter().filter(|&&b| b == b'\r').count();
                let lf = written.iter().filter(|&&b| b == b'\n').count();
                prop_assert!(cr == crlf && lf == crlf);
            }
        }
    }
}
