//! The driver's policies on time and rate: the opening-handshake deadline (RFC 6455 §4.1, §4.2; RFC 9110 §15.5.9 408), rate limits on receive (§10.4, 1008), and the refusal a client received (§4.1).
//!
//! All three take time as input: the `now` of [`Driver::poll`] or
//! [`Driver::handle_timeout`], remembered by the driver as its clock (it never goes back).

use super::{Driver, Phase};
use crate::connection::{Endpoint, OnExceed, RateLimiter};
use crate::handshake::client::{parse_response, Response, RetryAfter};
use crate::handshake::{Rejection, Status};
use crate::io::{Closed, HandshakeFailure};

/// What a server's refusal of our upgrade said: the status and the headers that say why,
/// and the start of the body, borrowed from the driver's receive buffer (`'b`). The value of
/// [`Driver::refusal`] and of the adapters' `ConnectError::Refused`.
///
/// Borrowed, not copied: the response head is in `rx` already, whole, and `rx` outlives the
/// driver; so the record costs no RAM and no length limit of its own, and the error it is
/// part of stays as small as a few slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Refusal<'b> {
    /// The status code, such as 401, 403 or 503.
    pub status: u16,
    /// The reason phrase, as sent.
    pub reason: &'b str,
    /// The first `WWW-Authenticate` challenge (a 401), as sent.
    pub www_authenticate: Option<&'b str>,
    /// The `Location` of a redirect.
    pub location: Option<&'b str>,
    /// `Retry-After` (a 429 or 503): seconds, or the HTTP-date as sent.
    pub retry_after: Option<RetryAfter<'b>>,
    /// The start of the body: what arrived with the head (see
    /// [`Response::body`](crate::handshake::client::Response::body)).
    pub body: &'b [u8],
}

impl<'b> Refusal<'b> {
    /// The refusal in `response` (any status but 101).
    #[must_use]
    pub fn from_response(response: &Response<'_, 'b>) -> Self {
        Self {
            status: response.status(),
            reason: response.reason(),
            www_authenticate: response.www_authenticate(),
            location: response.location(),
            retry_after: response.retry_after(),
            body: response.body(),
        }
    }

    /// Parses the refusal at the start of `input`, a complete response head of a status other
    /// than 101 and what followed it; `None` otherwise. `H` header lines at most.
    #[must_use]
    pub fn parse<const H: usize>(input: &'b [u8]) -> Option<Self> {
        let mut headers = [httparse::EMPTY_HEADER; H];
        match parse_response(input, &mut headers, usize::MAX) {
            Ok(Status::Complete((response, _))) if response.status() != 101 => {
                Some(Self::from_response(&response))
            }
            _ => None,
        }
    }
}

/// A rate limiter and what it decided last.
#[derive(Debug)]
pub(super) struct Limiter<'b> {
    pub(super) limiter: &'b mut RateLimiter,
    pub(super) report: bool,
}

impl<'b, E: Endpoint, const H: usize> Driver<'b, E, H> {
    /// Sets the opening handshake's deadline, in the milliseconds of `now` (an absolute time:
    /// `now + 10_000` for ten seconds). Until the handshake is done, [`Poll::Read`] says
    /// `wake_at: Some(deadline)`; a poll (or [`handle_timeout`](Self::handle_timeout)) at or
    /// past it ends the handshake: a server that is still reading the request answers
    /// `408 Request Timeout` and closes, a client closes; both with
    /// [`HandshakeFailure::TimedOut`]. A slow client (slowloris) cannot hold the driver
    /// longer. No effect once the handshake is done, or while a server's application decides.
    ///
    /// [`Poll::Read`]: super::Poll::Read
    ///
    /// ```
    /// use wsmachine::handshake::server::ServerOptions;
    /// use wsmachine::io::{Closed, Driver, HandshakeFailure, Poll};
    /// use wsmachine::Config;
    ///
    /// let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
    /// let options = ServerOptions::default();
    /// let mut driver = Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options)
    ///     .handshake_deadline(10_000);
    /// let Poll::Read { buf, wake_at } = driver.poll(0) else { panic!() };
    /// assert_eq!(wake_at, Some(10_000));
    /// buf[..4].copy_from_slice(b"GET ");
    /// driver.read_done(4); // and then nothing more
    /// let Poll::Write(bytes) = driver.poll(10_000) else { panic!() };
    /// assert!(bytes.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"));
    /// let n = bytes.len();
    /// driver.write_done(n);
    /// let expected = Closed::Handshake(HandshakeFailure::TimedOut);
    /// assert!(matches!(driver.poll(10_001), Poll::Closed(c) if c == expected));
    /// ```
    #[must_use]
    pub fn handshake_deadline(mut self, at: u64) -> Self {
        self.set_handshake_deadline(Some(at));
        self
    }

    /// Sets or clears the handshake deadline of [`handshake_deadline`](Self::handshake_deadline).
    pub fn set_handshake_deadline(&mut self, at: Option<u64>) {
        self.deadline = at;
    }

