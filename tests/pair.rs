//! Client/server scenarios over the `Pair` harness: messages of every kind and size, fragments,
//! pings between fragments, the close handshake, keepalive and the reassembly helper.

mod util;

use std::num::NonZeroU32;

use util::{
    assert_client_close_bytes, c2s, client, drain_transmit, pattern, server_close_bytes,
    text_of_len, Ev, Pair, PairConfig,
};
use wsmachine::connection::{TimedOut, MIN_RECEIVE_BUFFER};
use wsmachine::message::{Message, Reassembler, SliceStorage, Storage};
use wsmachine::{
    CloseCode, CloseOutcome, Config, Connection, DataKind, ProtocolError, ReceiveError, SendError,
    State,
};

fn text(s: &str) -> Ev {
    Ev::Message(DataKind::Text, s.as_bytes().to_vec())
}

fn binary(b: &[u8]) -> Ev {
    Ev::Message(DataKind::Binary, b.to_vec())
}

const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 70000];

#[test]
fn every_kind_and_size_both_ways_at_every_chunking() {
    for chunk in [1, 3, 139, 256, 100_000] {
        let mut pair = Pair::with(PairConfig {
            chunk,
            ..PairConfig::default()
        });
        let mut expected = Vec::new();
        for (i, &len) in SIZES.iter().enumerate() {
            let t = text_of_len(len);
            let b = pattern(len, i as u8);
            pair.client
                .send_with(len, |c, out| c.send_text(&t, out))
                .unwrap();
            pair.client
                .send_with(len, |c, out| c.send_binary(&b, out))
                .unwrap();
            pair.server
                .send_with(len, |c, out| c.send_binary(&b, out))
                .unwrap();
            pair.server
                .send_with(len, |c, out| {
                    c.send_message(DataKind::Text, 0, t.as_bytes(), out)
                })
                .unwrap();
            expected.push((text(&t), binary(&b)));
        }
        pair.drive();
        let want_at_server: Vec<Ev> = expected
            .iter()
            .flat_map(|(t, b)| [t.clone(), b.clone()])
            .collect();
        let want_at_client: Vec<Ev> = expected
            .iter()
            .flat_map(|(t, b)| [b.clone(), t.clone()])
            .collect();
        assert_eq!(pair.server.events(), &want_at_server[..], "chunk {chunk}");
        assert_eq!(pair.client.events(), &want_at_client[..], "chunk {chunk}");
        assert_eq!(pair.server.error(), None);
        assert_eq!(pair.client.error(), None);
        assert!(pair.server.conn.is_open() && pair.client.conn.is_open());
        // Small pieces mean many chunks per message: streaming, not buffering.
        if chunk == 1 {
            assert!(pair.server.rx.chunks > 2 * (65536 + 65535));
        }
    }
}

#[test]
fn one_mebibyte_streams_through_a_256_byte_buffer() {
    const LEN: usize = 1 << 20;
    let mut pair = Pair::with(PairConfig {
        rx_capacity: 256,
        chunk: 1000,
        ..PairConfig::default()
    });
    let b = pattern(LEN, 7);
    let t = text_of_len(LEN);
    pair.client
        .send_with(LEN, |c, out| c.send_binary(&b, out))
        .unwrap();
    pair.server
        .send_with(LEN, |c, out| c.send_text(&t, out))
        .unwrap();
    pair.drive();
    assert_eq!(pair.server.events(), &[binary(&b)]);
    assert_eq!(pair.client.events(), &[text(&t)]);
    // At most 256 bytes are ever in the buffer, so the message came in many chunks.
    assert!(
        pair.server.rx.chunks >= LEN / 256,
        "{}",
        pair.server.rx.chunks
    );
    assert!(pair.client.rx.chunks >= LEN / 256);
}

