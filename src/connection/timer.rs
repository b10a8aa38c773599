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

#[derive(Debug, Clone, Copy)]
pub(super) struct Timer {
    /// Input was consumed since the last `handle_timeout`.
    input_seen: bool,
    /// When to send the next keepalive ping.
    ping_at: Option<u64>,
    /// A keepalive ping is owed to `poll_transmit`.
    ping_due: bool,
    /// The peer must have sent something by then.
    dead_at: Option<u64>,
    /// The peer must have answered our close by then.
    close_at: Option<u64>,
}

impl Timer {
    pub(super) const fn new() -> Self {
        Self {
            input_seen: false,
            ping_at: None,
            ping_due: false,
            dead_at: None,
            close_at: None,
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

    /// The connection is no longer open: a keepalive ping is no longer owed.
    pub(super) fn cancel_ping(&mut self) {
        self.ping_due = false;
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
        let arm_close =
            self.close.sent && self.config.close_timeout.is_some() && t.close_at.is_none();
        let arm_keepalive = self.keepalive_running() && t.ping_at.is_none();
        if arm_close || arm_keepalive || t.input_seen && self.keepalive_running() {
            return Some(0);
        }
        [t.ping_at, t.dead_at, t.close_at]
            .into_iter()
            .flatten()
            .min()
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
            let at = *self
                .timer
                .close_at
                .get_or_insert(now.saturating_add(timeout));
            if now >= at {
                self.close.failed = true;
                return Some(TimedOut::Close);
            }
            return None;
        }
        if !self.keepalive_running() {
            return None;
        }
        let interval = self.config.keepalive_interval.unwrap_or(u64::MAX);
        let t = &mut self.timer;
        if core::mem::take(&mut t.input_seen) || t.ping_at.is_none() {
            t.ping_at = Some(now.saturating_add(interval));
            t.dead_at = None;
        }
        if t.dead_at.is_some_and(|at| now >= at) {
            t.dead_at = None;
            self.fail(CloseCode::GOING_AWAY);
            return Some(TimedOut::Keepalive);
        }
        if t.dead_at.is_none() && t.ping_at.is_some_and(|at| now >= at) {
            t.ping_due = true;
            t.dead_at = Some(now.saturating_add(self.config.keepalive_timeout));
            t.ping_at = Some(now.saturating_add(interval));
        }
        None
    }

    fn keepalive_running(&self) -> bool {
        self.config.keepalive_interval.is_some() && self.is_open()
    }
}
