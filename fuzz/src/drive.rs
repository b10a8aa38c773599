//! The logic of every fuzz target, free of libFuzzer: each target is a thin wrapper around one
//! function here, and `tests/fuzz_regressions.rs` includes this file to replay crashing inputs
//! through exactly the same code. Every invariant is an `assert!` here.

use core::num::NonZeroU32;

use rand_core::RngCore;
use wsmachine::connection::{Endpoint, TimedOut, MIN_RECEIVE_BUFFER};
use wsmachine::message::{Message, Reassembler};
use wsmachine::utf8::{Utf8Error, Utf8Validator};
use wsmachine::wire::frame::MAX_HEADER_LEN;
use wsmachine::wire::mask::apply_mask;
use wsmachine::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Event, FrameHeader, Opcode, ProtocolError,
    ReceiveError, Role, SendError, State, Status,
};

/// The receive buffer a [`Harness`] keeps unconsumed bytes in, like a real caller.
pub const RX_CAP: usize = 512;

/// Message storage of the [`Reassembler`] mode.
pub const STORAGE_CAP: usize = 256;

/// A deterministic masking-key source (splitmix64) for client connections.
#[derive(Debug, Clone)]
pub struct TestRng(pub u64);

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Chunk sizes derived from the fuzz input: a seed and a size class.
#[derive(Debug, Clone)]
pub struct Chunker {
    rng: TestRng,
    max: usize,
}

impl Chunker {
    /// `mode` picks the largest chunk: 1, 8, 64 or [`RX_CAP`] bytes.
    pub fn new(seed: u8, mode: u8) -> Self {
        let max = match mode & 3 {
            0 => 1,
            1 => 8,
            2 => 64,
            _ => RX_CAP,
        };
        Self {
            rng: TestRng(u64::from(seed)),
            max,
        }
    }

    /// The next chunk size, in `1..=max`.
    pub fn next_size(&mut self) -> usize {
        1 + (self.rng.next_u32() as usize) % self.max
    }

    /// A small number from the same stream, for time steps and decisions.
    pub fn next_small(&mut self) -> u64 {
        u64::from(self.rng.next_u32() % 16)
    }
}

// ---------------------------------------------------------------------------------------------
// frame_header

