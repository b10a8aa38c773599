//! The close handshake as one state, and the frames a connection owes (RFC 6455 §5.5.2–§5.5.3, §7.1).
//!
//! A connection is in exactly one phase; each carries only the data that means something in
//! it. Open connections may owe one control frame (a pong, or the keepalive ping); closing ones
//! may owe a pong for a ping that came before the peer's close, and one close frame; closed
//! ones owe nothing and
//! remember how they ended. Every change goes through a method of [`Lifecycle`], whose fields
//! no other file can write, so a combination such as "failed, but still answering pings"
//! cannot be built. The keepalive and close timers live here too: their deadline means what the
//! phase says.

use super::ControlPayload;
use crate::wire::close::CloseCode;
use crate::wire::frame::Opcode;

/// Where a connection stands, as [`Connection::state`](crate::Connection::state) reports it.
///
/// ```text
///            send_close / peer's close / failure
///   Open ───────────────────────────────────────▶ Closing ──▶ Closed
///     │                                               ▲
///     └─────────── receive_eof, close timeout ────────┘ (also from Closing)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Neither side has started the close handshake: data may flow both ways.
    Open,
    /// Either side has started the close, or the connection failed and its close frame is still
    /// owed. Our close may still have to be written (`poll_transmit` or any `send_*` writes it),
    /// or we wait for the peer's.
    Closing,
    /// Nothing more is sent or received: close the TCP connection (§7.1.1: a server closes
    /// first; a client waits a little for the server's FIN).
    Closed,
}

/// How a connection ended (RFC 6455 §7.1.5–§7.1.7): from
/// [`Connection::receive_eof`](crate::Connection::receive_eof) or
/// [`Connection::close_outcome`](crate::Connection::close_outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CloseOutcome {
    /// The close handshake completed: a close frame went each way (§7.1.4, "cleanly").
    pub clean: bool,
    /// _The WebSocket Connection Close Code_ (§7.1.5): the code of the peer's close frame,
    /// [`CloseCode::NO_STATUS`] (1005) when it had none, and [`CloseCode::ABNORMAL`] (1006) when
    /// no close frame was received. 1005 and 1006 are never sent on the wire.
    pub code: CloseCode,
}

/// A connection's phase and what it owes. The fields are private: every change goes through a
/// transition method below, which keeps them consistent (a pong is owed only while open or
/// replying to the peer's close; the deadline means what the phase says).
#[derive(Debug, Clone)]
pub(super) struct Lifecycle {
    phase: Phase,
    /// The control frame owed: the pong for the latest ping (§5.5.3: only the latest is
    /// answered), or the keepalive ping.
    control: Option<OwedControl>,
    /// The running timer's deadline, when [`Phase`] says one is armed: the keepalive's while
    /// open, the close's while closing.
    deadline: u64,
    /// Input was consumed since the last `handle_timeout`; read only while open.
    input_seen: bool,
}

/// A ping or pong owed, with its payload.
#[derive(Debug, Clone)]
struct OwedControl {
    opcode: Opcode,
    payload: ControlPayload,
}

/// The phase of a connection, with the data each phase needs. One flat enum with a one-byte
/// tag, so that every match is one compare of it: nested (a closing phase holding its step),
/// each match decoded two tags packed into each other's spare values, 100 bytes more on the
/// client path, 52 on the server's, in the same RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Data flows both ways.
    Open {
        /// Where the keepalive timer stands.
        keepalive: Keepalive,
    },
    /// Closing: our close frame is out; the peer's has not arrived. Input is still accepted.
    CloseSent {
        /// The close deadline is armed (see [`Phase::closing`]).
        armed: bool,
    },
    /// Closing: the peer's close arrived with `peer`; our reply (the same code) is owed, after
    /// the pong for a ping that came before the close (§5.5.2).
    ReplyOwed {
        /// The close deadline is armed. (First in each variant: it fills the byte after the
        /// tag.)
        armed: bool,
        /// The code of the peer's close.
        peer: CloseCode,
    },
    /// Closing: the connection failed; a close with `code` is owed and no more input is
    /// accepted.
    FailOwed {
        /// The close deadline is armed.
        armed: bool,
        /// The code to send.
        code: CloseCode,
        /// The code of the peer's close, if it had arrived before the failure.
        peer: Option<CloseCode>,
    },
    /// Over.
    Closed(CloseOutcome),
}

