//! The driver's policies on a simulated clock: the handshake deadline (408), rate limits (1008, or a pause), keepalive (RFC 6455 §4, §5.5.2, §10.4).

use std::vec::Vec;

use super::{Driver, Poll};
use crate::connection::{Limit, OnExceed, RateLimit, RateLimits, TimedOut};
use crate::handshake::client::{ClientRequest, RetryAfter};
use crate::handshake::server::ServerOptions;
use crate::io::{Closed, HandshakeFailure};
use crate::wire::mask::apply_mask;
use crate::{Config, Connection, Event, Server};

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let mut frame = vec![first, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    let start = frame.len();
    frame.extend_from_slice(payload);
    apply_mask(key, 0, &mut frame[start..]);
    frame
}

/// Writes everything the driver owes at `now`; returns it.
fn drain<E: crate::connection::Endpoint>(driver: &mut Driver<'_, E>, now: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        match driver.poll(now) {
            Poll::Write(bytes) => {
                out.extend_from_slice(bytes);
                let n = bytes.len();
                driver.write_done(n);
            }
            _ => return out,
        }
    }
    panic!("the driver wrote forever");
}

/// Feeds `bytes` at `now` (into the read buffer, as far as it asks for a read).
fn feed<E: crate::connection::Endpoint>(driver: &mut Driver<'_, E>, now: u64, bytes: &[u8]) {
    let Poll::Read { buf, .. } = driver.poll(now) else {
        panic!("not reading")
    };
    buf[..bytes.len()].copy_from_slice(bytes);
    driver.read_done(bytes.len());
}

#[test]
fn a_slowloris_request_gets_408_at_the_deadline_and_nothing_before() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
    let options = ServerOptions::default();
    let mut driver =
        Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options).handshake_deadline(10_000);
    // One byte every 100 ms: 100 bytes by the deadline, never the whole head.
    for (i, byte) in REQUEST.iter().take(99).enumerate() {
        let now = i as u64 * 100;
        let Poll::Read { buf, wake_at } = driver.poll(now) else {
            panic!("not reading at {now}")
        };
        assert_eq!(wake_at, Some(10_000));
        buf[0] = *byte;
        driver.read_done(1);
        // A clock that goes back is harmless.
        let _ = driver.handle_timeout(0);
    }
    let out = drain(&mut driver, 10_000);
    let text = std::str::from_utf8(&out).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
    assert!(text.ends_with("Connection: close\r\n\r\n"), "{text}");
    let expected = Closed::Handshake(HandshakeFailure::TimedOut);
    for now in [10_000, 5, 20_000] {
        assert!(matches!(driver.poll(now), Poll::Closed(c) if c == expected));
    }
}

#[test]
fn the_deadline_ends_a_client_waiting_for_its_response_and_not_an_open_one() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
    let request = ClientRequest::new("example.com", "/");
    let rng = Fixed;
    let mut driver =
        Driver::client(&mut rx, &mut tx, Config::DEFAULT, rng, &request).handshake_deadline(500);
    let sent = drain(&mut driver, 0);
    assert!(sent.starts_with(b"GET / HTTP/1.1\r\n"));
    let Poll::Read { wake_at, .. } = driver.poll(499) else {
        panic!()
    };
    assert_eq!(wake_at, Some(500));
    let expected = Closed::Handshake(HandshakeFailure::TimedOut);
    assert!(matches!(driver.poll(500), Poll::Closed(c) if c == expected));
    assert!(driver.output().is_empty(), "a client sends nothing more");

    // An open connection has no handshake deadline.
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    let conn = Connection::<Server>::server(Config::DEFAULT);
    let mut driver = Driver::new(conn, &mut rx, &mut tx, 0).handshake_deadline(5);
    assert!(matches!(
        driver.poll(1_000_000),
        Poll::Read { wake_at: None, .. }
    ));
}

/// Sends `count` text messages, one every `every` ms, through a driver with `limits`; returns
/// how many were handed out, the close frames written, and how it ended.
fn flood(limits: RateLimits, count: u64, every: u64) -> (u64, Vec<u8>, Option<Closed>) {
    flood_with(limits, count, every, false)
}

/// The calls that ask or advance the clock without taking anything: harmless at any time, in
/// any order, with a clock that goes back.
fn noise<E: crate::connection::Endpoint>(driver: &mut Driver<'_, E>, now: u64) {
    let _ = driver.handle_timeout(now);
    let _ = driver.handle_timeout(now.saturating_sub(5_000));
    let _ = driver.poll_timeout();
    let _ = driver.resume_at();
    let _ = driver.read_buf().len();
    let _ = driver.output().len();
    let _ = driver.handle_timeout(now);
}