/// `FrameHeader::parse` on arbitrary bytes: a complete header re-emits to the same bytes and
/// re-parses to the same header; its prefixes are partial; partial asks for at most a full
/// header.
pub fn frame_header(data: &[u8]) {
    match FrameHeader::parse(data) {
        Ok(Status::Complete((header, len))) => {
            assert!(len <= data.len() && len <= MAX_HEADER_LEN);
            assert_eq!(len, header.encoded_len());
            assert!(header.payload_len >> 63 == 0);
            assert!(header.rsv <= 7);
            if header.opcode.is_control() {
                assert!(header.fin && header.payload_len <= 125);
            }
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.emit(&mut out).expect("emit into a full-size buffer");
            assert_eq!(n, len);
            // Parsing enforces the minimal form, so the header re-emits byte for byte.
            assert_eq!(&out[..n], &data[..len]);
            assert_eq!(
                FrameHeader::parse(&out[..n]),
                Ok(Status::Complete((header, n)))
            );
            assert_eq!(
                header.emit(&mut out[..n - 1]),
                Err(SendError::BufferTooSmall { needed: n })
            );
            for cut in 0..len {
                match FrameHeader::parse(&data[..cut]) {
                    Ok(Status::Partial) => {}
                    // A prefix can already show an error only if the whole did too.
                    other => panic!("prefix {cut} of a complete header gave {other:?}"),
                }
            }
        }
        Ok(Status::Partial) => assert!(data.len() < MAX_HEADER_LEN),
        Err(_) => {
            // An error is decided from the bytes seen: more bytes do not change it.
            let mut longer = data.to_vec();
            longer.extend_from_slice(&[0; MAX_HEADER_LEN]);
            assert_eq!(FrameHeader::parse(&longer), FrameHeader::parse(data));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// utf8

/// The first invalid byte per `core::str`, or `Err(None)` for a truncated end.
pub fn utf8_reference(bytes: &[u8]) -> Result<(), Option<usize>> {
    match core::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => match e.error_len() {
            None => Err(None),
            Some(n) => {
                let at = e.valid_up_to();
                let lead_ok = matches!(bytes.get(at), Some(0xC2..=0xF4));
                Err(Some(at + if lead_ok { n } else { 0 }))
            }
        },
    }
}

/// The streaming validator against `core::str::from_utf8`, fed in chunks derived from the
/// first byte: same verdict, same failure position, `is_complete` exactly at char boundaries.
pub fn utf8(data: &[u8]) {
    let Some((&seed, bytes)) = data.split_first() else {
        return;
    };
    let expected = utf8_reference(bytes);
    let valid_up_to = match core::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    };
    let mut chunks = Chunker::new(seed >> 2, seed);
    let mut v = Utf8Validator::new();
    let mut pos = 0;
    let mut got = Ok(());
    while pos < bytes.len() {
        let end = bytes.len().min(pos + chunks.next_size());
        let chunk = &bytes[pos..end];
        if let Err(e) = v.feed(chunk) {
            let Utf8Error::InvalidByte { offset } = e else {
                panic!("feed returned {e:?}");
            };
            assert!(offset < chunk.len());
            got = Err(Some(pos + offset));
            break;
        }
        pos = end;
        // Complete exactly at a character boundary of the valid prefix.
        let boundary = pos == valid_up_to
            || (pos < valid_up_to && !matches!(bytes.get(pos), Some(0x80..=0xBF)));
        assert_eq!(v.is_complete(), boundary, "pos {pos}");
    }
    if got.is_ok() {
        got = match v.finish() {
            Ok(()) => Ok(()),
            Err(Utf8Error::Incomplete) => Err(None),
            Err(e) => panic!("finish returned {e:?}"),
        };
        assert!(v.is_complete(), "finish resets");
    }
    assert_eq!(got, expected, "{bytes:x?}");
    // A reset validator is as good as new.
    v.reset();
    let mut whole = v;
    let verdict = whole.feed(bytes).map_err(|e| match e {
        Utf8Error::InvalidByte { offset } => Some(offset),
        Utf8Error::Incomplete => None,
    });
    let verdict = verdict.and_then(|()| whole.finish().map_err(|_| None));
    assert_eq!(verdict, expected);
}

// ---------------------------------------------------------------------------------------------
// connection

/// What a [`Harness`] received, owned: whole messages, controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// A data message, its chunks concatenated.
    Message(DataKind, Vec<u8>),
    /// A ping and its payload.
    Ping(Vec<u8>),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// A close frame: code and reason.
    Close(u16, String),
}

/// One `receive` result, owned.
#[derive(Debug, Clone)]
enum Step {
    Chunk {
        kind: DataKind,
        rsv: u8,
        payload: Vec<u8>,
        first: bool,
        last: bool,
    },
    Whole(DataKind, Vec<u8>),
    Control(Got),
}

/// How a [`Harness`] drives its connection, from the fuzz input's first bytes.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The connection's configuration.
    pub config: Config,
    /// Receive through a [`Reassembler`] with [`STORAGE_CAP`] bytes of storage.
    pub reassemble: bool,
    /// Send our own close before the chunk with this index.
    pub close_at: Option<usize>,
    /// The size `poll_transmit` is first tried with (it is retried with a full-size buffer).
    pub tx_size: usize,
}

impl Options {
    /// Decodes the options from one flags byte.
    pub fn from_flags(flags: u8, seed: u8) -> Self {
        let mut config = Config::DEFAULT;
        config.auto_pong = flags & 0x01 == 0;
        if flags & 0x02 != 0 {
            config.allowed_rsv = wsmachine::wire::frame::RSV1;
        }
        if flags & 0x04 != 0 {
            config.max_frame_size = 100;
            config.max_message_size = 300;
        }
        if flags & 0x08 != 0 {
            config.keepalive_interval = NonZeroU32::new(10);
            config.keepalive_timeout = 20;
            config.close_timeout = NonZeroU32::new(30);
        }
        Self {
            config,
            reassemble: flags & 0x10 != 0,
            close_at: (flags & 0x20 != 0).then_some(usize::from(seed % 8)),
            tx_size: if seed & 1 == 0 { 6 } else { MIN_RECEIVE_BUFFER },
        }
    }
}

