//! The one body of the blocking and async adapters: loops over the [`Driver`](super::Driver) (RFC 6455 §4–§7).
//!
//! [`adapter!`] writes the `WebSocket` type, its methods and the `HalfClose` trait once;
//! `blocking.rs` invokes it with nothing and `asynch.rs` with `async` / `.await`, each with its
//! own `Read` and `Write` traits in scope. Every method is a few lines of "ask the driver,
//! move the bytes".

/// How much a graceful close reads (and drops) after half-closing, waiting for the peer to
/// end the stream: at most `reads` reads and `bytes` bytes. The stream's own read timeout (or
/// an async timeout around the call) bounds each wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Drain {
    /// The most reads.
    pub reads: u32,
    /// The most bytes read.
    pub bytes: usize,
}

impl Drain {
    /// 16 reads, 64 KiB.
    pub const DEFAULT: Self = Self {
        reads: 16,
        bytes: 64 * 1024,
    };
}

impl Default for Drain {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Writes the adapter for one flavour: `adapter!([async] [.await])` or `adapter!([] [])`.
#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
macro_rules! adapter {
    ([$($async:tt)*] [$($await:tt)*]) => {

/// How to end the sending side of a stream while still reading from it (TCP's
/// `shutdown(Write)`), for [`WebSocket::close_stream`] and [`close_stream`]. Errors are the
/// implementation's to ignore: the stream is being given back. Any `FnMut(&mut T)` is one;
/// [`NoHalfClose`] is for streams that have none.
#[allow(async_fn_in_trait)]
pub trait HalfClose<T: ?Sized> {
    /// Ends the sending side of `stream`.
    $($async)* fn half_close(&mut self, stream: &mut T);
}

impl<T: ?Sized, F: FnMut(&mut T)> HalfClose<T> for F {
    $($async)* fn half_close(&mut self, stream: &mut T) {
        self(stream)
    }
}

/// A stream without a half-close: the graceful close only drains.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHalfClose;

impl<T: ?Sized> HalfClose<T> for NoHalfClose {
    $($async)* fn half_close(&mut self, _: &mut T) {}
}

/// Half-closes `stream` with `half_close`, then reads into `scratch` and drops what arrives,
/// within `drain`, until the peer ends the stream. For a stream whose connection is over, or
/// never started (after a refused handshake): the peer reads all we wrote instead of a reset.
pub $($async)* fn close_stream<T: Read>(
    stream: &mut T,
    mut half_close: impl HalfClose<T>,
    scratch: &mut [u8],
    drain: $crate::io::Drain,
) {
    half_close.half_close(stream) $($await)*;
    let (mut reads, mut bytes) = (0, 0);
    while reads < drain.reads && bytes < drain.bytes && !scratch.is_empty() {
        match stream.read(scratch) $($await)* {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes += n,
        }
        reads += 1;
    }
}

/// A WebSocket connection over a stream `T`, for endpoint `E` ([`Server`] or [`Client`]),
/// with caller-supplied receive and transmit buffers: a [`Driver`] and the loops that move its
/// bytes. `H` bounds the header lines of the handshake head.
#[derive(Debug)]
pub struct WebSocket<'b, T, E: Endpoint, const H: usize = DEFAULT_MAX_HEADERS> {
    stream: T,
    driver: Driver<'b, E, H>,
    /// A protocol error has been returned once; later calls say [`Error::Closed`].
    reported: bool,
    /// Bytes were written since the stream was last flushed.
    unflushed: bool,
}

impl<'b, T: Read + Write> WebSocket<'b, T, Server> {
    /// Runs the server side of the opening handshake on `stream`: reads the request, lets
    /// `select` accept it (choosing a subprotocol, adding headers) or refuse it with a
    /// [`HandshakeError`] (answered with its HTTP status), and writes the response.
    ///
    /// `rx` must hold the whole request head, and `tx` the response. Frames the client sent
    /// right after its head stay in `rx` for the first [`next_event`](Self::next_event). After
    /// an error, close the stream with [`close_stream`] (pass `&mut stream` to keep it).
    pub $($async)* fn accept<'a>(
        stream: T,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        options: &ServerOptions<'b>,
        select: impl FnOnce(&Request<'_, '_>) -> Result<Accept<'a>, HandshakeError>,
    ) -> Result<Self, Error<T::Error>> {
        let driver = Driver::server(rx, tx, config, options);
        Self::accept_on(stream, driver, select) $($await)*
    }
}

impl<'b, T: Read + Write, const H: usize> WebSocket<'b, T, Server, H> {
    /// [`accept`](WebSocket::accept) with a driver made by the caller
    /// ([`Driver::server_with_headers`] for another header capacity).
    pub $($async)* fn accept_on<'a>(
        stream: T,
        driver: Driver<'b, Server, H>,
        select: impl FnOnce(&Request<'_, '_>) -> Result<Accept<'a>, HandshakeError>,
    ) -> Result<Self, Error<T::Error>> {
        Self::accept_with(stream, driver, |pending| {
            let mut headers = [httparse::EMPTY_HEADER; H];
            match pending.request(&mut headers) {
                Ok(request) => match select(&request) {
                    // A response that cannot be written ends the driver, with its reason.
                    Ok(accept) => pending.accept(&request, &accept).unwrap_or(()),
                    Err(e) => pending.refuse(e),
                },
                Err(e) => pending.refuse(e),
            }
        }) $($await)*
    }

