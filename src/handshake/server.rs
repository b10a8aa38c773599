//! Server side of the opening handshake (RFC 6455 §4.2): parse the request, write the response.
//!
//! [`parse_request`] reads and validates the client's upgrade request (§4.2.1) and applies the
//! [`OriginPolicy`] (§10.2). A valid [`Request`] exposes its path, query, host, origin, offered
//! subprotocols and extensions and any other header, all borrowed from the input, and writes the
//! `101 Switching Protocols` response with [`Request::accept`] (§4.2.2). An invalid one is a
//! [`HandshakeError`]: [`HandshakeError::status_code`] says which HTTP status it deserves and
//! [`write_rejection`] writes that response (§4.2.2, §4.4). A valid request that the server's
//! policy refuses (no credentials, no such path, too many connections) is answered with a
//! [`Rejection`] the caller builds.

use core::fmt;

use httparse::Header;

use super::credentials::{authorization, Authorization, Cookies};
use super::extensions::{is_extension_list, valid_answer, valid_extension, Extensions};
use super::headers::{
    cut, every_listed, header, is_token, one, same_ignoring_case, single, HeaderValues, NotSingle,
    Tokens,
};
use super::key::{is_valid_key, write_accept_key, ACCEPT_LEN, KEY_LEN};
use super::query::QueryPairs;
use super::rejection::Rejection;
use super::write::{check_headers, WriteError, Writer};
use super::{Status, DEFAULT_MAX_HEAD_LEN};

/// The start of the 101 (RFC 6455 §4.2.2), up to the accept value. The `Upgrade` and
/// `Connection` checks of the request take their names and tokens from it (compared
/// ignoring case), so those bytes are in flash once.
const SWITCHING: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Accept: ";
/// `Upgrade`, `websocket` and `Connection`, cut from [`SWITCHING`].
const UPGRADE: &str = cut(SWITCHING, 34, 7);
const WEBSOCKET: &str = cut(SWITCHING, 43, 9);
const CONNECTION: &str = cut(SWITCHING, 54, 10);

/// `Upgrade` lists `websocket` (RFC 6455 §4.2.1), case-insensitively.
fn upgrade_is_websocket(headers: &[Header<'_>]) -> bool {
    !every_listed(headers, UPGRADE, |t| {
        !same_ignoring_case(t, WEBSOCKET.as_bytes())
    })
}

/// `Connection` lists `upgrade` (RFC 6455 §4.2.1), case-insensitively.
fn connection_is_upgrade(headers: &[Header<'_>]) -> bool {
    !every_listed(headers, CONNECTION, |t| {
        !same_ignoring_case(t, UPGRADE.as_bytes())
    })
}

/// Which `Origin` header values the server accepts (RFC 6455 §10.2). Browsers always send
/// `Origin`; other clients may send anything, or nothing.
#[derive(Clone, Copy)]
pub enum OriginPolicy<'a> {
    /// Any origin, or none.
    Any,
    /// Only these origins, compared ASCII case-insensitively (`"https://example.com"`). A
    /// request without `Origin` does not come from a browser and is accepted; use
    /// [`OriginPolicy::Check`] to refuse it too.
    AllowList(&'a [&'a str]),
    /// The function decides; it gets `None` when the request has no `Origin`.
    Check(&'a (dyn Fn(Option<&str>) -> bool + Sync)),
}

impl fmt::Debug for OriginPolicy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("Any"),
            Self::AllowList(list) => f.debug_tuple("AllowList").field(list).finish(),
            Self::Check(_) => f.write_str("Check(..)"),
        }
    }
}

/// Limits and policy for [`parse_request`].
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions<'a> {
    /// The longest request head accepted, in bytes. A longer one, complete or not, is
    /// [`HandshakeError::HeadTooLarge`]; so nothing waits forever for a head that never ends.
    pub max_head_len: usize,
    /// Which origins may connect.
    pub origin: OriginPolicy<'a>,
}

