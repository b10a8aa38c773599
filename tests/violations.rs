//! Every MUST of RFC 6455 that a peer can break, from the receiving side: the exact error, the
//! exact close frame queued for `poll_transmit` (1002, 1007 or 1009), and a dead connection
//! afterwards. Each violation is fed whole, one byte at a time, and in uneven pieces.

mod util;

use util::{
    assert_client_close_bytes, c2s, client, drain_transmit, frame, s2c, server_close_bytes,
    ClientConn, Ev, Receiver,
};
use wsmachine::connection::Endpoint;
use wsmachine::wire::frame::{RSV1, RSV2, RSV3};
use wsmachine::{
    CloseCode, CloseOutcome, Config, Connection, DataKind, ProtocolError, ReceiveError, SendError,
    Server, State,
};

const KEY: [u8; 4] = [0xA1, 0xB2, 0xC3, 0xD4];
const CUTS: [&[usize]; 3] = [&[usize::MAX], &[1], &[3, 1, 7, 2]];

/// Feeds `bytes` and checks the connection failed with `err`, owes exactly one close frame
/// with `code`, and is dead afterwards. Returns how many bytes had been delivered when the
/// error came, at one-byte pieces.
fn rejects<E: Endpoint>(
    mut make: impl FnMut() -> Connection<E>,
    bytes: &[u8],
    err: ProtocolError,
    code: u16,
    check_close: impl Fn(&[u8], CloseCode),
) -> usize {
    assert_eq!(err.close_code(), CloseCode(code), "{err:?} maps to {code}");
    let mut error_at = 0;
    for cuts in CUTS {
        let mut conn = make();
        let mut rx = Receiver::new(256);
        rx.feed(&mut conn, bytes, cuts);
        assert_eq!(
            rx.error,
            Some(ReceiveError::Protocol(err)),
            "cuts {cuts:?}, events {:?}",
            rx.events
        );
        assert_eq!(
            rx.error.and_then(ReceiveError::close_code),
            Some(CloseCode(code))
        );
        assert!(!conn.is_open());
        assert!(!conn.is_closed(), "closed before the close frame went out");
        assert!(conn.wants_transmit());
        let tx = drain_transmit(&mut conn);
        check_close(&tx, CloseCode(code));
        assert!(conn.is_closed());
        assert!(!conn.wants_transmit());
        assert_dead(&mut conn);
        if cuts == [1] {
            error_at = rx.error_at.unwrap_or_default();
        }
    }
    error_at
}

/// A failed connection takes no input, sends nothing and runs no timers.
fn assert_dead<E: Endpoint>(conn: &mut Connection<E>) {
    let mut more = c2s(true, 0x2, b"more");
    assert_eq!(conn.receive(&mut more), Err(ReceiveError::Closed));
    let nothing = conn
        .receive(&mut [])
        .map(|r| (r.consumed, r.event.is_none()));
    assert_eq!(nothing, Ok((0, true)), "no input is never an error");
    assert_eq!(conn.state(), wsmachine::State::Closed);
    let mut out = [0u8; 64];
    assert_eq!(conn.send_text("x", &mut out), Err(SendError::Closed));
    assert_eq!(conn.send_ping(b"", &mut out), Err(SendError::Closed));
    assert_eq!(
        conn.send_close(CloseCode::NORMAL, "", &mut out),
        Err(SendError::Closed)
    );
    assert_eq!(conn.poll_transmit(&mut out), Ok(0));
    assert_eq!(conn.poll_timeout(), None);
    assert_eq!(conn.handle_timeout(u64::MAX), None);
}

fn server_exact(bytes: &[u8], code: CloseCode) {
    assert_eq!(bytes, &server_close_bytes(code)[..]);
}

fn server() -> Connection<Server> {
    Connection::server(Config::DEFAULT)
}

fn the_client() -> ClientConn {
    client(Config::DEFAULT, 5)
}

fn server_rejects(bytes: &[u8], err: ProtocolError, code: u16) -> usize {
    rejects(server, bytes, err, code, server_exact)
}

