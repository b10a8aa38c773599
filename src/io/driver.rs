//! The sans-IO core both adapters share: receive buffer, handshakes, sending in pieces (RFC 6455 §4, §5).
//!
//! The adapters only move bytes: they ask the [`Driver`] what to do next ([`Poll::Write`] the
//! transmit buffer, [`Poll::Read`] into the receive buffer, or take the [`Poll::Ready`] event)
//! and do it with their stream's blocking or async calls. Everything else is decided here once.
//!
//! Events borrow the receive buffer, but the receive loop must be able to call
//! [`Connection::receive`] again when a call consumed bytes without an event; so inside the
//! loop an event is recorded as a [`PendingEvent`] (its kind and where its bytes lie in the
//! receive buffer), and turned back into an [`Event`] once the loop is over.

use rand_core::RngCore;

use super::{Error, HandshakeFailure, MIN_BUFFER};
use crate::connection::{DataChunk, DataKind, Endpoint, Event};
use crate::error::{ProtocolError, ReceiveError, SendError};
use crate::handshake::client::{parse_response, ClientRequest, Expected};
use crate::handshake::server::{parse_request, Accept, HandshakeError, Request, ServerOptions};
use crate::handshake::{write_rejection, Status, DEFAULT_MAX_HEAD_LEN};
use crate::message::{Message, Reassembler, Storage};
use crate::wire::close::{CloseCode, CloseFrame};
use crate::Connection;

/// How many header lines a handshake head may have.
const MAX_HEADERS: usize = 32;

/// What the adapter does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Poll<T> {
    /// Write `tx[..n]` to the stream, then ask again.
    Write(usize),
    /// Read into [`Driver::read_buf`], report the count with [`Driver::filled`], ask again.
    Read,
    /// An event or message is ready.
    Ready(T),
}

/// The address and length of the receive loop's input, to locate event bytes in it.
#[derive(Debug, Clone, Copy)]
struct Base {
    addr: usize,
    len: usize,
}

impl Base {
    fn of(input: &[u8]) -> Self {
        Self {
            addr: input.as_ptr() as usize,
            len: input.len(),
        }
    }
}

/// Where some received bytes lie in the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    len: usize,
}

impl Span {
    /// The span of `part` in the input `base`; `None` when `part` lies elsewhere (in the
    /// reassembly storage). Addresses are compared, never dereferenced.
    fn of(base: Base, part: &[u8]) -> Option<Self> {
        if part.is_empty() {
            return Some(Self { start: 0, len: 0 });
        }
        let start = (part.as_ptr() as usize).checked_sub(base.addr)?;
        let end = start.checked_add(part.len())?;
        (end <= base.len).then_some(Self {
            start,
            len: part.len(),
        })
    }

    fn get(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.start.saturating_add(self.len))
            .unwrap_or_default()
    }

    fn str(self, buf: &[u8]) -> &str {
        // Only validated bytes (close reasons, text messages) are read back as `str`.
        core::str::from_utf8(self.get(buf)).unwrap_or_default()
    }
}

/// An [`Event`] with its bytes left in the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingEvent {
    Data {
        kind: DataKind,
        first: bool,
        last: bool,
        payload: Span,
    },
    Ping(Span),
    Pong(Span),
    Close {
        code: CloseCode,
        reason: Span,
    },
}

impl PendingEvent {
    fn new(rx: Base, event: Event<'_>) -> Self {
        let at = |part| Span::of(rx, part).unwrap_or(Span { start: 0, len: 0 });
        match event {
            Event::Data(chunk) => Self::Data {
                kind: chunk.kind,
                first: chunk.first,
                last: chunk.last,
                payload: at(chunk.payload),
            },
            Event::Ping(p) => Self::Ping(at(p)),
            Event::Pong(p) => Self::Pong(at(p)),
            Event::Close(frame) => Self::Close {
                code: frame.code,
                reason: at(frame.reason.as_bytes()),
            },
        }
    }