    /// [`accept_on`](WebSocket::accept_on) where `select` answers with
    /// the application's own [`Rejection`](crate::handshake::Rejection) when it refuses: a
    /// 401 with `WWW-Authenticate`, a 403, a 503 with `Retry-After`. The rejection is written
    /// whole, then the call returns [`HandshakeFailure::Rejected`](crate::io::HandshakeFailure)
    /// with its status; then end the stream with [`close_stream`] (pass `&mut stream` to keep
    /// it), so the client reads the refusal rather than a reset. A rejection that cannot be
    /// written (an invalid header value) is not sent: the error says why
    /// ([`HandshakeFailure::Write`](crate::io::HandshakeFailure::Write)).
    pub $($async)* fn accept_or_reject<'a>(
        stream: T,
        driver: Driver<'b, Server, H>,
        select: impl FnOnce(&Request<'_, '_>) -> Result<Accept<'a>, $crate::handshake::Rejection<'a>>,
    ) -> Result<Self, Error<T::Error>> {
        Self::accept_with(stream, driver, decide_with::<'a, H>(select)) $($await)*
    }

    /// [`accept_or_reject`](WebSocket::accept_or_reject) on a clock: `now` (milliseconds, the
    /// clock of the driver's [`handshake_deadline`](Driver::handshake_deadline)) is read
    /// before each step and after a failed read. A client that is still sending its head at
    /// the deadline gets `408 Request Timeout` and the call returns
    /// [`HandshakeFailure::TimedOut`](crate::io::HandshakeFailure::TimedOut). Give the stream a
    /// read timeout that ends at (or just after) the deadline: a read that fails then is the
    /// deadline, not an error.
    pub $($async)* fn accept_timed<'a>(
        stream: T,
        driver: Driver<'b, Server, H>,
        now: impl FnMut() -> u64,
        select: impl FnOnce(&Request<'_, '_>) -> Result<Accept<'a>, $crate::handshake::Rejection<'a>>,
    ) -> Result<Self, Error<T::Error>> {
        let mut ws = Self::from_driver(stream, driver);
        ws.handshake(Some(now), decide_with::<'a, H>(select)) $($await)*?;
        Ok(ws)
    }

    /// [`accept_on`](WebSocket::accept_on) where `decide` gets the
    /// [`PendingRequest`](crate::io::PendingRequest) itself: to answer with the
    /// application's own [`Rejection`](crate::handshake::Rejection) (a 401 with
    /// `WWW-Authenticate`, a redirect), or to parse the request with more header room.
    pub $($async)* fn accept_with(
        stream: T,
        driver: Driver<'b, Server, H>,
        decide: impl FnOnce($crate::io::PendingRequest<'_>),
    ) -> Result<Self, Error<T::Error>> {
        let mut ws = Self::from_driver(stream, driver);
        ws.handshake(None::<fn() -> u64>, decide) $($await)*?;
        Ok(ws)
    }

    /// Runs the server's handshake; `now`, when given, is the clock of the deadline.
    $($async)* fn handshake(
        &mut self,
        mut now: Option<impl FnMut() -> u64>,
        decide: impl FnOnce($crate::io::PendingRequest<'_>),
    ) -> Result<(), Error<T::Error>> {
        let ws = self;
        let mut decide = Some(decide);
        loop {
            if let Some(now) = now.as_mut() {
                let _ = ws.driver.handle_timeout(now());
            }
            match ws.driver.advance() {
                Step::Write => ws.write() $($await)* ?,
                Step::Read => {
                    if let Err(e) = ws.read() $($await)* {
                        let t = now.as_mut().map(|now| now());
                        // A read that failed at the deadline: the next step answers 408.
                        let late = ws.driver.poll_timeout().zip(t).is_some_and(|(at, t)| t >= at);
                        if !(late && matches!(e, Error::Io(_))) {
                            return Err(e);
                        }
                    }
                }
                Step::Request => match (ws.driver.request(), decide.take()) {
                    (Some(pending), Some(decide)) => decide(pending),
                    // Asked again: `decide` did not decide.
                    (Some(pending), None) => pending.refuse(HandshakeError::Malformed),
                    (None, _) => {}
                },
                Step::Open | Step::Event => return Ok(()),
                Step::Closed(closed) => {
                    let _ = ws.flush_stream() $($await)*;
                    return Err(closed.into());
                }
            }
        }
    }
}

/// The decision of [`WebSocket::accept_or_reject`]: parse, ask `select`, accept or reject.
fn decide_with<'a, const H: usize>(
    select: impl FnOnce(&Request<'_, '_>) -> Result<Accept<'a>, $crate::handshake::Rejection<'a>>,
) -> impl FnOnce($crate::io::PendingRequest<'_>) {
    move |pending| {
        let mut headers = [httparse::EMPTY_HEADER; H];
        match pending.request(&mut headers) {
            // A response that cannot be written ends the driver, with its reason.
            Ok(request) => match select(&request) {
                Ok(accept) => pending.accept(&request, &accept).unwrap_or(()),
                Err(rejection) => pending.reject(&rejection).unwrap_or(()),
            },
            Err(e) => pending.refuse(e),
        }
    }
}

/// Why [`WebSocket::connect`] failed: the server's refusal, borrowed from `rx` (`'b`), or
/// anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectError<'b, E> {
    /// The server answered with a status other than 101: its status, the headers that say
    /// why (`WWW-Authenticate`, `Location`, `Retry-After`) and the start of its body.
    Refused($crate::io::Refusal<'b>),
    /// Anything else: I/O, an invalid 101, a buffer too small, the handshake deadline.
    Other(Error<E>),
}

impl<E> From<Error<E>> for ConnectError<'_, E> {
    fn from(e: Error<E>) -> Self {
        Self::Other(e)
    }
}

