//! Close frame payloads (RFC 6455 §5.5.1); their status codes (§7.4) come from `close_code.rs`.

use crate::error::{ProtocolError, SendError};

pub use super::close_code::CloseCode;

/// The longest close reason: a control payload of 125 bytes less the 2-byte code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A close frame's content, borrowed from its payload.
///
/// An empty payload has the code [`CloseCode::NO_STATUS`] and an empty reason (§7.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CloseFrame<'a> {
    /// The status code, [`CloseCode::NO_STATUS`] when the payload was empty.
    pub code: CloseCode,
    /// The reason, valid UTF-8 of at most 123 bytes.
    pub reason: &'a str,
}

impl<'a> CloseFrame<'a> {
    /// Parses a received close payload: empty, or a valid code followed by a UTF-8 reason.
    ///
    /// ```
    /// use wsmachine::{CloseCode, CloseFrame, ProtocolError};
    /// let frame = CloseFrame::parse(b"\x03\xe8bye")?;
    /// assert_eq!((frame.code, frame.reason), (CloseCode::NORMAL, "bye"));
    /// assert_eq!(CloseFrame::parse(b"\x03"), Err(ProtocolError::InvalidClosePayload));
    /// assert_eq!(CloseFrame::parse(b"\x03\xed"), Err(ProtocolError::InvalidCloseCode)); // 1005
    /// # Ok::<(), ProtocolError>(())
    /// ```
    pub fn parse(payload: &'a [u8]) -> Result<Self, ProtocolError> {
        match *payload {
            [] => Ok(Self {
                code: CloseCode::NO_STATUS,
                reason: "",
            }),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, ref reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([hi, lo]));
                if !code.is_allowed_on_wire() {
                    return Err(ProtocolError::InvalidCloseCode);
                }
                if reason.len() > MAX_CLOSE_REASON {
                    return Err(ProtocolError::ControlFrameTooLong);
                }
                let reason =
                    core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Self { code, reason })
            }
        }
    }

    /// The number of payload bytes [`emit`](Self::emit) writes.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        if self.code.0 == CloseCode::NO_STATUS.0 {
            0
        } else {
            2 + self.reason.len()
        }
    }

    /// Checks that this close frame may be sent: a code allowed on the wire (or
    /// [`CloseCode::NO_STATUS`] with no reason, sent as an empty payload) and a reason of at
    /// most 123 bytes.
    // Inlined on bare metal, where `send_close` checks before the frame and `emit` checks
    // again: inlined, the two fold into one (client and deflate client 12 bytes).
    #[cfg_attr(target_os = "none", inline(always))]
    pub const fn validate(&self) -> Result<(), SendError> {
        if self.code.0 == CloseCode::NO_STATUS.0 {
            if self.reason.is_empty() {
                return Ok(());
            }
            return Err(SendError::InvalidCloseCode);
        }
        if !self.code.is_allowed_on_wire() {
            return Err(SendError::InvalidCloseCode);
        }
        if self.reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::ControlPayloadTooLong);
        }
        Ok(())
    }

    /// Writes the close payload (code, then reason) into `out` and returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, SendError> {
        self.validate()?;
        if self.code.0 == CloseCode::NO_STATUS.0 {
            return Ok(0);
        }
        let reason = self.reason.as_bytes();
        let needed = 2 + reason.len();
        let Some((code, rest)) = out
            .get_mut(..needed)
            .and_then(<[u8]>::split_first_chunk_mut::<2>)
        else {
            return Err(SendError::BufferTooSmall { needed });
        };
        *code = self.code.0.to_be_bytes();
        // `rest` is `needed - 2` bytes, the reason's length, so the copy cannot fail.
        rest.copy_from_slice(reason);
        Ok(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rules() {
        assert_eq!(
            CloseFrame::parse(b""),
            Ok(CloseFrame {
                code: CloseCode::NO_STATUS,
                reason: ""
            })
        );
        assert_eq!(
            CloseFrame::parse(b"\x03"),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe9"),
            Ok(CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: ""
            })
        );
        assert_eq!(
            CloseFrame::parse(b"\x0b\xb8x"),
            Ok(CloseFrame {
                code: CloseCode(3000),
                reason: "x"
            })
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidUtf8)
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xce\xba\xe1\xbd\xb9"),
            Ok(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "\u{3ba}\u{1f79}"
            })
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xee"),
            Err(ProtocolError::InvalidCloseCode)
        );
        assert_eq!(
            CloseFrame::parse(b"\x13\x88"),
            Err(ProtocolError::InvalidCloseCode)
        );
    }

    #[test]
    fn emit_rules() {
        let mut out = [0u8; 125];
        let n = CloseFrame {
            code: CloseCode::NORMAL,
            reason: "bye",
        }
        .emit(&mut out)
        .unwrap();
        assert_eq!(&out[..n], b"\x03\xe8bye");
        assert_eq!(
            CloseFrame {
                code: CloseCode::NO_STATUS,
                reason: ""
            }
            .emit(&mut out),
            Ok(0)
        );
        assert_eq!(
            CloseFrame {
                code: CloseCode::NO_STATUS,
                reason: "x"
            }
            .emit(&mut out),
            Err(SendError::InvalidCloseCode)
        );
        assert_eq!(
            CloseFrame {
                code: CloseCode::ABNORMAL,
                reason: ""
            }
            .emit(&mut out),
            Err(SendError::InvalidCloseCode)
        );
        let long = "a".repeat(124);
        assert_eq!(
            CloseFrame {
                code: CloseCode::NORMAL,
                reason: &long
            }
            .emit(&mut out),
            Err(SendError::ControlPayloadTooLong)
        );
        assert_eq!(
            CloseFrame {
                code: CloseCode::NORMAL,
                reason: &long[..123]
            }
            .emit(&mut out),
            Ok(125)
        );
        assert_eq!(
            CloseFrame {
                code: CloseCode::NORMAL,
                reason: "ab"
            }
            .emit(&mut out[..3]),
            Err(SendError::BufferTooSmall { needed: 4 })
        );
    }
}