    /// The event again, borrowing the receive buffer.
    pub(crate) fn get(self, rx: &[u8]) -> Event<'_> {
        match self {
            Self::Data {
                kind,
                first,
                last,
                payload,
            } => Event::Data(DataChunk {
                kind,
                rsv: 0,
                payload: payload.get(rx),
                first,
                last,
            }),
            Self::Ping(p) => Event::Ping(p.get(rx)),
            Self::Pong(p) => Event::Pong(p.get(rx)),
            Self::Close { code, reason } => Event::Close(CloseFrame {
                code,
                reason: reason.str(rx),
            }),
        }
    }
}

/// A [`Message`] whose bytes are in the receive buffer or in the reassembly storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingMessage {
    /// A whole message; `None` when it lies in the storage.
    Data(DataKind, Option<Span>),
    /// A control frame, always in the receive buffer.
    Control(PendingEvent),
}

impl PendingMessage {
    fn new(rx: Base, message: Message<'_>) -> Self {
        let control = |event| Self::Control(PendingEvent::new(rx, event));
        match message {
            Message::Text(t) => Self::Data(DataKind::Text, Span::of(rx, t.as_bytes())),
            Message::Binary(b) => Self::Data(DataKind::Binary, Span::of(rx, b)),
            Message::Ping(p) => control(Event::Ping(p)),
            Message::Pong(p) => control(Event::Pong(p)),
            Message::Close(c) => control(Event::Close(c)),
            Message::Encoded { kind, payload, .. } => Self::Data(kind, Span::of(rx, payload)),
        }
    }

    /// The message again, borrowing the receive buffer or the storage.
    pub(crate) fn get<'b, S: Storage>(
        self,
        rx: &'b [u8],
        messages: &'b Reassembler<S>,
    ) -> Message<'b> {
        match self {
            Self::Data(kind, at) => {
                let bytes = match at {
                    Some(span) => span.get(rx),
                    None => messages.storage().bytes(),
                };
                match kind {
                    // The connection validated the text as it arrived.
                    DataKind::Text => {
                        Message::Text(core::str::from_utf8(bytes).unwrap_or_default())
                    }
                    DataKind::Binary => Message::Binary(bytes),
                }
            }
            Self::Control(event) => match event.get(rx) {
                Event::Ping(p) => Message::Ping(p),
                Event::Pong(p) => Message::Pong(p),
                Event::Close(c) => Message::Close(c),
                // A control pending event never holds data.
                Event::Data(_) => Message::Binary(&[]),
            },
        }
    }
}

/// A connection and the state of its receive buffer: `rx[start..end]` has arrived and not
/// been consumed.
#[derive(Debug)]
pub(crate) struct Driver<E: Endpoint> {
    conn: Connection<E>,
    start: usize,
    end: usize,
    capacity: usize,
    eof: bool,
    /// A protocol error to report once its close frame is out.
    error: Option<ProtocolError>,
}

impl<E: Endpoint> Driver<E> {
    /// A driver over `conn` whose receive buffer (`rx_len` bytes) already holds
    /// `rx[start..end]`: the bytes that came after the handshake head.
    pub(crate) fn new<IoE>(
        conn: Connection<E>,
        rx_len: usize,
        tx_len: usize,
        start: usize,
        end: usize,
    ) -> Result<Self, Error<IoE>> {
        check_buffers(rx_len, tx_len)?;
        if start > end || end > rx_len {
            return Err(Error::BufferTooSmall);
        }
        Ok(Self {
            conn,
            start,
            end,
            capacity: rx_len,
            eof: false,
            error: None,
        })
    }

