//! Every call into wsmachine is here, so that an API change is adapted in one place.
//!
//! The other modules see plain functions over byte slices: a server that decodes one whole
//! masked frame in place, a client that encodes with a copy or writes only the header and masks
//! the payload in place, the decoder the other implementations' output is checked with, and the
//! UTF-8 validator.
//!
//! The timed calls (`receive_whole`, `send_binary`, `send_header_mask_in_place`) are
//! `#[inline(never)]`: one call into wsmachine per message, as the peers' non-generic entry
//! points are calls (README, "Method").

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wsmachine::utf8::Utf8Validator;
use wsmachine::{Client, Config, Connection, DataChunk, DataKind, Event, Server};

pub type ServerConn = Connection<Server>;
pub type ClientConn = Connection<Client<ChaCha8Rng>>;

pub fn server() -> ServerConn {
    Connection::server(Config::DEFAULT)
}

/// A client whose masking keys come from ChaCha8, as nexus-web's do.
pub fn client(seed: u64) -> ClientConn {
    Connection::client(Config::DEFAULT, ChaCha8Rng::seed_from_u64(seed))
}

/// Decodes `input`, which must be exactly one whole data frame, in place; returns its payload.
#[inline(never)]
pub fn receive_whole<'a>(server: &mut ServerConn, input: &'a mut [u8]) -> Option<&'a [u8]> {
    let len = input.len();
    let received = server.receive(input).ok()?;
    match received.event {
        Some(Event::Data(DataChunk {
            payload,
            first: true,
            last: true,
            ..
        })) if received.consumed == len => Some(payload),
        _ => None,
    }
}

/// `send_binary`: header and masked copy of `data` into `out`. Returns the frame's length.
#[inline(never)]
pub fn send_binary(client: &mut ClientConn, data: &[u8], out: &mut [u8]) -> usize {
    client.send_binary(data, out).expect("send_binary")
}

/// `send_frame_header` + `mask_payload_in_place`: the header into `header`, the payload masked
/// where it lies (for a vectored write). Returns the header's length.
#[inline(never)]
pub fn send_header_mask_in_place(
    client: &mut ClientConn,
    payload: &mut [u8],
    header: &mut [u8],
) -> usize {
    let n = client
        .send_frame_header(DataKind::Binary, 0, payload.len() as u64, true, header)
        .expect("send_frame_header");
    client
        .mask_payload_in_place(payload)
        .expect("mask_payload_in_place");
    n
}

/// A whole masked frame carrying `payload`, as a client sends it: the decode workloads' input.
pub fn masked_frame(payload: &[u8], text: bool) -> Vec<u8> {
    let mut client = client(0x5eed);
    let mut out = vec![0u8; payload.len() + 14];
    let kind = if text {
        DataKind::Text
    } else {
        DataKind::Binary
    };
    let n = match kind {
        DataKind::Text => client.send_text(core::str::from_utf8(payload).expect("text"), &mut out),
        DataKind::Binary => client.send_binary(payload, &mut out),
    }
    .expect("encode the input frame");
    out.truncate(n);
    out
}

/// Decodes `frame` (one whole masked binary message) with a fresh wsmachine server: the check
/// every encoder's output goes through. Errors say what was wrong.
pub fn decode_for_check(frame: &[u8]) -> Result<Vec<u8>, String> {
    let mut server = server();
    let mut buf = frame.to_vec();
    let len = buf.len();
    let received = server
        .receive(&mut buf)
        .map_err(|e| format!("wsmachine rejects the frame: {e:?}"))?;
    match received.event {
        Some(Event::Data(DataChunk {
            kind: DataKind::Binary,
            payload,
            first: true,
            last: true,
            ..
        })) if received.consumed == len => Ok(payload.to_vec()),
        other => Err(format!(
            "not one whole binary frame ({} of {len} bytes used): {other:?}",
            received.consumed
        )),
    }
}

/// wsmachine's incremental validator over one whole message.
#[inline]
pub fn validate(text: &[u8]) -> bool {
    let mut v = Utf8Validator::new();
    v.feed(text).is_ok() && v.finish().is_ok()
}