/// A caller around one connection: a fixed receive buffer keeping unconsumed bytes, every
/// event drained, every owed frame polled out and checked.
pub struct Harness<E: Endpoint> {
    conn: Connection<E>,
    opts: Options,
    reassembler: Option<Reassembler<heapless::Vec<u8, STORAGE_CAP>>>,
    rx: [u8; RX_CAP],
    filled: usize,
    now: u64,
    chunk_index: usize,
    /// What came out, in order.
    pub got: Vec<Got>,
    /// The data message being received: kind and bytes so far.
    message: Option<(DataKind, Vec<u8>)>,
    /// The receive error, when there was one.
    pub error: Option<ReceiveError>,
    /// The connection takes no more input (error, timeout).
    stopped: bool,
    /// The peer's close arrived.
    close_received: bool,
    /// Our close frame went out.
    close_sent: bool,
    /// The next frame out must be a close with this code.
    must_close_first: Option<CloseCode>,
    /// A close owed to the peer, with this code.
    owed_close: Option<CloseCode>,
    /// A pong owed to the peer, with this payload.
    owed_pong: Option<Vec<u8>>,
}

impl<E: Endpoint> Harness<E> {
    /// A harness around `conn`, made with `opts.config`.
    pub fn new(conn: Connection<E>, opts: Options) -> Self {
        Self {
            conn,
            opts,
            reassembler: opts
                .reassemble
                .then(|| Reassembler::new(heapless::Vec::new())),
            rx: [0; RX_CAP],
            filled: 0,
            now: 0,
            chunk_index: 0,
            got: Vec::new(),
            message: None,
            error: None,
            stopped: false,
            close_received: false,
            close_sent: false,
            must_close_first: None,
            owed_close: None,
            owed_pong: None,
        }
    }

    /// Feeds `stream` in chunks from `chunks`, as bytes arriving from a socket.
    pub fn run(&mut self, stream: &[u8], chunks: &mut Chunker) {
        let mut pos = 0;
        while pos < stream.len() && !self.stopped {
            if self.opts.close_at == Some(self.chunk_index) {
                self.send_close();
            }
            self.chunk_index += 1;
            if self.opts.config.keepalive_interval.is_some() {
                self.now += chunks.next_small();
                self.timers(chunks.next_small() < 4);
            }
            let room = RX_CAP - self.filled;
            let n = chunks.next_size().min(room).min(stream.len() - pos);
            self.rx[self.filled..self.filled + n].copy_from_slice(&stream[pos..pos + n]);
            self.filled += n;
            pos += n;
            self.pump();
            self.drain();
        }
        self.drain();
    }

    fn send_close(&mut self) {
        let mut out = [0u8; MIN_RECEIVE_BUFFER];
        let result = self.conn.send_close(CloseCode::NORMAL, "bye", &mut out);
        if self.close_sent || self.stopped {
            assert_eq!(result, Err(SendError::Closed));
            return;
        }
        let n = result.expect("send_close on a live connection");
        self.owed_close = Some(CloseCode::NORMAL);
        self.check_frames(&mut out[..n]);
    }

    fn timers(&mut self, anyway: bool) {
        let due = self.conn.poll_timeout().is_some_and(|at| at <= self.now);
        if !due && !anyway {
            return;
        }
        match self.conn.handle_timeout(self.now) {
            None => {}
            Some(TimedOut::Keepalive) => {
                assert!(!self.close_sent, "keepalive after our close");
                self.stop();
                self.owed_close = Some(CloseCode::GOING_AWAY);
                self.must_close_first = Some(CloseCode::GOING_AWAY);
            }
            Some(TimedOut::Close) => {
                assert!(self.close_sent && !self.close_received);
                assert!(self.conn.is_closed());
                self.stop();
            }
        }
    }

    /// The connection takes no more input.
    fn stop(&mut self) {
        self.stopped = true;
        self.owed_pong = None;
        assert!(!self.conn.is_open());
        let nothing = wsmachine::Received {
            consumed: 0,
            event: None,
        };
        assert_eq!(self.conn.receive(&mut []), Ok(nothing));
        let rest = &mut self.rx[..self.filled];
        if !rest.is_empty() {
            assert_eq!(self.conn.receive(rest), Err(ReceiveError::Closed));
        }
    }

