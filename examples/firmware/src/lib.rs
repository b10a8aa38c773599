//! What the on-target firmwares share: logging, exit status, in-memory pipes, a test RNG,
//! a running checksum, and a driver that feeds a [`Connection`] from a small receive buffer.
#![no_std]

use core::panic::PanicInfo;

use wsmachine::connection::Endpoint;
use wsmachine::{CloseCode, Connection, DataKind, Event, ReceiveError, SendError};

#[cfg(feature = "defmt")]
use defmt_semihosting as _;

#[cfg(feature = "embassy")]
pub mod embassy;
pub mod stream;

/// Prints one line to the host: `defmt::println!` with the `defmt` feature (decode with
/// `defmt-print`), `hprintln!` otherwise. Use only `{}` placeholders.
#[cfg(feature = "defmt")]
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => { ::defmt::println!($($t)*) };
}

/// Prints one line to the host: `defmt::println!` with the `defmt` feature (decode with
/// `defmt-print`), `hprintln!` otherwise. Use only `{}` placeholders.
#[cfg(not(feature = "defmt"))]
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => { ::cortex_m_semihosting::hprintln!($($t)*) };
}

/// Ends the QEMU run with status 0 (`ok`) or 1.
pub fn exit(ok: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    #[cfg(feature = "defmt")]
    defmt::println!("PANIC {}", defmt::Display2Format(info));
    #[cfg(not(feature = "defmt"))]
    cortex_m_semihosting::hprintln!("PANIC {}", info);
    exit(false)
}

/// A failed check: what was being checked.
#[derive(Debug, Clone, Copy)]
pub struct Failed(pub &'static str);

/// `Err(Failed(what))` unless `ok`.
pub fn check(ok: bool, what: &'static str) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(Failed(what))
    }
}

impl From<SendError> for Failed {
    fn from(_: SendError) -> Self {
        Failed("send error")
    }
}

impl From<ReceiveError> for Failed {
    fn from(_: ReceiveError) -> Self {
        Failed("receive error")
    }
}

/// A one-way byte stream between the two ends, like a TCP connection: what is pushed comes
/// out in order, in reads of any size.
pub struct Pipe<const N: usize> {
    buf: [u8; N],
    len: usize,
    /// Bytes that ever went through.
    pub total: usize,
}

impl<const N: usize> Pipe<N> {
    /// An empty pipe.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            total: 0,
        }
    }

    /// Appends `bytes`, or fails when they do not fit.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), Failed> {
        let end = self.len + bytes.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(Failed("pipe full"))?;
        dst.copy_from_slice(bytes);
        self.len = end;
        self.total += bytes.len();
        Ok(())
    }

    /// Bytes waiting.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Nothing waiting.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Moves up to `max` bytes from the front into `dst`; returns how many.
    pub fn read(&mut self, dst: &mut [u8], max: usize) -> usize {
        let n = self.len.min(dst.len()).min(max);
        dst[..n].copy_from_slice(&self.buf[..n]);
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
        n
    }
}

impl<const N: usize> Default for Pipe<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Xorshift32: a deterministic stand-in for the hardware RNG a real device would use for
/// masking keys and the handshake nonce.
pub struct TestRng(pub u32);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_u32(self)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst);
    }
}

/// FNV-1a over a byte stream, fed piece by piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum(pub u32);

impl Checksum {
    /// The empty stream's checksum.
    pub const fn new() -> Self {
        Self(0x811c_9dc5)
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
}

impl Default for Checksum {
    fn default() -> Self {
        Self::new()
    }
}

/// Byte `i` of the test payload number `seed`: not periodic in 4, so a masking slip shows.
pub const fn pattern(seed: u8, i: usize) -> u8 {
    (i as u8).wrapping_mul(31) ^ ((i >> 8) as u8).wrapping_add(seed)
}

/// The size of the text kept from the latest text message.
pub const TEXT_CAP: usize = 128;

/// What one end has received so far.
pub struct Seen {
    /// The latest text message (its first `TEXT_CAP` bytes) and its length.
    pub text: [u8; TEXT_CAP],
    /// Length of `text` in use.
    pub text_len: usize,
    /// Whole text messages.
    pub texts: u32,
    /// Length and checksum of the latest binary message.
    pub binary_len: usize,
    /// Checksum of the latest binary message.
    pub binary_sum: Checksum,
    /// Whole binary messages.
    pub binaries: u32,
    /// Data chunks of the latest message.
    pub chunks: u32,
    /// The largest data chunk handed out.
    pub max_chunk: usize,
    /// Pings, and the latest ping's payload length.
    pub pings: u32,
    /// Pongs received.
    pub pongs: u32,
    /// The latest ping or pong payload's checksum.
    pub control_sum: Checksum,
    /// The peer's close code.
    pub close: Option<CloseCode>,
    /// Events handled.
    pub events: u32,
}

impl Seen {
    const fn new() -> Self {
        Self {
            text: [0; TEXT_CAP],
            text_len: 0,
            texts: 0,
            binary_len: 0,
            binary_sum: Checksum::new(),
            binaries: 0,
            chunks: 0,
            max_chunk: 0,
            pings: 0,
            pongs: 0,
            control_sum: Checksum::new(),
            close: None,
            events: 0,
        }
    }

