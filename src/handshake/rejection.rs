//! A refusal of the upgrade, built by the caller (RFC 9110 §15, RFC 6455 §4.2.2, §4.4).
//!
//! A server's policy (authentication, path, rate) answers a valid request with a status, a
//! reason, some headers and a short body: a [`Rejection`]. The writer checks every caller string
//! before it writes a byte, owns the headers that frame the response and end the connection
//! (`Content-Length`, `Connection: close`), and writes one HTTP/1.1 response. The refusals of
//! [`HandshakeError`](super::server::HandshakeError) are rejections too
//! ([`HandshakeError::rejection`](super::server::HandshakeError::rejection)).

use super::headers::{is_field_value, same_ignoring_case};
use super::write::{check_headers, WriteError, Writer};

/// The longest body a [`Rejection`] writes, in bytes: a refusal goes to a peer that is not yet
/// trusted, so it says why in a line or a small page, not more. As long as the default head
/// limit, [`DEFAULT_MAX_HEAD_LEN`](super::DEFAULT_MAX_HEAD_LEN).
///
/// ```
/// use wsmachine::handshake::{Rejection, WriteError, MAX_REJECTION_BODY};
/// let page = [b'x'; MAX_REJECTION_BODY + 1];
/// let r = Rejection { body: &page, ..Rejection::forbidden() };
/// assert_eq!(r.validate(), Err(WriteError::BodyTooLarge));
/// ```
pub const MAX_REJECTION_BODY: usize = 4096;

/// A `WWW-Authenticate` challenge the [`Rejection`] writer formats (RFC 9110 §11.6.1).
///
/// ```
/// use wsmachine::handshake::{Challenge, Rejection};
/// let r = Rejection {
///     challenge: Some(Challenge::Bearer { realm: Some("chat") }),
///     ..Rejection::new(401, "Unauthorized")
/// };
/// let mut out = [0u8; 128];
/// let n = r.write(&mut out)?;
/// assert!(out[..n].windows(39).any(|w| w == b"WWW-Authenticate: Bearer realm=\"chat\"\r\n"));
/// # Ok::<(), wsmachine::handshake::WriteError>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Challenge<'a> {
    /// `Bearer` (RFC 6750 §3), with `realm="..."` when a realm is given. The realm is written as
    /// a quoted-string: `"` and `\` are escaped, a control byte but HTAB is
    /// [`WriteError::InvalidHeader`].
    Bearer {
        /// The protection space, such as the service's name.
        realm: Option<&'a str>,
    },
}

/// A response refusing the upgrade: `HTTP/1.1 <status> <reason>`, the caller's headers, the
/// typed ones ([`challenge`](Self::challenge), [`retry_after`](Self::retry_after)),
/// `Content-Length`, `Connection: close`, an empty line and the body. Close the connection
/// after sending it.
///
/// Start from [`Rejection::new`] or one of the constructors for the common answers, and change
/// the fields as needed:
///
/// ```
/// use wsmachine::handshake::Rejection;
/// let rejection = Rejection {
///     headers: &[("Content-Type", "text/plain")],
///     body: b"no such room",
///     ..Rejection::not_found()
/// };
/// let mut out = [0u8; 256];
/// let n = rejection.write(&mut out)?;
/// assert_eq!(
///     &out[..n],
///     b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\
///       Content-Length: 12\r\nConnection: close\r\n\r\nno such room"
/// );
/// # Ok::<(), wsmachine::handshake::WriteError>(())
/// ```
///
/// What [`write`](Self::write) refuses, before writing anything:
///
/// | rule | error |
/// | --- | --- |
/// | `status` in `300..=599` but 304 (a 1xx or 2xx is not a refusal, a 304 has no body) | [`WriteError::InvalidStatus`] |
/// | `reason` of HTAB, SP, visible ASCII and obs-text only (RFC 9112 §4) | [`WriteError::InvalidReason`] |
/// | header names are tokens, values have no CR, LF, NUL or other control byte but HTAB, and the realm neither | [`WriteError::InvalidHeader`] |
/// | no header the writer owns: `Content-Length`, `Transfer-Encoding`, `Connection`, `Upgrade`, `Sec-WebSocket-*`, ..., and `WWW-Authenticate` or `Retry-After` when the typed field is set | [`WriteError::ReservedHeader`] |
/// | `body` at most [`MAX_REJECTION_BODY`] bytes | [`WriteError::BodyTooLarge`] |
///
/// A `426` always carries `Upgrade: websocket` and `Sec-WebSocket-Version: 13` (RFC 9110
/// §15.5.22, RFC 6455 §4.4), and so `Connection: Upgrade, close` (RFC 9110 §7.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rejection<'a> {
    /// The status code, `300..=599` but 304.
    pub status: u16,
    /// The reason phrase, such as `Forbidden`; may be empty.
    pub reason: &'a str,
    /// More headers, such as `Content-Type` or `Location`, written in order.
    pub headers: &'a [(&'a str, &'a str)],
    /// A `WWW-Authenticate` challenge, for a 401.
    pub challenge: Option<Challenge<'a>>,
    /// `Retry-After` in seconds (RFC 9110 §10.2.3), for a 429 or a 503.
    pub retry_after: Option<u32>,
    /// The body, at most [`MAX_REJECTION_BODY`] bytes; its length is the `Content-Length`.
    pub body: &'a [u8],
}

