//! Client side of the opening handshake (RFC 6455 §4.1): write the request, validate the 101.
//!
//! [`ClientRequest::write`] writes the upgrade request and returns an [`Expected`]: the accept
//! value for the key it sent, and what was offered. [`parse_response`] reads the server's head;
//! [`Response::validate`] checks it against the [`Expected`] and gives the [`Accepted`]
//! subprotocol and extensions. A refusal (401, 403, 429, a redirect; over HTTP/1.1 or 1.0) is
//! an ordinary [`Response`]: [`Response::validate`] reports it as [`ResponseError::Refused`]
//! with its status, and the response itself is the view of it the caller reads: its status,
//! reason and headers ([`Response::location`], [`Response::www_authenticate`],
//! [`Response::retry_after`]) and the start of its body ([`Response::body`]).

use core::fmt;

use httparse::Header;

use super::extensions::{is_extension_list, valid_answer, Extensions};
use super::headers::{
    cut, has_token, header, is_field_value, is_token, one, only, HeaderValues, Tokens,
};
use super::key::{accept_key, encode_nonce, ACCEPT_LEN, KEY_LEN};
use super::write::{check_headers, WriteError, Writer};
use super::Status;

/// The fixed lines of the request, from the CRLF that ends `Host` to the key's value. The
/// checks of the 101's `Upgrade` and `Connection` take their names and tokens from it (compared
/// ignoring case), so those bytes are in flash once.
const UPGRADE_LINES: &str = "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ";
/// `Upgrade`, `websocket` and `Connection`, cut from [`UPGRADE_LINES`].
const UPGRADE: &str = cut(UPGRADE_LINES, 2, 7);
const WEBSOCKET: &str = cut(UPGRADE_LINES, 11, 9);
const CONNECTION: &str = cut(UPGRADE_LINES, 22, 10);

/// What to ask for in the upgrade request. Start from [`ClientRequest::new`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientRequest<'a> {
    /// The server's host name or address; an IPv6 address in brackets, `[::1]`.
    pub host: &'a str,
    /// The server's port; written in `Host` unless it is the default of the scheme.
    pub port: u16,
    /// `wss` (default port 443) rather than `ws` (default port 80). The TLS is the caller's.
    pub secure: bool,
    /// The path of the resource, `/chat`, percent-encoded; empty means `/`.
    pub path: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
    /// The `Origin` to send, for a client that acts for a web origin.
    pub origin: Option<&'a str>,
    /// The subprotocols to offer, most preferred first.
    pub subprotocols: &'a [&'a str],
    /// The `Sec-WebSocket-Extensions` offer, such as `permessage-deflate; client_max_window_bits`.
    pub extensions: Option<&'a str>,
    /// More headers, such as `Authorization`: checked by the same rules as the server's
    /// [`Accept::extra_headers`](super::server::Accept::extra_headers) and a
    /// [`Rejection`](super::Rejection)'s headers (token names, no CR, LF, NUL or other control
    /// byte but HTAB in values, none the writer owns: [`WriteError::ReservedHeader`]).
    pub extra_headers: &'a [(&'a str, &'a str)],
}

impl<'a> ClientRequest<'a> {
    /// A request for `ws://host/path` on port 80, offering nothing.
    #[must_use]
    pub const fn new(host: &'a str, path: &'a str) -> Self {
        Self {
            host,
            port: 80,
            secure: false,
            path,
            query: None,
            origin: None,
            subprotocols: &[],
            extensions: None,
            extra_headers: &[],
        }
    }

