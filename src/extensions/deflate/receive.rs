//! Receiving permessage-deflate messages (RFC 7692 §6, §7.2.2): the connection's chunks in,
//! decompressed chunks out, checked for size and UTF-8 as they inflate.
//!
//! The [`Receiver`] is one stage of a receive pipeline: [`receive`](Receiver::receive) takes
//! its chunks from [`Connection::receive`], [`receive_with`](Receiver::receive_with) from any
//! stage below it (a rate limiter that counts what arrives on the wire, say), and a
//! [`Reassembler`](crate::message::Reassembler) can sit above it
//! ([`reassemble`](crate::message::Reassembler::reassemble)).

use core::fmt;

use super::inflate::{Inflater, Stop, WindowError};
use super::negotiate::{Agreed, Direction};
use crate::connection::{Endpoint, Received};
use crate::utf8::Utf8Validator;
use crate::wire::close::{CloseCode, CloseFrame};
use crate::wire::frame::RSV1;
use crate::{Connection, DataChunk, DataKind, Event, ReceiveError};

/// The tail the sender stripped from every message (§7.2.1), put back before inflating.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why [`Receiver::receive`] failed. Except for [`InflateError::Connection`]`(Closed)`, the
/// connection has failed and owes the peer a close with [`close_code`](Self::close_code).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InflateError {
    /// The connection refused the bytes (its own error and close code).
    Connection(ReceiveError),
    /// The compressed data is not valid DEFLATE: 1007.
    Corrupt,
    /// The decompressed message is larger than the receiver's limit: 1009.
    TooBig,
    /// The decompressed text is not UTF-8: 1007.
    InvalidUtf8,
}

impl InflateError {
    /// The close code owed to the peer, when the error is the peer's fault.
    ///
    /// Corrupt DEFLATE data is 1007 ("data within a message that was not consistent with the
    /// type of the message", RFC 6455 §7.4.1): the frames are well-formed, so it is not a
    /// framing error (1002), and the extension was negotiated and works, so it is not 1010;
    /// RFC 7692 §8 leaves the code open. The payload of a compressed message is what is
    /// invalid, as bad UTF-8 is in a text message.
    #[must_use]
    pub const fn close_code(self) -> Option<CloseCode> {
        match self {
            Self::Connection(e) => e.close_code(),
            Self::Corrupt | Self::InvalidUtf8 => Some(CloseCode::INVALID_DATA),
            Self::TooBig => Some(CloseCode::TOO_BIG),
        }
    }
}

impl From<ReceiveError> for InflateError {
    fn from(e: ReceiveError) -> Self {
        Self::Connection(e)
    }
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connection(e) => fmt::Display::fmt(e, f),
            Self::Corrupt => f.write_str("invalid compressed data"),
            Self::TooBig => f.write_str("decompressed message too big"),
            Self::InvalidUtf8 => f.write_str("decompressed text is not UTF-8"),
        }
    }
}

impl core::error::Error for InflateError {}

/// What the connection handed out, without the borrow: the event's bytes are the tail of the
/// consumed prefix, so it can be borrowed again from the input.
#[derive(Clone, Copy)]
enum Shape {
    Nothing,
    Data {
        kind: DataKind,
        rsv: u8,
        first: bool,
        last: bool,
        len: usize,
    },
    Ping(usize),
    Pong(usize),
    Close(CloseCode, usize),
}

impl Shape {
    fn of(event: Option<&Event<'_>>) -> Self {
        match event {
            None => Self::Nothing,
            Some(Event::Data(c)) => Self::Data {
                kind: c.kind,
                rsv: c.rsv,
                first: c.first,
                last: c.last,
                len: c.payload.len(),
            },
            Some(Event::Ping(p)) => Self::Ping(p.len()),
            Some(Event::Pong(p)) => Self::Pong(p.len()),
            Some(Event::Close(c)) => Self::Close(c.code, c.reason.len()),
        }
    }