impl Phase {
    /// Whether the close deadline is armed, for a closing phase: `close_timeout` after the
    /// first `handle_timeout` in that phase. `None` when not closing.
    const fn closing(self) -> Option<bool> {
        match self {
            Self::CloseSent { armed }
            | Self::ReplyOwed { armed, .. }
            | Self::FailOwed { armed, .. } => Some(armed),
            Self::Open { .. } | Self::Closed(_) => None,
        }
    }
}

/// The keepalive timer of an open connection (§5.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keepalive {
    /// Not armed: the next `handle_timeout` arms it.
    Idle,
    /// Send a ping at the deadline unless input arrives first.
    Ping,
    /// A ping went out: the peer is dead unless something arrives by the deadline.
    Dead,
}

/// Why [`Lifecycle::handle_timeout`] ended the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    /// The keepalive's dead-peer deadline: the connection failed with 1001.
    Keepalive,
    /// The close deadline: the connection is closed.
    Close,
}

/// The timer settings a [`Lifecycle`] runs with, from `Config`, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    pub(super) keepalive_interval: Option<u64>,
    pub(super) keepalive_timeout: u64,
    pub(super) close_timeout: Option<u64>,
}

const ABNORMAL: CloseOutcome = CloseOutcome {
    clean: false,
    code: CloseCode::ABNORMAL,
};

impl Lifecycle {
    pub(super) const fn new() -> Self {
        Self {
            phase: Phase::Open {
                keepalive: Keepalive::Idle,
            },
            control: None,
            deadline: 0,
            input_seen: false,
        }
    }

    pub(super) const fn state(&self) -> State {
        match self.phase {
            Phase::Open { .. } => State::Open,
            Phase::CloseSent { .. } | Phase::ReplyOwed { .. } | Phase::FailOwed { .. } => {
                State::Closing
            }
            Phase::Closed(_) => State::Closed,
        }
    }

