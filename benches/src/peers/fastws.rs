//! fastwebsockets: `WebSocket::after_handshake` over the in-memory `Wire`, its futures polled
//! once (the stream never waits). Reading unmasks in place and checks text with simdutf8.

use std::hint::black_box;

use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};

use super::{encoded, finish, same, FASTWEBSOCKETS};
use crate::harness::{checked, Entry, Side};
use crate::wire::{ready, Captured, Wire};

pub fn decode(frame: &[u8], expect: &[u8], text: bool) -> Entry {
    let (frame, expect) = (frame.to_vec(), expect.to_vec());
    checked(FASTWEBSOCKETS, Side::Peer, move || {
        let wire = Wire::new(frame, Captured::default());
        let mut ws = WebSocket::after_handshake(wire, Role::Server);
        let want = if text { OpCode::Text } else { OpCode::Binary };
        finish(move |check| {
            let f = ready(ws.read_frame()).map_err(|e| e.to_string())?;
            if f.opcode != want || !f.fin {
                return Err(format!("unexpected frame {:?} fin {}", f.opcode, f.fin));
            }
            black_box(&f.payload[..]);
            if check {
                same("payload", &f.payload, &expect)?;
            }
            Ok(())
        })
    })
}

/// A client writing a binary frame whose payload it may mask where it lies
/// (`Payload::BorrowedMut`): its fastest path. A borrowed immutable payload would be copied to
/// a new `Vec` first. Frames over 1 KiB go out as a vectored write of header and payload;
/// smaller ones are copied into its write buffer.
pub fn encode(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked(
        format!("{FASTWEBSOCKETS} (masks in place)"),
        Side::Peer,
        move || {
            let captured = Captured::default();
            let wire = Wire::new(Vec::new(), captured.clone());
            let mut ws = WebSocket::after_handshake(wire, Role::Client);
            let mut body = payload.clone();
            finish(move |check| {
                if check {
                    body.copy_from_slice(&payload);
                }
                captured.keep(check);
                let frame = Frame::binary(Payload::BorrowedMut(black_box(&mut body[..])));
                ready(ws.write_frame(frame)).map_err(|e| e.to_string())?;
                if check {
                    encoded(&captured.take(), &payload)?;
                }
                Ok(())
            })
        },
    )
}
