//! Large test messages for the network firmwares: generated piece by piece on the sending side
//! and checked byte for byte as they stream in, so neither end ever holds a whole message.

use wsmachine::{DataKind, Event};

/// The text the text messages repeat: multi-byte characters, so the pieces and the chunks split
/// them and the receiver's UTF-8 check runs across the boundaries.
pub const TEXT: &[u8] =
    "wsmachine over TCP, \u{3ba}\u{3b1}\u{3bb}\u{3b7}\u{3bc}\u{3ad}\u{3c1}\u{3b1}! ".as_bytes();

/// Byte `i` of the test message `seed` of `kind`: [`TEXT`] repeated, or
/// [`pattern`](crate::pattern) for binary.
pub fn payload_byte(kind: DataKind, seed: u8, i: usize) -> u8 {
    match kind {
        DataKind::Text => TEXT[i % TEXT.len()],
        DataKind::Binary => crate::pattern(seed, i),
    }
}

/// A text message length close to `len`: whole repetitions of [`TEXT`], so it ends on a
/// character boundary.
pub const fn text_len(len: usize) -> usize {
    len / TEXT.len() * TEXT.len()
}

/// Fills `piece` with the bytes at `at..` of the test message.
pub fn fill(kind: DataKind, seed: u8, at: usize, piece: &mut [u8]) {
    for (i, b) in piece.iter_mut().enumerate() {
        *b = payload_byte(kind, seed, at + i);
    }
}

/// The largest ping or pong payload.
pub const CONTROL_MAX: usize = 125;

/// What one end has received, checked as it arrives against the test message it expects.
pub struct Inbox {
    /// The kind and seed of the message expected next.
    pub expect: (DataKind, u8),
    /// Bytes of the current message so far.
    pub at: usize,
    /// The first offset whose byte differed, or a kind that was not expected.
    pub mismatch: Option<usize>,
    /// Whole messages, and the length of the latest one.
    pub messages: u32,
    /// The length of the latest whole message.
    pub last_len: usize,
    /// Data chunks of the latest message, and the largest chunk.
    pub chunks: u32,
    /// The largest data chunk handed out.
    pub max_chunk: usize,
    /// Pings and pongs received.
    pub pings: u32,
    /// Pongs received.
    pub pongs: u32,
    /// The latest ping or pong payload.
    pub control: [u8; CONTROL_MAX],
    /// Its length.
    pub control_len: usize,
    /// The peer's close code.
    pub close: Option<u16>,
}

impl Inbox {
    /// Nothing received; expecting binary message 0.
    pub const fn new() -> Self {
        Self {
            expect: (DataKind::Binary, 0),
            at: 0,
            mismatch: None,
            messages: 0,
            last_len: 0,
            chunks: 0,
            max_chunk: 0,
            pings: 0,
            pongs: 0,
            control: [0; CONTROL_MAX],
            control_len: 0,
            close: None,
        }
    }

    /// The latest ping or pong payload.
    pub fn control(&self) -> &[u8] {
        &self.control[..self.control_len.min(CONTROL_MAX)]
    }

    /// Takes one event.
    pub fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::Data(chunk) => {
                let (kind, seed) = self.expect;
                if chunk.first {
                    self.at = 0;
                    self.chunks = 0;
                }
                if chunk.kind != kind && self.mismatch.is_none() {
                    self.mismatch = Some(self.at);
                }
                self.chunks += 1;
                self.max_chunk = self.max_chunk.max(chunk.payload.len());
                for &b in chunk.payload {
                    if b != payload_byte(kind, seed, self.at) && self.mismatch.is_none() {
                        self.mismatch = Some(self.at);
                    }
                    self.at += 1;
                }
                if chunk.last {
                    self.messages += 1;
                    self.last_len = self.at;
                }
            }
            Event::Ping(p) | Event::Pong(p) => {
                if matches!(event, Event::Ping(_)) {
                    self.pings += 1;
                } else {
                    self.pongs += 1;
                }
                let n = p.len().min(CONTROL_MAX);
                self.control[..n].copy_from_slice(&p[..n]);
                self.control_len = n;
            }
            Event::Close(frame) => self.close = Some(frame.code.0),
        }
    }

    /// Whether message number `n` (counting from 1) has arrived whole, `len` bytes long,
    /// every byte as expected.
    pub fn got(&self, n: u32, len: usize) -> bool {
        self.messages >= n && self.last_len == len && self.mismatch.is_none()
    }
}

impl Default for Inbox {
    fn default() -> Self {
        Self::new()
    }
}