impl<E> From<ConnectError<'_, E>> for Error<E> {
    /// A refusal is [`HandshakeFailure::Response`](crate::io::HandshakeFailure::Response) of
    /// [`ResponseError::Refused`](crate::handshake::client::ResponseError::Refused) with its
    /// status: the headers are dropped.
    fn from(e: ConnectError<'_, E>) -> Self {
        match e {
            ConnectError::Refused(r) => Error::Handshake($crate::io::HandshakeFailure::Response(
                $crate::handshake::client::ResponseError::Refused { status: r.status },
            )),
            ConnectError::Other(e) => e,
        }
    }
}

impl<E: core::fmt::Display> core::fmt::Display for ConnectError<'_, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Refused(r) => write!(f, "upgrade refused with {} {}", r.status, r.reason),
            Self::Other(e) => core::fmt::Display::fmt(e, f),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for ConnectError<'_, E> {}

impl<'b, T: Read + Write, R: RngCore> WebSocket<'b, T, Client<R>> {
    /// Runs the client side of the opening handshake on `stream`: writes `request` (with a
    /// nonce from `rng`), reads and validates the response. Returns the connection, which masks
    /// its frames with keys from `rng`, and the subprotocol the server chose.
    ///
    /// `tx` must hold the whole request head, and `rx` the whole response head; when one does
    /// not, [`Error::BufferTooSmall`] names it and the size it needs. A server that refuses
    /// (401, 403, 503...) is [`ConnectError::Refused`], with what it said, borrowed from `rx`.
    pub $($async)* fn connect(
        stream: T,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        rng: R,
        request: &ClientRequest<'b>,
    ) -> Result<(Self, Option<&'b str>), ConnectError<'b, T::Error>> {
        let driver = Driver::client(rx, tx, config, rng, request);
        Self::connect_on(stream, driver) $($await)*
    }
}

impl<'b, T: Read + Write, R: RngCore, const H: usize> WebSocket<'b, T, Client<R>, H> {
    /// [`connect`](WebSocket::connect) with a driver made by the caller (another header
    /// capacity, [`Driver::max_head_len`]).
    pub $($async)* fn connect_on(
        stream: T,
        driver: Driver<'b, Client<R>, H>,
    ) -> Result<(Self, Option<&'b str>), ConnectError<'b, T::Error>> {
        Self::connect_timed(stream, driver, || 0) $($await)*
    }

    /// [`connect_on`](WebSocket::connect_on) on a clock: `now` (milliseconds, the clock of the
    /// driver's [`handshake_deadline`](Driver::handshake_deadline)) is read before each step
    /// and after a failed read; a response not complete by the deadline is
    /// [`HandshakeFailure::TimedOut`](crate::io::HandshakeFailure::TimedOut). Give the stream a
    /// read timeout that ends at (or just after) the deadline.
    pub $($async)* fn connect_timed(
        stream: T,
        driver: Driver<'b, Client<R>, H>,
        mut now: impl FnMut() -> u64,
    ) -> Result<(Self, Option<&'b str>), ConnectError<'b, T::Error>> {
        let mut ws = Self::from_driver(stream, driver);
        loop {
            let _ = ws.driver.handle_timeout(now());
            match ws.driver.advance() {
                Step::Write => ws.write() $($await)* ?,
                Step::Read => {
                    if let Err(e) = ws.read() $($await)* {
                        let t = now();
                        let late = ws.driver.poll_timeout().is_some_and(|at| t >= at);
                        if !(late && matches!(e, Error::Io(_))) {
                            return Err(e.into());
                        }
                    }
                }
                Step::Open | Step::Event | Step::Request => {
                    let chosen = ws.driver.subprotocol();
                    return Ok((ws, chosen));
                }
                Step::Closed(closed) => {
                    return Err(match ws.driver.into_refusal() {
                        Some(refusal) => ConnectError::Refused(refusal),
                        None => ConnectError::Other(closed.into()),
                    })
                }
            }
        }
    }
}

impl<'b, T: Read + Write, E: Endpoint> WebSocket<'b, T, E> {
    /// Wraps a stream whose handshake was done elsewhere: `rx[..buffered]` holds bytes already
    /// received after the handshake head. Buffers under [`MIN_BUFFER`](crate::io::MIN_BUFFER)
    /// fail the first call with [`Error::BufferTooSmall`].
    pub fn new(
        stream: T,
        conn: Connection<E>,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        buffered: usize,
    ) -> Self {
        Self::from_driver(stream, Driver::new(conn, rx, tx, buffered))
    }
}

impl<'b, T: Read + Write, E: Endpoint, const H: usize> WebSocket<'b, T, E, H> {
    /// Wraps a driver in any state: an adapter call runs what is left of its handshake.
    pub fn from_driver(stream: T, driver: Driver<'b, E, H>) -> Self {
        Self {
            stream,
            driver,
            reported: false,
            unflushed: false,
        }
    }

    /// Writes what the driver has queued, once; a short write leaves the rest queued.
    /// Cancelling it loses nothing.
    $($async)* fn write(&mut self) -> Result<(), Error<T::Error>> {
        let out = self.driver.output();
        if out.is_empty() {
            return Ok(());
        }
        let n = self.stream.write(out) $($await)* .map_err(Error::Io)?;
        if n == 0 {
            return Err(Error::WriteZero);
        }
        self.driver.write_done(n);
        self.unflushed = true;
        Ok(())
    }

    /// Flushes the stream when something was written since the last flush: once a frame or a
    /// send call is complete, and before waiting to read, never per piece (embassy-net's
    /// `flush` waits for the peer's acknowledgement).
    $($async)* fn flush_stream(&mut self) -> Result<(), Error<T::Error>> {
        if self.unflushed {
            self.stream.flush() $($await)* .map_err(Error::Io)?;
            self.unflushed = false;
        }
        Ok(())
    }

    /// Reads once into the driver's receive buffer. Cancelling it loses nothing.
    $($async)* fn read(&mut self) -> Result<(), Error<T::Error>> {
        let rx_len = self.driver.rx_len();
        if let Some(resume_at) = self.driver.resume_at() {
            return Err(Error::Paused { resume_at });
        }
        // What was written must reach the peer before we wait for its answer.
        self.flush_stream() $($await)* ?;
        let buf = self.driver.read_buf();
        if buf.is_empty() {
            // The driver never asks for a read then; a loop must not spin on it.
            return Err(Error::BufferTooSmall {
                buffer: $crate::io::Buffer::Rx,
                needed: rx_len.saturating_add(1),
            });
        }
        let room = buf.len();
        let n = self.stream.read(buf) $($await)* .map_err(Error::Io)?;
        self.driver.read_done(n.min(room));
        Ok(())
    }

    /// The error for the driver's `closed`: a protocol error once, then [`Error::Closed`].
    fn closed(&mut self, closed: Closed) -> Error<T::Error> {
        match closed {
            Closed::Protocol(_) if self.reported => Error::Closed,
            Closed::Protocol(e) => {
                self.reported = true;
                Error::Protocol(e)
            }
            closed => closed.into(),
        }
    }

    /// Reads until the next event: a data chunk (at most `rx.len()` bytes, text validated as
    /// it arrives), a ping (already answered), a pong, or the peer's close (already answered).
    ///
    /// After the close handshake this is [`Error::Closed`]; after a protocol violation the
    /// close frame is written and the error is [`Error::Protocol`], once.
    pub $($async)* fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        loop {
            match self.driver.advance() {
                Step::Write => self.write() $($await)* ?,
                Step::Read => self.read() $($await)* ?,
                // What the event obliges (a pong, the close reply) goes out before it.
                Step::Event if !self.driver.output().is_empty() => self.write() $($await)* ?,
                Step::Event => return self.driver.event().ok_or(Error::Closed),
                Step::Closed(closed) => {
                    // The last frames written (our close) go out before the stream is closed.
                    let _ = self.flush_stream() $($await)*;
                    return Err(self.closed(closed));
                }
                Step::Open | Step::Request => {}
            }
        }
    }

    /// The next event from what is already received, writing what is owed first; `None`
    /// when more input is needed. Never reads: pair it with [`fill`](Self::fill).
    pub $($async)* fn try_next_event(&mut self) -> Result<Option<Event<'_>>, Error<T::Error>> {
        loop {
            match self.driver.advance() {
                Step::Write => self.write() $($await)* ?,
                Step::Read => return Ok(None),
                Step::Event if !self.driver.output().is_empty() => self.write() $($await)* ?,
                Step::Event => return Ok(self.driver.event()),
                Step::Closed(closed) => {
                    // The last frames written (our close) go out before the stream is closed.
                    let _ = self.flush_stream() $($await)*;
                    return Err(self.closed(closed));
                }
                Step::Open | Step::Request => {}
            }
        }
    }

