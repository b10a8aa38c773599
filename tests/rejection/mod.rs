//! Shared checks of the violation tests: feed a violation whole, one byte at a time and in
//! uneven pieces, and check the exact error, the exact close frame owed and a dead connection.
#![allow(dead_code)]

use super::util::{
    assert_client_close_bytes, c2s, client, drain_transmit, server_close_bytes, ClientConn, Ev,
    Receiver,
};
use wsmachine::connection::Endpoint;
use wsmachine::{CloseCode, Config, Connection, ProtocolError, ReceiveError, SendError, Server};

pub const KEY: [u8; 4] = [0xA1, 0xB2, 0xC3, 0xD4];
pub const CUTS: [&[usize]; 3] = [&[usize::MAX], &[1], &[3, 1, 7, 2]];

/// Feeds `bytes` and checks the connection failed with `err`, owes exactly one close frame
/// with `code`, and is dead afterwards. Returns how many bytes had been delivered when the
/// error came, at one-byte pieces.
pub fn rejects<E: Endpoint>(
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
pub fn assert_dead<E: Endpoint>(conn: &mut Connection<E>) {
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

pub fn server_exact(bytes: &[u8], code: CloseCode) {
    assert_eq!(bytes, &server_close_bytes(code)[..]);
}

pub fn server() -> Connection<Server> {
    Connection::server(Config::DEFAULT)
}

pub fn the_client() -> ClientConn {
    client(Config::DEFAULT, 5)
}

pub fn server_rejects(bytes: &[u8], err: ProtocolError, code: u16) -> usize {
    rejects(server, bytes, err, code, server_exact)
}

pub fn client_rejects(bytes: &[u8], err: ProtocolError, code: u16) -> usize {
    rejects(the_client, bytes, err, code, assert_client_close_bytes)
}

/// Both roles, each receiving the frame the way the peer would send it.
pub fn both_reject(
    opcode_frames: impl Fn(Option<[u8; 4]>) -> Vec<u8>,
    err: ProtocolError,
    code: u16,
) {
    server_rejects(&opcode_frames(Some(KEY)), err, code);
    client_rejects(&opcode_frames(None), err, code);
}

pub fn accepts<E: Endpoint>(mut conn: Connection<E>, bytes: &[u8]) -> Vec<Ev> {
    let mut rx = Receiver::new(256);
    rx.feed(&mut conn, bytes, &[usize::MAX]);
    assert_eq!(rx.error, None);
    rx.events
}

/// A frame header with an explicit 7-bit length field and extended length, for lengths the
/// crate's encoder would never produce.
pub fn raw_header(b0: u8, len7: u8, ext: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0, len7 | if key.is_some() { 0x80 } else { 0 }];
    out.extend_from_slice(ext);
    if let Some(k) = key {
        out.extend_from_slice(&k);
    }
    out
}

pub fn accepts_into<E: Endpoint>(conn: &mut Connection<E>, bytes: &[u8]) -> Vec<Ev> {
    let mut rx = Receiver::new(256);
    rx.feed(conn, bytes, &[usize::MAX]);
    assert_eq!(rx.error, None);
    rx.events
}

pub fn limited(frame: u64, message: u64) -> Config {
    Config {
        max_frame_size: frame,
        max_message_size: message,
        ..Config::DEFAULT
    }
}