impl<'a> Rejection<'a> {
    /// A rejection with `status` and `reason`, no other header and no body.
    ///
    /// ```
    /// use wsmachine::handshake::Rejection;
    /// let mut out = [0u8; 128];
    /// let n = Rejection::new(409, "Conflict").write(&mut out)?;
    /// assert_eq!(&out[..n], b"HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    /// # Ok::<(), wsmachine::handshake::WriteError>(())
    /// ```
    #[must_use]
    pub const fn new(status: u16, reason: &'a str) -> Self {
        Self {
            status,
            reason,
            headers: &[],
            challenge: None,
            retry_after: None,
            body: &[],
        }
    }

    /// `401 Unauthorized` with `WWW-Authenticate: Bearer` (RFC 6750 §3), and `realm="..."` when
    /// given: the request carried no token, or one the server does not take.
    ///
    /// ```
    /// use wsmachine::handshake::Rejection;
    /// let mut out = [0u8; 128];
    /// let n = Rejection::unauthorized_bearer(None).write(&mut out)?;
    /// let text = core::str::from_utf8(&out[..n]).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"));
    /// # Ok::<(), wsmachine::handshake::WriteError>(())
    /// ```
    #[must_use]
    pub const fn unauthorized_bearer(realm: Option<&'a str>) -> Self {
        Self {
            challenge: Some(Challenge::Bearer { realm }),
            ..Self::new(401, "Unauthorized")
        }
    }

    /// `403 Forbidden`: the server knows who asks and refuses.
    ///
    /// ```
    /// assert_eq!(wsmachine::handshake::Rejection::forbidden().status, 403);
    /// ```
    #[must_use]
    pub const fn forbidden() -> Self {
        Self::new(403, "Forbidden")
    }

    /// `404 Not Found`: no WebSocket service at this path.
    ///
    /// ```
    /// assert_eq!(wsmachine::handshake::Rejection::not_found().reason, "Not Found");
    /// ```
    #[must_use]
    pub const fn not_found() -> Self {
        Self::new(404, "Not Found")
    }

    /// `429 Too Many Requests` (RFC 6585 §4), with `Retry-After` when given.
    ///
    /// ```
    /// use wsmachine::handshake::Rejection;
    /// let mut out = [0u8; 128];
    /// let n = Rejection::too_many_requests(Some(30)).write(&mut out)?;
    /// let text = core::str::from_utf8(&out[..n]).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\n"));
    /// # Ok::<(), wsmachine::handshake::WriteError>(())
    /// ```
    #[must_use]
    pub const fn too_many_requests(retry_after: Option<u32>) -> Self {
        Self {
            retry_after,
            ..Self::new(429, "Too Many Requests")
        }
    }

    /// `503 Service Unavailable`, with `Retry-After` when given: overloaded, or shutting down.
    ///
    /// ```
    /// use wsmachine::handshake::Rejection;
    /// let r = Rejection::service_unavailable(Some(5));
    /// assert_eq!((r.status, r.retry_after), (503, Some(5)));
    /// ```
    #[must_use]
    pub const fn service_unavailable(retry_after: Option<u32>) -> Self {
        Self {
            retry_after,
            ..Self::new(503, "Service Unavailable")
        }
    }

