//! Credentials in a request head: cookies (RFC 6265 §4.2) and `Authorization` (RFC 9110
//! §11.6.2), with the `Bearer` token of RFC 6750 §2.1. Borrowed from the input, no allocation.

use httparse::Header;

use super::headers::{is_token, same_ignoring_case, single, split_once, trim, HeaderValues};

/// The `name=value` pairs of every `Cookie` header line (RFC 6265 §4.2.1:
/// `Cookie: a=b; c=d`), in order, borrowed. HTTP/1.1 clients send one line, but a request that
/// went through HTTP/2 may carry several (RFC 9113 §8.2.3); all are read.
///
/// Pieces are split at `;` and trimmed of spaces and tabs; a piece without `=`, with a name that
/// is not a token, or that is not UTF-8 is skipped. A value in double quotes is given without
/// them (the quotes belong to the grammar, §4.1.1); anything else is as sent, not decoded.
///
/// ```
/// use wsmachine::handshake::Cookies;
/// let headers = [
///     httparse::Header { name: "Cookie", value: b"sid=abc; theme=\"dark\"" },
///     httparse::Header { name: "cookie", value: b"junk;; lang=en" },
/// ];
/// let cookies: Vec<_> = Cookies::new(&headers).collect();
/// assert_eq!(cookies, [("sid", "abc"), ("theme", "dark"), ("lang", "en")]);
/// ```
#[derive(Debug, Clone)]
pub struct Cookies<'h, 'b> {
    values: HeaderValues<'h, 'b>,
    rest: &'b [u8],
}

impl<'h, 'b> Cookies<'h, 'b> {
    /// The cookies of every `Cookie` line of `headers`.
    ///
    /// ```
    /// let headers = [httparse::Header { name: "Cookie", value: b"a=1" }];
    /// assert_eq!(wsmachine::handshake::Cookies::new(&headers).next(), Some(("a", "1")));
    /// ```
    #[must_use]
    pub fn new(headers: &'h [Header<'b>]) -> Self {
        Self {
            values: HeaderValues::new(headers, "cookie"),
            rest: &[],
        }
    }
}

impl<'b> Iterator for Cookies<'_, 'b> {
    type Item = (&'b str, &'b str);

    fn next(&mut self) -> Option<(&'b str, &'b str)> {
        loop {
            while self.rest.is_empty() {
                self.rest = self.values.next()?;
            }
            let (piece, rest) = split_once(self.rest, b';');
            self.rest = rest.unwrap_or_default();
            let (name, Some(value)) = split_once(trim(piece), b'=') else {
                continue;
            };
            let (name, value) = (trim(name), unquote(trim(value)));
            if !is_token(name) {
                continue;
            }
            if let (Ok(name), Ok(value)) = (core::str::from_utf8(name), core::str::from_utf8(value))
            {
                return Some((name, value));
            }
        }
    }
}

/// `"value"` → `value`; anything else unchanged.
fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

/// An `Authorization` header split into its scheme and credentials (RFC 9110 §11.6.2:
/// `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`), borrowed.
///
/// ```
/// use wsmachine::handshake::Authorization;
/// let auth = Authorization::parse(b"Basic dXNlcjpwYXNz").unwrap();
/// assert_eq!((auth.scheme(), auth.credentials()), ("Basic", "dXNlcjpwYXNz"));
/// assert!(auth.is_scheme("basic"));
/// assert_eq!(auth.bearer_token(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Authorization<'b> {
    scheme: &'b str,
    credentials: &'b str,
}

impl<'b> Authorization<'b> {
    /// Splits a header value at its first space: a token scheme, then the credentials with
    /// surrounding whitespace trimmed (empty when there are none). `None` when the scheme is
    /// not a token or the value is not UTF-8.
    ///
    /// ```
    /// use wsmachine::handshake::Authorization;
    /// let auth = Authorization::parse(b"  Bearer   mF_9.B5f-4.1JqM  ").unwrap();
    /// assert_eq!((auth.scheme(), auth.credentials()), ("Bearer", "mF_9.B5f-4.1JqM"));
    /// assert_eq!(Authorization::parse(b"Negotiate").unwrap().credentials(), "");
    /// assert_eq!(Authorization::parse(b"Bad:scheme x"), None);
    /// assert_eq!(Authorization::parse(b""), None);
    /// ```
    #[must_use]
    pub fn parse(value: &'b [u8]) -> Option<Self> {
        let (scheme, credentials) = split_once(trim(value), b' ');
        if !is_token(scheme) {
            return None;
        }
        Some(Self {
            scheme: core::str::from_utf8(scheme).ok()?,
            credentials: core::str::from_utf8(trim(credentials.unwrap_or_default())).ok()?,
        })
    }

