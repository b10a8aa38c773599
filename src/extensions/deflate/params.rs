//! permessage-deflate parameters (RFC 7692 §7.1): one offer or answer element, parsed and written.

use core::fmt;

use crate::handshake::Extension;

/// The extension token (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The smallest LZ77 window a peer may be asked for: 2^8 = 256 bytes (§7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;

/// The largest LZ77 window, and DEFLATE's own limit: 2^15 = 32 KiB (§7.1.2).
pub const MAX_WINDOW_BITS: u8 = 15;

/// The longest value [`DeflateParams::header`] writes: every parameter, both windows at 15.
pub const MAX_HEADER_LEN: usize = 128;

/// `client_max_window_bits` (§7.1.2.2): absent, present without a value (in an offer only: "I
/// can honour a limit, choose one"), or a window size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClientMaxWindowBits {
    /// Not sent: the client compresses with any window up to 15 bits.
    #[default]
    Absent,
    /// Sent without a value, in an offer: the server may answer with a limit.
    Supported,
    /// Sent with a value in `8..=15`.
    Bits(u8),
}

/// The parameters of one `permessage-deflate` element of a `Sec-WebSocket-Extensions` offer or
/// answer (RFC 7692 §7.1). `server_*` speak of what the server sends, `client_*` of what the
/// client sends.
///
/// ```
/// use wsmachine::extensions::deflate::{ClientMaxWindowBits, DeflateParams};
/// let offer = DeflateParams {
///     server_max_window_bits: Some(9),
///     client_max_window_bits: ClientMaxWindowBits::Supported,
///     ..DeflateParams::default()
/// };
/// assert_eq!(
///     offer.header()?.as_str(),
///     "permessage-deflate; server_max_window_bits=9; client_max_window_bits"
/// );
/// # Ok::<(), wsmachine::extensions::deflate::ParamError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeflateParams {
    /// The server resets its compression context at every message (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// The client resets its compression context at every message (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, `8..=15` (§7.1.2.1); `None`: up to 15.
    pub server_max_window_bits: Option<u8>,
    /// The largest window the client compresses with (§7.1.2.2).
    pub client_max_window_bits: ClientMaxWindowBits,
}

/// Why a `permessage-deflate` element's parameters are refused (RFC 7692 §7.1: a server
/// declines such an offer, a client fails the connection on such an answer).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParamError {
    /// The element is another extension.
    NotDeflate,
    /// A parameter RFC 7692 does not define.
    Unknown,
    /// A parameter given twice.
    Duplicate,
    /// A value where none is allowed, none where one is needed, or a window size that is not a
    /// decimal in `8..=15` without leading zeros.
    InvalidValue,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotDeflate => "not permessage-deflate",
            Self::Unknown => "unknown permessage-deflate parameter",
            Self::Duplicate => "repeated permessage-deflate parameter",
            Self::InvalidValue => "invalid permessage-deflate parameter value",
        })
    }
}

impl core::error::Error for ParamError {}

/// `8..=15` in decimal, without leading zeros or signs (§7.1.2.1).
fn window_bits(value: Option<&str>) -> Result<u8, ParamError> {
    match value.map(str::as_bytes) {
        Some([d @ b'8'..=b'9']) => Ok(d - b'0'),
        Some([b'1', d @ b'0'..=b'5']) => Ok(10 + d - b'0'),
        _ => Err(ParamError::InvalidValue),
    }
}

/// Whether `bits` is a window size RFC 7692 allows.
const fn valid_bits(bits: u8) -> bool {
    bits >= MIN_WINDOW_BITS && bits <= MAX_WINDOW_BITS
}

impl DeflateParams {
    /// Reads one element of a `Sec-WebSocket-Extensions` list (from
    /// [`Request::extensions`](crate::handshake::server::Request::extensions) or
    /// [`Accepted::extensions`](crate::handshake::client::Accepted::extensions)). Parameter names
    /// are compared exactly, as RFC 7692 spells them; a value may be quoted (RFC 6455 §9.1).
    ///
    /// ```
    /// use wsmachine::extensions::deflate::{ClientMaxWindowBits, DeflateParams, ParamError};
    /// use wsmachine::handshake::Extensions;
    /// let mut list = Extensions::new(core::iter::once(
    ///     &b"permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", \
    ///        permessage-deflate; server_max_window_bits=16"[..],
    /// ));
    /// let first = DeflateParams::parse(&list.next().unwrap())?;
    /// assert_eq!(first.server_max_window_bits, Some(10));
    /// assert_eq!(first.client_max_window_bits, ClientMaxWindowBits::Supported);
    /// assert_eq!(DeflateParams::parse(&list.next().unwrap()), Err(ParamError::InvalidValue));
    /// # Ok::<(), ParamError>(())
    /// ```
    pub fn parse(ext: &Extension<'_>) -> Result<Self, ParamError> {
        if ext.name() != EXTENSION_NAME {
            return Err(ParamError::NotDeflate);
        }
        let mut params = Self::default();
        let mut seen = 0u8;
        for (name, value) in ext.params() {
            let bit = match name {
                "server_no_context_takeover" => 1,
                "client_no_context_takeover" => 2,
                "server_max_window_bits" => 4,
                "client_max_window_bits" => 8,
                _ => return Err(ParamError::Unknown),
            };
            if seen & bit != 0 {
                return Err(ParamError::Duplicate);
            }
            seen |= bit;
            match bit {
                1 | 2 if value.is_some() => return Err(ParamError::InvalidValue),
                1 => params.server_no_context_takeover = true,
                2 => params.client_no_context_takeover = true,
                4 => params.server_max_window_bits = Some(window_bits(value)?),
                _ => {
                    params.client_max_window_bits = match value {
                        None => ClientMaxWindowBits::Supported,
                        v => ClientMaxWindowBits::Bits(window_bits(v)?),
                    }
                }
            }
        }
        Ok(params)
    }

