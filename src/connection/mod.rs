//! The connection state machine (RFC 6455 §5.4–§5.5, §6, §7): open → closing → closed.
//!
//! A [`Connection`] starts once the opening handshake is done (see [`crate::handshake`]); every
//! byte after the handshake head belongs to it. It never reads a socket or a clock and never
//! allocates: the caller moves bytes, and passes the time in when it wants keepalive.
//!
//! Read RFC 6455 §5.2 (framing), §5.4 (fragmentation), §5.5 (control frames), §7 (closing) and
//! §10.3 (masking) first.
//!
//! # Method groups
//!
//! - **Constructors**: [`Connection::server`], [`Connection::client`].
//! - **Getters**: [`state`](Connection::state) (one [`State`]: open, closing, closed),
//!   [`close_outcome`](Connection::close_outcome), [`role`](Connection::role),
//!   [`config`](Connection::config), [`wants_transmit`](Connection::wants_transmit), and the
//!   shorthands [`is_open`](Connection::is_open), [`is_closed`](Connection::is_closed).
//! - **Input**: [`receive`](Connection::receive) takes received bytes and returns how many it
//!   consumed and at most one [`Event`] borrowing them; [`receive_eof`](Connection::receive_eof)
//!   says the peer ended the stream.
//! - **Output**: `send_*` encode frames into a caller buffer: whole messages
//!   ([`send_text`](Connection::send_text), [`send_binary`](Connection::send_binary),
//!   [`send_message`](Connection::send_message)), fragments
//!   ([`send_fragment`](Connection::send_fragment)), one frame in pieces
//!   ([`send_frame_header`](Connection::send_frame_header) then
//!   [`send_payload`](Connection::send_payload) or
//!   [`mask_payload_in_place`](Connection::mask_payload_in_place)), controls
//!   ([`send_ping`](Connection::send_ping), [`send_pong`](Connection::send_pong),
//!   [`send_close`](Connection::send_close)), and [`fail`](Connection::fail).
//! - **Obligations**: [`poll_transmit`](Connection::poll_transmit) writes the frames the
//!   connection owes the peer: a pong, the keepalive ping, the close reply, the close after a
//!   failure.
//! - **Time**: [`poll_timeout`](Connection::poll_timeout) and
//!   [`handle_timeout`](Connection::handle_timeout), safe to call too often.
//!
//! # Two rules that keep obligations from starving
//!
//! 1. Every `send_*` that starts a frame first writes what the connection owes into the same
//!    buffer and returns the total. An application that sends as well as receives never has
//!    to think about pongs or close replies. Once the connection is closing, a send is refused
//!    with [`SendError::Closing`]`{ written }`: `out[..written]` is the close it owed, to be
//!    written like any other output.
//! 2. A loop that only receives calls [`poll_transmit`](Connection::poll_transmit) after each
//!    `receive` (and after `handle_timeout`) and writes what it returns.
//!
//! And while the connection is closing a deadline runs (`close_timeout`) whatever it waits
//! for, so calling `handle_timeout` at [`poll_timeout`](Connection::poll_timeout) always ends
//! in [`State::Closed`]: no sequence of calls leaves a connection that never closes.
//!
//! # Speed and flash
//!
//! The per-message entry points (`receive`, `send_message` and the `send_*` over it,
//! `send_frame_header`, `mask_payload_in_place`) and what they call on the usual path are
//! `#[inline(always)]` on hosted targets, so a message costs no calls and no results returned
//! through memory. A send checks the usual case (open, nothing owed) first; a receive takes a
//! whole message in one frame, all of it in the input, without the frame and message state
//! that a payload in pieces needs. On bare metal (`target_os = "none"`) the compiler decides the
//! inlining, for flash, and a send and a receive take the general path alone: one copy of each,
//! as the size report measures. The answers are the same on both.
//!
//! # Call order
//!
//! ```text
//! loop {
//!     read bytes into rx[filled..]            (0 bytes: conn.receive_eof(), then stop)
//!     loop { conn.receive(&mut rx[..filled]) -> Received { consumed, event }
//!            handle event; drop `consumed` bytes from the front of rx
//!            stop when consumed == 0 and event is None (more bytes needed) }
//!     conn.send_*(.., &mut tx)? ; write tx     // your messages, after anything owed
//!     n = conn.poll_transmit(&mut tx)? ; write tx[..n]   // if you sent nothing
//!     conn.handle_timeout(now) when now >= conn.poll_timeout()
//!     match conn.state() { Closed => break, _ => {} }
//! }
//! then close the socket (see below)
//! ```
//!
//! Unconsumed bytes must be presented again: a frame header, or a whole control frame (at most
//! [`MIN_RECEIVE_BUFFER`] bytes), is only consumed once all of it is there. Data payloads are
//! handed out as soon as any of their bytes are there, so a message of any size streams through
//! a small buffer.
//!
//! # Closing the socket
//!
//! When [`State::Closed`] is reached, the last close frame may still sit in your transmit
//! buffer or the kernel's. Dropping a TCP socket that has unread input makes the kernel send a
//! reset, which can destroy that close frame before the peer reads it (this is what usually
//! happens after a protocol error, when the peer is still sending). A hand-written loop
//! therefore: writes everything the connection wrote, half-closes the socket (`shutdown` of the
//! write side), reads and discards input for a bounded time or number of bytes until the peer
//! closes its side, and only then drops the socket. §7.1.1: a server closes first; a client
//! waits a little for the server to close.