    /// Presents the receive buffer until the connection makes no progress.
    fn pump(&mut self) {
        let mut at = 0;
        while !self.stopped {
            let input = &mut self.rx[at..self.filled];
            let before = input.to_vec();
            let len = input.len();
            let result = match &mut self.reassembler {
                Some(r) => r.receive(&mut self.conn, input).map(|(consumed, message)| {
                    let step = message.map(|m| match m {
                        Message::Text(t) => Step::Whole(DataKind::Text, t.as_bytes().to_vec()),
                        Message::Binary(b) => Step::Whole(DataKind::Binary, b.to_vec()),
                        Message::Ping(p) => Step::Control(Got::Ping(p.to_vec())),
                        Message::Pong(p) => Step::Control(Got::Pong(p.to_vec())),
                        Message::Close(c) => Step::Control(close_got(&c)),
                        Message::Encoded { kind, payload, .. } => {
                            Step::Whole(kind, payload.to_vec())
                        }
                    });
                    (consumed, step)
                }),
                None => self.conn.receive(input).map(|r| {
                    let step = r.event.map(|e| match e {
                        Event::Data(c) => {
                            assert!(c.payload.len() <= r.consumed);
                            Step::Chunk {
                                kind: c.kind,
                                rsv: c.rsv,
                                payload: c.payload.to_vec(),
                                first: c.first,
                                last: c.last,
                            }
                        }
                        Event::Ping(p) => Step::Control(Got::Ping(p.to_vec())),
                        Event::Pong(p) => Step::Control(Got::Pong(p.to_vec())),
                        Event::Close(c) => Step::Control(close_got(&c)),
                    });
                    (r.consumed, step)
                }),
            };
            match result {
                Ok((consumed, step)) => {
                    assert!(consumed <= len, "consumed {consumed} of {len}");
                    // Unconsumed bytes are presented again: they must be untouched.
                    let input = &self.rx[at..self.filled];
                    assert_eq!(
                        &input[consumed..],
                        &before[consumed..],
                        "unconsumed bytes changed"
                    );
                    at += consumed;
                    let Some(step) = step else {
                        if consumed == 0 {
                            break;
                        }
                        continue;
                    };
                    self.on_step(step);
                }
                Err(e) => {
                    self.on_error(e);
                    break;
                }
            }
        }
        self.rx.copy_within(at..self.filled, 0);
        self.filled -= at;
        if !self.stopped {
            assert!(
                self.filled < RX_CAP,
                "no progress with a full receive buffer"
            );
        }
    }

    fn on_step(&mut self, step: Step) {
        assert!(!self.close_received, "event after the close: {step:?}");
        match step {
            Step::Chunk {
                kind,
                rsv,
                payload,
                first,
                last,
            } => {
                assert_eq!(first, self.message.is_none(), "first flag");
                assert_eq!(
                    rsv & !self.opts.config.allowed_rsv,
                    0,
                    "RSV bits let through"
                );
                let (open_kind, bytes) = self.message.get_or_insert_with(|| (kind, Vec::new()));
                assert_eq!(*open_kind, kind);
                bytes.extend_from_slice(&payload);
                let total = bytes.len() as u64;
                assert!(total <= self.opts.config.max_message_size);
                // Text under an extension's RSV bit is the extension's to check.
                if kind == DataKind::Text && rsv == 0 {
                    // Fail fast: what arrived so far is a valid prefix.
                    assert!(
                        !matches!(utf8_reference(bytes), Err(Some(_))),
                        "bad UTF-8 let through"
                    );
                }
                if last {
                    let (kind, bytes) = self.message.take().unwrap_or((kind, Vec::new()));
                    if kind == DataKind::Text && rsv == 0 {
                        assert!(core::str::from_utf8(&bytes).is_ok());
                    }
                    self.got.push(Got::Message(kind, bytes));
                }
            }
            Step::Whole(kind, bytes) => {
                assert!(bytes.len() <= STORAGE_CAP);
                self.got.push(Got::Message(kind, bytes));
            }
            Step::Control(got) => {
                assert!(self.conn.is_open() || matches!(got, Got::Close(..)) || self.close_sent);
                match &got {
                    Got::Ping(p) => {
                        assert!(p.len() <= 125);
                        if self.opts.config.auto_pong && self.conn.is_open() {
                            self.owed_pong = Some(p.clone());
                        }
                    }
                    Got::Pong(p) => assert!(p.len() <= 125),
                    Got::Message(..) => unreachable!("data is not a control"),
                    Got::Close(code, reason) => {
                        assert!(reason.len() <= 123);
                        self.close_received = true;
                        assert!(!self.conn.is_open());
                        if !self.close_sent {
                            self.owed_close = Some(CloseCode(*code));
                        }
                    }
                }
                self.got.push(got);
            }
        }
    }

