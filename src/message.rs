//! Optional whole-message reassembly into a caller buffer (RFC 6455 §5.4, §5.6).
//!
//! [`Connection::receive`] streams a message as chunks. When the application wants whole
//! messages and knows their largest size, [`Reassembler`] collects the chunks into storage the
//! caller owns: a slice ([`SliceStorage`]) or a [`heapless::Vec`]. A message that does not fit
//! fails the connection with 1009, it never grows anything. A message that arrives in one piece
//! is handed out straight from the input, without a copy.
//!
//! It is the top stage of a receive pipeline: [`receive`](Reassembler::receive) takes its chunks
//! from the connection, [`reassemble`](Reassembler::reassemble) from any stage below (a
//! permessage-deflate [`Receiver`], whose decompressed chunks it collects, so the storage's
//! capacity bounds the decompressed size).
//!
//! [`Receiver`]: crate::extensions::deflate::Receiver

use crate::connection::{DataKind, Endpoint, Event, Received};
use crate::error::{ProtocolError, ReceiveError};
use crate::wire::close::CloseFrame;
use crate::Connection;

/// Bytes a [`Reassembler`] appends to.
pub trait Storage {
    /// Drops everything.
    fn clear(&mut self);
    /// Appends `bytes`, or returns `Err` without appending when they do not fit.
    fn extend(&mut self, bytes: &[u8]) -> Result<(), Full>;
    /// What is stored.
    fn bytes(&self) -> &[u8];
    /// The most bytes it can hold.
    fn capacity(&self) -> usize;
}

/// The storage is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Full;

/// A caller slice used as message storage.
#[derive(Debug)]
pub struct SliceStorage<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceStorage<'b> {
    /// Empty storage over `buf`; messages up to `buf.len()` bytes fit.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
}

impl Storage for SliceStorage<'_> {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len.checked_add(bytes.len()).ok_or(Full)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(Full)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    fn capacity(&self) -> usize {
        self.buf.len()
    }
}

impl<const N: usize> Storage for heapless::Vec<u8, N> {
    fn clear(&mut self) {
        heapless::Vec::clear(self);
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.extend_from_slice(bytes).map_err(|_| Full)
    }

    fn bytes(&self) -> &[u8] {
        self
    }

    fn capacity(&self) -> usize {
        N
    }
}

/// A whole message, or a control frame, borrowed from the input or the reassembly storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// A whole text message.
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A ping (the pong is queued when auto-pong is on).
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame.
    Close(CloseFrame<'a>),
    /// A whole message whose first frame carried the RSV bits `rsv` of a negotiated extension:
    /// `payload` is the extension's encoding, for its decoder. Text in this form has not been
    /// UTF-8 checked; the decoder checks the decoded text.
    Encoded {
        /// Text or binary, from the first frame.
        kind: DataKind,
        /// The first frame's RSV bits.
        rsv: u8,
        /// The message's payload as it arrived, unmasked.
        payload: &'a [u8],
    },
}

fn too_big<E: Endpoint>(conn: &mut Connection<E>) -> ReceiveError {
    conn.protocol_error(ProtocolError::MessageTooBig)
}

/// Collects data chunks into whole messages in caller-owned [`Storage`].
///
/// ```
/// use wsmachine::message::{Message, Reassembler, SliceStorage};
/// use wsmachine::{Config, Connection};
///
/// let mut server = Connection::server(Config::DEFAULT);
/// let mut storage = [0u8; 64];
/// let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
/// // RFC 6455 §5.7: "Hel" + "lo" in two masked fragments.
/// let mut rx = [0x01, 0x83, 0, 0, 0, 0, b'H', b'e', b'l', 0x80, 0x82, 0, 0, 0, 0, b'l', b'o'];
/// let mut at = 0;
/// let mut got = None;
/// while got.is_none() {
///     let (consumed, message) = messages.receive(&mut server, &mut rx[at..])?;
///     at += consumed;
///     if let Some(Message::Text(text)) = message {
///         got = Some(text.len());
///         assert_eq!(text, "Hello");
///     }
/// }
/// # Ok::<(), wsmachine::ReceiveError>(())
/// ```
#[derive(Debug)]
pub struct Reassembler<S> {
    storage: S,
}

impl<S: Storage> Reassembler<S> {
    /// A reassembler over empty `storage`.
    pub fn new(mut storage: S) -> Self {
        storage.clear();
        Self { storage }
    }

