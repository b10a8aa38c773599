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
//! - **Getters**: [`role`](Connection::role), [`config`](Connection::config),
//!   [`is_open`](Connection::is_open), [`is_closed`](Connection::is_closed),
//!   [`wants_transmit`](Connection::wants_transmit).
//! - **Input**: [`receive`](Connection::receive) takes received bytes and returns how many it
//!   consumed and at most one [`Event`] borrowing them.
//! - **Obligations**: [`poll_transmit`](Connection::poll_transmit) writes the frames the
//!   connection owes the peer: pongs, the close reply, the close after a protocol error, the
//!   keepalive ping.
//! - **Output**: `send_*` encode frames into a caller buffer: whole messages
//!   ([`send_text`](Connection::send_text), [`send_binary`](Connection::send_binary)),
//!   fragments ([`send_fragment`](Connection::send_fragment)), one frame in pieces
//!   ([`send_frame_header`](Connection::send_frame_header) then
//!   [`send_payload`](Connection::send_payload) or
//!   [`mask_payload_in_place`](Connection::mask_payload_in_place)), controls
//!   ([`send_ping`](Connection::send_ping), [`send_pong`](Connection::send_pong),
//!   [`send_close`](Connection::send_close)), and [`fail`](Connection::fail).
//! - **Time**: [`poll_timeout`](Connection::poll_timeout) and
//!   [`handle_timeout`](Connection::handle_timeout), safe to call too often.
//!
//! # Call order
//!
//! ```text
//! loop {
//!     read bytes into rx[filled..]
//!     loop { conn.receive(&mut rx[..filled]) -> Received { consumed, event }
//!            handle event; drop `consumed` bytes from the front of rx
//!            stop when consumed == 0 and event is None (more bytes needed) }
//!     while conn.poll_transmit(&mut tx)? > 0 { write tx }    // pongs, close replies
//!     conn.send_*(.., &mut tx)? ; write tx                    // your messages
//!     conn.handle_timeout(now) when now >= conn.poll_timeout()
//!     if conn.is_closed() { close the TCP connection (a client waits for the server's FIN) }
//! }
//! ```
//!
//! Unconsumed bytes must be presented again: a frame header, or a whole control frame (at most
//! [`MIN_RECEIVE_BUFFER`] bytes), is only consumed once all of it is there. Data payloads are
//! handed out as soon as any of their bytes are there, so a message of any size streams through
//! a small buffer.

mod config;
mod endpoint;
mod event;
pub(crate) mod rate;
mod recv;
mod send;
mod timer;

pub use config::Config;
pub use endpoint::{Client, Endpoint, Role, Server};
pub use event::{DataChunk, DataKind, Event, Received};
pub use timer::TimedOut;

use crate::error::SendError;
use crate::wire::close::{CloseCode, CloseFrame};
use crate::wire::frame::{Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use timer::Timer;

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
#[derive(Debug, Clone)]
pub struct Connection<E: Endpoint> {
    endpoint: E,
    config: Config,
    rx: recv::RxState,
    tx: send::TxState,
    close: CloseState,
    /// The payload of the pong owed for the latest ping, if one is owed.
    pong: Option<ControlPayload>,
    timer: Timer,
}

/// A control frame's payload, kept until it is sent. Not zeroed in advance: it only ever
/// holds what was copied in.
type ControlPayload = heapless::Vec<u8, MAX_CONTROL_PAYLOAD, u8>;

/// Where the close handshake stands (§7.1).
#[derive(Debug, Clone, Copy, Default)]
struct CloseState {
    /// Our close frame has been written out.
    sent: bool,
    /// The peer's close frame has arrived.
    received: bool,
    /// The connection failed (protocol error, dead peer, close timeout): no more input.
    failed: bool,
    /// A close frame owed to the peer, with this code, not yet written out.
    queued: Option<CloseCode>,
}

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
            close: CloseState {
                sent: false,
                received: false,
                failed: false,
                queued: None,
            },
            pong: None,
            timer: Timer::new(),
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

    /// Neither side has started the close handshake and the connection has not failed: data
    /// may flow both ways.
    #[must_use]
    pub const fn is_open(&self) -> bool {
        !self.close.sent
            && !self.close.received
            && !self.close.failed
            && self.close.queued.is_none()
    }

    /// The connection is over: our close frame is written out and the peer's has arrived, or
    /// the connection failed (or timed out) and its close frame is written out. Close the TCP
    /// connection now; per §7.1.1 a server closes first, and a client should wait a little for
    /// the server's FIN before closing its side.
    #[must_use]
    pub const fn is_closed(&self) -> bool {
        self.close.sent && (self.close.received || self.close.failed)
    }

    /// There is something for [`poll_transmit`](Self::poll_transmit) to write now.
    #[must_use]
    pub const fn wants_transmit(&self) -> bool {
        !self.tx.frame_open()
            && (self.pong.is_some() || self.close.queued.is_some() || self.timer.ping_due())
    }

    /// Writes the next frame the connection owes the peer into `out`: a pong, the close reply,
    /// the close after a failure, or a keepalive ping. Returns its length, or 0 when nothing is
    /// owed. Call it until it returns 0. Nothing is written while a frame's payload is being
    /// sent in pieces; a control frame may go between fragments.
    ///
    /// When `out` is too small the error says how many bytes it needs and the obligation stays
    /// queued; at most [`MIN_RECEIVE_BUFFER`] bytes are ever needed.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Result<usize, SendError> {
        if self.tx.frame_open() {
            return Ok(0);
        }
        if let Some(payload) = &self.pong {
            let n = send::encode_frame(&mut self.endpoint, Opcode::Pong, true, payload, out)?;
            self.pong = None;
            return Ok(n);
        }
        if let Some(code) = self.close.queued {
            let frame = CloseFrame { code, reason: "" };
            let n = self.write_close(&frame, out)?;
            return Ok(n);
        }
        if self.timer.ping_due() {
            let n = send::encode_frame(&mut self.endpoint, Opcode::Ping, true, &[], out)?;
            self.timer.clear_ping();
            return Ok(n);
        }
        Ok(0)
    }

    /// Fails the connection with `code` (for instance 1008 for a policy violation, or 1009 when
    /// a message does not fit the application's buffer): no more input is accepted, and a close
    /// frame with `code` is queued for [`poll_transmit`](Self::poll_transmit) unless one was
    /// already sent.
    pub fn fail(&mut self, code: CloseCode) {
        self.close.failed = true;
        self.pong = None;
        self.timer.clear_ping();
        if !self.close.sent {
            let code = if code.is_allowed_on_wire() {
                code
            } else {
                CloseCode::INTERNAL_ERROR
            };
            self.close.queued = Some(code);
        }
    }

    /// Writes our close frame and records it as sent.
    fn write_close(&mut self, frame: &CloseFrame<'_>, out: &mut [u8]) -> Result<usize, SendError> {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = frame.emit(&mut payload)?;
        let payload = payload.get(..len).unwrap_or_default();
        let n = send::encode_frame(&mut self.endpoint, Opcode::Close, true, payload, out)?;
        self.close.sent = true;
        self.close.queued = None;
        self.pong = None;
        self.timer.clear_ping();
        Ok(n)
    }
}
