//! A blocking WebSocket over an `embedded_io::{Read, Write}` stream (RFC 6455 §4–§7).
//!
//! ```no_run
//! use embedded_io_adapters::std::FromStd;
//! use wsmachine::handshake::server::{Accept, ServerOptions};
//! use wsmachine::io::blocking::WebSocket;
//! use wsmachine::io::Error;
//! use wsmachine::{Config, Event};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
//! let (tcp, _) = listener.accept()?;
//! let (mut rx, mut tx, mut copy) = ([0u8; 4096], [0u8; 4096], [0u8; 4096]);
//! let mut ws = WebSocket::accept(FromStd::new(tcp), &mut rx, &mut tx, Config::DEFAULT,
//!     &ServerOptions::default(), |_request| Ok(Accept::default()))?;
//! loop {
//!     match ws.next_event() {
//!         // Echo each chunk as a fragment: memory stays bounded whatever the message size.
//!         Ok(Event::Data(chunk)) => {
//!             let (kind, last, n) = (chunk.kind, chunk.last, chunk.payload.len());
//!             copy[..n].copy_from_slice(chunk.payload);
//!             ws.send_fragment(kind, &copy[..n], last)?;
//!         }
//!         Ok(_) => {} // pongs and the close reply are already written
//!         Err(Error::Closed) => break,
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use embedded_io::{Read, Write};
use rand_core::RngCore;

use super::driver::{
    client_request, client_response, head_buf, server_handshake, Driver, Frame, Outgoing, Poll,
    ServerHandshake,
};
use super::Error;
use crate::connection::{Client, DataKind, Endpoint, Event, Server};
use crate::handshake::client::ClientRequest;
use crate::handshake::server::{Accept, HandshakeError, Request, ServerOptions};
use crate::message::{Message, Reassembler, Storage};
use crate::wire::close::CloseCode;
use crate::{Config, Connection};

/// A WebSocket connection over a blocking stream `T`, for endpoint `E` ([`Server`] or
/// [`Client`]), with caller-supplied receive and transmit buffers.
#[derive(Debug)]
pub struct WebSocket<'b, T, E: Endpoint> {
    stream: T,
    driver: Driver<E>,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
}

/// Writes all of `bytes`; a stream that takes none is [`Error::WriteZero`], not a panic.
fn write_all<T: Write>(stream: &mut T, mut bytes: &[u8]) -> Result<(), Error<T::Error>> {
    while !bytes.is_empty() {
        match stream.write(bytes).map_err(Error::Io)? {
            0 => return Err(Error::WriteZero),
            n => bytes = bytes.get(n..).unwrap_or_default(),
        }
    }
    Ok(())
}

/// Writes `tx[..n]` and flushes.
fn write_out<T: Write>(stream: &mut T, tx: &[u8], n: usize) -> Result<(), Error<T::Error>> {
    write_all(stream, tx.get(..n).unwrap_or_default())?;
    stream.flush().map_err(Error::Io)
}

/// Reads once into `buf`; the count never exceeds `buf.len()`.
fn read_into<T: Read>(stream: &mut T, buf: &mut [u8]) -> Result<usize, Error<T::Error>> {
    let n = stream.read(buf).map_err(Error::Io)?;
    Ok(n.min(buf.len()))
}