    fn on_error(&mut self, e: ReceiveError) {
        if self.close_received {
            // Bytes after the peer's close: refused without changing what is owed (the reply
            // still echoes the peer's code), or, once the reply is out, the connection is over.
            match e {
                ReceiveError::Protocol(ProtocolError::FrameAfterClose) => {
                    assert!(!self.close_sent && self.conn.state() == State::Closing)
                }
                ReceiveError::Closed => assert!(self.conn.is_closed()),
                e => panic!("receive returned {e:?} after the peer's close"),
            }
            self.error = Some(e);
            self.stopped = true;
            return;
        }
        let ReceiveError::Protocol(p) = e else {
            panic!("receive returned {e:?} on a live connection");
        };
        assert_eq!(e.close_code(), Some(p.close_code()));
        self.error = Some(e);
        self.message = None;
        self.stop();
        if !self.close_sent {
            self.owed_close = Some(p.close_code());
            self.must_close_first = Some(p.close_code());
        }
    }

    /// Polls every owed frame out through a small buffer and checks it.
    pub fn drain(&mut self) {
        loop {
            let wants = self.conn.wants_transmit();
            let mut out = [0u8; MIN_RECEIVE_BUFFER];
            let n = match self.conn.poll_transmit(&mut out[..self.opts.tx_size]) {
                Ok(n) => n,
                Err(SendError::BufferTooSmall { needed }) => {
                    assert!(needed > self.opts.tx_size && needed <= MIN_RECEIVE_BUFFER);
                    assert!(wants);
                    let n = self.conn.poll_transmit(&mut out).expect("full-size retry");
                    assert_eq!(n, needed);
                    n
                }
                Err(e) => panic!("poll_transmit: {e:?}"),
            };
            assert_eq!(wants, n > 0, "wants_transmit disagrees with poll_transmit");
            if n == 0 {
                break;
            }
            self.check_frames(&mut out[..n]);
        }
        assert_eq!(self.owed_pong, None, "owed pong not sent");
        assert_eq!(self.owed_close, None, "owed close not sent");
        if self.close_sent && (self.close_received || self.stopped) {
            assert!(self.conn.is_closed());
        }
    }

    /// Frames written by the connection, back to back: each well-formed, masked iff client,
    /// and owed.
    fn check_frames(&mut self, mut frames: &mut [u8]) {
        while !frames.is_empty() {
            let len = match FrameHeader::parse(frames) {
                Ok(Status::Complete((header, header_len))) => {
                    header_len + usize::try_from(header.payload_len).expect("small frame")
                }
                other => panic!("output frame does not parse: {other:?}"),
            };
            assert!(len <= frames.len(), "frame longer than the output");
            let (frame, rest) = frames.split_at_mut(len);
            self.check_frame(frame);
            frames = rest;
        }
    }

    /// One frame written by the connection: well-formed, masked iff client, and owed.
    fn check_frame(&mut self, frame: &mut [u8]) {
        assert!(!self.close_sent, "frame after our close: {frame:x?}");
        let (header, header_len) = match FrameHeader::parse(frame) {
            Ok(Status::Complete(parsed)) => parsed,
            other => panic!("output frame does not parse: {other:?}"),
        };
        assert_eq!(header.mask.is_some(), E::ROLE == Role::Client, "masking");
        assert!(header.fin && header.rsv == 0);
        let payload = &mut frame[header_len..];
        if let Some(key) = header.mask {
            apply_mask(key, 0, payload);
        }
        if let Some(code) = self.must_close_first.take() {
            assert_eq!(header.opcode, Opcode::Close, "first frame after an error");
            let close = CloseFrame::parse(payload).expect("close payload");
            assert_eq!(close.code, code);
        }
        match header.opcode {
            Opcode::Pong => {
                let owed = self.owed_pong.take();
                assert_eq!(owed.as_deref(), Some(&*payload), "unowed or wrong pong");
            }
            Opcode::Close => {
                let close = CloseFrame::parse(payload).expect("close payload");
                let owed = self.owed_close.take();
                assert_eq!(owed, Some(close.code), "unowed or wrong close");
                self.close_sent = true;
                self.owed_pong = None;
            }
            Opcode::Ping => {
                assert!(self.opts.config.keepalive_interval.is_some() && payload.is_empty());
                // A ping owed when the peer's close arrived still goes out before the reply
                // (bytes after that close stop the harness without failing the connection);
                // a failed connection owes none.
                assert!(
                    !self.stopped || self.close_received,
                    "keepalive ping on a failed connection"
                );
            }
            op => panic!("data frame {op:?} from poll_transmit"),
        }
    }
}

