//! The opening handshake (RFC 6455 §4, §9.1; RFC 8441): accept key, token lists, limits, errors.
//!
//! Read first: RFC 6455 §1.3 (the key and accept example), §4.1 (client requirements), §4.2
//! (server requirements), §9.1 (the extension grammar), §10.2 (origin), and RFC 8441 §4–5.
//!
//! | file | what it does |
//! | --- | --- |
//! | [`server`] | parse an HTTP/1.1 upgrade request; write the 101, or a 400/403/426/431 rejection |
//! | [`client`] | write the upgrade request; validate the 101 response |
//! | [`h2`] | RFC 8441: the extended-CONNECT field set of a WebSocket over an HTTP/2 stream |
//!
//! Nothing here allocates or keeps state. Heads are parsed with `httparse` into a header array
//! the caller supplies; everything returned borrows from the input. Responses and requests are
//! written into a caller buffer and the byte count is returned; a buffer that is too small is a
//! [`WriteError::BufferTooSmall`] saying how many bytes are needed, never a panic.
//!
//! A head that has not ended yet is [`Status::Partial`]: read more and call again with all the
//! bytes so far. [`Status::Complete`] carries the number of bytes the head took: the bytes after
//! it are already WebSocket frames and belong to the connection.
//!
//! # Example: a server
//!
//! ```
//! use wsmachine::handshake::server::{parse_request, Accept, ServerOptions};
//! use wsmachine::handshake::{write_rejection, Status};
//!
//! let input = b"GET /chat?room=1 HTTP/1.1\r\n\
//!     Host: example.com\r\n\
//!     Upgrade: websocket\r\n\
//!     Connection: keep-alive, Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\
//!     Sec-WebSocket-Protocol: chat, superchat\r\n\
//!     \r\n\
//!     \x81\x85"; // the first frame may arrive in the same read
//!
//! let mut headers = [httparse::EMPTY_HEADER; 16];
//! let mut out = [0u8; 256];
//! match parse_request(input, &mut headers, &ServerOptions::default()) {
//!     Ok(Status::Partial) => { /* read more, then call again with all the bytes */ }
//!     Ok(Status::Complete((request, consumed))) => {
//!         assert_eq!(request.path(), "/chat");
//!         assert_eq!(request.query(), Some("room=1"));
//!         assert_eq!(&input[consumed..], b"\x81\x85"); // frames start here
//!         let chosen = request.subprotocols().find(|p| *p == "chat");
//!         let accept = Accept { subprotocol: chosen, ..Accept::default() };
//!         let n = request.accept(&accept, &mut out).unwrap();
//!         let response = core::str::from_utf8(&out[..n]).unwrap();
//!         assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
//!         assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
//!         assert!(response.contains("Sec-WebSocket-Protocol: chat\r\n"));
//!         // send out[..n], then hand input[consumed..] to the connection
//!     }
//!     Err(e) => {
//!         let n = write_rejection(e, &mut out).unwrap();
//!         // send out[..n] and close
//!         # let _ = n;
//!     }
//! }
//! ```

use core::fmt;

use httparse::Header;

pub mod client;
mod digest;
pub mod h2;
pub mod server;

pub use server::write_rejection;

/// The GUID RFC 6455 §1.3 appends to the key before hashing it.
pub const GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Length of a `Sec-WebSocket-Key` value: base64 of 16 bytes.
pub const KEY_LEN: usize = 24;

/// Length of a `Sec-WebSocket-Accept` value: base64 of a 20-byte SHA-1 digest.
pub const ACCEPT_LEN: usize = 28;

/// The default limit on the length of a request or response head, in bytes.
pub const DEFAULT_MAX_HEAD_LEN: usize = 4096;

/// The result of parsing a head that may not have arrived in full. Incomplete input is not an
/// error: read more and parse again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub enum Status<T> {
    /// The head has not ended yet.
    Partial,
    /// The head is complete.
    Complete(T),
}

impl<T> Status<T> {
    /// The complete value, or `None` when partial.
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Partial => None,
            Self::Complete(t) => Some(t),
        }
    }
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value (RFC 6455 §1.3, §4.2.2):
/// base64 of the SHA-1 of the key followed by [`GUID`].
///
/// ```
/// let accept = wsmachine::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(&accept, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
// Inlined: a client or a server calls it once, and out of line its result was written straight
// into the client's `Expected`, which then stayed in memory and kept the optimizer from seeing
// that nothing was offered, so the list parsing for answers could not be dropped.
#[inline(always)]
pub fn accept_key(key: &[u8; KEY_LEN]) -> [u8; ACCEPT_LEN] {
    let mut out = [0u8; ACCEPT_LEN];
    // 20 bytes encode to exactly 28.
    digest::base64(digest::sha1_key_guid(key).as_flattened(), &mut out);
    out
}

