//! The driver by hand: both handshakes, short writes, backpressure, reading while a write is blocked (RFC 6455 §4, §5).

use std::vec::Vec;

use super::{Driver, Poll, Step};
use crate::handshake::client::ClientRequest;
use crate::handshake::server::{Accept, HandshakeError, ServerOptions};
use crate::handshake::Rejection;
use crate::io::{Buffer, Closed, HandshakeFailure, TrySendError};
use crate::wire::mask::apply_mask;
use crate::{CloseCode, Config, Connection, DataKind, Event, SendError, Server};

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, echo\r\n\r\n";

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let mut frame = vec![first, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    let start = frame.len();
    frame.extend_from_slice(payload);
    apply_mask(key, 0, &mut frame[start..]);
    frame
}

/// Feeds `input` to `driver` on every read, `chunk` bytes at a time, and takes at most
/// `write` bytes per write, until the driver asks for a decision, an event arrives, or it is
/// closed. Returns what it wrote and the step it stopped at.
fn run<const H: usize>(
    driver: &mut Driver<'_, Server, H>,
    input: &mut &[u8],
    chunk: usize,
    write: usize,
) -> (Vec<u8>, Step) {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match driver.advance() {
            Step::Write => {
                let n = driver.output().len().min(write);
                out.extend_from_slice(&driver.output()[..n]);
                driver.write_done(n);
            }
            Step::Read => {
                let buf = driver.read_buf();
                let n = buf.len().min(chunk).min(input.len());
                buf[..n].copy_from_slice(&input[..n]);
                *input = &input[n..];
                driver.read_done(n);
            }
            Step::Open => {}
            step => return (out, step),
        }
    }
    panic!("the driver did not settle");
}

#[test]
fn server_handshake_by_hand_with_a_subprotocol_borrowed_from_the_request() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let options = ServerOptions::default();
    let mut driver = Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options);
    let mut script = REQUEST.to_vec();
    script.extend(masked(0x81, b"hi"));
    let mut input = &script[..];
    let (out, step) = run(&mut driver, &mut input, 7, 3);
    assert_eq!((out.len(), step), (0, Step::Request));
    // Undecided: it asks again.
    assert_eq!(driver.advance(), Step::Request);
    let Poll::Request(pending) = driver.step() else {
        panic!("expected the request");
    };
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let request = pending.request(&mut headers).unwrap();
    assert_eq!(request.path(), "/chat");
    let chosen = request.subprotocols().find(|p| *p == "echo");
    let accept = Accept {
        subprotocol: chosen,
        ..Accept::default()
    };
    pending.accept(&request, &accept).unwrap();
    // The 101 goes out three bytes at a time, then Open, then the frame that came early.
    let (out, step) = run(&mut driver, &mut input, 7, 3);
    let text = std::string::String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
    assert!(text.contains("Sec-WebSocket-Protocol: echo\r\n"), "{text}");
    assert_eq!(step, Step::Event);
    let event = driver.event().unwrap();
    assert!(matches!(event, Event::Data(c) if c.payload == b"hi" && c.last));
    assert_eq!(driver.event(), None);
}

#[test]
fn refusals_are_written_then_the_driver_closes() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let options = ServerOptions::default();
    let mut driver = Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options);
    let mut input = REQUEST;
    assert_eq!(run(&mut driver, &mut input, 64, 64).1, Step::Request);
    let rejection = Rejection::unauthorized_bearer(Some("chat"));
    driver.request().unwrap().reject(&rejection).unwrap();
    let (out, step) = run(&mut driver, &mut input, 64, 10);
    let text = std::string::String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{text}");
    assert!(
        text.contains("WWW-Authenticate: Bearer realm=\"chat\"\r\n"),
        "{text}"
    );
    let refused = Closed::Handshake(HandshakeFailure::Rejected { status: 401 });
    assert_eq!(step, Step::Closed(refused));
    assert!(matches!(driver.step(), Poll::Closed(c) if c == refused));
    assert_eq!(
        driver.send_message(DataKind::Text, 0, b"x"),
        Err(TrySendError::NotOpen)
    );

    // With room for only two header lines, the request is too large: 431.
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut driver =
        Driver::<Server, 2>::server_with_headers(&mut rx, &mut tx, Config::DEFAULT, &options);
    let mut input = REQUEST;
    let (out, step) = run(&mut driver, &mut input, 64, 64);
    assert!(out.starts_with(b"HTTP/1.1 431 "));
    let too_many = Closed::Handshake(HandshakeFailure::Request(HandshakeError::TooManyHeaders));
    assert_eq!(step, Step::Closed(too_many));
}

