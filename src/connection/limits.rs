//! Per-connection rate limits on what the peer sends (RFC 6455 §10.4; 1008 from §7.4.1).
//!
//! A [`RateLimiter`] sits beside a [`Connection`] and counts what arrives: data messages (at
//! their first chunk), payload bytes (data and control), and control frames (pings, pongs,
//! closes). Each has its own token bucket on the caller's clock. Over a limit, the connection
//! fails with 1008 (policy violation), or, when the caller asked to be told instead
//! ([`OnExceed::Report`]), every event is still handed out and
//! [`resume_at`](RateLimiter::resume_at) says when reading may go on: backpressure, without
//! losing anything already received.
//!
//! The limiter is a separate value, not part of [`Connection`], so a connection without limits
//! pays nothing for them (RAM or flash). A ping flood cannot make the connection owe unbounded
//! pongs in any case: it owes at most one, for the latest ping (§5.5.3); the control limit
//! bounds how many pings it reads.
//!
//! Limits are per connection. A server that limits per client address (connections per IP,
//! handshakes per second per IP) keeps that table above the crate, where it knows the
//! addresses: one token bucket per address, checked before accepting the TCP
//! connection, and a 503 or 429 (see [`crate::handshake::Rejection`]) when it is over.

use core::fmt;

use super::rate::{RateLimit, TokenBucket};
use super::{Connection, Endpoint, Event, Received};
use crate::error::ReceiveError;
use crate::wire::close::CloseCode;

/// The limits on what a peer may send, all optional. Start from [`RateLimits::NONE`].
///
/// ```
/// use wsmachine::connection::{OnExceed, RateLimit, RateLimits};
/// // 20 messages a second (bursts of 40), 1 MiB/s, 10 control frames a second.
/// let limits = RateLimits {
///     messages: Some(RateLimit::new(20, 40)),
///     bytes: Some(RateLimit::new(1 << 20, 4 << 20)),
///     control: Some(RateLimit::new(10, 20)),
///     on_exceed: OnExceed::Fail,
/// };
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RateLimits {
    /// Data messages per second, counted when their first chunk arrives.
    pub messages: Option<RateLimit>,
    /// Payload bytes per second, data and control alike, counted as they arrive.
    pub bytes: Option<RateLimit>,
    /// Control frames (ping, pong, close) per second.
    pub control: Option<RateLimit>,
    /// What happens over a limit.
    pub on_exceed: OnExceed,
}

impl RateLimits {
    /// No limits.
    pub const NONE: Self = Self {
        messages: None,
        bytes: None,
        control: None,
        on_exceed: OnExceed::Fail,
    };
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::NONE
    }
}

/// What a [`RateLimiter`] does when the peer goes over a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OnExceed {
    /// Fail the connection with 1008 (policy violation): the close is owed, as after a
    /// protocol error.
    Fail,
    /// Hand every event out and change nothing; the caller asks
    /// [`RateLimiter::resume_at`] before each read and stops reading until then.
    Report,
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Limit {
    /// [`RateLimits::messages`].
    Messages,
    /// [`RateLimits::bytes`].
    Bytes,
    /// [`RateLimits::control`].
    Control,
}

/// Why [`RateLimiter::receive`] returned no event.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Limited {
    /// The connection refused the input, as [`Connection::receive`] does.
    Receive(ReceiveError),
    /// The peer went over `limit` (with [`OnExceed::Fail`]): the connection has failed with
    /// 1008 and owes its close. The event that went over is not handed out.
    Exceeded {
        /// The limit.
        limit: Limit,
        /// The bytes of input that event consumed: drop them, as for any received event.
        consumed: usize,
    },
}

impl fmt::Display for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Receive(e) => fmt::Display::fmt(e, f),
            Self::Exceeded { limit, .. } => write!(f, "rate limit exceeded: {limit:?}"),
        }
    }
}

impl core::error::Error for Limited {}

impl From<ReceiveError> for Limited {
    fn from(e: ReceiveError) -> Self {
        Self::Receive(e)
    }
}