/// Whether a `Sec-WebSocket-Key` value is the base64 of exactly 16 bytes (RFC 6455 §4.2.1):
/// 21 base64 characters, one that carries only two bits (`A`, `Q`, `g` or `w`), then `==`. The
/// same answer as a strict base64 decoder, without its code.
#[must_use]
pub fn is_valid_key(key: &[u8]) -> bool {
    match key {
        [body @ .., last, b'=', b'='] if body.len() == 21 => {
            body.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
                && matches!(last, b'A' | b'Q' | b'g' | b'w')
        }
        _ => false,
    }
}

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

/// The `tchar`s of RFC 7230 §3.2.6, one bit per ASCII byte (bit `b % 8` of byte `b / 8`):
/// letters, digits and ``!#$%&'*+-.^_`|~``.
const TCHARS: [u8; 16] = {
    let mut map = [0u8; 16];
    let mut b = 0u8;
    while b < 128 {
        let tchar = b.is_ascii_alphanumeric()
            || matches!(b, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'..=b'`' | b'|' | b'~');
        if tchar {
            map[(b / 8) as usize] |= 1 << (b % 8);
        }
        b += 1;
    }
    map
};

/// A non-empty RFC 7230 `token`: `tchar`s only.
#[inline(never)]
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|&b| {
            TCHARS
                .get(usize::from(b / 8))
                .is_some_and(|bits| bits >> (b % 8) & 1 == 1)
        })
}

/// A header value with no control bytes but HTAB: no CR or LF to inject a header with.
pub(crate) fn is_field_value(s: &[u8]) -> bool {
    s.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Strips optional whitespace (SP, HTAB) from both ends.
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Splits `s` at the first `sep`, dropping it; the second part is `None` when `sep` is absent.
fn split_once(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == sep) {
        Some(i) => (s.get(..i).unwrap_or_default(), s.get(i + 1..)),
        None => (s, None),
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

/// The first value of the header `name` (case-insensitive), if any.
pub fn header<'b>(headers: &[Header<'b>], name: &str) -> Option<&'b [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// The value of the header `name` when it appears at most once: `Err(())` when repeated.
pub(crate) fn single<'b>(headers: &[Header<'b>], name: &str) -> Result<Option<&'b [u8]>, ()> {
    let mut values = HeaderValues::new(headers, name);
    let first = values.next();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first.map(trim)),
    }
}

/// ASCII case-insensitive equality, out of line: every header name and token lookup shares
/// one copy.
#[inline(never)]
fn same_ignoring_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether any `name` header line lists `token` (case-insensitive), as in
/// `Connection: keep-alive, Upgrade`.
#[inline(never)]
pub fn has_token(headers: &[Header<'_>], name: &str, token: &str) -> bool {
    let token = token.as_bytes();
    Tokens::new(HeaderValues::new(headers, name)).any_bytes(|t| same_ignoring_case(t, token))
}

/// The values of every header line named `name` (case-insensitive), in order.
#[derive(Debug, Clone)]
pub struct HeaderValues<'h, 'b> {
    headers: core::slice::Iter<'h, Header<'b>>,
    name: &'h str,
}

impl<'h, 'b> HeaderValues<'h, 'b> {
    /// The values of the lines of `headers` named `name`.
    pub fn new(headers: &'h [Header<'b>], name: &'h str) -> Self {
        Self {
            headers: headers.iter(),
            name,
        }
    }
}

impl<'b> Iterator for HeaderValues<'_, 'b> {
    type Item = &'b [u8];

    fn next(&mut self) -> Option<&'b [u8]> {
        let name = self.name;
        self.headers
            .find(|h| same_ignoring_case(h.name.as_bytes(), name.as_bytes()))
            .map(|h| h.value)
    }
}

/// The elements of a comma-separated list (RFC 7230 §7 `#rule`) spread over any number of
/// header values `L`: whitespace around elements trimmed, empty elements skipped. Elements that
/// are not UTF-8 are skipped (the handshake validates its own lists before handing them out).
#[derive(Debug, Clone)]
pub struct Tokens<'b, L> {
    values: L,
    rest: &'b [u8],
}

impl<'b, L: Iterator<Item = &'b [u8]>> Tokens<'b, L> {
    /// The list elements of every value `values` yields.
    pub fn new(values: L) -> Self {
        Self { values, rest: &[] }
    }

    /// The next element as bytes, trimmed and non-empty.
    pub(crate) fn next_bytes(&mut self) -> Option<&'b [u8]> {
        loop {
            while self.rest.is_empty() {
                self.rest = self.values.next()?;
            }
            let (elem, rest) = split_once(self.rest, b',');
            self.rest = rest.unwrap_or_default();
            let elem = trim(elem);
            if !elem.is_empty() {
                return Some(elem);
            }
        }
    }

    /// Whether every element of the list passes `f` (true for an empty list).
    fn all_bytes(mut self, f: impl Fn(&[u8]) -> bool) -> bool {
        while let Some(e) = self.next_bytes() {
            if !f(e) {
                return false;
            }
        }
        true
    }

    /// Whether some element of the list passes `f`.
    fn any_bytes(self, f: impl Fn(&[u8]) -> bool) -> bool {
        !self.all_bytes(|e| !f(e))
    }
}