/// [`flood`], with [`noise`] around every call when `noisy`.
fn flood_with(
    limits: RateLimits,
    count: u64,
    every: u64,
    noisy: bool,
) -> (u64, Vec<u8>, Option<Closed>) {
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    let conn = Connection::<Server>::server(Config::DEFAULT);
    let mut limiter = crate::connection::RateLimiter::new(limits);
    let mut driver =
        Driver::new(conn, &mut rx, &mut tx, 0).rate_limiter(&mut limiter, limits.on_exceed);
    let message = masked(0x81, b"hi");
    let mut through = 0;
    let mut written = Vec::new();
    for i in 0..count {
        let now = i * every;
        if noisy {
            noise(&mut driver, now);
        }
        written.extend(drain(&mut driver, now));
        if noisy {
            noise(&mut driver, now);
        }
        match driver.poll(now) {
            Poll::Read { buf, .. } => {
                buf[..message.len()].copy_from_slice(&message);
                driver.read_done(message.len());
            }
            Poll::Closed(c) => return (through, written, Some(c)),
            other => panic!("{other:?}"),
        }
        loop {
            if noisy {
                noise(&mut driver, now);
            }
            match driver.poll(now) {
                Poll::Event(Event::Data(_)) => through += 1,
                Poll::Write(bytes) => {
                    written.extend_from_slice(bytes);
                    let n = bytes.len();
                    driver.write_done(n);
                }
                Poll::Closed(c) => return (through, written, Some(c)),
                _ => break,
            }
        }
    }
    (through, written, None)
}

const TEN_A_SECOND: RateLimits = RateLimits {
    messages: Some(RateLimit::new(10, 10)),
    ..RateLimits::NONE
};

#[test]
fn a_message_flood_just_under_the_limit_is_served_and_just_over_gets_1008() {
    // 100 ms apart is 10 a second: 60 simulated seconds, never refused.
    let (through, written, closed) = flood(TEN_A_SECOND, 600, 100);
    assert_eq!((through, closed), (600, None));
    assert!(written.is_empty());
    // 90 ms apart: the burst absorbs it for a while, then 1008.
    let (through, written, closed) = flood(TEN_A_SECOND, 600, 90);
    assert!(through > 10 && through < 600, "{through}");
    assert_eq!(closed, Some(Closed::RateLimited(Limit::Messages)));
    assert_eq!(written, [0x88, 0x02, 0x03, 0xf0]);
}

#[test]
fn whole_messages_are_counted_as_their_frames_arrive() {
    use super::Step;
    use crate::message::{Message, Reassembler, SliceStorage};
    // Ten messages, no refill: the eleventh, in three fragments, goes over at its first.
    let limits = RateLimits {
        messages: Some(RateLimit::new(0, 10)),
        ..RateLimits::NONE
    };
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    let conn = Connection::<Server>::server(Config::DEFAULT);
    let mut limiter = crate::connection::RateLimiter::new(limits);
    let mut driver =
        Driver::new(conn, &mut rx, &mut tx, 0).rate_limiter(&mut limiter, limits.on_exceed);
    let mut storage = [0u8; 64];
    let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
    let message = [masked(0x01, b"he"), masked(0x00, b"ll"), masked(0x80, b"o")].concat();
    let (mut whole, mut written) = (0, Vec::new());
    let closed = 'feed: loop {
        if driver.read_buf().len() >= message.len() {
            driver.read_buf()[..message.len()].copy_from_slice(&message);
            driver.read_done(message.len());
        }
        for _ in 0..100 {
            match driver.advance_message(&mut messages) {
                Step::Event => {
                    let got = driver.message(&messages);
                    assert_eq!(got, Some(Message::Text("hello")));
                    whole += 1;
                }
                Step::Write => {
                    written.extend_from_slice(driver.output());
                    let n = driver.output().len();
                    driver.write_done(n);
                }
                Step::Closed(closed) => break 'feed closed,
                Step::Read => continue 'feed,
                other => panic!("{other:?}"),
            }
        }
        panic!("no end");
    };
    assert_eq!((whole, closed), (10, Closed::RateLimited(Limit::Messages)));
    assert_eq!(written, [0x88, 0x02, 0x03, 0xf0]);
}

#[test]
fn calls_that_only_ask_or_advance_the_clock_change_nothing() {
    for every in [100, 90, 50] {
        assert_eq!(
            flood_with(TEN_A_SECOND, 300, every, false),
            flood_with(TEN_A_SECOND, 300, every, true),
            "every {every} ms"
        );
    }
}

