//! A blocking WebSocket over an `embedded_io::{Read, Write}` stream (RFC 6455 §4–§7).
//!
//! A loop over the [`Driver`]: the same body as [`asynch`](super::asynch), without `.await`.
//! Bound every wait with the stream's own read and write timeouts.
//!
//! ```no_run
//! use embedded_io_adapters::std::FromStd;
//! use wsmachine::handshake::server::{Accept, ServerOptions};
//! use wsmachine::io::blocking::WebSocket;
//! use wsmachine::io::{Drain, Error};
//! use wsmachine::{Config, Event};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
//! let (tcp, _) = listener.accept()?;
//! let (mut rx, mut tx, mut copy) = ([0u8; 4096], [0u8; 4096], [0u8; 4096]);
//! let mut ws = WebSocket::accept(FromStd::new(tcp), &mut rx, &mut tx, Config::DEFAULT,
//!     &ServerOptions::default(), |_request| Ok(Accept::default()))?;
//! loop {
//!     match ws.next_event() {
//!         // Echo each chunk as a fragment: memory stays bounded whatever the message size.
//!         Ok(Event::Data(chunk)) => {
//!             let (kind, last, n) = (chunk.kind, chunk.last, chunk.payload.len());
//!             copy[..n].copy_from_slice(chunk.payload);
//!             ws.send_fragment(kind, 0, &copy[..n], last)?;
//!         }
//!         Ok(_) => {} // pongs and the close reply are already written
//!         Err(Error::Closed) => break,
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! // Half-close, read what the peer still sends, then drop: no reset loses our last frame.
//! let half_close = |s: &mut FromStd<std::net::TcpStream>| {
//!     let _ = s.inner().shutdown(std::net::Shutdown::Write);
//! };
//! drop(ws.close_stream(half_close, Drain::DEFAULT));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use embedded_io::{Read, Write};
use rand_core::RngCore;

use super::adapter::adapter;
use super::{Closed, Driver, Error, Step, TrySendError, DEFAULT_MAX_HEADERS};
use crate::connection::{Client, DataKind, Endpoint, Event, Server, TimedOut};
use crate::handshake::client::ClientRequest;
use crate::handshake::server::{Accept, HandshakeError, Request, ServerOptions};
use crate::message::{Message, Reassembler, Storage};
use crate::wire::close::CloseCode;
use crate::{Config, Connection};

adapter!([] []);
