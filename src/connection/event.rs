//! What the peer sent, as the connection hands it out (RFC 6455 §5.4–§5.6).

use crate::wire::close::CloseFrame;

/// The type of a data message (§5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DataKind {
    /// UTF-8 text. Each chunk has been validated as it arrived, but a chunk may end inside a
    /// character: only the whole message is guaranteed to be a `str`.
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// A piece of a data message, borrowed from the caller's input buffer (unmasked in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DataChunk<'a> {
    /// Text or binary, from the message's first frame.
    pub kind: DataKind,
    /// The bytes; may be empty (for an empty message or fragment).
    pub payload: &'a [u8],
    /// This is the first chunk of its message.
    pub first: bool,
    /// This is the last chunk of its message.
    pub last: bool,
}

/// One thing received from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'a> {
    /// Part of a text or binary message.
    Data(DataChunk<'a>),
    /// A ping with its payload. With [`Config::auto_pong`](crate::Config::auto_pong) (the
    /// default) the pong is already queued for `poll_transmit`.
    Ping(&'a [u8]),
    /// A pong with its payload.
    Pong(&'a [u8]),
    /// The peer's close frame. The reply is queued for `poll_transmit` unless this connection
    /// had already sent its own close.
    Close(CloseFrame<'a>),
}

/// The result of one [`Connection::receive`](crate::Connection::receive) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub struct Received<'a> {
    /// How many bytes from the front of the input were used. Drop them; keep the rest and
    /// present it again, with more bytes appended, on the next call.
    pub consumed: usize,
    /// What those bytes completed, if anything.
    pub event: Option<Event<'a>>,
}
