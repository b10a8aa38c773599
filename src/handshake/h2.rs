//! WebSockets over HTTP/2 (RFC 8441 §4–5): the extended-CONNECT request and response fields.
//!
//! Over HTTP/2 there is no `Upgrade`, no key and no accept value: the client opens a stream with
//! an extended CONNECT (`:method CONNECT`, `:protocol websocket`, `:scheme`, `:path`,
//! `:authority`, `sec-websocket-version: 13`, optionally `origin`, `sec-websocket-protocol`,
//! `sec-websocket-extensions`), and the server answers `:status 200`. This module builds and
//! checks those field sets as `(name, value)` pairs; the HTTP/2 framing, HPACK and flow control
//! are the HTTP/2 library's.
//!
//! # With an HTTP/2 library
//!
//! 1. The server advertises `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3); in the `h2`
//!    crate, `server::Builder::enable_connect_protocol()`. A client waits for the server's
//!    SETTINGS, then checks the value with [`check_enable_connect_protocol`] before it sends
//!    an extended CONNECT. `h2`'s client handshake does not wait for the server's SETTINGS, and
//!    `h2::client::SendRequest::is_extended_connect_protocol_enabled()` is `false` until they
//!    are applied; a PING round trip (`h2::client::Connection::ping_pong`) waits for them,
//!    since a server's first frame is its SETTINGS (RFC 9113 §3.4).
//! 2. Client: [`ConnectRequest::write_fields`] gives the request fields; put them into the
//!    library's request (with `h2`, method `CONNECT`, the URI from scheme/authority/path, the
//!    `h2::ext::Protocol` extension set to `websocket`, and the regular fields as headers;
//!    `h2` orders the pseudo-headers itself). Check the response with [`validate_response`],
//!    giving it `:status` as text (`http::StatusCode::as_str`).
//! 3. Server: pass the request's fields, lowercase names as HTTP/2 requires, to
//!    [`parse_connect`]; answer with [`Connect::response_fields`], or with a 400 on an error.
//!    `h2` hands over no pseudo-header as a field: rebuild them, `:method` from the method,
//!    `:protocol` from the `h2::ext::Protocol` request extension, `:scheme`, `:path` and
//!    `:authority` from the URI, then every header (`HeaderValue::to_str`; a value that is
//!    not visible ASCII cannot be a WebSocket field, so refuse the request).
//! 4. From then on the stream's DATA bytes are the WebSocket byte stream: feed received DATA to
//!    the connection unchanged, and send what it writes as DATA. Closing the WebSocket ends the
//!    stream (END_STREAM), not the HTTP/2 connection.

use core::fmt;

use super::extensions::{is_extension_list, valid_answer, valid_extension_list, Extensions};
use super::headers::{is_field_value, is_token, one, valid_token_list, Tokens};

