//! Keepalive pings for dead peers and the close-handshake deadline (RFC 6455 §5.5.2, §7.1.1).
//!
//! Time is an argument: `now` is any monotonic clock in milliseconds, the same one for every
//! call. Nothing here reads a clock.

use core::num::NonZeroU32;

use super::state::{Expired, Timeouts};
use super::{Connection, Endpoint};

/// Why [`Connection::handle_timeout`] ended the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimedOut {
    /// Nothing arrived within `keepalive_timeout` of a keepalive ping: the peer is presumed
    /// dead. The connection failed and queued a close with 1001 (going away).
    Keepalive,
    /// The close handshake did not finish within `close_timeout`: the peer did not answer our
    /// close, or the close the connection owed was never written out. The connection is
    /// closed.
    Close,
}

impl<E: Endpoint> Connection<E> {
    /// The time at which [`handle_timeout`](Self::handle_timeout) should next be called, or
    /// `None` when no timer runs. A time at or before `now` (0 included) means: call it now
    /// (a timer needs arming). Input that arrives meanwhile does not move the deadline;
    /// `handle_timeout` at that deadline sees it and pushes the next ping back.
    ///
    /// While the connection is closing a deadline always runs when `close_timeout` is set:
    /// waiting for the peer's close, and equally a close the application has not yet written
    /// out, so a closing connection reaches [`State::Closed`](crate::State::Closed) however it
    /// is driven.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.phase.poll_timeout(&self.timeouts())
    }

    /// Advances the timers to `now` (milliseconds, monotonic). Owes a keepalive ping when the
    /// peer has been quiet for `keepalive_interval`, fails the connection (1001) when it stays
    /// quiet `keepalive_timeout` longer, and closes it when the close handshake has not
    /// finished `close_timeout` after it began. Returns what timed out, once. Safe to call at
    /// any time, too often included.
    pub fn handle_timeout(&mut self, now: u64) -> Option<TimedOut> {
        let timeouts = self.timeouts();
        self.phase
            .handle_timeout(now, &timeouts)
            .map(|expired| match expired {
                Expired::Keepalive => TimedOut::Keepalive,
                Expired::Close => TimedOut::Close,
            })
    }

    fn timeouts(&self) -> Timeouts {
        let ms = |t: Option<NonZeroU32>| t.map(|t| u64::from(t.get()));
        Timeouts {
            keepalive_interval: ms(self.config.keepalive_interval),
            keepalive_timeout: u64::from(self.config.keepalive_timeout),
            close_timeout: ms(self.config.close_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CloseCode, Config, Connection};

    /// Runs `handle_timeout` at the next deadline until `until`, checking that each call moves
    /// the deadline into the future (or clears it).
    fn run_until<E: Endpoint>(conn: &mut Connection<E>, until: u64) -> Option<TimedOut> {
        let mut fired = None;
        while let Some(at) = conn.poll_timeout().filter(|&at| at <= until) {
            fired = fired.or(conn.handle_timeout(at));
            let next = conn.poll_timeout();
            assert!(
                !matches!(next, Some(n) if n <= at),
                "deadline stuck at {at}: {next:?}"
            );
        }
        fired
    }

    #[test]
    fn pending_ping_deadline_does_not_stick_when_interval_is_shorter_than_timeout() {
        let config = Config {
            keepalive_interval: NonZeroU32::new(1000),
            keepalive_timeout: 3000,
            ..Config::DEFAULT
        };
        let mut conn = Connection::server(config);
        assert_eq!(run_until(&mut conn, 1000), None);
        assert!(conn.wants_transmit(), "keepalive ping owed at 1000");
        let mut out = [0u8; 8];
        assert_eq!(conn.poll_transmit(&mut out), Ok(2));
        assert_eq!(conn.poll_timeout(), Some(4000));
        assert_eq!(run_until(&mut conn, 4000), Some(TimedOut::Keepalive));
    }

    #[test]
    fn keepalive_deadline_is_dropped_once_the_close_is_sent() {
        let config = Config {
            keepalive_interval: NonZeroU32::new(1000),
            ..Config::DEFAULT
        };
        let mut conn = Connection::server(config);
        assert_eq!(conn.handle_timeout(0), None);
        let mut out = [0u8; 8];
        conn.send_close(CloseCode::NORMAL, "", &mut out).unwrap();
        assert_eq!(conn.handle_timeout(500), None);
        assert_eq!(conn.poll_timeout(), Some(5500));
        assert_eq!(run_until(&mut conn, 5500), Some(TimedOut::Close));
    }
}