    /// Reads once from the stream into the receive buffer, and nothing else: never writes, so
    /// it can be raced against a timer (and cancelled) without leaving a frame half-written.
    /// Then take the events with [`try_next_event`](Self::try_next_event). The end of the
    /// stream shows there, as [`Error::UnexpectedEof`] or [`Error::Closed`].
    /// While a rate limiter pauses reading this is [`Error::Paused`], at once.
    pub $($async)* fn fill(&mut self) -> Result<(), Error<T::Error>> {
        if let Some(resume_at) = self.driver.resume_at() {
            return Err(Error::Paused { resume_at });
        }
        if self.driver.read_buf().is_empty() {
            // Full of events not yet taken: take them first.
            return Ok(());
        }
        self.read() $($await)*
    }

    /// Reads until the next whole message, or a control frame, collecting fragments into
    /// `messages`' storage. A message larger than the storage fails the connection with 1009.
    /// With permessage-deflate, compressed messages are collected inflated (the limit is on
    /// their inflated size); a rate limiter counts their frames as they arrive.
    pub $($async)* fn receive_message<'s, S: Storage>(
        &'s mut self,
        messages: &'s mut Reassembler<S>,
    ) -> Result<Message<'s>, Error<T::Error>> {
        loop {
            match self.driver.advance_message(messages) {
                Step::Write => self.write() $($await)* ?,
                Step::Read => self.read() $($await)* ?,
                Step::Event if !self.driver.output().is_empty() => self.write() $($await)* ?,
                Step::Event => return self.driver.message(messages).ok_or(Error::Closed),
                Step::Closed(closed) => {
                    // The last frames written (our close) go out before the stream is closed.
                    let _ = self.flush_stream() $($await)*;
                    return Err(self.closed(closed));
                }
                Step::Open | Step::Request => {}
            }
        }
    }

    /// Writes everything queued: what the application sent and what the connection owes
    /// (pongs, the close reply, the close after an error, a keepalive ping after
    /// [`handle_timeout`](Self::handle_timeout)).
    pub $($async)* fn flush(&mut self) -> Result<(), Error<T::Error>> {
        loop {
            self.driver.queue_owed().map_err(|needed| Error::BufferTooSmall {
                buffer: $crate::io::Buffer::Tx,
                needed,
            })?;
            if self.driver.output().is_empty() {
                // In the middle of a frame (between `send_payload` pieces) the flush waits
                // for the frame's end, or for the next read.
                if self.driver.frame_in_progress() {
                    return Ok(());
                }
                return self.flush_stream() $($await)*;
            }
            self.write() $($await)* ?;
        }
    }

    /// Retries a queueing call, writing between tries, until it is accepted.
    $($async)* fn queue(
        &mut self,
        mut call: impl FnMut(&mut Driver<'b, E, H>) -> Result<(), TrySendError>,
    ) -> Result<(), Error<T::Error>> {
        loop {
            match call(&mut self.driver) {
                Ok(()) => return self.flush() $($await)*,
                Err(TrySendError::Full { needed }) if self.driver.output().is_empty() => {
                    return Err(TrySendError::Full { needed }.into())
                }
                Err(TrySendError::Full { .. }) => self.write() $($await)* ?,
                Err(e) => {
                    // A refusal while closing leaves the close owed queued: it goes out now.
                    self.flush() $($await)* ?;
                    return Err(e.into());
                }
            }
        }
    }

    /// Queues `payload` in pieces as `tx` makes room, writing between them.
    $($async)* fn send_data(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
        fin: Option<bool>,
    ) -> Result<(), Error<T::Error>> {
        let mut rest = payload;
        loop {
            let taken = match fin {
                None => self.driver.send_message(kind, rsv, rest),
                Some(fin) => self.driver.send_fragment(kind, rsv, rest, fin),
            };
            match taken {
                Ok(n) => {
                    rest = rest.get(n..).unwrap_or_default();
                    if rest.is_empty() {
                        return self.flush() $($await)*;
                    }
                }
                Err(TrySendError::Full { needed }) if self.driver.output().is_empty() => {
                    return Err(TrySendError::Full { needed }.into())
                }
                Err(TrySendError::Full { .. }) => {}
                Err(e) => {
                    // A refusal while closing leaves the close owed queued: it goes out now.
                    self.flush() $($await)* ?;
                    return Err(e.into());
                }
            }
            self.write() $($await)* ?;
        }
    }

    /// Sends a text message as one frame, of any size (`tx` need not hold it).
    pub $($async)* fn send_text(&mut self, text: &str) -> Result<(), Error<T::Error>> {
        self.send_data(DataKind::Text, 0, text.as_bytes(), None) $($await)*
    }

    /// Sends a binary message as one frame, of any size.
    pub $($async)* fn send_binary(&mut self, data: &[u8]) -> Result<(), Error<T::Error>> {
        self.send_data(DataKind::Binary, 0, data, None) $($await)*
    }

    /// Sends a message of `kind` as one frame, of any size, with the RSV bits `rsv` of a
    /// negotiated extension (0 for none).
    pub $($async)* fn send_message(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
    ) -> Result<(), Error<T::Error>> {
        self.send_data(kind, rsv, payload, None) $($await)*
    }

    /// Sends a message of `kind` compressed with `compressor` (permessage-deflate, RFC 7692
    /// §7.2.1; feature `deflate-compress`), RSV1 set: as fragments of at most `out.len()`
    /// compressed bytes, the scratch buffer they are compressed into. Only once the
    /// extension is agreed ([`Driver::deflate_agreed`], then `Compressor::new(&agreed, level)`);
    /// other messages may still go uncompressed, per message.
    #[cfg(feature = "deflate-compress")]
    pub $($async)* fn send_compressed(
        &mut self,
        compressor: &mut $crate::extensions::deflate::Compressor,
        kind: DataKind,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error<T::Error>> {
        self.send_compressed_fragment(compressor, kind, payload, true, out) $($await)*
    }

    /// The next piece of a message of `kind` compressed with `compressor` (the first piece
    /// starts it, `fin` ends it), as fragments of at most `out.len()` compressed bytes: for
    /// streaming a message as it arrives (an echo). A piece may send nothing yet (the
    /// compressor keeps back what it may still change).
    #[cfg(feature = "deflate-compress")]
    pub $($async)* fn send_compressed_fragment(
        &mut self,
        compressor: &mut $crate::extensions::deflate::Compressor,
        kind: DataKind,
        piece: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<(), Error<T::Error>> {
        // The compressor takes at most half its queue at a time: the compressed bytes of a
        // slice, even incompressible, then fit its queue.
        const SLICE: usize = $crate::extensions::deflate::DEFAULT_QUEUE / 2;
        let mut rest = piece;
        loop {
            let take = rest.len().min(SLICE);
            let last = fin && take == rest.len();
            let slice = rest.get(..take).unwrap_or_default();
            let step = match compressor.compress(slice, last, out) {
                Ok(step) => step,
                Err(e) => {
                    compressor.reset();
                    return Err(Error::Compress(e));
                }
            };
            rest = rest.get(step.consumed..).unwrap_or_default();
            let done = last && step.done;
            if step.written > 0 || done {
                let bytes = out.get(..step.written).unwrap_or_default();
                self.send_data(kind, $crate::wire::frame::RSV1, bytes, Some(done)) $($await)* ?;
            }
            // Without `fin`: once the piece is taken and `out` was not filled, nothing more is
            // ready.
            if done || (!fin && rest.is_empty() && step.written < out.len()) {
                return Ok(());
            }
            if out.is_empty() {
                return Err(Error::BufferTooSmall { buffer: $crate::io::Buffer::Tx, needed: 1 });
            }
        }
    }

    /// Sends one fragment of a message (§5.4): the first starts a message of `kind` with the
    /// RSV bits `rsv` (0 without an extension; the same on every fragment), `fin` ends it. For
    /// text, only the whole message must be UTF-8.
    pub $($async)* fn send_fragment(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error<T::Error>> {
        self.send_data(kind, rsv, payload, Some(fin)) $($await)*
    }

    /// Starts a frame of `payload_len` bytes whose payload follows with
    /// [`send_payload`](Self::send_payload), in pieces of any size.
    pub $($async)* fn send_frame_header(
        &mut self,
        kind: DataKind,
        rsv: u8,
        payload_len: u64,
        fin: bool,
    ) -> Result<(), Error<T::Error>> {
        self.queue(|d| d.send_frame_header(kind, rsv, payload_len, fin)) $($await)*
    }

    /// Sends the next piece of the payload announced by
    /// [`send_frame_header`](Self::send_frame_header).
    pub $($async)* fn send_payload(&mut self, piece: &[u8]) -> Result<(), Error<T::Error>> {
        let mut rest = piece;
        loop {
            match self.driver.send_payload(rest) {
                Ok(n) => {
                    rest = rest.get(n..).unwrap_or_default();
                    if rest.is_empty() {
                        return self.flush() $($await)*;
                    }
                }
                Err(TrySendError::Full { needed }) if self.driver.output().is_empty() => {
                    return Err(TrySendError::Full { needed }.into())
                }
                Err(TrySendError::Full { .. }) => {}
                Err(e) => {
                    // A refusal while closing leaves the close owed queued: it goes out now.
                    self.flush() $($await)* ?;
                    return Err(e.into());
                }
            }
            self.write() $($await)* ?;
        }
    }

    /// Sends a ping with up to 125 bytes of payload.
    pub $($async)* fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error<T::Error>> {
        self.queue(|d| d.send_ping(payload)) $($await)*
    }

    /// Sends an unsolicited pong with up to 125 bytes of payload.
    pub $($async)* fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error<T::Error>> {
        self.queue(|d| d.send_pong(payload)) $($await)*
    }

    /// Sends our close frame and returns; keep calling [`next_event`](Self::next_event) until
    /// it returns [`Error::Closed`] to finish the handshake.
    pub $($async)* fn send_close(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), Error<T::Error>> {
        self.queue(|d| d.send_close(code, reason)) $($await)*
    }

    /// Sends our close frame and reads (dropping data) until the peer's close arrives. A
    /// stream that ends first is [`Error::UnexpectedEof`]; bound the wait with a read timeout.
    pub $($async)* fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error<T::Error>> {
        self.send_close(code, reason) $($await)* ?;
        loop {
            match self.next_event() $($await)* {
                Ok(_) => {}
                Err(Error::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Advances the connection's timers to `now` (milliseconds, any monotonic clock, the same
    /// for every call): a keepalive ping is queued, a silent peer is failed, an unanswered
    /// close ends. Then [`flush`](Self::flush) to write what that owes. The adapter reads no
    /// clock: without this call there is no keepalive.
    pub fn handle_timeout(&mut self, now: u64) -> Option<TimedOut> {
        self.driver.handle_timeout(now)
    }

    /// The next deadline for [`handle_timeout`](Self::handle_timeout), in its milliseconds.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.driver.poll_timeout()
    }

    /// Ends the stream gracefully and gives it back: writes what is owed (a connection still
    /// open is failed with 1001 first, so the peer gets a close frame), half-closes with
    /// `half_close`, then reads and drops input within `drain` until the peer ends the stream.
    /// Dropping a TCP stream with unread input instead resets it, and the peer may lose the
    /// close frame. Errors along the way only end this early.
    pub $($async)* fn close_stream(mut self, half_close: impl HalfClose<T>, drain: $crate::io::Drain) -> T {
        if self.driver.handshake_done() && self.driver.connection().state() == $crate::State::Open {
            // 1001 may always go on the wire.
            let _ = self.driver.connection_mut().fail(CloseCode::GOING_AWAY);
        }
        if self.flush() $($await)* .is_ok() {
            close_stream(&mut self.stream, half_close, self.driver.scratch(), drain) $($await)*;
        }
        self.stream
    }

    /// The driver: the connection's state, the bytes queued.
    pub fn driver(&self) -> &Driver<'b, E, H> {
        &self.driver
    }

    /// The connection: its state, and the timer calls.
    pub fn connection(&self) -> &Connection<E> {
        self.driver.connection()
    }

    /// The connection, to call [`Connection::fail`]; then [`flush`](Self::flush).
    pub fn connection_mut(&mut self) -> &mut Connection<E> {
        self.driver.connection_mut()
    }

    /// The stream.
    pub fn get_ref(&self) -> &T {
        &self.stream
    }

    /// The stream, to set timeouts. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.stream
    }

    /// Gives the stream back as it is; prefer [`close_stream`](Self::close_stream).
    pub fn into_inner(self) -> T {
        self.stream
    }
}

    };
}

#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub(crate) use adapter;
