//! Properties of the receive path the driver relies on (RFC 6455 §5.2–§5.6): (1) every event's
//! bytes are the tail of the consumed prefix of the input, whatever the frames and however they
//! are cut; (2) the public `Driver`, fed through reads of random sizes and short writes, hands
//! out the events of the frame sequence.

use proptest::prelude::*;
use wsmachine::io::{Closed, Driver, Poll};
use wsmachine::{CloseCode, Config, Connection, DataKind, Event};

/// One frame a client sends.
#[derive(Debug, Clone)]
enum Frame {
    /// A data frame: `opcode` 0 (continuation), 1 or 2.
    Data {
        opcode: u8,
        fin: bool,
        len: usize,
    },
    Ping(usize),
    Pong(usize),
    Close(Option<(u16, usize)>),
}

/// What the peer's frames mean, message by message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Message(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
}

/// Payload bytes: ASCII, so that any cut of a text message is valid UTF-8.
fn bytes(len: usize, salt: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((i + salt) % 26) as u8).collect()
}

/// Encodes a masked client frame.
fn encode(first: u8, payload: &[u8], key: [u8; 4], out: &mut Vec<u8>) {
    out.push(first);
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
}

/// A valid sequence of frames: messages of one to three fragments with controls between them,
/// maybe a close at the end.
fn script() -> impl Strategy<Value = Vec<Frame>> {
    let control = prop_oneof![
        (0usize..=125).prop_map(Frame::Ping),
        (0usize..=125).prop_map(Frame::Pong),
    ];
    let message = (
        any::<bool>(),
        prop::collection::vec((0usize..400, prop::collection::vec(control, 0..2)), 1..4),
    );
    let close = prop::option::of(prop::option::of((1000u16..1004, 0usize..=123)));
    (prop::collection::vec(message, 0..5), close).prop_map(|(messages, close)| {
        let mut frames = Vec::new();
        for (text, fragments) in messages {
            let count = fragments.len();
            for (i, (len, controls)) in fragments.into_iter().enumerate() {
                let opcode = match (i, text) {
                    (0, true) => 1,
                    (0, false) => 2,
                    _ => 0,
                };
                frames.push(Frame::Data {
                    opcode,
                    fin: i + 1 == count,
                    len,
                });
                frames.extend(controls);
            }
        }
        if let Some(close) = close {
            frames.push(Frame::Close(close));
        }
        frames
    })
}

/// The wire bytes of `frames`, and what they mean.
fn wire(frames: &[Frame]) -> (Vec<u8>, Vec<Seen>) {
    let (mut out, mut seen) = (Vec::new(), Vec::new());
    let mut message: Option<(DataKind, Vec<u8>)> = None;
    for (n, frame) in frames.iter().enumerate() {
        let key = [n as u8, 0x5a, 0xa5, (n >> 8) as u8];
        match *frame {
            Frame::Data { opcode, fin, len } => {
                let payload = bytes(len, n);
                encode(opcode | if fin { 0x80 } else { 0 }, &payload, key, &mut out);
                let kind = match opcode {
                    1 => DataKind::Text,
                    2 => DataKind::Binary,
                    _ => message.as_ref().map(|m| m.0).unwrap(),
                };
                let m = message.get_or_insert((kind, Vec::new()));
                m.1.extend_from_slice(&payload);
                if fin {
                    let (kind, data) = message.take().unwrap();
                    seen.push(Seen::Message(kind, data));
                }
            }
            Frame::Ping(len) => {
                let payload = bytes(len, n);
                encode(0x89, &payload, key, &mut out);
                seen.push(Seen::Ping(payload));
            }
            Frame::Pong(len) => {
                let payload = bytes(len, n);
                encode(0x8a, &payload, key, &mut out);
                seen.push(Seen::Pong(payload));
            }
            Frame::Close(None) => {
                encode(0x88, &[], key, &mut out);
                seen.push(Seen::Close(1005, String::new()));
            }
            Frame::Close(Some((code, len))) => {
                let mut payload = code.to_be_bytes().to_vec();
                let reason = bytes(len, n);
                payload.extend_from_slice(&reason);
                encode(0x88, &payload, key, &mut out);
                seen.push(Seen::Close(code, String::from_utf8(reason).unwrap()));
            }
        }
    }
    (out, seen)
}

/// Cut positions in `0..len`, sorted, from random fractions.
fn cuts(len: usize, fractions: &[u16]) -> Vec<usize> {
    let mut cuts: Vec<usize> = fractions
        .iter()
        .map(|&f| len * usize::from(f) / usize::from(u16::MAX))
        .collect();
    cuts.sort_unstable();
    cuts.push(len);
    cuts
}

/// Collects events into [`Seen`] values.
#[derive(Default)]
struct Collector {
    message: Option<(DataKind, Vec<u8>)>,
    seen: Vec<Seen>,
}

