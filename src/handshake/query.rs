//! The query of a request target (RFC 3986 §3.4) as `key=value` pairs, and percent-decoding
//! (RFC 3986 §2.1) into a caller buffer.
//!
//! Browsers cannot set headers on a WebSocket request, so a token or a room name often travels
//! in the query: `/chat?room=a%20b&token=...`. [`QueryPairs`] splits the query as it is, and
//! [`form_decode`] or [`percent_decode`] decode one part into a buffer the caller owns.
//!
//! `+` in a query: [`form_decode`] reads it as a space, as `application/x-www-form-urlencoded`
//! does (the WHATWG URL standard's `URLSearchParams`, HTML forms). That is right for queries
//! built by either common browser API: `URLSearchParams` writes a space as `+`, and
//! `encodeURIComponent` writes a space as `%20` and a `+` as `%2B`. [`percent_decode`] follows
//! RFC 3986 alone and leaves `+` as it is, for paths and other components.

use core::fmt;

/// The `key=value` pairs of a query, raw and borrowed, in order: split at `&`, then at the first
/// `=`. Empty pieces (`a=1&&b=2`, a trailing `&`) are skipped; a piece without `=` is a key with
/// an empty value; a value keeps any further `=`. Repeated keys are all yielded, in order.
///
/// ```
/// use wsmachine::handshake::QueryPairs;
/// let pairs: Vec<_> = QueryPairs::new("room=a%20b&&flag&t=x=y&room=2").collect();
/// assert_eq!(pairs, [("room", "a%20b"), ("flag", ""), ("t", "x=y"), ("room", "2")]);
/// ```
#[derive(Debug, Clone)]
pub struct QueryPairs<'b> {
    rest: &'b str,
}

impl<'b> QueryPairs<'b> {
    /// The pairs of `query` (without the `?`).
    ///
    /// ```
    /// assert_eq!(wsmachine::handshake::QueryPairs::new("a=1").next(), Some(("a", "1")));
    /// ```
    #[must_use]
    pub const fn new(query: &'b str) -> Self {
        Self { rest: query }
    }
}

impl<'b> Iterator for QueryPairs<'b> {
    type Item = (&'b str, &'b str);

    fn next(&mut self) -> Option<(&'b str, &'b str)> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (piece, rest) = self.rest.split_once('&').unwrap_or((self.rest, ""));
            self.rest = rest;
            if !piece.is_empty() {
                return Some(piece.split_once('=').unwrap_or((piece, "")));
            }
        }
    }
}

/// Why a percent-encoded string could not be decoded.
///
/// ```
/// use wsmachine::handshake::{form_decode, DecodeError};
/// let mut buf = [0u8; 4];
/// assert_eq!(form_decode("a%2", &mut buf), Err(DecodeError::InvalidEscape { offset: 1 }));
/// assert_eq!(form_decode("abcde", &mut buf), Err(DecodeError::BufferTooSmall { needed: 5 }));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The `%` at this byte offset of the input is not followed by two hexadecimal digits.
    InvalidEscape {
        /// The offset of the `%`.
        offset: usize,
    },
    /// The output buffer is too small; the decoded string is `needed` bytes long.
    BufferTooSmall {
        /// The length of the decoded string.
        needed: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidEscape { offset } => {
                f.write_str("invalid percent escape at offset ")?;
                fmt::Display::fmt(offset, f)
            }
            Self::BufferTooSmall { needed } => {
                f.write_str("output buffer too small: bytes needed: ")?;
                fmt::Display::fmt(needed, f)
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// Decodes the `%XX` escapes of `input` (RFC 3986 §2.1, either case of hex digits) into `out`
/// and returns the decoded bytes, which need not be UTF-8 (`%FF`). `+` stays `+`: for a query
/// part, use [`form_decode`]. A `%` without two hex digits after it is
/// [`DecodeError::InvalidEscape`]; the decoded string is never longer than `input`, so an `out`
/// as long as `input` always fits.
///
/// ```
/// use wsmachine::handshake::{percent_decode, DecodeError};
/// let mut buf = [0u8; 32];
/// assert_eq!(percent_decode("/caf%C3%A9+bar", &mut buf)?, "/café+bar".as_bytes());
/// assert_eq!(percent_decode("100%", &mut buf), Err(DecodeError::InvalidEscape { offset: 3 }));
/// assert_eq!(percent_decode("%41%42", &mut buf[..1]), Err(DecodeError::BufferTooSmall { needed: 2 }));
/// # Ok::<(), DecodeError>(())
/// ```
pub fn percent_decode<'o>(input: &str, out: &'o mut [u8]) -> Result<&'o [u8], DecodeError> {
    decode(input.as_bytes(), false, out)
}