/// Counts what a peer sends against [`RateLimits`]: data messages at their first chunk,
/// payload bytes, control frames, each in its own token bucket on the caller's clock. A
/// separate value beside the [`Connection`], so a connection without limits pays nothing.
/// Per-address limits (connections or handshakes per client IP) belong above the crate, where
/// the addresses are known.
///
/// ```
/// use wsmachine::connection::{Limit, Limited, OnExceed, RateLimit, RateLimiter, RateLimits};
/// use wsmachine::{CloseCode, Config, Connection, State};
///
/// let mut server = Connection::server(Config::DEFAULT);
/// let mut limiter = RateLimiter::new(RateLimits {
///     control: Some(RateLimit::new(1, 2)),
///     ..RateLimits::NONE
/// });
/// let ping = [0x89, 0x80, 1, 2, 3, 4]; // a masked, empty ping
/// for i in 0..3 {
///     let mut rx = ping;
///     let result = limiter.receive(&mut server, 0, &mut rx);
///     if i < 2 {
///         assert!(result.is_ok()); // the burst of 2
///     } else {
///         assert!(matches!(result, Err(Limited::Exceeded { limit: Limit::Control, .. })));
///     }
/// }
/// assert_eq!(server.state(), State::Closing); // a 1008 close is owed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RateLimiter {
    on_exceed: OnExceed,
    messages: Option<TokenBucket>,
    bytes: Option<TokenBucket>,
    control: Option<TokenBucket>,
}

impl RateLimiter {
    /// A limiter with full buckets.
    #[must_use]
    pub const fn new(limits: RateLimits) -> Self {
        const fn bucket(limit: Option<RateLimit>) -> Option<TokenBucket> {
            match limit {
                Some(limit) => Some(TokenBucket::new(limit)),
                None => None,
            }
        }
        Self {
            on_exceed: limits.on_exceed,
            messages: bucket(limits.messages),
            bytes: bucket(limits.bytes),
            control: bucket(limits.control),
        }
    }

