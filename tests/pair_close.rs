//! The close handshake over the `Pair` harness (RFC 6455 §5.5.1, §7): started by either side,
//! every kind of code, the owed reply, simultaneous closes, data until the peer's close, and a
//! failure while a frame is half-sent.

mod util;

use util::{assert_client_close_bytes, server_close_bytes, Ev, Pair, PairConfig};
use wsmachine::{CloseCode, CloseOutcome, DataKind, ProtocolError, ReceiveError, SendError, State};

fn text(s: &str) -> Ev {
    Ev::Message(DataKind::Text, s.as_bytes().to_vec())
}

#[test]
fn close_started_by_the_client() {
    for chunk in [1, 4096] {
        let mut pair = Pair::with(PairConfig {
            chunk,
            ..PairConfig::default()
        });
        pair.client
            .send(|c, out| c.send_text("last words", out))
            .unwrap();
        pair.client
            .send(|c, out| c.send_close(CloseCode::NORMAL, "bye", out))
            .unwrap();
        assert!(!pair.client.conn.is_open());
        assert!(!pair.client.conn.is_closed());
        let mut out = [0u8; 64];
        assert_eq!(
            pair.client.conn.send_text("x", &mut out),
            Err(SendError::Closed)
        );
        assert_eq!(
            pair.client.conn.send_ping(b"", &mut out),
            Err(SendError::Closed)
        );
        assert_eq!(
            pair.client.conn.send_close(CloseCode::NORMAL, "", &mut out),
            Err(SendError::Closed)
        );
        pair.drive();
        assert_eq!(
            pair.server.events(),
            &[text("last words"), Ev::Close(1000, "bye".into())]
        );
        // The server echoed the code (§5.5.1).
        assert_eq!(pair.client.events(), &[Ev::Close(1000, String::new())]);
        assert!(pair.client.conn.is_closed(), "client");
        assert!(pair.server.conn.is_closed(), "server");
        assert_eq!(
            pair.server.conn.send_text("x", &mut out),
            Err(SendError::Closed)
        );
        assert_eq!(pair.server.conn.poll_timeout(), None);
        assert_eq!(pair.client.conn.poll_timeout(), None);
        assert_eq!(pair.server.error(), None);
        assert_eq!(pair.client.error(), None);
    }
}

#[test]
fn close_started_by_the_server_with_every_kind_of_code() {
    for (code, reason) in [
        (CloseCode::GOING_AWAY, "restart"),
        (CloseCode(3000), ""),
        (CloseCode(4999), "\u{1f600}"),
        (CloseCode::TRY_AGAIN_LATER, &*"r".repeat(123)),
    ] {
        let mut pair = Pair::new();
        pair.server
            .send(|c, out| c.send_close(code, reason, out))
            .unwrap();
        pair.drive();
        assert_eq!(pair.client.events(), &[Ev::Close(code.0, reason.into())]);
        assert_eq!(pair.server.events(), &[Ev::Close(code.0, String::new())]);
        assert!(pair.client.conn.is_closed() && pair.server.conn.is_closed());
        assert_client_close_bytes(&pair.client.sent, code);
    }
}

#[test]
fn close_with_no_status_is_echoed_empty() {
    let mut pair = Pair::new();
    pair.client
        .send(|c, out| c.send_close(CloseCode::NO_STATUS, "", out))
        .unwrap();
    pair.drive();
    assert_eq!(pair.server.events(), &[Ev::Close(1005, String::new())]);
    assert_eq!(pair.client.events(), &[Ev::Close(1005, String::new())]);
    assert_eq!(pair.server.sent, [0x88, 0x00]);
    assert!(pair.client.conn.is_closed() && pair.server.conn.is_closed());
}

#[test]
fn after_the_peer_closes_a_send_writes_the_owed_reply_instead() {
    for attempt in 0..3 {
        let mut pair = Pair::new();
        pair.client
            .send(|c, out| c.send_close(CloseCode::NORMAL, "", out))
            .unwrap();
        // Deliver the close without letting the server reply.
        let chunk = pair.server.chunk;
        pair.server
            .rx
            .pump(&mut pair.server.conn, &mut pair.client.outbox, chunk);
        assert_eq!(pair.server.events(), &[Ev::Close(1000, String::new())]);
        assert_eq!(pair.server.conn.state(), State::Closing);
        assert!(pair.server.conn.wants_transmit());
        let mut out = [0u8; 64];
        let refused = match attempt {
            0 => pair.server.conn.send_text("x", &mut out),
            1 => pair
                .server
                .conn
                .send_fragment(DataKind::Binary, 0, b"x", false, &mut out),
            _ => pair
                .server
                .conn
                .send_frame_header(DataKind::Binary, 0, 1, true, &mut out),
        };
        // The frame is refused, and the echo of the peer's close is what was written.
        assert_eq!(refused, Err(SendError::Closing { written: 4 }));
        assert_eq!(&out[..4], &[0x88, 0x02, 0x03, 0xe8]);
        assert_eq!(pair.server.conn.state(), State::Closed);
        assert_eq!(
            pair.server.conn.close_outcome(),
            Some(CloseOutcome {
                clean: true,
                code: CloseCode::NORMAL
            })
        );
        assert_eq!(
            pair.server.conn.send_text("x", &mut out),
            Err(SendError::Closed)
        );
        assert_eq!(pair.server.conn.poll_transmit(&mut out), Ok(0));
    }
}