mod config;
mod endpoint;
mod event;
mod limits;
mod rate;
mod recv;
mod send;
mod state;
mod timer;

pub use config::Config;
pub use endpoint::{Client, Endpoint, Role, Server};
pub use event::{DataChunk, DataKind, Event, Received};
pub use limits::{Limit, Limited, OnExceed, RateLimiter, RateLimits};
pub use rate::RateLimit;
pub use state::{CloseOutcome, State};
pub use timer::TimedOut;

use crate::error::SendError;
use crate::wire::close::{CloseCode, CloseFrame};
use crate::wire::frame::{Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use state::Lifecycle;

/// The smallest receive buffer that can hold any frame header and any whole control frame.
pub const MIN_RECEIVE_BUFFER: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;

/// A WebSocket connection after the opening handshake, for one [`Endpoint`]: [`Server`] or
/// [`Client`].
///
/// ```
/// use wsmachine::{Config, Connection, Event};
/// use wsmachine::connection::DataChunk;
///
/// let mut server = Connection::server(Config::DEFAULT);
/// // RFC 6455 §5.7: a masked text frame "Hello" from a client.
/// let mut rx = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let received = server.receive(&mut rx)?;
/// assert_eq!(received.consumed, 11);
/// let Some(Event::Data(DataChunk { payload, first: true, last: true, .. })) = received.event else {
///     panic!("expected a whole message");
/// };
/// assert_eq!(payload, b"Hello");
///
/// let mut tx = [0u8; 16];
/// let n = server.send_text("Hello", &mut tx)?;
/// assert_eq!(&tx[..n], &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A server connection is `Clone`; a client connection is not: a clone would draw the same
/// masking keys as the original from a cloned generator, and RFC 6455 §10.3 requires keys an
/// intermediary cannot predict.
#[derive(Debug)]
pub struct Connection<E: Endpoint> {
    endpoint: E,
    config: Config,
    rx: recv::RxState,
    tx: send::TxState,
    phase: Lifecycle,
}

impl Clone for Connection<Server> {
    fn clone(&self) -> Self {
        Self {
            endpoint: Server,
            config: self.config,
            rx: self.rx,
            tx: self.tx,
            phase: self.phase.clone(),
        }
    }
}

/// A control frame's payload, kept until it is sent. Not zeroed in advance: it only ever
/// holds what was copied in.
type ControlPayload = heapless::Vec<u8, MAX_CONTROL_PAYLOAD, u8>;

impl Connection<Server> {
    /// A server connection: expects masked frames and sends unmasked ones.
    #[must_use]
    pub const fn server(config: Config) -> Self {
        Self::new(Server, config)
    }
}

impl<R: rand_core::RngCore> Connection<Client<R>> {
    /// A client connection: masks every frame with a fresh key from `rng` (§5.3, §10.3) and
    /// expects unmasked frames.
    #[must_use]
    pub const fn client(config: Config, rng: R) -> Self {
        Self::new(Client(rng), config)
    }
}

impl<E: Endpoint> Connection<E> {
    const fn new(endpoint: E, config: Config) -> Self {
        Self {
            endpoint,
            config,
            rx: recv::RxState::new(),
            tx: send::TxState::new(),
            phase: Lifecycle::new(),
        }
    }

    /// Client or server.
    #[must_use]
    pub const fn role(&self) -> Role {
        E::ROLE
    }

    /// The configuration this connection was made with.
    #[must_use]
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Allows the RSV bits ([`RSV1`](crate::wire::frame::RSV1)...) of an extension negotiated
    /// in the opening handshake, added to [`Config::allowed_rsv`]: for a connection made
    /// before the answer was known (a client holds its RNG from the start). Call it once the
    /// handshake is done and before the first frame; bits outside the three RSV bits are
    /// ignored. Control frames and continuations stay RSV-free (1002) whatever is allowed.
    pub fn allow_rsv(&mut self, rsv: u8) {
        self.config.allowed_rsv |= rsv & 0b111;
    }

    /// Where the connection stands: [`State::Open`], [`State::Closing`] or [`State::Closed`].
    #[must_use]
    pub const fn state(&self) -> State {
        self.phase.state()
    }

    /// `state() == State::Open`: neither side has started the close handshake and the
    /// connection has not failed.
    #[must_use]
    pub const fn is_open(&self) -> bool {
        matches!(self.state(), State::Open)
    }

    /// `state() == State::Closed`: close the TCP connection now; per §7.1.1 a server closes
    /// first, and a client should wait a little for the server's FIN before closing its side.
    #[must_use]
    pub const fn is_closed(&self) -> bool {
        matches!(self.state(), State::Closed)
    }

    /// How the connection ended, once it is [`State::Closed`].
    #[must_use]
    pub const fn close_outcome(&self) -> Option<CloseOutcome> {
        self.phase.outcome()
    }

    /// There is something for [`poll_transmit`](Self::poll_transmit) to write now.
    #[must_use]
    pub fn wants_transmit(&self) -> bool {
        !self.tx.frame_open() && self.owed_len(true) > 0
    }

    /// Writes every frame the connection owes the peer into `out`: a pong, a keepalive ping,
    /// the close reply, or the close after a failure. Returns their length, 0 when nothing is
    /// owed. Nothing is written while a frame's payload is being sent in pieces; a control
    /// frame may go between fragments.
    ///
    /// Every `send_*` that starts a frame writes these first anyway, so an application that
    /// sends can skip this; a loop that only receives must call it after each `receive`.
    ///
    /// When `out` is too small the error says how many bytes it needs and nothing changes; at
    /// most [`MIN_RECEIVE_BUFFER`] bytes are ever needed.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Result<usize, SendError> {
        if self.tx.frame_open() {
            return Ok(0);
        }
        let needed = self.owed_len(true);
        if out.len() < needed {
            return Err(SendError::BufferTooSmall { needed });
        }
        Ok(self.write_owed(out, true))
    }

    /// How many bytes the owed frames take on the wire: a ping or pong, then, with `close`,
    /// the close owed.
    fn owed_len(&self, close: bool) -> usize {
        let frame = send::control_frame_len::<E>;
        let control = self.phase.owed_control().map_or(0, |(_, p)| frame(p.len()));
        let close = self.phase.owed_close().filter(|_| close).map_or(0, |code| {
            frame(CloseFrame { code, reason: "" }.encoded_len())
        });
        control + close
    }

    /// Writes the owed frames (the close only with `close`) into `out`, which holds at least
    /// [`owed_len`](Self::owed_len) bytes, and returns their length.
    fn write_owed(&mut self, out: &mut [u8], close: bool) -> usize {
        let mut n = 0;
        if let Some((opcode, payload)) = self.phase.owed_control() {
            n += send::encode_frame(&mut self.endpoint, opcode, 0, true, payload, out).unwrap_or(0);
            self.phase.control_sent();
        }
        if let Some(code) = self.phase.owed_close().filter(|_| close) {
            // The owed close carries its code only: the peer's (none for 1005, which stands
            // for an empty payload), or the failure's. Both passed the wire check.
            let code_bytes = code.0.to_be_bytes();
            let len = CloseFrame { code, reason: "" }.encoded_len();
            let payload = code_bytes.get(..len).unwrap_or_default();
            let rest = out.get_mut(n..).unwrap_or_default();
            n += send::encode_frame(&mut self.endpoint, Opcode::Close, 0, true, payload, rest)
                .unwrap_or(0);
            self.phase.close_written();
        }
        n
    }

    /// Fails the connection with `code` (§7.1.7), for instance 1008 for a policy violation or
    /// 1009 when a message does not fit the application's buffer: no more input is accepted,
    /// and a close frame with `code` is owed (written by `poll_transmit` or the next `send_*`)
    /// unless ours is already out, in which case the connection is closed at once.
    ///
    /// A code that may not go on the wire (1005, 1006, 1015, the reserved ranges) is refused
    /// with [`SendError::InvalidCloseCode`] and changes nothing, as in
    /// [`send_close`](Self::send_close). Failing a connection that is already closed does
    /// nothing.
    pub fn fail(&mut self, code: CloseCode) -> Result<(), SendError> {
        if !code.is_allowed_on_wire() {
            return Err(SendError::InvalidCloseCode);
        }
        self.phase.fail(code);
        Ok(())
    }

    /// The peer ended the stream (a read returned 0 bytes): the connection is
    /// [`State::Closed`] and anything owed is dropped. Returns how it ended: `clean` when the
    /// close handshake had completed, otherwise the §7.1.5 code (1006 when no close frame came
    /// from the peer), which is only ever reported locally.
    pub fn receive_eof(&mut self) -> CloseOutcome {
        self.phase.abandon()
    }

    /// Writes our close frame into `out` and records it as sent.
    fn write_close(&mut self, frame: &CloseFrame<'_>, out: &mut [u8]) -> Result<usize, SendError> {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = frame.emit(&mut payload)?;
        let payload = payload.get(..len).unwrap_or_default();
        let n = send::encode_frame(&mut self.endpoint, Opcode::Close, 0, true, payload, out)?;
        self.phase.close_written();
        Ok(n)
    }
}
