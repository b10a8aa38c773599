//! The wire-format vectors, run on a Cortex-M4 (32-bit `usize`, little-endian, alignment
//! that matters): RFC 6455 §5.7 frames, masking at every offset and alignment, the close-code
//! table, UTF-8 vectors split at every point, 64-bit lengths, and the RFC 6455 §1.3 accept key.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use wsmachine::utf8::{Utf8Error, Utf8Validator};
use wsmachine::wire::mask::apply_mask;
use wsmachine::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Event, FrameHeader, Opcode, ProtocolError,
    Server, Status,
};
use wsmachine_firmware::{check, exit, say, Failed};

/// A group of vectors: how many cases passed, or the first failure.
type Group = fn() -> Result<usize, Failed>;

/// A close payload and what parsing it gives.
type ClosePayload = (
    &'static [u8],
    Result<(CloseCode, &'static str), ProtocolError>,
);

#[entry]
fn main() -> ! {
    say!(
        "vectors: usize is {} bits, {}-endian",
        usize::BITS,
        if cfg!(target_endian = "little") {
            "little"
        } else {
            "big"
        }
    );
    let groups: [(&str, Group); 7] = [
        ("rfc6455 5.7 frames parsed, emitted and unmasked", rfc_5_7),
        ("frames fed byte by byte to a connection", byte_by_byte),
        ("64-bit lengths parsed, emitted and streamed", long_lengths),
        (
            "mask cases vs bytewise (every offset, length, alignment)",
            masking,
        ),
        ("close codes vs the 7.4 table, close payloads", close_codes),
        ("utf-8 vectors split at every point vs core::str", utf8),
        ("accept keys (rfc6455 1.3)", accept_key),
    ];
    let mut ok = true;
    for (name, group) in groups {
        match group() {
            Ok(n) => say!("vectors: {} {}: ok", n, name),
            Err(Failed(what)) => {
                say!("vectors: {}: FAILED: {}", name, what);
                ok = false;
            }
        }
    }
    say!(
        "vectors: {}",
        if ok {
            "all groups passed"
        } else {
            "some group FAILED"
        }
    );
    exit(ok)
}

/// An RFC 6455 §5.7 example: its bytes, opcode, fin, mask, and unmasked payload.
struct Example {
    bytes: &'static [u8],
    opcode: Opcode,
    fin: bool,
    mask: Option<[u8; 4]>,
    payload_len: u64,
    payload: &'static [u8],
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

const EXAMPLES: [Example; 7] = [
    Example {
        bytes: &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        opcode: Opcode::Text,
        fin: true,
        mask: None,
        payload_len: 5,
        payload: b"Hello",
    },
    Example {
        bytes: &[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ],
        opcode: Opcode::Text,
        fin: true,
        mask: Some(KEY),
        payload_len: 5,
        payload: b"Hello",
    },
    Example {
        bytes: &[0x01, 0x03, 0x48, 0x65, 0x6c],
        opcode: Opcode::Text,
        fin: false,
        mask: None,
        payload_len: 3,
        payload: b"Hel",
    },
    Example {
        bytes: &[0x80, 0x02, 0x6c, 0x6f],
        opcode: Opcode::Continuation,
        fin: true,
        mask: None,
        payload_len: 2,
        payload: b"lo",
    },
    Example {
        bytes: &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        opcode: Opcode::Ping,
        fin: true,
        mask: None,
        payload_len: 5,
        payload: b"Hello",
    },
    Example {
        bytes: &[
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ],
        opcode: Opcode::Pong,
        fin: true,
        mask: Some(KEY),
        payload_len: 5,
        payload: b"Hello",
    },
    Example {
        bytes: &[0x82, 0x7e, 0x01, 0x00],
        opcode: Opcode::Binary,
        fin: true,
        mask: None,
        payload_len: 256,
        payload: b"",
    },
];

fn rfc_5_7() -> Result<usize, Failed> {
    let mut n = 0;
    for ex in &EXAMPLES {
        let Ok(Status::Complete((h, len))) = FrameHeader::parse(ex.bytes) else {
            return Err(Failed("5.7: parse"));
        };
        check(h.opcode == ex.opcode && h.fin == ex.fin, "5.7: opcode, fin")?;
        check(
            h.mask == ex.mask && h.payload_len == ex.payload_len,
            "5.7: mask, length",
        )?;
        check(
            h.rsv == 0 && len == h.encoded_len(),
            "5.7: rsv, header length",
        )?;
        let mut out = [0u8; 14];
        let emitted = h.emit(&mut out).map_err(|_| Failed("5.7: emit"))?;
        check(out[..emitted] == ex.bytes[..len], "5.7: emit bytes")?;
        if ex.payload_len < 126 {
            let mut payload = [0u8; 8];
            let body = &ex.bytes[len..];
            payload[..body.len()].copy_from_slice(body);
            if let Some(key) = h.mask {
                apply_mask(key, 0, &mut payload[..body.len()]);
            }
            check(
                &payload[..body.len()] == ex.payload,
                "5.7: unmasked payload",
            )?;
        }
        n += 1;
    }
    // The 64 KiB example: 0x82 0x7F then a 64-bit length.
    let big = [0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
    let Ok(Status::Complete((h, 10))) = FrameHeader::parse(&big) else {
        return Err(Failed("5.7: 64 KiB header"));
    };
    check(h.payload_len == 65536, "5.7: 64 KiB length")?;
    Ok(n + 1)
}

/// The masked client frames go into a server connection, the unmasked data frames into a
/// client connection, one byte per call: the same events as all at once.
fn byte_by_byte() -> Result<usize, Failed> {
    let mut n = 0;
    for ex in EXAMPLES.iter().filter(|ex| ex.payload_len < 126) {
        let mut got = [0u8; 8];
        let mut got_len = 0;
        let mut events = 0;
        let mut buf = [0u8; 16];
        let mut filled = 0;
        let mut server = Connection::server(Config::DEFAULT);
        let mut client = Connection::client(Config::DEFAULT, wsmachine_firmware::TestRng(7));
        if ex.opcode == Opcode::Continuation {
            // A continuation needs its first fragment: start the message unmasked on the client.
            let mut first = [0x01, 0x03, b'H', b'e', b'l'];
            let r = client
                .receive(&mut first)
                .map_err(|_| Failed("bytewise: first fragment"))?;
            check(r.consumed == 5, "bytewise: first fragment consumed")?;
        }
        for &b in ex.bytes {
            buf[filled] = b;
            filled += 1;
            loop {
                let input = &mut buf[..filled];
                let r = if ex.mask.is_some() {
                    server.receive(input)
                } else {
                    client.receive(input)
                }
                .map_err(|_| Failed("bytewise: receive"))?;
                if r.consumed == 0 && r.event.is_none() {
                    break;
                }
                if let Some(event) = r.event {
                    events += 1;
                    let payload = match event {
                        Event::Data(chunk) => chunk.payload,
                        Event::Ping(p) | Event::Pong(p) => p,
                        Event::Close(_) => return Err(Failed("bytewise: close")),
                    };
                    got[got_len..got_len + payload.len()].copy_from_slice(payload);
                    got_len += payload.len();
                }
                let consumed = r.consumed;
                buf.copy_within(consumed..filled, 0);
                filled -= consumed;
            }
        }
        check(events >= 1 && filled == 0, "bytewise: all consumed")?;
        check(&got[..got_len] == ex.payload, "bytewise: payload")?;
        n += 1;
    }
    Ok(n)
}

/// Lengths past 32 bits: the header round-trips, and a frame announcing 2^32 + 5 bytes streams
/// its first bytes through a connection whose `usize` cannot hold the length.
fn long_lengths() -> Result<usize, Failed> {
    let mut n = 0;
    for len in [
        0u64,
        125,
        126,
        65535,
        65536,
        u64::from(u32::MAX),
        1 << 32,
        (1 << 63) - 1,
    ] {
        for mask in [None, Some(KEY)] {
            let h = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: Opcode::Binary,
                mask,
                payload_len: len,
            };
            let mut out = [0u8; 14];
            let emitted = h.emit(&mut out).map_err(|_| Failed("lengths: emit"))?;
            let Ok(Status::Complete((back, used))) = FrameHeader::parse(&out[..emitted]) else {
                return Err(Failed("lengths: parse"));
            };
            check(back == h && used == emitted, "lengths: round trip")?;
            n += 1;
        }
    }
    let over = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
    check(
        FrameHeader::parse(&over) == Err(ProtocolError::LengthOverflow),
        "lengths: 2^63 refused",
    )?;
    let config = Config {
        max_frame_size: u64::MAX,
        max_message_size: u64::MAX,
        ..Config::DEFAULT
    };
    let mut server = Connection::<Server>::server(config);
    let mut frame = [0u8; 14 + 40];
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode: Opcode::Binary,
        mask: Some(KEY),
        payload_len: (1 << 32) + 5,
    };
    let h = header
        .emit(&mut frame)
        .map_err(|_| Failed("lengths: emit"))?;
    for (i, b) in frame[h..].iter_mut().enumerate() {
        *b = i as u8;
    }
    apply_mask(KEY, 0, &mut frame[h..]);
    let total = h + 40;
    let r = server
        .receive(&mut frame[..total])
        .map_err(|_| Failed("lengths: receive"))?;
    check(r.consumed == total, "lengths: consumed")?;
    let Some(Event::Data(chunk)) = r.event else {
        return Err(Failed("lengths: no data"));
    };
    check(
        chunk.kind == DataKind::Binary && chunk.first && !chunk.last,
        "lengths: chunk",
    )?;
    check(
        chunk.payload.iter().enumerate().all(|(i, &b)| b == i as u8),
        "lengths: unmasked",
    )?;
    Ok(n + 2)
}

fn bytewise(key: [u8; 4], offset: usize, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) % 4];
    }
}