impl<'b, T: Read + Write> WebSocket<'b, T, Server> {
    /// Runs the server side of the opening handshake on `stream`: reads the request, lets
    /// `select` accept it (choosing a subprotocol, adding headers) or refuse it with a
    /// [`HandshakeError`] (answered with its HTTP status), and writes the response.
    ///
    /// `rx` must hold the whole request head, and `tx` the response. Frames the client sent right after its head stay
    /// in `rx` for the first [`next_event`](Self::next_event).
    pub fn accept<'a>(
        mut stream: T,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        options: &ServerOptions<'_>,
        select: impl FnOnce(&Request<'_, '_>) -> Result<Accept<'a>, HandshakeError>,
    ) -> Result<Self, Error<T::Error>> {
        super::driver::check_buffers(rx.len(), tx.len())?;
        let mut select = Some(select);
        let mut end = 0;
        loop {
            let n = read_into(&mut stream, head_buf(rx, end)?)?;
            if n == 0 {
                return Err(Error::UnexpectedEof);
            }
            end += n;
            let input = rx.get(..end).unwrap_or_default();
            let full = end >= rx.len();
            match server_handshake(input, full, options, &mut select, tx) {
                ServerHandshake::Partial => {}
                ServerHandshake::Accepted { response, head } => {
                    write_out(&mut stream, tx, response)?;
                    let conn = Connection::server(config);
                    let driver = Driver::new(conn, rx.len(), tx.len(), head, end)?;
                    return Ok(Self::from_parts(stream, driver, rx, tx));
                }
                ServerHandshake::Refused { response, error } => {
                    write_out(&mut stream, tx, response)?;
                    return Err(Error::Handshake(error));
                }
            }
        }
    }
}

impl<'b, T: Read + Write, R: RngCore> WebSocket<'b, T, Client<R>> {
    /// Runs the client side of the opening handshake on `stream`: writes `request` (with a
    /// nonce from `rng`), reads and validates the response. Returns the connection, which masks
    /// its frames with keys from `rng`, and the subprotocol the server chose.
    ///
    /// `tx` must hold the whole request head, and `rx` the whole response head.
    pub fn connect<'a>(
        mut stream: T,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        config: Config,
        mut rng: R,
        request: &ClientRequest<'a>,
    ) -> Result<(Self, Option<&'a str>), Error<T::Error>> {
        super::driver::check_buffers(rx.len(), tx.len())?;
        let (n, expected) = client_request(request, &mut rng, tx)?;
        write_out(&mut stream, tx, n)?;
        let mut end = 0;
        loop {
            let n = read_into(&mut stream, head_buf(rx, end)?)?;
            if n == 0 {
                return Err(Error::UnexpectedEof);
            }
            end += n;
            let input = rx.get(..end).unwrap_or_default();
            let full = end >= rx.len();
            if let Some((head, subprotocol)) =
                client_response(input, full, &expected, request.subprotocols)?
            {
                let conn = Connection::client(config, rng);
                let driver = Driver::new(conn, rx.len(), tx.len(), head, end)?;
                return Ok((Self::from_parts(stream, driver, rx, tx), subprotocol));
            }
        }
    }
}

impl<'b, T: Read + Write, E: Endpoint> WebSocket<'b, T, E> {
    fn from_parts(stream: T, driver: Driver<E>, rx: &'b mut [u8], tx: &'b mut [u8]) -> Self {
        Self {
            stream,
            driver,
            rx,
            tx,
        }
    }

    /// Wraps a stream whose handshake was done elsewhere: `rx[..buffered]` holds bytes already
    /// received after the handshake head.
    pub fn new(
        stream: T,
        conn: Connection<E>,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        buffered: usize,
    ) -> Result<Self, Error<T::Error>> {
        let driver = Driver::new(conn, rx.len(), tx.len(), 0, buffered)?;
        Ok(Self::from_parts(stream, driver, rx, tx))
    }