    /// [`Connection::receive`] with the limits applied at `now` (milliseconds, the clock of
    /// `handle_timeout`). With [`OnExceed::Fail`], an event that goes over a limit fails the
    /// connection and is not handed out ([`Limited::Exceeded`]). With [`OnExceed::Report`]
    /// every event is handed out, counted; ask [`resume_at`](Self::resume_at) before reading
    /// more.
    pub fn receive<'a, E: Endpoint>(
        &mut self,
        conn: &mut Connection<E>,
        now: u64,
        input: &'a mut [u8],
    ) -> Result<Received<'a>, Limited> {
        let received = conn.receive(input)?;
        let Some(event) = &received.event else {
            return Ok(received);
        };
        match self.count(now, event) {
            Err(limit) if self.on_exceed == OnExceed::Fail => {
                // 1008 may always go on the wire.
                let _ = conn.fail(CloseCode::POLICY_VIOLATION);
                Err(Limited::Exceeded {
                    limit,
                    consumed: received.consumed,
                })
            }
            _ => Ok(received),
        }
    }

    /// When reading may go on, asked at `now`: `now` itself when every bucket has room for
    /// one more (a message, a control frame, a byte), the time the last of them has otherwise,
    /// `None` when one never will (a bucket that does not refill). With
    /// [`OnExceed::Report`], stop reading until then: the peer's TCP window fills and it
    /// slows down.
    #[must_use]
    pub fn resume_at(&self, now: u64) -> Option<u64> {
        [self.messages, self.bytes, self.control]
            .iter()
            .flatten()
            .try_fold(now, |at, bucket| Some(at.max(bucket.ready_at(now, 1)?)))
    }

    /// Counts `event` at `now` in every bucket it concerns; the first limit it exceeds.
    fn count(&mut self, now: u64, event: &Event<'_>) -> Result<(), Limit> {
        let (message, control, bytes) = match event {
            Event::Data(chunk) => (chunk.first, false, chunk.payload.len()),
            Event::Ping(p) | Event::Pong(p) => (false, true, p.len()),
            // The close's code and reason: the two bytes count too.
            Event::Close(frame) => (false, true, frame.reason.len() + 2),
        };
        let mut exceeded = None;
        let mut take = |bucket: &mut Option<TokenBucket>, limit: Limit, n: usize| {
            let Some(bucket) = bucket else {
                return;
            };
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            if !bucket.try_take(now, n) {
                // What arrived is counted anyway: the debt is the backpressure.
                bucket.charge(now, n);
                exceeded = exceeded.or(Some(limit));
            }
        };
        if message {
            take(&mut self.messages, Limit::Messages, 1);
        }
        if control {
            take(&mut self.control, Limit::Control, 1);
        }
        take(&mut self.bytes, Limit::Bytes, bytes);
        exceeded.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, State};

    /// A masked frame from a client, key 0 (so the payload is as given).
    fn frame(b0: u8, payload: &[u8]) -> std::vec::Vec<u8> {
        let mut f = std::vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    /// Feeds `count` copies of `bytes`, one every `every_ms`, and returns how many went
    /// through before the first `Exceeded`, and that error.
    fn flood(
        limits: RateLimits,
        bytes: &[u8],
        count: usize,
        every_ms: u64,
    ) -> (usize, Option<Limited>, Connection<crate::Server>) {
        let mut conn = Connection::server(Config::DEFAULT);
        let mut limiter = RateLimiter::new(limits);
        for i in 0..count {
            let mut rx = bytes.to_vec();
            match limiter.receive(&mut conn, i as u64 * every_ms, &mut rx) {
                Ok(r) => assert_eq!(r.consumed, bytes.len()),
                Err(e) => return (i, Some(e), conn),
            }
            let mut out = [0u8; 256];
            let _ = conn.poll_transmit(&mut out);
        }
        (count, None, conn)
    }

    const PING: u8 = 0x89;
    const TEXT: u8 = 0x81;

    #[test]
    fn a_ping_flood_just_under_the_limit_is_never_refused() {
        let limits = RateLimits {
            control: Some(RateLimit::new(10, 10)),
            ..RateLimits::NONE
        };
        // One ping every 100 ms is exactly 10 a second.
        let (through, error, conn) = flood(limits, &frame(PING, b"p"), 300, 100);
        assert_eq!((through, error), (300, None));
        assert!(conn.is_open());
    }

    #[test]
    fn a_ping_flood_just_over_the_limit_fails_with_1008() {
        let limits = RateLimits {
            control: Some(RateLimit::new(10, 10)),
            ..RateLimits::NONE
        };
        // One ping every 90 ms: the burst absorbs the excess for a while (10 tokens at 1.1
        // pings per token), then it runs out, after about 100 pings.
        let (through, error, mut conn) = flood(limits, &frame(PING, b"p"), 300, 90);
        assert!((90..=120).contains(&through), "{through}");
        assert!(matches!(
            error,
            Some(Limited::Exceeded {
                limit: Limit::Control,
                consumed: 7,
                ..
            })
        ));
        assert_eq!(conn.state(), State::Closing);
        let mut out = [0u8; 16];
        assert_eq!(conn.poll_transmit(&mut out), Ok(4));
        assert_eq!(&out[..4], &[0x88, 0x02, 0x03, 0xf0]);
    }

    #[test]
    fn a_message_flood_is_paced_by_resume_at_when_asked_to_report() {
        let limits = RateLimits {
            messages: Some(RateLimit::new(5, 5)),
            on_exceed: OnExceed::Report,
            ..RateLimits::NONE
        };
        let mut conn = Connection::server(Config::DEFAULT);
        let mut limiter = RateLimiter::new(limits);
        let text = frame(TEXT, b"hi");
        let mut now = 0;
        let mut waits = 0;
        for _ in 0..20 {
            // A reader that honours the backpressure: it waits until it may read.
            let at = limiter.resume_at(now).expect("the bucket refills");
            if at > now {
                waits += 1;
                now = at;
            }
            let mut rx = text.clone();
            let received = limiter
                .receive(&mut conn, now, &mut rx)
                .expect("reported, not failed");
            assert!(received.event.is_some(), "nothing is lost");
        }
        assert!(conn.is_open(), "Report changes nothing");
        // 5 at once, then one every 200 ms.
        assert_eq!((waits, now), (15, 3_000));
        // A reader that ignores it is still told, and still given every event.
        for _ in 0..10 {
            let mut rx = text.clone();
            assert!(limiter.receive(&mut conn, now, &mut rx).is_ok());
        }
        assert_eq!(limiter.resume_at(now), Some(now + 2_200));
    }

    #[test]
    fn bytes_count_data_and_control_payloads() {
        let limits = RateLimits {
            bytes: Some(RateLimit::new(0, 100)),
            ..RateLimits::NONE
        };
        let (through, error, _) = flood(limits, &frame(TEXT, &[b'a'; 30]), 10, 0);
        assert_eq!(through, 3, "30 bytes each, 100 in all");
        assert!(matches!(
            error,
            Some(Limited::Exceeded {
                limit: Limit::Bytes,
                ..
            })
        ));
        let (through, _, _) = flood(limits, &frame(PING, &[0; 30]), 10, 0);
        assert_eq!(through, 3);
    }

    #[test]
    fn no_limits_count_nothing() {
        let (through, error, conn) = flood(RateLimits::NONE, &frame(PING, b""), 1000, 0);
        assert_eq!((through, error), (1000, None));
        assert!(conn.is_open());
        assert_eq!(RateLimiter::new(RateLimits::NONE).resume_at(7), Some(7));
    }
}