impl Default for ServerOptions<'_> {
    fn default() -> Self {
        Self {
            max_head_len: DEFAULT_MAX_HEAD_LEN,
            origin: OriginPolicy::Any,
        }
    }
}

/// Why an upgrade request was refused. Each maps to one HTTP status through
/// [`HandshakeError::status_code`]; [`write_rejection`] writes the response.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HandshakeError {
    /// The head is longer than [`ServerOptions::max_head_len`] (431).
    HeadTooLarge,
    /// More header lines than the caller's header array holds (431).
    TooManyHeaders,
    /// Not a well-formed HTTP/1.x request head (400).
    Malformed,
    /// The method is not `GET` (400).
    Method,
    /// HTTP/1.0; the upgrade needs HTTP/1.1 or later (400).
    HttpVersion,
    /// `Host` is missing, repeated, or not UTF-8 (400).
    Host,
    /// `Upgrade` does not list `websocket` (400).
    Upgrade,
    /// `Connection` does not list `upgrade` (400).
    Connection,
    /// `Sec-WebSocket-Key` is missing or does not decode to 16 bytes (400).
    Key,
    /// `Sec-WebSocket-Key` appears more than once (400).
    DuplicateKey,
    /// `Sec-WebSocket-Version` is missing, repeated, or not 13 (426).
    Version,
    /// `Sec-WebSocket-Protocol` holds something other than a list of tokens (400).
    Subprotocols,
    /// `Sec-WebSocket-Extensions` does not follow RFC 6455 §9.1 (400).
    Extensions,
    /// The [`OriginPolicy`] refused the `Origin`, or `Origin` is repeated or not UTF-8 (403).
    Origin,
}

impl HandshakeError {
    /// The HTTP status the rejection is sent with: 431, 426, 403, or 400.
    #[must_use]
    pub const fn status_code(self) -> u16 {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::Version => 426,
            Self::Origin => 403,
            _ => 400,
        }
    }

    /// The response refusing the request: the [`status_code`](Self::status_code) with its
    /// reason phrase, `Content-Type: text/plain`, and a short reason (the [`Display`] text) as
    /// the body. A 426 also carries `Upgrade: websocket` and `Sec-WebSocket-Version: 13`
    /// (RFC 6455 §4.4), which the [`Rejection`] writer adds to every 426. Change it before
    /// writing it, if the defaults do not fit:
    ///
    /// ```
    /// use wsmachine::handshake::server::HandshakeError;
    /// let rejection = HandshakeError::Origin.rejection();
    /// assert_eq!((rejection.status, rejection.reason), (403, "Forbidden"));
    /// assert_eq!(rejection.body, b"origin not allowed");
    /// let quiet = wsmachine::handshake::Rejection { body: b"", headers: &[], ..rejection };
    /// let mut out = [0u8; 128];
    /// let n = quiet.write(&mut out)?;
    /// assert_eq!(&out[..n], b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    /// # Ok::<(), wsmachine::handshake::WriteError>(())
    /// ```
    ///
    /// [`Display`]: core::fmt::Display
    #[must_use]
    pub const fn rejection(self) -> Rejection<'static> {
        let status = self.status_code();
        let reason = match status {
            403 => "Forbidden",
            426 => "Upgrade Required",
            431 => "Request Header Fields Too Large",
            _ => "Bad Request",
        };
        Rejection {
            headers: &[("Content-Type", "text/plain")],
            body: self.as_str().as_bytes(),
            ..Rejection::new(status, reason)
        }
    }

    /// A short reason, also the body of the rejection.
    const fn as_str(self) -> &'static str {
        match self {
            Self::HeadTooLarge => "request head too large",
            Self::TooManyHeaders => "too many headers",
            Self::Malformed => "malformed request",
            Self::Method => "method must be GET",
            Self::HttpVersion => "HTTP/1.1 required",
            Self::Host => "missing or repeated Host",
            Self::Upgrade => "Upgrade must list websocket",
            Self::Connection => "Connection must list upgrade",
            Self::Key => "missing or invalid Sec-WebSocket-Key",
            Self::DuplicateKey => "repeated Sec-WebSocket-Key",
            Self::Version => "Sec-WebSocket-Version must be 13",
            Self::Subprotocols => "invalid Sec-WebSocket-Protocol",
            Self::Extensions => "invalid Sec-WebSocket-Extensions",
            Self::Origin => "origin not allowed",
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for HandshakeError {}

/// A valid WebSocket upgrade request, borrowing the caller's header array (`'h`) and input
/// (`'b`).
#[derive(Debug, Clone, Copy)]
pub struct Request<'h, 'b> {
    target: &'b str,
    host: &'b str,
    origin: Option<&'b str>,
    key: &'b [u8; KEY_LEN],
    headers: &'h [Header<'b>],
}

