//! Thin adapters from the state machine to `embedded-io` streams (RFC 6455 §4–§7), behind features.
//!
//! | feature | module | stream |
//! | --- | --- | --- |
//! | `embedded-io` | [`blocking`] | [`embedded_io::Read`] + [`embedded_io::Write`] |
//! | `embedded-io-async` | [`asynch`] | [`embedded_io_async::Read`] + [`embedded_io_async::Write`] |
//!
//! Both wrap a stream and two caller buffers (`rx` and `tx`, each at least [`MIN_BUFFER`]
//! bytes): they run the opening handshake (client `connect`, server `accept`), then hand out
//! events ([`next_event`](blocking::WebSocket::next_event)) or whole messages
//! ([`receive_message`](blocking::WebSocket::receive_message), with a
//! [`Reassembler`](crate::message::Reassembler)), and send messages, fragments, pings and the
//! close. Messages of any size go through: received data arrives as chunks of at most
//! `rx.len()` bytes, and a payload larger than `tx` is written in pieces.
//!
//! Obligations (pongs, the close reply, the close after a protocol error) are written before
//! every read and right after every event, so a caller that only receives still answers pings
//! and closes.
//!
//! The protocol logic lives once, in a sans-IO driver both adapters call; they differ only in
//! how they read and write. Neither reads a clock: for keepalive, call
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout) through
//! `connection_mut()` and then `flush()`; bound blocking reads with the stream's own timeout.

mod error;

pub use error::{Error, HandshakeFailure};

#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
mod driver;

#[cfg(feature = "embedded-io")]
pub mod blocking;

#[cfg(feature = "embedded-io-async")]
pub mod asynch;

/// The smallest `rx` and `tx` an adapter accepts: any frame header and any whole control frame
/// fit.
pub const MIN_BUFFER: usize = crate::connection::MIN_RECEIVE_BUFFER;

#[cfg(all(test, any(feature = "embedded-io", feature = "embedded-io-async")))]
mod tests;