/// `apply_mask` against a byte-at-a-time reference: every key offset, every length up to 72,
/// and slices starting at every alignment.
fn masking() -> Result<usize, Failed> {
    let key = [0xa5, 0x01, 0x7e, 0xc3];
    let mut n = 0;
    let mut a = [0u8; 80];
    let mut b = [0u8; 80];
    for align in 0..8 {
        for offset in 0..8 {
            for len in 0..=72 {
                for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
                    *x = (i as u8).wrapping_mul(37) ^ 0x5a;
                    *y = *x;
                }
                apply_mask(key, offset, &mut a[align..align + len]);
                bytewise(key, offset, &mut b[align..align + len]);
                check(a == b, "mask: differs from bytewise")?;
                n += 1;
            }
        }
    }
    // Unmasking in pieces of every size gives the same bytes as at once.
    for piece in 1..=9 {
        let mut whole = [0u8; 64];
        let mut split = [0u8; 64];
        for (i, (x, y)) in whole.iter_mut().zip(split.iter_mut()).enumerate() {
            *x = i as u8;
            *y = i as u8;
        }
        apply_mask(key, 0, &mut whole);
        let mut at = 0;
        for chunk in split.chunks_mut(piece) {
            apply_mask(key, at, chunk);
            at += chunk.len();
        }
        check(whole == split, "mask: pieces differ")?;
        n += 1;
    }
    Ok(n)
}