    /// Whether every window size is in `8..=15`.
    #[must_use]
    pub const fn is_valid(&self) -> bool {
        let server = match self.server_max_window_bits {
            Some(bits) => valid_bits(bits),
            None => true,
        };
        let client = match self.client_max_window_bits {
            ClientMaxWindowBits::Bits(bits) => valid_bits(bits),
            _ => true,
        };
        server && client
    }

    /// The element as a `Sec-WebSocket-Extensions` value, for
    /// [`ClientRequest::extensions`](crate::handshake::client::ClientRequest::extensions) or
    /// [`Accept::extensions`](crate::handshake::server::Accept::extensions). A window size
    /// outside `8..=15` is [`ParamError::InvalidValue`].
    pub fn header(&self) -> Result<HeaderValue, ParamError> {
        if !self.is_valid() {
            return Err(ParamError::InvalidValue);
        }
        let mut value = HeaderValue {
            buf: [0; MAX_HEADER_LEN],
            len: 0,
        };
        value.push(EXTENSION_NAME);
        if self.server_no_context_takeover {
            value.push("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            value.push("; server_max_window_bits=");
            value.push_bits(bits);
        }
        match self.client_max_window_bits {
            ClientMaxWindowBits::Absent => {}
            ClientMaxWindowBits::Supported => value.push("; client_max_window_bits"),
            ClientMaxWindowBits::Bits(bits) => {
                value.push("; client_max_window_bits=");
                value.push_bits(bits);
            }
        }
        Ok(value)
    }
}

/// A `Sec-WebSocket-Extensions` value written by [`DeflateParams::header`]: at most
/// [`MAX_HEADER_LEN`] bytes, held inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderValue {
    buf: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl HeaderValue {
    /// Appends ASCII that the longest value leaves room for.
    fn push(&mut self, s: &str) {
        let at = usize::from(self.len);
        if let Some(dst) = self.buf.get_mut(at..at + s.len()) {
            dst.copy_from_slice(s.as_bytes());
            self.len = (at + s.len()) as u8;
        }
    }

    /// Appends a window size in `8..=15`.
    fn push_bits(&mut self, bits: u8) {
        if bits >= 10 {
            self.push("1");
        }
        let digit = [b'0' + bits % 10];
        self.push(core::str::from_utf8(&digit).unwrap_or_default());
    }

    /// The value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        let bytes = self.buf.get(..usize::from(self.len)).unwrap_or_default();
        core::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::Extensions;

    fn parse(s: &str) -> Result<DeflateParams, ParamError> {
        let ext = Extensions::new(core::iter::once(s.as_bytes()))
            .next()
            .unwrap();
        DeflateParams::parse(&ext)
    }

    #[test]
    fn parameters_parse_and_write_back() {
        let all = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                   server_max_window_bits=15; client_max_window_bits=15";
        let params = parse(all).unwrap();
        assert_eq!(
            params,
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(15),
                client_max_window_bits: ClientMaxWindowBits::Bits(15),
            }
        );
        let header = params.header().unwrap();
        assert_eq!(
            header.as_str().len(),
            MAX_HEADER_LEN,
            "the longest value fills it"
        );
        assert_eq!(parse(header.as_str()), Ok(params));
        assert_eq!(
            parse("permessage-deflate").unwrap(),
            DeflateParams::default()
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        let cases = [
            ("x-webkit-deflate-frame", ParamError::NotDeflate),
            ("permessage-deflate; foo", ParamError::Unknown),
            (
                "permessage-deflate; Server_no_context_takeover",
                ParamError::Unknown,
            ),
            (
                "permessage-deflate; server_no_context_takeover=1",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; client_no_context_takeover=\"x\"",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; server_max_window_bits",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; server_max_window_bits=7",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; server_max_window_bits=16",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; server_max_window_bits=010",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; server_max_window_bits=+9",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; client_max_window_bits=",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; client_max_window_bits=1a",
                ParamError::InvalidValue,
            ),
            (
                "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
                ParamError::Duplicate,
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                ParamError::Duplicate,
            ),
        ];
        for (s, e) in cases {
            assert_eq!(parse(s), Err(e), "{s}");
        }
        for bits in 8..=15u8 {
            let s = format!("permessage-deflate; client_max_window_bits=\"{bits}\"");
            assert_eq!(
                parse(&s).unwrap().client_max_window_bits,
                ClientMaxWindowBits::Bits(bits)
            );
        }
        let bad = DeflateParams {
            server_max_window_bits: Some(16),
            ..DeflateParams::default()
        };
        assert_eq!(bad.header(), Err(ParamError::InvalidValue));
        let bad = DeflateParams {
            client_max_window_bits: ClientMaxWindowBits::Bits(7),
            ..DeflateParams::default()
        };
        assert_eq!(bad.header(), Err(ParamError::InvalidValue));
    }
}