#[test]
fn small_buffers_are_named_with_the_size_they_need() {
    let (mut rx, mut tx) = ([0u8; 100], [0u8; 512]);
    let options = ServerOptions::default();
    let mut driver = Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options);
    let small_rx = Closed::BufferTooSmall {
        buffer: Buffer::Rx,
        needed: 139,
    };
    assert_eq!(driver.advance(), Step::Closed(small_rx));

    let request = ClientRequest::new("example.com", "/");
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 140]);
    let mut driver = Driver::client(&mut rx, &mut tx, Config::DEFAULT, Fixed, &request);
    let Step::Closed(Closed::BufferTooSmall {
        buffer: Buffer::Tx,
        needed,
    }) = driver.advance()
    else {
        panic!("expected tx too small");
    };
    assert!(needed > 140);
    // Exactly that much is enough.
    let mut tx = vec![0u8; needed];
    let mut driver = Driver::client(&mut rx, &mut tx, Config::DEFAULT, Fixed, &request);
    assert_eq!(driver.advance(), Step::Write);
    assert_eq!(driver.output().len(), needed);

    // A response head that does not fit `rx`, with the default limit and with a smaller one.
    let (mut rx, mut tx) = ([0u8; 200], [0u8; 512]);
    let mut driver = Driver::client(&mut rx, &mut tx, Config::DEFAULT, Fixed, &request);
    let mut long = b"HTTP/1.1 101 Switching Protocols\r\nX-Padding: ".to_vec();
    long.resize(300, b'p');
    let (closed, _) = client_reads(&mut driver, &long);
    let rx_4096 = Closed::BufferTooSmall {
        buffer: Buffer::Rx,
        needed: 4096,
    };
    assert_eq!(closed, rx_4096);
    let (mut rx, mut tx) = ([0u8; 200], [0u8; 512]);
    let mut driver =
        Driver::client(&mut rx, &mut tx, Config::DEFAULT, Fixed, &request).max_head_len(150);
    let (closed, _) = client_reads(&mut driver, &long);
    let too_large = crate::handshake::client::ResponseError::HeadTooLarge;
    assert_eq!(
        closed,
        Closed::Handshake(HandshakeFailure::Response(too_large))
    );
}

/// Always the same bytes: a known nonce.
struct Fixed;

impl rand_core::RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        0x5a5a_5a5a
    }
    fn next_u64(&mut self) -> u64 {
        0x5a5a_5a5a_5a5a_5a5a
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(0x5a);
    }
}

/// Writes whatever a client driver writes, reads `input`, until it is closed or open.
fn client_reads<E: crate::connection::Endpoint>(
    driver: &mut Driver<'_, E>,
    mut input: &[u8],
) -> (Closed, Vec<u8>) {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        match driver.step() {
            Poll::Write(bytes) => {
                out.extend_from_slice(bytes);
                let n = bytes.len();
                driver.write_done(n);
            }
            Poll::Read { buf, .. } => {
                let n = buf.len().min(input.len()).min(50);
                buf[..n].copy_from_slice(&input[..n]);
                input = &input[n..];
                driver.read_done(n);
            }
            Poll::Closed(closed) => return (closed, out),
            Poll::Open => return (Closed::Done, out),
            other => panic!("{other:?}"),
        }
    }
    panic!("the driver did not settle");
}

#[test]
fn a_full_tx_says_not_now_and_takes_the_frame_once_written() {
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 150]);
    let mut driver = Driver::new(Connection::server(Config::DEFAULT), &mut rx, &mut tx, 0);
    driver.send_message(DataKind::Binary, 0, &[1; 100]).unwrap();
    // 102 bytes queued: another 100-byte frame does not fit now, but will.
    assert_eq!(
        driver.send_message(DataKind::Binary, 0, &[2; 100]),
        Err(TrySendError::Full { needed: 114 })
    );
    assert_eq!(
        driver.send_ping(&[3; 100]),
        Err(TrySendError::Full { needed: 102 })
    );
    driver.write_done(60);
    assert_eq!(driver.output().len(), 42);
    driver.write_done(42);
    assert!(driver.output().is_empty());
    assert_eq!(driver.send_message(DataKind::Binary, 0, &[2; 100]), Ok(100));
    assert_eq!(&driver.output()[..2], &[0x82, 100]);
    // A frame larger than `tx` goes out in pieces: header and 146 bytes now.
    driver.write_done(102);
    let big = [4u8; 400];
    assert_eq!(driver.send_message(DataKind::Binary, 0, &big), Ok(146));
    assert_eq!(&driver.output()[..4], &[0x82, 126, 0x01, 0x90]);
    // Meanwhile no other frame starts, and the rest must be what is left.
    assert_eq!(
        driver.send_message(DataKind::Binary, 0, &big),
        Err(TrySendError::Send(SendError::PayloadLengthMismatch))
    );
    assert_eq!(
        driver.send_ping(b""),
        Err(TrySendError::Send(SendError::FrameInProgress))
    );
    assert_eq!(
        driver.send_message(DataKind::Binary, 0, &big[146..]),
        Err(TrySendError::Full { needed: 1 })
    );
    driver.write_done(150);
    assert_eq!(
        driver.send_message(DataKind::Binary, 0, &big[146..]),
        Ok(150)
    );
    driver.write_done(150);
    assert_eq!(
        driver.send_message(DataKind::Binary, 0, &big[296..]),
        Ok(104)
    );
    driver.write_done(104);
    assert_eq!(driver.send_ping(b"ok"), Ok(()));
}