    /// The storage: after a message that came in pieces, its bytes.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Gives the storage back.
    pub fn into_inner(self) -> S {
        self.storage
    }

    /// Like [`Connection::receive`], but hands out whole messages: returns the bytes consumed
    /// and a message when one completed (or a control frame arrived). A message larger than
    /// [`Storage::capacity`], whether it arrives whole or in pieces, fails the connection with
    /// 1009 ([`ProtocolError::MessageTooBig`]).
    pub fn receive<'a, E: Endpoint>(
        &'a mut self,
        conn: &mut Connection<E>,
        input: &'a mut [u8],
    ) -> Result<(usize, Option<Message<'a>>), ReceiveError> {
        let received = conn.receive(input)?;
        self.reassemble(conn, received)
    }

    /// [`receive`](Self::receive) for what another stage received from `conn`: collects its
    /// data chunk, or hands its control frame on, and returns `received.consumed` with the
    /// message, if one completed. The message borrows the storage, or, when it came whole in
    /// one chunk, the chunk's bytes (the input, or a decompressed chunk's window).
    ///
    /// ```
    /// use wsmachine::connection::{RateLimit, RateLimiter, RateLimits};
    /// use wsmachine::message::{Message, Reassembler, SliceStorage, Storage};
    /// use wsmachine::{Config, Connection};
    ///
    /// let mut server = Connection::server(Config::DEFAULT);
    /// let mut storage = [0u8; 64];
    /// let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
    /// // A rate limiter below: it counts the frames as they arrive.
    /// let mut limiter = RateLimiter::new(RateLimits {
    ///     messages: Some(RateLimit::new(10, 10)),
    ///     ..RateLimits::NONE
    /// });
    /// // RFC 6455 §5.7: "Hel" + "lo" in two masked fragments.
    /// let mut rx = [0x01, 0x83, 0, 0, 0, 0, b'H', b'e', b'l', 0x80, 0x82, 0, 0, 0, 0, b'l', b'o'];
    /// let mut at = 0;
    /// let hello = loop {
    ///     let received = limiter.receive(&mut server, 0, &mut rx[at..])?;
    ///     let (consumed, message) = messages.reassemble(&mut server, received)?;
    ///     at += consumed;
    ///     if let Some(Message::Text(text)) = message {
    ///         break text.len();
    ///     }
    /// };
    /// assert_eq!((hello, messages.storage().bytes()), (5, &b"Hello"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reassemble<'a, E: Endpoint>(
        &'a mut self,
        conn: &mut Connection<E>,
        received: Received<'a>,
    ) -> Result<(usize, Option<Message<'a>>), ReceiveError> {
        let message = match received.event {
            None => None,
            Some(Event::Ping(p)) => Some(Message::Ping(p)),
            Some(Event::Pong(p)) => Some(Message::Pong(p)),
            Some(Event::Close(c)) => Some(Message::Close(c)),
            Some(Event::Data(chunk)) => {
                if chunk.first {
                    self.storage.clear();
                }
                let whole = if chunk.first && chunk.last {
                    // Whole already: no copy, but the same limit as if it came in pieces.
                    if chunk.payload.len() > self.storage.capacity() {
                        return Err(too_big(conn));
                    }
                    chunk.payload
                } else {
                    if self.storage.extend(chunk.payload).is_err() {
                        return Err(too_big(conn));
                    }
                    if !chunk.last {
                        return Ok((received.consumed, None));
                    }
                    self.storage.bytes()
                };
                if chunk.rsv != 0 {
                    return Ok((
                        received.consumed,
                        Some(Message::Encoded {
                            kind: chunk.kind,
                            rsv: chunk.rsv,
                            payload: whole,
                        }),
                    ));
                }
                Some(match chunk.kind {
                    // The connection validated the UTF-8 chunk by chunk, so this succeeds; the
                    // check is what turns the bytes into a `str` without `unsafe`.
                    DataKind::Text => match core::str::from_utf8(whole) {
                        Ok(text) => Message::Text(text),
                        Err(_) => return Err(conn.protocol_error(ProtocolError::InvalidUtf8)),
                    },
                    DataKind::Binary => Message::Binary(whole),
                })
            }
        };
        Ok((received.consumed, message))
    }
}