/// [`percent_decode`] for a query key or value (`application/x-www-form-urlencoded`): `+` is a
/// space, `%2B` a `+` (see the module doc).
///
/// ```
/// use wsmachine::handshake::{form_decode, QueryPairs};
/// let mut buf = [0u8; 32];
/// let (_, room) = QueryPairs::new("room=a+b%2Bc").next().unwrap();
/// assert_eq!(form_decode(room, &mut buf)?, b"a b+c");
/// # Ok::<(), wsmachine::handshake::DecodeError>(())
/// ```
pub fn form_decode<'o>(input: &str, out: &'o mut [u8]) -> Result<&'o [u8], DecodeError> {
    decode(input.as_bytes(), true, out)
}

/// The value of an ASCII hex digit.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Two passes: every escape is checked and the decoded length counted before a byte is
/// written, so the error does not depend on the size of `out`.
fn decode<'o>(
    input: &[u8],
    plus_is_space: bool,
    out: &'o mut [u8],
) -> Result<&'o [u8], DecodeError> {
    let mut needed = 0usize;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            let valid = matches!(
                (
                    input.get(i + 1).copied().and_then(hex),
                    input.get(i + 2).copied().and_then(hex)
                ),
                (Some(_), Some(_))
            );
            if !valid {
                return Err(DecodeError::InvalidEscape { offset: i });
            }
            i += 3;
        } else {
            i += 1;
        }
        needed += 1;
    }
    let Some(out) = out.get_mut(..needed) else {
        return Err(DecodeError::BufferTooSmall { needed });
    };
    let mut rest = input;
    for slot in out.iter_mut() {
        *slot = match rest {
            [b'%', hi, lo, tail @ ..] => {
                rest = tail;
                hex(*hi).unwrap_or(0) << 4 | hex(*lo).unwrap_or(0)
            }
            [b'+', tail @ ..] if plus_is_space => {
                rest = tail;
                b' '
            }
            [b, tail @ ..] => {
                rest = tail;
                *b
            }
            [] => 0,
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_of_hostile_queries() {
        let pairs = |q| QueryPairs::new(q).collect::<Vec<_>>();
        assert_eq!(pairs(""), []);
        assert_eq!(pairs("&&&"), []);
        assert_eq!(pairs("="), [("", "")]);
        assert_eq!(pairs("=v"), [("", "v")]);
        assert_eq!(pairs("a"), [("a", "")]);
        assert_eq!(pairs("a=&b"), [("a", ""), ("b", "")]);
        assert_eq!(pairs("a==b=c"), [("a", "=b=c")]);
        assert_eq!(pairs("&a=1&&a=2&"), [("a", "1"), ("a", "2")]);
        assert_eq!(pairs("a=%zz;b=1"), [("a", "%zz;b=1")]);
        assert_eq!(pairs("caf\u{e9}=\u{1f600}"), [("caf\u{e9}", "\u{1f600}")]);
    }

    #[test]
    fn decoding() {
        let mut buf = [0u8; 64];
        let mut dec = |s: &str, plus| decode(s.as_bytes(), plus, &mut buf).map(<[u8]>::to_vec);
        assert_eq!(dec("", true), Ok(vec![]));
        assert_eq!(dec("a%20b+c", true), Ok(b"a b c".to_vec()));
        assert_eq!(dec("a%20b+c", false), Ok(b"a b+c".to_vec()));
        assert_eq!(dec("%2b%2B%3d%25", true), Ok(b"++=%".to_vec()));
        assert_eq!(dec("%00%ff%C3%A9", true), Ok(vec![0, 0xff, 0xc3, 0xa9]));
        assert_eq!(
            dec("%%41", true),
            Err(DecodeError::InvalidEscape { offset: 0 })
        );
        assert_eq!(
            dec("a%", true),
            Err(DecodeError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            dec("a%4", true),
            Err(DecodeError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            dec("a%4g", true),
            Err(DecodeError::InvalidEscape { offset: 1 })
        );
        assert_eq!(
            dec("%41%g1", true),
            Err(DecodeError::InvalidEscape { offset: 3 })
        );
        assert_eq!(
            dec("%+1", true),
            Err(DecodeError::InvalidEscape { offset: 0 })
        );
        // A multi-byte character is copied as its bytes; a `%` inside an escape is not one.
        assert_eq!(dec("\u{e9}%25", false), Ok(vec![0xc3, 0xa9, b'%']));
    }

    #[test]
    fn small_buffers() {
        for input in ["abc", "%41%42%43", "a+b", "%C3%A9x"] {
            let mut big = [0u8; 16];
            let whole = form_decode(input, &mut big).unwrap().to_vec();
            for len in 0..whole.len() {
                let mut small = vec![0u8; len];
                assert_eq!(
                    form_decode(input, &mut small),
                    Err(DecodeError::BufferTooSmall {
                        needed: whole.len()
                    })
                );
            }
            let mut exact = vec![0u8; whole.len()];
            assert_eq!(form_decode(input, &mut exact).unwrap(), &whole[..]);
        }
        // An invalid escape is reported whatever the buffer.
        assert_eq!(
            form_decode("ab%4", &mut []),
            Err(DecodeError::InvalidEscape { offset: 2 })
        );
    }
}