    /// Checks every rule [`write`](Self::write) enforces (see the table above), without
    /// writing.
    ///
    /// ```
    /// use wsmachine::handshake::{Rejection, WriteError};
    /// assert_eq!(Rejection::new(200, "OK").validate(), Err(WriteError::InvalidStatus));
    /// let smuggled = Rejection { headers: &[("X", "1\r\nSet-Cookie: a=b")], ..Rejection::forbidden() };
    /// assert_eq!(smuggled.validate(), Err(WriteError::InvalidHeader));
    /// let framing = Rejection { headers: &[("Content-Length", "0")], ..Rejection::forbidden() };
    /// assert_eq!(framing.validate(), Err(WriteError::ReservedHeader));
    /// ```
    pub fn validate(&self) -> Result<(), WriteError> {
        if !(300..=599).contains(&self.status) || self.status == 304 {
            return Err(WriteError::InvalidStatus);
        }
        if !self.reason.bytes().all(is_reason_byte) {
            return Err(WriteError::InvalidReason);
        }
        check_headers(self.headers)?;
        let typed = [
            ("www-authenticate", self.challenge.is_some()),
            ("retry-after", self.retry_after.is_some()),
        ];
        for (name, set) in typed {
            if set
                && self
                    .headers
                    .iter()
                    .any(|(n, _)| same_ignoring_case(n.as_bytes(), name.as_bytes()))
            {
                return Err(WriteError::ReservedHeader);
            }
        }
        if let Some(Challenge::Bearer { realm: Some(realm) }) = self.challenge {
            if !is_field_value(realm.as_bytes()) {
                return Err(WriteError::InvalidHeader);
            }
        }
        if self.body.len() > MAX_REJECTION_BODY {
            return Err(WriteError::BodyTooLarge);
        }
        Ok(())
    }

    /// Writes the response into `out` and returns its length; a buffer too small is
    /// [`WriteError::BufferTooSmall`] with the length needed. Nothing usable is written on an
    /// error.
    ///
    /// ```
    /// use wsmachine::handshake::{Rejection, WriteError};
    /// let r = Rejection::unauthorized_bearer(Some("example"));
    /// let mut small = [0u8; 16];
    /// let Err(WriteError::BufferTooSmall { needed }) = r.write(&mut small) else { panic!() };
    /// let mut out = vec![0u8; needed];
    /// assert_eq!(r.write(&mut out), Ok(needed));
    /// ```
    pub fn write(&self, out: &mut [u8]) -> Result<usize, WriteError> {
        self.validate()?;
        // At most MAX_REJECTION_BODY, so this cannot fail.
        let body_len = u32::try_from(self.body.len()).map_err(|_| WriteError::BodyTooLarge)?;
        let mut w = Writer::new(out);
        w.put(b"HTTP/1.1 ");
        w.put_dec(u32::from(self.status));
        w.put(b" ");
        w.put(self.reason.as_bytes());
        w.put(b"\r\n");
        for (name, value) in self.headers {
            w.header(name, value.as_bytes());
        }
        if let Some(Challenge::Bearer { realm }) = self.challenge {
            w.put(b"WWW-Authenticate: Bearer");
            if let Some(realm) = realm {
                w.put(b" realm=\"");
                for b in realm.bytes() {
                    if matches!(b, b'"' | b'\\') {
                        w.put(b"\\");
                    }
                    w.put(&[b]);
                }
                w.put(b"\"");
            }
            w.put(b"\r\n");
        }
        if let Some(seconds) = self.retry_after {
            w.put(b"Retry-After: ");
            w.put_dec(seconds);
            w.put(b"\r\n");
        }
        let upgrade_required = self.status == 426;
        if upgrade_required {
            w.put(b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        }
        w.put(b"Content-Length: ");
        w.put_dec(body_len);
        w.put(if upgrade_required {
            &b"\r\nConnection: Upgrade, close\r\n\r\n"[..]
        } else {
            b"\r\nConnection: close\r\n\r\n"
        });
        w.put(self.body);
        w.finish()
    }
}

/// A byte of a reason phrase: HTAB, SP, VCHAR or obs-text (RFC 9112 §4).
fn is_reason_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &Rejection<'_>) -> String {
        let mut out = [0u8; 8192];
        let n = r.write(&mut out).unwrap();
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn status_and_reason_rules() {
        for status in [0, 100, 101, 200, 204, 299, 304, 600, 999, u16::MAX] {
            assert_eq!(
                Rejection::new(status, "x").validate(),
                Err(WriteError::InvalidStatus),
                "{status}"
            );
        }
        for status in [300, 302, 400, 426, 599] {
            assert_eq!(Rejection::new(status, "x").validate(), Ok(()), "{status}");
        }
        for reason in ["", "Not Found", "a\tb", "caf\u{e9}", "~!"] {
            assert_eq!(Rejection::new(400, reason).validate(), Ok(()), "{reason:?}");
        }
        for reason in ["a\r\nX: y", "a\n", "a\r", "\0", "\x7f", "\x1b[1m"] {
            assert_eq!(
                Rejection::new(400, reason).validate(),
                Err(WriteError::InvalidReason),
                "{reason:?}"
            );
        }
    }