#[test]
fn fragments_with_pings_between_them_and_auto_pong() {
    for chunk in [1, 5, 4096] {
        let mut pair = Pair::with(PairConfig {
            chunk,
            ..PairConfig::default()
        });
        let parts: [&[u8]; 4] = [b"Hel", b"", "lo \u{20ac}".as_bytes(), b"!"];
        // The euro sign is split across the fragment boundary on purpose.
        let split: [&[u8]; 3] = [b"Hel", b"lo \xe2\x82", b"\xac!"];
        for (i, p) in parts.iter().enumerate() {
            let fin = i == parts.len() - 1;
            pair.client
                .send(|c, out| c.send_fragment(DataKind::Binary, 0, p, fin, out))
                .unwrap();
            pair.client
                .send(|c, out| c.send_ping(&[i as u8; 3], out))
                .unwrap();
            pair.server
                .send(|c, out| {
                    let piece: &[u8] = split.get(i).copied().unwrap_or(b"");
                    c.send_fragment(DataKind::Text, 0, piece, fin, out)
                })
                .unwrap();
            if i == 1 {
                pair.server.send(|c, out| c.send_pong(b"hb", out)).unwrap();
            }
        }
        pair.drive();
        // The last ping follows the last fragment.
        let mut want_server: Vec<Ev> = (0..3u8).map(|i| Ev::Ping(vec![i; 3])).collect();
        want_server.push(binary("Hello \u{20ac}!".as_bytes()));
        want_server.push(Ev::Ping(vec![3; 3]));
        assert_eq!(pair.server.events(), &want_server[..], "chunk {chunk}");
        // The client gets the server's pong between fragments, then the text, then the auto-pongs.
        let events = pair.client.take_events();
        let pongs: Vec<&Ev> = events.iter().filter(|e| matches!(e, Ev::Pong(_))).collect();
        assert_eq!(pongs[0], &Ev::Pong(b"hb".to_vec()));
        assert!(events.contains(&text("Hello \u{20ac}!")), "{events:?}");
        // Each ping was answered, or at least the latest one (§5.5.3).
        let auto: Vec<&Ev> = pongs[1..].to_vec();
        assert!(!auto.is_empty());
        assert_eq!(auto.last(), Some(&&Ev::Pong(vec![3; 3])));
        for p in &auto {
            assert!(
                matches!(p, Ev::Pong(v) if v.len() == 3 && v.iter().all(|&b| b == v[0] && b < 4))
            );
        }
    }
}

#[test]
fn auto_pong_answers_every_ping_that_is_drained_in_time() {
    let mut pair = Pair::new();
    for i in 0..5u8 {
        pair.client
            .send(|c, out| c.send_ping(&[i; 125][..usize::from(i) * 31], out))
            .unwrap();
        pair.drive();
    }
    let want: Vec<Ev> = (0..5u8)
        .map(|i| Ev::Pong(vec![i; usize::from(i) * 31]))
        .collect();
    assert_eq!(pair.client.events(), &want[..]);
    // With auto-pong off, nothing is owed.
    let mut pair = Pair::with(PairConfig {
        server: Config {
            auto_pong: false,
            ..Config::DEFAULT
        },
        ..PairConfig::default()
    });
    pair.client.send(|c, out| c.send_ping(b"x", out)).unwrap();
    pair.drive();
    assert_eq!(pair.server.events(), &[Ev::Ping(b"x".to_vec())]);
    assert!(pair.client.events().is_empty());
}

#[test]
fn frame_in_pieces_with_send_payload_and_mask_in_place() {
    for chunk in [1, 64, 4096] {
        let mut pair = Pair::with(PairConfig {
            chunk,
            ..PairConfig::default()
        });
        let body = pattern(1000, 3);
        // Server: header, then the payload with send_payload in uneven pieces.
        pair.server
            .send(|c, out| c.send_frame_header(DataKind::Binary, 0, 600, false, out))
            .unwrap();
        // While the payload is open nothing else may go out.
        let mut scratch = [0u8; 256];
        assert_eq!(
            pair.server.conn.send_ping(b"p", &mut scratch),
            Err(SendError::FrameInProgress)
        );
        assert_eq!(
            pair.server.conn.send_binary(b"p", &mut scratch),
            Err(SendError::FrameInProgress)
        );
        for piece in body[..600].chunks(77) {
            pair.server
                .send(|c, out| c.send_payload(piece, out))
                .unwrap();
        }
        assert_eq!(
            pair.server.conn.send_payload(b"x", &mut scratch),
            Err(SendError::PayloadLengthMismatch)
        );
        pair.server.send(|c, out| c.send_ping(b"mid", out)).unwrap();
        pair.server
            .send(|c, out| c.send_frame_header(DataKind::Binary, 0, 400, true, out))
            .unwrap();
        for piece in body[600..].chunks(33) {
            pair.server
                .send(|c, out| c.send_payload(piece, out))
                .unwrap();
        }

        // Client: header, then mask the payload in place piece by piece.
        let t = text_of_len(900);
        let tb = t.as_bytes();
        pair.client
            .send(|c, out| c.send_frame_header(DataKind::Text, 0, 500, false, out))
            .unwrap();
        for piece in tb[..500].chunks(7) {
            let mut owned = piece.to_vec();
            pair.client.conn.mask_payload_in_place(&mut owned).unwrap();
            assert_ne!(owned, piece, "client payload must be masked");
            pair.client.write_raw(&owned);
        }
        pair.client.send(|c, out| c.send_ping(b"mid", out)).unwrap();
        pair.client
            .send(|c, out| c.send_frame_header(DataKind::Text, 0, 400, true, out))
            .unwrap();
        for piece in tb[500..].chunks(13) {
            let mut owned = piece.to_vec();
            pair.client.conn.mask_payload_in_place(&mut owned).unwrap();
            pair.client.write_raw(&owned);
        }
        pair.drive();
        assert_eq!(
            pair.server.events(),
            &[
                Ev::Ping(b"mid".to_vec()),
                text(&t),
                Ev::Pong(b"mid".to_vec())
            ],
            "chunk {chunk}"
        );
        let client_events = pair.client.events();
        assert_eq!(client_events[0], Ev::Ping(b"mid".to_vec()));
        assert_eq!(client_events[1], binary(&body));
        // Both pings were auto-answered after the fact.
        assert_eq!(&client_events[2..], &[Ev::Pong(b"mid".to_vec())]);
    }
}

