//! Close status codes (RFC 6455 §7.4): the registered codes and which may be sent.
//!
//! A leaf: nothing else in the crate is imported here, so both the wire format and the error
//! types can name [`CloseCode`].

use core::fmt;

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
        // Counted from 1000, in one wrapping subtraction: the compares that follow are against
        // smaller constants (less flash on thumbv7em than the ranges written as they are).
        let from_1000 = self.0.wrapping_sub(1000);
        matches!(from_1000, 0..=3 | 7..=14 | 2000..=3999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
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
}
