//! wsmachine: a sans-IO WebSocket (RFC 6455) state machine for `no_std`, with no allocation.
//!
//! Bytes go in, events and bytes come out. The crate never touches a socket, a clock, an
//! allocator or a random number generator: the caller moves bytes, passes the time in
//! (`handle_timeout(now)`) and supplies the client's masking randomness
//! ([`rand_core::RngCore`]). The same state machine runs under a blocking loop, an async
//! executor or an interrupt handler, and it is deterministic: the same inputs give the same
//! outputs. It never panics on input and contains no `unsafe`.
//!
//! # Layers
//!
//! | module | RFC 6455 | what it is |
//! | --- | --- | --- |
//! | [`wire`] | §5.2, §5.3, §5.5.1 | stateless frame headers, masking, close payloads |
//! | [`utf8`] | §8.1 | incremental UTF-8 validation that fails on the first bad byte |
//! | [`handshake`] | §4 (and RFC 8441) | the opening handshake, client and server |
//! | [`connection`] | §5–§7, §10.4 | the state machine: [`Connection`], one [`State`]; rate limits |
//! | [`message`] | §5.4 | optional whole-message reassembly into caller storage |
//! | `extensions` | §9 (RFC 7692) | permessage-deflate: negotiation, inflate into caller storage (feature `deflate`) |
//! | [`reconnect`] | §7.2.3 | a client's reconnect backoff: full jitter, reset, Retry-After |
//! | [`error`] | §7.4 | error types and their one mapping to close codes |
//! | [`io`] | §4–§7 | the public stream driver [`io::Driver`] (no feature), and the blocking and async adapters over `embedded-io` (features) |
//!
//! # Call order
//!
//! With a [`Connection`] alone (the bytes moved by hand, as below): `receive` what arrived,
//! drop the `consumed` bytes, handle the event; `send_*` your frames (what the connection owes,
//! a pong or a close reply, is written first into the same buffer); a loop that only receives
//! calls `poll_transmit` instead; `handle_timeout(now)` at `poll_timeout()`; stop at
//! [`State::Closed`]. With a byte stream, [`io::Driver::poll`] runs that loop and both
//! handshakes and says what to read and write, for blocking and non-blocking sockets alike
//! (see [`io`]).
//!
//! # Example
//!
//! A client and a server exchange a message and close, with bytes passed by hand:
//!
//! ```
//! use wsmachine::{CloseCode, Config, Connection, Event, DataChunk, State};
//! # struct Counter(u32);
//! # impl rand_core::RngCore for Counter {
//! #     fn next_u32(&mut self) -> u32 { self.0 = self.0.wrapping_mul(1664525).wrapping_add(1013904223); self.0 }
//! #     fn next_u64(&mut self) -> u64 { u64::from(self.next_u32()) }
//! #     fn fill_bytes(&mut self, dst: &mut [u8]) { for b in dst { *b = self.next_u32() as u8 } }
//! # }
//! # let rng = Counter(7);
//! let mut client = Connection::client(Config::DEFAULT, rng); // any rand_core::RngCore
//! let mut server = Connection::server(Config::DEFAULT);
//!
//! let mut wire = [0u8; 64];
//! let n = client.send_text("hello", &mut wire)?;
//! let received = server.receive(&mut wire[..n])?;
//! assert!(matches!(received.event, Some(Event::Data(DataChunk { payload: b"hello", last: true, .. }))));
//!
//! let n = client.send_close(CloseCode::NORMAL, "done", &mut wire)?;
//! let received = server.receive(&mut wire[..n])?;
//! assert!(matches!(received.event, Some(Event::Close(_))));
//! let n = server.poll_transmit(&mut wire)?; // the close reply the server owes
//! assert_eq!(server.state(), State::Closed);
//! client.receive(&mut wire[..n])?;
//! assert!(client.is_closed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cargo features
//!
//! - `defmt`: `defmt::Format` on the public types a firmware logs.
//! - `embedded-io`: [`io::blocking`], a blocking adapter over `embedded_io::{Read, Write}`.
//! - `embedded-io-async`: [`io::asynch`], the same over `embedded_io_async::{Read, Write}`.
//! - `deflate`: [`extensions::deflate`], permessage-deflate (RFC 7692) negotiation and
//!   streaming inflate into a caller window, no allocator (`miniz_oxide`'s inflate core).
//! - `deflate-compress`: its compressor too; miniz_oxide allocates its own tables (the crate
//!   itself allocates nothing).
//!
//! Capacities are never features: they are slice lengths or const generics.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
// The docs link to the feature-gated modules and their dependencies' traits: the links resolve
// with those features on, as docs.rs builds (all features) and as CI checks them
// (`cargo doc --all-features` with `-D warnings`). Without them, a link has nothing to name.
#![cfg_attr(
    not(all(
        feature = "embedded-io",
        feature = "embedded-io-async",
        feature = "deflate"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]
#![deny(missing_docs)]

pub mod connection;
pub mod error;
#[cfg(feature = "deflate")]
pub mod extensions;
pub mod handshake;
pub mod io;
pub mod message;
pub mod reconnect;
pub mod utf8;
pub mod wire;

/// The `rand_core` this crate's API takes randomness through ([`rand_core::RngCore`] for
/// [`Connection::client`] and [`handshake::client::ClientRequest::write_with_rng`]), so that
/// callers need not add a matching version by hand.
///
/// ```
/// struct Fixed;
/// impl wsmachine::rand_core::RngCore for Fixed {
///     fn next_u32(&mut self) -> u32 { 4 }
///     fn next_u64(&mut self) -> u64 { 4 }
///     fn fill_bytes(&mut self, dst: &mut [u8]) { dst.fill(4) }
/// }
/// let client = wsmachine::Connection::client(wsmachine::Config::DEFAULT, Fixed);
/// # let _ = client;
/// ```
pub use rand_core;

/// The `httparse` whose header type the handshake parsers take and return
/// ([`httparse::Header`], [`httparse::EMPTY_HEADER`]), so that callers need not add a matching
/// version by hand.
///
/// ```
/// use wsmachine::handshake::{server::{parse_request, ServerOptions}, Status};
/// let mut headers = [wsmachine::httparse::EMPTY_HEADER; 16];
/// let partial = parse_request(b"GET / HTTP/1.1\r\n", &mut headers, &ServerOptions::default());
/// assert_eq!(partial.map(|s| s.complete().is_none()), Ok(true));
/// ```
pub use httparse;

pub use connection::{
    Client, CloseOutcome, Config, Connection, DataChunk, DataKind, Event, Received, Role, Server,
    State,
};
pub use error::{ProtocolError, ReceiveError, SendError};
pub use wire::close::{CloseCode, CloseFrame};
pub use wire::frame::{FrameHeader, Opcode, Status};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