    pub(crate) const fn conn(&self) -> &Connection<E> {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection<E> {
        &mut self.conn
    }

    /// The next obligation (pong, close reply, close after an error, keepalive ping) in
    /// `tx`, or `None` when nothing is owed.
    pub(crate) fn transmit<IoE>(&mut self, tx: &mut [u8]) -> Result<Option<usize>, Error<IoE>> {
        let n = self.conn.poll_transmit(tx)?;
        Ok((n > 0).then_some(n))
    }

    /// Where the next bytes go: the free end of `rx`, after moving the unconsumed bytes (at
    /// most a frame header or a control frame) to the front.
    pub(crate) fn read_buf<'b, IoE>(
        &mut self,
        rx: &'b mut [u8],
    ) -> Result<&'b mut [u8], Error<IoE>> {
        if self.end > rx.len() || self.start > self.end {
            return Err(Error::BufferTooSmall);
        }
        if self.start > 0 {
            rx.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        match rx.get_mut(self.end..) {
            Some(free) if !free.is_empty() => Ok(free),
            _ => Err(Error::BufferTooSmall),
        }
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf); 0 is the end of the stream.
    pub(crate) fn filled(&mut self, n: usize) {
        if n == 0 {
            self.eof = true;
        } else {
            self.end = self.end.saturating_add(n).min(self.capacity);
        }
    }

    /// The next step towards an event: an obligation to write, a read, or the event.
    pub(crate) fn poll_event<IoE>(
        &mut self,
        rx: &mut [u8],
        tx: &mut [u8],
    ) -> Result<Poll<PendingEvent>, Error<IoE>> {
        self.poll(rx, tx, |conn, input| {
            let base = Base::of(input);
            let received = conn.receive(input)?;
            let event = received.event.map(|e| PendingEvent::new(base, e));
            Ok((received.consumed, event))
        })
    }

    /// The next step towards a whole message, collected by `messages`.
    pub(crate) fn poll_message<IoE, S: Storage>(
        &mut self,
        messages: &mut Reassembler<S>,
        rx: &mut [u8],
        tx: &mut [u8],
    ) -> Result<Poll<PendingMessage>, Error<IoE>> {
        self.poll(rx, tx, |conn, input| {
            let base = Base::of(input);
            let (consumed, message) = messages.receive(conn, input)?;
            let message = message.map(|m| PendingMessage::new(base, m));
            Ok((consumed, message))
        })
    }

    /// The receive loop: obligations first, then the buffered bytes, then a read. `receive`
    /// gets the unconsumed bytes and returns how many it used and what they completed, with
    /// spans relative to its input.
    fn poll<IoE, P: Offset>(
        &mut self,
        rx: &mut [u8],
        tx: &mut [u8],
        mut receive: impl FnMut(
            &mut Connection<E>,
            &mut [u8],
        ) -> Result<(usize, Option<P>), ReceiveError>,
    ) -> Result<Poll<P>, Error<IoE>> {
        loop {
            if let Some(n) = self.transmit(tx)? {
                return Ok(Poll::Write(n));
            }
            if let Some(e) = self.error.take() {
                return Err(Error::Protocol(e));
            }
            if self.conn.is_closed() {
                return Err(Error::Closed);
            }
            let start = self.start;
            let Some(input) = rx.get_mut(start..self.end) else {
                return Err(Error::BufferTooSmall);
            };
            match receive(&mut self.conn, input) {
                Ok((consumed, ready)) => {
                    self.start = start.saturating_add(consumed).min(self.end);
                    if let Some(ready) = ready {
                        return Ok(Poll::Ready(ready.offset(start)));
                    }
                    if consumed > 0 {
                        continue;
                    }
                }
                // The close frame it owes is queued: write it, then report the error.
                Err(ReceiveError::Protocol(e)) => {
                    self.error = Some(e);
                    continue;
                }
                Err(_) => return Err(Error::Closed),
            }
            if self.eof {
                return Err(Error::UnexpectedEof);
            }
            return Ok(Poll::Read);
        }
    }