impl Collector {
    fn push(&mut self, event: &Event<'_>) {
        match *event {
            Event::Data(chunk) => {
                let m = self.message.get_or_insert((chunk.kind, Vec::new()));
                m.1.extend_from_slice(chunk.payload);
                if chunk.last {
                    let (kind, data) = self.message.take().unwrap();
                    self.seen.push(Seen::Message(kind, data));
                }
            }
            Event::Ping(p) => self.seen.push(Seen::Ping(p.to_vec())),
            Event::Pong(p) => self.seen.push(Seen::Pong(p.to_vec())),
            Event::Close(c) => self.seen.push(Seen::Close(c.code.0, c.reason.into())),
        }
    }
}

/// The bytes of `event` (payload, or close reason).
fn event_bytes<'a>(event: &Event<'a>) -> &'a [u8] {
    match *event {
        Event::Data(chunk) => chunk.payload,
        Event::Ping(p) | Event::Pong(p) => p,
        Event::Close(c) => c.reason.as_bytes(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn event_bytes_are_the_tail_of_the_consumed_input(
        frames in script(),
        fractions in prop::collection::vec(any::<u16>(), 0..12),
    ) {
        let (bytes, expected) = wire(&frames);
        let mut conn = Connection::server(Config::DEFAULT);
        let mut buf: Vec<u8> = Vec::new();
        let mut collector = Collector::default();
        let mut at = 0;
        for cut in cuts(bytes.len(), &fractions) {
            buf.extend_from_slice(&bytes[at..cut]);
            at = cut;
            loop {
                let base = buf.as_ptr() as usize;
                let received = conn.receive(&mut buf).unwrap();
                let consumed = received.consumed;
                let mut copy = None;
                if let Some(event) = &received.event {
                    let tail = event_bytes(event);
                    // Where the bytes lie (the test may compare addresses; the driver does not)...
                    if !tail.is_empty() {
                        prop_assert_eq!(tail.as_ptr() as usize + tail.len(), base + consumed);
                    }
                    collector.push(event);
                    copy = Some(tail.to_vec());
                }
                // ...and what the driver re-borrows: `input[consumed - len..consumed]`.
                let had_event = copy.is_some();
                if let Some(copy) = copy {
                    prop_assert_eq!(&buf[consumed - copy.len()..consumed], &copy[..]);
                }
                buf.drain(..consumed);
                if consumed == 0 && !had_event {
                    break;
                }
                // Owed pongs and the close reply would be written here.
                let mut out = [0u8; 512];
                conn.poll_transmit(&mut out).unwrap();
            }
        }
        prop_assert_eq!(collector.seen, expected);
    }

    #[test]
    fn the_driver_hands_out_the_events_whatever_the_read_and_write_sizes(
        frames in script(),
        reads in prop::collection::vec(1usize..200, 1..16),
        writes in prop::collection::vec(1usize..40, 1..16),
        rx_len in 139usize..600,
    ) {
        let (bytes, expected) = wire(&frames);
        let (mut rx, mut tx) = (vec![0u8; rx_len], vec![0u8; 139]);
        let mut driver = Driver::new(Connection::server(Config::DEFAULT), &mut rx, &mut tx, 0);
        let mut collector = Collector::default();
        let (mut at, mut step, mut written) = (0, 0, Vec::new());
        let closed = loop {
            step += 1;
            prop_assert!(step < 1_000_000, "the driver does not finish");
            match driver.step() {
                Poll::Read { buf, .. } => {
                    let n = reads[step % reads.len()].min(buf.len()).min(bytes.len() - at);
                    buf[..n].copy_from_slice(&bytes[at..at + n]);
                    at += n;
                    driver.read_done(n);
                }
                Poll::Write(out) => {
                    // Short writes, every other one of nothing at all.
                    let n = if step % 2 == 0 { 0 } else { writes[step % writes.len()].min(out.len()) };
                    written.extend_from_slice(&out[..n]);
                    driver.write_done(n);
                }
                Poll::Event(event) => collector.push(&event),
                Poll::Closed(closed) => break closed,
                Poll::Open | Poll::Request(_) => prop_assert!(false, "not in a handshake"),
            }
        };
        prop_assert_eq!(&collector.seen, &expected);
        let closed_by_peer = matches!(expected.last(), Some(Seen::Close(..)));
        prop_assert_eq!(closed, if closed_by_peer { Closed::Done } else { Closed::Eof });
        // Every ping answered (only the latest of a run, §5.5.3), the close echoed.
        let pongs = written.windows(1).filter(|w| w[0] == 0x8a).count();
        let pings = expected.iter().filter(|s| matches!(s, Seen::Ping(_))).count();
        prop_assert!(pongs <= pings && (pings == 0 || pongs > 0));
        if let Some(Seen::Close(code, _)) = expected.last() {
            // The echo of a close without a code has none either.
            let echo = if *code == CloseCode::NO_STATUS.0 {
                vec![0x88, 0]
            } else {
                [&[0x88, 2][..], &code.to_be_bytes()].concat()
            };
            prop_assert!(written.ends_with(&echo), "{:?}", &written[written.len().saturating_sub(8)..]);
        }
    }
}