    /// The event again, borrowing `input[..consumed]`.
    fn event(self, input: &[u8], consumed: usize) -> Option<Event<'_>> {
        let tail = |len: usize| {
            input
                .get(consumed.saturating_sub(len)..consumed)
                .unwrap_or_default()
        };
        Some(match self {
            Self::Nothing => return None,
            Self::Data {
                kind,
                rsv,
                first,
                last,
                len,
            } => Event::Data(DataChunk {
                kind,
                rsv,
                payload: tail(len),
                first,
                last,
            }),
            Self::Ping(len) => Event::Ping(tail(len)),
            Self::Pong(len) => Event::Pong(tail(len)),
            Self::Close(code, len) => Event::Close(CloseFrame {
                code,
                reason: core::str::from_utf8(tail(len)).unwrap_or_default(),
            }),
        })
    }
}

/// The compressed message being inflated.
#[derive(Debug, Clone, Copy)]
struct Message {
    kind: DataKind,
    /// A chunk of it has been handed out.
    started: bool,
    /// Decompressed bytes so far.
    size: u64,
    /// Some compressed byte has been inflated.
    fed: bool,
    utf8: Utf8Validator,
}

/// Inflates the compressed messages of one connection (RFC 7692 §7.2.2) into a caller-owned
/// window and hands them out as [`DataChunk`]s, like [`Connection::receive`] does for plain
/// ones. See the [module](super) docs for the call order.
///
/// Under a [`Reassembler`](crate::message::Reassembler), compressed messages come out whole and
/// decompressed, the storage's capacity bounding their decompressed size:
///
/// ```
/// use wsmachine::extensions::deflate::{accept_offer, DeflateConfig, Receiver};
/// use wsmachine::handshake::Extensions;
/// use wsmachine::message::{Message, Reassembler, SliceStorage, Storage};
/// use wsmachine::{Config, Connection};
///
/// let offer = b"permessage-deflate";
/// let agreed = accept_offer(&DeflateConfig::DEFAULT, Extensions::new(core::iter::once(&offer[..])))
///     .expect("acceptable");
/// let mut server = Connection::server(agreed.connection_config(Config::DEFAULT));
/// let mut window = vec![0u8; 1 << 15];
/// let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20)?;
/// let mut storage = [0u8; 64];
/// let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
/// // RFC 7692 §7.2.3.1, masked with a zero key: "Hello" compressed, in two fragments.
/// let mut rx = [
///     0x41, 0x83, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, // RSV1, text, not fin
///     0x80, 0x84, 0, 0, 0, 0, 0xc9, 0xc9, 0x07, 0x00, // continuation, fin
/// ];
/// let mut at = 0;
/// let hello = loop {
///     let received = receiver.receive(&mut server, &mut rx[at..])?;
///     let (consumed, message) = messages.reassemble(&mut server, received)?;
///     at += consumed;
///     if let Some(Message::Text(text)) = message {
///         break text.len();
///     }
/// };
/// assert_eq!((hello, messages.storage().bytes()), (5, &b"Hello"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Receiver<'w> {
    inflater: Inflater<'w>,
    peer: Direction,
    max_message_size: u64,
    /// Bytes at the front of the next input that the connection has handed out (unmasked) as
    /// the current chunk's payload and that are not inflated yet.
    pending: usize,
    /// The current chunk is its message's last.
    pending_last: bool,
    /// All of the message's frames are in: how much of [`TAIL`] has been fed.
    tail: Option<u8>,
    message: Option<Message>,
    failed: bool,
    /// Where in the window the chunk the last call handed out is (empty when it handed out
    /// none).
    inflated: core::ops::Range<usize>,
}

impl<'w> Receiver<'w> {
    /// A receiver for the `agreed` permessage-deflate, inflating into `window` (a power of two
    /// of at least `1 << agreed.receive().window_bits` bytes), that fails the connection with
    /// 1009 once a message decompresses to more than `max_message_size` bytes. The
    /// connection's own [`Config`](crate::Config) limits still apply to what arrives: the
    /// compressed bytes, and plain messages.
    pub fn new(
        window: &'w mut [u8],
        agreed: &Agreed,
        max_message_size: u64,
    ) -> Result<Self, WindowError> {
        Self::with_peer(window, agreed.receive(), max_message_size)
    }