fn client_rejects(bytes: &[u8], err: ProtocolError, code: u16) -> usize {
    rejects(the_client, bytes, err, code, assert_client_close_bytes)
}

/// Both roles, each receiving the frame the way the peer would send it.
fn both_reject(opcode_frames: impl Fn(Option<[u8; 4]>) -> Vec<u8>, err: ProtocolError, code: u16) {
    server_rejects(&opcode_frames(Some(KEY)), err, code);
    client_rejects(&opcode_frames(None), err, code);
}

fn accepts<E: Endpoint>(mut conn: Connection<E>, bytes: &[u8]) -> Vec<Ev> {
    let mut rx = Receiver::new(256);
    rx.feed(&mut conn, bytes, &[usize::MAX]);
    assert_eq!(rx.error, None);
    rx.events
}

#[test]
fn server_rejects_unmasked_frames() {
    server_rejects(&s2c(true, 0x1, b"hi"), ProtocolError::UnmaskedFrame, 1002);
    server_rejects(&s2c(true, 0x9, b""), ProtocolError::UnmaskedFrame, 1002);
    server_rejects(
        &s2c(true, 0x8, b"\x03\xe8"),
        ProtocolError::UnmaskedFrame,
        1002,
    );
    // An unmasked continuation of a masked start.
    let mut bytes = c2s(false, 0x2, b"a");
    bytes.extend(s2c(true, 0x0, b"b"));
    server_rejects(&bytes, ProtocolError::UnmaskedFrame, 1002);
}

#[test]
fn client_rejects_masked_frames() {
    client_rejects(&c2s(true, 0x1, b"hi"), ProtocolError::MaskedFrame, 1002);
    client_rejects(&c2s(true, 0xA, b"x"), ProtocolError::MaskedFrame, 1002);
    // Masked with the all-zero key is still masked.
    client_rejects(
        &frame(true, 0, 0x2, Some([0; 4]), b"x"),
        ProtocolError::MaskedFrame,
        1002,
    );
}

#[test]
fn rsv_bits_need_an_extension() {
    for rsv in [RSV1, RSV2, RSV3, RSV1 | RSV3, 0b111] {
        for opcode in [0x1, 0x2, 0x9] {
            both_reject(
                |key| frame(true, rsv, opcode, key, b"x"),
                ProtocolError::ReservedBits,
                1002,
            );
        }
        // On a continuation frame too.
        both_reject(
            |key| {
                [
                    frame(false, 0, 0x2, key, b"x"),
                    frame(true, rsv, 0x0, key, b"y"),
                ]
                .concat()
            },
            ProtocolError::ReservedBits,
            1002,
        );
    }
    // An extension that claims RSV1 allows RSV1 only.
    let rsv1 = Config {
        allowed_rsv: RSV1,
        ..Config::DEFAULT
    };
    let events = accepts(
        Connection::server(rsv1),
        &frame(true, RSV1, 0x2, Some(KEY), b"z"),
    );
    assert_eq!(events, [Ev::Message(DataKind::Binary, b"z".to_vec())]);
    rejects(
        || Connection::server(rsv1),
        &frame(true, RSV2, 0x2, Some(KEY), b"z"),
        ProtocolError::ReservedBits,
        1002,
        server_exact,
    );
}

#[test]
fn reserved_opcodes() {
    for opcode in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        both_reject(
            |key| frame(true, 0, opcode, key, b""),
            ProtocolError::ReservedOpcode,
            1002,
        );
        // Inside a fragmented message as well.
        both_reject(
            |key| {
                [
                    frame(false, 0, 0x1, key, b"a"),
                    frame(true, 0, opcode, key, b"b"),
                ]
                .concat()
            },
            ProtocolError::ReservedOpcode,
            1002,
        );
    }
}

