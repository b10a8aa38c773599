//! The head writer (RFC 9112 §4 status line, §5 field lines): a bounds-checked output cursor,
//! [`WriteError`], and [`check_headers`], the one check on the headers a caller adds to a head
//! we write (the 101, a [`Rejection`](super::Rejection), the client's request).

use core::fmt;

use super::headers::{is_field_value, is_token, same_ignoring_case};

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
    /// A caller-supplied header name, value, host, path, origin, subprotocol, extension list or
    /// realm has a byte it may not have: CR, LF, NUL and the other control bytes but HTAB
    /// (header injection), or a character outside the token grammar where a token is required
    /// (RFC 9110 §5.1, §5.5).
    InvalidHeader,
    /// An extra header names one the writer owns: the framing and connection headers
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive`, `TE`, `Trailer`),
    /// `Host`, `Upgrade` and `Sec-WebSocket-*`, or one a typed field of the
    /// [`Rejection`](super::Rejection) writes (`WWW-Authenticate`, `Retry-After`).
    ReservedHeader,
    /// A [`Rejection`](super::Rejection) status outside `300..=599`, or 304: a refusal is a
    /// redirect, a client error or a server error (RFC 9110 §15), with a body.
    InvalidStatus,
    /// A reason phrase with a byte other than HTAB, SP, visible ASCII or obs-text (RFC 9112 §4).
    InvalidReason,
    /// A [`Rejection`](super::Rejection) body longer than
    /// [`MAX_REJECTION_BODY`](super::MAX_REJECTION_BODY).
    BodyTooLarge,
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
            Self::ReservedHeader => f.write_str("extra header reserved for the writer"),
            Self::InvalidStatus => f.write_str("rejection status not in 300..=599 or 304"),
            Self::InvalidReason => f.write_str("invalid byte in the reason phrase"),
            Self::BodyTooLarge => f.write_str("rejection body too large"),
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

    /// The next `N` bytes of the output, for the caller to write in place: `None` when they do
    /// not fit, but counted either way, as [`put`](Self::put) counts. `#[inline]`: a hint that
    /// its one caller (the server's 101) does better with it inlined, which LLVM does not find
    /// on its own.
    #[inline]
    pub(crate) fn reserve<const N: usize>(&mut self) -> Option<&mut [u8; N]> {
        let start = self.pos;
        self.pos = start.saturating_add(N);
        self.buf.get_mut(start..)?.first_chunk_mut()
    }

    /// Writes `n` in decimal ASCII. A `u32`, not a `usize`: what we write (statuses, ports,
    /// bounded lengths, `Retry-After`) fits, and on 64-bit targets as on 16-bit ones the division
    /// stays a 32-bit one.
    pub(crate) fn put_dec(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
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

/// The headers the writers own, compared case-insensitively: a caller may not add them.
const RESERVED: [&str; 8] = [
    "host",
    "upgrade",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "te",
    "trailer",
];

/// The one check on caller-supplied headers, for every head we write: names are tokens, values
/// have no control byte but HTAB (so no CR, LF or NUL to inject a line with), and no name is one
/// the writer owns (see [`WriteError::ReservedHeader`]).
pub(crate) fn check_headers(headers: &[(&str, &str)]) -> Result<(), WriteError> {
    for (name, value) in headers {
        if !is_token(name.as_bytes()) || !is_field_value(value.as_bytes()) {
            return Err(WriteError::InvalidHeader);
        }
        if is_reserved(name.as_bytes()) {
            return Err(WriteError::ReservedHeader);
        }
    }
    Ok(())
}

/// Whether `name` is a header the writers own.
fn is_reserved(name: &[u8]) -> bool {
    RESERVED
        .iter()
        .any(|r| same_ignoring_case(name, r.as_bytes()))
        || name
            .get(..14)
            .is_some_and(|p| same_ignoring_case(p, b"sec-websocket-"))
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
        w.put_dec(u32::MAX);
        // "0" and the ten digits of 4294967295.
        assert_eq!(w.finish(), Err(WriteError::BufferTooSmall { needed: 11 }));
        let mut buf = [0u8; 11];
        let mut w = Writer::new(&mut buf);
        w.put_dec(0);
        w.put_dec(u32::MAX);
        assert_eq!(w.finish(), Ok(11));
        assert_eq!(&buf, b"04294967295");
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        w.put_dec(426);
        assert_eq!(w.finish(), Ok(3));
        assert_eq!(&buf, b"426");
    }

    #[test]
    fn extra_headers_checked() {
        let ok = [
            ("Authorization", "Bearer x"),
            ("X-Tab", "a\tb"),
            ("X-Utf8", "caf\u{e9}"),
            ("X-Empty", ""),
            ("Tea", "x"),
            ("Sec-WebSocket", "x"),
        ];
        assert_eq!(check_headers(&ok), Ok(()));
        let injections = [
            ("X", "a\r\nB: c"),
            ("X", "a\rB: c"),
            ("X", "a\nB: c"),
            ("X", "\0"),
            ("X", "\x7f"),
            ("X", "\x1b[0m"),
            ("X:", "a"),
            ("X Y", "a"),
            ("X\r\nY", "a"),
            ("", "a"),
            ("caf\u{e9}", "a"),
        ];
        for h in injections {
            assert_eq!(
                check_headers(&[("Ok", "1"), h]),
                Err(WriteError::InvalidHeader),
                "{h:?}"
            );
        }
        for n in [
            "Sec-WebSocket-Accept",
            "sec-websocket-version",
            "connection",
            "HOST",
            "Content-Length",
            "transfer-encoding",
            "Keep-Alive",
            "TE",
            "Trailer",
            "Upgrade",
        ] {
            assert_eq!(
                check_headers(&[(n, "x")]),
                Err(WriteError::ReservedHeader),
                "{n}"
            );
        }
    }
}