fn close_got(c: &CloseFrame<'_>) -> Got {
    Got::Close(c.code.0, c.reason.to_owned())
}

/// Splits a fuzz input into options, a chunker and the byte stream.
fn split_input(data: &[u8]) -> Option<(Options, Chunker, &[u8])> {
    let (&[flags, seed], stream) = data.split_first_chunk::<2>()?;
    Some((
        Options::from_flags(flags, seed),
        Chunker::new(seed, flags >> 6),
        stream,
    ))
}

/// A server connection fed arbitrary bytes.
pub fn connection_server(data: &[u8]) {
    let Some((opts, mut chunks, stream)) = split_input(data) else {
        return;
    };
    let mut h = Harness::new(Connection::server(opts.config), opts);
    h.run(stream, &mut chunks);
}

/// A client connection fed arbitrary bytes.
pub fn connection_client(data: &[u8]) {
    let Some((opts, mut chunks, stream)) = split_input(data) else {
        return;
    };
    let conn = Connection::client(opts.config, TestRng(u64::from(data[1])));
    let mut h = Harness::new(conn, opts);
    h.run(stream, &mut chunks);
}

// ---------------------------------------------------------------------------------------------
// roundtrip

/// A fragment of a message, optionally followed by a ping before the next fragment.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// The fragment's payload.
    pub payload: Vec<u8>,
    /// A ping sent right after it.
    pub ping: Option<Vec<u8>>,
}

/// Something the sending side does.
#[derive(Debug, Clone)]
pub enum Op {
    /// A whole message in one frame (`send_message`).
    Message(DataKind, Vec<u8>),
    /// A message in fragments (`send_fragment`); for text the concatenation is UTF-8.
    Fragmented(DataKind, Vec<Fragment>),
    /// One frame whose payload is written in pieces (`send_frame_header`, then
    /// `send_payload`, or `mask_payload_in_place` when the flag is set).
    Streamed(DataKind, Vec<Vec<u8>>, bool),
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close with a code and a reason.
    Close(u16, String),
}

/// Runs one `send_*` call into a buffer with room for `len` payload bytes and appends what
/// it wrote to `wire`.
fn emit_into(
    wire: &mut Vec<u8>,
    len: usize,
    send: impl FnOnce(&mut [u8]) -> Result<usize, SendError>,
) -> Result<(), SendError> {
    let mut out = vec![0; len + MAX_HEADER_LEN];
    let n = send(&mut out)?;
    assert!(n <= out.len());
    wire.extend_from_slice(&out[..n]);
    Ok(())
}