/// Logs the target, host and origin; the key and other headers stay out of the log.
#[cfg(feature = "defmt")]
impl defmt::Format for Request<'_, '_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Request {{ target: {}, host: {}, origin: {} }}",
            self.target,
            self.host,
            self.origin
        );
    }
}

/// What the server answers a [`Request`] with.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Accept<'a> {
    /// The subprotocol chosen; it must be one the client offered.
    pub subprotocol: Option<&'a str>,
    /// The `Sec-WebSocket-Extensions` value, such as `permessage-deflate; server_no_context_takeover`:
    /// every extension named must be one the client offered.
    pub extensions: Option<&'a str>,
    /// More headers, such as `Set-Cookie`: checked by the same rules as a [`Rejection`]'s
    /// headers (token names, no CR, LF, NUL or other control byte but HTAB in values, none the
    /// writer owns: [`WriteError::ReservedHeader`]).
    pub extra_headers: &'a [(&'a str, &'a str)],
}

/// Parses and validates an upgrade request (RFC 6455 §4.2.1) from the start of `buf`.
///
/// `Ok(Status::Partial)` until the head has ended; then the request and the length of the head.
/// Bytes after the head are WebSocket frames the client sent early: hand them to the connection.
/// `headers` bounds how many header lines are accepted (more is
/// [`HandshakeError::TooManyHeaders`]).
pub fn parse_request<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
    opts: &ServerOptions<'_>,
) -> Result<Status<(Request<'h, 'b>, usize)>, HandshakeError> {
    let mut req = httparse::Request::new(headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() <= opts.max_head_len => {
            return Ok(Status::Partial)
        }
        Ok(httparse::Status::Partial) => return Err(HandshakeError::HeadTooLarge),
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooManyHeaders),
        Err(_) => return Err(HandshakeError::Malformed),
    };
    if len > opts.max_head_len {
        return Err(HandshakeError::HeadTooLarge);
    }
    let headers: &'h [Header<'b>] = req.headers;
    // Slice patterns compare byte by byte; `==` on slices would link a library memcmp.
    if !matches!(req.method.map(str::as_bytes), Some([b'G', b'E', b'T'])) {
        return Err(HandshakeError::Method);
    }
    if req.version != Some(1) {
        return Err(HandshakeError::HttpVersion);
    }
    let host = single(headers, "host").map_err(|_| HandshakeError::Host)?;
    let host = core::str::from_utf8(host).map_err(|_| HandshakeError::Host)?;
    if !upgrade_is_websocket(headers) {
        return Err(HandshakeError::Upgrade);
    }
    if !connection_is_upgrade(headers) {
        return Err(HandshakeError::Connection);
    }
    let key = single(headers, "sec-websocket-key").map_err(|e| match e {
        NotSingle::Missing => HandshakeError::Key,
        NotSingle::Repeated => HandshakeError::DuplicateKey,
    })?;
    let key = match <&[u8; KEY_LEN]>::try_from(key) {
        Ok(key) if is_valid_key(key) => key,
        _ => return Err(HandshakeError::Key),
    };
    if !matches!(single(headers, "sec-websocket-version"), Ok([b'1', b'3'])) {
        return Err(HandshakeError::Version);
    }
    if !every_listed(headers, "sec-websocket-protocol", is_token) {
        return Err(HandshakeError::Subprotocols);
    }
    if !every_listed(headers, "sec-websocket-extensions", valid_extension) {
        return Err(HandshakeError::Extensions);
    }
    let origin = match single(headers, "origin") {
        Err(NotSingle::Missing) => None,
        Ok(o) => Some(core::str::from_utf8(o).map_err(|_| HandshakeError::Origin)?),
        Err(NotSingle::Repeated) => return Err(HandshakeError::Origin),
    };
    let allowed = match opts.origin {
        OriginPolicy::Any => true,
        OriginPolicy::AllowList(list) => {
            origin.is_none_or(|o| list.iter().any(|a| a.eq_ignore_ascii_case(o)))
        }
        OriginPolicy::Check(f) => f(origin),
    };
    if !allowed {
        return Err(HandshakeError::Origin);
    }
    let request = Request {
        target: req.path.unwrap_or("/"),
        host,
        origin,
        key,
        headers,
    };
    Ok(Status::Complete((request, len)))
}