    /// Encodes the next piece of `out` into `tx`; returns its length, 0 when all is written.
    pub(crate) fn encode<IoE>(
        &mut self,
        out: &mut Outgoing<'_>,
        tx: &mut [u8],
    ) -> Result<usize, Error<IoE>> {
        let conn = &mut self.conn;
        if out.started {
            return match out.frame {
                Frame::Message(_, payload)
                | Frame::Fragment(_, payload, _)
                | Frame::Payload(payload) => out.fill(conn, payload, tx, 0),
                _ => Ok(0),
            };
        }
        out.started = true;
        let whole = match out.frame {
            Frame::Message(kind, payload) => conn.send_message(kind, 0, payload, tx),
            Frame::Fragment(kind, payload, fin) => conn.send_fragment(kind, 0, payload, fin, tx),
            Frame::Header(kind, len, fin) => conn.send_frame_header(kind, 0, len, fin, tx),
            Frame::Payload(payload) => return out.fill(conn, payload, tx, 0),
            Frame::Ping(payload) => conn.send_ping(payload, tx),
            Frame::Pong(payload) => conn.send_pong(payload, tx),
            Frame::Close(code, reason) => conn.send_close(code, reason, tx),
        };
        let (kind, payload, fin) = match (whole, out.frame) {
            (Ok(n), Frame::Message(_, p) | Frame::Fragment(_, p, _)) => {
                out.sent = p.len();
                return Ok(n);
            }
            (Ok(n), _) => return Ok(n),
            // Too big for `tx` in one piece: the header, then the payload in pieces.
            (Err(SendError::BufferTooSmall { .. }), Frame::Message(kind, p)) => (kind, p, true),
            (Err(SendError::BufferTooSmall { .. }), Frame::Fragment(kind, p, fin)) => {
                (kind, p, fin)
            }
            (Err(e), _) => return Err(Error::Send(e)),
        };
        let header = conn.send_frame_header(kind, 0, payload.len() as u64, fin, tx)?;
        out.fill(conn, payload, tx, header)
    }
}

/// Makes spans relative to the whole receive buffer rather than the receive loop's input.
trait Offset {
    fn offset(self, by: usize) -> Self;
}

impl Offset for Span {
    fn offset(self, by: usize) -> Self {
        Self {
            start: self.start.saturating_add(by),
            len: self.len,
        }
    }
}

impl Offset for PendingEvent {
    fn offset(self, by: usize) -> Self {
        match self {
            Self::Data {
                kind,
                first,
                last,
                payload,
            } => Self::Data {
                kind,
                first,
                last,
                payload: payload.offset(by),
            },
            Self::Ping(p) => Self::Ping(p.offset(by)),
            Self::Pong(p) => Self::Pong(p.offset(by)),
            Self::Close { code, reason } => Self::Close {
                code,
                reason: reason.offset(by),
            },
        }
    }
}

impl Offset for PendingMessage {
    fn offset(self, by: usize) -> Self {
        match self {
            Self::Data(kind, at) => Self::Data(kind, at.map(|s| s.offset(by))),
            Self::Control(event) => Self::Control(event.offset(by)),
        }
    }
}