#[test]
fn the_peer_s_close_may_be_answered_with_a_code_of_our_own_once() {
    let mut pair = Pair::new();
    pair.client
        .send(|c, out| c.send_close(CloseCode::NORMAL, "", out))
        .unwrap();
    let chunk = pair.server.chunk;
    pair.server
        .rx
        .pump(&mut pair.server.conn, &mut pair.client.outbox, chunk);
    assert_eq!(pair.server.events(), &[Ev::Close(1000, String::new())]);
    pair.server
        .send(|c, out| c.send_close(CloseCode::GOING_AWAY, "shutting down", out))
        .unwrap();
    assert!(pair.server.conn.is_closed());
    assert!(!pair.server.conn.wants_transmit());
    let mut out = [0u8; 64];
    assert_eq!(
        pair.server.conn.send_text("x", &mut out),
        Err(SendError::Closed)
    );
    pair.drive();
    assert_eq!(
        pair.client.events(),
        &[Ev::Close(1001, "shutting down".into())]
    );
    assert!(pair.client.conn.is_closed());
}

#[test]
fn simultaneous_close() {
    let mut pair = Pair::new();
    pair.client
        .send(|c, out| c.send_close(CloseCode::NORMAL, "c", out))
        .unwrap();
    pair.server
        .send(|c, out| c.send_close(CloseCode::GOING_AWAY, "s", out))
        .unwrap();
    pair.drive();
    assert_eq!(pair.server.events(), &[Ev::Close(1000, "c".into())]);
    assert_eq!(pair.client.events(), &[Ev::Close(1001, "s".into())]);
    assert!(pair.client.conn.is_closed() && pair.server.conn.is_closed());
    // Neither sent a second close.
    assert_eq!(pair.server.sent, [0x88, 0x03, 0x03, 0xe9, b's']);
    assert_eq!(pair.client.sent.len(), 2 + 4 + 3);
}

#[test]
fn data_keeps_flowing_from_the_peer_until_its_close_arrives() {
    let mut pair = Pair::new();
    pair.server.send(|c, out| c.send_text("one", out)).unwrap();
    pair.client
        .send(|c, out| c.send_close(CloseCode::NORMAL, "", out))
        .unwrap();
    pair.server.send(|c, out| c.send_text("two", out)).unwrap();
    pair.drive();
    assert_eq!(
        pair.client.events(),
        &[text("one"), text("two"), Ev::Close(1000, String::new())]
    );
    assert!(pair.client.conn.is_closed() && pair.server.conn.is_closed());
}

#[test]
fn failure_while_a_frame_payload_is_open_still_sends_the_close() {
    let mut pair = Pair::new();
    pair.server
        .send(|c, out| c.send_frame_header(DataKind::Binary, 0, 100, true, out))
        .unwrap();
    pair.server
        .send(|c, out| c.send_payload(&[1; 50], out))
        .unwrap();
    // The client breaks the protocol: an unmasked frame.
    pair.client.muted = true;
    pair.client.write_raw(&util::s2c(true, 0x2, b"oops"));
    pair.drive();
    assert_eq!(
        pair.server.error(),
        Some(ReceiveError::Protocol(ProtocolError::UnmaskedFrame))
    );
    // The close cannot go out in the middle of the frame...
    let mut out = [0u8; 256];
    assert_eq!(pair.server.conn.poll_transmit(&mut out), Ok(0));
    assert!(!pair.server.conn.is_closed());
    // ...so the frame can be finished, and then the 1002 close follows it.
    pair.server
        .send(|c, out| c.send_payload(&[2; 50], out))
        .unwrap();
    let n = pair.server.conn.poll_transmit(&mut out).unwrap();
    assert_eq!(
        &out[..n],
        &server_close_bytes(CloseCode::PROTOCOL_ERROR)[..]
    );
    assert!(pair.server.conn.is_closed());
    assert_eq!(
        pair.server
            .conn
            .send_frame_header(DataKind::Binary, 0, 1, true, &mut out),
        Err(SendError::Closed)
    );
}
