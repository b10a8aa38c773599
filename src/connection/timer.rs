//! Keepalive pings for dead peers and the close-handshake deadline (RFC 6455 §5.5.2, §7.1.1).
//!
//! Time is an argument: `now` is any monotonic clock in milliseconds, the same one for every
//! call. Nothing here reads a clock.

use super::{CloseCode, Connection, Endpoint};

/// Why [`Connection::handle_timeout`] ended the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimedOut {
    /// Nothing arrived within `keepalive_timeout` of a keepalive ping: the peer is presumed
    /// dead. The connection failed and queued a close with 1001 (going away).
    Keepalive,
    /// The peer did not answer our close within `close_timeout`; the connection is closed.
    Close,
}

/// What [`Timer::at`] is the deadline for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No timer is armed.
    Idle,
    /// Send a keepalive ping at `at`, unless input arrives first.
    Ping,
    /// A keepalive ping went out: the peer is dead unless something arrives by `at`.
    Dead,
    /// Our close went out: the peer must answer by `at`.
    Close,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Timer {
    /// The deadline of `phase`, in the caller's milliseconds.
    at: u64,
    phase: Phase,
    /// Input was consumed since the last `handle_timeout`.
    input_seen: bool,
    /// A keepalive ping is owed to `poll_transmit`.
    ping_due: bool,
}

impl Timer {
    pub(super) const fn new() -> Self {
        Self {
            at: 0,
            phase: Phase::Idle,
            input_seen: false,
            ping_due: false,
        }
    }

    pub(super) fn saw_input(&mut self) {
        self.input_seen = true;
    }

    pub(super) const fn ping_due(&self) -> bool {
        self.ping_due
    }

    /// The owed keepalive ping went out, or must not (nothing follows our close frame).
    pub(super) fn clear_ping(&mut self) {
        self.ping_due = false;
    }
}

impl<E: Endpoint> Connection<E> {
    /// The time at which [`handle_timeout`](Self::handle_timeout) should next be called, or
    /// `None` when no timer runs. A time at or before `now` (0 included) means: call it now
    /// (a timer needs arming). Input that arrives meanwhile does not move the deadline;
    /// `handle_timeout` at that deadline sees it and pushes the next ping back.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.close.failed || self.is_closed() {
            return None;
        }
        let wanted = if self.close.sent {
            self.config.close_timeout.is_some().then_some(Phase::Close)
        } else if self.keepalive_running() {
            Some(Phase::Ping)
        } else {
            None
        }?;
        let armed = self.timer.phase == wanted
            || (wanted == Phase::Ping && self.timer.phase == Phase::Dead);
        Some(if armed { self.timer.at } else { 0 })
    }

    /// Advances the timers to `now` (milliseconds, monotonic). Queues a keepalive ping when the
    /// peer has been quiet for `keepalive_interval`, fails the connection when it stays quiet
    /// `keepalive_timeout` longer, and closes it when our close goes unanswered for
    /// `close_timeout`. Returns what timed out, once. Safe to call at any time, too often
    /// included.
    pub fn handle_timeout(&mut self, now: u64) -> Option<TimedOut> {
        if self.close.failed || self.is_closed() {
            return None;
        }
        if self.close.sent {
            let timeout = self.config.close_timeout?;
            if self.timer.phase != Phase::Close {
                self.timer.phase = Phase::Close;
                self.timer.at = now.saturating_add(u64::from(timeout.get()));
            }
            if now >= self.timer.at {
                self.timer.phase = Phase::Idle;
                self.close.failed = true;
                return Some(TimedOut::Close);
            }
            return None;
        }
        let interval = match self.config.keepalive_interval {
            Some(interval) if self.is_open() => u64::from(interval.get()),
            _ => return None,
        };
        let t = &mut self.timer;
        if core::mem::take(&mut t.input_seen) || t.phase == Phase::Idle {
            t.phase = Phase::Ping;
            t.at = now.saturating_add(interval);
        }
        if now < t.at {
            return None;
        }
        if t.phase == Phase::Dead {
            t.phase = Phase::Idle;
            self.fail(CloseCode::GOING_AWAY);
            return Some(TimedOut::Keepalive);
        }
        t.ping_due = true;
        t.phase = Phase::Dead;
        t.at = now.saturating_add(u64::from(self.config.keepalive_timeout));
        None
    }

    fn keepalive_running(&self) -> bool {
        self.config.keepalive_interval.is_some() && self.is_open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Connection};
    use core::num::NonZeroU32;

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
