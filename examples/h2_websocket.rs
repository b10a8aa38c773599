//! RFC 8441 end to end: a WebSocket over an HTTP/2 stream of the `h2` crate, on 127.0.0.1.
//!
//! ```text
//! cargo run --example h2_websocket
//! ```
//!
//! One process, two tasks over a real TCP connection on 127.0.0.1. The server enables
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3); the client waits for the server's SETTINGS,
//! checks the setting with [`check_enable_connect_protocol`], and opens a stream with the
//! extended CONNECT that [`ConnectRequest::write_fields`] describes (§4); the server rebuilds
//! the request's fields from `h2`'s request, validates them with [`parse_connect`] and answers
//! `200` with `Connect::response_fields` (§5). From then on a wsmachine [`Connection`] runs on
//! each side over the stream's DATA frames, under HTTP/2 flow control: received bytes are given
//! back to the window (`release_capacity`) only once the connection has consumed them, and
//! output waits for send capacity (`reserve_capacity` / `poll_capacity`). The two sides
//! exchange text, a binary message larger than HTTP/2's initial 65 535-byte window, a ping each
//! way, and a close handshake; each side ends its half of the stream with END_STREAM once the
//! WebSocket is closed (§5).
//!
//! Then it checks the two refusals: a server without the setting is refused by the client
//! before any request, and a non-200 answer is reported with its status. It prints every step
//! and exits 0 only if every step checked out.
//!
//! `tests/h2_rfc8441.rs` drives the same code (this file is its module) and asserts on it.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2::{RecvStream, SendStream};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use rand_core::{OsRng, TryRngCore, UnwrapErr};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use wsmachine::connection::{Endpoint, TimedOut, MIN_RECEIVE_BUFFER};
use wsmachine::handshake::h2::{
    check_enable_connect_protocol, parse_connect, validate_response, ConnectRequest, H2Error,
};
use wsmachine::{
    Client, CloseCode, CloseOutcome, Config, Connection, DataChunk, DataKind, Event, ReceiveError,
    SendError, Server,
};

/// The longest any one step may take before it counts as a failure.
pub const STEP: Duration = Duration::from_secs(10);
/// The path the server serves; any other is answered 404.
pub const PATH: &str = "/chat";
/// The subprotocol both sides speak.
pub const SUBPROTOCOL: &str = "chat";
/// The extension offer the client sends. This server accepts none: the connections here run
/// without permessage-deflate, so the answer must leave it out and the client must accept that.
pub const EXTENSION_OFFER: &str = "permessage-deflate; client_max_window_bits";
/// The size of the large binary message: more than three times HTTP/2's initial window.
pub const LARGE: usize = 200 * 1024;
/// The most DATA frames or capacity waits one side handles before it gives up (a bound on
/// every loop, beside the time bound).
const MAX_ROUNDS: usize = 100_000;

/// Why a step failed.
#[derive(Debug)]
pub enum Failure {
    /// The TCP connection.
    Io(std::io::Error),
    /// The HTTP/2 stack.
    H2(h2::Error),
    /// The RFC 8441 helpers refused the setting, the request or the response.
    Helper(H2Error),
    /// The WebSocket connection refused input.
    Receive(ReceiveError),
    /// The WebSocket connection refused output.
    Send(SendError),
    /// A step took longer than [`STEP`].
    Timeout(&'static str),
    /// Something arrived that the scenario did not expect.
    Unexpected(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "TCP: {e}"),
            Self::H2(e) => write!(f, "HTTP/2: {e}"),
            Self::Helper(H2Error::Status(code)) => write!(f, "the server answered {code}"),
            Self::Helper(e) => write!(f, "RFC 8441: {e}"),
            Self::Receive(e) => write!(f, "WebSocket input: {e}"),
            Self::Send(e) => write!(f, "WebSocket output: {e}"),
            Self::Timeout(step) => write!(f, "{step}: no progress within {} s", STEP.as_secs()),
            Self::Unexpected(what) => write!(f, "unexpected: {what}"),
        }
    }
}

impl std::error::Error for Failure {}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<h2::Error> for Failure {
    fn from(e: h2::Error) -> Self {
        Self::H2(e)
    }
}

impl From<H2Error> for Failure {
    fn from(e: H2Error) -> Self {
        Self::Helper(e)
    }
}

impl From<ReceiveError> for Failure {
    fn from(e: ReceiveError) -> Self {
        Self::Receive(e)
    }
}

