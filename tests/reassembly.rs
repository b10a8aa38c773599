//! The whole-message helper (RFC 6455 §5.4): the reassembler agrees whole and chunked for both
//! storages, overflows with 1009, and reuses its storage.

mod util;

use util::{c2s, drain_transmit, pattern, server_close_bytes, text_of_len};
use wsmachine::message::{Message, Reassembler, SliceStorage, Storage};
use wsmachine::{CloseCode, Config, Connection, ProtocolError, ReceiveError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    messages: Vec<Owned>,
    error: Option<ReceiveError>,
    transmit: Vec<u8>,
}

/// Feeds `bytes` to a fresh server through a 256-byte buffer, `cut` bytes at a time, and
/// collects whole messages with a reassembler over `storage`.
fn reassemble<S: Storage>(bytes: &[u8], cut: usize, storage: S) -> Outcome {
    let mut conn = Connection::server(Config::DEFAULT);
    let mut messages = Reassembler::new(storage);
    let mut rx = [0u8; 256];
    let mut filled = 0;
    let mut fed = 0;
    let mut out = Vec::new();
    let mut error = None;
    'outer: while fed < bytes.len() {
        let n = cut.min(rx.len() - filled).min(bytes.len() - fed);
        assert!(n > 0, "buffer full");
        rx[filled..filled + n].copy_from_slice(&bytes[fed..fed + n]);
        filled += n;
        fed += n;
        loop {
            match messages.receive(&mut conn, &mut rx[..filled]) {
                Ok((consumed, message)) => {
                    let idle = consumed == 0 && message.is_none();
                    if let Some(m) = message {
                        out.push(match m {
                            Message::Text(t) => Owned::Text(t.to_owned()),
                            Message::Binary(b) => Owned::Binary(b.to_vec()),
                            Message::Ping(p) => Owned::Ping(p.to_vec()),
                            Message::Pong(p) => Owned::Pong(p.to_vec()),
                            Message::Close(c) => Owned::Close(c.code.0, c.reason.to_owned()),
                            Message::Encoded { .. } => panic!("no extension was negotiated"),
                        });
                    }
                    rx.copy_within(consumed..filled, 0);
                    filled -= consumed;
                    if idle {
                        break;
                    }
                }
                Err(e) => {
                    error = Some(e);
                    break 'outer;
                }
            }
        }
    }
    if error.is_some() {
        let mut empty = [0u8; 0];
        assert_eq!(
            messages
                .receive(&mut conn, &mut empty)
                .map(|(n, m)| (n, m.is_none())),
            Ok((0, true)),
            "no input is never an error"
        );
        let mut more = [0x81u8, 0x80, 0, 0, 0, 0];
        assert_eq!(
            messages.receive(&mut conn, &mut more).map(|(n, _)| n),
            Err(ReceiveError::Closed)
        );
    }
    Outcome {
        messages: out,
        error,
        transmit: drain_transmit(&mut conn),
    }
}

fn reassembly_stream() -> (Vec<u8>, Vec<Owned>) {
    let t = text_of_len(100);
    let b = pattern(64, 1);
    let mut bytes = Vec::new();
    // Single-frame text, fragmented binary with a ping between fragments, empty messages.
    bytes.extend(c2s(true, 0x1, t.as_bytes()));
    bytes.extend(c2s(false, 0x2, &b[..10]));
    bytes.extend(c2s(true, 0x9, b"between"));
    bytes.extend(c2s(false, 0x0, &b[10..]));
    bytes.extend(c2s(true, 0x0, b""));
    bytes.extend(c2s(true, 0x1, b""));
    bytes.extend(c2s(false, 0x2, b""));
    bytes.extend(c2s(true, 0x0, b""));
    bytes.extend(c2s(true, 0xA, b"pong"));
    bytes.extend(c2s(true, 0x8, b"\x03\xe8done"));
    let want = vec![
        Owned::Text(t),
        Owned::Ping(b"between".to_vec()),
        Owned::Binary(b),
        Owned::Text(String::new()),
        Owned::Binary(Vec::new()),
        Owned::Pong(b"pong".to_vec()),
        Owned::Close(1000, "done".into()),
    ];
    (bytes, want)
}

#[test]
fn reassembler_whole_and_chunked_agree_for_both_storages() {
    let (bytes, want) = reassembly_stream();
    for cut in [1, 2, 3, 7, 64, 256] {
        let mut buf = [0u8; 128];
        let a = reassemble(&bytes, cut, SliceStorage::new(&mut buf));
        let b = reassemble(&bytes, cut, heapless::Vec::<u8, 128>::new());
        assert_eq!(a.messages, want, "slice, cut {cut}");
        assert_eq!(a, b, "cut {cut}");
        assert_eq!(a.error, None);
        // The close was echoed.
        assert_eq!(
            a.transmit,
            [0x8a, 0x07, b'b', b'e', b't', b'w', b'e', b'e', b'n', 0x88, 0x02, 0x03, 0xe8]
        );
    }
}

#[test]
fn reassembler_overflow_fails_with_1009_whole_or_chunked() {
    // 65 bytes into 64 bytes of storage: in one frame (whole-in-one-chunk when the cut allows),
    // and fragmented.
    let big = pattern(65, 9);
    let single = c2s(true, 0x2, &big);
    let mut fragmented = c2s(false, 0x2, &big[..40]);
    fragmented.extend(c2s(true, 0x0, &big[40..]));
    let exact = c2s(true, 0x2, &big[..64]);
    for cut in [1, 5, 256] {
        for bytes in [&single, &fragmented] {
            let mut buf = [0u8; 64];
            let a = reassemble(bytes, cut, SliceStorage::new(&mut buf));
            let b = reassemble(bytes, cut, heapless::Vec::<u8, 64>::new());
            assert_eq!(
                a.error,
                Some(ReceiveError::Protocol(ProtocolError::MessageTooBig))
            );
            assert_eq!(a.messages, []);
            assert_eq!(a.transmit, server_close_bytes(CloseCode::TOO_BIG));
            assert_eq!(a, b);
        }
        let mut buf = [0u8; 64];
        let ok = reassemble(&exact, cut, SliceStorage::new(&mut buf));
        assert_eq!(
            ok.messages,
            [Owned::Binary(big[..64].to_vec())],
            "cut {cut}"
        );
        assert_eq!(ok.error, None);
    }
}

#[test]
fn reassembler_storage_is_reused_across_messages() {
    let mut bytes = Vec::new();
    for i in 0..20u8 {
        let len = usize::from(i) * 3;
        bytes.extend(c2s(false, 0x2, &vec![i; len / 2]));
        bytes.extend(c2s(true, 0x0, &vec![i; len - len / 2]));
    }
    let out = reassemble(&bytes, 11, heapless::Vec::<u8, 64>::new());
    let want: Vec<Owned> = (0..20u8)
        .map(|i| Owned::Binary(vec![i; usize::from(i) * 3]))
        .collect();
    assert_eq!(out.messages, want);
}
