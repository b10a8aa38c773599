//! The echo server of `echo_server.rs`, on tokio: the handshake on the sans-IO [`Driver`]
//! with the runtime's timer, then the async `embedded-io-async` adapter.
//!
//! ```text
//! cargo run --release --example tokio_echo -- [ADDR] [FLAGS]      (default 127.0.0.1:9002)
//! cargo run --release --example tokio_echo -- [ADDR] --tls-cert CERT --tls-key KEY [FLAGS]
//! ```
//!
//! With `--tls-cert CERT.pem --tls-key KEY.pem` (a PEM chain, leaf first, and its PEM private
//! key) it serves `wss://` through tokio-rustls: every connection runs TLS first, within the
//! handshake timeout, then everything below over it; a peer that is not TLS or refuses the
//! certificate is logged and dropped. A certificate or key that does not load: a message on
//! stderr and exit 1. Without them it serves plain `ws://`.
//!
//! One task per connection on a single-threaded runtime, three fixed 64 KiB buffers each, every
//! data chunk sent back as a fragment as it arrives; the subprotocol `echo` when offered; a
//! peer idle for 30 s is dropped (unless keepalive is on). The flags are those of
//! `echo_server`, all optional:
//!
//! | flag | effect |
//! | --- | --- |
//! | `--token SECRET` | only requests with `Authorization: Bearer SECRET` or `?token=SECRET` are accepted; others get `401` with `WWW-Authenticate: Bearer` |
//! | `--origin ORIGIN` | repeatable allow list: a request whose `Origin` (a browser's) is not on it gets `403`; a request without `Origin` is accepted |
//! | `--max-message BYTES` | a larger message (or frame) fails the connection with 1009 |
//! | `--rate-msgs N` | at most N messages a second per connection (bursts of N); over it, 1008 |
//! | `--max-connections N` | N at once (default 256); the next gets `503` with `Retry-After: 1`, written and closed gracefully |
//! | `--ping-interval-ms N` | a ping after N ms without input ... |
//! | `--pong-timeout-ms M` | ... and a peer silent for M ms more (default 10 000) is closed with 1001 and dropped |
//! | `--handshake-timeout-ms N` | the request head must be in within N ms (default 10 000), else `408` |
//! | `--tls-cert CERT --tls-key KEY` | together: serve `wss://` with this certificate chain and private key (PEM) |
//! | `--deflate` | answer permessage-deflate offers (RFC 7692; build with `--features deflate-compress`): compressed messages are inflated into a 32 KiB window, and once agreed every message is echoed compressed |
//!
//! The handshake shows the driver's loop on a runtime: [`Poll::Read`]'s `wake_at` is the
//! handshake deadline, raced against the read; past it the driver writes the 408 itself.

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::flags::{server_tls, Flags, TLS_SERVER_FLAGS};
use common::policy::{Policy, RETRY_AFTER_S, SERVER_FLAGS, SERVER_SWITCHES, USAGE};
use common::tls::{self, AsyncHalfCloseTls, AsyncStream};
use embedded_io_adapters::tokio_1::FromTokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep_until, timeout, Instant};
use wsmachine::connection::RateLimiter;
use wsmachine::handshake::server::ServerOptions;
use wsmachine::handshake::Rejection;
use wsmachine::io::asynch::{close_stream, WebSocket};
use wsmachine::io::{Buffer, Closed, Drain, Driver, Error, Poll};
use wsmachine::{Event, Server};

const BUF: usize = 64 * 1024;
const MAX_CONNECTIONS: usize = 256;
const IDLE: Duration = Duration::from_secs(30);
/// How long a closing connection waits for the peer to end the stream.
const LINGER: Duration = Duration::from_secs(1);
/// What a closing connection reads at most meanwhile (a peer still flooding reads our last
/// frame rather than a reset); [`LINGER`] bounds it in time.
const DRAIN: Drain = Drain {
    reads: u32::MAX,
    bytes: 1 << 20,
};

type Ws<'b> = WebSocket<'b, &'b mut FromTokio<AsyncStream>, Server>;

/// Why a connection ended early.
#[derive(Debug)]
enum Failure {
    Ws(Error<std::io::Error>),
    Handshake(Closed),
    Tls(String),
    Idle,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ws(e) => write!(f, "{e}"),
            Self::Handshake(c) => write!(f, "{c}"),
            Self::Tls(e) => write!(f, "TLS handshake: {e}"),
            Self::Idle => write!(f, "idle for {} s", IDLE.as_secs()),
        }
    }
}