/// Why an extended-CONNECT field set was refused or could not be built.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum H2Error {
    /// The output array is too small; `needed` pairs would have been written.
    BufferTooSmall {
        /// How many pairs the call needs.
        needed: usize,
    },
    /// A field name with an uppercase letter or an unknown pseudo-header, a repeated
    /// pseudo-header, or a value with CR, LF, NUL or another control byte.
    InvalidField,
    /// `:method` is not `CONNECT`, or is missing.
    Method,
    /// `:protocol` is not `websocket`, or is missing.
    Protocol,
    /// `:scheme`, `:path` or `:authority` is missing or empty.
    MissingPseudoHeader,
    /// `sec-websocket-version` is missing, repeated, or not 13.
    Version,
    /// A subprotocol list that is not tokens, or a response choosing one not offered or several.
    Subprotocol,
    /// A malformed extension list, or one naming an extension that was not offered.
    Extensions,
    /// The response status is not 2xx; the code is given (0 if missing or not a number).
    Status(u16),
    /// The server did not enable the extended CONNECT protocol: its
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL` is absent or 0 (RFC 8441 §3), so no extended
    /// CONNECT may be sent to it.
    ConnectProtocolDisabled,
    /// A `SETTINGS_ENABLE_CONNECT_PROTOCOL` value other than 0 or 1 (RFC 8441 §3).
    InvalidSetting(u32),
}

impl fmt::Display for H2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall { .. } => "output array too small",
            Self::InvalidField => "invalid field",
            Self::Method => ":method is not CONNECT",
            Self::Protocol => ":protocol is not websocket",
            Self::MissingPseudoHeader => "missing :scheme, :path or :authority",
            Self::Version => "sec-websocket-version is not 13",
            Self::Subprotocol => "invalid or unoffered subprotocol",
            Self::Extensions => "invalid or unoffered extension",
            Self::Status(_) => "response status is not 2xx",
            Self::ConnectProtocolDisabled => {
                "the server did not enable the extended CONNECT protocol \
                 (SETTINGS_ENABLE_CONNECT_PROTOCOL)"
            }
            Self::InvalidSetting(_) => "SETTINGS_ENABLE_CONNECT_PROTOCOL is not 0 or 1",
        })
    }
}

impl core::error::Error for H2Error {}

/// The identifier of the `SETTINGS_ENABLE_CONNECT_PROTOCOL` parameter (RFC 8441 §3, §9.1).
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// A client's check of the server's `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3) before
/// it sends an extended CONNECT: `value` is the parameter the server sent in its SETTINGS,
/// `None` when they did not carry it. Call it once the server's SETTINGS have arrived.
///
/// With the `h2` crate, which only says whether the value is nonzero:
/// `check_enable_connect_protocol(Some(u32::from(send_request.is_extended_connect_protocol_enabled())))`.
///
/// ```
/// use wsmachine::handshake::h2::{check_enable_connect_protocol, H2Error};
/// assert_eq!(check_enable_connect_protocol(Some(1)), Ok(()));
/// assert_eq!(check_enable_connect_protocol(None), Err(H2Error::ConnectProtocolDisabled));
/// assert_eq!(check_enable_connect_protocol(Some(0)), Err(H2Error::ConnectProtocolDisabled));
/// assert_eq!(check_enable_connect_protocol(Some(2)), Err(H2Error::InvalidSetting(2)));
/// ```
pub const fn check_enable_connect_protocol(value: Option<u32>) -> Result<(), H2Error> {
    match value {
        Some(1) => Ok(()),
        None | Some(0) => Err(H2Error::ConnectProtocolDisabled),
        Some(other) => Err(H2Error::InvalidSetting(other)),
    }
}

/// Copies `fields` into `out`, or says how many pairs are needed.
fn put_fields<'o>(
    fields: impl Iterator<Item = (&'o str, &'o str)> + Clone,
    out: &mut [(&'o str, &'o str)],
) -> Result<usize, H2Error> {
    let needed = fields.clone().count();
    if needed > out.len() {
        return Err(H2Error::BufferTooSmall { needed });
    }
    for (slot, field) in out.iter_mut().zip(fields) {
        *slot = field;
    }
    Ok(needed)
}

/// The field `name` when `present`.
fn opt<'o>(
    name: &'o str,
    value: Option<&'o str>,
) -> impl Iterator<Item = (&'o str, &'o str)> + Clone {
    value.map(|v| (name, v)).into_iter()
}

/// What a client asks for in its extended CONNECT (RFC 8441 §4).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectRequest<'a> {
    /// `https` or `http`: the scheme of the target URI.
    pub scheme: &'a str,
    /// `host[:port]`.
    pub authority: &'a str,
    /// The path and query, `/chat?room=1`.
    pub path: &'a str,
    /// The `origin` to send, for a client that acts for a web origin.
    pub origin: Option<&'a str>,
    /// The subprotocols to offer, most preferred first; sent as one field each.
    pub subprotocols: &'a [&'a str],
    /// The `sec-websocket-extensions` offer.
    pub extensions: Option<&'a str>,
}

impl<'a> ConnectRequest<'a> {
    /// Writes the request fields into `out`, pseudo-headers first, and returns how many.
    pub fn write_fields(&self, out: &mut [(&'a str, &'a str)]) -> Result<usize, H2Error> {
        let values = [self.scheme, self.authority, self.path];
        let ok = values
            .iter()
            .all(|v| !v.is_empty() && is_field_value(v.as_bytes()))
            && self.origin.is_none_or(|o| is_field_value(o.as_bytes()))
            && self.subprotocols.iter().all(|p| is_token(p.as_bytes()))
            && self.extensions.is_none_or(is_extension_list);
        if !ok {
            return Err(H2Error::InvalidField);
        }
        let fields = [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", self.scheme),
            (":path", self.path),
            (":authority", self.authority),
            ("sec-websocket-version", "13"),
        ];
        let protocols = self
            .subprotocols
            .iter()
            .map(|p| ("sec-websocket-protocol", *p));
        let all = fields
            .into_iter()
            .chain(opt("origin", self.origin))
            .chain(protocols)
            .chain(opt("sec-websocket-extensions", self.extensions));
        put_fields(all, out)
    }
}