impl From<SendError> for Failure {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

/// Runs `future` for at most [`STEP`].
pub async fn step<T>(
    what: &'static str,
    future: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    timeout(STEP, future)
        .await
        .unwrap_or(Err(Failure::Timeout(what)))
}

/// One whole thing received, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A whole text message.
    Text(String),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A ping (the pong has already been sent).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The peer's close frame: code and reason (the reply, if owed, has already been sent).
    Close(u16, String),
    /// The peer ended its half of the stream (END_STREAM): how the WebSocket ended.
    End(CloseOutcome),
    /// The peer reset the stream (RST_STREAM; RFC 8441 §5: CANCEL stands for a TCP reset):
    /// the reason, and how the WebSocket ended (1006 unless the close handshake was done).
    Reset(u32, CloseOutcome),
    /// The close handshake did not finish within the close timeout: we reset the stream
    /// (CANCEL), and this is how the WebSocket ended.
    TimedOut(CloseOutcome),
}

/// How a WebSocket ends when no close frame came (RFC 6455 §7.1.5).
const ABNORMAL: CloseOutcome = CloseOutcome {
    clean: false,
    code: CloseCode::ABNORMAL,
};

/// What one side counted on its stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// DATA frames received (non-empty ones).
    pub data_frames_in: usize,
    /// Bytes received in DATA frames, all given back to the window.
    pub bytes_in: usize,
    /// `send_data` calls (`h2` cuts them into DATA frames of at most its frame size).
    pub data_writes_out: usize,
    /// Bytes sent in DATA frames.
    pub bytes_out: usize,
    /// Times output had to wait for send capacity (`poll_capacity`).
    pub capacity_waits: usize,
    /// Our half of the stream has ended (END_STREAM sent).
    pub end_stream_sent: bool,
}

/// A wsmachine [`Connection`] over one HTTP/2 stream: DATA in, DATA out.
pub struct H2WebSocket<E: Endpoint> {
    /// The WebSocket state machine.
    pub conn: Connection<E>,
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Received bytes the connection has not consumed yet (not yet given back to the window).
    rx: Vec<u8>,
    /// The data message being reassembled.
    message: Option<(DataKind, Vec<u8>)>,
    /// Time zero of the connection's clock.
    start: tokio::time::Instant,
    /// The peer reset the stream (the reason) while we were sending: reported by `next`.
    reset: Option<u32>,
    /// The connection refused input: what arrives from now on is only given back to the
    /// window, until END_STREAM.
    failed: bool,
    /// What went over the stream.
    pub counts: Counts,
}

impl<E: Endpoint> H2WebSocket<E> {
    /// Wraps the stream of an accepted extended CONNECT.
    pub fn new(conn: Connection<E>, send: SendStream<Bytes>, recv: RecvStream) -> Self {
        Self {
            conn,
            send,
            recv,
            rx: Vec::new(),
            message: None,
            start: tokio::time::Instant::now(),
            reset: None,
            failed: false,
            counts: Counts::default(),
        }
    }

    /// Sends `bytes` as DATA within the stream's send capacity, and ends our half of the
    /// stream (END_STREAM, RFC 8441 §5) once the WebSocket is closed. When the peer has reset
    /// the stream the bytes are dropped and [`next`](Self::next) reports the reset.
    async fn transmit(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        match self.transmit_data(bytes).await {
            Err(Failure::H2(e)) if e.is_reset() && e.is_remote() => {
                self.reset = Some(e.reason().map_or(0, u32::from));
                Ok(())
            }
            other => other,
        }
    }

    async fn transmit_data(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let end = self.conn.is_closed();
        if self.reset.is_some() || self.counts.end_stream_sent || (bytes.is_empty() && !end) {
            return Ok(());
        }
        let mut data = Bytes::copy_from_slice(bytes);
        if data.is_empty() {
            self.send.send_data(data, true)?;
            self.counts.end_stream_sent = true;
            return Ok(());
        }
        for _ in 0..MAX_ROUNDS {
            self.send.reserve_capacity(data.len());
            let mut capacity = self.send.capacity();
            if capacity == 0 {
                self.counts.capacity_waits += 1;
                capacity = match poll_fn(|cx| self.send.poll_capacity(cx)).await {
                    Some(capacity) => capacity?,
                    None => return Err(Failure::Unexpected("the stream was reset".into())),
                };
            }
            let chunk = data.split_to(capacity.min(data.len()));
            let last = data.is_empty();
            self.counts.data_writes_out += 1;
            self.counts.bytes_out += chunk.len();
            self.send.send_data(chunk, last && end)?;
            if last {
                self.counts.end_stream_sent = end;
                return Ok(());
            }
        }
        Err(Failure::Unexpected("no send capacity".into()))
    }

