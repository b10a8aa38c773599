//! The echo server of `echo_server.rs`, on tokio through the async `embedded-io-async` adapter.
//!
//! ```text
//! cargo run --release --example tokio_echo -- [ADDR]      (default 127.0.0.1:9002)
//! ```
//!
//! One task per connection on a single-threaded runtime, three fixed 64 KiB buffers each, every
//! data chunk sent back as a fragment as it arrives; the subprotocol `echo` when offered; at
//! most 256 connections; a peer idle for 30 s is dropped.

use std::borrow::BorrowMut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use wsmachine::handshake::server::{Accept, Request, ServerOptions};
use wsmachine::io::asynch::{close_stream, HalfClose, WebSocket};
use wsmachine::io::{Buffer, Drain, Error};
use wsmachine::{Config, Event, Server};

const BUF: usize = 64 * 1024;
const MAX_CONNECTIONS: usize = 256;
const IDLE: Duration = Duration::from_secs(30);
/// How long a closing connection waits for the peer to end the stream.
const LINGER: Duration = Duration::from_secs(1);

type Ws<'b> = WebSocket<'b, &'b mut FromTokio<TcpStream>, Server>;

/// Why a connection ended early.
#[derive(Debug)]
enum Failure {
    Ws(Error<std::io::Error>),
    Idle,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ws(e) => write!(f, "{e}"),
            Self::Idle => write!(f, "idle for {} s", IDLE.as_secs()),
        }
    }
}

impl From<Error<std::io::Error>> for Failure {
    fn from(e: Error<std::io::Error>) -> Self {
        Self::Ws(e)
    }
}

/// Counts a connection while its task runs.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::main]
async fn main() {
    serve().await;
}

async fn serve() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".to_owned());
    let listener = match TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("tokio_echo listening on {local}"),
        Err(_) => println!("tokio_echo listening on {addr}"),
    }
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
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            eprintln!("{peer}: refused, {MAX_CONNECTIONS} connections open");
            continue;
        }
        let guard = Active(Arc::clone(&active));
        tokio::spawn(async move {
            let _guard = guard;
            if let Err(e) = handle(tcp).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Runs one connection from the handshake to the end of the close handshake.
async fn handle(tcp: TcpStream) -> Result<(), Failure> {
    tcp.set_nodelay(true).map_err(Error::Io)?;
    let mut buffers = vec![0u8; 3 * BUF];
    let (rx, rest) = buffers.split_at_mut(BUF);
    let (tx, copy) = rest.split_at_mut(BUF);
    let select = |request: &Request<'_, '_>| {
        let echo = request.subprotocols().any(|p| p == "echo");
        Ok(Accept {
            subprotocol: echo.then_some("echo"),
            ..Accept::default()
        })
    };
    let options = ServerOptions::default();
    let mut stream = FromTokio::new(tcp);
    let accept = Ws::accept(&mut stream, rx, tx, Config::DEFAULT, &options, select);
    let mut ws = match timeout(IDLE, accept).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            // The refusal is written: let the client read it rather than a reset.
            let linger = close_stream(&mut stream, Shutdown, copy, Drain::DEFAULT);
            let _ = timeout(LINGER, linger).await;
            return Err(e.into());
        }
        Err(_) => return Err(Failure::Idle),
    };
    let result = echo(&mut ws, copy).await;
    // After the close handshake or a failure (whose close frame goes out first): the server
    // closes first (§7.1.1), half-closing and reading what the client still sends.
    let _ = timeout(LINGER, ws.close_stream(Shutdown, Drain::DEFAULT)).await;
    result
}

/// Half-closes a tokio TCP stream, however it is held.
struct Shutdown;

impl<T: BorrowMut<FromTokio<TcpStream>>> HalfClose<T> for Shutdown {
    async fn half_close(&mut self, stream: &mut T) {
        let _ = stream.borrow_mut().inner_mut().shutdown().await;
    }
}

/// Sends every data chunk back as it arrives, as a fragment of the same kind.
async fn echo(ws: &mut Ws<'_>, copy: &mut [u8]) -> Result<(), Failure> {
    loop {
        let event = timeout(IDLE, ws.next_event())
            .await
            .map_err(|_| Failure::Idle)?;
        let (kind, rsv, len, last) = match event {
            Ok(Event::Data(chunk)) => {
                let len = chunk.payload.len();
                let Some(dst) = copy.get_mut(..len) else {
                    let (buffer, needed) = (Buffer::Rx, len);
                    return Err(Error::BufferTooSmall { buffer, needed }.into());
                };
                dst.copy_from_slice(chunk.payload);
                (chunk.kind, chunk.rsv, len, chunk.last)
            }
            Ok(Event::Ping(_) | Event::Pong(_) | Event::Close(_)) => continue,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let payload = copy.get(..len).unwrap_or_default();
        let sent = timeout(IDLE, ws.send_fragment(kind, rsv, payload, last)).await;
        sent.map_err(|_| Failure::Idle)??;
    }
}
