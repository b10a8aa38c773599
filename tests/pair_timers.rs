//! Keepalive and the close deadline over the `Pair` harness with a simulated clock (RFC 6455
//! §5.5.2, §7.1.1): a silent peer is pinged then dropped with 1001, a live one never is, and an
//! unanswered close times out.

mod util;

use std::num::NonZeroU32;

use util::{assert_client_close_bytes, c2s, server_close_bytes, Ev, Pair, PairConfig};
use wsmachine::connection::TimedOut;
use wsmachine::{CloseCode, Config, SendError};

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
