//! The echo servers' policy flags: who may connect (a token, an origin allow list), how much
//! (message size, messages per second, connections), and how long (keepalive, the handshake).

use std::num::NonZeroU32;
use std::time::Duration;

use wsmachine::connection::{RateLimit, RateLimits};
use wsmachine::handshake::server::{Accept, Request};
use wsmachine::handshake::Rejection;
use wsmachine::Config;

use super::flags::Flags;

/// The flags both echo servers take, all optional.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `--token SECRET`: `Authorization: Bearer SECRET` or `?token=SECRET`, else 401.
    pub token: Option<String>,
    /// `--origin ORIGIN` (repeatable): a request with another `Origin` gets 403.
    pub origins: Vec<String>,
    /// `--max-message BYTES`: a larger message fails with 1009.
    pub max_message: Option<u64>,
    /// `--rate-msgs N`: messages per second per connection; over it, 1008.
    pub rate_msgs: Option<u32>,
    /// `--max-connections N`: the one after gets 503 with `Retry-After`.
    pub max_connections: Option<usize>,
    /// `--ping-interval-ms N`: a ping after N ms without input.
    pub ping_interval_ms: Option<u32>,
    /// `--pong-timeout-ms M`: dropped M ms after an unanswered ping (default 10 000).
    pub pong_timeout_ms: Option<u32>,
    /// `--handshake-timeout-ms N`: the request head must be in by then (default 10 000),
    /// else 408.
    pub handshake_timeout_ms: Option<u32>,
    /// `--deflate`: answer permessage-deflate offers (RFC 7692) and echo compressed once it is
    /// agreed (feature `deflate-compress`).
    pub deflate: bool,
}

/// The switches of [`Policy`].
pub const SERVER_SWITCHES: &[&str] = &["deflate"];

/// The flags of [`Policy`] that take a value.
pub const SERVER_FLAGS: &[&str] = &[
    "token",
    "origin",
    "max-message",
    "rate-msgs",
    "max-connections",
    "ping-interval-ms",
    "pong-timeout-ms",
    "handshake-timeout-ms",
];

/// The default handshake timeout.
pub const HANDSHAKE_TIMEOUT_MS: u32 = 10_000;

/// How long a 503 says to wait, in seconds.
pub const RETRY_AFTER_S: u32 = 1;

impl Policy {
    /// The policy of parsed `flags`.
    pub fn from_flags(flags: &Flags) -> Result<Self, String> {
        Ok(Self {
            token: flags.value("token").map(str::to_owned),
            origins: flags.all("origin").map(str::to_owned).collect(),
            max_message: flags.number("max-message")?,
            rate_msgs: flags.number("rate-msgs")?,
            max_connections: flags.number("max-connections")?,
            ping_interval_ms: flags.number("ping-interval-ms")?,
            pong_timeout_ms: flags.number("pong-timeout-ms")?,
            handshake_timeout_ms: flags.number("handshake-timeout-ms")?,
            deflate: super::deflate::check(flags.switch("deflate"))?,
        })
    }

    /// The connection's configuration: message and frame size, keepalive.
    pub fn config(&self) -> Config {
        let mut config = Config::DEFAULT;
        if let Some(max) = self.max_message {
            config.max_message_size = max;
            config.max_frame_size = config.max_frame_size.min(max);
        }
        config.keepalive_interval = self.ping_interval_ms.and_then(NonZeroU32::new);
        if let Some(timeout) = self.pong_timeout_ms {
            config.keepalive_timeout = timeout;
        }
        config
    }

    /// The rate limits: `--rate-msgs` messages a second, bursts of as many, 1008 over it.
    pub fn rate_limits(&self) -> Option<RateLimits> {
        let n = self.rate_msgs?;
        Some(RateLimits {
            messages: Some(RateLimit::new(n, n.max(1))),
            ..RateLimits::NONE
        })
    }

    /// The handshake deadline after the connection is accepted.
    pub fn handshake_timeout(&self) -> Duration {
        let ms = self.handshake_timeout_ms.unwrap_or(HANDSHAKE_TIMEOUT_MS);
        Duration::from_millis(u64::from(ms.max(1)))
    }

    /// Accepts `request` (choosing the subprotocol `echo` when offered) or says why not: 401
    /// with `WWW-Authenticate: Bearer` without the token, 403 for an origin off the list.
    pub fn decide(&self, request: &Request<'_, '_>) -> Result<Accept<'static>, Rejection<'static>> {
        if let Some(token) = &self.token {
            let in_header = request.bearer_token().map(str::as_bytes);
            // The query's value is form-encoded (`%2B`, `+`).
            let mut buf = [0u8; 256];
            let in_query = request
                .query_value("token")
                .and_then(|v| wsmachine::handshake::form_decode(v, &mut buf).ok());
            let given = in_header.or(in_query);
            if !given.is_some_and(|given| same(given, token.as_bytes())) {
                return Err(Rejection::unauthorized_bearer(None));
            }
        }
        if let (false, Some(origin)) = (self.origins.is_empty(), request.origin()) {
            if !self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
                return Err(Rejection::forbidden());
            }
        }
        let echo = request.subprotocols().any(|p| p == "echo");
        Ok(Accept {
            subprotocol: echo.then_some("echo"),
            ..Accept::default()
        })
    }
}

/// Compares a secret in time independent of where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

/// The usage text of the policy flags, for the servers' `--help`-less errors.
pub const USAGE: &str = "[ADDR] [--token SECRET] [--origin ORIGIN]... [--max-message BYTES] \
[--rate-msgs N] [--max-connections N] [--ping-interval-ms N] [--pong-timeout-ms M] \
[--handshake-timeout-ms N] [--tls-cert CERT --tls-key KEY] [--deflate]";