/// One frame to send, or a piece of one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Frame<'p> {
    /// A whole message in one frame.
    Message(DataKind, &'p [u8]),
    /// One fragment of a message, `fin` on the last.
    Fragment(DataKind, &'p [u8], bool),
    /// The header of a frame whose payload follows in [`Frame::Payload`] pieces.
    Header(DataKind, u64, bool),
    /// The next piece of the payload announced by [`Frame::Header`].
    Payload(&'p [u8]),
    Ping(&'p [u8]),
    Pong(&'p [u8]),
    Close(CloseCode, &'p str),
}

/// A frame being written through the transmit buffer, piece by piece.
#[derive(Debug)]
pub(crate) struct Outgoing<'p> {
    frame: Frame<'p>,
    started: bool,
    /// Payload bytes already encoded.
    sent: usize,
}

impl<'p> Outgoing<'p> {
    pub(crate) const fn new(frame: Frame<'p>) -> Self {
        Self {
            frame,
            started: false,
            sent: 0,
        }
    }

    /// Copies (and masks) as much of the unsent payload as fits `tx[at..]`; returns `at` plus
    /// the bytes added.
    fn fill<E: Endpoint, IoE>(
        &mut self,
        conn: &mut Connection<E>,
        payload: &[u8],
        tx: &mut [u8],
        at: usize,
    ) -> Result<usize, Error<IoE>> {
        let rest = payload.get(self.sent..).unwrap_or_default();
        let room = tx.get_mut(at..).unwrap_or_default();
        let n = rest.len().min(room.len());
        if n == 0 {
            return Ok(at);
        }
        let (piece, _) = rest.split_at(n);
        conn.send_payload(piece, room)?;
        self.sent += n;
        Ok(at + n)
    }
}

/// Both buffers must hold any frame header and any whole control frame.
pub(crate) fn check_buffers<IoE>(rx_len: usize, tx_len: usize) -> Result<(), Error<IoE>> {
    if rx_len < MIN_BUFFER || tx_len < MIN_BUFFER {
        return Err(Error::BufferTooSmall);
    }
    Ok(())
}

/// Where the next bytes of a handshake head go: `rx[end..]`.
pub(crate) fn head_buf<IoE>(rx: &mut [u8], end: usize) -> Result<&mut [u8], Error<IoE>> {
    match rx.get_mut(end..) {
        Some(free) if !free.is_empty() => Ok(free),
        _ => Err(Error::BufferTooSmall),
    }
}

/// Where the server side of the handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerHandshake {
    /// The request head has not ended: read more.
    Partial,
    /// Write the 101 in `tx[..response]`; the frames start at `rx[head]`.
    Accepted { response: usize, head: usize },
    /// Write the refusal in `tx[..response]` (possibly empty), then fail with `error`.
    Refused {
        response: usize,
        error: HandshakeFailure,
    },
}

/// Parses the request head in `input` (all of the receive buffer when `full`), lets `select`
/// accept or refuse it, and writes the response into `tx`. `select` is called once, when the
/// head is complete and valid.
pub(crate) fn server_handshake<'a, F>(
    input: &[u8],
    full: bool,
    options: &ServerOptions<'_>,
    select: &mut Option<F>,
    tx: &mut [u8],
) -> ServerHandshake
where
    F: FnOnce(&Request<'_, '_>) -> Result<Accept<'a>, HandshakeError>,
{
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let error = match parse_request(input, &mut headers, options) {
        Ok(Status::Partial) if !full => return ServerHandshake::Partial,
        Ok(Status::Partial) => HandshakeError::HeadTooLarge,
        Ok(Status::Complete((request, head))) => {
            let choice = select.take().map(|f| f(&request));
            match choice {
                Some(Ok(accept)) => {
                    return match request.accept(&accept, tx) {
                        Ok(response) => ServerHandshake::Accepted { response, head },
                        Err(e) => ServerHandshake::Refused {
                            response: 0,
                            error: HandshakeFailure::Write(e),
                        },
                    }
                }
                Some(Err(e)) => e,
                // `select` is only taken here, and this returns.
                None => HandshakeError::Malformed,
            }
        }
        Err(e) => e,
    };
    ServerHandshake::Refused {
        // A buffer too small for the refusal just gets none.
        response: write_rejection(error, tx).unwrap_or(0),
        error: HandshakeFailure::Request(error),
    }
}

/// Writes the client's upgrade request into `tx`, with a nonce from `rng`.
pub(crate) fn client_request<'a, IoE>(
    request: &ClientRequest<'a>,
    rng: &mut impl RngCore,
    tx: &mut [u8],
) -> Result<(usize, Expected<'a>), Error<IoE>> {
    request
        .write_with_rng(rng, tx)
        .map_err(|e| Error::Handshake(HandshakeFailure::Write(e)))
}

/// Checks the response head in `input` (all of the receive buffer when `full`): `None` until
/// it has ended, then its length and the subprotocol the server chose, as offered.
pub(crate) fn client_response<'a, IoE>(
    input: &[u8],
    full: bool,
    expected: &Expected<'_>,
    offered: &[&'a str],
) -> Result<Option<(usize, Option<&'a str>)>, Error<IoE>> {
    let fail = |e| Error::Handshake(HandshakeFailure::Response(e));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match parse_response(input, &mut headers, DEFAULT_MAX_HEAD_LEN).map_err(fail)? {
        Status::Partial if full => Err(Error::BufferTooSmall),
        Status::Partial => Ok(None),
        Status::Complete((response, head)) => {
            let accepted = response.validate(expected).map_err(fail)?;
            let chosen = accepted
                .subprotocol()
                .and_then(|p| offered.iter().copied().find(|o| *o == p));
            Ok(Some((head, chosen)))
        }
    }
}