    /// How the connection ended, once closed.
    pub(super) const fn outcome(&self) -> Option<CloseOutcome> {
        match self.phase {
            Phase::Closed(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// Frames may still arrive: open, or our close is out and the peer's is awaited.
    pub(super) const fn accepts_input(&self) -> bool {
        matches!(self.phase, Phase::Open { .. } | Phase::CloseSent { .. })
    }

    /// The peer's close arrived and our reply is owed.
    pub(super) const fn reply_owed(&self) -> bool {
        matches!(self.phase, Phase::ReplyOwed { .. })
    }

    /// The close frame owed to the peer, if any.
    pub(super) const fn owed_close(&self) -> Option<CloseCode> {
        match self.phase {
            Phase::ReplyOwed { peer, .. } | Phase::FailOwed { code: peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// Open and owing nothing: a frame can go out with nothing written ahead of it.
    #[inline]
    pub(super) const fn open_owing_nothing(&self) -> bool {
        matches!(self.phase, Phase::Open { .. }) && self.control.is_none()
    }

    /// The ping or pong owed, if any: its opcode and payload.
    pub(super) fn owed_control(&self) -> Option<(Opcode, &[u8])> {
        self.control
            .as_ref()
            .map(|c| (c.opcode, c.payload.as_slice()))
    }

    /// The ping or pong owed has been written.
    pub(super) fn control_sent(&mut self) {
        self.control = None;
    }

    /// A ping arrived: while open, its pong is owed, in place of an older pong or of a
    /// keepalive ping (the peer's ping shows it is alive).
    pub(super) fn ping_received(&mut self, payload: &[u8]) {
        if matches!(self.phase, Phase::Open { .. }) {
            // Parsing bounded a control payload to 125 bytes, so it always fits. Built in
            // place: a payload built first was copied twice, into it and then here.
            let owed = self.control.insert(OwedControl {
                opcode: Opcode::Pong,
                payload: ControlPayload::new(),
            });
            if owed.payload.extend_from_slice(payload).is_err() {
                self.control = None;
            }
        }
    }

    /// Input was consumed: the keepalive's next ping moves back.
    pub(super) fn input_seen(&mut self) {
        self.input_seen = true;
    }

    /// The peer's close frame arrived with `code`.
    // A hint: on the client path the compiler then inlines it into `receive` (16 bytes).
    #[inline]
    pub(super) fn peer_closed(&mut self, code: CloseCode) {
        match self.phase {
            // A ping or pong owed before the close arrived still goes out first: a pong is
            // owed for a ping received before the close (§5.5.2), and both are control frames,
            // which may precede our close.
            Phase::Open { .. } => {
                self.phase = Phase::ReplyOwed {
                    peer: code,
                    armed: false,
                };
            }
            Phase::CloseSent { .. } => self.close(CloseOutcome { clean: true, code }),
            // No input is taken in the other phases.
            _ => {}
        }
    }

    /// Our close frame (the owed one, or the application's) has been written. Inlined into
    /// its one caller, `write_close`: 4 bytes less on the client and deflate paths.
    #[inline(always)]
    pub(super) fn close_written(&mut self) {
        match self.phase {
            Phase::Open { .. } => {
                self.control = None;
                self.phase = Phase::CloseSent { armed: false };
            }
            Phase::ReplyOwed { peer, .. } => self.close(CloseOutcome {
                clean: true,
                code: peer,
            }),
            Phase::FailOwed { peer, .. } => self.close(outcome_without_reply(peer)),
            Phase::CloseSent { .. } | Phase::Closed(_) => {}
        }
    }

    /// The connection failed (§7.1.7): a close with `code`, which must be allowed on the wire,
    /// is owed unless ours is already out. The first failure's code is the one sent, and a
    /// failed connection answers no ping.
    pub(super) fn fail(&mut self, code: CloseCode) {
        let (peer, armed) = match self.phase {
            Phase::Open { .. } => (None, false),
            Phase::ReplyOwed { peer, armed } => (Some(peer), armed),
            Phase::CloseSent { .. } => return self.close(ABNORMAL),
            Phase::FailOwed { .. } | Phase::Closed(_) => return,
        };
        self.control = None;
        self.phase = Phase::FailOwed { code, peer, armed };
    }

    /// Gives up on whatever is owed or awaited (the stream ended, or the close timed out) and
    /// returns how the connection ended.
    pub(super) fn abandon(&mut self) -> CloseOutcome {
        let outcome = match self.phase {
            Phase::Open { .. } | Phase::CloseSent { .. } => ABNORMAL,
            Phase::ReplyOwed { peer, .. } => CloseOutcome {
                clean: false,
                code: peer,
            },
            Phase::FailOwed { peer, .. } => CloseOutcome {
                clean: false,
                ..outcome_without_reply(peer)
            },
            Phase::Closed(outcome) => outcome,
        };
        self.close(outcome);
        outcome
    }

    // Out of line: five transitions end here, and one shared copy is 20 bytes smaller on the
    // client path (8 on the server's) than five inlined ones.
    #[inline(never)]
    fn close(&mut self, outcome: CloseOutcome) {
        self.control = None;
        self.phase = Phase::Closed(outcome);
    }

    /// When the running timer wants `handle_timeout`: 0 when it needs arming, `None` when no
    /// timer runs.
    pub(super) const fn poll_timeout(&self, t: &Timeouts) -> Option<u64> {
        let armed = match (self.phase, self.phase.closing()) {
            (Phase::Open { keepalive }, _) if t.keepalive_interval.is_some() => {
                !matches!(keepalive, Keepalive::Idle)
            }
            (_, Some(armed)) if t.close_timeout.is_some() => armed,
            _ => return None,
        };
        Some(if armed { self.deadline } else { 0 })
    }

    /// Advances the running timer to `now`.
    pub(super) fn handle_timeout(&mut self, now: u64, t: &Timeouts) -> Option<Expired> {
        match &mut self.phase {
            Phase::Open { keepalive } => {
                let interval = t.keepalive_interval?;
                if core::mem::take(&mut self.input_seen) || *keepalive == Keepalive::Idle {
                    *keepalive = Keepalive::Ping;
                    self.deadline = now.saturating_add(interval);
                }
                if now < self.deadline {
                    return None;
                }
                if *keepalive == Keepalive::Ping {
                    // A pong owed goes out instead: the peer pinged us, so it was alive.
                    if self.control.is_none() {
                        self.control = Some(OwedControl {
                            opcode: Opcode::Ping,
                            payload: ControlPayload::new(),
                        });
                    }
                    *keepalive = Keepalive::Dead;
                    self.deadline = now.saturating_add(t.keepalive_timeout);
                    return None;
                }
                self.fail(CloseCode::GOING_AWAY);
                // The close it owes has `close_timeout` from now to be written.
                if let (Phase::FailOwed { armed, .. }, Some(timeout)) =
                    (&mut self.phase, t.close_timeout)
                {
                    *armed = true;
                    self.deadline = now.saturating_add(timeout);
                }
                Some(Expired::Keepalive)
            }
            Phase::CloseSent { armed }
            | Phase::ReplyOwed { armed, .. }
            | Phase::FailOwed { armed, .. } => {
                let timeout = t.close_timeout?;
                if !core::mem::replace(armed, true) {
                    self.deadline = now.saturating_add(timeout);
                }
                if now < self.deadline {
                    return None;
                }
                let _ = self.abandon();
                Some(Expired::Close)
            }
            Phase::Closed(_) => None,
        }
    }
}

/// How a failed connection ended once its close is out: cleanly if the peer's close had come.
const fn outcome_without_reply(peer: Option<CloseCode>) -> CloseOutcome {
    match peer {
        Some(code) => CloseOutcome { clean: true, code },
        None => ABNORMAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(phase: Phase) -> Lifecycle {
        Lifecycle {
            phase,
            ..Lifecycle::new()
        }
    }

    #[test]
    fn we_close_first_then_the_peer_answers() {
        let mut life = Lifecycle::new();
        life.close_written();
        assert_eq!(life.state(), State::Closing);
        assert!(life.accepts_input());
        assert_eq!(life.owed_close(), None);
        life.peer_closed(CloseCode::NORMAL);
        assert_eq!(
            life.outcome(),
            Some(CloseOutcome {
                clean: true,
                code: CloseCode::NORMAL
            })
        );
    }

    #[test]
    fn the_peer_closes_first_and_we_reply_after_the_pong_it_is_owed() {
        let mut life = Lifecycle::new();
        life.ping_received(b"hi");
        life.peer_closed(CloseCode::GOING_AWAY);
        assert!(!life.accepts_input());
        assert_eq!(life.owed_close(), Some(CloseCode::GOING_AWAY));
        assert_eq!(life.owed_control(), Some((Opcode::Pong, &b"hi"[..])));
        // No new pong is owed once the peer has closed.
        life.ping_received(b"late");
        assert_eq!(life.owed_control(), Some((Opcode::Pong, &b"hi"[..])));
        life.control_sent();
        life.close_written();
        assert_eq!(
            life.outcome(),
            Some(CloseOutcome {
                clean: true,
                code: CloseCode::GOING_AWAY
            })
        );
    }

    #[test]
    fn a_failure_owes_its_close_and_then_ends_without_a_clean_close() {
        let mut life = Lifecycle::new();
        life.ping_received(b"x");
        life.fail(CloseCode::PROTOCOL_ERROR);
        assert_eq!(life.owed_close(), Some(CloseCode::PROTOCOL_ERROR));
        assert!(
            life.owed_control().is_none(),
            "a failed connection answers no ping"
        );
        assert!(!life.accepts_input());
        // A second failure does not replace the first one's code.
        life.fail(CloseCode::TOO_BIG);
        assert_eq!(life.owed_close(), Some(CloseCode::PROTOCOL_ERROR));
        life.close_written();
        assert_eq!(life.outcome(), Some(ABNORMAL));
    }

    #[test]
    fn failing_after_the_peer_closed_still_completes_the_handshake() {
        let mut life = at(Phase::ReplyOwed {
            peer: CloseCode::NORMAL,
            armed: false,
        });
        life.fail(CloseCode::POLICY_VIOLATION);
        assert_eq!(life.owed_close(), Some(CloseCode::POLICY_VIOLATION));
        life.close_written();
        assert_eq!(
            life.outcome(),
            Some(CloseOutcome {
                clean: true,
                code: CloseCode::NORMAL
            })
        );
    }

    #[test]
    fn failing_after_our_close_is_out_closes_at_once() {
        let mut life = at(Phase::CloseSent { armed: false });
        life.fail(CloseCode::PROTOCOL_ERROR);
        assert_eq!(life.outcome(), Some(ABNORMAL));
    }

    #[test]
    fn abandoning_reports_1006_unless_the_peer_closed() {
        for (phase, code) in [
            (Lifecycle::new().phase, CloseCode::ABNORMAL),
            (Phase::CloseSent { armed: false }, CloseCode::ABNORMAL),
            (
                Phase::ReplyOwed {
                    peer: CloseCode::NORMAL,
                    armed: false,
                },
                CloseCode::NORMAL,
            ),
            (
                Phase::FailOwed {
                    code: CloseCode::PROTOCOL_ERROR,
                    peer: None,
                    armed: false,
                },
                CloseCode::ABNORMAL,
            ),
        ] {
            let mut life = at(phase);
            let outcome = life.abandon();
            assert_eq!(outcome, CloseOutcome { clean: false, code });
            assert_eq!(life.state(), State::Closed);
            // Closed stays closed, with the same outcome, owing nothing.
            life.fail(CloseCode::PROTOCOL_ERROR);
            life.close_written();
            life.peer_closed(CloseCode::NORMAL);
            life.ping_received(b"x");
            assert!(life.owed_control().is_none() && life.owed_close().is_none());
            assert_eq!(life.abandon(), outcome);
        }
    }

    #[test]
    fn a_closing_connection_gives_up_after_the_close_timeout_whatever_it_waits_for() {
        let t = Timeouts {
            keepalive_interval: None,
            keepalive_timeout: 0,
            close_timeout: Some(100),
        };
        for phase in [
            Phase::CloseSent { armed: false },
            Phase::ReplyOwed {
                peer: CloseCode::NORMAL,
                armed: false,
            },
            Phase::FailOwed {
                code: CloseCode::PROTOCOL_ERROR,
                peer: None,
                armed: false,
            },
        ] {
            let mut life = at(phase);
            assert_eq!(life.poll_timeout(&t), Some(0), "arm now");
            assert_eq!(life.handle_timeout(50, &t), None);
            assert_eq!(life.poll_timeout(&t), Some(150));
            assert_eq!(life.handle_timeout(149, &t), None);
            assert_eq!(life.handle_timeout(150, &t), Some(Expired::Close));
            assert_eq!(life.state(), State::Closed);
            assert_eq!(life.poll_timeout(&t), None);
        }
    }
}