    /// [`new`](Self::new) for what the peer sends, known or assumed: a driver makes its
    /// receiver before the handshake, then [`set_peer`](Self::set_peer)s what was agreed.
    pub(crate) fn with_peer(
        window: &'w mut [u8],
        peer: Direction,
        max_message_size: u64,
    ) -> Result<Self, WindowError> {
        let needed = 1usize << peer.window_bits.clamp(8, 15);
        if window.len() < needed {
            return Err(WindowError { needed });
        }
        Ok(Self {
            inflater: Inflater::new(window)?,
            peer,
            max_message_size,
            pending: 0,
            pending_last: false,
            tail: None,
            message: None,
            failed: false,
            inflated: 0..0,
        })
    }

    /// What the peer agreed to send, before the first message: its window (no larger than
    /// the one given to [`with_peer`](Self::with_peer)) and whether it resets its context.
    pub(crate) fn set_peer(&mut self, peer: Direction) {
        self.peer = peer;
    }

    /// Bytes at the front of the unconsumed input that the connection already handed out
    /// (and unmasked) and that this receiver still has to inflate: present them again,
    /// unchanged.
    #[must_use]
    pub const fn pending(&self) -> usize {
        self.pending
    }

    /// A compressed message has been started and not finished.
    #[must_use]
    pub const fn in_message(&self) -> bool {
        self.message.is_some()
    }

    /// The payload of the decompressed chunk that the last [`receive`](Self::receive) (or
    /// [`receive_with`](Self::receive_with)) handed out, again; empty when that call handed
    /// out no decompressed bytes (its event, if any, borrowed the input). For a driver that
    /// lets go of the event's borrow and takes the bytes later: the window is not written
    /// until the next call.
    #[must_use]
    pub fn inflated(&self) -> &[u8] {
        self.inflater.output(self.inflated.clone())
    }

