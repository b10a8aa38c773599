//! Test harness: a client/server `Pair` joined by byte pipes, with a simulated clock.
//!
//! Modelled on quinn-proto's `tests/util.rs`. Each side owns a small receive buffer whose
//! unconsumed tail is kept between reads, as a real integration must; bytes cross the pipe in
//! chunks of a configurable size (down to one byte). `drive()` runs both sides to quiescence and
//! records what each received as owned [`Ev`]s, with data chunks concatenated per message.
#![allow(dead_code)]

use std::collections::VecDeque;

use rand_core::RngCore;
use wsmachine::connection::{Endpoint, TimedOut};
use wsmachine::{
    Client, CloseCode, Config, Connection, DataChunk, DataKind, Event, ReceiveError, SendError,
    Server,
};

/// A tiny deterministic xorshift128 generator (16 bytes of state), for client masking keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XorShift {
    s: [u32; 4],
}

impl XorShift {
    /// A generator from a seed; any seed, zero included, gives a non-zero state.
    pub fn new(seed: u64) -> Self {
        let lo = seed as u32 ^ 0x9E37_79B9;
        let hi = (seed >> 32) as u32 ^ 0x85EB_CA6B;
        Self {
            s: [
                lo | 1,
                hi,
                lo.rotate_left(13) ^ 0xC2B2_AE35,
                hi.rotate_left(7),
            ],
        }
    }
}

impl RngCore for XorShift {
    fn next_u32(&mut self) -> u32 {
        let [x, y, z, w] = self.s;
        let t = x ^ (x << 11);
        let w2 = w ^ (w >> 19) ^ t ^ (t >> 8);
        self.s = [y, z, w, w2];
        w2
    }

