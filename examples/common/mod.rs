//! What the examples share: a small flag parser, the servers' policy flags (token, origins,
//! limits, keepalive), `ws://` and `wss://` URLs, connecting (over TLS for `wss://`) with
//! timeouts and headers, reporting a refusal, ending a connection.
#![allow(dead_code)] // Each example uses part of it.

pub mod deflate;
pub mod flags;
pub mod policy;
pub mod tls;

use std::io::Read;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use rand_core::{OsRng, TryRngCore, UnwrapErr};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::io::blocking::{ConnectError, NoHalfClose, WebSocket};
use wsmachine::io::{Drain, Driver, Refusal};
use wsmachine::{Client, Config};

/// A blocking client over a std TCP stream (with TLS over it for `wss://`), masking with keys
/// from the OS.
pub type ClientWs<'b> = WebSocket<'b, FromStd<tls::Stream>, Client<UnwrapErr<OsRng>>>;

/// The parts of a `ws[s]://host[:port][/path][?query]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// As written in the URL: an IPv6 address keeps its brackets.
    pub host: String,
    pub port: u16,
    pub path: String,
    pub query: Option<String>,
    /// `wss://`: TLS over the TCP connection (port 443 by default).
    pub secure: bool,
}

/// Parses a `ws://` or `wss://` URL.
pub fn parse_url(url: &str) -> Result<Url, String> {
    let (plain, secure) = tls::split_wss(url);
    let rest = plain
        .strip_prefix("ws://")
        .ok_or_else(|| format!("not a ws:// or wss:// URL: {url}"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            let port = port.parse().map_err(|_| format!("bad port in {url}"))?;
            (host, port)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("no host in {url}"));
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (target, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok(Url {
        host: host.to_owned(),
        port,
        path: path.to_owned(),
        query,
        secure,
    })
}

/// Opens a TCP connection (within `timeout`, which also bounds every read and write) and runs
/// the opening handshake, offering `subprotocols`. Returns the connection and the
/// subprotocol the server chose.
pub fn connect<'b>(
    url: &'b Url,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
    subprotocols: &'b [&'b str],
    timeout: Duration,
) -> Result<(ClientWs<'b>, Option<String>), String> {
    let options = ConnectOptions {
        subprotocols,
        ..ConnectOptions::default()
    };
    connect_with(url, rx, tx, &options, timeout).map_err(|f| f.to_string())
}

/// What [`connect_with`] sends and how the connection runs.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions<'a> {
    /// Offered subprotocols.
    pub subprotocols: &'a [&'a str],
    /// More request headers (checked: no CR, LF or other control byte).
    pub headers: &'a [(&'a str, &'a str)],
    /// The connection's configuration (keepalive).
    pub config: Config,
    /// For `wss://`: the CA certificates (PEM) trusted instead of the system's roots.
    pub ca: Option<&'a Path>,
    /// The `Sec-WebSocket-Extensions` offer: with [`connect_deflate`], the permessage-deflate
    /// offer of its `Deflate` (`deflate.offer().header()`).
    pub extensions: Option<&'a str>,
}

impl Default for ConnectOptions<'_> {
    fn default() -> Self {
        Self {
            subprotocols: &[],
            headers: &[],
            config: Config::DEFAULT,
            ca: None,
            extensions: None,
        }
    }
}

/// Why [`connect_with`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The server refused the upgrade: its status, and the lines that say why.
    Refused {
        status: u16,
        /// `Name: value` lines: `WWW-Authenticate`, `Location`, `Retry-After`, and the start
        /// of the body.
        why: Vec<String>,
        /// `Retry-After` in seconds, when it is a number.
        retry_after: Option<u32>,
    },
    /// Anything else.
    Other(String),
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { status, why, .. } => {
                write!(f, "refused with status {status}")?;
                for line in why {
                    write!(f, "\n  {line}")?;
                }
                Ok(())
            }
            Self::Other(e) => f.write_str(e),
        }
    }
}

/// The lines that say why a server refused: `Status: 401 Unauthorized`,
/// `WWW-Authenticate: ...`, `Location: ...`, `Retry-After: ...`, `Body: ...` (the start).
pub fn refusal_lines(r: &Refusal<'_>) -> Vec<String> {
    let mut why = vec![format!("Status: {} {}", r.status, r.reason)];
    if let Some(v) = r.www_authenticate {
        why.push(format!("WWW-Authenticate: {v}"));
    }
    if let Some(v) = r.location {
        why.push(format!("Location: {v}"));
    }
    match r.retry_after {
        Some(wsmachine::handshake::client::RetryAfter::Seconds(s)) => {
            why.push(format!("Retry-After: {s}"));
        }
        Some(wsmachine::handshake::client::RetryAfter::Date(d)) => {
            why.push(format!("Retry-After: {d}"));
        }
        None => {}
    }
    if !r.body.is_empty() {
        let start = &r.body[..r.body.len().min(200)];
        why.push(format!(
            "Body: {}",
            String::from_utf8_lossy(start).escape_debug()
        ));
    }
    why
}

/// Says what a failed handshake was: the refusal's status and headers, or the error.
pub fn describe(e: &ConnectError<'_, std::io::Error>) -> ConnectFailure {
    match e {
        ConnectError::Refused(r) => ConnectFailure::Refused {
            status: r.status,
            why: refusal_lines(r),
            retry_after: match r.retry_after {
                Some(wsmachine::handshake::client::RetryAfter::Seconds(s)) => Some(s),
                _ => None,
            },
        },
        ConnectError::Other(e) => ConnectFailure::Other(e.to_string()),
    }
}