/// RFC 6455 §7.4 as a table of ranges: (first, last, allowed on the wire).
const CODE_TABLE: [(u16, u16, bool); 7] = [
    (0, 999, false),
    (1000, 1003, true),
    (1004, 1006, false),
    (1007, 1014, true),
    (1015, 2999, false),
    (3000, 4999, true),
    (5000, 65535, false),
];

fn close_codes() -> Result<usize, Failed> {
    let mut n = 0;
    for (lo, hi, allowed) in CODE_TABLE {
        let mut code = lo;
        loop {
            check(
                CloseCode(code).is_allowed_on_wire() == allowed,
                "close: code table",
            )?;
            let payload = code.to_be_bytes();
            check(
                CloseFrame::parse(&payload).is_ok() == allowed,
                "close: parse by code",
            )?;
            n += 1;
            if code == hi {
                break;
            }
            code += 1;
        }
    }
    let payloads: [ClosePayload; 6] = [
        (b"", Ok((CloseCode::NO_STATUS, ""))),
        (b"\x03", Err(ProtocolError::InvalidClosePayload)),
        (b"\x03\xe8bye", Ok((CloseCode::NORMAL, "bye"))),
        (b"\x03\xe8\xff", Err(ProtocolError::InvalidUtf8)),
        (b"\x0f\xa0\xce\xba", Ok((CloseCode(4000), "\u{3ba}"))),
        (b"\x03\xed", Err(ProtocolError::InvalidCloseCode)),
    ];
    for (payload, expected) in payloads {
        let got = CloseFrame::parse(payload).map(|f| (f.code, f.reason));
        check(got == expected, "close: payload")?;
        if let Ok((code, reason)) = expected {
            let mut out = [0u8; 125];
            let len = CloseFrame { code, reason }
                .emit(&mut out)
                .map_err(|_| Failed("close: emit"))?;
            check(&out[..len] == payload, "close: emit bytes")?;
        }
        n += 1;
    }
    Ok(n)
}