impl From<Error<std::io::Error>> for Failure {
    fn from(e: Error<std::io::Error>) -> Self {
        Self::Ws(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Ws(Error::Io(e))
    }
}

/// Counts a connection while its task runs.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let with_value = [SERVER_FLAGS, TLS_SERVER_FLAGS].concat();
    let parsed = Flags::parse(std::env::args().skip(1), &with_value, SERVER_SWITCHES)
        .and_then(|flags| Ok((Policy::from_flags(&flags)?, flags)));
    let (policy, flags) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("tokio_echo: {e}\nusage: tokio_echo {USAGE}");
            std::process::exit(2);
        }
    };
    // A certificate or key that does not load (or only one of them): exit 1.
    let tls = server_tls(&flags).unwrap_or_else(|e| {
        eprintln!("tokio_echo: {e}");
        std::process::exit(1);
    });
    let addr = flags
        .positional
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9002".to_owned());
    serve(&addr, policy, tls).await;
}

async fn serve(addr: &str, policy: Policy, tls: Option<Arc<tls::ServerConfig>>) {
    // `wss://` says so on the listening line; plain `ws://` prints the address alone.
    let scheme = if tls.is_some() { " (wss://)" } else { "" };
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("tokio_echo listening on {local}{scheme}"),
        Err(_) => println!("tokio_echo listening on {addr}{scheme}"),
    }
    let max = policy.max_connections.unwrap_or(MAX_CONNECTIONS);
    let policy = Arc::new(policy);
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= max {
            active.fetch_sub(1, Ordering::SeqCst);
            eprintln!("{peer}: {max} connections open: 503");
            // Tasks are cheap: the refusal reads the request and is bounded in time.
            let tls = tls.clone();
            tokio::spawn(async move {
                let _ = timeout(LINGER * 3, refuse_busy(tcp, tls)).await;
            });
            continue;
        }
        let guard = Active(Arc::clone(&active));
        let policy = Arc::clone(&policy);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _guard = guard;
            if let Err(e) = handle(tcp, &policy, tls).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Runs the TLS handshake on `tcp` when `tls` is given, within `within`; the plain stream
/// otherwise.
async fn secure(
    tcp: TcpStream,
    tls: Option<Arc<tls::ServerConfig>>,
    within: Duration,
) -> Result<AsyncStream, Failure> {
    let Some(config) = tls else {
        return Ok(AsyncStream::Plain(tcp));
    };
    match timeout(within, tls::accept_tls_async(tcp, &config)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(Failure::Tls(e)),
        Err(_) => Err(Failure::Tls("timed out in the TLS handshake".to_owned())),
    }
}

/// Answers a connection over the cap: reads its request (after the TLS handshake, if any),
/// writes `503` with `Retry-After`, and closes gracefully.
async fn refuse_busy(tcp: TcpStream, tls: Option<Arc<tls::ServerConfig>>) {
    let Ok(stream) = secure(tcp, tls, LINGER).await else {
        return;
    };
    let (mut rx, mut tx, mut scratch) = ([0u8; 4096], [0u8; 1024], [0u8; 1024]);
    let options = ServerOptions::default();
    let driver = Driver::server(&mut rx, &mut tx, wsmachine::Config::DEFAULT, &options);
    let mut stream = FromTokio::new(stream);
    let busy = Rejection::service_unavailable(Some(RETRY_AFTER_S));
    let answer = WebSocket::accept_or_reject(&mut stream, driver, |_| Err(busy));
    if timeout(LINGER, answer).await.is_ok() {
        let linger = close_stream(&mut stream, AsyncHalfCloseTls, &mut scratch, DRAIN);
        let _ = timeout(LINGER, linger).await;
    }
}

/// Milliseconds since `start`.
fn ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The instant of `at` milliseconds after `start`, a far one for `None`.
fn instant(start: Instant, at: Option<u64>) -> Instant {
    let far = Duration::from_secs(24 * 3600);
    start + at.map_or(far, |at| Duration::from_millis(at).min(far))
}

/// The opening handshake on the driver: reads raced against its deadline (`wake_at`), the
/// policy's decision, the response (a 101, or a refusal or a 408 that the caller then closes).
async fn handshake(
    stream: &mut FromTokio<AsyncStream>,
    driver: &mut Driver<'_, Server>,
    start: Instant,
    policy: &Policy,
) -> Result<(), Failure> {
    loop {
        match driver.poll(ms(start)) {
            Poll::Write(bytes) => {
                let n = timeout(IDLE, stream.inner_mut().write(bytes))
                    .await
                    .map_err(|_| Failure::Idle)??;
                driver.write_done(n);
            }
            Poll::Read { buf, wake_at } => {
                tokio::select! {
                    read = stream.inner_mut().read(buf) => driver.read_done(read?),
                    () = sleep_until(instant(start, wake_at)) => {}
                }
            }
            Poll::Request(pending) => {
                let mut headers = [wsmachine::httparse::EMPTY_HEADER; 32];
                match pending.request(&mut headers) {
                    Ok(request) => match policy.decide(&request) {
                        Ok(accept) => pending.accept(&request, &accept).unwrap_or(()),
                        Err(rejection) => pending.reject(&rejection).unwrap_or(()),
                    },
                    Err(e) => pending.refuse(e),
                }
            }
            Poll::Open | Poll::Event(_) => return Ok(()),
            Poll::Closed(closed) => return Err(Failure::Handshake(closed)),
        }
    }
}