    fn next_u64(&mut self) -> u64 {
        (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let word = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// The client type the harness uses.
pub type ClientConn = Connection<Client<XorShift>>;

/// A new client connection with a seeded [`XorShift`].
pub fn client(config: Config, seed: u64) -> ClientConn {
    Connection::client(config, XorShift::new(seed))
}

/// One thing a side received, owned. Data chunks are folded into one `Message` per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// A whole data message: its kind and all its payload bytes.
    Message(DataKind, Vec<u8>),
    /// A ping and its payload.
    Ping(Vec<u8>),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// A close frame: code and reason.
    Close(u16, String),
}

/// Receives bytes through a fixed-size buffer, keeping the unconsumed tail, and collects events.
#[derive(Debug)]
pub struct Receiver {
    rx: Vec<u8>,
    filled: usize,
    /// The message being assembled from data chunks.
    partial: Option<(DataKind, Vec<u8>)>,
    /// Everything received, in order.
    pub events: Vec<Ev>,
    /// Data chunks handed out (a message of N chunks counts N).
    pub chunks: usize,
    /// The error `receive` returned, if any; the receiver stops after one.
    pub error: Option<ReceiveError>,
    /// How many bytes had been delivered into the buffer when the error came.
    pub error_at: Option<usize>,
    /// Bytes moved into the buffer so far.
    pub delivered: usize,
    /// Bytes thrown away because the connection had failed or closed.
    pub dropped: usize,
}

impl Receiver {
    /// A receiver with a buffer of `capacity` bytes (at least `MIN_RECEIVE_BUFFER`).
    pub fn new(capacity: usize) -> Self {
        Self {
            rx: vec![0; capacity],
            filled: 0,
            partial: None,
            events: Vec::new(),
            chunks: 0,
            error: None,
            error_at: None,
            delivered: 0,
            dropped: 0,
        }
    }

    /// The bytes received and not yet consumed.
    pub fn unconsumed(&self) -> &[u8] {
        &self.rx[..self.filled]
    }

    /// Whether a message is half-received.
    pub fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// Moves bytes from `inbound` into the buffer, `chunk` at a time, calling `receive` after
    /// each move. Returns whether any byte moved.
    pub fn pump<E: Endpoint>(
        &mut self,
        conn: &mut Connection<E>,
        inbound: &mut VecDeque<u8>,
        chunk: usize,
    ) -> bool {
        assert!(chunk > 0, "chunk size 0");
        let mut progress = false;
        loop {
            if self.error.is_some() || conn.is_closed() {
                self.dropped += inbound.len();
                inbound.clear();
                return progress;
            }
            let space = self.rx.len() - self.filled;
            let n = chunk.min(space).min(inbound.len());
            if n == 0 {
                assert!(
                    inbound.is_empty() || space > 0,
                    "receive buffer full ({} bytes) and nothing consumed",
                    self.rx.len()
                );
                return progress;
            }
            for (dst, src) in self.rx[self.filled..self.filled + n]
                .iter_mut()
                .zip(inbound.drain(..n))
            {
                *dst = src;
            }
            self.filled += n;
            self.delivered += n;
            progress = true;
            self.process(conn);
        }
    }

    /// Feeds `bytes` through, cutting them at the sizes in `cuts` (cycled; 0 is taken as 1).
    pub fn feed<E: Endpoint>(&mut self, conn: &mut Connection<E>, bytes: &[u8], cuts: &[usize]) {
        let mut inbound: VecDeque<u8> = bytes.iter().copied().collect();
        let mut sizes = cuts.iter().copied().cycle();
        while !inbound.is_empty() && self.error.is_none() && !conn.is_closed() {
            let size = sizes.next().unwrap_or(usize::MAX).max(1);
            let mut piece: VecDeque<u8> = inbound.drain(..size.min(inbound.len())).collect();
            self.pump(conn, &mut piece, usize::MAX);
        }
        self.dropped += inbound.len();
    }

    /// Calls `receive` until it consumes nothing and returns no event.
    pub fn process<E: Endpoint>(&mut self, conn: &mut Connection<E>) {
        // A healthy connection consumes something or emits an event on every productive call;
        // the bound catches a state machine that spins without progress.
        for _ in 0..(4 * self.rx.len() + 16) {
            let received = match conn.receive(&mut self.rx[..self.filled]) {
                Ok(r) => r,
                Err(e) => {
                    self.error = Some(e);
                    self.error_at = Some(self.delivered);
                    return;
                }
            };
            let consumed = received.consumed;
            assert!(consumed <= self.filled, "consumed more than given");
            let idle = consumed == 0 && received.event.is_none();
            if let Some(event) = received.event {
                Self::record(&mut self.partial, &mut self.events, &mut self.chunks, event);
            }
            self.rx.copy_within(consumed..self.filled, 0);
            self.filled -= consumed;
            if idle {
                return;
            }
        }
        panic!("receive made no progress");
    }

    fn record(
        partial: &mut Option<(DataKind, Vec<u8>)>,
        events: &mut Vec<Ev>,
        chunks: &mut usize,
        event: Event<'_>,
    ) {
        match event {
            Event::Data(DataChunk {
                kind,
                payload,
                first,
                last,
                ..
            }) => {
                *chunks += 1;
                match (partial.as_mut(), first) {
                    (None, true) => *partial = Some((kind, payload.to_vec())),
                    (Some((open, bytes)), false) => {
                        assert_eq!(*open, kind, "kind changed inside a message");
                        bytes.extend_from_slice(payload);
                    }
                    (open, first) => panic!(
                        "chunk with first={first} while a message is {}",
                        if open.is_some() { "open" } else { "not open" }
                    ),
                }
                if last {
                    let (kind, bytes) = partial.take().unwrap_or_else(|| unreachable!());
                    if kind == DataKind::Text {
                        assert!(
                            std::str::from_utf8(&bytes).is_ok(),
                            "text message handed out is not UTF-8"
                        );
                    }
                    events.push(Ev::Message(kind, bytes));
                }
            }
            Event::Ping(p) => events.push(Ev::Ping(p.to_vec())),
            Event::Pong(p) => events.push(Ev::Pong(p.to_vec())),
            Event::Close(c) => events.push(Ev::Close(c.code.0, c.reason.to_owned())),
        }
    }
}

/// Everything `poll_transmit` owes, concatenated; checks that every frame fits in
/// `MIN_RECEIVE_BUFFER` bytes, as documented.
pub fn drain_transmit<E: Endpoint>(conn: &mut Connection<E>) -> Vec<u8> {
    let mut all = Vec::new();
    let mut out = [0u8; wsmachine::connection::MIN_RECEIVE_BUFFER];
    for _ in 0..64 {
        let n = conn.poll_transmit(&mut out).expect("poll_transmit");
        if n == 0 {
            return all;
        }
        all.extend_from_slice(&out[..n]);
    }
    panic!("poll_transmit never returned 0");
}

/// One end of a [`Pair`].
#[derive(Debug)]
pub struct Side<E: Endpoint> {
    /// The connection under test.
    pub conn: Connection<E>,
    /// Its receive buffer and what it received.
    pub rx: Receiver,
    /// Bytes this side wrote that the peer has not taken yet.
    pub outbox: VecDeque<u8>,
    /// The size of the pieces the peer's bytes arrive in.
    pub chunk: usize,
    /// A muted side does nothing: no receive, no transmit, no timers (a dead peer).
    pub muted: bool,
    /// What `handle_timeout` reported.
    pub timeouts: Vec<TimedOut>,
    /// Every byte this side wrote, for inspection.
    pub sent: Vec<u8>,
    tx: Vec<u8>,
}

impl<E: Endpoint> Side<E> {
    fn new(conn: Connection<E>, rx_capacity: usize, chunk: usize) -> Self {
        Self {
            conn,
            rx: Receiver::new(rx_capacity),
            outbox: VecDeque::new(),
            chunk,
            muted: false,
            timeouts: Vec::new(),
            sent: Vec::new(),
            tx: vec![0; 1 << 16],
        }
    }

    /// Calls `f` with the connection and an output buffer large enough for `payload_hint`
    /// bytes of payload, and queues what it wrote for the peer.
    pub fn send_with(
        &mut self,
        payload_hint: usize,
        f: impl FnOnce(&mut Connection<E>, &mut [u8]) -> Result<usize, SendError>,
    ) -> Result<usize, SendError> {
        let want = payload_hint + 14;
        if self.tx.len() < want {
            self.tx.resize(want, 0);
        }
        let n = f(&mut self.conn, &mut self.tx)?;
        self.push(n);
        Ok(n)
    }

    /// [`send_with`](Self::send_with) for calls whose output fits in 64 KiB.
    pub fn send(
        &mut self,
        f: impl FnOnce(&mut Connection<E>, &mut [u8]) -> Result<usize, SendError>,
    ) -> Result<usize, SendError> {
        self.send_with(0, f)
    }

    /// Queues raw bytes for the peer, as if this side wrote them.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.outbox.extend(bytes);
        self.sent.extend_from_slice(bytes);
    }

    fn push(&mut self, n: usize) {
        let bytes = &self.tx[..n];
        self.outbox.extend(bytes);
        self.sent.extend_from_slice(bytes);
    }

    /// Writes out what the connection owes; returns whether anything was written.
    pub fn transmit(&mut self) -> bool {
        let bytes = drain_transmit(&mut self.conn);
        self.write_raw(&bytes);
        !bytes.is_empty()
    }

    /// Runs due timers at `now`. After `handle_timeout`, the next deadline must lie in the
    /// future: a deadline at or before `now` that `handle_timeout` does not clear would make an
    /// event loop spin.
    pub fn run_timers(&mut self, now: u64) -> bool {
        if self.muted {
            return false;
        }
        let mut fired = false;
        if self.conn.poll_timeout().is_some_and(|at| at <= now) {
            if let Some(t) = self.conn.handle_timeout(now) {
                self.timeouts.push(t);
            }
            fired = true;
            if let Some(at) = self.conn.poll_timeout() {
                assert!(
                    at > now,
                    "{:?}: poll_timeout() = {at} after handle_timeout({now})",
                    self.conn.role()
                );
            }
        }
        fired
    }

    /// The events received so far.
    pub fn events(&self) -> &[Ev] {
        &self.rx.events
    }

    /// Takes the events received so far.
    pub fn take_events(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.rx.events)
    }

