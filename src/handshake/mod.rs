//! The opening handshake (RFC 6455 §4, §9.1; RFC 8441): accept key, token lists, limits, errors.
//!
//! Read first: RFC 6455 §1.3 (the key and accept example), §4.1 (client requirements), §4.2
//! (server requirements), §9.1 (the extension grammar), §10.2 (origin), and RFC 8441 §4–5.
//!
//! | file | what it does |
//! | --- | --- |
//! | [`server`] | parse an HTTP/1.1 upgrade request, read it for policy; write the 101, or a refusal |
//! | [`client`] | write the upgrade request; validate the 101 response, or read a refusal |
//! | [`h2`] | RFC 8441: the extended-CONNECT field set of a WebSocket over an HTTP/2 stream |
//! | `key.rs` | the accept key: [`GUID`], [`accept_key`], [`is_valid_key`] (§1.3, §4.2.1), on `sha1_smol` and `base64ct` |
//! | `headers.rs` | header lookup ([`header`], [`has_token`], [`HeaderValues`]) and token lists ([`Tokens`]) |
//! | `extensions.rs` | the §9.1 extension grammar: [`Extensions`], [`Extension`], [`ExtensionParams`] |
//! | `write.rs` | the head writer: [`WriteError`] and the one check on caller-supplied headers |
//! | `rejection.rs` | a refusal the caller builds: [`Rejection`], [`Challenge`] (RFC 9110 §15) |
//! | `query.rs` | the query's pairs and percent-decoding: [`QueryPairs`], [`form_decode`] (RFC 3986) |
//! | `credentials.rs` | [`Cookies`] (RFC 6265 §4.2) and [`Authorization`] (RFC 9110 §11.6.2, RFC 6750) |
//!
//! Nothing here allocates or keeps state. Heads are parsed with `httparse` into a header array
//! the caller supplies; everything returned borrows from the input. Responses and requests are
//! written into a caller buffer and the byte count is returned; a buffer that is too small is a
//! [`WriteError::BufferTooSmall`] saying how many bytes are needed, never a panic.
//!
//! A head that has not ended yet is [`Status::Partial`]: read more and call again with all the
//! bytes so far. [`Status::Complete`] carries the number of bytes the head took: the bytes after
//! it are already WebSocket frames and belong to the connection.
//!
//! # Example: a server
//!
//! ```
//! use wsmachine::handshake::server::{parse_request, Accept, ServerOptions};
//! use wsmachine::handshake::{write_rejection, Status};
//!
//! let input = b"GET /chat?room=1 HTTP/1.1\r\n\
//!     Host: example.com\r\n\
//!     Upgrade: websocket\r\n\
//!     Connection: keep-alive, Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\
//!     Sec-WebSocket-Protocol: chat, superchat\r\n\
//!     \r\n\
//!     \x81\x85"; // the first frame may arrive in the same read
//!
//! let mut headers = [httparse::EMPTY_HEADER; 16];
//! let mut out = [0u8; 256];
//! match parse_request(input, &mut headers, &ServerOptions::default()) {
//!     Ok(Status::Partial) => { /* read more, then call again with all the bytes */ }
//!     Ok(Status::Complete((request, consumed))) => {
//!         assert_eq!(request.path(), "/chat");
//!         assert_eq!(request.query(), Some("room=1"));
//!         assert_eq!(&input[consumed..], b"\x81\x85"); // frames start here
//!         let chosen = request.subprotocols().find(|p| *p == "chat");
//!         let accept = Accept { subprotocol: chosen, ..Accept::default() };
//!         let n = request.accept(&accept, &mut out).unwrap();
//!         let response = core::str::from_utf8(&out[..n]).unwrap();
//!         assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
//!         assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
//!         assert!(response.contains("Sec-WebSocket-Protocol: chat\r\n"));
//!         // send out[..n], then hand input[consumed..] to the connection
//!     }
//!     Err(e) => {
//!         let n = write_rejection(e, &mut out).unwrap();
//!         // send out[..n] and close
//!         # let _ = n;
//!     }
//! }
//! ```
//!
//! # Example: policy at the door
//!
//! A valid request is not yet a welcome one: read what the policy needs from the
//! [`Request`](server::Request) (path, query, cookies, `Authorization`), then accept, or refuse
//! with a [`Rejection`].
//!
//! ```
//! use wsmachine::handshake::server::{parse_request, Accept, Request, ServerOptions};
//! use wsmachine::handshake::{form_decode, Rejection, Status, WriteError};
//!
//! fn answer(request: &Request<'_, '_>, out: &mut [u8]) -> Result<usize, WriteError> {
//!     if request.path() != "/chat" {
//!         return Rejection::not_found().write(out);
//!     }
//!     let mut room = [0u8; 32];
//!     let room = request.query_value("room").and_then(|r| form_decode(r, &mut room).ok());
//!     let token = request.bearer_token().or(request.cookie("session"));
//!     match (room, token) {
//!         (Some(b"lobby"), Some("s3cret")) => request.accept(&Accept::default(), out),
//!         (_, None) => Rejection::unauthorized_bearer(Some("chat")).write(out),
//!         _ => Rejection::forbidden().write(out),
//!     }
//! }
//!
//! let input = b"GET /chat?room=lobby HTTP/1.1\r\nHost: example.com\r\n\
//!     Upgrade: websocket\r\nConnection: Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
//!     Cookie: theme=dark; session=s3cret\r\n\r\n";
//! let mut headers = [httparse::EMPTY_HEADER; 16];
//! let Ok(Status::Complete((request, _))) = parse_request(input, &mut headers, &ServerOptions::default())
//! else { unreachable!() };
//! let mut out = [0u8; 256];
//! let n = answer(&request, &mut out)?;
//! assert!(out[..n].starts_with(b"HTTP/1.1 101 "));
//! # Ok::<(), WriteError>(())
//! ```

pub mod client;
mod credentials;
mod extensions;
pub mod h2;
mod headers;
mod key;
mod query;
mod rejection;
pub mod server;
mod write;

pub use crate::wire::frame::Status;
pub use credentials::{Authorization, Cookies};
pub use extensions::{Extension, ExtensionParams, Extensions};
pub use headers::{has_token, header, HeaderValues, Tokens};
pub use key::{accept_key, is_valid_key, ACCEPT_LEN, GUID, KEY_LEN};
pub use query::{form_decode, percent_decode, DecodeError, QueryPairs};
pub use rejection::{Challenge, Rejection, MAX_REJECTION_BODY};
pub use server::write_rejection;
pub use write::WriteError;

/// The default limit on the length of a request or response head, in bytes.
pub const DEFAULT_MAX_HEAD_LEN: usize = 4096;
