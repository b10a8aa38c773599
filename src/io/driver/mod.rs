//! A sans-IO stream driver: caller buffers, both opening handshakes, then read / write / event steps (RFC 6455 §4–§7).
//!
//! A [`Driver`] owns the bookkeeping of a receive buffer `rx` and a transmit buffer `tx` (both
//! the caller's slices), runs the opening handshake of either side, and then says what to do
//! next with [`poll`](Driver::poll): read into this slice, write these bytes, here is an event,
//! or the connection is over. It never touches a stream, so the same driver serves a
//! non-blocking socket, a blocking one, an async runtime or an interrupt handler; the
//! [`blocking`](super::blocking) and [`asynch`](super::asynch) adapters are short loops over
//! it.
//!
//! See the [module documentation](super) for the loops.

#[cfg(feature = "deflate")]
mod deflate;
mod handshake;
mod pending;
mod pipeline;
mod policy;
mod send;

#[cfg(feature = "deflate")]
pub use deflate::Deflate;
pub use handshake::PendingRequest;
pub use policy::Refusal;

use rand_core::RngCore;

use super::{Buffer, Closed, HandshakeFailure, MIN_BUFFER};
use crate::connection::{Client, Endpoint, Event, Limit, Server, State, TimedOut};
use crate::error::{ProtocolError, ReceiveError, SendError};
use crate::handshake::client::{ClientRequest, Expected};
use crate::handshake::server::ServerOptions;
use crate::handshake::{WriteError, DEFAULT_MAX_HEAD_LEN};
use crate::message::{Message, Reassembler, SliceStorage, Storage};
use crate::{Config, Connection};
use handshake::Decision;
use pending::{Pending, Place};

/// How many header lines a handshake head may have unless the driver's `H` says otherwise.
pub const DEFAULT_MAX_HEADERS: usize = 32;

/// What to do next: the value of [`Driver::poll`], borrowing the driver's buffers.
#[derive(Debug)]
pub enum Poll<'d> {
    /// Write these bytes to the stream, as many as it takes, then report the count with
    /// [`Driver::write_done`]. Short writes are fine: the rest comes back on the next poll.
    Write(&'d [u8]),
    /// Read from the stream into `buf`, then report the count with [`Driver::read_done`]
    /// (0 only at the end of the stream). When nothing arrives, wake up at `wake_at` (the
    /// [`Connection::poll_timeout`] deadline, in the caller's milliseconds) and poll again.
    Read {
        /// Where the next bytes go.
        buf: &'d mut [u8],
        /// When to poll again even if nothing arrives.
        wake_at: Option<u64>,
    },
    /// Server: a complete, valid upgrade request. Look at it, then accept it or refuse it
    /// with the [`PendingRequest`]; until then every poll returns it again.
    Request(PendingRequest<'d>),
    /// The opening handshake is done (client: the chosen subprotocol is
    /// [`Driver::subprotocol`]). Returned once.
    Open,
    /// Something from the peer, borrowing `rx`. Whatever it obliges (the pong for a ping, the
    /// reply to a close) is queued already, ahead of anything sent after it. Events from the
    /// input already received keep coming while a write is blocked.
    Event(Event<'d>),
    /// The connection is over; the reason stays the same on every later poll. Close the
    /// stream now, gracefully: see the [module documentation](super#closing-the-stream).
    Closed(Closed),
}

/// What to do next, without borrowing: [`Poll`] for loops that must return an event from a
/// function (the borrow checker does not let a loop return a borrowed [`Poll::Event`]). The
/// bytes are fetched afterwards: [`Driver::output`], [`Driver::read_buf`], [`Driver::event`]
/// or [`Driver::message`], [`Driver::request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// Write [`Driver::output`], then [`Driver::write_done`].
    Write,
    /// Read into [`Driver::read_buf`], then [`Driver::read_done`].
    Read,
    /// Decide on [`Driver::request`].
    Request,
    /// The opening handshake is done.
    Open,
    /// Take [`Driver::event`] (or [`Driver::message`] after
    /// [`advance_message`](Driver::advance_message)).
    Event,
    /// The connection is over.
    Closed(Closed),
}

/// Where the driver stands.
#[derive(Debug, Clone, Copy)]
enum Phase<'b> {
    /// Server: reading the request head into `rx[..rx_end]`.
    ServerHead(ServerOptions<'b>),
    /// Server: the head is `rx[..head]`; waiting for the application's decision.
    ServerDecide { head: usize },
    /// Client: the request is in `tx`; reading the response head into `rx[..rx_end]`.
    ClientHead {
        expected: Expected<'b>,
        offered: &'b [&'b str],
        max_head_len: usize,
    },
    /// The handshake is done; [`Step::Open`] not returned yet.
    Opening,
    /// Frames flow.
    Open,
    /// Over before the connection started: refused, or a buffer too small. Closed once `tx`
    /// (the refusal) is written.
    Ended(Closed),
}