    /// Reads until the next event: a data chunk (at most `rx.len()` bytes, text validated as
    /// it arrives), a ping (already answered), a pong, or the peer's close (already answered).
    ///
    /// After the close handshake this is [`Error::Closed`]; after a protocol violation the
    /// close frame is written and the error is [`Error::Protocol`].
    pub fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        loop {
            match self.driver.poll_event(self.rx, self.tx)? {
                Poll::Write(n) => write_out(&mut self.stream, self.tx, n)?,
                Poll::Read => self.read()?,
                Poll::Ready(event) => {
                    self.flush()?;
                    return Ok(event.get(self.rx));
                }
            }
        }
    }

    /// Reads until the next whole message, or a control frame, collecting fragments into
    /// `messages`' storage. A message larger than the storage fails the connection with 1009.
    pub fn receive_message<'s, S: Storage>(
        &'s mut self,
        messages: &'s mut Reassembler<S>,
    ) -> Result<Message<'s>, Error<T::Error>> {
        loop {
            match self.driver.poll_message(messages, self.rx, self.tx)? {
                Poll::Write(n) => write_out(&mut self.stream, self.tx, n)?,
                Poll::Read => self.read()?,
                Poll::Ready(message) => {
                    self.flush()?;
                    return Ok(message.get(self.rx, messages));
                }
            }
        }
    }

    fn read(&mut self) -> Result<(), Error<T::Error>> {
        let n = read_into(&mut self.stream, self.driver.read_buf(self.rx)?)?;
        self.driver.filled(n);
        Ok(())
    }

    /// Writes every obligation the connection has queued: pongs, the close reply, the close
    /// after an error, a keepalive ping after `handle_timeout`.
    pub fn flush(&mut self) -> Result<(), Error<T::Error>> {
        while let Some(n) = self.driver.transmit(self.tx)? {
            write_out(&mut self.stream, self.tx, n)?;
        }
        Ok(())
    }

    fn send(&mut self, frame: Frame<'_>) -> Result<(), Error<T::Error>> {
        let mut out = Outgoing::new(frame);
        loop {
            let n = self.driver.encode(&mut out, self.tx)?;
            if n == 0 {
                return self.stream.flush().map_err(Error::Io);
            }
            write_all(&mut self.stream, self.tx.get(..n).unwrap_or_default())?;
        }
    }

    /// Sends a text message as one frame, of any size (`tx` need not hold it).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error<T::Error>> {
        self.send(Frame::Message(DataKind::Text, text.as_bytes()))
    }

    /// Sends a binary message as one frame, of any size.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error<T::Error>> {
        self.send(Frame::Message(DataKind::Binary, data))
    }

    /// Sends one fragment of a message (§5.4): the first starts a message of `kind`, `fin`
    /// ends it. For text, only the whole message must be UTF-8.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error<T::Error>> {
        self.send(Frame::Fragment(kind, payload, fin))
    }

    /// Starts a frame of `payload_len` bytes whose payload follows with
    /// [`send_payload`](Self::send_payload), in pieces of any size.
    pub fn send_frame_header(
        &mut self,
        kind: DataKind,
        payload_len: u64,
        fin: bool,
    ) -> Result<(), Error<T::Error>> {
        self.send(Frame::Header(kind, payload_len, fin))
    }

    /// Sends the next piece of the payload announced by
    /// [`send_frame_header`](Self::send_frame_header).
    pub fn send_payload(&mut self, piece: &[u8]) -> Result<(), Error<T::Error>> {
        self.send(Frame::Payload(piece))
    }

    /// Sends a ping with up to 125 bytes of payload.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error<T::Error>> {
        self.send(Frame::Ping(payload))
    }

    /// Sends an unsolicited pong with up to 125 bytes of payload.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error<T::Error>> {
        self.send(Frame::Pong(payload))
    }

    /// Sends our close frame and returns; keep calling [`next_event`](Self::next_event) until
    /// it returns [`Error::Closed`] to finish the handshake.
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error<T::Error>> {
        self.send(Frame::Close(code, reason))
    }

    /// Sends our close frame and reads (dropping data) until the peer's close arrives. A
    /// stream that ends first is [`Error::UnexpectedEof`]; bound the wait with a read timeout.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error<T::Error>> {
        self.send_close(code, reason)?;
        loop {
            match self.next_event() {
                Ok(_) => {}
                Err(Error::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// The connection: its state, and the timer calls.
    pub fn connection(&self) -> &Connection<E> {
        self.driver.conn()
    }

    /// The connection, to call [`Connection::handle_timeout`] or [`Connection::fail`]; then
    /// [`flush`](Self::flush).
    pub fn connection_mut(&mut self) -> &mut Connection<E> {
        self.driver.conn_mut()
    }

    /// The stream.
    pub fn get_ref(&self) -> &T {
        &self.stream
    }

    /// The stream, to set timeouts. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.stream
    }

    /// Gives the stream back, to close it.
    pub fn into_inner(self) -> T {
        self.stream
    }
}
