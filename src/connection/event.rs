//! What the peer sent, as the connection hands it out (RFC 6455 §5.4–§5.6).

use crate::wire::close::CloseFrame;

/// The type of a data message (§5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DataKind {
    /// UTF-8 text. Each chunk has been validated as it arrived, but a chunk may end inside a
    /// character: only the whole message is guaranteed to be a `str`. A text message whose
    /// first frame carries an extension's RSV bit is not checked here: its payload is the
    /// extension's encoding, and the layer that decodes it checks the decoded text.
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
    /// The RSV bits of the message's first frame ([`RSV1`](crate::wire::frame::RSV1)...), as
    /// allowed by [`Config::allowed_rsv`](crate::Config::allowed_rsv): 0 unless a negotiated
    /// extension transformed the message, whose decoder reads them here.
    pub rsv: u8,
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
    /// default) the pong is owed: the next `send_*` or `poll_transmit` writes it.
    Ping(&'a [u8]),
    /// A pong with its payload.
    Pong(&'a [u8]),
    /// The peer's close frame. Unless this connection had already sent its own close, the
    /// reply is owed: the next `send_*` (refused with [`SendError::Closing`]) or
    /// `poll_transmit` writes it, or [`send_close`](crate::Connection::send_close) answers
    /// with a code of the application's.
    ///
    /// [`SendError::Closing`]: crate::SendError::Closing
    Close(CloseFrame<'a>),
}

/// The result of one [`Connection::receive`](crate::Connection::receive) call.
///
/// The event's bytes are always the tail of the consumed prefix: a data chunk's payload is
/// `input[consumed - payload.len()..consumed]`, a ping's or pong's payload ends at `consumed`,
/// and so does a close frame's reason. A driver that must let go of the borrow can keep
/// `consumed` and the lengths, and borrow the bytes again from its buffer.
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
