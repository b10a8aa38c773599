//! An echo server: a thread per connection over the blocking `embedded-io` adapter.
//!
//! ```text
//! cargo run --release --example echo_server -- [ADDR]      (default 127.0.0.1:9001)
//! ```
//!
//! Echoes every text and binary message, answers pings, completes the close handshake echoing
//! the peer's code, and chooses the subprotocol `echo` when the client offers it. Each
//! connection has three fixed 64 KiB buffers whatever the message size: every data chunk is
//! sent back as a fragment as soon as it arrives, so a 16 MiB message streams through and
//! invalid UTF-8 fails the connection as soon as it arrives. Connections are capped, and read
//! and write timeouts free the thread of a stalled peer.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use wsmachine::handshake::server::{Accept, ServerOptions};
use wsmachine::io::blocking::{close_stream, WebSocket};
use wsmachine::io::{Buffer, Drain, Error};
use wsmachine::{Config, Event, Server};

/// The size of each connection buffer: receive, transmit, and the copy of a chunk.
const BUF: usize = 64 * 1024;
/// How long each read of a closing connection waits for the peer to end the stream.
const LINGER: Duration = Duration::from_secs(1);

/// How the server treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more are closed right after `accept`.
    pub max_connections: usize,
    /// A peer that sends (or reads) nothing for this long is dropped.
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

type Ws<'b> = WebSocket<'b, FromStd<&'b TcpStream>, Server>;

/// Counts a connection while its thread runs.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accepts connections forever, each on its own thread.
pub fn serve(listener: &TcpListener, limits: Limits) {
    let active = Arc::new(AtomicUsize::new(0));
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
        if active.fetch_add(1, Ordering::SeqCst) >= limits.max_connections {
            active.fetch_sub(1, Ordering::SeqCst);
            eprintln!(
                "{peer}: refused, {} connections open",
                limits.max_connections
            );
            continue;
        }
        let guard = Active(Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name(format!("ws {peer}"))
            .spawn(move || {
                let _guard = guard;
                if let Err(e) = handle(tcp, limits) {
                    eprintln!("{peer}: {e}");
                }
            });
        if let Err(e) = spawned {
            eprintln!("{peer}: no thread: {e}");
        }
    }
}

/// Runs one connection from the handshake to the end of the close handshake.
fn handle(tcp: TcpStream, limits: Limits) -> Result<(), Error<std::io::Error>> {
    let setup = tcp
        .set_nodelay(true)
        .and_then(|()| tcp.set_read_timeout(Some(limits.idle_timeout)))
        .and_then(|()| tcp.set_write_timeout(Some(limits.idle_timeout)));
    setup.map_err(Error::Io)?;
    let mut buffers = vec![0u8; 3 * BUF];
    let (rx, rest) = buffers.split_at_mut(BUF);
    let (tx, copy) = rest.split_at_mut(BUF);
    let select = |request: &wsmachine::handshake::server::Request<'_, '_>| {
        let echo = request.subprotocols().any(|p| p == "echo");
        Ok(Accept {
            subprotocol: echo.then_some("echo"),
            ..Accept::default()
        })
    };
    let options = ServerOptions::default();
    let accepted = Ws::accept(
        FromStd::new(&tcp),
        rx,
        tx,
        Config::DEFAULT,
        &options,
        select,
    );
    let mut ws = match accepted {
        Ok(ws) => ws,
        Err(e) => {
            let _ = tcp.set_read_timeout(Some(LINGER));
            // The refusal is written: let the client read it rather than a reset.
            close_stream(&mut FromStd::new(&tcp), half_close, copy, Drain::DEFAULT);
            return Err(e);
        }
    };
    let result = echo(&mut ws, copy);
    let _ = tcp.set_read_timeout(Some(LINGER));
    // After the close handshake, or a failure (whose close frame goes out first): the server
    // closes first (§7.1.1), half-closing and reading what the client still sends, so that
    // our last frame is not lost to a reset.
    ws.close_stream(half_close, Drain::DEFAULT);
    result
}

/// Ends our sending side of the TCP connection.
fn half_close(stream: &mut FromStd<&TcpStream>) {
    let _ = stream.inner().shutdown(std::net::Shutdown::Write);
}

/// Sends every data chunk back as it arrives, as a fragment of the same kind.
fn echo(ws: &mut Ws<'_>, copy: &mut [u8]) -> Result<(), Error<std::io::Error>> {
    loop {
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
            Ok(Event::Ping(_) | Event::Pong(_) | Event::Close(_)) => continue,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        };
        let payload = copy.get(..len).unwrap_or_default();
        ws.send_fragment(kind, rsv, payload, last)?;
    }
}

#[allow(dead_code)] // `tests/echo_server_abuse.rs` includes this file and has its own `main`.
fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = match TcpListener::bind(&addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("echo_server listening on {local}"),
        Err(_) => println!("echo_server listening on {addr}"),
    }
    serve(&listener, Limits::default());
}
