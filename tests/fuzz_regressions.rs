//! Inputs that crashed a fuzz target, replayed through the same driver (`fuzz/src/drive.rs`),
//! with the bytes inline. Each test names the target and the bug it found.

#[allow(dead_code)]
#[path = "../fuzz/src/drive.rs"]
mod drive;

use wsmachine::connection::TimedOut;
use wsmachine::{CloseCode, Config, Connection, Event};

/// connection_server: a keepalive ping fell due, then the peer's close arrived before
/// `poll_transmit` ran; the ping went out after our close reply.
#[test]
fn server_keepalive_ping_after_close_reply() {
    // Flags 0x4c: keepalive, small limits, 1..=64-byte chunks; a masked close with code 1002.
    drive::connection_server(&[76, 3, 136, 130, 55, 250, 33, 61, 52, 23]);
}

/// connection_client: a keepalive ping fell due, then a frame over the size limit failed the
/// connection; the ping went out after the 1009 close.
#[test]
fn client_keepalive_ping_after_failure_close() {
    let mut input = vec![76, 3, 130, 127, 0, 0, 0, 0, 0, 1, 0, 0];
    input.resize(302, 0);
    drive::connection_client(&input);
}

/// The same bug, spelled out: no frame may follow our close.
#[test]
fn no_keepalive_ping_after_close() {
    let config = Config {
        keepalive_interval: core::num::NonZeroU32::new(10),
        ..Config::DEFAULT
    };
    let mut server = Connection::server(config);
    let mut tx = [0u8; 64];
    assert_eq!(server.poll_timeout(), Some(0));
    assert_eq!(server.handle_timeout(0), None);
    assert_eq!(server.handle_timeout(10), None);
    assert!(server.wants_transmit(), "keepalive ping due");
    // A masked close frame with code 1000 arrives before the ping is polled out.
    let mut rx = [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8];
    let received = server.receive(&mut rx).unwrap();
    assert!(matches!(received.event, Some(Event::Close(c)) if c.code == CloseCode::NORMAL));
    // The ping was owed before the close arrived, so it goes first; the echo is last.
    let n = server.poll_transmit(&mut tx).unwrap();
    assert_eq!(&tx[..n], &[0x89, 0x00, 0x88, 0x02, 0x03, 0xe8]);
    assert!(!server.wants_transmit());
    assert_eq!(server.poll_transmit(&mut tx), Ok(0));
    assert!(server.is_closed());

    // Same after a failure: the 1001 close of a dead peer is the last frame.
    let mut client = Connection::client(config, drive::TestRng(1));
    assert_eq!(client.handle_timeout(0), None);
    assert_eq!(client.handle_timeout(10), None);
    assert!(client.wants_transmit());
    client.fail(CloseCode::POLICY_VIOLATION).unwrap();
    let n = client.poll_transmit(&mut tx).unwrap();
    assert_eq!(tx[0], 0x88);
    assert!(n > 0);
    assert_eq!(client.poll_transmit(&mut tx), Ok(0));
    assert_eq!(client.handle_timeout(1_000_000), None::<TimedOut>);
}

/// Found by `connection_client` (CI, 40 s): pings, pongs and a close (code 3048) arriving
/// with keepalive on; the oracle's expectation of what was owed.
#[test]
fn client_pings_then_a_close_with_keepalive() {
    let input = [
        76, 3, 137, 5, 72, 101, 108, 108, 111, 138, 5, 72, 101, 108, 76, 3, 137, 5, 72, 101, 108,
        108, 111, 138, 5, 72, 101, 108, 108, 111, 138, 5, 72, 101, 108, 76, 3, 137, 5, 255, 101,
        108, 108, 111, 138, 5, 72, 101, 108, 76, 3, 137, 5, 72, 101, 108, 108, 111, 138, 5, 72,
        101, 108, 108, 111, 138, 5, 72, 0, 0, 0, 0, 136, 2, 11, 232, 129, 108, 0, 0, 0, 58, 5, 72,
        101, 108, 76, 3, 137, 13, 111,
    ];
    drive::connection_client(&input);
}
