//! Close frame payloads (RFC 6455 §5.5.1) and status codes (§7.4).

use core::fmt;

use crate::error::{ProtocolError, SendError};

/// The longest close reason: a control payload of 125 bytes less the 2-byte code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A close status code (RFC 6455 §7.4). The named constants are the registered codes; any `u16`
/// can be held, and [`is_allowed_on_wire`](Self::is_allowed_on_wire) says whether it may appear
/// in a close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigated away).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present. Never sent on the wire.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: the connection closed without a close frame. Never sent on the wire.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: data inconsistent with its type (invalid UTF-8 in a text message).
    pub const INVALID_DATA: Self = Self(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message too big to process.
    pub const TOO_BIG: Self = Self(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: the gateway got an invalid response upstream.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: TLS handshake failure. Never sent on the wire.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Whether this code may be sent in a close frame, and so whether a received one is valid:
    /// 1000–1003, 1007–1014 and 3000–4999. Never 1004–1006, 1015, below 1000, 1016–2999 or
    /// 5000 and above.
    #[must_use]
    pub const fn is_allowed_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

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
        let needed = self.encoded_len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(SendError::BufferTooSmall { needed });
        };
        if let Some((code, reason)) = out.split_first_chunk_mut::<2>() {
            *code = self.code.0.to_be_bytes();
            reason.copy_from_slice(self.reason.as_bytes());
        }
        Ok(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes() {
        for code in 0..=u16::MAX {
            let allowed = CloseCode(code).is_allowed_on_wire();
            let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(allowed, expected, "{code}");
        }
        for code in [1004, 1005, 1006, 1015, 999, 1016, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_allowed_on_wire(), "{code}");
        }
    }

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
