//! embedded-websocket: the `WebSocket` (server or client) `read`/`write` calls over caller
//! buffers, the state set to `Open` as its documentation does to skip the handshake. Its
//! `Framer` only adds a stream loop around the same calls.

use std::hint::black_box;

use embedded_websocket::{
    WebSocketClient, WebSocketReceiveMessageType, WebSocketSendMessageType, WebSocketServer,
    WebSocketState,
};
use rand_chacha::rand_core::{RngCore as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{encoded, finish, same, EMBEDDED_WEBSOCKET};
use crate::harness::{checked, Entry, Side};

/// ChaCha8 (rand_core 0.9) behind embedded-websocket's rand_core 0.6 `RngCore`.
pub struct Rng(ChaCha8Rng);

impl rand_core_06::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

/// The frame copied into the receive buffer, then `read`, which unmasks it into a second
/// buffer (its API never works in place).
pub fn decode(frame: &[u8], expect: &[u8]) -> Entry {
    let (frame, expect) = (frame.to_vec(), expect.to_vec());
    checked(EMBEDDED_WEBSOCKET, Side::Peer, move || {
        let mut ws = WebSocketServer::new_server();
        ws.state = WebSocketState::Open;
        let mut rx = vec![0u8; frame.len()];
        let mut out = vec![0u8; expect.len()];
        finish(move |check| {
            rx.copy_from_slice(black_box(&frame));
            let r = ws.read(&rx, &mut out).map_err(|e| format!("{e:?}"))?;
            black_box(&out[..r.len_to]);
            if check {
                if r.len_from != frame.len()
                    || !r.end_of_message
                    || r.message_type != WebSocketReceiveMessageType::Binary
                {
                    return Err(format!("not one whole binary message: {r:?}"));
                }
                same("payload", &out[..r.len_to], &expect)?;
            }
            Ok(())
        })
    })
}

pub fn text_not_applicable() -> Entry {
    Entry::NotApplicable {
        name: EMBEDDED_WEBSOCKET.into(),
        reason: "it does not validate UTF-8 (text payloads are handed over unchecked)",
    }
}

pub fn encode(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked(EMBEDDED_WEBSOCKET, Side::Peer, move || {
        let mut ws = WebSocketClient::new_client(Rng(ChaCha8Rng::seed_from_u64(3)));
        ws.state = WebSocketState::Open;
        let mut out = vec![0u8; payload.len() + 14];
        finish(move |check| {
            let n = ws
                .write(
                    WebSocketSendMessageType::Binary,
                    true,
                    black_box(&payload),
                    &mut out,
                )
                .map_err(|e| format!("{e:?}"))?;
            black_box(&out[..n]);
            if check {
                encoded(&out[..n], &payload)?;
            }
            Ok(())
        })
    })
}