#[test]
fn continuation_without_a_start() {
    both_reject(
        |key| frame(true, 0, 0x0, key, b"x"),
        ProtocolError::UnexpectedContinuation,
        1002,
    );
    both_reject(
        |key| frame(false, 0, 0x0, key, b""),
        ProtocolError::UnexpectedContinuation,
        1002,
    );
    // After a finished message.
    both_reject(
        |key| {
            [
                frame(true, 0, 0x1, key, b"done"),
                frame(true, 0, 0x0, key, b"x"),
            ]
            .concat()
        },
        ProtocolError::UnexpectedContinuation,
        1002,
    );
}

#[test]
fn new_message_inside_a_fragmented_one() {
    for (first, second) in [(0x1, 0x1), (0x1, 0x2), (0x2, 0x1), (0x2, 0x2)] {
        both_reject(
            |key| {
                [
                    frame(false, 0, first, key, b"a"),
                    frame(true, 0, 0x9, key, b"ping in between is fine"),
                    frame(true, 0, second, key, b"b"),
                ]
                .concat()
            },
            ProtocolError::ExpectedContinuation,
            1002,
        );
    }
}

/// A frame header with an explicit 7-bit length field and extended length, for lengths the
/// crate's encoder would never produce.
fn raw_header(b0: u8, len7: u8, ext: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0, len7 | if key.is_some() { 0x80 } else { 0 }];
    out.extend_from_slice(ext);
    if let Some(k) = key {
        out.extend_from_slice(&k);
    }
    out
}

#[test]
fn control_frames_over_125_bytes() {
    for opcode in [0x8, 0x9, 0xA] {
        both_reject(
            |key| {
                let mut f = raw_header(0x80 | opcode, 126, &[0, 126], key);
                f.extend(vec![b'x'; 126]);
                f
            },
            ProtocolError::ControlFrameTooLong,
            1002,
        );
        both_reject(
            |key| raw_header(0x80 | opcode, 127, &65536u64.to_be_bytes(), key),
            ProtocolError::ControlFrameTooLong,
            1002,
        );
    }
    // 125 is fine.
    let events = accepts(server(), &c2s(true, 0x9, &[1; 125]));
    assert_eq!(events, [Ev::Ping(vec![1; 125])]);
}

#[test]
fn fragmented_control_frames() {
    for opcode in [0x8, 0x9, 0xA] {
        both_reject(
            |key| frame(false, 0, opcode, key, b""),
            ProtocolError::FragmentedControlFrame,
            1002,
        );
    }
}

#[test]
fn non_minimal_lengths() {
    // 16-bit field for lengths that fit in 7 bits.
    for len in [0u16, 1, 125] {
        both_reject(
            |key| {
                let mut f = raw_header(0x82, 126, &len.to_be_bytes(), key);
                f.extend(vec![0; usize::from(len)]);
                f
            },
            ProtocolError::NonMinimalLength,
            1002,
        );
    }
    // 64-bit field for lengths that fit in 16 (or 7) bits.
    for len in [0u64, 125, 126, 65535] {
        both_reject(
            |key| raw_header(0x82, 127, &len.to_be_bytes(), key),
            ProtocolError::NonMinimalLength,
            1002,
        );
    }
    // The smallest lengths of each form are accepted.
    let mut f = raw_header(0x82, 126, &126u16.to_be_bytes(), None);
    f.extend(vec![3; 126]);
    assert_eq!(
        accepts(the_client(), &f),
        [Ev::Message(DataKind::Binary, vec![3; 126])]
    );
    let mut f = raw_header(0x82, 127, &65536u64.to_be_bytes(), None);
    f.extend(vec![4; 65536]);
    assert_eq!(
        accepts(the_client(), &f),
        [Ev::Message(DataKind::Binary, vec![4; 65536])]
    );
}

#[test]
fn sixty_four_bit_length_with_the_top_bit_set() {
    for len in [1u64 << 63, u64::MAX, (1 << 63) | 0x10000] {
        both_reject(
            |key| raw_header(0x82, 127, &len.to_be_bytes(), key),
            ProtocolError::LengthOverflow,
            1002,
        );
    }
}

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