#[test]
fn events_keep_coming_while_a_write_is_blocked() {
    let (mut rx, mut tx) = ([0u8; 160], [0u8; 160]);
    let mut driver = Driver::new(Connection::server(Config::DEFAULT), &mut rx, &mut tx, 0);
    let mut input = masked(0x89, b"are you there");
    input.extend(masked(0x82, &[7; 100]));
    let (first, rest) = input.split_at(19 + 10);
    let buf = driver.read_buf();
    buf[..first.len()].copy_from_slice(first);
    driver.read_done(first.len());
    // The ping, with its pong queued ahead of anything sent later.
    assert_eq!(driver.advance(), Step::Event);
    assert_eq!(&driver.output()[..2], &[0x8a, 13]);
    // The socket cannot take the pong now: read on, the ping not taken yet keeps its bytes.
    let buf = driver.read_buf();
    assert!(buf.len() >= rest.len(), "{}", buf.len());
    buf[..rest.len()].copy_from_slice(rest);
    driver.read_done(rest.len());
    assert_eq!(driver.event(), Some(Event::Ping(b"are you there")));
    // The rest of the input is handed out before the write is asked for again.
    let step = driver.step();
    let Poll::Event(Event::Data(chunk)) = step else {
        panic!("expected the data: {step:?}");
    };
    assert_eq!(chunk.payload, &[7; 100]);
    assert!(matches!(driver.step(), Poll::Write(pong) if pong.len() == 15));
    driver.write_done(15);
    assert!(matches!(driver.step(), Poll::Read { .. }));
}

#[test]
fn end_of_stream_keepalive_and_a_clean_close() {
    let config = Config {
        keepalive_interval: core::num::NonZeroU32::new(1000),
        ..Config::DEFAULT
    };
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    let mut driver = Driver::new(Connection::server(config), &mut rx, &mut tx, 0);
    assert!(matches!(
        driver.poll(0),
        Poll::Read {
            wake_at: Some(1000),
            ..
        }
    ));
    // At the deadline the ping is written, before anything else.
    let Poll::Write(ping) = driver.poll(1000) else {
        panic!("expected the keepalive ping");
    };
    assert_eq!(ping, &[0x89, 0]);
    driver.write_done(2);
    // The peer ends the stream without a close: 1006.
    driver.read_done(0);
    assert!(matches!(driver.poll(1001), Poll::Closed(Closed::Eof)));
    let outcome = driver.connection().close_outcome().unwrap();
    assert_eq!((outcome.clean, outcome.code), (false, CloseCode::ABNORMAL));

    // Our close, the peer's answer, the end of the stream: done, cleanly.
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    let mut driver = Driver::new(Connection::server(Config::DEFAULT), &mut rx, &mut tx, 0);
    driver.send_close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(driver.output(), b"\x88\x05\x03\xe8bye");
    // Closing, not closed: the peer's answer is awaited.
    assert_eq!(
        driver.send_message(DataKind::Text, 0, b"late"),
        Err(TrySendError::Send(SendError::Closing { written: 0 }))
    );
    driver.write_done(7);
    let answer = masked(0x88, &[0x03, 0xe8]);
    driver.read_buf()[..answer.len()].copy_from_slice(&answer);
    driver.read_done(answer.len());
    assert!(matches!(driver.step(), Poll::Event(Event::Close(_))));
    assert!(matches!(driver.step(), Poll::Closed(Closed::Done)));
    driver.read_done(0);
    assert!(matches!(driver.step(), Poll::Closed(Closed::Done)));
}

#[test]
fn the_driver_adds_little_to_the_connection() {
    use core::mem::size_of;
    let conn = size_of::<Connection<Server>>();
    let driver = size_of::<Driver<'_, Server>>();
    std::println!("Connection<Server> {conn} bytes, Driver<Server> {driver} bytes");
    // Two slices, four offsets, the phase (the client's expected accept key), the pending
    // event: a few machine words beyond the connection, plus the times (the handshake
    // deadline, the clock, the limiter's resume time), which stay 64-bit on 32-bit targets;
    // with the `deflate` feature one word more, the pointer to the caller's `Deflate`.
    let words = if cfg!(feature = "deflate") { 41 } else { 40 };
    assert!(
        driver <= conn + words * size_of::<usize>() + 4 * size_of::<u64>(),
        "{driver} vs {conn}"
    );
}