impl<'b, L: Iterator<Item = &'b [u8]>> Iterator for Tokens<'b, L> {
    type Item = &'b str;

    fn next(&mut self) -> Option<&'b str> {
        loop {
            if let Ok(s) = core::str::from_utf8(self.next_bytes()?) {
                return Some(s);
            }
        }
    }
}

/// One caller-supplied string as the only header value of a list.
pub(crate) fn one(value: &str) -> core::option::IntoIter<&[u8]> {
    Some(value.as_bytes()).into_iter()
}

/// Whether `values` hold a list of tokens (subprotocol names, RFC 6455 §4.1), or none at all.
pub(crate) fn valid_token_list<'b>(values: impl Iterator<Item = &'b [u8]>) -> bool {
    Tokens::new(values).all_bytes(is_token)
}

/// Whether `values` hold a valid `Sec-WebSocket-Extensions` list (RFC 6455 §9.1), or none.
pub(crate) fn valid_extension_list<'b>(values: impl Iterator<Item = &'b [u8]>) -> bool {
    Tokens::new(values).all_bytes(valid_extension)
}

/// Whether a caller's `Sec-WebSocket-Extensions` value is a valid list of at least one.
pub(crate) fn is_extension_list(value: &str) -> bool {
    Tokens::new(one(value)).next_bytes().is_some() && valid_extension_list(one(value))
}

/// Whether `answer` is a valid `Sec-WebSocket-Extensions` list (RFC 6455 §9.1, or none at
/// all) that names only extensions `offer` lists.
pub(crate) fn valid_answer<'x, 'y>(
    answer: impl Iterator<Item = &'x [u8]>,
    offer: impl Iterator<Item = &'y [u8]> + Clone,
) -> bool {
    // Offered first: a client that offers nothing rejects any answer before parsing it.
    Tokens::new(answer).all_bytes(|e| {
        Tokens::new(offer.clone()).any_bytes(|o| extension_name(o) == extension_name(e))
            && valid_extension(e)
    })
}

/// The extension token at the front of a list element, before its parameters.
fn extension_name(elem: &[u8]) -> &[u8] {
    trim(split_once(elem, b';').0)
}

/// `extension = extension-token *( ";" extension-param )`,
/// `extension-param = token [ "=" (token | quoted-string) ]`. A quoted-string must be a plain
/// token in quotes (§9.1: its unescaped value must be a token); backslash escapes are refused.
fn valid_extension(elem: &[u8]) -> bool {
    // The extension's name, then its parameters: each a token, a parameter with an optional
    // `= value`.
    let mut rest = Some(elem);
    let mut is_name = true;
    while let Some(part) = rest {
        let (part, next) = split_once(part, b';');
        let (key, value) = split_once(part, b'=');
        let value_ok = match value {
            None => true,
            Some(v) => !is_name && is_token(unquote(trim(v))),
        };
        if !is_token(trim(key)) || !value_ok {
            return false;
        }
        is_name = false;
        rest = next;
    }
    true
}

/// `"value"` → `value`; anything else unchanged.
fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

/// The extensions of a `Sec-WebSocket-Extensions` list (RFC 6455 §9.1) spread over any number
/// of header values, each with its parameters.
#[derive(Debug, Clone)]
pub struct Extensions<'b, L> {
    list: Tokens<'b, L>,
}

impl<'b, L: Iterator<Item = &'b [u8]>> Extensions<'b, L> {
    /// The extensions listed by every value `values` yields.
    pub fn new(values: L) -> Self {
        Self {
            list: Tokens::new(values),
        }
    }
}

impl<'b, L: Iterator<Item = &'b [u8]>> Iterator for Extensions<'b, L> {
    type Item = Extension<'b>;

    fn next(&mut self) -> Option<Extension<'b>> {
        let elem = self.list.next()?.as_bytes();
        let (_, params) = split_once(elem, b';');
        Some(Extension {
            name: as_str(extension_name(elem)),
            params: as_str(params.unwrap_or_default()),
        })
    }
}

/// Bytes known to be ASCII (split from a `&str` at ASCII bytes) as `&str`.
fn as_str(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or_default()
}