    /// The receive error, if any.
    pub fn error(&self) -> Option<ReceiveError> {
        self.rx.error
    }
}

/// How to build a [`Pair`].
#[derive(Debug, Clone, Copy)]
pub struct PairConfig {
    /// The client's config.
    pub client: Config,
    /// The server's config.
    pub server: Config,
    /// Receive buffer size of each side.
    pub rx_capacity: usize,
    /// The size of the pieces bytes arrive in, both ways.
    pub chunk: usize,
    /// The client RNG seed.
    pub seed: u64,
}

impl Default for PairConfig {
    fn default() -> Self {
        Self {
            client: Config::DEFAULT,
            server: Config::DEFAULT,
            rx_capacity: 256,
            chunk: 4096,
            seed: 1,
        }
    }
}

/// A client and a server connected by byte pipes, with a simulated clock.
#[derive(Debug)]
pub struct Pair {
    /// The client end.
    pub client: Side<Client<XorShift>>,
    /// The server end.
    pub server: Side<Server>,
    /// The simulated time in milliseconds.
    pub now: u64,
}

impl Pair {
    /// A pair with default configs, a 256-byte receive buffer and 4 KiB pieces.
    pub fn new() -> Self {
        Self::with(PairConfig::default())
    }

    /// A pair built from `cfg`.
    pub fn with(cfg: PairConfig) -> Self {
        Self {
            client: Side::new(client(cfg.client, cfg.seed), cfg.rx_capacity, cfg.chunk),
            server: Side::new(Connection::server(cfg.server), cfg.rx_capacity, cfg.chunk),
            now: 0,
        }
    }