    /// Runs one `send_*` of the connection with a buffer for `payload_len` bytes and what it
    /// owes, and sends what it wrote. A send refused because the connection is closing still
    /// sends the close it owed.
    async fn send_with(
        &mut self,
        payload_len: usize,
        send: impl FnOnce(&mut Connection<E>, &mut [u8]) -> Result<usize, SendError>,
    ) -> Result<(), Failure> {
        let mut out = vec![0u8; payload_len + 2 * MIN_RECEIVE_BUFFER];
        match send(&mut self.conn, &mut out) {
            Ok(n) => self.transmit(&out[..n]).await,
            Err(e @ SendError::Closing { written }) => {
                self.transmit(&out[..written]).await?;
                Err(Failure::Send(e))
            }
            Err(e) => Err(Failure::Send(e)),
        }
    }

    /// Abandons the WebSocket without a close handshake: resets the stream with CANCEL, the
    /// HTTP/2 form of a TCP reset (RFC 8441 §5). Returns how the WebSocket ended.
    pub fn abort(&mut self) -> CloseOutcome {
        self.send.send_reset(h2::Reason::CANCEL);
        self.conn.receive_eof()
    }

    /// Sends `bytes` as they are, past the connection: for tests that break the protocol.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.transmit(bytes).await
    }

    /// Sends a whole text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), Failure> {
        self.send_with(text.len(), |c, out| c.send_text(text, out))
            .await
    }

    /// Sends a whole binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Failure> {
        self.send_with(data.len(), |c, out| c.send_binary(data, out))
            .await
    }

    /// Sends a ping.
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Failure> {
        self.send_with(payload.len(), |c, out| c.send_ping(payload, out))
            .await
    }

    /// Starts the close handshake.
    pub async fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Failure> {
        self.send_with(reason.len(), |c, out| c.send_close(code, reason, out))
            .await
    }

    /// Feeds the unconsumed input to the connection until it needs more; returns the first
    /// whole thing it completed. Consumed bytes are given back to the stream's window.
    fn process(&mut self) -> Result<Option<Message>, Failure> {
        loop {
            if self.failed {
                self.recv.flow_control().release_capacity(self.rx.len())?;
                self.rx.clear();
                return Ok(None);
            }
            let received = match self.conn.receive(&mut self.rx) {
                Ok(received) => received,
                Err(e) => {
                    self.failed = true;
                    return Err(e.into());
                }
            };
            let consumed = received.consumed;
            let done = match received.event {
                None => None,
                Some(Event::Data(DataChunk {
                    kind,
                    payload,
                    first,
                    last,
                    ..
                })) => {
                    let (_, bytes) = match (&mut self.message, first) {
                        (Some(message), false) => message,
                        (message, _) => message.insert((kind, Vec::new())),
                    };
                    bytes.extend_from_slice(payload);
                    match self.message.take_if(|_| last) {
                        Some((DataKind::Text, bytes)) => {
                            Some(Message::Text(String::from_utf8(bytes).map_err(|_| {
                                Failure::Unexpected("text that is not UTF-8".into())
                            })?))
                        }
                        Some((DataKind::Binary, bytes)) => Some(Message::Binary(bytes)),
                        None => None,
                    }
                }
                Some(Event::Ping(payload)) => Some(Message::Ping(payload.to_vec())),
                Some(Event::Pong(payload)) => Some(Message::Pong(payload.to_vec())),
                Some(Event::Close(frame)) => {
                    Some(Message::Close(frame.code.0, frame.reason.to_owned()))
                }
            };
            self.rx.drain(..consumed);
            self.recv.flow_control().release_capacity(consumed)?;
            if done.is_some() || consumed == 0 {
                return Ok(done);
            }
        }
    }

    /// Milliseconds since the stream was set up: the connection's clock.
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The next DATA (or the end of the stream), or `None` when the connection's timer
    /// ([`Connection::poll_timeout`]) is due first.
    async fn data_or_timer(&mut self) -> Option<Option<Result<Bytes, h2::Error>>> {
        match self.conn.poll_timeout() {
            None => Some(self.recv.data().await),
            Some(at) => {
                let due = self.start + Duration::from_millis(at);
                tokio::time::timeout_at(due, self.recv.data()).await.ok()
            }
        }
    }

    /// Waits for the next whole message, control frame or the end of the peer's stream, and
    /// sends what the connection owes in the meantime (pongs, the close reply, the keepalive
    /// ping). The connection's timers run on tokio's clock: keepalive when configured, and the
    /// close deadline, after which the stream is reset (CANCEL: the peer never closed).
    pub async fn next(&mut self) -> Result<Message, Failure> {
        for _ in 0..MAX_ROUNDS {
            let processed = self.process();
            // What the connection owes goes out first, the close after a violation included.
            let mut out = [0u8; 2 * MIN_RECEIVE_BUFFER];
            let n = self.conn.poll_transmit(&mut out)?;
            self.transmit(&out[..n]).await?;
            if let Some(message) = processed? {
                return Ok(message);
            }
            if let Some(reason) = self.reset {
                return Ok(Message::Reset(reason, self.conn.receive_eof()));
            }
            let Some(data) = self.data_or_timer().await else {
                if self.conn.handle_timeout(self.now()) == Some(TimedOut::Close) {
                    self.send.send_reset(h2::Reason::CANCEL);
                    let outcome = self.conn.close_outcome();
                    return Ok(Message::TimedOut(outcome.unwrap_or(ABNORMAL)));
                }
                continue;
            };
            match data {
                Some(Err(e)) if e.is_reset() && e.is_remote() => {
                    let reason = e.reason().map_or(0, u32::from);
                    return Ok(Message::Reset(reason, self.conn.receive_eof()));
                }
                Some(bytes) => {
                    let bytes = bytes?;
                    if !bytes.is_empty() {
                        self.counts.data_frames_in += 1;
                        self.counts.bytes_in += bytes.len();
                    }
                    self.rx.extend_from_slice(&bytes);
                }
                None => {
                    let outcome = self.conn.receive_eof();
                    // Our half ends too, if it has not (the WebSocket is closed now).
                    self.transmit(&[]).await?;
                    return Ok(Message::End(outcome));
                }
            }
        }
        Err(Failure::Unexpected(
            "more DATA frames than the bound".into(),
        ))
    }
}

