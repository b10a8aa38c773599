//! tungstenite: `WebSocket::from_raw_socket` over the in-memory `Wire` (its frame codec is
//! private; the `WebSocket` is its public protocol layer, with masking and UTF-8 checks).

use std::hint::black_box;

use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Bytes, Message, WebSocket};

use super::{encoded, finish, same, TUNGSTENITE};
use crate::harness::{checked, size_label, Entry, Side};
use crate::wire::{Captured, Wire};

/// A server reading `frame` (one masked message, binary or text) again and again, with the
/// default configuration or with `read_buffer_size` set. Before each read from the stream,
/// tungstenite zero-fills up to `read_buffer_size` (default 128 KiB) of its read buffer.
pub fn decode(frame: &[u8], expect: &[u8], text: bool, read_buffer_size: Option<usize>) -> Entry {
    let (frame, expect) = (frame.to_vec(), expect.to_vec());
    let name = match read_buffer_size {
        None => TUNGSTENITE.to_string(),
        Some(n) => format!("{TUNGSTENITE} (read_buffer_size {})", size_label(n)),
    };
    checked(name, Side::Peer, move || {
        let wire = Wire::new(frame, Captured::default());
        let config = read_buffer_size.map(|n| WebSocketConfig::default().read_buffer_size(n));
        let mut ws = WebSocket::from_raw_socket(wire, Role::Server, config);
        finish(move |check| {
            let msg = ws.read().map_err(|e| e.to_string())?;
            let payload = match (&msg, text) {
                (Message::Binary(b), false) => b.as_ref(),
                (Message::Text(t), true) => t.as_str().as_bytes(),
                (other, _) => return Err(format!("unexpected {other:?}")),
            };
            black_box(payload);
            if check {
                same("payload", payload, &expect)?;
            }
            Ok(())
        })
    })
}

/// A client sending a binary message. The payload is a `Bytes` the application holds: each send
/// takes a reference-counted clone (no copy); tungstenite copies and masks it into its output
/// buffer and writes that to the stream.
pub fn encode(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked(TUNGSTENITE, Side::Peer, move || {
        let captured = Captured::default();
        let wire = Wire::new(Vec::new(), captured.clone());
        let mut ws = WebSocket::from_raw_socket(wire, Role::Client, None);
        let bytes = Bytes::from(payload.clone());
        finish(move |check| {
            captured.keep(check);
            ws.send(Message::Binary(black_box(&bytes).clone()))
                .map_err(|e| e.to_string())?;
            if check {
                encoded(&captured.take(), &payload)?;
            }
            Ok(())
        })
    })
}
