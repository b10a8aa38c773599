//! The echo server of `echo_server.rs`, on tokio through the async `embedded-io-async` adapter.
//!
//! ```text
//! cargo run --release --example tokio_echo -- [ADDR]      (default 127.0.0.1:9002)
//! ```
//!
//! One task per connection on a single-threaded runtime, three fixed 64 KiB buffers each, every
//! data chunk sent back as a fragment as it arrives; the subprotocol `echo` when offered; at
//! most 256 connections; a peer idle for 30 s is dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use wsmachine::handshake::server::{Accept, Request, ServerOptions};
use wsmachine::io::asynch::WebSocket;
use wsmachine::io::Error;
use wsmachine::{Config, Event, Server};

const BUF: usize = 64 * 1024;
const MAX_CONNECTIONS: usize = 256;
const IDLE: Duration = Duration::from_secs(30);

type Ws<'b> = WebSocket<'b, FromTokio<TcpStream>, Server>;

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
    let accept = Ws::accept(
        FromTokio::new(tcp),
        rx,
        tx,
        Config::DEFAULT,
        &options,
        select,
    );
    let mut ws = timeout(IDLE, accept).await.map_err(|_| Failure::Idle)??;
    echo(&mut ws, copy).await
}

/// Sends every data chunk back as it arrives, as a fragment of the same kind.
async fn echo(ws: &mut Ws<'_>, copy: &mut [u8]) -> Result<(), Failure> {
    loop {
        let event = timeout(IDLE, ws.next_event())
            .await
            .map_err(|_| Failure::Idle)?;
        let (kind, len, last) = match event {
            Ok(Event::Data(chunk)) => {
                let len = chunk.payload.len();
                let Some(dst) = copy.get_mut(..len) else {
                    return Err(Error::BufferTooSmall.into());
                };
                dst.copy_from_slice(chunk.payload);
                (chunk.kind, len, chunk.last)
            }
            Ok(Event::Ping(_) | Event::Pong(_) | Event::Close(_)) => continue,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let payload = copy.get(..len).unwrap_or_default();
        let sent = timeout(IDLE, ws.send_fragment(kind, payload, last)).await;
        sent.map_err(|_| Failure::Idle)??;
    }
}
