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

/// What [`Timer::deadline`] is the deadline for. Keepalive and the close deadline never run
/// at once (keepalive stops when the connection stops being open), so one deadline is enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No deadline armed.
    Idle,
    /// Send a keepalive ping at the deadline.
    PingAt,
    /// A keepalive ping is out: the peer must have sent something by the deadline.
    DeadAt,
    /// Our close is out: the peer must have answered it by the deadline.
    CloseAt,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Timer {
    /// When the current [`Phase`] ends.
    deadline: u64,
    phase: Phase,
    /// Input was consumed since the last `handle_timeout`.
    input_seen: bool,
    /// A keepalive ping is owed to `poll_transmit`.
    ping_due: bool,
}

impl Timer {
    pub(super) const fn new() -> Self {
        Self {
            deadline: 0,
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

    fn arm(&mut self, phase: Phase, at: u64) {
        self.phase = phase;
        self.deadline = at;
    }
}

impl<E: Endpoint> Connection<E> {
    /// The time at which [`handle_timeout`](Self::handle_timeout) should next be called, or
    /// `None` when no timer runs. A time at or before `now` (0 included) means: call it now.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.close.failed || self.is_closed() {
            return None;
        }
        let t = &self.timer;
        if self.close.sent {
            self.config.close_timeout?;
            return Some(if t.phase == Phase::CloseAt {
                t.deadline
            } else {
                0
            });
        }
        if !self.keepalive_running() {
            return None;
        }
        if t.input_seen || !matches!(t.phase, Phase::PingAt | Phase::DeadAt) {
            return Some(0);
        }
        Some(t.deadline)
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
            let timeout = u64::from(self.config.close_timeout?);
            if self.timer.phase != Phase::CloseAt {
                self.timer.arm(Phase::CloseAt, now.saturating_add(timeout));
            }
            if now >= self.timer.deadline {
                self.close.failed = true;
                return Some(TimedOut::Close);
            }
            return None;
        }
        if !self.keepalive_running() {
            return None;
        }
        let interval = self.config.keepalive_interval.map_or(u64::MAX, u64::from);
        let t = &mut self.timer;
        if core::mem::take(&mut t.input_seen) || !matches!(t.phase, Phase::PingAt | Phase::DeadAt) {
            t.arm(Phase::PingAt, now.saturating_add(interval));
        }
        if now < t.deadline {
            return None;
        }
        if t.phase == Phase::DeadAt {
            t.phase = Phase::Idle;
            self.fail(CloseCode::GOING_AWAY);
            return Some(TimedOut::Keepalive);
        }
        t.ping_due = true;
        let timeout = u64::from(self.config.keepalive_timeout);
        t.arm(Phase::DeadAt, now.saturating_add(timeout));
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
            keepalive_interval: Some(1000),
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
        assert_eq!(conn.poll_timeout(), Some(0));
        assert_eq!(conn.handle_timeout(1200), None);
        assert_eq!(conn.poll_timeout(), Some(2200));
        assert_eq!(conn.handle_timeout(1700), None);
        assert!(conn.is_open());
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