/// The values of every field named `name` (lowercase) among `fields`.
#[derive(Debug, Clone)]
pub struct FieldValues<I> {
    fields: I,
    name: &'static str,
}

impl<'a, I: Iterator<Item = (&'a str, &'a str)>> Iterator for FieldValues<I> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let name = self.name;
        self.fields
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_bytes())
    }
}

/// A valid extended-CONNECT request for a WebSocket, borrowing its fields.
#[derive(Debug, Clone)]
pub struct Connect<'a, I> {
    scheme: &'a str,
    authority: &'a str,
    path: &'a str,
    origin: Option<&'a str>,
    fields: I,
}

/// Validates a server's received extended CONNECT (RFC 8441 §4–5) given its fields as
/// `(name, value)` pairs with lowercase names. The iterator is cloned to list subprotocols and
/// extensions later, so pass one over stored fields (`slice.iter().copied()`).
pub fn parse_connect<'a, I>(fields: I) -> Result<Connect<'a, I>, H2Error>
where
    I: Iterator<Item = (&'a str, &'a str)> + Clone,
{
    let mut pseudo: [Option<&'a str>; 5] = [None; 5];
    let mut version = None;
    let mut versions = 0;
    let mut origin = None;
    for (name, value) in fields.clone() {
        if name.bytes().any(|b| b.is_ascii_uppercase()) || !is_field_value(value.as_bytes()) {
            return Err(H2Error::InvalidField);
        }
        let slot = match name {
            ":method" => 0,
            ":protocol" => 1,
            ":scheme" => 2,
            ":path" => 3,
            ":authority" => 4,
            "sec-websocket-version" => {
                versions += 1;
                version = Some(value);
                continue;
            }
            "origin" => {
                origin = origin.or(Some(value));
                continue;
            }
            n if n.starts_with(':') => return Err(H2Error::InvalidField),
            _ => continue,
        };
        match pseudo.get_mut(slot) {
            Some(s @ None) => *s = Some(value),
            _ => return Err(H2Error::InvalidField),
        }
    }
    let [method, protocol, scheme, path, authority] = pseudo;
    if method != Some("CONNECT") {
        return Err(H2Error::Method);
    }
    if !protocol.is_some_and(|p| p.eq_ignore_ascii_case("websocket")) {
        return Err(H2Error::Protocol);
    }
    let (Some(scheme), Some(path), Some(authority)) = (scheme, path, authority) else {
        return Err(H2Error::MissingPseudoHeader);
    };
    if scheme.is_empty() || path.is_empty() || authority.is_empty() {
        return Err(H2Error::MissingPseudoHeader);
    }
    if versions != 1 || version.map(str::trim) != Some("13") {
        return Err(H2Error::Version);
    }
    let connect = Connect {
        scheme,
        authority,
        path,
        origin,
        fields,
    };
    if !valid_token_list(connect.values("sec-websocket-protocol")) {
        return Err(H2Error::Subprotocol);
    }
    if !valid_extension_list(connect.values("sec-websocket-extensions")) {
        return Err(H2Error::Extensions);
    }
    Ok(connect)
}

impl<'a, I: Iterator<Item = (&'a str, &'a str)> + Clone> Connect<'a, I> {
    fn values(&self, name: &'static str) -> FieldValues<I> {
        FieldValues {
            fields: self.fields.clone(),
            name,
        }
    }

    /// `:scheme`.
    #[must_use]
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// `:authority`.
    #[must_use]
    pub fn authority(&self) -> &'a str {
        self.authority
    }

    /// `:path`, with the query.
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The `origin` field; apply the same policy as over HTTP/1.1 (RFC 6455 §10.2).
    #[must_use]
    pub fn origin(&self) -> Option<&'a str> {
        self.origin
    }

    /// The offered subprotocols, across every `sec-websocket-protocol` field.
    pub fn subprotocols(&self) -> Tokens<'a, FieldValues<I>> {
        Tokens::new(self.values("sec-websocket-protocol"))
    }

    /// The offered extensions with their parameters.
    pub fn extensions(&self) -> Extensions<'a, FieldValues<I>> {
        Extensions::new(self.values("sec-websocket-extensions"))
    }

    /// Writes the fields of the `200` response accepting this request: `:status 200`, the chosen
    /// subprotocol (one offered) and the accepted extensions (only ones offered).
    pub fn response_fields<'o>(
        &self,
        subprotocol: Option<&'o str>,
        extensions: Option<&'o str>,
        out: &mut [(&'o str, &'o str)],
    ) -> Result<usize, H2Error> {
        if subprotocol.is_some_and(|p| !self.subprotocols().any(|o| o == p)) {
            return Err(H2Error::Subprotocol);
        }
        if let Some(e) = extensions {
            if !is_extension_list(e)
                || !valid_answer(one(e), self.values("sec-websocket-extensions"))
            {
                return Err(H2Error::Extensions);
            }
        }
        let all = core::iter::once((":status", "200"))
            .chain(opt("sec-websocket-protocol", subprotocol))
            .chain(opt("sec-websocket-extensions", extensions));
        put_fields(all, out)
    }
}