    /// Like [`Connection::receive`]: returns how many bytes from the front of `input` were
    /// used, and at most one event. Control frames and uncompressed messages come through as
    /// the connection hands them out; compressed messages (RSV1 on the first frame) come out
    /// decompressed, as [`Event::Data`] chunks with `rsv == 0` that borrow the window, in as
    /// many calls as it takes: a call never writes more than the window's length.
    ///
    /// Call again until a call consumes nothing and returns no event: a call may return an
    /// event and consume nothing (more decompressed output is owed), or consume bytes and
    /// return no event. Unconsumed bytes must be presented again, unchanged: the first
    /// [`pending`](Self::pending) of them are payload the connection has already handed out.
    ///
    /// Decompressed text is UTF-8 checked as it inflates. On an error the connection has
    /// failed with the close code of [`InflateError::close_code`] (owed, as after a protocol
    /// error); later calls fail with `Connection(Closed)`.
    pub fn receive<'a, E: Endpoint>(
        &'a mut self,
        conn: &mut Connection<E>,
        input: &'a mut [u8],
    ) -> Result<Received<'a>, InflateError> {
        self.receive_with(conn, input, Connection::receive)
    }

    /// [`receive`](Self::receive) over another stage: `below` is called instead of
    /// [`Connection::receive`] whenever the receiver needs the next event, and must behave
    /// like it (the event's bytes the tail of the consumed prefix of the input it was given).
    /// A stage that drops an event (a rate limiter over its limit, which has failed the
    /// connection) returns it as consumed bytes and no event.
    ///
    /// ```
    /// use wsmachine::connection::{Limit, Limited, RateLimit, RateLimiter, RateLimits};
    /// use wsmachine::extensions::deflate::{accept_offer, DeflateConfig, Receiver};
    /// use wsmachine::handshake::Extensions;
    /// use wsmachine::{Config, Connection, Event, ReceiveError, Received};
    ///
    /// let offer = b"permessage-deflate";
    /// let agreed = accept_offer(&DeflateConfig::DEFAULT, Extensions::new(core::iter::once(&offer[..])))
    ///     .expect("acceptable");
    /// let mut server = Connection::server(agreed.connection_config(Config::DEFAULT));
    /// let mut window = vec![0u8; 1 << 15];
    /// let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20)?;
    /// // One message a second: the limiter counts the frames as they arrive, compressed.
    /// let mut limiter = RateLimiter::new(RateLimits {
    ///     messages: Some(RateLimit::new(1, 1)),
    ///     ..RateLimits::NONE
    /// });
    /// // RFC 7692 §7.2.3.1, masked with a zero key: "Hello" compressed, twice.
    /// let hello = [0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    /// let mut rx = [hello, hello].concat();
    /// let (mut at, mut text, mut limited) = (0, Vec::new(), None);
    /// for _ in 0..10 {
    ///     let received = receiver.receive_with(&mut server, &mut rx[at..], |conn, input| {
    ///         match limiter.receive(conn, 0, input) {
    ///             Ok(received) => Ok(received),
    ///             // Over the limit: the connection has failed with 1008; the event is dropped.
    ///             Err(Limited::Exceeded { limit, consumed }) => {
    ///                 limited = Some(limit);
    ///                 Ok(Received { consumed, event: None })
    ///             }
    ///             Err(Limited::Receive(e)) => Err(e),
    ///             Err(_) => Err(ReceiveError::Closed),
    ///         }
    ///     });
    ///     let Ok(received) = received else { break };
    ///     at += received.consumed;
    ///     if let Some(Event::Data(chunk)) = received.event {
    ///         text.extend_from_slice(chunk.payload);
    ///     }
    /// }
    /// assert_eq!((&text[..], limited), (&b"Hello"[..], Some(Limit::Messages)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn receive_with<'a, E, F>(
        &'a mut self,
        conn: &mut Connection<E>,
        input: &'a mut [u8],
        below: F,
    ) -> Result<Received<'a>, InflateError>
    where
        E: Endpoint,
        F: for<'x> FnOnce(&mut Connection<E>, &'x mut [u8]) -> Result<Received<'x>, ReceiveError>,
    {
        self.inflated = 0..0;
        if self.failed {
            return Err(InflateError::Connection(ReceiveError::Closed));
        }
        // Every error path below sets `failed` itself.
        let result = self.step(conn, input, below);
        if let Err(e) = result {
            if let Some(code) = e.close_code() {
                // The connection fails itself on its own errors; ours it is told. A code
                // from `close_code` is always one allowed on the wire.
                let _ = conn.fail(code);
            }
        }
        result
    }

    fn step<'a, E: Endpoint>(
        &'a mut self,
        conn: &mut Connection<E>,
        input: &'a mut [u8],
        below: impl for<'x> FnOnce(
            &mut Connection<E>,
            &'x mut [u8],
        ) -> Result<Received<'x>, ReceiveError>,
    ) -> Result<Received<'a>, InflateError> {
        if self.tail.is_some() {
            return self.finish_message();
        }
        if self.pending > 0 {
            let n = self.pending.min(input.len());
            let compressed = input.get(..n).unwrap_or_default();
            return self.inflate_chunk(compressed, 0);
        }
        let (consumed, shape) = match below(conn, &mut *input) {
            Ok(received) => (received.consumed, Shape::of(received.event.as_ref())),
            Err(e) => {
                self.failed = true;
                return Err(InflateError::Connection(e));
            }
        };
        match shape {
            Shape::Data {
                kind,
                rsv,
                first,
                last,
                len,
            } if rsv & RSV1 != 0 => {
                if first {
                    self.start_message(kind);
                }
                self.pending = len;
                self.pending_last = last;
                let start = consumed.saturating_sub(len);
                let compressed = input.get(start..consumed).unwrap_or_default();
                self.inflate_chunk(compressed, start)
            }
            shape => Ok(Received {
                consumed,
                event: shape.event(input, consumed),
            }),
        }
    }

    fn start_message(&mut self, kind: DataKind) {
        if self.peer.no_context_takeover || self.inflater.ended() {
            self.inflater.reset();
        }
        self.message = Some(Message {
            kind,
            started: false,
            size: 0,
            fed: false,
            utf8: Utf8Validator::new(),
        });
    }

    /// How many more decompressed bytes the message may have, plus one to see it overflow.
    fn allowance(&self) -> usize {
        let size = self.message.map_or(0, |m| m.size);
        let left = self.max_message_size.saturating_sub(size).saturating_add(1);
        usize::try_from(left).unwrap_or(usize::MAX)
    }

    /// Inflates from `compressed` (the front of the pending payload, at `input[offset..]`).
    fn inflate_chunk<'a>(
        &'a mut self,
        compressed: &[u8],
        offset: usize,
    ) -> Result<Received<'a>, InflateError> {
        if compressed.is_empty() {
            // An empty frame (the last one may be, after a compressor's final flush), or
            // pending payload not presented yet.
            if self.pending == 0 && self.pending_last {
                self.tail = Some(0);
            }
            return Ok(Received {
                consumed: offset,
                event: None,
            });
        }
        let Ok(step) = self.inflater.inflate(compressed, self.allowance()) else {
            self.failed = true;
            return Err(InflateError::Corrupt);
        };
        if let Some(message) = self.message.as_mut() {
            message.fed = true;
        }
        // After a BFINAL block the rest of the message is not DEFLATE data: it is dropped.
        let used = if step.stop == Stop::Ended {
            compressed.len()
        } else {
            step.consumed
        };
        if used == 0 && step.output.is_empty() && step.stop != Stop::Ended {
            // miniz_oxide always uses input or makes output when it has both; never spin.
            self.failed = true;
            return Err(InflateError::Corrupt);
        }
        self.pending = self.pending.saturating_sub(used);
        if self.pending == 0 && self.pending_last {
            self.tail = Some(0);
        }
        let event = self.chunk(step.output, false)?;
        Ok(Received {
            consumed: offset + used,
            event,
        })
    }

    /// Feeds the tail after the message's last frame and drains the output; every call hands
    /// out a chunk, the last one with `last` set.
    ///
    /// A message with no compressed byte at all is taken as empty, without the tail: the tail
    /// alone is an unfinished stored block, which would swallow the next message. Compressors
    /// send `00` for an empty message, but one that skips the empty block loses nothing.
    fn finish_message(&mut self) -> Result<Received<'_>, InflateError> {
        if self.message.is_some_and(|m| !m.fed) {
            self.tail = None;
            let event = self.chunk(0..0, true)?;
            return Ok(Received { consumed: 0, event });
        }
        let fed = usize::from(self.tail.unwrap_or(4));
        let rest = TAIL.get(fed..).unwrap_or_default();
        let Ok(step) = self.inflater.inflate(rest, self.allowance()) else {
            self.failed = true;
            return Err(InflateError::Corrupt);
        };
        let fed = fed + step.consumed;
        let done = step.stop == Stop::Ended || (fed >= TAIL.len() && step.stop == Stop::NeedsInput);
        self.tail = if done { None } else { Some(fed as u8) };
        let event = self.chunk(step.output, done)?;
        Ok(Received { consumed: 0, event })
    }

    /// Checks the new output against the size limit and, for text, UTF-8, and wraps it as a
    /// chunk. Nothing is handed out for empty output in the middle of a message.
    fn chunk(
        &mut self,
        output: core::ops::Range<usize>,
        last: bool,
    ) -> Result<Option<Event<'_>>, InflateError> {
        let Some(message) = self.message.as_mut() else {
            self.failed = true;
            return Err(InflateError::Corrupt);
        };
        let payload = self.inflater.output(output.clone());
        message.size = message.size.saturating_add(payload.len() as u64);
        if message.size > self.max_message_size {
            self.failed = true;
            return Err(InflateError::TooBig);
        }
        if message.kind == DataKind::Text {
            let valid = message.utf8.feed(payload).and_then(|()| {
                if last {
                    message.utf8.finish()
                } else {
                    Ok(())
                }
            });
            if valid.is_err() {
                self.failed = true;
                return Err(InflateError::InvalidUtf8);
            }
        }
        if payload.is_empty() && !last {
            return Ok(None);
        }
        let first = !message.started;
        message.started = true;
        let kind = message.kind;
        if last {
            self.message = None;
        }
        self.inflated = output;
        Ok(Some(Event::Data(DataChunk {
            kind,
            rsv: 0,
            payload,
            first,
            last,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProtocolError;

    #[test]
    fn errors_map_to_close_codes() {
        let cases = [
            (InflateError::Corrupt, Some(1007)),
            (InflateError::InvalidUtf8, Some(1007)),
            (InflateError::TooBig, Some(1009)),
            (
                InflateError::Connection(ReceiveError::Protocol(ProtocolError::ReservedBits)),
                Some(1002),
            ),
            (InflateError::Connection(ReceiveError::Closed), None),
        ];
        for (e, code) in cases {
            assert_eq!(e.close_code().map(|c| c.0), code, "{e}");
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn inflated_gives_the_last_decompressed_chunk_again_and_nothing_for_the_input() {
        use crate::extensions::deflate::{accept_offer, DeflateConfig};
        use crate::handshake::Extensions;
        let offer = b"permessage-deflate";
        let agreed = accept_offer(
            &DeflateConfig::DEFAULT,
            Extensions::new(core::iter::once(&offer[..])),
        )
        .unwrap();
        let mut conn = Connection::server(agreed.connection_config(crate::Config::DEFAULT));
        let mut window = std::vec![0u8; 1 << 15];
        let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
        // A ping, then "Hello" compressed (RFC 7692 §7.2.3.1), masked with a zero key.
        let mut rx = std::vec![0x89, 0x81, 0, 0, 0, 0, b'p'];
        rx.extend_from_slice(&[
            0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
        ]);
        let (mut at, mut calls, mut text) = (0, 0, std::vec::Vec::new());
        // `below` sees every event the connection hands out, before it is inflated.
        let mut wire = std::vec::Vec::new();
        while calls < 10 {
            calls += 1;
            let received = receiver.receive_with(&mut conn, &mut rx[at..], |conn, input| {
                let received = conn.receive(input)?;
                wire.push(Shape::of(received.event.as_ref()));
                Ok(received)
            });
            let received = received.unwrap();
            at += received.consumed;
            let chunk = match received.event {
                Some(Event::Data(chunk)) => Some((chunk.payload.len(), chunk.last)),
                Some(_) => None,
                None if received.consumed == 0 => break,
                None => continue,
            };
            match chunk {
                Some((len, last)) => {
                    assert_eq!(receiver.inflated().len(), len);
                    text.extend_from_slice(receiver.inflated());
                    if last {
                        break;
                    }
                }
                None => assert!(receiver.inflated().is_empty(), "the ping is the input's"),
            }
        }
        assert_eq!(text, b"Hello");
        assert!(matches!(
            wire[..],
            [
                Shape::Ping(1),
                Shape::Data {
                    rsv: RSV1,
                    len: 7,
                    ..
                },
                ..
            ]
        ));
    }

    #[test]
    fn shapes_borrow_the_same_bytes_again() {
        let input = b"xx\x03\xe8bye";
        let close = Shape::Close(CloseCode::NORMAL, 3).event(input, input.len());
        assert_eq!(
            close,
            Some(Event::Close(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "bye"
            }))
        );
        let ping = Shape::Ping(2).event(input, 2);
        assert_eq!(ping, Some(Event::Ping(b"xx")));
        assert_eq!(Shape::Nothing.event(input, 0), None);
    }
}
