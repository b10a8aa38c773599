//! The head writer (RFC 9112 §4 status line, §5 field lines): a bounds-checked output cursor,
//! [`WriteError`], and the checks on the headers a caller adds to a head we write.

use core::fmt;

use super::headers::{is_field_value, is_token};

/// Why a request or response could not be written. Nothing was written that can be used.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WriteError {
    /// The output buffer is too small; `needed` bytes would have been written.
    BufferTooSmall {
        /// How many bytes the call needs.
        needed: usize,
    },
    /// A caller-supplied header name, value, host, path, origin, subprotocol or extension list
    /// has a byte it may not have: CR, LF and other control bytes (header injection), or a
    /// character outside the token grammar where a token is required.
    InvalidHeader,
    /// An extra header names one the handshake writes itself (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`).
    ReservedHeader,
    /// The chosen subprotocol is not one the client offered (RFC 6455 §4.2.2).
    SubprotocolNotOffered,
    /// An accepted extension is not one the client offered (RFC 6455 §9.1).
    ExtensionNotOffered,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => {
                f.write_str("output buffer too small: bytes needed: ")?;
                fmt::Display::fmt(needed, f)
            }
            Self::InvalidHeader => f.write_str("invalid byte in a header"),
            Self::ReservedHeader => f.write_str("extra header reserved for the handshake"),
            Self::SubprotocolNotOffered => f.write_str("subprotocol not offered by the client"),
            Self::ExtensionNotOffered => f.write_str("extension not offered by the client"),
        }
    }
}

impl core::error::Error for WriteError {}

/// Writes into a caller buffer without ever indexing out of bounds. It keeps counting past the
/// end, so [`Writer::finish`] can say how many bytes a larger buffer would need.
pub(crate) struct Writer<'o> {
    buf: &'o mut [u8],
    pos: usize,
}

impl<'o> Writer<'o> {
    pub(crate) fn new(buf: &'o mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    #[inline(never)]
    pub(crate) fn put(&mut self, s: &[u8]) {
        let end = self.pos.saturating_add(s.len());
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(s);
        }
        self.pos = end;
    }

    /// Writes `n` in decimal ASCII.
    pub(crate) fn put_dec(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or_default());
    }

    /// Writes `name: value\r\n`.
    pub(crate) fn header(&mut self, name: &str, value: &[u8]) {
        self.put(name.as_bytes());
        self.put(b": ");
        self.put(value);
        self.put(b"\r\n");
    }

    pub(crate) fn finish(self) -> Result<usize, WriteError> {
        if self.pos > self.buf.len() {
            Err(WriteError::BufferTooSmall { needed: self.pos })
        } else {
            Ok(self.pos)
        }
    }
}

/// Checks caller-supplied extra headers: token names, not reserved, values without CR/LF.
pub(crate) fn check_extra_headers(headers: &[(&str, &str)]) -> Result<(), WriteError> {
    for (name, value) in headers {
        if !is_token(name.as_bytes()) || !is_field_value(value.as_bytes()) {
            return Err(WriteError::InvalidHeader);
        }
        let n = name.as_bytes();
        let reserved = ["host", "upgrade", "connection", "content-length"]
            .iter()
            .any(|r| n.eq_ignore_ascii_case(r.as_bytes()))
            || n.get(..14)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"sec-websocket-"));
        if reserved {
            return Err(WriteError::ReservedHeader);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_counts_what_it_needs() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.put(b"ab");
        w.put_dec(12345);
        assert_eq!(w.finish(), Err(WriteError::BufferTooSmall { needed: 7 }));
        let mut buf = [0u8; 8];
        let mut w = Writer::new(&mut buf);
        w.put_dec(0);
        w.put_dec(usize::MAX);
        let n = w.finish();
        // "0" and the digits of usize::MAX: 20 on 64-bit targets, 10 on 32-bit ones.
        let needed = 1 + usize::MAX.to_string().len();
        assert_eq!(n, Err(WriteError::BufferTooSmall { needed }));
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        w.put_dec(426);
        assert_eq!(w.finish(), Ok(3));
        assert_eq!(&buf, b"426");
    }

    #[test]
    fn extra_headers_checked() {
        assert_eq!(
            check_extra_headers(&[("Authorization", "Bearer x")]),
            Ok(())
        );
        for h in [("X", "a\r\nB: c"), ("X:", "a"), ("", "a"), ("X", "\n")] {
            assert_eq!(check_extra_headers(&[h]), Err(WriteError::InvalidHeader));
        }
        for n in ["Sec-WebSocket-Accept", "connection", "HOST"] {
            assert_eq!(
                check_extra_headers(&[(n, "x")]),
                Err(WriteError::ReservedHeader)
            );
        }
    }
}
