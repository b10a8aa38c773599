//! RFC 6455 §5.5.1, §7.4, §8.1 and §10.4 payload MUSTs a peer can break: invalid UTF-8 (1007,
//! failing fast as the bad byte arrives), close payloads and codes (1002), and the size limits
//! (1009).

mod rejection;
mod util;

use rejection::*;
use util::{
    assert_client_close_bytes, c2s, client, drain_transmit, frame, s2c, server_close_bytes, Ev,
    Receiver,
};
use wsmachine::{CloseCode, Connection, DataKind, ProtocolError, ReceiveError};

#[test]
fn invalid_utf8_in_one_frame() {
    for bad in [
        &b"\xff"[..],
        b"ab\xc0\xafcd",     // overlong
        b"\xed\xa0\x80",     // surrogate
        b"\xf4\x90\x80\x80", // above U+10FFFF
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        b"\x80",
    ] {
        both_reject(
            |key| frame(true, 0, 0x1, key, bad),
            ProtocolError::InvalidUtf8,
            1007,
        );
    }
}

#[test]
fn invalid_utf8_split_across_fragments() {
    // E2 82 28: a three-byte sequence broken at its third byte, which is in the next fragment.
    both_reject(
        |key| {
            [
                frame(false, 0, 0x1, key, b"ok \xe2\x82"),
                frame(true, 0, 0x0, key, b"\x28"),
            ]
            .concat()
        },
        ProtocolError::InvalidUtf8,
        1007,
    );
    // With an empty fragment and a ping between the halves.
    both_reject(
        |key| {
            [
                frame(false, 0, 0x1, key, b"\xf0\x9f"),
                frame(false, 0, 0x0, key, b""),
                frame(true, 0, 0x9, key, b"p"),
                frame(true, 0, 0x0, key, b"\x98\x41"),
            ]
            .concat()
        },
        ProtocolError::InvalidUtf8,
        1007,
    );
    // The same split with valid bytes is accepted.
    let bytes = [
        c2s(false, 0x1, b"\xf0\x9f"),
        c2s(false, 0x0, b""),
        c2s(true, 0x9, b"p"),
        c2s(true, 0x0, b"\x98\x80"),
    ]
    .concat();
    assert_eq!(
        accepts(server(), &bytes),
        [
            Ev::Ping(b"p".to_vec()),
            Ev::Message(DataKind::Text, "\u{1f600}".as_bytes().to_vec())
        ]
    );
}

#[test]
fn invalid_utf8_fails_fast_as_the_bad_byte_arrives() {
    // 100 bytes of text, the 11th byte bad: one-byte pieces fail at that byte, long before
    // the frame is complete.
    let mut payload = vec![b'a'; 100];
    payload[10] = 0xff;
    let at = server_rejects(&c2s(true, 0x1, &payload), ProtocolError::InvalidUtf8, 1007);
    assert_eq!(at, 6 + 11);
    let at = client_rejects(&s2c(true, 0x1, &payload), ProtocolError::InvalidUtf8, 1007);
    assert_eq!(at, 2 + 11);
    // A surrogate is refused at its second byte.
    let mut payload = vec![b'b'; 50];
    payload[20] = 0xed;
    payload[21] = 0xa0;
    payload[22] = 0x80;
    let at = client_rejects(&s2c(true, 0x1, &payload), ProtocolError::InvalidUtf8, 1007);
    assert_eq!(at, 2 + 22);
    // In a non-final fragment, before its end and before the message's end.
    let mut bytes = s2c(false, 0x1, b"\xe2\x82\xac\xf0\x28xxxxxxxx");
    bytes.extend(s2c(true, 0x0, b"tail"));
    let at = client_rejects(&bytes, ProtocolError::InvalidUtf8, 1007);
    assert_eq!(at, 2 + 5);
}

#[test]
fn truncated_utf8_at_the_end_of_a_message() {
    for tail in [&b"\xe2\x82"[..], b"\xf0", b"\xf0\x9f\x98", b"\xc3"] {
        let payload = [&b"fine "[..], tail].concat();
        both_reject(
            |key| frame(true, 0, 0x1, key, &payload),
            ProtocolError::InvalidUtf8,
            1007,
        );
        // Ended by an empty final fragment.
        both_reject(
            |key| {
                [
                    frame(false, 0, 0x1, key, &payload),
                    frame(true, 0, 0x0, key, b""),
                ]
                .concat()
            },
            ProtocolError::InvalidUtf8,
            1007,
        );
    }
    // Binary messages are not checked.
    assert_eq!(
        accepts(server(), &c2s(true, 0x2, b"\xf0")),
        [Ev::Message(DataKind::Binary, b"\xf0".to_vec())]
    );
}

