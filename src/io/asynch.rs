//! An async WebSocket over an `embedded_io_async::{Read, Write}` stream (RFC 6455 §4–§7).
//!
//! The same calls as [`blocking`](super::blocking), as `async fn`s, from the same body: embassy-net
//! sockets, or tokio through `embedded-io-adapters`.
//!
//! # Cancellation
//!
//! Every read and every write goes through the [`Driver`], which counts what the stream took.
//! So, provided the stream's own `read` and `write` are cancel-safe (tokio's and embassy-net's
//! are):
//!
//! - [`fill`](WebSocket::fill) only reads: cancelling it loses nothing. It is the call to race
//!   against a timer.
//! - [`next_event`](WebSocket::next_event), [`try_next_event`](WebSocket::try_next_event),
//!   [`receive_message`](WebSocket::receive_message) and [`flush`](WebSocket::flush) are
//!   cancel-safe: bytes not yet written stay queued and go out first on the next call; an
//!   event not yet returned stays buffered.
//! - A send whose frame fits the free room of `tx` is queued whole before the first write, so
//!   cancelling it after that loses nothing either: the frame goes out with the next call.
//! - A send larger than `tx` ([`send_binary`](WebSocket::send_binary) of a big message,
//!   [`send_payload`](WebSocket::send_payload)) is not: cancelled midway, the frame stays
//!   open, and the connection can only be dropped.
//! - [`accept`](WebSocket::accept), [`connect`](WebSocket::connect) and
//!   [`close_stream`](WebSocket::close_stream) are not: drop the stream when they are
//!   cancelled.
//!
//! # Keepalive
//!
//! The adapter reads no clock. Race [`fill`](WebSocket::fill) against a timer set to
//! [`poll_timeout`](WebSocket::poll_timeout), then call
//! [`handle_timeout`](WebSocket::handle_timeout) with the time, and take the events with
//! [`try_next_event`](WebSocket::try_next_event), which writes the keepalive ping first:
//!
//! ```no_run
//! # async fn run<T: embedded_io_async::Read + embedded_io_async::Write>(
//! #     ws: &mut wsmachine::io::asynch::WebSocket<'_, T, wsmachine::Server>,
//! # ) -> Result<(), wsmachine::io::Error<T::Error>> {
//! let start = tokio::time::Instant::now();
//! let now = || start.elapsed().as_millis() as u64;
//! loop {
//!     let wake = ws.poll_timeout().map(|at| start + std::time::Duration::from_millis(at));
//!     let far = start + std::time::Duration::from_secs(3600);
//!     tokio::select! {
//!         read = ws.fill() => read?,
//!         _ = tokio::time::sleep_until(wake.unwrap_or(far)) => {}
//!     }
//!     ws.handle_timeout(now());
//!     while let Some(event) = ws.try_next_event().await? {
//!         println!("{event:?}");
//!     }
//! }
//! # }
//! ```
//!
//! ```no_run
//! use embedded_io_adapters::tokio_1::FromTokio;
//! use wsmachine::handshake::client::ClientRequest;
//! use wsmachine::io::asynch::{ConnectError, WebSocket};
//! use wsmachine::{Config, Event};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:9002").await?;
//! let (mut rx, mut tx) = ([0u8; 4096], [0u8; 4096]);
//! let rng = rand_core::UnwrapErr(rand_core::OsRng);
//! let request = ClientRequest { port: 9002, ..ClientRequest::new("127.0.0.1", "/") };
//! let connected = WebSocket::connect(FromTokio::new(tcp), &mut rx, &mut tx,
//!     Config::DEFAULT, rng, &request).await;
//! let (mut ws, _) = match connected {
//!     Ok(connected) => connected,
//!     // The refusal borrows `rx`: say what it holds here, before `rx` goes.
//!     Err(ConnectError::Refused(r)) => {
//!         return Err(format!("refused: {} {:?} {:?}", r.status, r.www_authenticate, r.retry_after).into())
//!     }
//!     Err(ConnectError::Other(e)) => return Err(e.into()),
//! };
//! ws.send_text("hello").await?;
//! if let Event::Data(chunk) = ws.next_event().await? {
//!     println!("{:?}", chunk.payload);
//! }
//! ws.close(wsmachine::CloseCode::NORMAL, "").await?;
//! # Ok(())
//! # }
//! ```

use embedded_io_async::{Read, Write};
use rand_core::RngCore;

use super::adapter::adapter;
use super::{Closed, Driver, Error, Step, TrySendError, DEFAULT_MAX_HEADERS};
use crate::connection::{Client, DataKind, Endpoint, Event, Server, TimedOut};
use crate::handshake::client::ClientRequest;
use crate::handshake::server::{Accept, HandshakeError, Request, ServerOptions};
use crate::message::{Message, Reassembler, Storage};
use crate::wire::close::CloseCode;
use crate::{Config, Connection};

adapter!([async] [.await]);
