//! The public stream driver (`wsmachine::io::Driver`) as a server, fed arbitrary bytes in
//! arbitrary reads with short writes: it never panics, never asks for a read into an empty
//! buffer or hands out an empty write, and once the input ends it reaches `Closed` within a
//! bounded number of polls, having written nothing after a close frame.

use wsmachine::handshake::server::{Accept, HandshakeError, ServerOptions};
use wsmachine::handshake::Rejection;
use wsmachine::io::{Driver, Poll, MIN_BUFFER};
use wsmachine::{Config, DataKind, Event, FrameHeader, Opcode, Status};

use crate::drive::Chunker;

/// What the application does with a complete upgrade request.
#[derive(Debug, Clone, Copy)]
enum Decide {
    Accept,
    Refuse,
    Reject,
}

/// Checks the frames the server wrote after its 101: unmasked, well formed, nothing after the
/// close. Returns whether a close went out.
fn check_frames(mut out: &[u8]) -> bool {
    let mut closed = false;
    while !out.is_empty() {
        assert!(!closed, "a frame after the close: {out:02x?}");
        let (header, len) = match FrameHeader::parse(out) {
            Ok(Status::Complete(parsed)) => parsed,
            // The last frame may still be on its way.
            Ok(Status::Partial) => return closed,
            Err(e) => panic!("the server wrote a bad frame ({e}): {out:02x?}"),
        };
        assert!(header.mask.is_none(), "a server frame is never masked");
        let end = len.saturating_add(usize::try_from(header.payload_len).unwrap_or(usize::MAX));
        closed = header.opcode == Opcode::Close;
        out = out.get(end..).unwrap_or_default();
    }
    closed
}

/// A server driver fed `data` (first two bytes: options).
pub fn driver_server(data: &[u8]) {
    let Some((&[flags, seed], stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let mut chunks = Chunker::new(seed, flags >> 6);
    let mut rx = vec![0u8; MIN_BUFFER + usize::from(seed % 4) * 150];
    let mut tx = vec![0u8; MIN_BUFFER + usize::from((flags >> 2) % 4) * 200];
    let decide = match flags & 3 {
        0 | 3 => Decide::Accept,
        1 => Decide::Refuse,
        _ => Decide::Reject,
    };
    let echo = flags & 0x10 != 0;
    let mut config = Config::DEFAULT;
    if flags & 0x20 != 0 {
        config.keepalive_interval = core::num::NonZeroU32::new(20);
        config.keepalive_timeout = 20;
        config.close_timeout = core::num::NonZeroU32::new(40);
    }
    let options = ServerOptions::default();
    let mut driver = Driver::server(&mut rx, &mut tx, config, &options);
    let mut written = Vec::new();
    let mut head_end = None;
    let (mut pos, mut now, mut eof) = (0usize, 0u64, false);
    let bound = 4 * stream.len() + 4096;
    for _ in 0..bound {
        now += chunks.next_small();
        let mut reply = None;
        match driver.poll(now) {
            Poll::Write(bytes) => {
                assert!(!bytes.is_empty(), "an empty write");
                let n = chunks.next_size().min(bytes.len());
                written.extend_from_slice(&bytes[..n]);
                driver.write_done(n);
            }
            Poll::Read { buf, .. } => {
                assert!(!buf.is_empty(), "a read into nothing");
                let n = chunks.next_size().min(buf.len()).min(stream.len() - pos);
                buf[..n].copy_from_slice(&stream[pos..pos + n]);
                pos += n;
                eof = n == 0;
                driver.read_done(n);
            }
            Poll::Request(pending) => {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let Ok(request) = pending.request(&mut headers) else {
                    panic!("a request the driver accepted does not parse again");
                };
                let _ = (
                    request.path(),
                    request.query_pairs().count(),
                    request.cookie("a"),
                );
                match decide {
                    Decide::Accept => {
                        let chosen = request.subprotocols().next();
                        let accept = Accept {
                            subprotocol: chosen,
                            ..Accept::default()
                        };
                        let _ = pending.accept(&request, &accept);
                    }
                    Decide::Refuse => pending.refuse(HandshakeError::Origin),
                    Decide::Reject => {
                        let _ = pending.reject(&Rejection::unauthorized_bearer(Some("fuzz")));
                    }
                }
            }
            Poll::Open => {
                let text = core::str::from_utf8(&written).unwrap_or_default();
                assert!(text.starts_with("HTTP/1.1 101 "), "opened without a 101");
                head_end = text.find("\r\n\r\n").map(|at| at + 4);
            }
            Poll::Event(event) => {
                if let Event::Data(chunk) = event {
                    if chunk.kind == DataKind::Text && chunk.rsv == 0 && chunk.first && chunk.last {
                        assert!(core::str::from_utf8(chunk.payload).is_ok());
                    }
                    if echo {
                        reply = Some((chunk.kind, chunk.last, chunk.payload.to_vec()));
                    }
                }
            }
            Poll::Closed(closed) => {
                // Closed stays closed.
                assert!(matches!(driver.poll(now), Poll::Closed(again) if again == closed));
                if let Some(at) = head_end {
                    check_frames(written.get(at..).unwrap_or_default());
                }
                return;
            }
        }
        if let Some((kind, last, payload)) = reply {
            let _ = driver.send_fragment(kind, 0, &payload, last);
        }
    }
    assert!(!eof, "the input ended and the driver never closed");
}