/// A server unmasks a text payload and, on 64-bit targets, learns in the same pass whether it
/// is valid (all ASCII, or with AVX2 checked as UTF-8), which the UTF-8 check then skips but
/// for its last character. One byte that is not ASCII is still found wherever it lies, at
/// every length around the word, block and aligned-bulk edges, the frame taken whole or in
/// pieces; a valid character there is still accepted.
#[test]
fn one_non_ascii_byte_anywhere_in_ascii_text() {
    let cuts: [&[usize]; 4] = [&[usize::MAX], &[1], &[3, 1, 7, 2], &[300]];
    let lens = [
        1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 200, 255, 256, 257, 300, 1029, 4099,
    ];
    for len in lens {
        let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let header = if len < 126 { 6 } else { 8 };
        for at in [0, len / 2, len - 1] {
            for (bad, accepted) in [
                (&b"\xff"[..], false),
                (b"\x80", false),
                ("é".as_bytes(), true),
            ] {
                let mut payload = text.clone();
                payload.splice(at..=at, bad.iter().copied());
                let bytes = c2s(true, 0x1, &payload);
                for cuts in cuts {
                    let mut conn = server();
                    let mut rx = Receiver::new(bytes.len() + 64);
                    rx.feed(&mut conn, &bytes, cuts);
                    let what = format!("len {len}, {bad:x?} at {at}, cuts {cuts:?}");
                    if accepted {
                        assert_eq!(rx.error, None, "{what}");
                        assert_eq!(rx.events, [Ev::Message(DataKind::Text, payload.clone())]);
                    } else {
                        assert_eq!(
                            rx.error,
                            Some(ReceiveError::Protocol(ProtocolError::InvalidUtf8)),
                            "{what}"
                        );
                        if cuts == [1] {
                            assert_eq!(rx.error_at, Some(header + at + 1), "{what}");
                        }
                    }
                }
            }
        }
        let bytes = c2s(true, 0x1, &text);
        assert_eq!(
            accepts(server(), &bytes),
            [Ev::Message(DataKind::Text, text)]
        );
    }
}