    /// The latest text message.
    pub fn text(&self) -> &[u8] {
        &self.text[..self.text_len.min(TEXT_CAP)]
    }

    fn on_event(&mut self, event: Event<'_>) {
        self.events += 1;
        match event {
            Event::Data(chunk) => {
                if chunk.first {
                    self.chunks = 0;
                    self.text_len = 0;
                    self.binary_len = 0;
                    self.binary_sum = Checksum::new();
                }
                self.chunks += 1;
                self.max_chunk = self.max_chunk.max(chunk.payload.len());
                match chunk.kind {
                    DataKind::Text => {
                        for &b in chunk.payload {
                            if let Some(slot) = self.text.get_mut(self.text_len) {
                                *slot = b;
                            }
                            self.text_len += 1;
                        }
                        if chunk.last {
                            self.texts += 1;
                        }
                    }
                    DataKind::Binary => {
                        self.binary_len += chunk.payload.len();
                        self.binary_sum.update(chunk.payload);
                        if chunk.last {
                            self.binaries += 1;
                        }
                    }
                }
            }
            Event::Ping(p) => {
                self.pings += 1;
                self.control_sum = Checksum::new();
                self.control_sum.update(p);
            }
            Event::Pong(p) => {
                self.pongs += 1;
                self.control_sum = Checksum::new();
                self.control_sum.update(p);
            }
            Event::Close(frame) => self.close = Some(frame.code),
        }
    }
}

/// The receive buffer every end gets: small, as on a device.
pub const RX: usize = 256;
/// The largest read from the pipe at once; not a divisor of anything, so frames split
/// at odd places.
pub const READ: usize = 97;

/// One end: its connection, its receive buffer, and what it has seen.
pub struct End<E: Endpoint> {
    /// The connection.
    pub conn: Connection<E>,
    /// The receive buffer.
    pub rx: [u8; RX],
    /// Bytes in `rx` not yet consumed.
    pub filled: usize,
    /// What arrived.
    pub seen: Seen,
}

impl<E: Endpoint> End<E> {
    /// An end over `conn`, with `early` bytes already received (what followed the handshake).
    pub fn new(conn: Connection<E>, early: &[u8]) -> Result<Self, Failed> {
        let mut rx = [0; RX];
        rx.get_mut(..early.len())
            .ok_or(Failed("early bytes"))?
            .copy_from_slice(early);
        Ok(Self {
            conn,
            rx,
            filled: early.len(),
            seen: Seen::new(),
        })
    }

    /// Reads what `inbox` holds, in reads of at most [`READ`] bytes, and hands it to the
    /// connection until it needs more; then writes what the connection owes into `outbox`.
    pub fn pump<const N: usize, const M: usize>(
        &mut self,
        inbox: &mut Pipe<N>,
        outbox: &mut Pipe<M>,
    ) -> Result<(), Failed> {
        loop {
            self.filled += inbox.read(&mut self.rx[self.filled..], READ);
            let mut progress = false;
            loop {
                let r = self.conn.receive(&mut self.rx[..self.filled])?;
                if r.consumed == 0 && r.event.is_none() {
                    break;
                }
                progress = true;
                if let Some(event) = r.event {
                    self.seen.on_event(event);
                }
                let consumed = r.consumed;
                self.rx.copy_within(consumed..self.filled, 0);
                self.filled -= consumed;
            }
            if !progress && (inbox.is_empty() || self.filled == RX) {
                break;
            }
        }
        let mut tx = [0u8; RX];
        loop {
            let n = self.conn.poll_transmit(&mut tx)?;
            if n == 0 {
                return Ok(());
            }
            outbox.push(&tx[..n])?;
        }
    }
}
