//! Header lookup and token lists (RFC 9110 §5.5 field values, §5.6.1 lists, §5.6.2 tokens).
//!
//! Everything here works on the header array `httparse` filled, or on caller strings, and
//! borrows from it: the first value of a header, every value of a repeated one, the elements of
//! a comma-separated list spread over several lines, and the byte-level checks (`token`, field
//! value, optional whitespace) the parsers and writers share.

use httparse::Header;

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
pub(crate) fn split_once(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == sep) {
        Some(i) => (s.get(..i).unwrap_or_default(), s.get(i + 1..)),
        None => (s, None),
    }
}

/// The `len` bytes of `s` from `at`, at compile time: a name or token cut from a head we write,
/// so that it and the head share their bytes in flash.
pub(crate) const fn cut(s: &'static str, at: usize, len: usize) -> &'static str {
    let (piece, _) = s.as_bytes().split_at(at).1.split_at(len);
    match core::str::from_utf8(piece) {
        Ok(piece) => piece,
        Err(_) => panic!("cut inside a character"),
    }
}

/// The first value of the header `name` (case-insensitive), if any.
pub fn header<'b>(headers: &[Header<'b>], name: &str) -> Option<&'b [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// Why [`single`] has no value for a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotSingle {
    /// No line has the header.
    Missing,
    /// More than one line has it.
    Repeated,
}

/// The value of the header `name` when exactly one line has it, trimmed. A
/// `Result<&[u8], NotSingle>` is two words (a null pointer marks the error, the second word says
/// which), where a `Result<Option<&[u8]>, ()>` took three: less to store and test at each of the
/// server's four lookups.
pub(crate) fn single<'b>(headers: &[Header<'b>], name: &str) -> Result<&'b [u8], NotSingle> {
    let mut values = HeaderValues::new(headers, name);
    let first = values.next().ok_or(NotSingle::Missing)?;
    match values.next() {
        Some(_) => Err(NotSingle::Repeated),
        None => Ok(trim(first)),
    }
}

/// The value of the header `name` when exactly one line has it, trimmed: [`single`] for a
/// caller that need not know why there is none (the client).
pub(crate) fn only<'b>(headers: &[Header<'b>], name: &str) -> Option<&'b [u8]> {
    let mut lines = headers
        .iter()
        .filter(|h| same_ignoring_case(h.name.as_bytes(), name.as_bytes()));
    let first = lines.next()?;
    lines.next().is_none().then(|| trim(first.value))
}

/// ASCII case-insensitive equality, out of line: every header name and token lookup shares
/// one copy.
#[inline(never)]
pub(crate) fn same_ignoring_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether any `name` header line lists `token` (case-insensitive), as in
/// `Connection: keep-alive, Upgrade`.
pub fn has_token(headers: &[Header<'_>], name: &str, token: &str) -> bool {
    !every_listed_with(
        headers,
        name,
        |t, token| !same_ignoring_case(t, token),
        token.as_bytes(),
    )
}

/// Whether every element of the lists on the `name` header lines passes `f` with `arg` (true
/// when there are none): [`every_listed`] for a test that needs an argument, such as
/// [`has_token`]'s token. Out of line, with `f` a function pointer: one copy for every call.
#[inline(never)]
fn every_listed_with(
    headers: &[Header<'_>],
    name: &str,
    f: fn(&[u8], &[u8]) -> bool,
    arg: &[u8],
) -> bool {
    Tokens::new(HeaderValues::new(headers, name)).all_bytes(|e| f(e, arg))
}

/// Whether every element of the lists on the `name` header lines passes `f` (true when there
/// are none). Out of line and with `f` a function pointer: the server's token lookups
/// (`Upgrade`, `Connection`) and list checks share one copy, where each closure type made its
/// own and each caller built the list iterator inline. The client, whose lookups are all
/// [`has_token`], links [`every_listed_with`] instead.
#[inline(never)]
pub(crate) fn every_listed(headers: &[Header<'_>], name: &str, f: fn(&[u8]) -> bool) -> bool {
    Tokens::new(HeaderValues::new(headers, name)).all_bytes(f)
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
    /// The rest of the value being split, after a comma; `None` once it has no comma left.
    rest: Option<&'b [u8]>,
}

impl<'b, L: Iterator<Item = &'b [u8]>> Tokens<'b, L> {
    /// The list elements of every value `values` yields.
    pub fn new(values: L) -> Self {
        Self { values, rest: None }
    }

    /// The next element as bytes, trimmed and non-empty.
    pub(crate) fn next_bytes(&mut self) -> Option<&'b [u8]> {
        loop {
            let line = match self.rest {
                Some(rest) => rest,
                None => self.values.next()?,
            };
            let (elem, rest) = split_once(line, b',');
            self.rest = rest;
            let elem = trim(elem);
            if !elem.is_empty() {
                return Some(elem);
            }
        }
    }

    /// Whether every element of the list passes `f` (true for an empty list).
    pub(crate) fn all_bytes(mut self, f: impl Fn(&[u8]) -> bool) -> bool {
        while let Some(e) = self.next_bytes() {
            if !f(e) {
                return false;
            }
        }
        true
    }

    /// Whether some element of the list passes `f`.
    pub(crate) fn any_bytes(self, f: impl Fn(&[u8]) -> bool) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // Empty lines, lines of commas and whitespace, a comma at either end of a line.
        let lines: [&[u8]; 6] = [b"", b" , ,", b",a", b"", b"b ,", b"\t"];
        let mut tokens = Tokens::new(lines.into_iter());
        assert_eq!(tokens.next_bytes(), Some(&b"a"[..]));
        assert_eq!(tokens.next_bytes(), Some(&b"b"[..]));
        assert_eq!(tokens.next_bytes(), None);
        assert_eq!(tokens.next_bytes(), None);
        assert!(Tokens::new([&b" ,, "[..], b""].into_iter())
            .next_bytes()
            .is_none());
        assert!(has_token(&h, "Connection", "upgrade"));
        assert!(!has_token(&h, "Connection", "close"));
    }
}