    /// Applies `limiter` (the caller's, so a driver without limits pays nothing for them) to
    /// everything received from now on, at the driver's clock (the latest `now` given to
    /// [`poll`](Self::poll) or [`handle_timeout`](Self::handle_timeout)). `on_exceed` is the
    /// one its [`RateLimits`](crate::connection::RateLimits) were made with:
    ///
    /// - [`OnExceed::Fail`]: the event that goes over is not handed out, the connection fails
    ///   with 1008 (policy violation), its close is written, and the driver ends with
    ///   [`Closed::RateLimited`].
    /// - [`OnExceed::Report`]: every event is handed out, and once the input received is
    ///   consumed the driver pauses reading until [`resume_at`](Self::resume_at):
    ///   [`Poll::Read`](super::Poll::Read) comes with an empty `buf` and `wake_at` the time to
    ///   poll again. A read into the empty slice (0 bytes) is not the end of the stream. The
    ///   peer's TCP window fills and it slows down.
    ///
    /// The limiter counts what arrives on the wire, whatever the driver makes of it:
    /// [`advance`](Self::advance), [`step`](Self::step), [`poll`](Self::poll) and
    /// [`advance_message`](Self::advance_message) alike, and with permessage-deflate the
    /// compressed frames (a message at its first frame, its compressed bytes), before they are
    /// inflated.
    ///
    /// ```
    /// use wsmachine::connection::{OnExceed, RateLimit, RateLimiter, RateLimits};
    /// use wsmachine::io::{Closed, Driver, Poll};
    /// use wsmachine::{Config, Connection, Server};
    ///
    /// let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    /// let limits = RateLimits { control: Some(RateLimit::new(1, 1)), ..RateLimits::NONE };
    /// let mut limiter = RateLimiter::new(limits);
    /// let conn = Connection::<Server>::server(Config::DEFAULT);
    /// let ping = [0x89, 0x80, 0, 0, 0, 0]; // a masked, empty ping
    /// rx[..12].copy_from_slice(&[ping, ping].concat());
    /// let mut driver = Driver::new(conn, &mut rx, &mut tx, 12)
    ///     .rate_limiter(&mut limiter, limits.on_exceed);
    /// assert!(matches!(driver.poll(0), Poll::Event(_))); // the first ping
    /// // The second goes over: a pong and a 1008 close are owed.
    /// let Poll::Write(bytes) = driver.poll(0) else { panic!() };
    /// assert!(bytes.ends_with(&[0x88, 0x02, 0x03, 0xf0]));
    /// let n = bytes.len();
    /// driver.write_done(n);
    /// assert!(matches!(driver.poll(0), Poll::Closed(Closed::RateLimited(_))));
    /// ```
    #[must_use]
    pub fn rate_limiter(mut self, limiter: &'b mut RateLimiter, on_exceed: OnExceed) -> Self {
        self.set_rate_limiter(Some((limiter, on_exceed)));
        self
    }

    /// Sets or removes the limiter of [`rate_limiter`](Self::rate_limiter).
    pub fn set_rate_limiter(&mut self, limiter: Option<(&'b mut RateLimiter, OnExceed)>) {
        self.limiter = limiter.map(|(limiter, on_exceed)| Limiter {
            limiter,
            report: matches!(on_exceed, OnExceed::Report),
        });
    }

    /// The limiter, with its counts.
    #[must_use]
    pub fn limiter(&self) -> Option<&RateLimiter> {
        self.limiter.as_ref().map(|l| &*l.limiter)
    }

    /// When reading may go on, if an [`OnExceed::Report`] limiter has paused it at the
    /// driver's clock: a time after it (`u64::MAX` when a bucket never refills); `None` when
    /// reading is not paused.
    #[must_use]
    pub fn resume_at(&self) -> Option<u64> {
        let limiter = self.limiter.as_ref().filter(|l| l.report)?;
        if !matches!(self.phase, Phase::Open) {
            return None;
        }
        match limiter.limiter.resume_at(self.now) {
            Some(at) if at <= self.now => None,
            at => Some(at.unwrap_or(u64::MAX)),
        }
    }

    /// The driver's clock: the latest `now` it was given.
    #[must_use]
    pub const fn now(&self) -> u64 {
        self.now
    }

    /// Client: what the server said when it refused the upgrade (any status but 101), once the
    /// driver is closed with
    /// [`ResponseError::Refused`](crate::handshake::client::ResponseError::Refused).
    #[must_use]
    pub fn refusal(&self) -> Option<Refusal<'_>> {
        self.was_refused()?;
        Refusal::parse::<H>(self.rx.get(..self.rx_end).unwrap_or_default())
    }

    /// [`refusal`](Self::refusal), borrowing `rx` for as long as the caller's buffer lives:
    /// the driver is given up for it.
    #[must_use]
    pub fn into_refusal(self) -> Option<Refusal<'b>> {
        self.was_refused()?;
        let end = self.rx_end;
        let rx: &'b [u8] = self.rx;
        Refusal::parse::<H>(rx.get(..end).unwrap_or_default())
    }

    fn was_refused(&self) -> Option<()> {
        use crate::handshake::client::ResponseError;
        match self.phase {
            Phase::Ended(Closed::Handshake(HandshakeFailure::Response(
                ResponseError::Refused { .. },
            ))) => Some(()),
            _ => None,
        }
    }

    /// Past the handshake deadline at `now`: ends the handshake (a server answers 408).
    pub(super) fn check_deadline(&mut self, now: u64) {
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        let closed = Closed::Handshake(HandshakeFailure::TimedOut);
        match self.phase {
            Phase::ServerHead(_) => {
                let rejection = Rejection::new(408, "Request Timeout");
                let response = rejection.write(self.tx).unwrap_or(0);
                self.end(response, closed);
            }
            Phase::ClientHead { .. } => self.end(0, closed),
            _ => {}
        }
    }

    /// The handshake deadline, while it applies.
    pub(super) fn deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::ServerHead(_) | Phase::ClientHead { .. } => self.deadline,
            _ => None,
        }
    }
}