/// A server unmasks long text and, on x86_64 with AVX2, checks it as UTF-8 in the same pass.
/// Text of Chinese, emoji and ASCII is accepted at every length around where that pass starts
/// and its 256-byte groups end, whole and in pieces that cut characters; a surrogate, an
/// overlong form, a byte that leads nothing or a stray continuation byte is found wherever it
/// lies, and fails the connection at that byte when the frame arrives a byte at a time.
#[test]
fn mixed_text_with_one_bad_sequence_anywhere() {
    let cuts: [&[usize]; 4] = [&[usize::MAX], &[1], &[5, 1, 300, 2], &[257]];
    let pieces = [
        "WebSocket 协议在一个连接上传输消息。",
        "😀🚀 ",
        "price=101.25; ",
        "✓ é ",
    ];
    let mixed: Vec<u8> = pieces
        .iter()
        .cycle()
        .flat_map(|p| p.bytes())
        .take(5000)
        .collect();
    for len in [255, 256, 257, 286, 287, 288, 300, 543, 544, 545, 1029, 4099] {
        // Cut back to a character boundary.
        let end = (0..=len).rev().find(|&i| mixed[i] & 0xC0 != 0x80).unwrap();
        let text = &mixed[..end];
        let bytes = c2s(true, 0x1, text);
        for cuts in cuts {
            let mut conn = server();
            let mut rx = Receiver::new(bytes.len() + 64);
            rx.feed(&mut conn, &bytes, cuts);
            assert_eq!(rx.error, None, "len {end}, cuts {cuts:?}");
            assert_eq!(rx.events, [Ev::Message(DataKind::Text, text.to_vec())]);
        }
        let boundary = |i: usize| (0..=i).rev().find(|&i| text[i] & 0xC0 != 0x80).unwrap();
        for at in [0, 40, end / 2, end - 5].map(boundary) {
            // Where each sequence goes wrong: the byte that cannot follow.
            for (bad, wrong) in [
                (&b"\xed\xa0\x80"[..], 1),
                (b"\xe0\x80\x80", 1),
                (b"\xf5\x80\x80\x80", 0),
                (b"\x80", 0),
            ] {
                let mut payload = text.to_vec();
                payload.splice(at..at, bad.iter().copied());
                let bytes = c2s(true, 0x1, &payload);
                for cuts in cuts {
                    let mut conn = server();
                    let mut rx = Receiver::new(bytes.len() + 64);
                    rx.feed(&mut conn, &bytes, cuts);
                    let what = format!("len {end}, {bad:x?} at {at}, cuts {cuts:?}");
                    assert_eq!(
                        rx.error,
                        Some(ReceiveError::Protocol(ProtocolError::InvalidUtf8)),
                        "{what}"
                    );
                    if cuts == [1] {
                        let header = if payload.len() < 126 { 6 } else { 8 };
                        assert_eq!(rx.error_at, Some(header + at + wrong + 1), "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn close_payload_of_one_byte() {
    both_reject(
        |key| frame(true, 0, 0x8, key, b"\x03"),
        ProtocolError::InvalidClosePayload,
        1002,
    );
}

#[test]
fn invalid_close_codes() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        both_reject(
            |key| frame(true, 0, 0x8, key, &code.to_be_bytes()),
            ProtocolError::InvalidCloseCode,
            1002,
        );
    }
    // The valid ones are echoed.
    for code in [1000u16, 1003, 1007, 1014, 3000, 4999] {
        let mut conn = server();
        let events = accepts_into(&mut conn, &c2s(true, 0x8, &code.to_be_bytes()));
        assert_eq!(events, [Ev::Close(code, String::new())]);
        assert_eq!(
            drain_transmit(&mut conn),
            server_close_bytes(CloseCode(code))
        );
        assert!(conn.is_closed());
    }
}

#[test]
fn close_reason_that_is_not_utf8() {
    for reason in [&b"\xff"[..], b"bye \xe2\x82", b"\xed\xa0\x80"] {
        let payload = [&b"\x03\xe8"[..], reason].concat();
        both_reject(
            |key| frame(true, 0, 0x8, key, &payload),
            ProtocolError::InvalidUtf8,
            1007,
        );
    }
}

#[test]
fn frame_over_max_frame_size() {
    let config = limited(100, 1000);
    let at = rejects(
        || Connection::server(config),
        &c2s(true, 0x2, &[0; 101]),
        ProtocolError::FrameTooBig,
        1009,
        server_exact,
    );
    // Refused at the header, before any payload.
    assert_eq!(at, 2 + 4);
    rejects(
        || client(config, 1),
        &[s2c(false, 0x1, b"a"), s2c(true, 0x0, &[b'b'; 101])].concat(),
        ProtocolError::FrameTooBig,
        1009,
        assert_client_close_bytes,
    );
    // A huge announced length is refused the same way.
    rejects(
        || Connection::server(config),
        &raw_header(0x82, 127, &(1u64 << 62).to_be_bytes(), Some(KEY)),
        ProtocolError::FrameTooBig,
        1009,
        server_exact,
    );
    assert_eq!(
        accepts(Connection::server(config), &c2s(true, 0x2, &[0; 100])),
        [Ev::Message(DataKind::Binary, vec![0; 100])]
    );
}

#[test]
fn message_over_max_message_size() {
    let config = limited(100, 150);
    let first = c2s(false, 0x2, &[1; 100]);
    let bytes = [first.clone(), c2s(true, 0x0, &[2; 51])].concat();
    let at = rejects(
        || Connection::server(config),
        &bytes,
        ProtocolError::MessageTooBig,
        1009,
        server_exact,
    );
    // Refused at the second header, before its payload.
    assert_eq!(at, first.len() + 6);
    // Many small fragments add up too.
    let mut bytes = s2c(false, 0x1, &[b'x'; 50]);
    for _ in 0..2 {
        bytes.extend(s2c(false, 0x0, &[b'x'; 50]));
    }
    bytes.extend(s2c(true, 0x0, b"x"));
    rejects(
        || client(config, 2),
        &bytes,
        ProtocolError::MessageTooBig,
        1009,
        assert_client_close_bytes,
    );
    // Exactly at the limit is fine, and the count starts over with the next message.
    let ok = [
        c2s(false, 0x2, &[1; 100]),
        c2s(true, 0x0, &[2; 50]),
        c2s(false, 0x2, &[3; 100]),
        c2s(true, 0x0, &[4; 50]),
    ]
    .concat();
    assert_eq!(accepts(Connection::server(config), &ok).len(), 2);
}