/// What the server agreed to in its response.
#[derive(Debug, Clone)]
pub struct H2Accepted<'a, I> {
    subprotocol: Option<&'a str>,
    fields: I,
}

impl<'a, I: Iterator<Item = (&'a str, &'a str)> + Clone> H2Accepted<'a, I> {
    /// The subprotocol the server chose, if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&'a str> {
        self.subprotocol
    }

    /// The extensions the server accepted, with their parameters.
    pub fn extensions(&self) -> Extensions<'a, FieldValues<I>> {
        Extensions::new(FieldValues {
            fields: self.fields.clone(),
            name: "sec-websocket-extensions",
        })
    }
}

/// Checks the response to our extended CONNECT (`offered`): a 2xx `:status` (RFC 8441 §5, as
/// for any CONNECT), at most one subprotocol and one we offered, only extensions we offered.
pub fn validate_response<'a, I>(
    fields: I,
    offered: &ConnectRequest<'_>,
) -> Result<H2Accepted<'a, I>, H2Error>
where
    I: Iterator<Item = (&'a str, &'a str)> + Clone,
{
    let status = fields
        .clone()
        .find(|(n, _)| *n == ":status")
        .and_then(|(_, v)| v.parse::<u16>().ok())
        .unwrap_or(0);
    if !(200..300).contains(&status) {
        return Err(H2Error::Status(status));
    }
    let lines = FieldValues {
        fields: fields.clone(),
        name: "sec-websocket-protocol",
    };
    let mut tokens = Tokens::new(lines.clone());
    let subprotocol = match (lines.clone().next(), tokens.next(), tokens.next()) {
        (None, _, _) => None,
        (Some(_), Some(p), None) if offered.subprotocols.contains(&p) => Some(p),
        _ => return Err(H2Error::Subprotocol),
    };
    let accepted = H2Accepted {
        subprotocol,
        fields,
    };
    let values = FieldValues {
        fields: accepted.fields.clone(),
        name: "sec-websocket-extensions",
    };
    let offer = offered.extensions.unwrap_or_default();
    if !valid_answer(values, one(offer)) {
        return Err(H2Error::Extensions);
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_setting() {
        assert_eq!(SETTINGS_ENABLE_CONNECT_PROTOCOL, 8);
        assert_eq!(check_enable_connect_protocol(Some(1)), Ok(()));
        for (value, err) in [
            (None, H2Error::ConnectProtocolDisabled),
            (Some(0), H2Error::ConnectProtocolDisabled),
            (Some(2), H2Error::InvalidSetting(2)),
            (Some(u32::MAX), H2Error::InvalidSetting(u32::MAX)),
        ] {
            assert_eq!(check_enable_connect_protocol(value), Err(err));
        }
        let message = std::string::ToString::to_string(&H2Error::ConnectProtocolDisabled);
        assert!(
            message.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
            "{message}"
        );
    }

    #[test]
    fn request_round_trip() {
        let req = ConnectRequest {
            scheme: "https",
            authority: "example.com",
            path: "/chat",
            origin: Some("https://example.com"),
            subprotocols: &["chat", "superchat"],
            extensions: Some("permessage-deflate"),
        };
        let mut out = [("", ""); 4];
        assert_eq!(
            req.write_fields(&mut out),
            Err(H2Error::BufferTooSmall { needed: 10 })
        );
        let mut out = [("", ""); 10];
        let n = req.write_fields(&mut out).unwrap();
        assert_eq!(
            &out[..3],
            &[
                (":method", "CONNECT"),
                (":protocol", "websocket"),
                (":scheme", "https")
            ]
        );
        assert!(!out[..n]
            .iter()
            .any(|(n, _)| n.contains("key") || n.contains("accept")));

        let connect = parse_connect(out[..n].iter().copied()).unwrap();
        assert_eq!(
            (connect.path(), connect.authority()),
            ("/chat", "example.com")
        );
        assert!(connect.subprotocols().eq(["chat", "superchat"]));
        assert_eq!(
            connect.extensions().next().unwrap().name(),
            "permessage-deflate"
        );

        let mut resp = [("", ""); 3];
        assert_eq!(
            connect.response_fields(Some("other"), None, &mut resp),
            Err(H2Error::Subprotocol)
        );
        let m = connect
            .response_fields(Some("superchat"), Some("permessage-deflate"), &mut resp)
            .unwrap();
        assert_eq!(resp[0], (":status", "200"));
        let accepted = validate_response(resp[..m].iter().copied(), &req).unwrap();
        assert_eq!(accepted.subprotocol(), Some("superchat"));
        assert_eq!(accepted.extensions().count(), 1);
    }

    #[test]
    fn request_errors() {
        let base = [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/"),
            (":authority", "a"),
            ("sec-websocket-version", "13"),
        ];
        assert!(parse_connect(base.iter().copied()).is_ok());
        let cases: [(usize, (&str, &str), H2Error); 7] = [
            (0, (":method", "GET"), H2Error::Method),
            (1, (":protocol", "h2"), H2Error::Protocol),
            (5, ("sec-websocket-version", "8"), H2Error::Version),
            (3, (":path", ""), H2Error::MissingPseudoHeader),
            (4, (":Authority", "a"), H2Error::InvalidField),
            (4, (":authority", "a\r\nb"), H2Error::InvalidField),
            (4, (":path", "/"), H2Error::InvalidField),
        ];
        for (i, field, err) in cases {
            let mut f = base;
            f[i] = field;
            assert_eq!(
                parse_connect(f.iter().copied()).err(),
                Some(err),
                "{field:?}"
            );
        }
        let check =
            |fields: &[(&'static str, &'static str)]| parse_connect(fields.iter().copied()).err();
        let more = |extra: (&'static str, &'static str)| [&base[..], &[extra]].concat();
        let bad_protocol = more(("sec-websocket-protocol", "a b"));
        assert_eq!(check(&bad_protocol), Some(H2Error::Subprotocol));
        let bad_extension = more(("sec-websocket-extensions", "a;"));
        assert_eq!(check(&bad_extension), Some(H2Error::Extensions));
        assert_eq!(check(&more(base[5])), Some(H2Error::Version));
        assert_eq!(check(&base[..5]), Some(H2Error::Version));
        assert_eq!(check(&more((":foo", "x"))), Some(H2Error::InvalidField));
        assert_eq!(check(&more(("x-a", "1\n"))), Some(H2Error::InvalidField));
    }

    #[test]
    fn response_errors() {
        let req = ConnectRequest {
            scheme: "https",
            authority: "a",
            path: "/",
            origin: None,
            subprotocols: &["chat"],
            extensions: None,
        };
        let check = |f: &[(&str, &str)]| validate_response(f.iter().copied(), &req).err();
        assert_eq!(check(&[(":status", "403")]), Some(H2Error::Status(403)));
        assert_eq!(check(&[]), Some(H2Error::Status(0)));
        assert_eq!(
            check(&[(":status", "200"), ("sec-websocket-protocol", "x")]),
            Some(H2Error::Subprotocol)
        );
        assert_eq!(
            check(&[
                (":status", "200"),
                ("sec-websocket-protocol", "chat"),
                ("sec-websocket-protocol", "chat")
            ]),
            Some(H2Error::Subprotocol)
        );
        assert_eq!(
            check(&[(":status", "200"), ("sec-websocket-extensions", "x")]),
            Some(H2Error::Extensions)
        );
        assert_eq!(check(&[(":status", "200")]), None);
    }
}
