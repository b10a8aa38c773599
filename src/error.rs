//! Error types of the connection (RFC 6455 §7.1.7, §7.4) and their one mapping to close codes.

use core::fmt;

use crate::wire::close_code::CloseCode;

/// What the peer did that RFC 6455 forbids. Receiving one fails the connection: a close frame
/// with [`ProtocolError::close_code`] is queued and the connection accepts no more input.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// RSV1, RSV2 or RSV3 set without an extension that defines it (§5.2).
    ReservedBits,
    /// An opcode that RFC 6455 reserves (3–7, 0xB–0xF) (§5.2).
    ReservedOpcode,
    /// A client sent an unmasked frame to the server (§5.1).
    UnmaskedFrame,
    /// A server sent a masked frame to the client (§5.1).
    MaskedFrame,
    /// A payload length not in its minimal encoding (§5.2).
    NonMinimalLength,
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthOverflow,
    /// A control frame with a payload longer than 125 bytes (§5.5).
    ControlFrameTooLong,
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A continuation frame with no message to continue (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is still open (§5.4).
    ExpectedContinuation,
    /// A close frame whose payload is one byte long (§5.5.1).
    InvalidClosePayload,
    /// A close frame carrying a code that may not be sent on the wire (§7.4).
    InvalidCloseCode,
    /// A frame after the peer's own close frame (§5.5.1).
    FrameAfterClose,
    // The three with close codes of their own (1007, 1009) come last, together: `close_code`
    // is then one compare for the rest (8 bytes of the server's flash).
    /// A text message or close reason that is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A frame whose payload exceeds [`Config::max_frame_size`](crate::Config::max_frame_size).
    FrameTooBig,
    /// A message whose payload exceeds [`Config::max_message_size`](crate::Config::max_message_size),
    /// or does not fit the reassembly buffer.
    MessageTooBig,
}

impl ProtocolError {
    /// The close code this error is reported to the peer with: 1007 for bad UTF-8, 1009 for
    /// size limits, 1002 for everything else.
    #[must_use]
    pub const fn close_code(self) -> CloseCode {
        match self {
            Self::InvalidUtf8 => CloseCode::INVALID_DATA,
            Self::FrameTooBig | Self::MessageTooBig => CloseCode::TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Self::ReservedBits => "reserved bits set",
            Self::ReservedOpcode => "reserved opcode",
            Self::UnmaskedFrame => "unmasked frame from client",
            Self::MaskedFrame => "masked frame from server",
            Self::NonMinimalLength => "payload length not minimally encoded",
            Self::LengthOverflow => "payload length has its top bit set",
            Self::ControlFrameTooLong => "control frame longer than 125 bytes",
            Self::FragmentedControlFrame => "fragmented control frame",
            Self::UnexpectedContinuation => "continuation frame without a message",
            Self::ExpectedContinuation => "new message inside a fragmented message",
            Self::InvalidUtf8 => "invalid UTF-8",
            Self::InvalidClosePayload => "close payload of one byte",
            Self::InvalidCloseCode => "invalid close code",
            Self::FrameTooBig => "frame too big",
            Self::MessageTooBig => "message too big",
            Self::FrameAfterClose => "frame after close",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for ProtocolError {}

/// Why [`Connection::receive`](crate::Connection::receive) returned no event.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReceiveError {
    /// The peer broke the protocol; the connection has failed and queued a close frame.
    Protocol(ProtocolError),
    /// The connection already failed or closed; it takes no more input.
    Closed,
}

impl ReceiveError {
    /// The close code owed to the peer, when this error is the peer's fault.
    #[must_use]
    pub const fn close_code(self) -> Option<CloseCode> {
        match self {
            Self::Protocol(e) => Some(e.close_code()),
            Self::Closed => None,
        }
    }
}

impl From<ProtocolError> for ReceiveError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Closed => f.write_str("connection closed"),
        }
    }
}

impl core::error::Error for ReceiveError {}

/// Why a `send_*` call or [`Connection::poll_transmit`](crate::Connection::poll_transmit) did
/// not write its frame. Except for [`SendError::Closing`], which wrote the close the connection
/// owed, a failed call wrote nothing and left the connection unchanged: retry it with a
/// larger buffer, or after finishing what is in progress.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// The output buffer is too small; `needed` bytes would have been written.
    BufferTooSmall {
        /// How many bytes the call needs.
        needed: usize,
    },
    /// The connection is closed: no more frames may be sent.
    Closed,
    /// The connection is closing (the peer's close arrived, or the connection failed): the
    /// frame was refused, and `out[..written]` holds the close frame the connection owed.
    /// Write those bytes; the connection is [`State::Closed`](crate::State::Closed) now or
    /// once the peer's close arrives.
    Closing {
        /// How many bytes of owed frames were written to `out`.
        written: usize,
    },
    /// A fragmented message is open: continue or finish it (with the same kind and RSV bits)
    /// before starting another.
    MessageInProgress,
    /// RSV bits that no negotiated extension defines (see
    /// [`Config::allowed_rsv`](crate::Config::allowed_rsv)), or above RSV1..RSV3.
    ReservedBits,
    /// A frame's payload is being written in pieces: finish it before sending another frame.
    FrameInProgress,
    /// More payload than the frame header announced, or less at the end of a frame.
    PayloadLengthMismatch,
    /// A control payload over 125 bytes, or a close reason over 123 bytes (§5.5).
    ControlPayloadTooLong,
    /// A close code that may not be sent (§7.4.1: 1005, 1006, 1015, reserved ranges).
    InvalidCloseCode,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Self::Closed => f.write_str("connection closed"),
            Self::Closing { written } => {
                write!(
                    f,
                    "connection closing: {written} owed bytes written instead"
                )
            }
            Self::MessageInProgress => f.write_str("a fragmented message is in progress"),
            Self::ReservedBits => f.write_str("RSV bits no extension defines"),
            Self::FrameInProgress => f.write_str("a frame's payload is still being written"),
            Self::PayloadLengthMismatch => {
                f.write_str("payload does not match the announced length")
            }
            Self::ControlPayloadTooLong => f.write_str("control payload too long"),
            Self::InvalidCloseCode => f.write_str("close code may not be sent"),
        }
    }
}

impl core::error::Error for SendError {}
