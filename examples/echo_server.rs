//! An echo server: a thread per connection over the blocking `embedded-io` adapter.
//!
//! ```text
//! cargo run --release --example echo_server -- [ADDR] [FLAGS]      (default 127.0.0.1:9001)
//! cargo run --release --example echo_server -- [ADDR] --tls-cert CERT --tls-key KEY [FLAGS]
//! ```
//!
//! With `--tls-cert CERT.pem --tls-key KEY.pem` (a PEM chain, leaf first, and its PEM private
//! key) it serves `wss://` (rustls): every connection runs TLS first, within the handshake
//! timeout, then everything below over it; a peer that is not TLS or refuses the certificate
//! is logged and dropped. A certificate or key that does not load: a message on stderr and
//! exit 1. Without them it serves plain `ws://`.
//!
//! Echoes every text and binary message, answers pings, completes the close handshake echoing
//! the peer's code, and chooses the subprotocol `echo` when the client offers it. Each
//! connection has three fixed 64 KiB buffers whatever the message size: every data chunk is
//! sent back as a fragment as soon as it arrives, so a 16 MiB message streams through and
//! invalid UTF-8 fails the connection as soon as it arrives. Connections run concurrently, one
//! thread each, at most `--max-connections` of them; a write timeout and an idle timeout (30 s
//! without input, unless keepalive is on) free the thread of a stalled peer.
//!
//! Every flag is optional:
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
//! | `--handshake-timeout-ms N` | the request head must be in within N ms (default 10 000), else `408`; meanwhile the others are served |
//! | `--deflate` | answer permessage-deflate offers (RFC 7692; build with `--features deflate-compress`): compressed messages are inflated into a 32 KiB window, and once agreed every message is echoed compressed |
//! | `--tls-cert CERT --tls-key KEY` | together: serve `wss://` with this certificate chain and private key (PEM) |
//!
//! A refusal is answered, then the server half-closes and reads what the client still sends
//! (bounded), so the client reads the status rather than a reset.

#[path = "common/mod.rs"]
pub mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::flags::{server_tls, Flags, TLS_SERVER_FLAGS};
use common::policy::{Policy, RETRY_AFTER_S, SERVER_FLAGS, SERVER_SWITCHES, USAGE};
use common::tls::{self, HalfCloseTls};
use embedded_io_adapters::std::FromStd;
use wsmachine::connection::RateLimiter;
use wsmachine::handshake::server::ServerOptions;
use wsmachine::handshake::Rejection;
use wsmachine::io::blocking::{close_stream, WebSocket};
use wsmachine::io::{Buffer, Drain, Driver, Error};
use wsmachine::{Event, Server};

/// The size of each connection buffer: receive, transmit, and the copy of a chunk.
const BUF: usize = 64 * 1024;
/// How long each read of a closing connection waits for the peer to end the stream.
const LINGER: Duration = Duration::from_secs(1);
/// How long one read of an open connection waits before the timers (keepalive, the rate
/// limiter's clock) are looked at: the most the limiter's clock lags.
const TICK: Duration = Duration::from_millis(20);
/// Refusals (503) being written at once, each on a short-lived thread; past it, dropped.
const MAX_REFUSALS: usize = 64;

/// How the server treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; the next get 503 (see [`MAX_REFUSALS`]).
    pub max_connections: usize,
    /// A peer that sends nothing for this long (or does not read) is dropped, unless
    /// keepalive is on: then the pong timeout decides.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

type Ws<'b> = WebSocket<'b, FromStd<&'b mut tls::Stream>, Server>;