/// A sans-IO driver of one WebSocket connection over a byte stream, for endpoint `E`
/// ([`Server`] or [`Client`]), with the caller's receive (`rx`) and transmit (`tx`) buffers.
/// `H` bounds the header lines of a handshake head.
///
/// Call [`poll`](Self::poll) (or [`advance`](Self::advance)) and do what it says; queue
/// frames with the `send_*` methods. See the [module documentation](super) for the loops and
/// the rules.
#[derive(Debug)]
pub struct Driver<'b, E: Endpoint, const H: usize = DEFAULT_MAX_HEADERS> {
    conn: Connection<E>,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
    /// `rx[rx_start..rx_end]` has arrived and is not consumed.
    rx_start: usize,
    rx_end: usize,
    /// `tx[tx_start..tx_end]` is queued and not written.
    tx_start: usize,
    tx_end: usize,
    phase: Phase<'b>,
    /// The server's decision on the request, once made.
    decision: Decision,
    /// An event received and not yet handed out; its bytes end at `rx_start`.
    pending: Option<Pending>,
    /// Payload bytes still owed for a frame whose header is queued.
    sending: u64,
    /// A read returned 0.
    eof: bool,
    /// The peer's protocol violation, reported once its close frame is out.
    error: Option<ProtocolError>,
    /// What a timer ended.
    timed_out: Option<TimedOut>,
    /// The subprotocol the server chose, as the client offered it.
    subprotocol: Option<&'b str>,
    /// The driver's clock: the latest `now` it was given.
    now: u64,
    /// When the opening handshake must be done by.
    deadline: Option<u64>,
    /// Rate limits on what is received.
    limiter: Option<policy::Limiter<'b>>,
    /// The limit the peer went over (with `OnExceed::Fail`).
    limited: Option<Limit>,
    /// How long the slice of the last `read_buf` was: a read into an empty one proves nothing.
    offered: usize,
    /// permessage-deflate, when the caller opted in: storage the caller owns, so a driver
    /// without it is one pointer larger (and not at all without the feature).
    #[cfg(feature = "deflate")]
    deflate: Option<&'b mut Deflate<'b>>,
}

impl<'b> Driver<'b, Server> {
    /// A server that reads the upgrade request, checks it against `options`, and hands it to
    /// the caller to accept or refuse ([`Poll::Request`]).
    ///
    /// `rx` must hold the whole request head and `tx` the response; both at least
    /// [`MIN_BUFFER`] bytes, else the first poll is [`Closed::BufferTooSmall`]. For another
    /// header capacity use [`server_with_headers`](Driver::server_with_headers).
    pub fn server(
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        options: &ServerOptions<'b>,
    ) -> Self {
        Driver::server_with_headers(rx, tx, config, options)
    }
}

impl<'b, R: RngCore> Driver<'b, Client<R>> {
    /// A client that writes `request` (with a nonce from `rng`) into `tx`, then reads and
    /// validates the response; its frames are masked with keys from `rng`.
    ///
    /// `tx` must hold the request and `rx` the response head (at most
    /// [`DEFAULT_MAX_HEAD_LEN`] bytes unless [`max_head_len`](Self::max_head_len) says
    /// otherwise). A problem shows on the first poll: [`Closed::BufferTooSmall`] names the
    /// buffer and the size it needs.
    pub fn client(
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        rng: R,
        request: &ClientRequest<'b>,
    ) -> Self {
        Driver::client_with_headers(rx, tx, config, rng, request)
    }
}