    #[test]
    fn header_rules_and_typed_fields() {
        fn with<'a>(headers: &'a [(&'a str, &'a str)]) -> Rejection<'a> {
            Rejection {
                headers,
                ..Rejection::unauthorized_bearer(None)
            }
        }
        assert_eq!(with(&[("Location", "/a")]).validate(), Ok(()));
        assert_eq!(
            with(&[("X", "a\r\nb")]).validate(),
            Err(WriteError::InvalidHeader)
        );
        for name in [
            "WWW-Authenticate",
            "content-length",
            "Transfer-Encoding",
            "Connection",
        ] {
            let headers = [(name, "x")];
            assert_eq!(with(&headers).validate(), Err(WriteError::ReservedHeader));
        }
        // Without the typed field, the caller may write the header itself.
        let basic = Rejection {
            headers: &[("WWW-Authenticate", "Basic realm=\"x\"")],
            ..Rejection::new(401, "Unauthorized")
        };
        assert!(text(&basic).contains("\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"));
        let retry = Rejection {
            headers: &[("Retry-After", "1")],
            ..Rejection::too_many_requests(Some(2))
        };
        assert_eq!(retry.validate(), Err(WriteError::ReservedHeader));
        let realm = |realm| Rejection::unauthorized_bearer(Some(realm));
        assert_eq!(
            realm("a\r\nX: y").validate(),
            Err(WriteError::InvalidHeader)
        );
        assert!(text(&realm("say \"hi\" \\o/"))
            .contains("\r\nWWW-Authenticate: Bearer realm=\"say \\\"hi\\\" \\\\o/\"\r\n"));
    }

    #[test]
    fn body_limit_and_length() {
        let body = [b'x'; MAX_REJECTION_BODY + 1];
        let r = |body| Rejection {
            body,
            ..Rejection::forbidden()
        };
        assert_eq!(r(&body).validate(), Err(WriteError::BodyTooLarge));
        let t = text(&r(&body[..MAX_REJECTION_BODY]));
        assert!(t.contains("\r\nContent-Length: 4096\r\nConnection: close\r\n\r\nxxx"));
        assert!(t.ends_with(&"x".repeat(MAX_REJECTION_BODY)));
    }

    #[test]
    fn upgrade_required_carries_the_version() {
        assert_eq!(
            text(&Rejection::new(426, "Upgrade Required")),
            "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\
             Connection: Upgrade, close\r\n\r\n"
        );
    }

    #[test]
    fn every_field_in_order_and_small_buffers() {
        let r = Rejection {
            headers: &[("Content-Type", "text/plain"), ("X-Id", "7")],
            body: b"later",
            ..Rejection::service_unavailable(Some(u32::MAX))
        };
        let full = text(&r);
        assert_eq!(
            full,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-Id: 7\r\n\
             Retry-After: 4294967295\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlater"
        );
        for len in 0..full.len() {
            let mut out = vec![0u8; len];
            assert_eq!(
                r.write(&mut out),
                Err(WriteError::BufferTooSmall { needed: full.len() })
            );
        }
    }
}
