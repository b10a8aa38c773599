//! Property tests over every entry point: the handshake heads parse the same at every split of
//! the input (`Partial` until the head ends, then one result), and arbitrary bytes never panic
//! anything, with the fuzz targets' invariants checked (the drivers in `fuzz/src/` are included
//! here, so these properties and the fuzzers assert the same things).
//!
//! Header order and casing acceptance are in `handshake_proptest.rs`; chunking of frames in
//! `proptest_chunking.rs`.

#[allow(dead_code)]
#[path = "../fuzz/src/drive.rs"]
mod drive;
#[allow(dead_code)]
#[path = "../fuzz/src/handshake.rs"]
mod fuzz_handshake;
#[path = "../fuzz/src/stream.rs"]
mod stream;

use httparse::EMPTY_HEADER;
use proptest::prelude::*;
use wsmachine::handshake::client::{parse_response, ClientRequest, Expected};
use wsmachine::handshake::server::{parse_request, ServerOptions};
use wsmachine::handshake::Status;

/// Upper- or lowercases each ASCII letter of `s` as `flips` says.
fn recase(s: &str, flips: &[bool]) -> String {
    s.chars()
        .zip(flips.iter().cycle())
        .map(|(c, &up)| {
            if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// A head: the start line, then `lines` shuffled, recased and optionally one dropped or
/// duplicated (which makes most heads invalid), then the blank line and `tail` (early frames).
fn head(
    start: &str,
    mut lines: Vec<(String, String)>,
    flips: &[bool],
    edit: Option<(usize, bool)>,
    tail: &[u8],
) -> Vec<u8> {
    if let Some((i, duplicate)) = edit {
        let i = i % lines.len();
        if duplicate {
            let line = lines[i].clone();
            lines.push(line);
        } else {
            lines.remove(i);
        }
    }
    let mut text = String::from(start);
    for (name, value) in lines {
        text.push_str(&recase(&name, flips));
        text.push_str(": ");
        text.push_str(&value);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(tail);
    bytes
}

/// The client's request for `nonce`: its key and what the response is checked against.
fn client_request(nonce: &[u8; 16], out: &mut [u8]) -> (String, Expected<'static>) {
    let request = ClientRequest {
        subprotocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate"),
        ..ClientRequest::new("example.com", "/chat")
    };
    let (n, expected) = request.write(nonce, out).unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    (key.to_owned(), expected)
}

/// The accept value for `expected`, as text.
fn accept_text(expected: &Expected<'_>) -> String {
    String::from_utf8(expected.accept().to_vec()).unwrap()
}

/// One parse, comparable: `Ok(None)` for partial, the error's name, or what was parsed.
type Summary<T> = Result<Option<T>, String>;

/// Head length, path, key and subprotocols of a parsed request.
type RequestSummary = (usize, String, String, Vec<String>);

/// Head length, and the subprotocol or the validation error's name.
type ResponseSummary = (usize, Result<Option<String>, String>);

/// A comparable summary of one `parse_request` call.
fn server_summary(input: &[u8]) -> Summary<RequestSummary> {
    let mut headers = [EMPTY_HEADER; 16];
    match parse_request(input, &mut headers, &ServerOptions::default()) {
        Ok(Status::Partial) => Ok(None),
        Ok(Status::Complete((r, n))) => Ok(Some((
            n,
            r.path().to_owned(),
            String::from_utf8_lossy(r.key()).into_owned(),
            r.subprotocols().map(str::to_owned).collect(),
        ))),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// A comparable summary of one `parse_response` + `validate` call.
fn client_summary(input: &[u8], expected: &Expected<'_>) -> Summary<ResponseSummary> {
    let mut headers = [EMPTY_HEADER; 16];
    match parse_response(input, &mut headers, 4096) {
        Ok(Status::Partial) => Ok(None),
        Ok(Status::Complete((r, n))) => Ok(Some((
            n,
            r.validate(expected)
                .map(|a| a.subprotocol().map(str::to_owned))
                .map_err(|e| format!("{e:?}")),
        ))),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// Every prefix of `input` shorter than the head is partial; from the head's end on, every
/// prefix gives the same result as the whole input.
fn check_splits<T: PartialEq + std::fmt::Debug>(
    input: &[u8],
    head_len: usize,
    parse: impl Fn(&[u8]) -> Summary<T>,
) -> Result<(), TestCaseError> {
    let whole = parse(input);
    for cut in 0..=input.len() {
        let got = parse(&input[..cut]);
        if cut < head_len {
            prop_assert_eq!(&got, &Ok(None), "cut {} of a {}-byte head", cut, head_len);
        } else {
            prop_assert_eq!(&got, &whole, "cut {}", cut);
        }
    }
    Ok(())
}

fn edit() -> impl Strategy<Value = Option<(usize, bool)>> {
    prop_oneof![3 => Just(None), 1 => any::<(usize, bool)>().prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn server_parse_is_split_invariant(
        nonce in any::<[u8; 16]>(),
        flips in proptest::collection::vec(any::<bool>(), 1..24),
        order in Just(()).prop_perturb(|(), mut rng| rng.random::<u64>()),
        edit in edit(),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
        protocols in "(chat|superchat|v[0-9])(, ?(chat|superchat|v[0-9])){0,2}",
    ) {
        let mut out = [0u8; 512];
        let (key, _) = client_request(&nonce, &mut out);
        let mut lines = vec![
            ("Host".to_owned(), "example.com".to_owned()),
            ("Upgrade".to_owned(), "websocket".to_owned()),
            ("Connection".to_owned(), "keep-alive, Upgrade".to_owned()),
            ("Sec-WebSocket-Key".to_owned(), key),
            ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
            ("Sec-WebSocket-Protocol".to_owned(), protocols),
            ("Origin".to_owned(), "https://example.com".to_owned()),
        ];
        // A deterministic shuffle from the generated number.
        let mut state = order;
        for i in (1..lines.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lines.swap(i, (state >> 33) as usize % (i + 1));
        }
        let input = head("GET /chat?x=1 HTTP/1.1\r\n", lines, &flips, edit, &tail);
        let head_len = input.len() - tail.len();
        check_splits(&input, head_len, server_summary)?;
        if edit.is_none() {
            let whole = server_summary(&input);
            prop_assert!(matches!(whole, Ok(Some((n, _, _, _))) if n == head_len), "{:?}", whole);
        }
    }

    #[test]
    fn client_parse_is_split_invariant(
        nonce in any::<[u8; 16]>(),
        flips in proptest::collection::vec(any::<bool>(), 1..24),
        reverse in any::<bool>(),
        edit in edit(),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
        protocol in prop_oneof![Just(None), Just(Some("chat")), Just(Some("other"))],
    ) {
        let mut out = [0u8; 512];
        let (_, expected) = client_request(&nonce, &mut out);
        let mut lines = vec![
            ("Upgrade".to_owned(), "websocket".to_owned()),
            ("Connection".to_owned(), "Upgrade".to_owned()),
            ("Sec-WebSocket-Accept".to_owned(), accept_text(&expected)),
        ];
        if let Some(p) = protocol {
            lines.push(("Sec-WebSocket-Protocol".to_owned(), p.to_owned()));
        }
        if reverse {
            lines.reverse();
        }
        let input = head("HTTP/1.1 101 Switching Protocols\r\n", lines, &flips, edit, &tail);
        let head_len = input.len() - tail.len();
        check_splits(&input, head_len, |b| client_summary(b, &expected))?;
        if edit.is_none() {
            let whole = client_summary(&input, &expected);
            let subprotocol = match protocol {
                Some("other") => Err("Subprotocol".to_owned()),
                p => Ok(p.map(str::to_owned)),
            };
            prop_assert_eq!(whole, Ok(Some((head_len, subprotocol))));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_entry_point(
        data in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        drive::frame_header(&data);
        drive::utf8(&data);
        drive::connection_server(&data);
        drive::connection_client(&data);
        fuzz_handshake::server(&data);
        fuzz_handshake::client(&data);
        stream::driver_server(&data);
        let _ = wsmachine::CloseFrame::parse(&data);
    }

    #[test]
    fn the_stream_driver_survives_any_frames_after_a_valid_upgrade(
        flags in any::<u8>(),
        seed in any::<u8>(),
        frames in proptest::collection::vec(
            (any::<u8>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..140)),
            0..8,
        ),
    ) {
        let mut data = vec![flags, seed];
        data.extend_from_slice(
            b"GET /chat?a=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
        );
        for (b0, masked, payload) in &frames {
            data.push(*b0);
            let mask_bit = if *masked { 0x80 } else { 0 };
            data.push(mask_bit | payload.len().min(125) as u8);
            if *masked {
                data.extend_from_slice(&[1, 2, 3, 4]);
            }
            data.extend_from_slice(&payload[..payload.len().min(125)]);
        }
        stream::driver_server(&data);
    }

    #[test]
    fn frame_like_bytes_never_panic_the_connections(
        flags in any::<u8>(),
        seed in any::<u8>(),
        frames in proptest::collection::vec(
            (any::<u8>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..140)),
            0..8,
        ),
    ) {
        // Plausible frames (any first byte, a correct length, masked or not) go deeper than
        // random bytes before the first error.
        let mut stream = vec![flags, seed];
        for (b0, masked, payload) in frames {
            stream.push(b0);
            let mask_bit = if masked { 0x80 } else { 0 };
            match payload.len() {
                n @ 0..=125 => stream.push(mask_bit | n as u8),
                n => {
                    stream.push(mask_bit | 126);
                    stream.extend_from_slice(&(n as u16).to_be_bytes());
                }
            }
            if masked {
                stream.extend_from_slice(&[0x37, 0xfa, 0x21, 0x3d]);
            }
            stream.extend_from_slice(&payload);
        }
        drive::connection_server(&stream);
        drive::connection_client(&stream);
    }
}