impl<'b, const H: usize> Driver<'b, Server, H> {
    /// [`Driver::server`] for heads of up to `H` header lines:
    /// `Driver::<Server, 64>::server_with_headers(..)`.
    pub fn server_with_headers(
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        options: &ServerOptions<'b>,
    ) -> Self {
        let conn = Connection::server(config);
        let mut driver = Self::with_phase(conn, rx, tx, Phase::ServerHead(*options));
        driver.check_buffers();
        driver
    }
}

impl<'b, R: RngCore, const H: usize> Driver<'b, Client<R>, H> {
    /// [`Driver::client`] for heads of up to `H` header lines.
    pub fn client_with_headers(
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        mut rng: R,
        request: &ClientRequest<'b>,
    ) -> Self {
        let fits = rx.len() >= MIN_BUFFER && tx.len() >= MIN_BUFFER;
        let written = fits.then(|| request.write_with_rng(&mut rng, tx));
        let conn = Connection::client(config, rng);
        let mut driver = Self::with_phase(conn, rx, tx, Phase::Opening);
        driver.check_buffers();
        match written {
            Some(Ok((n, expected))) => {
                driver.tx_end = n.min(driver.tx.len());
                driver.phase = Phase::ClientHead {
                    expected,
                    offered: request.subprotocols,
                    max_head_len: DEFAULT_MAX_HEAD_LEN,
                };
            }
            Some(Err(e)) => driver.phase = Phase::Ended(write_failure(e)),
            None => {}
        }
        driver
    }

    /// Sets the longest response head accepted (default [`DEFAULT_MAX_HEAD_LEN`]); a longer
    /// one fails the handshake. `rx` must be at least this long to receive any head the limit
    /// allows.
    #[must_use]
    pub fn max_head_len(mut self, limit: usize) -> Self {
        if let Phase::ClientHead { max_head_len, .. } = &mut self.phase {
            *max_head_len = limit;
        }
        self
    }

    /// The subprotocol the server chose, as offered in the request; known once
    /// [`Poll::Open`] has been returned.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&'b str> {
        self.subprotocol
    }
}

#[cfg(feature = "deflate")]
impl<'b, const H: usize> Driver<'b, Server, H> {
    /// Answers the client's permessage-deflate offer (RFC 7692 §5) with `deflate`'s
    /// configuration ([`accept_offer`](crate::extensions::deflate::accept_offer)), unless the
    /// application's [`Accept`](crate::handshake::server::Accept) names extensions itself.
    /// Once open, compressed messages come out inflated, as [`Event::Data`] chunks with
    /// `rsv == 0` borrowing `deflate`'s window (or whole, with
    /// [`advance_message`](Self::advance_message)), and sending stays uncompressed unless the
    /// caller compresses (RSV1). Call it before the first poll.
    #[must_use]
    pub fn deflate(mut self, deflate: &'b mut Deflate<'b>) -> Self {
        if matches!(self.phase, Phase::ServerHead(_)) {
            // RSV1 is allowed once the extension is agreed (`apply_decision`).
            self.deflate = Some(deflate);
        }
        self
    }
}

#[cfg(feature = "deflate")]
impl<'b, R: RngCore> Driver<'b, Client<R>> {
    /// [`Driver::client`] offering permessage-deflate: `request.extensions` must
    /// be the offer, `deflate.offer().header()`. The server's answer is checked (RFC 7692
    /// §7.1): one that does not fit the offer fails the connection with 1010
    /// ([`Closed::Negotiation`]). Once open, compressed messages come out inflated, as
    /// [`Event::Data`] chunks with `rsv == 0` (or whole, with
    /// [`advance_message`](Driver::advance_message)).
    pub fn client_deflate(
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        rng: R,
        request: &ClientRequest<'b>,
        deflate: &'b mut Deflate<'b>,
    ) -> Self {
        Self::client_deflate_with_headers(rx, tx, config, rng, request, deflate)
    }
}