/// Valid and invalid UTF-8, from the Autobahn 6.x cases and RFC 3629's edges.
const UTF8: [&[u8]; 22] = [
    b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
    b"\x00",
    b"\x7f",
    b"\xc2\x80",
    b"\xdf\xbf",
    b"\xe0\xa0\x80",
    b"\xef\xbf\xbf",
    b"\xf0\x90\x80\x80",
    b"\xf4\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xc0\xaf",
    b"\xc1\xbf",
    b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf",
    b"\xed\xa0\x80",
    b"\xed\x9f\xbf",
    b"\x80\xbf",
    b"\xce\xba\xe1\xbd",
    b"\xfe\xff",
];

/// Where `core::str` says the first byte that cannot start or continue a sequence is:
/// `Err(None)` when the bytes end inside a sequence.
fn reference(bytes: &[u8]) -> Result<(), Option<usize>> {
    match core::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => match e.error_len() {
            None => Err(None),
            Some(n) => {
                let lead_ok = matches!(bytes[e.valid_up_to()], 0xc2..=0xf4);
                Err(Some(e.valid_up_to() + if lead_ok { n } else { 0 }))
            }
        },
    }
}

/// Feeds `bytes` in pieces of `step`; the stream position of the failure.
fn streamed(bytes: &[u8], step: usize) -> Result<(), Option<usize>> {
    let mut v = Utf8Validator::new();
    let mut pos = 0;
    for chunk in bytes.chunks(step) {
        if let Err(Utf8Error::InvalidByte { offset }) = v.feed(chunk) {
            return Err(Some(pos + offset));
        }
        pos += chunk.len();
    }
    v.finish().map_err(|_| None)
}

fn utf8() -> Result<usize, Failed> {
    let mut n = 0;
    for bytes in UTF8 {
        let expected = reference(bytes);
        for step in 1..=bytes.len() {
            check(
                streamed(bytes, step) == expected,
                "utf-8: streamed vs core::str",
            )?;
            n += 1;
        }
        // Split once at every point, into two feeds.
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            let mut v = Utf8Validator::new();
            let got = match v.feed(a) {
                Err(Utf8Error::InvalidByte { offset }) => Err(Some(offset)),
                Err(Utf8Error::Incomplete) => Err(None),
                Ok(()) => match v.feed(b) {
                    Err(Utf8Error::InvalidByte { offset }) => Err(Some(cut + offset)),
                    Err(Utf8Error::Incomplete) => Err(None),
                    Ok(()) => v.finish().map_err(|_| None),
                },
            };
            check(got == expected, "utf-8: split in two")?;
            n += 1;
        }
    }
    Ok(n)
}

fn accept_key() -> Result<usize, Failed> {
    let got = wsmachine::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
    check(
        &got == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "accept key: rfc6455 1.3",
    )?;
    Ok(1)
}
