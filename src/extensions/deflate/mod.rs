//! permessage-deflate (RFC 7692 §5–§8): negotiation, streaming inflate into caller storage
//! with no allocator, and optional compression.
//!
//! Read RFC 7692 §5 (negotiation), §6 (RSV1 marks a compressed message), §7.1 (the
//! parameters) and §7.2 (compressing and decompressing a message) first.
//!
//! | file | what it is |
//! | --- | --- |
//! | `params.rs` | [`DeflateParams`]: one offer or answer element, parsed and written |
//! | `negotiate.rs` | [`DeflateConfig`], [`ClientOffer`], [`accept_offer`], [`Agreed`] |
//! | `inflate.rs` | [`Inflater`]: raw DEFLATE into a caller ring buffer (miniz_oxide's core) |
//! | `receive.rs` | [`Receiver`]: wraps [`Connection::receive`](crate::Connection::receive) |
//! | `compress.rs` | [`Compressor`] (feature `deflate-compress`: miniz_oxide allocates its tables) |
//!
//! # RAM
//!
//! Receiving needs no allocator: a window of `1 << bits` bytes that the caller owns (512 bytes
//! at 9 bits, 32 KiB at 15), plus the [`Receiver`], whose size is dominated by miniz_oxide's
//! decompressor tables and does not depend on the window (`tests/deflate.rs` prints it:
//! about 11 KB on a 64-bit host, a little less on 32-bit targets). Sending uncompressed is
//! always allowed (RSV1 clear, per message) and needs nothing more, so a device without an
//! allocator can accept compression and reply uncompressed. Compressing needs the
//! [`Compressor`] (feature `deflate-compress`), whose miniz_oxide state allocates its own
//! tables; the crate itself allocates nothing.
//!
//! # Call order
//!
//! ```text
//! client: offer = ClientOffer::new(&DeflateConfig { receive_window_bits: 9, .. })
//!         ClientRequest { extensions: Some(offer.header()?.as_str()), .. }.write(..)
//!         response.validate(&expected)? -> accepted
//!         match offer.accept(accepted.extensions()) {
//!             Ok(Some(agreed)) => deflate on; Ok(None) => plain;
//!             Err(e) => Connection::client(..) then conn.fail(e.close_code()) (1010) }
//! server: agreed = accept_offer(&config, request.extensions())       // None: plain
//!         Accept { extensions: Some(agreed.header()?.as_str()), .. }
//! both:   conn = Connection::server(agreed.connection_config(config))  // RSV1 allowed
//!         receiver = Receiver::new(&mut window, &agreed, max_message_size)?
//! loop {
//!     loop { receiver.receive(&mut conn, &mut rx[..filled])? -> Received { consumed, event }
//!            handle event (decompressed chunks have rsv == 0); drop `consumed` bytes
//!            stop when consumed == 0 and event is None (read more bytes) }
//!     send: conn.send_text(..)                           // uncompressed, always allowed
//!        or compressor.compress(..) -> conn.send_fragment(kind, RSV1, ..)  // compressed
//!     conn.poll_transmit / handle_timeout / state as without the extension
//! }
//! ```
//!
//! A driver keeps one rule beyond the connection's: bytes after `consumed` are presented again
//! unchanged, the [`pending`](Receiver::pending) ones included (they are payload the connection
//! handed out and the receiver has not inflated yet).
//!
//! # Errors and close codes
//!
//! Corrupt DEFLATE data and decompressed text that is not UTF-8 fail the connection with 1007,
//! a message that decompresses past the limit with 1009 ([`InflateError::close_code`]); the
//! check runs as the message inflates, at most one window per call, so a small message that
//! would inflate to gigabytes stops at the limit. A client that cannot use the server's
//! answer fails with 1010 ([`NegotiationError::close_code`]).
//!
//! # Example
//!
//! ```
//! use wsmachine::extensions::deflate::{accept_offer, DeflateConfig, Receiver};
//! use wsmachine::handshake::Extensions;
//! use wsmachine::{Config, Connection, DataChunk, Event};
//!
//! let offer = b"permessage-deflate; client_max_window_bits";
//! let agreed = accept_offer(&DeflateConfig::DEFAULT, Extensions::new(core::iter::once(&offer[..])))
//!     .expect("acceptable");
//! let mut server = Connection::server(agreed.connection_config(Config::DEFAULT));
//! let mut window = vec![0u8; 1 << agreed.receive().window_bits];
//! let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20)?;
//! // RFC 7692 §7.2.3.1, masked with a zero key: "Hello" compressed.
//! let mut rx = [0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
//! let mut at = 0;
//! let mut text = Vec::new();
//! loop {
//!     let received = receiver.receive(&mut server, &mut rx[at..])?;
//!     at += received.consumed;
//!     match received.event {
//!         Some(Event::Data(DataChunk { payload, last, .. })) => {
//!             text.extend_from_slice(payload);
//!             if last { break; }
//!         }
//!         Some(_) => {}
//!         None if received.consumed == 0 => break,
//!         None => {}
//!     }
//! }
//! assert_eq!(text, b"Hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "deflate-compress")]
mod compress;
mod inflate;
mod negotiate;
mod params;
mod receive;

#[cfg(feature = "deflate-compress")]
pub use compress::{CompressError, Compressed, Compressor, DEFAULT_QUEUE};
pub use inflate::{CorruptData, Inflated, Inflater, Stop, WindowError};
pub use negotiate::{
    accept_offer, Agreed, ClientOffer, DeflateConfig, Direction, NegotiationError,
};
pub use params::{
    ClientMaxWindowBits, DeflateParams, HeaderValue, ParamError, EXTENSION_NAME, MAX_HEADER_LEN,
    MAX_WINDOW_BITS, MIN_WINDOW_BITS,
};
pub use receive::{InflateError, Receiver};