#[cfg(feature = "deflate")]
impl<'b, R: RngCore, const H: usize> Driver<'b, Client<R>, H> {
    /// [`Driver::client_deflate`] for heads of up to `H` header lines.
    pub fn client_deflate_with_headers(
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        rng: R,
        request: &ClientRequest<'b>,
        deflate: &'b mut Deflate<'b>,
    ) -> Self {
        // RSV1 is allowed once the server's answer agrees to the extension.
        Self::client_with_headers(rx, tx, config, rng, request).with_deflate(deflate)
    }

    fn with_deflate(mut self, deflate: &'b mut Deflate<'b>) -> Self {
        self.deflate = Some(deflate);
        self
    }
}

#[cfg(feature = "deflate")]
impl<'b, E: Endpoint, const H: usize> Driver<'b, E, H> {
    /// What permessage-deflate agreed in the opening handshake; `None` without the opt-in, before
    /// the handshake is done, or when it was declined.
    #[must_use]
    pub fn deflate_agreed(&self) -> Option<crate::extensions::deflate::Agreed> {
        self.deflate.as_deref().and_then(Deflate::agreed)
    }
}

impl<'b, E: Endpoint> Driver<'b, E> {
    /// A driver for a connection whose handshake was done elsewhere (RFC 8441, or a head
    /// parsed by hand): `rx[..buffered]` holds the bytes received after the head. It starts
    /// open, without [`Poll::Open`].
    pub fn new(conn: Connection<E>, rx: &'b mut [u8], tx: &'b mut [u8], buffered: usize) -> Self {
        let mut driver = Self::with_phase(conn, rx, tx, Phase::Open);
        driver.rx_end = buffered.min(driver.rx.len());
        driver.check_buffers();
        driver
    }
}

/// The [`Closed`] reason of a request or response that could not be written.
fn write_failure(e: WriteError) -> Closed {
    match e {
        WriteError::BufferTooSmall { needed } => Closed::BufferTooSmall {
            buffer: Buffer::Tx,
            needed,
        },
        e => Closed::Handshake(HandshakeFailure::Write(e)),
    }
}

impl<'b, E: Endpoint, const H: usize> Driver<'b, E, H> {
    fn with_phase(
        conn: Connection<E>,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        phase: Phase<'b>,
    ) -> Self {
        Self {
            conn,
            rx,
            tx,
            rx_start: 0,
            rx_end: 0,
            tx_start: 0,
            tx_end: 0,
            phase,
            decision: Decision::Undecided,
            pending: None,
            sending: 0,
            eof: false,
            error: None,
            timed_out: None,
            subprotocol: None,
            now: 0,
            deadline: None,
            limiter: None,
            limited: None,
            offered: usize::MAX,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Both buffers must hold any frame header and any whole control frame.
    fn check_buffers(&mut self) {
        for (buffer, len) in [(Buffer::Rx, self.rx.len()), (Buffer::Tx, self.tx.len())] {
            if len < MIN_BUFFER {
                self.phase = Phase::Ended(Closed::BufferTooSmall {
                    buffer,
                    needed: MIN_BUFFER,
                });
                return;
            }
        }
    }

    /// The connection: its state and configuration.
    pub const fn connection(&self) -> &Connection<E> {
        &self.conn
    }

    /// The connection, to call [`Connection::fail`] (then poll: the close goes out).
    pub fn connection_mut(&mut self) -> &mut Connection<E> {
        &mut self.conn
    }

    /// The opening handshake is done: frames can be sent and received.
    #[must_use]
    pub const fn handshake_done(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::Opening)
    }

    /// The next deadline, in the milliseconds of the `now` given to
    /// [`handle_timeout`](Self::handle_timeout): the opening handshake's
    /// ([`handshake_deadline`](Self::handshake_deadline)), keepalive, the close handshake, or
    /// the end of a pause of a rate limiter ([`resume_at`](Self::resume_at)).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.phase {
            Phase::Open => match (self.conn.poll_timeout(), self.resume_at()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            _ => self.deadline(),
        }
    }