/// `h2`'s view of a request, as the `(name, value)` fields that [`parse_connect`] takes:
/// `:protocol` comes from the `h2::ext::Protocol` extension, the other pseudo-headers from the
/// method and the URI. `None` when a header value is not visible ASCII (not a `&str`).
pub fn request_fields<B>(request: &Request<B>) -> Option<Vec<(&str, &str)>> {
    let uri = request.uri();
    let mut fields = vec![(":method", request.method().as_str())];
    if let Some(protocol) = request.extensions().get::<h2::ext::Protocol>() {
        fields.push((":protocol", protocol.as_str()));
    }
    let pseudo = [
        (":scheme", uri.scheme_str()),
        (":path", uri.path_and_query().map(|p| p.as_str())),
        (":authority", uri.authority().map(|a| a.as_str())),
    ];
    fields.extend(pseudo.into_iter().filter_map(|(n, v)| Some((n, v?))));
    for (name, value) in request.headers() {
        fields.push((name.as_str(), value.to_str().ok()?));
    }
    Some(fields)
}

/// `h2`'s view of a response (its status and headers) as `(name, value)` fields for
/// [`validate_response`]. `None` when a header value is not visible ASCII.
pub fn response_fields<'a>(
    status: &'a StatusCode,
    headers: &'a HeaderMap,
) -> Option<Vec<(&'a str, &'a str)>> {
    let mut fields = vec![(":status", status.as_str())];
    for (name, value) in headers {
        fields.push((name.as_str(), value.to_str().ok()?));
    }
    Some(fields)
}

/// The `http` request for the fields of [`ConnectRequest::write_fields`]: the method and URI
/// from the pseudo-headers, `:protocol` as the `h2::ext::Protocol` extension (the only way
/// `h2` sends it), the other fields as headers.
pub fn connect_request(fields: &[(&str, &str)]) -> Result<Request<()>, Failure> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| *v)
    };
    let uri = format!(
        "{}://{}{}",
        field(":scheme"),
        field(":authority"),
        field(":path")
    );
    let method = Method::from_bytes(field(":method").as_bytes())
        .map_err(|e| Failure::Unexpected(format!("method: {e}")))?;
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .extension(h2::ext::Protocol::from(field(":protocol")));
    for (name, value) in fields.iter().filter(|(n, _)| !n.starts_with(':')) {
        builder = builder.header(*name, *value);
    }
    builder
        .body(())
        .map_err(|e| Failure::Unexpected(format!("request: {e}")))
}