/// [`connect`] with request headers and a configuration; a refusal says why.
pub fn connect_with<'b>(
    url: &'b Url,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
    options: &ConnectOptions<'b>,
    timeout: Duration,
) -> Result<(ClientWs<'b>, Option<String>), ConnectFailure> {
    open(url, rx, tx, options, timeout, None)
}

/// [`connect_with`] offering permessage-deflate (`--deflate`): `options.extensions` must be
/// `deflate`'s offer. Compressed messages then arrive inflated.
#[cfg(feature = "deflate")]
pub fn connect_deflate<'b>(
    url: &'b Url,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
    options: &ConnectOptions<'b>,
    timeout: Duration,
    deflate: &'b mut wsmachine::io::Deflate<'b>,
) -> Result<(ClientWs<'b>, Option<String>), ConnectFailure> {
    open(url, rx, tx, options, timeout, Some(deflate))
}

#[cfg(feature = "deflate")]
type DeflateState<'b> = wsmachine::io::Deflate<'b>;
#[cfg(not(feature = "deflate"))]
type DeflateState<'b> = std::marker::PhantomData<&'b ()>;

fn open<'b>(
    url: &'b Url,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
    options: &ConnectOptions<'b>,
    timeout: Duration,
    deflate: Option<&'b mut DeflateState<'b>>,
) -> Result<(ClientWs<'b>, Option<String>), ConnectFailure> {
    let fail = ConnectFailure::Other;
    // A bad CA file (or no system roots) fails before any connection is made.
    let tls_config = if url.secure {
        Some(tls::client_config(options.ca).map_err(fail)?)
    } else {
        None
    };
    let bare = url.host.trim_start_matches('[').trim_end_matches(']');
    let addrs = (bare, url.port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("cannot resolve {}: {e}", url.host)))?;
    let mut last = format!("no address for {}", url.host);
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    let tcp = tcp.ok_or_else(|| fail(last))?;
    let setup = tcp
        .set_nodelay(true)
        .and_then(|()| tcp.set_read_timeout(Some(timeout)))
        .and_then(|()| tcp.set_write_timeout(Some(timeout)));
    setup.map_err(|e| fail(format!("socket setup: {e}")))?;
    // The TLS handshake, bounded by the timeouts just set; the server's certificate must be
    // valid for the URL's host.
    let stream = match &tls_config {
        Some(config) => tls::connect_tls(tcp, &url.host, config)
            .map_err(|e| fail(format!("TLS with {}: {e}", url.host)))?,
        None => tls::Stream::Plain(tcp),
    };
    let request = ClientRequest {
        port: url.port,
        secure: url.secure,
        query: url.query.as_deref(),
        subprotocols: options.subprotocols,
        extra_headers: options.headers,
        extensions: options.extensions,
        ..ClientRequest::new(&url.host, &url.path)
    };
    let rng = OsRng.unwrap_err();
    let driver = match deflate {
        #[cfg(feature = "deflate")]
        Some(deflate) => Driver::client_deflate(rx, tx, options.config, rng, &request, deflate),
        _ => Driver::client(rx, tx, options.config, rng, &request),
    };
    let connected = ClientWs::connect_on(FromStd::new(stream), driver);
    let (ws, chosen) = connected.map_err(|e| match describe(&e) {
        ConnectFailure::Other(e) => fail(format!("handshake with {}: {e}", url.host)),
        refused => refused,
    })?;
    Ok((ws, chosen.map(str::to_owned)))
}

/// Half-closes the stream (TLS `close_notify`, then `shutdown(Write)`): the end of the
/// graceful close.
pub fn half_close(stream: &mut FromStd<tls::Stream>) {
    let _ = stream.inner_mut().shutdown(Shutdown::Write);
}

/// Ends the connection gracefully, after the close handshake or after a failure: writes what
/// is owed (a close frame, if none was sent), then waits (a second at most) for the server to
/// close the TCP connection first, as RFC 6455 §7.1.1 asks of a client, reading what it still
/// sends; then closes.
pub fn finish(mut ws: ClientWs<'_>) {
    let tcp = ws.get_mut().inner_mut();
    if tcp.set_read_timeout(Some(Duration::from_secs(1))).is_err() {
        return;
    }
    // The server closes first: the client only half-closes when it has waited in vain.
    let mut tcp = ws.close_stream(NoHalfClose, Drain::DEFAULT).into_inner();
    let _ = tcp.shutdown(Shutdown::Write);
    let mut sink = [0u8; 256];
    let _ = tcp.read(&mut sink);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("ws://127.0.0.1:9001/runCase?case=3&agent=x").unwrap();
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 9001);
        assert_eq!(u.path, "/runCase");
        assert_eq!(u.query.as_deref(), Some("case=3&agent=x"));
        let u = parse_url("ws://[::1]:8080").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("[::1]", 8080, "/")
        );
        let u = parse_url("ws://example.com?x").unwrap();
        assert_eq!(
            (u.port, u.path.as_str(), u.query.as_deref()),
            (80, "/", Some("x"))
        );
        assert!(!u.secure);
        let u = parse_url("wss://example.com/chat").unwrap();
        assert_eq!((u.port, u.path.as_str(), u.secure), (443, "/chat", true));
        let u = parse_url("wss://[::1]:8443?x").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.secure), ("[::1]", 8443, true));
        assert!(parse_url("http://x").is_err());
        assert!(parse_url("ws://:80/").is_err());
        assert!(parse_url("ws://h:port/").is_err());
    }
}
