//! What can go wrong between a stream and the connection: I/O, protocol, handshake (RFC 6455 §4, §7).

use core::fmt;

use crate::error::{ProtocolError, ReceiveError, SendError};
use crate::handshake::client::ResponseError;
use crate::handshake::server::HandshakeError;
use crate::handshake::WriteError;

/// Why an adapter call failed. `E` is the stream's own error type; the other variants keep the
/// protocol's reasons apart from the transport's.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E> {
    /// The stream failed. A failed read leaves the connection as it was (a read timeout can be
    /// retried); a failed write leaves a frame half-written, so the connection is unusable.
    Io(E),
    /// The peer broke the protocol. The close frame it deserves (1002, 1007, 1009) has been
    /// written; close the stream.
    Protocol(ProtocolError),
    /// The opening handshake failed. A refused request has been answered with its HTTP status.
    Handshake(HandshakeFailure),
    /// A send call was refused: a fragmented message is open, the close handshake has begun...
    /// Nothing was written.
    Send(SendError),
    /// The close handshake is over (or the connection failed earlier): no more events. Close
    /// the stream.
    Closed,
    /// The peer closed the stream without a close handshake (§7.1.5: code 1006).
    UnexpectedEof,
    /// The stream accepted no bytes.
    WriteZero,
    /// The receive or transmit buffer is smaller than
    /// [`MIN_BUFFER`](crate::io::MIN_BUFFER), or a handshake head does not fit the receive
    /// buffer.
    BufferTooSmall,
}

/// Which part of the opening handshake failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HandshakeFailure {
    /// The client's request was invalid, or the application refused it (server side).
    Request(HandshakeError),
    /// The server's response did not complete the handshake (client side).
    Response(ResponseError),
    /// The request or response could not be written: a header with a forbidden byte, a
    /// subprotocol the client did not offer, or a transmit buffer too small.
    Write(WriteError),
}

impl<E> Error<E> {
    /// The close code the peer was sent, when the error is the peer's protocol violation.
    #[must_use]
    pub const fn close_code(&self) -> Option<crate::CloseCode> {
        match self {
            Self::Protocol(e) => Some(e.close_code()),
            _ => None,
        }
    }
}

impl<E> From<SendError> for Error<E> {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

impl<E> From<ReceiveError> for Error<E> {
    fn from(e: ReceiveError) -> Self {
        match e {
            ReceiveError::Protocol(p) => Self::Protocol(p),
            _ => Self::Closed,
        }
    }
}

impl<E> From<HandshakeFailure> for Error<E> {
    fn from(e: HandshakeFailure) -> Self {
        Self::Handshake(e)
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => write!(f, "handshake request refused: {e}"),
            Self::Response(e) => write!(f, "handshake response refused: {e}"),
            Self::Write(e) => write!(f, "handshake not written: {e}"),
        }
    }
}

impl core::error::Error for HandshakeFailure {}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Handshake(e) => fmt::Display::fmt(e, f),
            Self::Send(e) => write!(f, "send refused: {e}"),
            Self::Closed => f.write_str("connection closed"),
            Self::UnexpectedEof => f.write_str("stream ended without a close handshake"),
            Self::WriteZero => f.write_str("stream accepted no bytes"),
            Self::BufferTooSmall => f.write_str("buffer too small"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for Error<E> {}