/// Counts a connection while its thread runs.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Takes a slot of `count` if fewer than `max` are taken.
fn take_slot(count: &Arc<AtomicUsize>, max: usize) -> Option<Active> {
    if count.fetch_add(1, Ordering::SeqCst) >= max {
        count.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    Some(Active(Arc::clone(count)))
}

/// Accepts connections forever, each on its own thread, with the default policy.
pub fn serve(listener: &TcpListener, limits: Limits) {
    serve_with(listener, limits, Policy::default());
}

/// Accepts connections forever, each on its own thread, under `policy` (whose
/// `--max-connections` overrides `limits`').
pub fn serve_with(listener: &TcpListener, limits: Limits, policy: Policy) {
    serve_tls(listener, limits, policy, None);
}

/// [`serve_with`], with TLS on every connection when `tls` is given (`wss://`).
pub fn serve_tls(
    listener: &TcpListener,
    limits: Limits,
    policy: Policy,
    tls: Option<Arc<tls::ServerConfig>>,
) {
    let limits = Limits {
        max_connections: policy.max_connections.unwrap_or(limits.max_connections),
        ..limits
    };
    let policy = Arc::new(policy);
    let active = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(AtomicUsize::new(0));
    loop {
        let (tcp, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or the peer left already: wait a little, go on.
                eprintln!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Some(guard) = take_slot(&active, limits.max_connections) else {
            eprintln!("{peer}: {} connections open: 503", limits.max_connections);
            let Some(guard) = take_slot(&refusing, MAX_REFUSALS) else {
                eprintln!("{peer}: too many refusals at once: dropped");
                continue;
            };
            let tls = tls.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("503 {peer}"))
                .spawn(move || {
                    let _guard = guard;
                    refuse_busy(tcp, tls.as_ref());
                });
            if let Err(e) = spawned {
                eprintln!("{peer}: no thread: {e}");
            }
            continue;
        };
        let policy = Arc::clone(&policy);
        let tls = tls.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ws {peer}"))
            .spawn(move || {
                let _guard = guard;
                if let Err(e) = handle(tcp, limits, &policy, tls.as_ref()) {
                    eprintln!("{peer}: {e}");
                }
            });
        if let Err(e) = spawned {
            eprintln!("{peer}: no thread: {e}");
        }
    }
}

/// Runs the TLS handshake on `tcp` when `tls` is given (bounded by its timeouts: set them
/// first); the plain stream otherwise.
fn secure(tcp: TcpStream, tls: Option<&Arc<tls::ServerConfig>>) -> std::io::Result<tls::Stream> {
    match tls {
        Some(config) => tls::accept_tls(tcp, config)
            .map_err(|e| std::io::Error::other(format!("TLS handshake: {e}"))),
        None => Ok(tls::Stream::Plain(tcp)),
    }
}

/// Answers a connection over the cap: reads its request (a second at most, after the TLS
/// handshake if any), writes `503` with `Retry-After`, and closes gracefully.
fn refuse_busy(tcp: TcpStream, tls: Option<&Arc<tls::ServerConfig>>) {
    let setup = tcp
        .set_read_timeout(Some(LINGER))
        .and_then(|()| tcp.set_write_timeout(Some(LINGER)));
    if setup.is_err() {
        return;
    }
    let Ok(mut stream) = secure(tcp, tls) else {
        return;
    };
    let (mut rx, mut tx, mut scratch) = ([0u8; 4096], [0u8; 1024], [0u8; 1024]);
    let options = ServerOptions::default();
    let driver = Driver::server(&mut rx, &mut tx, wsmachine::Config::DEFAULT, &options);
    let busy = Rejection::service_unavailable(Some(RETRY_AFTER_S));
    let _ = Ws::accept_or_reject(FromStd::new(&mut stream), driver, |_| Err(busy));
    linger(&mut stream, &mut scratch, |s| {
        close_stream(s, HalfCloseTls, &mut [], NO_DRAIN)
    });
}

/// Milliseconds since `start`.
fn ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Runs one connection from the handshake to the end of the close handshake.
fn handle(
    tcp: TcpStream,
    limits: Limits,
    policy: &Policy,
    tls: Option<&Arc<tls::ServerConfig>>,
) -> Result<(), Error<std::io::Error>> {
    let start = Instant::now();
    let handshake = policy.handshake_timeout();
    // A read that fails just after the deadline is the deadline: the 408 goes out then.
    let setup = tcp
        .set_nodelay(true)
        .and_then(|()| tcp.set_read_timeout(Some(handshake + TICK)))
        .and_then(|()| tcp.set_write_timeout(Some(limits.idle_timeout)));
    setup.map_err(Error::Io)?;
    // The TLS handshake (if any) within the handshake timeout just set.
    let mut stream = secure(tcp, tls).map_err(Error::Io)?;
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
    let deadline = u64::try_from(handshake.as_millis()).unwrap_or(u64::MAX);
    let mut driver = Driver::server(rx, tx, policy.config(), &options).handshake_deadline(deadline);
    if let Some(rate) = rate {
        driver = driver.rate_limiter(&mut limiter, rate.on_exceed);
    }
    #[cfg(feature = "deflate-compress")]
    if let Some(deflate) = deflate.as_mut() {
        driver = driver.deflate(deflate);
    }
    let accepted = Ws::accept_timed(
        FromStd::new(&mut stream),
        driver,
        || ms(start),
        |request| policy.decide(request),
    );
    let mut ws = match accepted {
        Ok(ws) => ws,
        Err(e) => {
            // The refusal is written: let the client read it rather than a reset.
            linger(&mut stream, copy, |s| {
                close_stream(s, HalfCloseTls, &mut [], NO_DRAIN)
            });
            return Err(e);
        }
    };
    // The timers need a look at the clock now and then; without them a read may wait long.
    let timers = policy.ping_interval_ms.is_some_and(|n| n > 0) || rate.is_some();
    let wait = if timers { TICK } else { limits.idle_timeout };
    let result = ws
        .get_mut()
        .inner()
        .set_read_timeout(Some(wait))
        .map_err(Error::Io)
        .and_then(|()| echo(&mut ws, copy, start, limits, policy));
    // After the close handshake, or a failure (whose close frame goes out first): the server
    // closes first (§7.1.1), half-closing and reading what the client still sends, so that
    // our last frame is not lost to a reset.
    let _ = ws.get_mut().inner().set_write_timeout(Some(LINGER));
    let _ = ws.get_mut().inner().set_read_timeout(Some(LINGER));
    let stream = ws.close_stream(HalfCloseTls, NO_DRAIN).into_inner();
    drain(stream, copy);
    result
}

/// The adapter's close only writes what is owed and half-closes: [`linger`] drains.
const NO_DRAIN: Drain = Drain { reads: 0, bytes: 0 };
/// What [`drain`] reads at most before it drops a connection anyway.
const LINGER_BYTES: usize = 1 << 20;

/// Closes `stream` gracefully: `close` writes what is owed and half-closes (TLS
/// `close_notify` first), then [`drain`].
fn linger(
    stream: &mut tls::Stream,
    scratch: &mut [u8],
    close: impl FnOnce(&mut FromStd<&mut tls::Stream>),
) {
    let _ = stream.set_read_timeout(Some(LINGER));
    close(&mut FromStd::new(&mut *stream));
    drain(stream, scratch);
}

/// Reads and drops what the peer still sends until it ends the stream, within [`LINGER`] in
/// all and [`LINGER_BYTES`]: a peer that is still sending (a flood) then reads our last frame
/// rather than losing it to the reset that closing a socket with unread input sends.
fn drain(stream: &mut tls::Stream, scratch: &mut [u8]) {
    use std::io::Read;
    let end = Instant::now() + LINGER;
    let mut read = 0;
    while read < LINGER_BYTES && !scratch.is_empty() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(scratch) {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
    }
}

/// Whether a read failed for want of data within its timeout.
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Sends every data chunk back as it arrives, as a fragment of the same kind. Between reads
/// (each at most [`TICK`]) the timers run: keepalive, the rate limiter's clock, idleness.
fn echo(
    ws: &mut Ws<'_>,
    copy: &mut [u8],
    start: Instant,
    limits: Limits,
    policy: &Policy,
) -> Result<(), Error<std::io::Error>> {
    let keepalive = policy.ping_interval_ms.is_some_and(|n| n > 0);
    let mut last_input = Instant::now();
    // Once permessage-deflate is agreed every message is echoed compressed, whether the
    // client's came compressed or not (the inflated chunks do not say).
    #[cfg(feature = "deflate-compress")]
    let mut compress = common::deflate::Compress::new(ws.driver().deflate_agreed());
    loop {
        let _ = ws.handle_timeout(ms(start));
        ws.flush()?;
        let (kind, rsv, len, last) = match ws.next_event() {
            Ok(Event::Data(chunk)) => {
                let len = chunk.payload.len();
                let Some(dst) = copy.get_mut(..len) else {
                    let (buffer, needed) = (Buffer::Rx, len);
                    return Err(Error::BufferTooSmall { buffer, needed });
                };
                dst.copy_from_slice(chunk.payload);
                (chunk.kind, chunk.rsv, len, chunk.last)
            }
            // Pongs and the close reply are written by the adapter.
            Ok(Event::Ping(_) | Event::Pong(_) | Event::Close(_)) => {
                last_input = Instant::now();
                continue;
            }
            Err(Error::Io(e)) if is_timeout(&e) => {
                if !keepalive && last_input.elapsed() >= limits.idle_timeout {
                    return Err(Error::Io(e));
                }
                continue;
            }
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        };
        last_input = Instant::now();
        let payload = copy.get(..len).unwrap_or_default();
        #[cfg(feature = "deflate-compress")]
        if let Some(c) = compress.as_mut() {
            ws.send_compressed_fragment(&mut c.compressor, kind, payload, last, &mut c.out)?;
            continue;
        }
        ws.send_fragment(kind, rsv, payload, last)?;
    }
}

#[allow(dead_code)] // `tests/echo_server_abuse.rs` includes this file and has its own `main`.
fn main() {
    let with_value = [SERVER_FLAGS, TLS_SERVER_FLAGS].concat();
    let parsed = Flags::parse(std::env::args().skip(1), &with_value, SERVER_SWITCHES)
        .and_then(|flags| Ok((Policy::from_flags(&flags)?, flags)));
    let (policy, flags) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("echo_server: {e}\nusage: echo_server {USAGE}");
            std::process::exit(2);
        }
    };
    // A certificate or key that does not load (or only one of them): exit 1.
    let tls = server_tls(&flags).unwrap_or_else(|e| {
        eprintln!("echo_server: {e}");
        std::process::exit(1);
    });
    // `wss://` says so on the listening line; plain `ws://` prints the address alone.
    let scheme = if tls.is_some() { " (wss://)" } else { "" };
    let addr = flags
        .positional
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = match TcpListener::bind(&addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("echo_server listening on {local}{scheme}"),
        Err(_) => println!("echo_server listening on {addr}{scheme}"),
    }
    serve_tls(&listener, Limits::default(), policy, tls);
}