/// Encodes `ops` with `sender`, returning the wire bytes and what the receiver must see.
fn encode<E: Endpoint>(sender: &mut Connection<E>, ops: &[Op]) -> (Vec<u8>, Vec<Got>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut closed = false;
    for op in ops {
        let result = match op {
            Op::Message(kind, payload) => emit_into(&mut wire, payload.len(), |o| {
                sender.send_message(*kind, 0, payload, o)
            })
            .map(|()| expected.push(Got::Message(*kind, payload.clone()))),
            Op::Fragmented(kind, fragments) => {
                let mut whole = Vec::new();
                let mut pings = Vec::new();
                let count = fragments.len().max(1);
                let empty = Fragment {
                    payload: Vec::new(),
                    ping: None,
                };
                let mut result = Ok(());
                for i in 0..count {
                    let f = fragments.get(i).unwrap_or(&empty);
                    let fin = i + 1 == count;
                    result = emit_into(&mut wire, f.payload.len(), |o| {
                        sender.send_fragment(*kind, 0, &f.payload, fin, o)
                    });
                    if result.is_err() {
                        assert_eq!(i, 0, "a later fragment failed: {result:?}");
                        break;
                    }
                    whole.extend_from_slice(&f.payload);
                    if let (Some(ping), false) = (&f.ping, fin) {
                        let ping = &ping[..ping.len().min(125)];
                        emit_into(&mut wire, ping.len(), |o| sender.send_ping(ping, o))
                            .expect("ping between fragments");
                        pings.push(Got::Ping(ping.to_vec()));
                    }
                }
                // The receiver sees the pings before the message, which completes last.
                result.map(|()| {
                    expected.append(&mut pings);
                    expected.push(Got::Message(*kind, whole));
                })
            }
            Op::Streamed(kind, pieces, in_place) => {
                let total: usize = pieces.iter().map(Vec::len).sum();
                let header = emit_into(&mut wire, 0, |o| {
                    sender.send_frame_header(*kind, 0, total as u64, true, o)
                });
                header.map(|()| {
                    let mut whole = Vec::new();
                    let mut left = total;
                    for piece in pieces {
                        if left == 0 {
                            // The frame is complete: no payload call is allowed, empty or not.
                            break;
                        }
                        left -= piece.len();
                        let mut bytes = piece.clone();
                        if *in_place {
                            sender.mask_payload_in_place(&mut bytes).expect("in place");
                            wire.extend_from_slice(&bytes);
                        } else {
                            emit_into(&mut wire, piece.len(), |o| sender.send_payload(piece, o))
                                .expect("send_payload");
                        }
                        whole.extend_from_slice(piece);
                    }
                    // The frame is complete: the payload is no longer open.
                    assert_eq!(
                        sender.send_payload(b"x", &mut [0u8; 1]),
                        Err(SendError::PayloadLengthMismatch)
                    );
                    expected.push(Got::Message(*kind, whole));
                })
            }
            Op::Ping(p) => emit_into(&mut wire, p.len(), |o| sender.send_ping(p, o))
                .map(|()| expected.push(Got::Ping(p.clone()))),
            Op::Pong(p) => emit_into(&mut wire, p.len(), |o| sender.send_pong(p, o))
                .map(|()| expected.push(Got::Pong(p.clone()))),
            Op::Close(code, reason) => emit_into(&mut wire, 2 + reason.len(), |o| {
                sender.send_close(CloseCode(*code), reason, o)
            })
            .map(|()| {
                closed = true;
                expected.push(Got::Close(*code, reason.clone()));
            }),
        };
        // The only failures are the ones the op asked for.
        if let Err(e) = result {
            let allowed = match op {
                _ if closed => e == SendError::Closed,
                Op::Ping(p) | Op::Pong(p) => p.len() > 125 && e == SendError::ControlPayloadTooLong,
                Op::Close(code, reason) => {
                    let code = CloseCode(*code);
                    if code == CloseCode::NO_STATUS && reason.is_empty() {
                        false
                    } else if code == CloseCode::NO_STATUS || !code.is_allowed_on_wire() {
                        e == SendError::InvalidCloseCode
                    } else {
                        reason.len() > 123 && e == SendError::ControlPayloadTooLong
                    }
                }
                _ => false,
            };
            assert!(allowed, "{op:?} failed with {e:?}");
        }
    }
    (wire, expected)
}

/// Encodes `ops` with one role, feeds the bytes in chunks to the other role, and checks that
/// the same messages and controls come out.
pub fn roundtrip(client_sends: bool, seed: u8, mode: u8, ops: &[Op]) {
    let mut chunks = Chunker::new(seed, mode);
    let opts = Options {
        config: Config::DEFAULT,
        reassemble: false,
        close_at: None,
        tx_size: MIN_RECEIVE_BUFFER,
    };
    let (error, got, expected) = if client_sends {
        let mut sender = Connection::client(Config::DEFAULT, TestRng(u64::from(seed)));
        let (wire, expected) = encode(&mut sender, ops);
        let mut h = Harness::new(Connection::server(Config::DEFAULT), opts);
        h.run(&wire, &mut chunks);
        (h.error, h.got, expected)
    } else {
        let mut sender = Connection::server(Config::DEFAULT);
        let (wire, expected) = encode(&mut sender, ops);
        let conn = Connection::client(Config::DEFAULT, TestRng(u64::from(seed)));
        let mut h = Harness::new(conn, opts);
        h.run(&wire, &mut chunks);
        (h.error, h.got, expected)
    };
    assert_eq!(error, None);
    assert_eq!(got, expected);
}