    /// Sets the piece size both ways.
    pub fn set_chunk(&mut self, chunk: usize) {
        self.client.chunk = chunk;
        self.server.chunk = chunk;
    }

    /// Runs both sides until neither has anything to do: due timers, obligations written out,
    /// bytes delivered and received.
    pub fn drive(&mut self) {
        for _ in 0..1_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not quiesce");
    }

    fn step(&mut self) -> bool {
        let mut progress = false;
        let now = self.now;
        if !self.client.muted {
            progress |= self.client.run_timers(now);
            progress |= self.client.transmit();
        }
        if !self.server.muted {
            progress |= self.server.run_timers(now);
            progress |= self.server.transmit();
        }
        if self.server.muted {
            self.client.outbox.clear();
        } else {
            let chunk = self.server.chunk;
            progress |= self
                .server
                .rx
                .pump(&mut self.server.conn, &mut self.client.outbox, chunk);
        }
        if self.client.muted {
            self.server.outbox.clear();
        } else {
            let chunk = self.client.chunk;
            progress |= self
                .client
                .rx
                .pump(&mut self.client.conn, &mut self.server.outbox, chunk);
        }
        progress
    }

    /// The earliest deadline of the two sides that are not muted.
    pub fn next_deadline(&self) -> Option<u64> {
        let c = (!self.client.muted)
            .then(|| self.client.conn.poll_timeout())
            .flatten();
        let s = (!self.server.muted)
            .then(|| self.server.conn.poll_timeout())
            .flatten();
        c.into_iter().chain(s).min()
    }

    /// Advances the clock to `until`, stopping at every deadline on the way to run timers and
    /// drive the pair.
    pub fn advance_to(&mut self, until: u64) {
        self.drive();
        for _ in 0..100_000 {
            match self.next_deadline() {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.drive();
                }
                _ => {
                    self.now = until;
                    self.drive();
                    return;
                }
            }
        }
        panic!("timers kept firing before {until}");
    }

    /// Advances the clock by `ms`.
    pub fn advance(&mut self, ms: u64) {
        self.advance_to(self.now + ms);
    }
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

/// The exact unmasked close frame a server writes for `code` with no reason.
pub fn server_close_bytes(code: CloseCode) -> Vec<u8> {
    let [hi, lo] = code.0.to_be_bytes();
    vec![0x88, 0x02, hi, lo]
}

/// Checks that `bytes` is exactly one masked close frame for `code` with no reason, as a client
/// writes it (the key is the client's to choose).
pub fn assert_client_close_bytes(bytes: &[u8], code: CloseCode) {
    assert_eq!(bytes.len(), 8, "masked close frame: {bytes:02x?}");
    assert_eq!(&bytes[..2], &[0x88, 0x82], "{bytes:02x?}");
    let key = &bytes[2..6];
    let payload = [bytes[6] ^ key[0], bytes[7] ^ key[1]];
    assert_eq!(u16::from_be_bytes(payload), code.0, "{bytes:02x?}");
}

/// Masks `payload` with `key` byte by byte, independent of the crate's word-at-a-time code.
pub fn mask_bytes(key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    payload
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect()
}

/// Builds one frame by hand, independent of the crate's encoder: the length in its minimal
/// form, masked with `key` when given.
pub fn frame(fin: bool, rsv: u8, opcode: u8, key: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xffff {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match key {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(mask_bytes(k, payload));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A masked frame as a client sends it, with a fixed key.
pub fn c2s(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, 0, opcode, Some([0xA1, 0xB2, 0xC3, 0xD4]), payload)
}

/// An unmasked frame as a server sends it.
pub fn s2c(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, 0, opcode, None, payload)
}

/// A deterministic payload of `len` bytes.
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt) ^ (i >> 8) as u8)
        .collect()
}

/// A valid UTF-8 text of exactly `len` bytes, mixing 1-, 2-, 3- and 4-byte characters.
pub fn text_of_len(len: usize) -> String {
    let pieces = ["a", "\u{e9}", "\u{20ac}", "\u{1f600}", "z", " "];
    let mut s = String::with_capacity(len);
    let mut i = 0;
    while s.len() < len {
        let p = pieces[i % pieces.len()];
        i += 1;
        if s.len() + p.len() <= len {
            s.push_str(p);
        } else {
            s.push('x');
        }
    }
    s
}