    /// Writes the upgrade request into `out`, with `nonce` (16 bytes from a good random source,
    /// new for every connection) as the `Sec-WebSocket-Key`. Returns its length and what the
    /// response is checked against.
    pub fn write(
        &self,
        nonce: &[u8; 16],
        out: &mut [u8],
    ) -> Result<(usize, Expected<'a>), WriteError> {
        // Visible ASCII only (no spaces, controls or fragments): percent-encode paths and
        // punycode host names first.
        let path_ok = |s: &str| s.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
        let ok = path_ok(self.host)
            && !self.host.is_empty()
            && path_ok(self.path)
            && (self.path.is_empty() || self.path.starts_with('/'))
            && self.query.is_none_or(path_ok)
            && self.origin.is_none_or(|o| is_field_value(o.as_bytes()))
            && self.subprotocols.iter().all(|p| is_token(p.as_bytes()))
            && self.extensions.is_none_or(is_extension_list);
        if !ok {
            return Err(WriteError::InvalidHeader);
        }
        check_headers(self.extra_headers)?;

        let mut key = [0u8; KEY_LEN];
        encode_nonce(nonce, &mut key);

        let mut w = Writer::new(out);
        w.put(b"GET ");
        w.put(if self.path.is_empty() { "/" } else { self.path }.as_bytes());
        if let Some(q) = self.query {
            w.put(b"?");
            w.put(q.as_bytes());
        }
        w.put(b" HTTP/1.1\r\nHost: ");
        w.put(self.host.as_bytes());
        if self.port != if self.secure { 443 } else { 80 } {
            w.put(b":");
            w.put_dec(u32::from(self.port));
        }
        // The key is the last fixed line, and each optional line starts with the CRLF that
        // ends the one before: a request without them ends with one write of CRLF CRLF.
        w.put(UPGRADE_LINES.as_bytes());
        w.put(&key);
        if let Some(o) = self.origin {
            w.put(b"\r\nOrigin: ");
            w.put(o.as_bytes());
        }
        if let [first, rest @ ..] = self.subprotocols {
            w.put(b"\r\nSec-WebSocket-Protocol: ");
            w.put(first.as_bytes());
            for p in rest {
                w.put(b", ");
                w.put(p.as_bytes());
            }
        }
        if let Some(e) = self.extensions {
            w.put(b"\r\nSec-WebSocket-Extensions: ");
            w.put(e.as_bytes());
        }
        for (name, value) in self.extra_headers {
            w.put(b"\r\n");
            w.put(name.as_bytes());
            w.put(b": ");
            w.put(value.as_bytes());
        }
        w.put(b"\r\n\r\n");
        let len = w.finish()?;
        let expected = Expected {
            accept: accept_key(&key),
            subprotocols: self.subprotocols,
            extensions: self.extensions,
        };
        Ok((len, expected))
    }

    /// [`ClientRequest::write`] with a nonce drawn from `rng`.
    pub fn write_with_rng(
        &self,
        rng: &mut impl rand_core::RngCore,
        out: &mut [u8],
    ) -> Result<(usize, Expected<'a>), WriteError> {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        self.write(&nonce, out)
    }
}

/// What a request offered, to check the response against: keep it until the response arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Expected<'a> {
    accept: [u8; ACCEPT_LEN],
    subprotocols: &'a [&'a str],
    extensions: Option<&'a str>,
}

impl Expected<'_> {
    /// The `Sec-WebSocket-Accept` value the server must send.
    #[must_use]
    pub fn accept(&self) -> &[u8; ACCEPT_LEN] {
        &self.accept
    }
}

/// Why a response does not complete the handshake. The connection must be closed (§4.1).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ResponseError {
    /// The head is longer than the limit given to [`parse_response`].
    HeadTooLarge,
    /// More header lines than the caller's header array holds.
    TooManyHeaders,
    /// Not a well-formed HTTP/1.x response head, or a 101 over HTTP/1.0 (which has no 1xx).
    Malformed,
    /// The server refused the upgrade: it answered with this status instead of 101. The
    /// [`Response`] has its reason, headers and the start of its body.
    Refused {
        /// The status code, such as 401 or 503.
        status: u16,
    },
    /// `Upgrade` is not `websocket`.
    Upgrade,
    /// `Connection` does not list `upgrade`.
    Connection,
    /// `Sec-WebSocket-Accept` is missing, repeated, or not the value for our key.
    Accept,
    /// A subprotocol we did not offer, or more than one.
    Subprotocol,
    /// An extension we did not offer, or a malformed `Sec-WebSocket-Extensions`.
    Extensions,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HeadTooLarge => "response head too large",
            Self::TooManyHeaders => "too many headers",
            Self::Malformed => "malformed response",
            Self::Refused { status } => {
                f.write_str("upgrade refused with status ")?;
                return fmt::Display::fmt(status, f);
            }
            Self::Upgrade => "Upgrade is not websocket",
            Self::Connection => "Connection does not list upgrade",
            Self::Accept => "wrong Sec-WebSocket-Accept",
            Self::Subprotocol => "subprotocol not offered",
            Self::Extensions => "extension not offered",
        })
    }
}