/// One extension of a `Sec-WebSocket-Extensions` list: its name and parameters, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Extension<'b> {
    name: &'b str,
    params: &'b str,
}

impl<'b> Extension<'b> {
    /// The extension token, such as `permessage-deflate`.
    #[must_use]
    pub fn name(&self) -> &'b str {
        self.name
    }

    /// The parameters as `(name, value)`: `client_max_window_bits` gives `("...", None)`,
    /// `x=10` and `x="10"` give `("x", Some("10"))`.
    #[must_use]
    pub fn params(&self) -> ExtensionParams<'b> {
        ExtensionParams {
            rest: self.params.as_bytes(),
        }
    }
}

/// The parameters of one [`Extension`].
#[derive(Debug, Clone)]
pub struct ExtensionParams<'b> {
    rest: &'b [u8],
}

impl<'b> Iterator for ExtensionParams<'b> {
    type Item = (&'b str, Option<&'b str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (param, rest) = split_once(self.rest, b';');
            self.rest = rest.unwrap_or_default();
            let (name, value) = split_once(trim(param), b'=');
            let name = trim(name);
            if !name.is_empty() {
                return Some((as_str(name), value.map(|v| as_str(unquote(trim(v))))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64, Encoding};

    #[test]
    fn rfc6455_section_1_3_accept_example() {
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn key_check_agrees_with_base64_decoding() {
        let decodes_to_16 =
            |k: &[u8]| matches!(Base64::decode(k, &mut [0u8; 17]), Ok(d) if d.len() == 16);
        let mut keys: [[u8; KEY_LEN]; 7] = [*b"dGhlIHNhbXBsZSBub25jZQ=="; 7];
        keys[1][21] = b'B';
        keys[2][23] = b'A';
        keys[3][3] = b'-';
        keys[4][20] = b'=';
        keys[5][0] = b'+';
        keys[6][21] = b'w';
        for k in &keys {
            assert_eq!(is_valid_key(k), decodes_to_16(k), "{k:?}");
        }
        for bad in [
            &b"dGhlIHNhbXBsZQ=="[..],
            b"dGhlIHNhbXBsZSBub25jZQ",
            b"dGhlIHNhbXBsZSBub25jZQ===",
        ] {
            assert!(!is_valid_key(bad) && !decodes_to_16(bad));
        }
        // Every last character, and every byte in the body.
        for b in 0..=255u8 {
            let mut k = keys[0];
            k[21] = b;
            assert_eq!(is_valid_key(&k), decodes_to_16(&k), "last {b}");
            k = keys[0];
            k[7] = b;
            assert_eq!(is_valid_key(&k), decodes_to_16(&k), "body {b}");
        }
    }

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
    fn tokens_are_rfc_7230_tchars() {
        for b in 0..=255u8 {
            let tchar = matches!(b,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
                | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
            assert_eq!(is_token(&[b]), tchar, "{b:#04x}");
            assert_eq!(is_token(&[b'a', b, b'z']), tchar, "{b:#04x}");
        }
        assert!(!is_token(b""));
    }

    #[test]
    fn token_lists_span_lines_and_trim() {
        let h = [
            Header {
                name: "Connection",
                value: b" keep-alive ,, ",
            },
            Header {
                name: "x",
                value: b"no",
            },
            Header {
                name: "CONNECTION",
                value: b"\tUpgrade\t",
            },
        ];
        let t: [&str; 2] = ["keep-alive", "Upgrade"];
        assert!(Tokens::new(HeaderValues::new(&h, "connection")).eq(t));
        assert!(has_token(&h, "Connection", "upgrade"));
        assert!(!has_token(&h, "Connection", "close"));
    }

    #[test]
    fn extension_grammar() {
        let ok = [
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits, x-foo",
            "a;b=1 ; c=\"2\"",
            " a ; b = 1 ",
        ];
        for s in ok {
            assert!(valid_extension_list(one(s)), "{s}");
        }
        let bad = [
            "a;",
            "a;;b",
            ";b",
            "a;b=",
            "a;b=\"x,y\"",
            "a;b=\"\\x\"",
            "a b",
            "a;b=c d",
            "é",
        ];
        for s in bad {
            assert!(!valid_extension_list(one(s)), "{s}");
        }
        let mut e = Extensions::new(one("a;b=1 ; c=\"2\";d, e"));
        let a = e.next().unwrap();
        assert_eq!(a.name(), "a");
        assert!(a
            .params()
            .eq([("b", Some("1")), ("c", Some("2")), ("d", None)]));
        let last = e.next().unwrap();
        assert_eq!((last.name(), last.params().next()), ("e", None));
        assert!(e.next().is_none());
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