/// Runs one connection from the handshake to the end of the close handshake.
async fn handle(
    tcp: TcpStream,
    policy: &Policy,
    tls: Option<Arc<tls::ServerConfig>>,
) -> Result<(), Failure> {
    let start = Instant::now();
    tcp.set_nodelay(true)?;
    // The TLS handshake (if any) within the handshake timeout; the driver's deadline counts
    // from `start` too, so the HTTP handshake has what is left.
    let stream = secure(tcp, tls, policy.handshake_timeout()).await?;
    let rate = policy.rate_limits();
    let mut limiter = RateLimiter::new(rate.unwrap_or_default());
    // `--deflate`: the inflate window and the inflater's state, only then.
    #[cfg(feature = "deflate-compress")]
    let mut window = common::deflate::window(policy.deflate);
    #[cfg(feature = "deflate-compress")]
    let mut deflate = common::deflate::deflate(&mut window, policy.config().max_message_size);
    let mut buffers = vec![0u8; 3 * BUF];
    let (rx, rest) = buffers.split_at_mut(BUF);
    let (tx, copy) = rest.split_at_mut(BUF);
    let options = ServerOptions::default();
    let deadline = u64::try_from(policy.handshake_timeout().as_millis()).unwrap_or(u64::MAX);
    let mut driver = Driver::server(rx, tx, policy.config(), &options).handshake_deadline(deadline);
    if let Some(rate) = rate {
        driver = driver.rate_limiter(&mut limiter, rate.on_exceed);
    }
    #[cfg(feature = "deflate-compress")]
    if let Some(deflate) = deflate.as_mut() {
        driver = driver.deflate(deflate);
    }
    let mut stream = FromTokio::new(stream);
    if let Err(e) = handshake(&mut stream, &mut driver, start, policy).await {
        // The refusal is written: let the client read it rather than a reset.
        let linger = close_stream(&mut stream, AsyncHalfCloseTls, copy, DRAIN);
        let _ = timeout(LINGER, linger).await;
        return Err(e);
    }
    let mut ws = Ws::from_driver(&mut stream, driver);
    let keepalive = policy.ping_interval_ms.is_some_and(|n| n > 0);
    let result = echo(&mut ws, copy, start, keepalive).await;
    // After the close handshake or a failure (whose close frame goes out first): the server
    // closes first (§7.1.1), half-closing and reading what the client still sends.
    let _ = timeout(LINGER, ws.close_stream(AsyncHalfCloseTls, DRAIN)).await;
    result
}

/// Sends every data chunk back as it arrives, as a fragment of the same kind. Reads are raced
/// against the connection's next deadline (keepalive) and the idle timeout.
async fn echo(
    ws: &mut Ws<'_>,
    copy: &mut [u8],
    start: Instant,
    keepalive: bool,
) -> Result<(), Failure> {
    let mut last_input = Instant::now();
    // Once permessage-deflate is agreed every message is echoed compressed, whether the
    // client's came compressed or not (the inflated chunks do not say).
    #[cfg(feature = "deflate-compress")]
    let mut compress = common::deflate::Compress::new(ws.driver().deflate_agreed());
    loop {
        // Everything already received, the timers first (the limiter counts at this time).
        loop {
            let _ = ws.handle_timeout(ms(start));
            let (kind, rsv, len, last) = match ws.try_next_event().await {
                Ok(Some(Event::Data(chunk))) => {
                    let len = chunk.payload.len();
                    let Some(dst) = copy.get_mut(..len) else {
                        let (buffer, needed) = (Buffer::Rx, len);
                        return Err(Error::BufferTooSmall { buffer, needed }.into());
                    };
                    dst.copy_from_slice(chunk.payload);
                    (chunk.kind, chunk.rsv, len, chunk.last)
                }
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(Error::Closed) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let payload = copy.get(..len).unwrap_or_default();
            #[cfg(feature = "deflate-compress")]
            if let Some(c) = compress.as_mut() {
                let (compressor, out) = (&mut c.compressor, &mut c.out);
                let send = ws.send_compressed_fragment(compressor, kind, payload, last, out);
                timeout(IDLE, send).await.map_err(|_| Failure::Idle)??;
                continue;
            }
            let sent = timeout(IDLE, ws.send_fragment(kind, rsv, payload, last)).await;
            sent.map_err(|_| Failure::Idle)??;
        }
        let wake = instant(start, ws.poll_timeout());
        let idle = last_input + IDLE;
        let until = if keepalive { wake } else { wake.min(idle) };
        tokio::select! {
            read = ws.fill() => {
                read?;
                last_input = Instant::now();
            }
            () = sleep_until(until) => {
                if !keepalive && Instant::now() >= idle {
                    return Err(Failure::Idle);
                }
            }
        }
    }
}
