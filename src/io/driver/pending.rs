//! An event kept by its length while its bytes wait in the receive buffer (RFC 6455 §5.4–§5.6).
//!
//! [`Connection::receive`](crate::Connection::receive) hands out events whose bytes are always
//! the tail of the consumed prefix of its input: a data chunk's payload is the last
//! `payload.len()` bytes consumed, a ping's or pong's payload and a close frame's reason the
//! last bytes of the control frame. So an event is kept here as its kind and flags plus a
//! length, and borrowed again as `rx[consumed_end - len..consumed_end]`. No addresses are
//! compared. A stage above the connection may hand out bytes of its own instead: a
//! decompressed chunk's are in the inflate window ([`Receiver::inflated`]), a reassembled
//! message's in the reassembly storage; a [`Place`] says which.
//!
//! [`Receiver::inflated`]: crate::extensions::deflate::Receiver::inflated

use crate::connection::{DataChunk, Event};
use crate::message::Message;
use crate::wire::close::CloseFrame;

/// Where the bytes of a [`Pending`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The last `len` bytes consumed from `rx`.
    Input,
    /// The reassembly storage (a message that came in pieces).
    Storage,
    /// The decompressed chunk the inflate stage handed out last.
    Window,
}

/// An event or message received and not yet handed out: everything but its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    /// An event; its `len` bytes are at `at` (the input or the window).
    Event {
        event: Event<'static>,
        len: usize,
        at: Place,
    },
    /// A message; its `len` bytes are at `at`.
    Message {
        message: Message<'static>,
        len: usize,
        at: Place,
    },
}

impl Pending {
    /// `event` without its bytes.
    pub(super) fn event(event: Event<'_>) -> Self {
        let (event, len) = match event {
            Event::Data(chunk) => (
                Event::Data(DataChunk {
                    kind: chunk.kind,
                    rsv: chunk.rsv,
                    payload: &[],
                    first: chunk.first,
                    last: chunk.last,
                }),
                chunk.payload.len(),
            ),
            Event::Ping(p) => (Event::Ping(&[]), p.len()),
            Event::Pong(p) => (Event::Pong(&[]), p.len()),
            Event::Close(frame) => (
                Event::Close(CloseFrame {
                    code: frame.code,
                    reason: "",
                }),
                frame.reason.len(),
            ),
        };
        Self::Event {
            event,
            len,
            at: Place::Input,
        }
    }

    /// `message` without its bytes, which are the tail of the input.
    pub(super) fn message(message: Message<'_>) -> Self {
        let (message, len) = match message {
            Message::Text(t) => (Message::Text(""), t.len()),
            Message::Binary(b) => (Message::Binary(&[]), b.len()),
            Message::Encoded { kind, rsv, payload } => (
                Message::Encoded {
                    kind,
                    rsv,
                    payload: &[],
                },
                payload.len(),
            ),
            Message::Ping(p) => (Message::Ping(&[]), p.len()),
            Message::Pong(p) => (Message::Pong(&[]), p.len()),
            Message::Close(c) => (
                Message::Close(CloseFrame {
                    code: c.code,
                    reason: "",
                }),
                c.reason.len(),
            ),
        };
        Self::Message {
            message,
            len,
            at: Place::Input,
        }
    }

    /// It is data (a chunk or a whole message): the only kind a stage above the connection
    /// hands out from its own bytes. Control frames always borrow the input.
    pub(super) const fn is_data(&self) -> bool {
        matches!(
            self,
            Self::Event {
                event: Event::Data(_),
                ..
            } | Self::Message {
                message: Message::Text(_) | Message::Binary(_) | Message::Encoded { .. },
                ..
            }
        )
    }

    /// The same, with its bytes at `place`.
    pub(super) fn at(mut self, place: Place) -> Self {
        match &mut self {
            Self::Event { at, .. } | Self::Message { at, .. } => *at = place,
        }
        self
    }

    /// How many bytes before the end of the consumed input belong to it.
    pub(super) const fn rx_len(&self) -> usize {
        match self {
            Self::Event {
                len,
                at: Place::Input,
                ..
            }
            | Self::Message {
                len,
                at: Place::Input,
                ..
            } => *len,
            _ => 0,
        }
    }
}

/// Validated text read back as `str`: the connection checked the UTF-8 as it arrived.
fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or_default()
}

/// `event` with `bytes` put back.
pub(super) fn event_with<'a>(event: Event<'static>, bytes: &'a [u8]) -> Event<'a> {
    match event {
        Event::Data(chunk) => Event::Data(DataChunk {
            kind: chunk.kind,
            rsv: chunk.rsv,
            payload: bytes,
            first: chunk.first,
            last: chunk.last,
        }),
        Event::Ping(_) => Event::Ping(bytes),
        Event::Pong(_) => Event::Pong(bytes),
        Event::Close(frame) => Event::Close(CloseFrame {
            code: frame.code,
            reason: text(bytes),
        }),
    }
}

/// `message` with `bytes` put back.
pub(super) fn message_with<'a>(message: Message<'static>, bytes: &'a [u8]) -> Message<'a> {
    match message {
        Message::Text(_) => Message::Text(text(bytes)),
        Message::Binary(_) => Message::Binary(bytes),
        Message::Encoded { kind, rsv, .. } => Message::Encoded {
            kind,
            rsv,
            payload: bytes,
        },
        Message::Ping(_) => Message::Ping(bytes),
        Message::Pong(_) => Message::Pong(bytes),
        Message::Close(c) => Message::Close(CloseFrame {
            code: c.code,
            reason: text(bytes),
        }),
    }
}
