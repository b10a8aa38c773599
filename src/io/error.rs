//! What can go wrong between a stream and the connection: I/O, protocol, handshake (RFC 6455 §4, §7).

use core::fmt;

use crate::connection::{Limit, TimedOut};
use crate::error::{ProtocolError, ReceiveError, SendError};
use crate::handshake::client::ResponseError;
use crate::handshake::server::HandshakeError;
use crate::handshake::WriteError;

/// Which of the two caller buffers an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Buffer {
    /// The receive buffer, `rx`: handshake heads and incoming frames.
    Rx,
    /// The transmit buffer, `tx`: handshake heads and outgoing frames.
    Tx,
}

impl fmt::Display for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rx => "receive buffer (rx)",
            Self::Tx => "transmit buffer (tx)",
        })
    }
}

/// Why an adapter call failed. `E` is the stream's own error type; the other variants keep the
/// protocol's reasons apart from the transport's.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E> {
    /// The stream failed. Nothing is lost in the connection: a failed read can be retried (a
    /// read timeout), and bytes a failed write did not take stay queued for the next call.
    Io(E),
    /// The peer broke the protocol. The close frame it deserves (1002, 1007, 1009) has been
    /// written; close the stream.
    Protocol(ProtocolError),
    /// The opening handshake failed. A refused request has been answered with its HTTP status.
    Handshake(HandshakeFailure),
    /// A send call was refused: a fragmented message is open, the close handshake has begun...
    /// Nothing was queued.
    Send(SendError),
    /// The close handshake is over (or the connection failed earlier): no more events. Close
    /// the stream.
    Closed,
    /// The peer closed the stream without a close handshake (§7.1.5: code 1006).
    UnexpectedEof,
    /// The stream accepted no bytes.
    WriteZero,
    /// The peer went over a rate limit of the driver
    /// ([`Driver::rate_limiter`](crate::io::Driver::rate_limiter) with `OnExceed::Fail`): the
    /// 1008 close has been written; close the stream.
    RateLimited(Limit),
    /// A rate limiter with `OnExceed::Report` pauses reading until `resume_at` (the
    /// milliseconds of `handle_timeout`): nothing was read. Wait until then, call
    /// `handle_timeout` with the time, and call again. Nothing is lost.
    Paused {
        /// When reading may go on (`u64::MAX`: never, the bucket does not refill).
        resume_at: u64,
    },
    /// A caller buffer is too small: `rx` or `tx` under [`MIN_BUFFER`](crate::io::MIN_BUFFER),
    /// a handshake head that does not fit, a frame that cannot be encoded into `tx`.
    BufferTooSmall {
        /// Which buffer.
        buffer: Buffer,
        /// How many bytes it needs: exact for what is written into `tx` and for
        /// [`MIN_BUFFER`](crate::io::MIN_BUFFER); for a head that does not fit `rx`, the head
        /// length limit, which is enough for any head the limit accepts.
        needed: usize,
    },
    /// A compressed message could not be inflated; its close frame (1007, 1009) is written.
    #[cfg(feature = "deflate")]
    Inflate(crate::extensions::deflate::InflateError),
    /// Client: the server's permessage-deflate answer does not fit our offer; the 1010 close
    /// frame is written.
    #[cfg(feature = "deflate")]
    Negotiation(crate::extensions::deflate::NegotiationError),
    /// The compressor failed; nothing more of the message was sent.
    #[cfg(feature = "deflate-compress")]
    Compress(crate::extensions::deflate::CompressError),
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
    /// The request or response could not be written: a header with a forbidden byte, or a
    /// subprotocol the client did not offer.
    Write(WriteError),
    /// The application refused the request with its own response (server side), of this
    /// status.
    Rejected {
        /// The HTTP status sent.
        status: u16,
    },
    /// The handshake was not done by its deadline
    /// ([`Driver::handshake_deadline`](crate::io::Driver::handshake_deadline)): a server
    /// has answered `408 Request Timeout`.
    TimedOut,
}

/// Why a [`Driver`](crate::io::Driver) has stopped: the value of
/// [`Poll::Closed`](crate::io::Poll::Closed). It stays the same on every later poll.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Closed {
    /// The connection is over: the close handshake completed, or the connection was failed
    /// (`Connection::fail`) and its close frame is written.
    Done,
    /// The peer broke the protocol; the close frame it deserves (1002, 1007, 1009) is written.
    Protocol(ProtocolError),
    /// The opening handshake failed; a refused request has been answered.
    Handshake(HandshakeFailure),
    /// The stream ended (a read of 0) before the close handshake completed (§7.1.5: 1006,
    /// or the peer's code if its close had arrived; see
    /// [`Connection::close_outcome`](crate::Connection::close_outcome)).
    Eof,
    /// A timer ended the connection; whatever close frame it owed is written.
    TimedOut(TimedOut),
    /// The peer went over a rate limit; the 1008 close frame is written.
    RateLimited(Limit),
    /// A caller buffer is too small (see [`Error::BufferTooSmall`]).
    BufferTooSmall {
        /// Which buffer.
        buffer: Buffer,
        /// How many bytes it needs.
        needed: usize,
    },
    /// A compressed message could not be inflated (corrupt, too big, not UTF-8); the close
    /// frame it deserves (1007, 1009) is written.
    #[cfg(feature = "deflate")]
    Inflate(crate::extensions::deflate::InflateError),
    /// Client: the server's permessage-deflate answer does not fit our offer (RFC 7692
    /// §7.1); the connection was failed with 1010.
    #[cfg(feature = "deflate")]
    Negotiation(crate::extensions::deflate::NegotiationError),
}