#[test]
fn a_ping_flood_over_the_limit_owes_at_most_one_pong_then_1008() {
    let limits = RateLimits {
        control: Some(RateLimit::new(10, 20)),
        ..RateLimits::NONE
    };
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 256]);
    let conn = Connection::<Server>::server(Config::DEFAULT);
    // 500 pings at once, in one read: the driver reads them without writing.
    let ping = masked(0x89, b"p");
    let pings: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 500)
        .collect();
    rx[..pings.len()].copy_from_slice(&pings);
    let mut limiter = crate::connection::RateLimiter::new(limits);
    let mut driver = Driver::new(conn, &mut rx, &mut tx, pings.len())
        .rate_limiter(&mut limiter, limits.on_exceed);
    let mut events = 0;
    let mut out = Vec::new();
    for _ in 0..10_000 {
        match driver.poll(0) {
            Poll::Event(Event::Ping(_)) => {
                events += 1;
                // What is queued never outgrows `tx`; past it the connection owes one pong.
                assert!(driver.output().len() <= 256);
            }
            Poll::Write(bytes) => {
                out.extend_from_slice(bytes);
                let n = bytes.len();
                driver.write_done(n);
            }
            Poll::Closed(c) => {
                assert_eq!(c, Closed::RateLimited(Limit::Control));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(events, 20, "the burst, then 1008");
    // A pong for each ping handed out, none for the one over the limit, then the close.
    let pong = [0x8a, 0x01, b'p'];
    let pongs: Vec<u8> = pong.iter().copied().cycle().take(3 * 20).collect();
    assert_eq!(out[..60], pongs[..]);
    assert_eq!(out[60..], [0x88, 0x02, 0x03, 0xf0]);
}

#[test]
fn report_pauses_reading_until_resume_at_and_loses_nothing() {
    let limits = RateLimits {
        on_exceed: OnExceed::Report,
        ..TEN_A_SECOND
    };
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let conn = Connection::<Server>::server(Config::DEFAULT);
    let mut limiter = crate::connection::RateLimiter::new(limits);
    let mut driver =
        Driver::new(conn, &mut rx, &mut tx, 0).rate_limiter(&mut limiter, limits.on_exceed);
    let message = masked(0x81, b"hi");
    let mut now = 0;
    let mut handed = 0;
    let mut paused = 0;
    for _ in 0..10_000 {
        if handed == 30 {
            break;
        }
        match driver.poll(now) {
            Poll::Read { buf: [], wake_at } => {
                paused += 1;
                let at = wake_at.expect("a pause says until when");
                assert!(at > now);
                assert_eq!(driver.resume_at(), Some(at));
                // A read into the empty slice is not the end of the stream.
                driver.read_done(0);
                now = at;
            }
            Poll::Read { buf, .. } => {
                buf[..message.len()].copy_from_slice(&message);
                driver.read_done(message.len());
            }
            Poll::Event(Event::Data(chunk)) => {
                assert_eq!(chunk.payload, b"hi");
                handed += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(handed, 30);
    assert!(driver.connection().is_open(), "Report fails nothing");
    // 10 at once, then one every 100 ms.
    assert_eq!((paused, now), (20, 2_000));
}

#[test]
fn keepalive_drops_a_silent_peer_and_keeps_one_that_answers() {
    let config = Config {
        keepalive_interval: core::num::NonZeroU32::new(1_000),
        keepalive_timeout: 500,
        ..Config::DEFAULT
    };
    for answers in [false, true] {
        let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
        let conn = Connection::<Server>::server(config);
        let mut driver = Driver::new(conn, &mut rx, &mut tx, 0);
        let mut ended = None;
        let mut pings = 0;
        // Polled every 50 ms for 10 simulated seconds.
        for now in (0..10_000).step_by(50) {
            let out = drain(&mut driver, now);
            if out.first() == Some(&0x89) {
                pings += 1;
                if answers {
                    feed(&mut driver, now, &masked(0x8a, &out[2..]));
                    assert!(matches!(driver.poll(now), Poll::Event(Event::Pong(_))));
                }
            }
            if let Poll::Closed(c) = driver.poll(now) {
                ended = Some((c, now));
                break;
            }
        }
        if answers {
            assert_eq!(ended, None);
            assert!(pings >= 9, "{pings}");
        } else {
            // Pinged at 1000, dropped by 1500 (and one poll period).
            let (closed, at) = ended.expect("dropped");
            assert_eq!(closed, Closed::TimedOut(TimedOut::Keepalive));
            assert!((1_500..=1_550).contains(&at), "{at}");
        }
    }
}

#[test]
fn a_refused_client_keeps_the_refusal_in_rx() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
    let request = ClientRequest::new("example.com", "/");
    let rng = Fixed;
    let mut driver = Driver::client(&mut rx, &mut tx, Config::DEFAULT, rng, &request);
    let _ = drain(&mut driver, 0);
    assert_eq!(driver.refusal(), None);
    feed(
        &mut driver,
        0,
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 4\r\n\r\nbusy",
    );
    assert!(matches!(driver.poll(0), Poll::Closed(_)));
    let refusal = driver.into_refusal().expect("refused");
    assert_eq!(refusal.status, 503);
    assert_eq!(refusal.retry_after, Some(RetryAfter::Seconds(30)));
    assert_eq!(refusal.body, b"busy");
}

/// Always the same bytes.
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
