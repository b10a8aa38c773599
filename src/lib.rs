//! wsmachine: a sans-IO WebSocket (RFC 6455) state machine for `no_std`, with no allocation.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod connection;
pub mod error;
pub mod handshake;
pub mod message;
pub mod utf8;
pub mod wire;

pub use connection::{
    Client, Config, Connection, DataChunk, DataKind, Event, Received, Role, Server,
};
pub use error::{ProtocolError, ReceiveError, SendError};
pub use wire::close::{CloseCode, CloseFrame};
pub use wire::frame::{FrameHeader, Opcode, Status};