/// Why a [`Driver`](crate::io::Driver) send call queued nothing.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TrySendError {
    /// Not now: `tx` has no room for the frame until the bytes queued in it are written. Write
    /// [`Driver::output`](crate::io::Driver::output), report it with
    /// [`write_done`](crate::io::Driver::write_done), and call again. Only returned while
    /// something is queued, so waiting always makes progress.
    Full {
        /// How many free bytes of `tx` the call needs.
        needed: usize,
    },
    /// The opening handshake is not done (or failed): nothing can be sent yet.
    NotOpen,
    /// The connection refused the frame (a message in progress, the close handshake begun...).
    Send(SendError),
}

impl<E> Error<E> {
    /// The close code the peer was sent, when the error is the peer's protocol violation.
    #[must_use]
    pub const fn close_code(&self) -> Option<crate::CloseCode> {
        match self {
            Self::Protocol(e) => Some(e.close_code()),
            Self::RateLimited(_) => Some(crate::CloseCode::POLICY_VIOLATION),
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

impl<E> From<Closed> for Error<E> {
    /// [`Closed::Done`] and [`Closed::TimedOut`] are [`Error::Closed`], [`Closed::Eof`] is
    /// [`Error::UnexpectedEof`]; the others keep their reason.
    fn from(closed: Closed) -> Self {
        match closed {
            Closed::Done | Closed::TimedOut(_) => Self::Closed,
            Closed::Protocol(e) => Self::Protocol(e),
            Closed::Handshake(e) => Self::Handshake(e),
            Closed::Eof => Self::UnexpectedEof,
            Closed::RateLimited(limit) => Self::RateLimited(limit),
            Closed::BufferTooSmall { buffer, needed } => Self::BufferTooSmall { buffer, needed },
            #[cfg(feature = "deflate")]
            Closed::Inflate(e) => Self::Inflate(e),
            #[cfg(feature = "deflate")]
            Closed::Negotiation(e) => Self::Negotiation(e),
        }
    }
}

impl<E> From<TrySendError> for Error<E> {
    /// [`TrySendError::Full`] becomes [`Error::BufferTooSmall`] for `tx`: an adapter only lets
    /// it out when writing cannot make room.
    fn from(e: TrySendError) -> Self {
        match e {
            TrySendError::Full { needed } => Self::BufferTooSmall {
                buffer: Buffer::Tx,
                needed,
            },
            TrySendError::NotOpen => Self::Closed,
            TrySendError::Send(e) => Self::Send(e),
        }
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => write!(f, "handshake request refused: {e}"),
            Self::Response(e) => write!(f, "handshake response refused: {e}"),
            Self::Write(e) => write!(f, "handshake not written: {e}"),
            Self::Rejected { status } => write!(f, "handshake refused with {status}"),
            Self::TimedOut => f.write_str("handshake not done by its deadline"),
        }
    }
}

impl core::error::Error for HandshakeFailure {}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done => f.write_str("connection closed"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Handshake(e) => fmt::Display::fmt(e, f),
            Self::Eof => f.write_str("stream ended without a close handshake"),
            Self::TimedOut(TimedOut::Keepalive) => {
                f.write_str("peer silent after a keepalive ping")
            }
            Self::TimedOut(TimedOut::Close) => f.write_str("peer did not answer our close"),
            Self::RateLimited(limit) => write!(f, "peer over the rate limit on {limit:?} (1008)"),
            Self::BufferTooSmall { buffer, needed } => {
                write!(f, "{buffer} too small: {needed} bytes needed")
            }
            #[cfg(feature = "deflate")]
            Self::Inflate(e) => write!(f, "permessage-deflate: {e}"),
            #[cfg(feature = "deflate")]
            Self::Negotiation(e) => write!(f, "permessage-deflate answer refused: {e}"),
        }
    }
}

impl core::error::Error for Closed {}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { needed } => write!(f, "transmit buffer full: {needed} bytes needed"),
            Self::NotOpen => f.write_str("the opening handshake is not done"),
            Self::Send(e) => write!(f, "send refused: {e}"),
        }
    }
}

impl core::error::Error for TrySendError {}

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
            Self::RateLimited(limit) => write!(f, "peer over the rate limit on {limit:?} (1008)"),
            Self::Paused { resume_at } => {
                write!(f, "reading paused by a rate limit until {resume_at}")
            }
            Self::BufferTooSmall { buffer, needed } => {
                write!(f, "{buffer} too small: {needed} bytes needed")
            }
            #[cfg(feature = "deflate")]
            Self::Inflate(e) => write!(f, "permessage-deflate: {e}"),
            #[cfg(feature = "deflate")]
            Self::Negotiation(e) => write!(f, "permessage-deflate answer refused: {e}"),
            #[cfg(feature = "deflate-compress")]
            Self::Compress(e) => write!(f, "permessage-deflate: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for Error<E> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn buffer_errors_name_the_buffer_and_the_size() {
        let e: Error<()> = Closed::BufferTooSmall {
            buffer: Buffer::Rx,
            needed: 4096,
        }
        .into();
        assert_eq!(
            e,
            Error::BufferTooSmall {
                buffer: Buffer::Rx,
                needed: 4096
            }
        );
        let text = match e {
            Error::BufferTooSmall { buffer, needed } => Closed::BufferTooSmall { buffer, needed },
            _ => Closed::Done,
        }
        .to_string();
        assert_eq!(text, "receive buffer (rx) too small: 4096 bytes needed");
        let full: Error<()> = TrySendError::Full { needed: 20 }.into();
        assert_eq!(
            full,
            Error::BufferTooSmall {
                buffer: Buffer::Tx,
                needed: 20
            }
        );
    }
}
