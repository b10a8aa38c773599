//! A sans-IO stream driver, and thin blocking and async adapters over it (RFC 6455 §4–§7).
//!
//! | item | feature | for |
//! | --- | --- | --- |
//! | [`Driver`] | none | any byte stream: a non-blocking socket (smoltcp, lwIP), an interrupt handler, a runtime |
//! | [`blocking::WebSocket`] | `embedded-io` | [`embedded_io::Read`] + [`embedded_io::Write`] |
//! | [`asynch::WebSocket`] | `embedded-io-async` | [`embedded_io_async::Read`] + [`embedded_io_async::Write`] |
//!
//! # The driver
//!
//! A [`Driver`] holds a [`Connection`](crate::Connection) and the caller's two buffers, `rx`
//! and `tx` (each at least [`MIN_BUFFER`] bytes; `rx` must hold a handshake head, `tx` a
//! handshake response or request). It runs the opening handshake of either side — a server
//! parses the request and hands it over to be accepted or refused
//! ([`Poll::Request`]); a client writes its request with a nonce from its RNG and validates
//! the 101 — and then [`Driver::poll`] says what to do next:
//!
//! - [`Poll::Write`]`(bytes)`: write them, report how many were taken with
//!   [`write_done`](Driver::write_done). Short writes are fine.
//! - [`Poll::Read`]` { buf, wake_at }`: read into `buf`, report the count with
//!   [`read_done`](Driver::read_done), 0 only at the end of the stream. When nothing arrives,
//!   come back at `wake_at` (keepalive, the close deadline).
//! - [`Poll::Request`]: the server's decision (subprotocol, extra headers, or a refusal).
//! - [`Poll::Open`]: the handshake is done, once.
//! - [`Poll::Event`]: a data chunk, ping, pong or close, borrowing `rx`. What it obliges (the
//!   pong, the close reply) is already queued in `tx`, ahead of anything sent later.
//! - [`Poll::Closed`]: over, with the reason; then close the stream (below).
//!
//! Time is the `now` argument of [`poll`](Driver::poll), milliseconds of any monotonic clock;
//! [`step`](Driver::step) polls without it. [`advance`](Driver::advance) is `poll` without the
//! borrow, for a wrapper that returns events from a loop (as the adapters do).
//!
//! Sending ([`Driver::send_message`], [`send_fragment`](Driver::send_fragment),
//! [`send_ping`](Driver::send_ping), [`send_close`](Driver::send_close)...) queues frames into
//! `tx` and never blocks: what the connection owes goes in first; a frame that fits is queued
//! whole; one larger than `tx` is queued as its header and as much payload as fits, the call
//! returns how many payload bytes it took, and the caller passes the rest on later calls.
//! When `tx` has no room the answer is [`TrySendError::Full`]: write, then try again.
//!
//! The order is: events from the input already received, then writing what is queued, then
//! a read. So a loop whose write would block still gets the events of what it has read, and
//! it may read more at any time ([`read_buf`](Driver::read_buf), [`read_done`](Driver::read_done)),
//! so two peers that both send large messages do not deadlock. Backpressure is the caller's:
//! data it cannot queue yet ([`TrySendError::Full`]) it keeps, or it stops polling for events
//! and only writes ([`output`](Driver::output), [`write_done`](Driver::write_done)) until the
//! queue drains.
//!
//! ## A non-blocking socket
//!
//! The loop a firmware (smoltcp's `recv_slice` / `send_slice`) or a readiness-based runtime
//! writes, here over a non-blocking `std::net::TcpStream`: an echo server.
//!
//! ```
//! use std::io::{ErrorKind, Read, Write};
//! use std::time::{Duration, Instant};
//! use wsmachine::handshake::server::{Accept, ServerOptions};
//! use wsmachine::handshake::Rejection;
//! use wsmachine::io::{Driver, Poll, TrySendError};
//! use wsmachine::{Config, DataKind, Event};
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let addr = listener.local_addr()?;
//! # let peer = std::thread::spawn(move || doc_peer(addr));
//!
//! let (mut tcp, _) = listener.accept()?;
//! tcp.set_nonblocking(true)?;
//! let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//! let options = ServerOptions::default();
//! let mut driver = Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options);
//! let mut message = Vec::new(); // the message being echoed
//! let mut echoing = None; // (kind, bytes of `message` queued so far)
//! let start = Instant::now();
//! for _ in 0..100_000 {
//!     let now = start.elapsed().as_millis() as u64;
//!     let mut idle = false;
//!     match driver.poll(now) {
//!         Poll::Write(bytes) => match tcp.write(bytes) {
//!             Ok(n) => driver.write_done(n),
//!             Err(e) if e.kind() == ErrorKind::WouldBlock => {
//!                 // Blocked: read meanwhile, so that a peer blocked on its own writes goes on.
//!                 let buf = driver.read_buf();
//!                 match tcp.read(buf) {
//!                     Ok(n) if !buf.is_empty() => driver.read_done(n),
//!                     Ok(_) => idle = true, // `rx` is full of events not taken yet
//!                     Err(e) if e.kind() == ErrorKind::WouldBlock => idle = true,
//!                     Err(e) => return Err(e.into()),
//!                 }
//!             }
//!             Err(e) => return Err(e.into()),
//!         },
//!         Poll::Read { buf, wake_at: _ } => match tcp.read(buf) {
//!             Ok(n) => driver.read_done(n), // 0: the peer ended the stream
//!             Err(e) if e.kind() == ErrorKind::WouldBlock => idle = true,
//!             Err(e) => return Err(e.into()),
//!         },
//!         Poll::Request(pending) => {
//!             let mut headers = [wsmachine::httparse::EMPTY_HEADER; 32];
//!             match pending.request(&mut headers) {
//!                 Ok(request) if request.path() == "/echo" => {
//!                     let _ = pending.accept(&request, &Accept::default());
//!                 }
//!                 Ok(_) => pending.reject(&Rejection::new(404, "Not Found"))?,
//!                 Err(e) => pending.refuse(e),
//!             }
//!         }
//!         Poll::Open => {}
//!         Poll::Event(Event::Data(chunk)) => {
//!             message.extend_from_slice(chunk.payload);
//!             if chunk.last {
//!                 echoing = Some((chunk.kind, 0));
//!             }
//!         }
//!         Poll::Event(_) => {} // pings are answered already
//!         Poll::Closed(reason) => {
//!             println!("closed: {reason}");
//!             break;
//!         }
//!     }
//!     // Queue the echo as `tx` makes room: the rest of it after each write.
//!     if let Some((kind, queued)) = echoing {
//!         match driver.send_message(kind, 0, &message[queued..]) {
//!             Ok(n) if queued + n == message.len() => {
//!                 echoing = None;
//!                 message.clear();
//!             }
//!             Ok(n) => echoing = Some((kind, queued + n)),
//!             Err(TrySendError::Full { .. }) => {}
//!             Err(e) => return Err(e.into()),
//!         }
//!     }
//!     if idle {
//!         // A real loop waits for readiness (poll, epoll, an interrupt) or `wake_at`.
//!         std::thread::sleep(Duration::from_millis(1));
//!     }
//! }
//! # peer.join().unwrap();
//! # fn doc_peer(addr: std::net::SocketAddr) {
//! #     use embedded_io_adapters::std::FromStd;
//! #     use wsmachine::io::blocking::WebSocket;
//! #     let tcp = std::net::TcpStream::connect(addr).unwrap();
//! #     let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//! #     let request = wsmachine::handshake::client::ClientRequest::new("localhost", "/echo");
//! #     let rng = rand_core::UnwrapErr(rand_core::OsRng);
//! #     let (mut ws, _) = WebSocket::connect(FromStd::new(tcp), &mut rx, &mut tx,
//! #         Config::DEFAULT, rng, &request).unwrap();
//! #     let big = vec![b'x'; 5000];
//! #     ws.send_binary(&big).unwrap();
//! #     let mut got = Vec::new();
//! #     loop {
//! #         match ws.next_event().unwrap() {
//! #             Event::Data(chunk) => { got.extend_from_slice(chunk.payload); if chunk.last { break } }
//! #             _ => {}
//! #         }
//! #     }
//! #     assert_eq!(got, big);
//! #     ws.close(wsmachine::CloseCode::NORMAL, "").unwrap();
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## A blocking socket
//!
//! The same driver over a blocking stream: a client. (The [`blocking`] adapter is this loop,
//! with `embedded-io` traits.)
//!
//! ```
//! use std::io::{Read, Write};
//! use wsmachine::handshake::client::ClientRequest;
//! use wsmachine::io::{Closed, Driver, Poll};
//! use wsmachine::{CloseCode, Config, Event};
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let addr = listener.local_addr()?;
//! # let peer = std::thread::spawn(move || doc_peer(listener));
//! # let rng = rand_core::UnwrapErr(rand_core::OsRng);
//!
//! let mut tcp = std::net::TcpStream::connect(addr)?;
//! let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//! let request = ClientRequest::new("localhost", "/");
//! let mut driver = Driver::client(&mut rx, &mut tx, Config::DEFAULT, rng, &request);
//! loop {
//!     match driver.step() {
//!         Poll::Write(bytes) => {
//!             let n = tcp.write(bytes)?;
//!             driver.write_done(n);
//!         }
//!         Poll::Read { buf, .. } => {
//!             let n = tcp.read(buf)?;
//!             driver.read_done(n);
//!         }
//!         Poll::Open => driver.send_message(wsmachine::DataKind::Text, 0, b"hi").map(drop)?,
//!         Poll::Event(Event::Data(chunk)) => {
//!             assert_eq!(chunk.payload, b"hi");
//!             driver.send_close(CloseCode::NORMAL, "")?;
//!         }
//!         Poll::Event(_) | Poll::Request(_) => {}
//!         Poll::Closed(Closed::Done) => break,
//!         Poll::Closed(reason) => return Err(reason.into()),
//!     }
//! }
//! # peer.join().unwrap();
//! # fn doc_peer(listener: std::net::TcpListener) {
//! #     use embedded_io_adapters::std::FromStd;
//! #     use wsmachine::handshake::server::{Accept, ServerOptions};
//! #     use wsmachine::io::blocking::WebSocket;
//! #     let (tcp, _) = listener.accept().unwrap();
//! #     let (mut rx, mut tx, mut copy) = ([0u8; 1024], [0u8; 1024], [0u8; 1024]);
//! #     let mut ws = WebSocket::accept(FromStd::new(tcp), &mut rx, &mut tx, Config::DEFAULT,
//! #         &ServerOptions::default(), |_| Ok(Accept::default())).unwrap();
//! #     loop {
//! #         match ws.next_event() {
//! #             Ok(Event::Data(c)) => { let n = c.payload.len(); copy[..n].copy_from_slice(c.payload);
//! #                 ws.send_text(core::str::from_utf8(&copy[..n]).unwrap()).unwrap(); }
//! #             Ok(_) => {}
//! #             Err(_) => break,
//! #         }
//! #     }
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Closing the stream
//!
//! Dropping a TCP stream right after the connection ends (a failure above all) can lose the
//! last frame: a kernel resets a socket closed with unread input, and the peer may never read
//! our close. So once the driver is [`Poll::Closed`] — or to give up on an open connection,
//! after [`Connection::fail`](crate::Connection::fail) and polling until the close is written
//! — a loop should:
//!
//! 1. write what is still queued (poll until nothing is left to write);
//! 2. half-close the stream (TCP `shutdown(Write)`, smoltcp / embassy-net `close()`);
//! 3. read and drop input for a bounded while (a few reads or KiB, under a timeout) until the
//!    peer ends the stream;
//! 4. then drop or abort it. A client waits for the server to close first (§7.1.1).
//!
//! The adapters do this in `close_stream`, with a `HalfClose` the caller supplies for its
//! stream (`embedded-io` has no shutdown) and a [`Drain`] bound.
//!
//! # Capacities
//!
//! `rx` and `tx` are the caller's slices. The driver's `H` (default
//! [`DEFAULT_MAX_HEADERS`]) bounds the header lines of a handshake head
//! ([`Driver::server_with_headers`]); the server's head length limit is
//! [`ServerOptions::max_head_len`](crate::handshake::server::ServerOptions::max_head_len), the
//! client's [`Driver::max_head_len`]. A buffer that is too small is
//! [`Closed::BufferTooSmall`] naming it and the size it needs.
//!
//! # Policies: time, rate, refusals
//!
//! All on the driver's clock, the `now` of [`poll`](Driver::poll) and
//! [`handle_timeout`](Driver::handle_timeout):
//!
//! - [`Driver::handshake_deadline`]: until the handshake is done, [`Poll::Read`]'s `wake_at` is
//!   the deadline; past it a server answers `408 Request Timeout`, a client gives up, both with
//!   [`HandshakeFailure::TimedOut`]. A slowloris holds a connection no longer.
//! - [`Driver::rate_limiter`]: a caller's [`RateLimiter`](crate::connection::RateLimiter) on
//!   what is received. Over a limit with `OnExceed::Fail` the connection fails with 1008 and
//!   the driver ends with [`Closed::RateLimited`]; with `OnExceed::Report` it pauses reading
//!   until [`Driver::resume_at`]: [`Poll::Read`] with an empty `buf` and that `wake_at`.
//! - A server refuses with its own [`Rejection`](crate::handshake::Rejection) (401 with
//!   `WWW-Authenticate`, 403, 503 with `Retry-After`) through
//!   [`PendingRequest::reject`]; a client keeps what a refusal said, [`Driver::refusal`]: a
//!   [`Refusal`] with the status, `WWW-Authenticate`, `Location`, `Retry-After` and the start
//!   of the body, borrowed from `rx`.
//!
//! # permessage-deflate (feature `deflate`)
//!
//! Opt in with a [`Deflate`]: storage the caller owns (the inflate window, `1 <<
//! receive_window_bits` bytes, and about 11 KB of inflater state) with a
//! [`DeflateConfig`](crate::extensions::deflate::DeflateConfig). A server gives it to
//! [`Driver::deflate`]: the client's offer is answered in the 101 (unless the application's
//! `Accept` names extensions itself). A client starts with [`Driver::client_deflate`], its
//! request's `extensions` being `deflate.offer().header()`; an answer that does not fit the
//! offer fails the connection with 1010 ([`Closed::Negotiation`]). Once open, compressed
//! messages come out of [`Driver::event`] (and the adapters' `next_event`) inflated, as
//! [`Event::Data`](crate::Event::Data) chunks with `rsv == 0` borrowing the window; corrupt
//! data, a message inflating past the limit or bad UTF-8 is [`Closed::Inflate`] (1007, 1009).
//! Sending stays uncompressed unless the caller compresses: with `deflate-compress`, the
//! adapters' `send_compressed` and `send_compressed_fragment` (a
//! [`Compressor`](crate::extensions::deflate::Compressor) made from
//! [`Driver::deflate_agreed`]). A driver without a `Deflate` is one pointer larger with the
//! feature and unchanged without it.
//!
//! Whole messages ([`Driver::advance_message`], the adapters' `receive_message`) come out
//! inflated too: the reassembler collects the decompressed chunks, so its storage bounds the
//! decompressed size (1009 past it, as past the `Deflate`'s own limit). A rate limiter counts
//! the compressed frames as they arrive. The receive pipeline is the connection, then the rate
//! limiter, then the inflater, then the reassembler, each stage there only when asked for.
//!
//! # The adapters
//!
//! [`blocking::WebSocket`] and [`asynch::WebSocket`] are one body (`adapter.rs`) written once
//! with and once without `.await`: `accept` / `connect`, then `next_event` or whole messages
//! (`receive_message`, with a [`Reassembler`](crate::message::Reassembler)), sends of any size,
//! `fill` + `try_next_event` for keepalive loops, `close_stream`. Neither reads a clock: call
//! their `handle_timeout(now)`, then `flush`; bound blocking reads with the stream's timeout.
//! The [`asynch`] module says which calls are cancel-safe. A server that refuses with its own
//! response uses `accept_or_reject` (a closure returning `Result<Accept, Rejection>`), or
//! `accept_timed` to add a clock for the handshake deadline; a client's `connect` returns a
//! `ConnectError` whose `Refused` is the [`Refusal`], borrowed from `rx` (the error has the
//! buffer's lifetime: turn it into an [`Error`] with `Error::from`, keeping the status only).
//! A rate limiter in `Report` mode shows as [`Error::Paused`]: wait, `handle_timeout`, call
//! again.

mod adapter;
mod driver;
mod error;

#[cfg(feature = "embedded-io")]
pub mod blocking;

#[cfg(feature = "embedded-io-async")]
pub mod asynch;

pub use adapter::Drain;
#[cfg(feature = "deflate")]
pub use driver::Deflate;
pub use driver::{Driver, PendingRequest, Poll, Refusal, Step, DEFAULT_MAX_HEADERS};
pub use error::{Buffer, Closed, Error, HandshakeFailure, TrySendError};

/// The smallest `rx` and `tx` the driver accepts: any frame header and any whole control
/// frame fit.
pub const MIN_BUFFER: usize = crate::connection::MIN_RECEIVE_BUFFER;

#[cfg(all(test, any(feature = "embedded-io", feature = "embedded-io-async")))]
mod tests;