#[test]
fn poll_transmit_waits_for_an_open_frame_payload() {
    let mut pair = Pair::new();
    pair.client
        .send(|c, out| c.send_ping(b"owed", out))
        .unwrap();
    pair.drive();
    assert!(pair.client.events().contains(&Ev::Pong(b"owed".to_vec())));
    // Now open a frame on the server and have a ping arrive meanwhile.
    pair.server
        .send(|c, out| c.send_frame_header(DataKind::Binary, 0, 10, true, out))
        .unwrap();
    pair.client
        .send(|c, out| c.send_ping(b"again", out))
        .unwrap();
    pair.drive();
    assert!(!pair.server.conn.wants_transmit());
    let mut out = [0u8; 256];
    assert_eq!(pair.server.conn.poll_transmit(&mut out), Ok(0));
    pair.server
        .send(|c, out| c.send_payload(&[9; 10], out))
        .unwrap();
    assert!(pair.server.conn.wants_transmit());
    pair.drive();
    let events = pair.client.take_events();
    assert_eq!(
        &events[events.len() - 2..],
        &[binary(&[9; 10]), Ev::Pong(b"again".to_vec())]
    );
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

fn keepalive_pair(interval: u64, timeout: u64) -> Pair {
    let keepalive = Config {
        keepalive_interval: NonZeroU32::new(interval as u32),
        keepalive_timeout: timeout as u32,
        ..Config::DEFAULT
    };
    Pair::with(PairConfig {
        client: keepalive,
        server: keepalive,
        ..PairConfig::default()
    })
}

#[test]
fn keepalive_silent_peer_gets_a_ping_then_times_out_with_1001() {
    for (interval, timeout) in [(1000, 3000), (5000, 1000), (2000, 2000)] {
        let mut pair = keepalive_pair(interval, timeout);
        pair.server.muted = true;
        pair.advance_to(interval - 1);
        assert!(pair.client.sent.is_empty(), "no ping before the interval");
        pair.advance_to(interval);
        // One masked empty ping.
        assert_eq!(pair.client.sent.len(), 6, "{:02x?}", pair.client.sent);
        assert_eq!(&pair.client.sent[..2], &[0x89, 0x80]);
        assert!(pair.client.timeouts.is_empty());
        pair.advance_to(interval + timeout - 1);
        assert!(pair.client.timeouts.is_empty(), "{interval}/{timeout}");
        assert_eq!(pair.client.sent.len(), 6, "only one ping while waiting");
        pair.advance_to(interval + timeout);
        assert_eq!(pair.client.timeouts, [TimedOut::Keepalive]);
        assert_client_close_bytes(&pair.client.sent[6..], CloseCode::GOING_AWAY);
        assert!(pair.client.conn.is_closed());
        assert_eq!(pair.client.conn.poll_timeout(), None);
        let mut out = [0u8; 64];
        assert_eq!(
            pair.client.conn.send_text("x", &mut out),
            Err(SendError::Closed)
        );
        pair.advance(100_000);
        assert_eq!(pair.client.timeouts, [TimedOut::Keepalive], "reported once");
    }
}

#[test]
fn keepalive_live_peer_never_times_out() {
    for (interval, timeout) in [(1000, 3000), (5000, 1000)] {
        let mut pair = keepalive_pair(interval, timeout);
        pair.advance(20 * interval);
        assert!(pair.client.timeouts.is_empty());
        assert!(pair.server.timeouts.is_empty());
        assert!(pair.client.conn.is_open() && pair.server.conn.is_open());
        // Both sides pinged and both got pongs back.
        assert!(pair
            .client
            .events()
            .iter()
            .any(|e| matches!(e, Ev::Pong(_))));
        assert!(pair
            .server
            .events()
            .iter()
            .any(|e| matches!(e, Ev::Pong(_))));
    }
}

#[test]
fn keepalive_traffic_postpones_the_ping() {
    let mut pair = keepalive_pair(1000, 1000);
    pair.client.muted = true;
    for _ in 0..10 {
        pair.advance(600);
        pair.client.write_raw(&c2s(true, 0x2, b"alive"));
        pair.drive();
    }
    assert!(pair.server.sent.is_empty(), "{:02x?}", pair.server.sent);
    assert_eq!(pair.server.events().len(), 10);
    // Once the peer goes quiet, the ping comes after one interval of silence at the earliest
    // and two at the latest (the deadline is not moved by each input, only checked).
    let quiet_since = pair.now;
    pair.advance_to(quiet_since + 999);
    assert!(pair.server.sent.is_empty());
    while pair.server.sent.is_empty() && pair.now < quiet_since + 2000 {
        pair.advance(1);
    }
    assert_eq!(pair.server.sent, [0x89, 0x00]);
    let pinged_at = pair.now;
    assert!(pinged_at - quiet_since >= 1000 && pinged_at - quiet_since <= 2000);
    pair.advance_to(pinged_at + 999);
    assert!(pair.server.timeouts.is_empty());
    pair.advance_to(pinged_at + 1000);
    assert_eq!(pair.server.timeouts, [TimedOut::Keepalive]);
    assert_eq!(
        &pair.server.sent[2..],
        &server_close_bytes(CloseCode::GOING_AWAY)[..]
    );
}

#[test]
fn keepalive_stops_when_the_close_handshake_starts() {
    let mut pair = keepalive_pair(1000, 5000);
    pair.server.muted = true;
    pair.advance(500);
    pair.client
        .send(|c, out| c.send_close(CloseCode::NORMAL, "", out))
        .unwrap();
    pair.advance(4000);
    assert!(pair.client.timeouts.is_empty());
    // Only the close went out: no keepalive ping after it.
    assert_eq!(pair.client.sent.len(), 8);
    pair.advance(1000);
    assert_eq!(pair.client.timeouts, [TimedOut::Close]);
}

#[test]
fn close_without_a_reply_times_out() {
    for timeout in [1, 5000] {
        let mut pair = Pair::with(PairConfig {
            client: Config {
                close_timeout: NonZeroU32::new(timeout as u32),
                ..Config::DEFAULT
            },
            ..PairConfig::default()
        });
        pair.server.muted = true;
        pair.client
            .send(|c, out| c.send_close(CloseCode::NORMAL, "", out))
            .unwrap();
        pair.advance(timeout - 1);
        assert!(pair.client.timeouts.is_empty());
        assert!(!pair.client.conn.is_closed());
        pair.advance(1);
        assert_eq!(pair.client.timeouts, [TimedOut::Close]);
        assert!(pair.client.conn.is_closed());
        assert_eq!(pair.client.conn.poll_timeout(), None);
        assert_eq!(pair.client.sent.len(), 8, "nothing after the close");
    }
    // Without a close timeout, the wait is unbounded.
    let mut pair = Pair::with(PairConfig {
        client: Config {
            close_timeout: None,
            ..Config::DEFAULT
        },
        ..PairConfig::default()
    });
    pair.server.muted = true;
    pair.client
        .send(|c, out| c.send_close(CloseCode::NORMAL, "", out))
        .unwrap();
    pair.advance(1_000_000);
    assert!(pair.client.timeouts.is_empty());
    assert_eq!(pair.client.conn.poll_timeout(), None);
}

#[test]
fn close_timeout_does_not_fire_when_the_reply_comes() {
    let mut pair = Pair::new();
    pair.client
        .send(|c, out| c.send_close(CloseCode::NORMAL, "", out))
        .unwrap();
    pair.advance(100_000);
    assert!(pair.client.timeouts.is_empty() && pair.server.timeouts.is_empty());
    assert!(pair.client.conn.is_closed() && pair.server.conn.is_closed());
}

// ---- Reassembler ----

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

#[test]
fn min_receive_buffer_is_enough_for_any_control_frame() {
    // A 125-byte masked ping is 131 bytes; the largest header is 14.
    assert_eq!(MIN_RECEIVE_BUFFER, 14 + 125);
    let mut server = Connection::server(Config::DEFAULT);
    let mut rx = util::Receiver::new(MIN_RECEIVE_BUFFER);
    let mut bytes = c2s(true, 0x9, &[7; 125]);
    bytes.extend(c2s(true, 0x2, &pattern(70000, 0)));
    rx.feed(&mut server, &bytes, &[1000]);
    assert_eq!(rx.error, None);
    assert_eq!(
        rx.events,
        [Ev::Ping(vec![7; 125]), binary(&pattern(70000, 0))]
    );
}

#[test]
fn client_masks_with_fresh_keys() {
    let mut c = client(Config::DEFAULT, 42);
    let mut keys = std::collections::HashSet::new();
    let mut out = [0u8; 64];
    for _ in 0..100 {
        let n = c.send_binary(b"abcd", &mut out).unwrap();
        assert_eq!(n, 10);
        assert_eq!(out[1], 0x84, "mask bit set");
        keys.insert([out[2], out[3], out[4], out[5]]);
    }
    assert!(keys.len() > 95, "masking keys repeat: {}", keys.len());
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
