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

    pub(super) fn ping_sent(&mut self) {
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
    use super::TimedOut;
    use crate::{CloseCode, Config, Connection};

    fn keepalive() -> Config {
        Config {
            keepalive_interval: core::num::NonZeroU32::new(1000),
            keepalive_timeout: 500,
            ..Config::DEFAULT
        }
    }

    #[test]
    fn keepalive_pings_then_declares_the_peer_dead() {
        let mut conn = Connection::server(keepalive());
        let mut out = [0u8; 16];
        assert_eq!(conn.poll_timeout(), Some(0));
        assert_eq!(conn.handle_timeout(0), None);
        assert_eq!(conn.poll_timeout(), Some(1000));
        assert_eq!(conn.handle_timeout(999), None);
        assert!(!conn.wants_transmit());
        assert_eq!(conn.handle_timeout(1000), None);
        assert_eq!(conn.poll_transmit(&mut out), Ok(2));
        assert_eq!(&out[..2], &[0x89, 0x00]);
        assert_eq!(conn.poll_timeout(), Some(1500));
        assert_eq!(conn.handle_timeout(1499), None);
        assert_eq!(conn.handle_timeout(1500), Some(TimedOut::Keepalive));
        assert_eq!(conn.handle_timeout(1501), None);
        assert_eq!(conn.poll_transmit(&mut out), Ok(4));
        assert_eq!(&out[..4], &[0x88, 0x02, 0x03, 0xe9]);
        assert!(conn.is_closed());
    }

    #[test]
    fn input_restarts_the_keepalive_interval() {
        let mut conn = Connection::server(keepalive());
        let mut out = [0u8; 16];
        assert_eq!(conn.handle_timeout(0), None);
        assert_eq!(conn.handle_timeout(1000), None);
        assert_eq!(conn.poll_transmit(&mut out), Ok(2));
        // A masked, empty pong arrives at 1200.
        let mut pong = [0x8a, 0x80, 1, 2, 3, 4];
        assert_eq!(conn.receive(&mut pong).map(|r| r.consumed), Ok(6));
        // The deadline is lazy: it stays at 1500, where handle_timeout sees the input and
        // pushes the next ping back instead of failing.
        assert_eq!(conn.poll_timeout(), Some(1500));
        assert_eq!(conn.handle_timeout(1500), None);
        assert!(conn.is_open());
        assert_eq!(conn.poll_timeout(), Some(2500));
        assert!(!conn.wants_transmit());
    }

    #[test]
    fn unanswered_close_times_out() {
        let mut conn = Connection::server(keepalive());
        let mut out = [0u8; 16];
        assert_eq!(conn.handle_timeout(0), None);
        assert!(conn.send_close(CloseCode::NORMAL, "", &mut out).is_ok());
        assert_eq!(conn.poll_timeout(), Some(0));
        assert_eq!(conn.handle_timeout(10), None);
        assert_eq!(conn.poll_timeout(), Some(5010));
        assert_eq!(conn.handle_timeout(5009), None);
        assert!(!conn.is_closed());
        assert_eq!(conn.handle_timeout(5010), Some(TimedOut::Close));
        assert!(conn.is_closed());
        assert_eq!(conn.poll_timeout(), None);
    }

    #[test]
    fn no_close_timeout_means_no_deadline() {
        let config = Config {
            close_timeout: None,
            ..Config::DEFAULT
        };
        let mut conn = Connection::server(config);
        let mut out = [0u8; 16];
        assert_eq!(conn.poll_timeout(), None);
        assert!(conn.send_close(CloseCode::NORMAL, "", &mut out).is_ok());
        assert_eq!(conn.poll_timeout(), None);
        assert_eq!(conn.handle_timeout(u64::MAX), None);
        assert!(!conn.is_closed());
    }
}