/// How the client side set up its stream.
pub struct Opened {
    /// The WebSocket over the stream.
    pub ws: H2WebSocket<Client<UnwrapErr<OsRng>>>,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted.
    pub extensions: Vec<String>,
    /// The request fields that went out, in [`ConnectRequest::write_fields`] order.
    pub sent: Vec<(String, String)>,
    /// The HTTP/2 connection's task.
    pub driver: JoinHandle<Result<(), h2::Error>>,
}

/// The client: an HTTP/2 connection to `addr`, the server's SETTINGS checked, an extended
/// CONNECT for `path` offering `subprotocols`, the response checked.
pub async fn open(addr: SocketAddr, path: &str, subprotocols: &[&str]) -> Result<Opened, Failure> {
    open_with(addr, path, subprotocols, |_| {}).await
}

/// [`open`], with `edit` applied to the request fields before they go out (for tests that
/// send what our helper would not write).
pub async fn open_with(
    addr: SocketAddr,
    path: &str,
    subprotocols: &[&str],
    edit: impl FnOnce(&mut Vec<(&str, &str)>),
) -> Result<Opened, Failure> {
    let tcp = step("TCP connect", async { Ok(TcpStream::connect(addr).await?) }).await?;
    let (send_request, mut connection) = step("HTTP/2 handshake", async {
        Ok(h2::client::handshake(tcp).await?)
    })
    .await?;
    let mut ping_pong = connection
        .ping_pong()
        .ok_or_else(|| Failure::Unexpected("no ping handle".into()))?;
    let driver = tokio::spawn(connection);
    // `h2`'s handshake does not wait for the server's SETTINGS. A server's first frame is its
    // SETTINGS (RFC 9113 §3.4) and `h2` applies them before it reads the next frame, so once a
    // PING of ours comes back, the setting the server sent (or did not send) is known.
    step("the server's SETTINGS (a PING round trip)", async {
        Ok(ping_pong.ping(h2::Ping::opaque()).await?)
    })
    .await?;
    check_enable_connect_protocol(Some(u32::from(
        send_request.is_extended_connect_protocol_enabled(),
    )))?;
    let authority = addr.to_string();
    let offer = ConnectRequest {
        scheme: "http",
        authority: &authority,
        path,
        origin: None,
        subprotocols,
        extensions: Some(EXTENSION_OFFER),
    };
    let mut fields = [("", ""); 12];
    let n = offer.write_fields(&mut fields)?;
    let mut fields = fields[..n].to_vec();
    edit(&mut fields);
    let request = connect_request(&fields)?;
    let mut send_request = step("ready to open a stream", async {
        Ok(send_request.ready().await?)
    })
    .await?;
    let (response, send) = send_request.send_request(request, false)?;
    let response = step("the response", async { Ok(response.await?) }).await?;
    let (subprotocol, extensions) = {
        let status = response.status();
        let fields = response_fields(&status, response.headers())
            .ok_or_else(|| Failure::Unexpected("a response header that is not text".into()))?;
        let accepted = validate_response(fields.iter().copied(), &offer)?;
        let extensions = accepted.extensions().map(|e| e.name().to_owned());
        (
            accepted.subprotocol().map(str::to_owned),
            extensions.collect(),
        )
    };
    let recv = response.into_body();
    let rng = OsRng.unwrap_err();
    Ok(Opened {
        ws: H2WebSocket::new(Connection::client(Config::DEFAULT, rng), send, recv),
        subprotocol,
        extensions,
        sent: fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        driver,
    })
}

/// What the server saw of one extended CONNECT.
#[derive(Debug, Default)]
pub struct ServerReport {
    /// The status it answered.
    pub status: u16,
    /// Why it refused, when it did.
    pub refused: Option<H2Error>,
    /// The `:protocol` that `h2` exposed (the `h2::ext::Protocol` extension).
    pub protocol: Option<String>,
    /// The request's fields as rebuilt from `h2`'s request and given to [`parse_connect`].
    pub fields: Vec<(String, String)>,
    /// The subprotocol it chose.
    pub subprotocol: Option<String>,
    /// The names of the extensions offered (it accepts none).
    pub extensions_offered: Vec<String>,
    /// The messages it echoed, as received.
    pub echoed: Vec<Message>,
    /// The pings it answered.
    pub pinged: Vec<Vec<u8>>,
    /// The pong to its own ping.
    pub pong: Option<Vec<u8>>,
    /// The client's close frame.
    pub close: Option<(u16, String)>,
    /// How the WebSocket ended, when the client's END_STREAM or RST_STREAM came.
    pub outcome: Option<CloseOutcome>,
    /// The reason of the client's RST_STREAM, if it reset the stream.
    pub reset: Option<u32>,
    /// What went over the stream.
    pub counts: Counts,
    /// Requests seen on the connection (the client opens exactly one stream, or none).
    pub requests: usize,
}