    /// The authentication scheme as sent, such as `Bearer`.
    ///
    /// ```
    /// let auth = wsmachine::handshake::Authorization::parse(b"DPoP abc").unwrap();
    /// assert_eq!(auth.scheme(), "DPoP");
    /// ```
    #[must_use]
    pub fn scheme(&self) -> &'b str {
        self.scheme
    }

    /// Whether the scheme is `scheme`, compared case-insensitively (RFC 9110 §11.1).
    ///
    /// ```
    /// let auth = wsmachine::handshake::Authorization::parse(b"BEARER x").unwrap();
    /// assert!(auth.is_scheme("Bearer"));
    /// ```
    #[must_use]
    pub fn is_scheme(&self, scheme: &str) -> bool {
        same_ignoring_case(self.scheme.as_bytes(), scheme.as_bytes())
    }

    /// Everything after the scheme: a token68, or auth-params, as sent.
    ///
    /// ```
    /// let auth = wsmachine::handshake::Authorization::parse(b"Digest a=\"1\", b=2").unwrap();
    /// assert_eq!(auth.credentials(), "a=\"1\", b=2");
    /// ```
    #[must_use]
    pub fn credentials(&self) -> &'b str {
        self.credentials
    }

    /// The token of a `Bearer` scheme (any case) when it is a well-formed `b64token` (RFC 6750
    /// §2.1: letters, digits, `-._~+/`, then any `=`); `None` for another scheme or a malformed
    /// token.
    ///
    /// ```
    /// use wsmachine::handshake::Authorization;
    /// let token = |v: &'static [u8]| Authorization::parse(v).and_then(|a| a.bearer_token());
    /// assert_eq!(token(b"bearer mF_9.B5f-4.1JqM=="), Some("mF_9.B5f-4.1JqM=="));
    /// assert_eq!(token(b"Bearer a b"), None);
    /// assert_eq!(token(b"Bearer =a"), None);
    /// assert_eq!(token(b"Bearer"), None);
    /// ```
    #[must_use]
    pub fn bearer_token(&self) -> Option<&'b str> {
        (self.is_scheme("bearer") && is_b64token(self.credentials.as_bytes()))
            .then_some(self.credentials)
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
fn is_b64token(s: &[u8]) -> bool {
    let body_len = s.iter().take_while(|&&b| b != b'=').count();
    let (body, pad) = s.split_at(body_len);
    !body.is_empty()
        && body.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
        && pad.iter().all(|&b| b == b'=')
}

/// The `Authorization` header of `headers`: `None` when it is missing, repeated (which one would
/// count?), or not a scheme and credentials.
pub(crate) fn authorization<'b>(headers: &[Header<'b>]) -> Option<Authorization<'b>> {
    Authorization::parse(single(headers, "authorization").ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<'b>(name: &'static str, value: &'b [u8]) -> Header<'b> {
        Header { name, value }
    }

    #[test]
    fn cookies_of_hostile_headers() {
        let headers = [
            h(
                "Cookie",
                b"a=1; b=x=y;;  ; c; =v; d=\"q\"; e=\"; f= sp ace ",
            ),
            h("X-Cookie", b"no=1"),
            h("COOKIE", b"a=2;g=\xff;h=\"\";\tbad name=1;i=\xc3\xa9"),
            h("Cookie", b""),
        ];
        let all: Vec<_> = Cookies::new(&headers).collect();
        assert_eq!(
            all,
            [
                ("a", "1"),
                ("b", "x=y"),
                ("d", "q"),
                ("e", "\""),
                ("f", "sp ace"),
                ("a", "2"),
                ("h", ""),
                ("i", "\u{e9}"),
            ]
        );
        assert_eq!(Cookies::new(&[]).next(), None);
    }

    #[test]
    fn authorization_forms() {
        let auth = |v: &'static [u8]| authorization(&[h("Authorization", v)]);
        assert_eq!(
            auth(b"Bearer abc").map(|a| (a.scheme(), a.credentials())),
            Some(("Bearer", "abc"))
        );
        assert_eq!(
            auth(b"Digest a=\"1\", b=2").map(|a| a.credentials()),
            Some("a=\"1\", b=2")
        );
        assert_eq!(auth(b"\xff x"), None);
        assert_eq!(auth(b"Bearer \xff"), None);
        assert_eq!(auth(b"(x) y"), None);
        assert_eq!(auth(b" "), None);
        let twice = [
            h("Authorization", b"Bearer a"),
            h("authorization", b"Bearer b"),
        ];
        assert_eq!(authorization(&twice), None);
        assert_eq!(authorization(&[]), None);
        for (token, ok) in [
            ("abc", true),
            ("a-b.c_d~e+f/g", true),
            ("abc==", true),
            ("abc=d", false),
            ("=", false),
            ("", false),
            ("a b", false),
            ("a,b", false),
            ("a\"", false),
        ] {
            assert_eq!(is_b64token(token.as_bytes()), ok, "{token}");
        }
    }
}