fn accepts_into<E: Endpoint>(conn: &mut Connection<E>, bytes: &[u8]) -> Vec<Ev> {
    let mut rx = Receiver::new(256);
    rx.feed(conn, bytes, &[usize::MAX]);
    assert_eq!(rx.error, None);
    rx.events
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

fn limited(frame: u64, message: u64) -> Config {
    Config {
        max_frame_size: frame,
        max_message_size: message,
        ..Config::DEFAULT
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

#[test]
fn frame_after_the_peers_close() {
    // In the same read as the close, before our reply went out: the frame is refused, and the
    // reply stays the echo of the peer's code, so the close handshake still completes.
    for cuts in CUTS {
        let mut conn = server();
        let mut rx = Receiver::new(256);
        let bytes = [c2s(true, 0x8, b"\x03\xe8"), c2s(true, 0x1, b"late")].concat();
        rx.feed(&mut conn, &bytes, cuts);
        assert_eq!(rx.events, [Ev::Close(1000, String::new())]);
        assert_eq!(
            rx.error,
            Some(ReceiveError::Protocol(ProtocolError::FrameAfterClose))
        );
        assert_eq!(conn.state(), State::Closing);
        assert_eq!(
            drain_transmit(&mut conn),
            server_close_bytes(CloseCode::NORMAL)
        );
        assert_eq!(
            conn.close_outcome(),
            Some(CloseOutcome {
                clean: true,
                code: CloseCode::NORMAL
            })
        );
        assert_dead(&mut conn);
    }
    let mut conn = the_client();
    let mut rx = Receiver::new(256);
    let bytes = [s2c(true, 0x8, b""), s2c(true, 0x9, b"")].concat();
    rx.feed(&mut conn, &bytes, &[usize::MAX]);
    assert_eq!(
        rx.error,
        Some(ReceiveError::Protocol(ProtocolError::FrameAfterClose))
    );
    let tx = drain_transmit(&mut conn);
    assert_eq!(&tx[..2], &[0x88, 0x80], "an empty masked close: {tx:02x?}");
    assert_eq!(tx.len(), 6);
    assert_eq!(
        conn.close_outcome(),
        Some(CloseOutcome {
            clean: true,
            code: CloseCode::NO_STATUS
        })
    );
    // After our reply went out: the connection is closed, and nothing more is owed.
    let mut conn = server();
    let events = accepts_into(&mut conn, &c2s(true, 0x8, b"\x03\xe8"));
    assert_eq!(events, [Ev::Close(1000, String::new())]);
    assert_eq!(
        drain_transmit(&mut conn),
        server_close_bytes(CloseCode::NORMAL)
    );
    assert!(conn.is_closed());
    let mut late = c2s(true, 0x1, b"late");
    assert_eq!(conn.receive(&mut late), Err(ReceiveError::Closed));
    assert_eq!(drain_transmit(&mut conn), []);
    assert!(conn.is_closed());
    assert_dead(&mut conn);
}

#[test]
fn a_failure_drops_the_owed_pong() {
    // Ping then garbage in one read: the only thing sent is the close.
    let bytes = [c2s(true, 0x9, b"p"), c2s(true, 0x3, b"")].concat();
    server_rejects(&bytes, ProtocolError::ReservedOpcode, 1002);
}

#[test]
fn application_failure_sends_its_code() {
    let mut conn = server();
    assert_eq!(conn.fail(CloseCode::POLICY_VIOLATION), Ok(()));
    assert_eq!(conn.state(), State::Closing);
    assert_eq!(
        drain_transmit(&mut conn),
        server_close_bytes(CloseCode::POLICY_VIOLATION)
    );
    assert_dead(&mut conn);
    // A code that may not go on the wire is refused, as `send_close` refuses it, and nothing
    // changes.
    for code in [
        CloseCode::NO_STATUS,
        CloseCode::ABNORMAL,
        CloseCode(999),
        CloseCode(1016),
    ] {
        let mut conn = server();
        assert_eq!(conn.fail(code), Err(SendError::InvalidCloseCode));
        assert!(conn.is_open());
        assert_eq!(drain_transmit(&mut conn), []);
    }
}

#[test]
fn output_too_small_reports_the_exact_size_and_keeps_the_obligation() {
    // The 1002 close after an error: 4 bytes from a server, 8 from a client.
    let mut conn = server();
    let mut rx = Receiver::new(256);
    rx.feed(&mut conn, &s2c(true, 0x1, b"x"), &[usize::MAX]);
    for small in 0..4 {
        let mut out = vec![0u8; small];
        assert_eq!(
            conn.poll_transmit(&mut out),
            Err(SendError::BufferTooSmall { needed: 4 })
        );
        assert!(conn.wants_transmit() && !conn.is_closed());
    }
    let mut out = [0u8; 4];
    assert_eq!(conn.poll_transmit(&mut out), Ok(4));
    assert_eq!(out.to_vec(), server_close_bytes(CloseCode::PROTOCOL_ERROR));
    assert!(conn.is_closed());

    let mut c = the_client();
    let mut rx = Receiver::new(256);
    rx.feed(&mut c, &c2s(true, 0x1, b"x"), &[usize::MAX]);
    let mut out = [0u8; 7];
    assert_eq!(
        c.poll_transmit(&mut out),
        Err(SendError::BufferTooSmall { needed: 8 })
    );
    let mut out = [0u8; 8];
    assert_eq!(c.poll_transmit(&mut out), Ok(8));
    assert_client_close_bytes(&out, CloseCode::PROTOCOL_ERROR);

    // A 125-byte pong: 127 bytes from a server, 131 from a client.
    for (needed, is_client) in [(127, false), (131, true)] {
        let mut out = vec![0u8; needed - 1];
        let payload = [9u8; 125];
        let err = if is_client {
            let mut c = the_client();
            accepts_into(&mut c, &s2c(true, 0x9, &payload));
            let e = c.poll_transmit(&mut out);
            let mut big = vec![0u8; needed];
            assert_eq!(c.poll_transmit(&mut big), Ok(needed));
            assert_eq!(&big[..2], &[0x8a, 0xfd]);
            e
        } else {
            let mut s = server();
            accepts_into(&mut s, &c2s(true, 0x9, &payload));
            let e = s.poll_transmit(&mut out);
            let mut big = vec![0u8; needed];
            assert_eq!(s.poll_transmit(&mut big), Ok(needed));
            assert_eq!(big, [&[0x8a, 125][..], &payload].concat());
            e
        };
        assert_eq!(err, Err(SendError::BufferTooSmall { needed }));
    }

    // The close echo with a reason-less code, and send_* calls, the same way.
    let mut s = server();
    let mut out = [0u8; 200];
    for (len, needed) in [(0usize, 2usize), (125, 127), (126, 130), (65536, 65546)] {
        let payload = vec![b'a'; len];
        let mut small = vec![0u8; needed - 1];
        assert_eq!(
            s.send_binary(&payload, &mut small),
            Err(SendError::BufferTooSmall { needed })
        );
        assert_eq!(
            s.send_fragment(DataKind::Text, 0, &payload, false, &mut small),
            Err(SendError::BufferTooSmall { needed })
        );
        let mut exact = vec![0u8; needed];
        assert_eq!(s.send_binary(&payload, &mut exact), Ok(needed));
    }
    let mut c = the_client();
    let mut small = [0u8; 10];
    assert_eq!(
        c.send_text("hello", &mut small),
        Err(SendError::BufferTooSmall { needed: 11 })
    );
    assert_eq!(
        c.send_close(CloseCode::NORMAL, "bye", &mut small[..8]),
        Err(SendError::BufferTooSmall { needed: 11 })
    );
    assert!(c.is_open(), "a failed send changes nothing");
    assert_eq!(
        c.send_frame_header(DataKind::Binary, 0, 70000, true, &mut [0u8; 13]),
        Err(SendError::BufferTooSmall { needed: 14 })
    );
    assert_eq!(c.send_text("hello", &mut out), Ok(11));
}

#[test]
fn send_side_misuse_is_refused_and_changes_nothing() {
    let mut c = the_client();
    let mut out = [0u8; 512];
    assert_eq!(
        c.send_ping(&[0; 126], &mut out),
        Err(SendError::ControlPayloadTooLong)
    );
    assert_eq!(
        c.send_pong(&[0; 126], &mut out),
        Err(SendError::ControlPayloadTooLong)
    );
    assert_eq!(
        c.send_close(CloseCode::NORMAL, &"r".repeat(124), &mut out),
        Err(SendError::ControlPayloadTooLong)
    );
    for code in [0u16, 999, 1004, 1006, 1015, 1016, 2999, 5000] {
        assert_eq!(
            c.send_close(CloseCode(code), "", &mut out),
            Err(SendError::InvalidCloseCode),
            "{code}"
        );
    }
    assert_eq!(
        c.send_close(CloseCode::NO_STATUS, "why", &mut out),
        Err(SendError::InvalidCloseCode)
    );
    assert!(c.is_open());
    // Fragment rules.
    let n = c
        .send_fragment(DataKind::Text, 0, b"a", false, &mut out)
        .unwrap();
    assert!(n > 0);
    assert_eq!(
        c.send_fragment(DataKind::Binary, 0, b"b", true, &mut out),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        c.send_text("whole", &mut out),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        c.send_frame_header(DataKind::Binary, 0, 1, true, &mut out),
        Err(SendError::MessageInProgress)
    );
    // Payload rules.
    assert_eq!(
        c.send_payload(b"x", &mut out),
        Err(SendError::PayloadLengthMismatch)
    );
    assert_eq!(
        c.send_frame_header(DataKind::Text, 0, 1 << 63, true, &mut out),
        Err(SendError::PayloadLengthMismatch)
    );
    c.send_frame_header(DataKind::Text, 0, 3, true, &mut out)
        .unwrap();
    assert_eq!(
        c.mask_payload_in_place(&mut [b'x'; 4]),
        Err(SendError::PayloadLengthMismatch)
    );
    assert_eq!(
        c.send_close(CloseCode::NORMAL, "", &mut out),
        Err(SendError::FrameInProgress)
    );
    let mut rest = *b"xyz";
    c.mask_payload_in_place(&mut rest).unwrap();
    // The message is finished: a new one may start, and the close may go.
    assert!(c.send_binary(b"next", &mut out).is_ok());
    assert!(c.send_close(CloseCode::NORMAL, "", &mut out).is_ok());
}

#[test]
fn nothing_is_sent_after_the_close_not_even_a_due_keepalive_ping() {
    let keepalive = Config {
        keepalive_interval: std::num::NonZeroU32::new(1000),
        ..Config::DEFAULT
    };
    let due = || {
        let mut s = Connection::server(keepalive);
        assert_eq!(s.handle_timeout(0), None);
        assert_eq!(s.handle_timeout(1000), None);
        assert!(s.wants_transmit(), "keepalive ping owed");
        s
    };
    // A protocol error before the ping went out: only the 1002 close is sent.
    let mut s = due();
    let mut bad = s2c(true, 0x1, b"x");
    assert_eq!(
        s.receive(&mut bad),
        Err(ReceiveError::Protocol(ProtocolError::UnmaskedFrame))
    );
    assert_eq!(
        drain_transmit(&mut s),
        server_close_bytes(CloseCode::PROTOCOL_ERROR)
    );
    // The peer's close before the ping went out: only the echo is sent.
    let mut s = due();
    let events = accepts_into(&mut s, &c2s(true, 0x8, b"\x03\xe8"));
    assert_eq!(events, [Ev::Close(1000, String::new())]);
    assert_eq!(
        drain_transmit(&mut s),
        server_close_bytes(CloseCode::NORMAL)
    );
    assert!(s.is_closed());
    // Our own close when the ping is owed: the ping goes first, in the same buffer, and
    // nothing after the close.
    let mut s = due();
    let mut out = [0u8; 16];
    assert_eq!(s.send_close(CloseCode::NORMAL, "", &mut out), Ok(6));
    assert_eq!(&out[..6], &[0x89, 0x00, 0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(drain_transmit(&mut s), []);
    assert!(!s.wants_transmit());
}