    /// Advances the connection's timers to `now` (milliseconds, monotonic): queues a
    /// keepalive ping, fails a silent peer, ends an unanswered close. Returns what timed out,
    /// once; the next poll writes what it owes. During the opening handshake it checks the
    /// [`handshake_deadline`](Self::handshake_deadline) instead (returning `None`). Safe to
    /// call at any time, too often included; a `now` earlier than one given before counts as
    /// that one.
    pub fn handle_timeout(&mut self, now: u64) -> Option<TimedOut> {
        let now = now.max(self.now);
        self.now = now;
        if !matches!(self.phase, Phase::Open) {
            self.check_deadline(now);
            return None;
        }
        let fired = self.conn.handle_timeout(now);
        if fired.is_some() {
            self.timed_out = fired;
        }
        fired
    }

    /// [`handle_timeout(now)`](Self::handle_timeout), then [`step`](Self::step): what to do
    /// next.
    pub fn poll(&mut self, now: u64) -> Poll<'_> {
        let _ = self.handle_timeout(now);
        self.step()
    }

    /// What to do next, without advancing the timers: for callers without a clock, or that
    /// call [`handle_timeout`](Self::handle_timeout) themselves.
    pub fn step(&mut self) -> Poll<'_> {
        match self.advance() {
            Step::Write => Poll::Write(self.output()),
            Step::Read => {
                let wake_at = self.poll_timeout();
                Poll::Read {
                    buf: self.read_buf(),
                    wake_at,
                }
            }
            Step::Request => match self.request() {
                Some(pending) => Poll::Request(pending),
                None => Poll::Closed(Closed::Done),
            },
            Step::Open => Poll::Open,
            Step::Event => match self.event() {
                Some(event) => Poll::Event(event),
                None => Poll::Closed(Closed::Done),
            },
            Step::Closed(closed) => Poll::Closed(closed),
        }
    }

    /// [`step`](Self::step) without the borrow: says what to do; the bytes come from
    /// [`output`](Self::output), [`read_buf`](Self::read_buf), [`event`](Self::event) and
    /// [`request`](Self::request).
    pub fn advance(&mut self) -> Step {
        self.advance_with::<SliceStorage<'static>>(None)
    }

    /// [`advance`](Self::advance) towards whole messages: data is collected in `messages`,
    /// and [`Step::Event`] means [`message`](Self::message) is ready. A message larger than
    /// the storage fails the connection with 1009; with permessage-deflate the messages are
    /// collected inflated, and the limit is on their inflated size.
    pub fn advance_message<S: Storage>(&mut self, messages: &mut Reassembler<S>) -> Step {
        self.advance_with(Some(messages))
    }

    fn advance_with<S: Storage>(&mut self, mut messages: Option<&mut Reassembler<S>>) -> Step {
        loop {
            // Handshake heads go out whole before anything else happens.
            if self.tx_start < self.tx_end && !matches!(self.phase, Phase::Open) {
                return Step::Write;
            }
            match self.phase {
                Phase::Ended(closed) => return Step::Closed(closed),
                Phase::ServerHead(options) => {
                    if let Some(step) = self.server_head(&options) {
                        return step;
                    }
                }
                Phase::ServerDecide { head } => {
                    if let Some(step) = self.apply_decision(head) {
                        return step;
                    }
                }
                Phase::ClientHead {
                    expected,
                    offered,
                    max_head_len,
                } => {
                    if let Some(step) = self.client_head(&expected, offered, max_head_len) {
                        return step;
                    }
                }
                Phase::Opening => {
                    self.phase = Phase::Open;
                    return Step::Open;
                }
                Phase::Open => return self.advance_open(messages.as_deref_mut()),
            }
        }
    }

    /// The open connection: what is owed is queued first, then the buffered input is turned
    /// into events one at a time, then what is queued is written, then a read. So events keep
    /// coming while a write is blocked, and no read is asked for until `tx` is written.
    fn advance_open<S: Storage>(&mut self, mut messages: Option<&mut Reassembler<S>>) -> Step {
        let mut refused = false;
        loop {
            if let Err(needed) = self.queue_owed() {
                let closed = Closed::BufferTooSmall {
                    buffer: Buffer::Tx,
                    needed,
                };
                self.phase = Phase::Ended(closed);
                return Step::Closed(closed);
            }
            if self.pending.is_some() {
                return Step::Event;
            }
            let queued = self.tx_start < self.tx_end;
            if self.conn.state() == State::Closed {
                if queued {
                    return Step::Write;
                }
                return Step::Closed(self.closed_reason());
            }
            let start = self.rx_start;
            if start > self.rx_end {
                self.rx_start = self.rx_end;
                continue;
            }
            match self.receive_next(start, messages.as_deref_mut()) {
                Ok(taken) => {
                    self.rx_start = start.saturating_add(taken.consumed).min(self.rx_end);
                    if taken.pending.is_some() {
                        self.pending = taken.pending;
                        continue;
                    }
                    if taken.progress {
                        continue;
                    }
                }
                // The close frame it owes is queued: written next, then reported.
                Err(ReceiveError::Protocol(e)) => {
                    self.error = Some(e);
                    continue;
                }
                // The connection failed and takes no more input (a rate limit, an inflate
                // failure: the reason is kept). Once per call, go round again so that the
                // close it owes is queued and written before any read is asked for.
                Err(_) if !refused => {
                    refused = true;
                    self.rx_start = self.rx_end;
                    continue;
                }
                Err(_) => self.rx_start = self.rx_end,
            }
            if queued {
                return Step::Write;
            }
            if self.eof {
                // Nothing more will come: the connection is closed, 1006 unless it was clean.
                let _ = self.conn.receive_eof();
                return Step::Closed(self.closed_reason());
            }
            return Step::Read;
        }
    }

    /// Why the connection closed.
    fn closed_reason(&self) -> Closed {
        let clean = self.conn.close_outcome().is_some_and(|o| o.clean);
        #[cfg(feature = "deflate")]
        if let Some(closed) = self.deflate.as_deref().and_then(Deflate::closed) {
            return closed;
        }
        match (self.error, self.timed_out) {
            (Some(e), _) => Closed::Protocol(e),
            (None, _) if self.limited.is_some() => {
                Closed::RateLimited(self.limited.unwrap_or(Limit::Messages))
            }
            (None, Some(t)) => Closed::TimedOut(t),
            (None, None) if self.eof && !clean => Closed::Eof,
            (None, None) => Closed::Done,
        }
    }

    /// Queues the frames the connection owes (pong, close reply, close after a failure,
    /// keepalive ping) into the free end of `tx`. `Err` with the size needed when even an
    /// empty `tx` cannot hold one.
    pub(crate) fn queue_owed(&mut self) -> Result<(), usize> {
        if !matches!(self.phase, Phase::Open) {
            return Ok(());
        }
        loop {
            self.compact_tx();
            let free = self.tx.get_mut(self.tx_end..).unwrap_or_default();
            match self.conn.poll_transmit(free) {
                Ok(0) => return Ok(()),
                Ok(n) => self.tx_end = self.tx_end.saturating_add(n).min(self.tx.len()),
                Err(SendError::BufferTooSmall { needed }) if self.tx_end == 0 => {
                    return Err(needed)
                }
                // Room comes once the queued bytes are written.
                Err(_) => return Ok(()),
            }
        }
    }

    /// Moves the queued bytes of `tx` to its front.
    fn compact_tx(&mut self) {
        if self.tx_start > 0 {
            self.tx.copy_within(self.tx_start..self.tx_end, 0);
            self.tx_end -= self.tx_start;
            self.tx_start = 0;
        }
    }

    /// The bytes to write next: `tx`'s queued bytes (empty when nothing is queued).
    #[must_use]
    pub fn output(&self) -> &[u8] {
        self.tx.get(self.tx_start..self.tx_end).unwrap_or_default()
    }

    /// `n` bytes of [`output`](Self::output) were written (a short write is fine); the rest
    /// stays queued.
    pub fn write_done(&mut self, n: usize) {
        self.tx_start = self.tx_start.saturating_add(n).min(self.tx_end);
        if self.tx_start == self.tx_end {
            self.tx_start = 0;
            self.tx_end = 0;
        }
    }

    /// Where the next received bytes go: the free end of `rx`, after moving the unconsumed
    /// bytes (at most a frame header or a control frame, and an event not yet taken) to the
    /// front. Reading is allowed at any time, also while a write is blocked; the slice is
    /// empty only when `rx` is full of input not yet handed out, or while a rate limiter
    /// pauses reading ([`resume_at`](Self::resume_at)). A read into an empty slice is no read:
    /// its 0 is not the end of the stream.
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.resume_at().is_some() {
            self.offered = 0;
            return &mut [];
        }
        if matches!(self.phase, Phase::Open) {
            let keep = self.pending.map_or(0, |p| p.rx_len());
            let from = self.rx_start.saturating_sub(keep);
            if from > 0 {
                self.rx.copy_within(from..self.rx_end, 0);
                self.rx_start -= from;
                self.rx_end -= from;
            }
        }
        let buf = self.rx.get_mut(self.rx_end..).unwrap_or_default();
        self.offered = buf.len();
        buf
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf); 0 is the end of the stream
    /// (report nothing when a non-blocking read found no data), unless the slice was empty.
    pub fn read_done(&mut self, n: usize) {
        if n == 0 && self.offered == 0 {
            // A read into nothing: it says nothing about the stream.
        } else if n == 0 {
            self.eof = true;
        } else {
            self.rx_end = self.rx_end.saturating_add(n).min(self.rx.len());
        }
    }

    /// The length of `rx`.
    #[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
    pub(crate) fn rx_len(&self) -> usize {
        self.rx.len()
    }

    /// The whole receive buffer, once it no longer matters what it holds: for draining a
    /// stream that is being closed.
    #[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
    pub(crate) fn scratch(&mut self) -> &mut [u8] {
        self.pending = None;
        self.rx_start = 0;
        self.rx_end = 0;
        self.rx
    }

    /// The event announced by [`Step::Event`], borrowing `rx`; `None` when there is none.
    pub fn event(&mut self) -> Option<Event<'_>> {
        let Some(Pending::Event { event, len, at }) = self.pending else {
            return None;
        };
        self.pending = None;
        let bytes = match at {
            Place::Window => self.inflated(),
            Place::Input | Place::Storage => self.consumed_tail(len),
        };
        Some(pending::event_with(event, bytes))
    }

    /// The message announced by [`Step::Event`] after
    /// [`advance_message`](Self::advance_message), borrowing `rx`, `messages`' storage or the
    /// inflate window.
    pub fn message<'s, S: Storage>(
        &'s mut self,
        messages: &'s Reassembler<S>,
    ) -> Option<Message<'s>> {
        let Some(Pending::Message { message, len, at }) = self.pending else {
            return None;
        };
        self.pending = None;
        let bytes = match at {
            Place::Storage => messages.storage().bytes(),
            Place::Window => self.inflated(),
            Place::Input => self.consumed_tail(len),
        };
        Some(pending::message_with(message, bytes))
    }

    /// The decompressed chunk the inflate stage handed out last.
    fn inflated(&self) -> &[u8] {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref() {
            return deflate.inflated();
        }
        &[]
    }

    /// The last `len` bytes consumed from `rx`.
    fn consumed_tail(&self, len: usize) -> &[u8] {
        let end = self.rx_start;
        self.rx
            .get(end.saturating_sub(len)..end)
            .unwrap_or_default()
    }

    /// The upgrade request announced by [`Step::Request`] (server).
    pub fn request(&mut self) -> Option<PendingRequest<'_>> {
        let Phase::ServerDecide { head } = self.phase else {
            return None;
        };
        let head = self.rx.get(..head).unwrap_or_default();
        let pending = PendingRequest::new(head, self.tx, &mut self.decision);
        #[cfg(feature = "deflate")]
        let pending = pending.with_deflate(self.deflate.as_deref().map(|d| *d.config()));
        Some(pending)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod policy_tests;
