//! What is owed after a violation or a close (RFC 6455 §5.5.1, §7.1.7): frames after the
//! peer's close, failures by the application, output buffers too small, send-side misuse, and
//! nothing sent after our close.

mod rejection;
mod util;

use rejection::*;
use util::{assert_client_close_bytes, c2s, drain_transmit, s2c, server_close_bytes, Ev, Receiver};
use wsmachine::{
    CloseCode, CloseOutcome, Config, Connection, DataKind, ProtocolError, ReceiveError, SendError,
    State,
};

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
    // The peer's close before the ping went out: the ping, owed first, then the echo.
    let mut s = due();
    let events = accepts_into(&mut s, &c2s(true, 0x8, b"\x03\xe8"));
    assert_eq!(events, [Ev::Close(1000, String::new())]);
    assert_eq!(
        drain_transmit(&mut s),
        [&[0x89, 0x00][..], &server_close_bytes(CloseCode::NORMAL)].concat()
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