impl core::error::Error for ResponseError {}

/// A response head, of any status, borrowing the caller's header array (`'h`) and input (`'b`).
#[derive(Debug, Clone, Copy)]
pub struct Response<'h, 'b> {
    status: u16,
    reason: &'b str,
    headers: &'h [Header<'b>],
    /// 1 for HTTP/1.1, 0 for HTTP/1.0.
    minor_version: u8,
    /// Everything after the head that is in the input.
    after_head: &'b [u8],
}

/// Logs the status line; the headers stay out of the log.
#[cfg(feature = "defmt")]
impl defmt::Format for Response<'_, '_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Response {{ status: {}, reason: {} }}",
            self.status,
            self.reason
        );
    }
}

/// Parses a response head (HTTP/1.1 or HTTP/1.0) from the start of `buf`: `Ok(Status::Partial)`
/// until it has ended, then the response and the length of the head. After a 101, the bytes
/// after the head are frames the server sent early: hand them to the connection; after a
/// refusal they are its body ([`Response::body`]). A head longer than `max_head_len`
/// ([`DEFAULT_MAX_HEAD_LEN`](super::DEFAULT_MAX_HEAD_LEN)), complete or not, is
/// [`ResponseError::HeadTooLarge`].
pub fn parse_response<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
    max_head_len: usize,
) -> Result<Status<(Response<'h, 'b>, usize)>, ResponseError> {
    let mut res = httparse::Response::new(headers);
    let len = match res.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= max_head_len => len,
        Ok(httparse::Status::Partial) if buf.len() <= max_head_len => return Ok(Status::Partial),
        Ok(_) => return Err(ResponseError::HeadTooLarge),
        Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::TooManyHeaders),
        Err(_) => return Err(ResponseError::Malformed),
    };
    let minor_version = match res.version {
        Some(v @ (0 | 1)) => v,
        _ => return Err(ResponseError::Malformed),
    };
    let response = Response {
        status: res.code.unwrap_or_default(),
        reason: res.reason.unwrap_or_default(),
        headers: res.headers,
        minor_version,
        after_head: buf.get(len..).unwrap_or_default(),
    };
    Ok(Status::Complete((response, len)))
}

