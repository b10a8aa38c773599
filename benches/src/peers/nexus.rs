//! nexus-web: its sans-IO `FrameReader` (bytes in with `read`, whole messages out with `next`)
//! and `FrameWriter`.

use std::hint::black_box;

use nexus_web::ws::{apply_mask, FrameReader, FrameWriter, Message, Role};

use super::{encoded, finish, same, NEXUS_WEB};
use crate::harness::{checked, Entry, Side};

/// `read` copies the frame into the reader's buffer; `next` is called until it returns `None`,
/// as a read loop does (the second call releases the message's bytes).
pub fn decode(frame: &[u8], expect: &[u8], text: bool) -> Entry {
    let (frame, expect) = (frame.to_vec(), expect.to_vec());
    checked(NEXUS_WEB, Side::Peer, move || {
        let mut reader = FrameReader::builder()
            .role(Role::Server)
            .buffer_capacity((2 * frame.len()).max(64 << 10))
            .build();
        finish(move |check| {
            reader.read(black_box(&frame)).map_err(|e| e.to_string())?;
            let mut messages = 0;
            while let Some(msg) = reader.next().map_err(|e| e.to_string())? {
                let payload = match (&msg, text) {
                    (Message::Binary(b), false) => *b,
                    (Message::Text(t), true) => t.as_bytes(),
                    (other, _) => return Err(format!("unexpected {other:?}")),
                };
                black_box(payload);
                if check {
                    same("payload", payload, &expect)?;
                }
                messages += 1;
            }
            if check && messages != 1 {
                return Err(format!("{messages} messages from one frame"));
            }
            Ok(())
        })
    })
}

/// `encode_binary`: header and masked copy of the payload into the caller's buffer.
pub fn encode_copy(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked(
        format!("{NEXUS_WEB} encode_binary"),
        Side::Peer,
        move || {
            let mut writer = FrameWriter::new(Role::Client);
            let mut out = vec![0u8; writer.max_encoded_len(payload.len())];
            finish(move |check| {
                let n = writer.encode_binary(black_box(&payload), &mut out);
                black_box(&out[..n]);
                if check {
                    encoded(&out[..n], &payload)?;
                }
                Ok(())
            })
        },
    )
}

/// `build_header` and `apply_mask` over the payload where it lies: the header-only path.
pub fn encode_in_place(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked(
        format!("{NEXUS_WEB} build_header + apply_mask"),
        Side::Peer,
        move || {
            let mut writer = FrameWriter::new(Role::Client);
            let mut body = payload.clone();
            finish(move |check| {
                if check {
                    body.copy_from_slice(&payload);
                }
                let (header, key) = writer.build_header(0x82, payload.len());
                apply_mask(black_box(&mut body[..]), key.ok_or("a client masks")?);
                black_box((header.as_bytes(), &body));
                if check {
                    encoded(&[header.as_bytes(), &body[..]].concat(), &payload)?;
                }
                Ok(())
            })
        },
    )
}