/// The server's ping payload.
pub const SERVER_PING: &[u8] = b"are you there";

/// Accepts one TCP connection on `listener` and serves one HTTP/2 connection on it: at most
/// one extended CONNECT, validated with [`parse_connect`]; with `enable` the server advertises
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL`. Returns once the HTTP/2 connection is over.
pub async fn serve(listener: TcpListener, enable: bool) -> Result<ServerReport, Failure> {
    let (tcp, _) = step("TCP accept", async { Ok(listener.accept().await?) }).await?;
    let mut builder = h2::server::Builder::new();
    if enable {
        builder.enable_connect_protocol();
    }
    let mut connection = step("HTTP/2 handshake", async {
        Ok(builder.handshake::<_, Bytes>(tcp).await?)
    })
    .await?;
    let mut report = ServerReport::default();
    // The first stream; `None` when the client closes the connection without opening one.
    let first = step("a request", async {
        connection.accept().await.transpose().map_err(Failure::H2)
    })
    .await?;
    // `accept` also drives the connection: keep calling it while the stream is served, and
    // count (and refuse) any further stream.
    let driver = tokio::spawn(async move {
        let mut extra = 0;
        while let Some(request) = connection.accept().await {
            if let Ok((_, mut respond)) = request {
                extra += 1;
                respond.send_reset(h2::Reason::REFUSED_STREAM);
            }
        }
        extra
    });
    if let Some((request, respond)) = first {
        report.requests = 1;
        report.protocol = request
            .extensions()
            .get::<h2::ext::Protocol>()
            .map(|p| p.as_str().to_owned());
        serve_stream(request, respond, &mut report).await?;
    }
    report.requests += step("the end of the HTTP/2 connection", async {
        driver
            .await
            .map_err(|e| Failure::Unexpected(format!("{e}")))
    })
    .await?;
    Ok(report)
}

/// Answers one request: 400 when the helper refuses it, 404 for another path, else 200 and
/// an echo of every message until the client closes.
async fn serve_stream(
    request: Request<RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    report: &mut ServerReport,
) -> Result<(), Failure> {
    let answer = |status: StatusCode| Response::builder().status(status).body(());
    let mut fields_out = [("", ""); 3];
    let fields = request_fields(&request);
    let owned = fields.iter().flatten();
    report.fields = owned
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let accepted = match fields {
        None => Err(H2Error::InvalidField),
        Some(fields) => match parse_connect(fields.iter().copied()) {
            Err(e) => Err(e),
            Ok(connect) if connect.path() != PATH => Ok(None),
            Ok(connect) => {
                let chosen = connect.subprotocols().find(|p| *p == SUBPROTOCOL);
                report.subprotocol = chosen.map(str::to_owned);
                let offered = connect.extensions().map(|e| e.name().to_owned());
                report.extensions_offered = offered.collect();
                let n = connect.response_fields(chosen, None, &mut fields_out)?;
                Ok(Some(accept_response(&fields_out[..n])?))
            }
        },
    };
    let response = match accepted {
        Err(e) => {
            report.refused = Some(e);
            answer(StatusCode::BAD_REQUEST)
        }
        Ok(None) => answer(StatusCode::NOT_FOUND),
        Ok(Some(response)) => Ok(response),
    }
    .map_err(|e| Failure::Unexpected(format!("response: {e}")))?;
    report.status = response.status().as_u16();
    if report.status != 200 {
        respond.send_response(response, true)?;
        return Ok(());
    }
    let send = respond.send_response(response, false)?;
    let mut ws = H2WebSocket::new(
        Connection::server(Config::DEFAULT),
        send,
        request.into_body(),
    );
    step("the server's ping", ws.send_ping(SERVER_PING)).await?;
    let result = echo(&mut ws, report).await;
    report.counts = ws.counts;
    result
}

/// The `http` response for the fields of `Connect::response_fields`.
pub fn accept_response(fields: &[(&str, &str)]) -> Result<Response<()>, Failure> {
    let mut response = Response::new(());
    for (name, value) in fields {
        if *name == ":status" {
            *response.status_mut() = StatusCode::from_bytes(value.as_bytes())
                .map_err(|e| Failure::Unexpected(format!("status: {e}")))?;
        } else {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Failure::Unexpected(format!("header name: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Failure::Unexpected(format!("header value: {e}")))?;
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}

/// The server's WebSocket loop: every message is echoed; it ends when the client's
/// END_STREAM arrives.
async fn echo(ws: &mut H2WebSocket<Server>, report: &mut ServerReport) -> Result<(), Failure> {
    for _ in 0..MAX_ROUNDS {
        match step("the client's next frame", ws.next()).await? {
            Message::Text(text) => {
                step("echo text", ws.send_text(&text)).await?;
                report.echoed.push(Message::Text(text));
            }
            Message::Binary(data) => {
                step("echo binary", ws.send_binary(&data)).await?;
                report.echoed.push(Message::Binary(data));
            }
            Message::Ping(payload) => report.pinged.push(payload),
            Message::Pong(payload) => report.pong = Some(payload),
            Message::Close(code, reason) => report.close = Some((code, reason)),
            Message::End(outcome) => {
                report.outcome = Some(outcome);
                return Ok(());
            }
            Message::Reset(reason, outcome) => {
                report.reset = Some(reason);
                report.outcome = Some(outcome);
                return Ok(());
            }
            Message::TimedOut(outcome) => {
                report.outcome = Some(outcome);
                return Err(Failure::Timeout("the close handshake"));
            }
        }
    }
    Err(Failure::Unexpected("more messages than the bound".into()))
}

/// The bytes of the large binary message.
pub fn large_payload() -> Vec<u8> {
    (0..LARGE).map(|i| (i % 251) as u8).collect()
}

/// What the client saw in the main scenario.
#[derive(Debug, Default)]
pub struct ClientReport {
    /// The request fields that went out.
    pub sent: Vec<(String, String)>,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted.
    pub extensions: Vec<String>,
    /// The server's ping, answered.
    pub server_ping: Option<Vec<u8>>,
    /// The echoes, in order.
    pub echoes: Vec<Message>,
    /// The pong to our ping.
    pub pong: Option<Vec<u8>>,
    /// The server's close reply.
    pub close: Option<(u16, String)>,
    /// How the WebSocket ended, when the server's END_STREAM came.
    pub outcome: Option<CloseOutcome>,
    /// What went over the stream.
    pub counts: Counts,
}

/// The client's side of the main scenario: text, a large binary, a ping, a close.
pub async fn client_scenario(addr: SocketAddr) -> Result<ClientReport, Failure> {
    let Opened {
        mut ws,
        subprotocol,
        extensions,
        sent,
        driver,
    } = open(addr, PATH, &["superchat", SUBPROTOCOL]).await?;
    let mut report = ClientReport {
        sent,
        subprotocol,
        extensions,
        ..ClientReport::default()
    };
    let large = large_payload();
    step("send text", ws.send_text("hello over HTTP/2")).await?;
    step("send binary", ws.send_binary(&large)).await?;
    step("send ping", ws.send_ping(b"ping 1")).await?;
    // Two echoes and a pong, with the server's ping somewhere before them: four frames.
    for _ in 0..4 {
        if report.echoes.len() == 2 && report.pong.is_some() {
            break;
        }
        match step("the server's next frame", ws.next()).await? {
            Message::Ping(payload) => report.server_ping = Some(payload),
            Message::Pong(payload) => report.pong = Some(payload),
            message @ (Message::Text(_) | Message::Binary(_)) => report.echoes.push(message),
            other => return Err(Failure::Unexpected(format!("{other:?}"))),
        }
    }
    if report.echoes.len() < 2 || report.pong.is_none() {
        return Err(Failure::Unexpected(format!(
            "after four frames: {report:?}"
        )));
    }
    step("send close", ws.send_close(CloseCode::NORMAL, "done")).await?;
    // The close reply, then the server's END_STREAM.
    for _ in 0..2 {
        match step("the close reply", ws.next()).await? {
            Message::Close(code, reason) if report.close.is_none() => {
                report.close = Some((code, reason));
            }
            Message::End(outcome) => {
                report.outcome = Some(outcome);
                break;
            }
            other => return Err(Failure::Unexpected(format!("{other:?}"))),
        }
    }
    if report.outcome.is_none() {
        return Err(Failure::Unexpected("no END_STREAM after the close".into()));
    }
    report.counts = ws.counts;
    drop(ws);
    step("the end of the HTTP/2 connection", async {
        match driver.await {
            Ok(result) => Ok(result?),
            Err(e) => Err(Failure::Unexpected(format!("{e}"))),
        }
    })
    .await?;
    Ok(report)
}

/// A listener on 127.0.0.1, any port.
pub async fn listen() -> Result<(TcpListener, SocketAddr), Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Prints one checked step; returns whether it held.
fn check(ok: bool, what: &str) -> bool {
    println!("{} {what}", if ok { "ok  " } else { "FAIL" });
    ok
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut all = true;

    // 1. The whole exchange.
    println!("== a WebSocket over an HTTP/2 stream (RFC 8441)");
    let run = async {
        let (listener, addr) = listen().await?;
        let server = tokio::spawn(serve(listener, true));
        let client = client_scenario(addr).await;
        let server = server
            .await
            .map_err(|e| Failure::Unexpected(format!("{e}")))?;
        Ok::<_, Failure>((client?, server?))
    };
    match run.await {
        Err(e) => all = check(false, &format!("the exchange: {e}")),
        Ok((client, server)) => {
            let sent: Vec<String> = client
                .sent
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect();
            println!("     request fields: {}", sent.join(", "));
            all &= check(
                server.protocol.as_deref() == Some("websocket"),
                "the server saw :protocol websocket",
            );
            all &= check(
                server.status == 200 && client.subprotocol.as_deref() == Some(SUBPROTOCOL),
                "200, subprotocol chat",
            );
            all &= check(
                server.extensions_offered == ["permessage-deflate"] && client.extensions.is_empty(),
                "permessage-deflate offered, declined, and the answer accepted",
            );
            all &= check(
                client.server_ping.as_deref() == Some(SERVER_PING)
                    && server.pong.as_deref() == Some(SERVER_PING),
                "server ping answered by the client's pong",
            );
            let large = large_payload();
            let expected = [
                Message::Text("hello over HTTP/2".into()),
                Message::Binary(large),
            ];
            all &= check(
                server.echoed == expected && client.echoes == expected,
                &format!("text and a {LARGE}-byte binary echoed"),
            );
            println!(
                "     client: {} DATA writes ({} bytes), {} capacity waits; {} DATA frames in",
                client.counts.data_writes_out,
                client.counts.bytes_out,
                client.counts.capacity_waits,
                client.counts.data_frames_in
            );
            all &= check(
                client.counts.capacity_waits > 0 && server.counts.capacity_waits > 0,
                "both sides waited for HTTP/2 flow-control capacity",
            );
            all &= check(
                client.pong.as_deref() == Some(b"ping 1") && server.pinged == [b"ping 1".to_vec()],
                "client ping answered by the server's pong",
            );
            all &= check(
                server.close == Some((1000, "done".into()))
                    && client.close == Some((1000, String::new())),
                "close 1000 from the client, answered",
            );
            let clean = Some(CloseOutcome {
                clean: true,
                code: CloseCode::NORMAL,
            });
            all &= check(
                server.outcome == clean
                    && client.outcome == clean
                    && server.counts.end_stream_sent
                    && client.counts.end_stream_sent,
                "clean close; END_STREAM each way after the close frames",
            );
        }
    }

    // 2. A server without SETTINGS_ENABLE_CONNECT_PROTOCOL.
    println!("== a server without SETTINGS_ENABLE_CONNECT_PROTOCOL");
    let run = async {
        let (listener, addr) = listen().await?;
        let server = tokio::spawn(serve(listener, false));
        let client = open(addr, PATH, &[]).await.map(|_| ());
        let server = server
            .await
            .map_err(|e| Failure::Unexpected(format!("{e}")))??;
        Ok::<_, Failure>((client, server))
    };
    match run.await {
        Ok((Err(Failure::Helper(e @ H2Error::ConnectProtocolDisabled)), server)) => {
            println!("     client: {e}");
            all &= check(
                server.requests == 0,
                "refused by the client; no stream opened",
            );
        }
        Ok((other, _)) => all = check(false, &format!("expected a refusal, got {other:?}")),
        Err(e) => all = check(false, &format!("{e}")),
    }

    // 3. A server that answers 404.
    println!("== a server that answers 404");
    let run = async {
        let (listener, addr) = listen().await?;
        let server = tokio::spawn(serve(listener, true));
        let client = open(addr, "/elsewhere", &[]).await.map(|_| ());
        let server = server
            .await
            .map_err(|e| Failure::Unexpected(format!("{e}")))??;
        Ok::<_, Failure>((client, server))
    };
    match run.await {
        Ok((Err(e @ Failure::Helper(H2Error::Status(404))), server)) => {
            println!("     client: {e}");
            all &= check(server.status == 404, "reported with its status, 404");
        }
        Ok((other, _)) => all = check(false, &format!("expected 404, got {other:?}")),
        Err(e) => all = check(false, &format!("{e}")),
    }

    if all {
        println!("every step checked out");
    } else {
        println!("some step failed");
        std::process::exit(1);
    }
}
