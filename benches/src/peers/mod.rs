//! The rows of each workload: the memcpy reference, wsmachine and the peers. Every row checks
//! its implementation's output before it returns: a decoder must hand back the input payload,
//! an encoder's bytes must decode back, with wsmachine's strict server, to the payload.

pub mod embedded;
pub mod fastws;
pub mod nexus;
pub mod tung;

use std::hint::black_box;

use crate::harness::{checked, Entry, Side};
use crate::ours;

/// The peers' versions as resolved when these figures were taken (see `Cargo.toml`).
pub const TUNGSTENITE: &str = "tungstenite 0.30";
pub const FASTWEBSOCKETS: &str = "fastwebsockets 0.10";
pub const EMBEDDED_WEBSOCKET: &str = "embedded-websocket 0.9";
pub const NEXUS_WEB: &str = "nexus-web 0.8";
pub const MEMCPY: &str = "memcpy (copy_from_slice)";

pub type Run = Box<dyn FnMut(u64)>;

/// Checks `step` twice (a fresh state, then a reused one), then returns it as a timed loop.
/// `step(true)` checks its output; `step(false)` is the timed path.
pub fn finish(mut step: impl FnMut(bool) -> Result<(), String> + 'static) -> Result<Run, String> {
    step(true)?;
    step(true)?;
    Ok(Box::new(move |n| {
        for _ in 0..n {
            black_box(step(false).is_ok());
        }
    }))
}

pub fn same(what: &str, got: &[u8], expect: &[u8]) -> Result<(), String> {
    if got == expect {
        Ok(())
    } else {
        Err(format!(
            "{what}: {} bytes, expected {} (first difference at {:?})",
            got.len(),
            expect.len(),
            got.iter().zip(expect).position(|(a, b)| a != b)
        ))
    }
}

/// An encoder's output: one whole masked binary frame that wsmachine decodes to `expect`.
pub fn encoded(frame: &[u8], expect: &[u8]) -> Result<(), String> {
    same("decoded back", &ours::decode_for_check(frame)?, expect)
}

/// The copy of the frame into a receive buffer, which every decoder row pays too.
pub fn memcpy_decode(frame: &[u8]) -> Entry {
    let frame = frame.to_vec();
    checked(MEMCPY, Side::Reference, move || {
        let (mut space, at) = half_a_page_from(&frame);
        finish(move |check| {
            let rx = &mut space[at..at + frame.len()];
            rx.copy_from_slice(black_box(&frame));
            black_box(&mut *rx);
            if check {
                same("copy", rx, &frame)?;
            }
            Ok(())
        })
    })
}

/// The copy of the payload into an output buffer, the least a copying encoder does.
pub fn memcpy_payload(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked(MEMCPY, Side::Reference, move || {
        let (mut space, at) = half_a_page_from(&payload);
        finish(move |check| {
            let out = &mut space[at..at + payload.len()];
            out.copy_from_slice(black_box(&payload));
            black_box(&mut *out);
            if check {
                same("copy", out, &payload)?;
            }
            Ok(())
        })
    })
}

/// A buffer, and where in it a copy of `src` starts half a page (2 KiB, modulo 4 KiB) from
/// `src`. The reference copy's destination is placed, not left to the allocator: on the AMD
/// EPYC these figures come from, libc's `memcpy` of 16 KiB took 9.8–10 µs instead of 0.4 when
/// the destination lay 16 bytes past the source modulo 4 KiB, which two back-to-back
/// allocations of a 16 KiB frame gave (a 16,384- or 16,392-byte copy; 0.37–0.6 µs at every
/// other distance tried: 32 to 2,160). The reference is the cost of the copy, not of that
/// placement.
fn half_a_page_from(src: &[u8]) -> (Vec<u8>, usize) {
    let space = vec![0u8; src.len() + 4096];
    let want = (src.as_ptr().addr() + 2048) % 4096;
    let at = (want + 4096 - space.as_ptr().addr() % 4096) % 4096;
    (space, at)
}

/// wsmachine as a server: the frame copied into the receive buffer, then `receive` (unmasks in
/// place, checks UTF-8 for text).
pub fn wsmachine_decode(frame: &[u8], expect: &[u8]) -> Entry {
    let (frame, expect) = (frame.to_vec(), expect.to_vec());
    checked("wsmachine", Side::Ours, move || {
        let mut server = ours::server();
        let mut rx = vec![0u8; frame.len()];
        finish(move |check| {
            rx.copy_from_slice(black_box(&frame));
            let payload =
                ours::receive_whole(&mut server, &mut rx).ok_or("not one whole data message")?;
            black_box(payload);
            if check {
                same("payload", payload, &expect)?;
            }
            Ok(())
        })
    })
}

/// wsmachine as a client: `send_binary`, the payload copied and masked into `out`.
pub fn wsmachine_send_binary(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked("wsmachine send_binary", Side::Ours, move || {
        let mut client = ours::client(1);
        let mut out = vec![0u8; payload.len() + 14];
        finish(move |check| {
            let n = ours::send_binary(&mut client, black_box(&payload), &mut out);
            black_box(&out[..n]);
            if check {
                encoded(&out[..n], &payload)?;
            }
            Ok(())
        })
    })
}

/// wsmachine as a client: `send_frame_header` into a small buffer and `mask_payload_in_place`
/// over the payload where it lies, for a vectored write.
pub fn wsmachine_header_in_place(payload: &[u8]) -> Entry {
    let payload = payload.to_vec();
    checked("wsmachine header + mask in place", Side::Ours, move || {
        let mut client = ours::client(2);
        let mut body = payload.clone();
        let mut header = [0u8; 14];
        finish(move |check| {
            if check {
                body.copy_from_slice(&payload);
            }
            let n = ours::send_header_mask_in_place(&mut client, black_box(&mut body), &mut header);
            black_box((&header[..n], &body));
            if check {
                encoded(&[&header[..n], &body[..]].concat(), &payload)?;
            }
            Ok(())
        })
    })
}