impl<'h, 'b> Request<'h, 'b> {
    /// The path of the request target, without the query: `/chat` of `/chat?room=1`.
    #[must_use]
    pub fn path(&self) -> &'b str {
        self.target.split_once('?').map_or(self.target, |(p, _)| p)
    }

    /// The query of the request target, without `?`: `room=1` of `/chat?room=1`.
    #[must_use]
    pub fn query(&self) -> Option<&'b str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The `key=value` pairs of the query, raw (not percent-decoded) and in order; none when
    /// there is no query. Decode a part with [`form_decode`](super::form_decode).
    ///
    /// ```
    /// # use wsmachine::handshake::{server::{parse_request, ServerOptions}, Status};
    /// # let input = b"GET /chat?room=a+b&token=x%2By&room=2 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// # let mut headers = [httparse::EMPTY_HEADER; 8];
    /// # let Ok(Status::Complete((request, _))) = parse_request(input, &mut headers, &ServerOptions::default()) else { panic!() };
    /// // GET /chat?room=a+b&token=x%2By&room=2
    /// let pairs: Vec<_> = request.query_pairs().collect();
    /// assert_eq!(pairs, [("room", "a+b"), ("token", "x%2By"), ("room", "2")]);
    /// let mut buf = [0u8; 16];
    /// let token = wsmachine::handshake::form_decode(request.query_value("token").unwrap(), &mut buf)?;
    /// assert_eq!(token, b"x+y");
    /// # Ok::<(), wsmachine::handshake::DecodeError>(())
    /// ```
    pub fn query_pairs(&self) -> QueryPairs<'b> {
        QueryPairs::new(self.query().unwrap_or_default())
    }

    /// The raw value of the first query pair whose raw key is `key` (compared exactly, before
    /// any decoding): `Some("")` for `?key` or `?key=`, `None` when absent.
    ///
    /// ```
    /// # use wsmachine::handshake::{server::{parse_request, ServerOptions}, Status};
    /// # let input = b"GET /chat?room=1&flag&room=2 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// # let mut headers = [httparse::EMPTY_HEADER; 8];
    /// # let Ok(Status::Complete((request, _))) = parse_request(input, &mut headers, &ServerOptions::default()) else { panic!() };
    /// // GET /chat?room=1&flag&room=2
    /// assert_eq!(request.query_value("room"), Some("1"));
    /// assert_eq!(request.query_value("flag"), Some(""));
    /// assert_eq!(request.query_value("ROOM"), None);
    /// ```
    #[must_use]
    pub fn query_value(&self, key: &str) -> Option<&'b str> {
        self.query_pairs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The cookies of every `Cookie` line, as `(name, value)` (see [`Cookies`]).
    ///
    /// ```
    /// # use wsmachine::handshake::{server::{parse_request, ServerOptions}, Status};
    /// # let input = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: a=1; b=2\r\nCookie: c=3\r\n\r\n";
    /// # let mut headers = [httparse::EMPTY_HEADER; 8];
    /// # let Ok(Status::Complete((request, _))) = parse_request(input, &mut headers, &ServerOptions::default()) else { panic!() };
    /// // Cookie: a=1; b=2
    /// // Cookie: c=3
    /// assert!(request.cookies().eq([("a", "1"), ("b", "2"), ("c", "3")]));
    /// ```
    pub fn cookies(&self) -> Cookies<'h, 'b> {
        Cookies::new(self.headers)
    }

    /// The value of the first cookie named `name` (case-sensitive, RFC 6265 §4.2.2; the first
    /// is the one with the most specific path, §5.4), across every `Cookie` line.
    ///
    /// ```
    /// # use wsmachine::handshake::{server::{parse_request, ServerOptions}, Status};
    /// # let input = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Cookie: theme=dark; sid=abc\r\nCookie: sid=old\r\n\r\n";
    /// # let mut headers = [httparse::EMPTY_HEADER; 8];
    /// # let Ok(Status::Complete((request, _))) = parse_request(input, &mut headers, &ServerOptions::default()) else { panic!() };
    /// // Cookie: theme=dark; sid=abc
    /// // Cookie: sid=old
    /// assert_eq!(request.cookie("sid"), Some("abc"));
    /// assert_eq!(request.cookie("SID"), None);
    /// ```
    #[must_use]
    pub fn cookie(&self, name: &str) -> Option<&'b str> {
        self.cookies().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The `Authorization` header as scheme and credentials; `None` when it is missing,
    /// repeated, or malformed (see [`Authorization::parse`]).
    ///
    /// ```
    /// # use wsmachine::handshake::{server::{parse_request, ServerOptions}, Status};
    /// # let input = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n";
    /// # let mut headers = [httparse::EMPTY_HEADER; 8];
    /// # let Ok(Status::Complete((request, _))) = parse_request(input, &mut headers, &ServerOptions::default()) else { panic!() };
    /// // Authorization: Basic dXNlcjpwYXNz
    /// let auth = request.authorization().unwrap();
    /// assert!(auth.is_scheme("basic"));
    /// assert_eq!(auth.credentials(), "dXNlcjpwYXNz");
    /// assert_eq!(request.bearer_token(), None);
    /// ```
    #[must_use]
    pub fn authorization(&self) -> Option<Authorization<'b>> {
        authorization(self.headers)
    }

    /// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme in any case),
    /// when the header is there once and the token well-formed.
    ///
    /// ```
    /// # use wsmachine::handshake::{server::{parse_request, ServerOptions}, Status};
    /// # let input = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Authorization: bearer mF_9.B5f-4.1JqM\r\n\r\n";
    /// # let mut headers = [httparse::EMPTY_HEADER; 8];
    /// # let Ok(Status::Complete((request, _))) = parse_request(input, &mut headers, &ServerOptions::default()) else { panic!() };
    /// // Authorization: bearer mF_9.B5f-4.1JqM
    /// assert_eq!(request.bearer_token(), Some("mF_9.B5f-4.1JqM"));
    /// assert_eq!(request.authorization().unwrap().scheme(), "bearer");
    /// ```
    #[must_use]
    pub fn bearer_token(&self) -> Option<&'b str> {
        self.authorization()?.bearer_token()
    }

    /// The `Host` header.
    #[must_use]
    pub fn host(&self) -> &'b str {
        self.host
    }

    /// The `Origin` header, sent by browsers.
    #[must_use]
    pub fn origin(&self) -> Option<&'b str> {
        self.origin
    }

    /// The `Sec-WebSocket-Key` value.
    #[must_use]
    pub fn key(&self) -> &'b [u8; KEY_LEN] {
        self.key
    }

    /// The subprotocols the client offered, in its order of preference, over every
    /// `Sec-WebSocket-Protocol` line.
    pub fn subprotocols(&self) -> Tokens<'b, HeaderValues<'h, 'b>> {
        Tokens::new(HeaderValues::new(self.headers, "sec-websocket-protocol"))
    }

    /// The extensions the client offered, with their parameters, over every
    /// `Sec-WebSocket-Extensions` line.
    pub fn extensions(&self) -> Extensions<'b, HeaderValues<'h, 'b>> {
        Extensions::new(HeaderValues::new(self.headers, "sec-websocket-extensions"))
    }

    /// The first value of any header, by case-insensitive name: `Cookie`, `Authorization`, ...
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        header(self.headers, name)
    }

    /// Every header line of the request, in order.
    #[must_use]
    pub fn headers(&self) -> &'h [Header<'b>] {
        self.headers
    }

    /// Writes the `101 Switching Protocols` response (RFC 6455 §4.2.2) into `out` and returns
    /// its length. After sending it, the connection speaks WebSocket.
    // `#[inline]`: a hint that inlining it into its caller pays (12 bytes on the server path),
    // which LLVM does not find on its own.
    #[inline]
    pub fn accept(&self, accept: &Accept<'_>, out: &mut [u8]) -> Result<usize, WriteError> {
        if let Some(chosen) = accept.subprotocol {
            if !self.subprotocols().any(|p| p == chosen) {
                return Err(WriteError::SubprotocolNotOffered);
            }
        }
        if let Some(ext) = accept.extensions {
            if !is_extension_list(ext) {
                return Err(WriteError::InvalidHeader);
            }
            let offer = HeaderValues::new(self.headers, "sec-websocket-extensions");
            if !valid_answer(one(ext), offer) {
                return Err(WriteError::ExtensionNotOffered);
            }
        }
        check_headers(accept.extra_headers)?;
        let mut w = Writer::new(out);
        w.put(SWITCHING.as_bytes());
        if let Some(slot) = w.reserve::<ACCEPT_LEN>() {
            write_accept_key(self.key, slot);
        }
        // Each optional line starts with the CRLF that ends the one before, so a response
        // without them ends with a single write of CRLF CRLF.
        if let Some(p) = accept.subprotocol {
            w.put(b"\r\nSec-WebSocket-Protocol: ");
            w.put(p.as_bytes());
        }
        if let Some(e) = accept.extensions {
            w.put(b"\r\nSec-WebSocket-Extensions: ");
            w.put(e.as_bytes());
        }
        for (name, value) in accept.extra_headers {
            w.put(b"\r\n");
            w.put(name.as_bytes());
            w.put(b": ");
            w.put(value.as_bytes());
        }
        w.put(b"\r\n\r\n");
        w.finish()
    }
}

/// Writes the response refusing a request for `err` into `out` and returns its length:
/// [`HandshakeError::rejection`] written by [`Rejection::write`]. Close the connection after
/// sending it.
///
/// ```
/// use wsmachine::handshake::server::HandshakeError;
/// use wsmachine::handshake::write_rejection;
/// let mut out = [0u8; 256];
/// let n = write_rejection(HandshakeError::Version, &mut out)?;
/// let text = core::str::from_utf8(&out[..n]).unwrap();
/// assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
/// assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
/// # Ok::<(), wsmachine::handshake::WriteError>(())
/// ```
pub fn write_rejection(err: HandshakeError, out: &mut [u8]) -> Result<usize, WriteError> {
    err.rejection().write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cut_from_the_101() {
        assert_eq!(
            (UPGRADE, WEBSOCKET, CONNECTION),
            ("Upgrade", "websocket", "Connection")
        );
        assert_eq!(
            SWITCHING,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: "
        );
    }
}