impl<'h, 'b> Response<'h, 'b> {
    /// The status code: 101 when the server switches protocols.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase.
    #[must_use]
    pub fn reason(&self) -> &'b str {
        self.reason
    }

    /// The first value of any header, by case-insensitive name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        header(self.headers, name)
    }

    /// The `Location` of a redirect.
    #[must_use]
    pub fn location(&self) -> Option<&'b str> {
        self.header_str("location")
    }

    /// The first `WWW-Authenticate` challenge of a 401, as sent (RFC 9110 §11.6.1), such as
    /// `Bearer realm="chat", error="invalid_token"`.
    ///
    /// ```
    /// # use wsmachine::handshake::{client::parse_response, Status};
    /// let input = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n\r\n";
    /// let mut headers = [httparse::EMPTY_HEADER; 4];
    /// let Ok(Status::Complete((response, _))) = parse_response(input, &mut headers, 4096) else { panic!() };
    /// assert_eq!(response.www_authenticate(), Some("Bearer realm=\"chat\""));
    /// ```
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&'b str> {
        self.header_str("www-authenticate")
    }

    /// `Retry-After` of a 429, a 503 or a redirect (RFC 9110 §10.2.3): delay-seconds when it is
    /// a number, else the HTTP-date as sent (the crate has no clock to compare it with).
    ///
    /// ```
    /// # use wsmachine::handshake::{client::{parse_response, RetryAfter}, Status};
    /// let input = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\n\r\n";
    /// let mut headers = [httparse::EMPTY_HEADER; 4];
    /// let Ok(Status::Complete((response, _))) = parse_response(input, &mut headers, 4096) else { panic!() };
    /// assert_eq!(response.retry_after(), Some(RetryAfter::Seconds(120)));
    /// ```
    #[must_use]
    pub fn retry_after(&self) -> Option<RetryAfter<'b>> {
        let value = self.header_str("retry-after")?.trim_matches([' ', '\t']);
        if value.is_empty() {
            return None;
        }
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Some(RetryAfter::Date(value));
        }
        let seconds = decimal(value.as_bytes()).and_then(|s| u32::try_from(s).ok());
        Some(RetryAfter::Seconds(seconds.unwrap_or(u32::MAX)))
    }

    /// The `Content-Length` of the body, when it is given once as a decimal number and no
    /// `Transfer-Encoding` overrides it (RFC 9112 §6.3); `None` otherwise.
    ///
    /// ```
    /// # use wsmachine::handshake::{client::parse_response, Status};
    /// let input = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
    /// let mut headers = [httparse::EMPTY_HEADER; 4];
    /// let Ok(Status::Complete((response, _))) = parse_response(input, &mut headers, 4096) else { panic!() };
    /// assert_eq!(response.content_length(), Some(2));
    /// ```
    #[must_use]
    pub fn content_length(&self) -> Option<u64> {
        if self.header("transfer-encoding").is_some() {
            return None;
        }
        decimal(only(self.headers, "content-length")?)
    }

    /// The start of a refusal's body: the bytes after the head that are already in the input
    /// given to [`parse_response`], never more. With a [`content_length`](Self::content_length)
    /// it stops there (what follows is not this response's), so it is the whole body when
    /// `body().len()` equals it; without one it is everything received so far (with a
    /// `Transfer-Encoding`, still chunk-encoded). Empty for 1xx, 204 and 304, which have no
    /// body (RFC 9112 §6.3): after a 101 those bytes are WebSocket frames.
    ///
    /// ```
    /// # use wsmachine::handshake::{client::parse_response, Status};
    /// let input = b"HTTP/1.0 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden, and more";
    /// let mut headers = [httparse::EMPTY_HEADER; 4];
    /// let Ok(Status::Complete((response, _))) = parse_response(input, &mut headers, 4096) else { panic!() };
    /// assert_eq!((response.status(), response.body()), (403, &b"forbidden"[..]));
    /// ```
    #[must_use]
    pub fn body(&self) -> &'b [u8] {
        if matches!(self.status, 100..=199 | 204 | 304) {
            return &[];
        }
        let received = self.after_head;
        match self.content_length() {
            Some(len) => {
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                received.get(..len).unwrap_or(received)
            }
            None => received,
        }
    }

    /// The first value of `name` as UTF-8, trimmed.
    fn header_str(&self, name: &str) -> Option<&'b str> {
        core::str::from_utf8(self.header(name)?).ok()
    }

    /// Every header line, in order.
    #[must_use]
    pub fn headers(&self) -> &'h [Header<'b>] {
        self.headers
    }

    /// Checks that the response completes the handshake our request began (RFC 6455 §4.1):
    /// status 101, `Upgrade: websocket`, `Connection: upgrade`, the accept value for our key,
    /// at most one subprotocol and only one we offered, only extensions we offered.
    pub fn validate(&self, expected: &Expected<'_>) -> Result<Accepted<'h, 'b>, ResponseError> {
        if self.status != 101 {
            return Err(ResponseError::Refused {
                status: self.status,
            });
        }
        if self.minor_version != 1 {
            return Err(ResponseError::Malformed);
        }
        let h = self.headers;
        if !has_token(h, UPGRADE, WEBSOCKET) {
            return Err(ResponseError::Upgrade);
        }
        if !has_token(h, CONNECTION, UPGRADE) {
            return Err(ResponseError::Connection);
        }
        let accept = only(h, "sec-websocket-accept");
        if !accept.is_some_and(|a| same_bytes(a, &expected.accept)) {
            return Err(ResponseError::Accept);
        }
        let lines = HeaderValues::new(h, "sec-websocket-protocol");
        // Whether any line answers, even an empty one.
        let answered = lines.clone().next().is_some();
        let subprotocol = match (answered, expected.subprotocols) {
            (false, _) => None,
            (true, []) => return Err(ResponseError::Subprotocol),
            (true, offered) => {
                let mut tokens = Tokens::new(lines);
                match (tokens.next_bytes(), tokens.next_bytes()) {
                    (Some(p), None) if offered.iter().any(|o| same_bytes(o.as_bytes(), p)) => {
                        core::str::from_utf8(p).ok()
                    }
                    _ => return Err(ResponseError::Subprotocol),
                }
            }
        };
        // What was not offered may not be answered; a client that offers no extensions needs no
        // list parsing.
        let values = HeaderValues::new(h, "sec-websocket-extensions");
        let extensions_ok = match expected.extensions {
            None => Tokens::new(values).next_bytes().is_none(),
            Some(offer) => valid_answer(values, one(offer)),
        };
        if !extensions_ok {
            return Err(ResponseError::Extensions);
        }
        Ok(Accepted {
            subprotocol,
            headers: h,
        })
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3), from [`Response::retry_after`].
///
/// ```
/// # use wsmachine::handshake::{client::{parse_response, RetryAfter}, Status};
/// let input = b"HTTP/1.1 503 Busy\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n\r\n";
/// let mut headers = [httparse::EMPTY_HEADER; 4];
/// let Ok(Status::Complete((response, _))) = parse_response(input, &mut headers, 4096) else { panic!() };
/// assert_eq!(response.retry_after(), Some(RetryAfter::Date("Fri, 31 Dec 1999 23:59:59 GMT")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RetryAfter<'b> {
    /// delay-seconds; a number past `u32::MAX` is `u32::MAX`.
    Seconds(u32),
    /// Not a number: an HTTP-date such as `Fri, 31 Dec 1999 23:59:59 GMT`, as sent.
    Date(&'b str),
}

/// `1*DIGIT` as a number, `None` when empty, not all digits, or past `u64::MAX`.
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let digit = u64::from(b.checked_sub(b'0').filter(|d| *d <= 9)?);
        n.checked_mul(10)?.checked_add(digit)
    })
}

/// Whether `a` and `b` hold the same bytes, in a plain loop: `==` on byte slices links a
/// library `memcmp` (116 bytes on thumbv7em), and the client's two byte comparisons (the accept
/// value, the chosen subprotocol) are all that would use it. The accept value is no secret (it
/// is computed from the key on the wire), so this need not be constant-time. Out of line: a
/// client that offers subprotocols compares twice.
#[inline(never)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// What the server agreed to, borrowed from the response.
#[derive(Debug, Clone, Copy)]
pub struct Accepted<'h, 'b> {
    subprotocol: Option<&'b str>,
    headers: &'h [Header<'b>],
}

/// Logs the chosen subprotocol.
#[cfg(feature = "defmt")]
impl defmt::Format for Accepted<'_, '_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Accepted {{ subprotocol: {} }}", self.subprotocol);
    }
}

impl<'h, 'b> Accepted<'h, 'b> {
    /// The subprotocol the server chose, if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&'b str> {
        self.subprotocol
    }

    /// The extensions the server accepted, with their parameters, in the order to apply them.
    pub fn extensions(&self) -> Extensions<'b, HeaderValues<'h, 'b>> {
        Extensions::new(HeaderValues::new(self.headers, "sec-websocket-extensions"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cut_from_the_request() {
        assert_eq!(
            (UPGRADE, WEBSOCKET, CONNECTION),
            ("Upgrade", "websocket", "Connection")
        );
        assert_eq!(
            UPGRADE_LINES,
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: "
        );
    }
}
