//! permessage-deflate (RFC 7692) over `Connection`: the §7.2.3 examples byte for byte, context
//! takeover, corrupt data, decompressed UTF-8, the size limit against a DEFLATE bomb, and the
//! RAM the types take.

mod util;

use std::time::Instant;

use util::{client, frame};
use wsmachine::connection::Endpoint;
use wsmachine::extensions::deflate::{
    accept_offer, Agreed, ClientMaxWindowBits, Compressor, DeflateConfig, DeflateParams,
    InflateError, Inflater, Receiver,
};
use wsmachine::handshake::Extensions;
use wsmachine::wire::frame::RSV1;
use wsmachine::{CloseCode, Config, Connection, DataKind, Event, Role};

const KEY: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

fn agreed(params: DeflateParams, role: Role) -> Agreed {
    Agreed::new(params, role)
}

/// Feeds `wire` to `receiver` in `cut`-byte pieces; returns the decompressed messages, or the
/// first error and the messages before it.
fn receive_all<E: Endpoint>(
    receiver: &mut Receiver<'_>,
    conn: &mut Connection<E>,
    wire: &[u8],
    cut: usize,
) -> (Vec<(DataKind, Vec<u8>)>, Option<InflateError>) {
    let mut rx = Vec::new();
    let mut messages = Vec::new();
    let mut message = Vec::new();
    for piece in wire.chunks(cut.max(1)) {
        rx.extend_from_slice(piece);
        loop {
            let received = match receiver.receive(conn, &mut rx) {
                Ok(r) => r,
                Err(e) => return (messages, Some(e)),
            };
            let consumed = received.consumed;
            let event = received.event.is_some();
            if let Some(Event::Data(chunk)) = received.event {
                assert_eq!(chunk.rsv, 0, "decompressed chunks carry no RSV bit");
                message.extend_from_slice(chunk.payload);
                if chunk.last {
                    messages.push((chunk.kind, std::mem::take(&mut message)));
                }
            }
            rx.drain(..consumed);
            if consumed == 0 && !event {
                break;
            }
        }
    }
    (messages, None)
}

fn server_with(params: DeflateParams) -> (Connection<wsmachine::Server>, Agreed) {
    let agreed = agreed(params, Role::Server);
    (
        Connection::server(agreed.connection_config(Config::DEFAULT)),
        agreed,
    )
}

/// RFC 7692 §7.2.3.1 to §7.2.3.5, each masked as a client sends it, at every cut.
#[test]
fn rfc7692_examples_inflate_byte_for_byte() {
    type Case<'a> = (&'a str, Vec<u8>, Vec<&'a [u8]>);
    let cases: Vec<Case<'_>> = vec![
        (
            "7.2.3.1 one compressed block",
            frame(
                true,
                4,
                0x1,
                KEY,
                &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            ),
            vec![b"Hello"],
        ),
        (
            "7.2.3.1 two fragments",
            [
                frame(false, 4, 0x1, KEY, &[0xf2, 0x48, 0xcd]),
                frame(true, 0, 0x0, KEY, &[0xc9, 0xc9, 0x07, 0x00]),
            ]
            .concat(),
            vec![b"Hello"],
        ),
        (
            "7.2.3.2 sharing the LZ77 window",
            [
                frame(
                    true,
                    4,
                    0x1,
                    KEY,
                    &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
                ),
                frame(true, 4, 0x1, KEY, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            ]
            .concat(),
            vec![b"Hello", b"Hello"],
        ),
        (
            "7.2.3.3 a block with no compression",
            frame(
                true,
                4,
                0x1,
                KEY,
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
                ],
            ),
            vec![b"Hello"],
        ),
        (
            "7.2.3.4 a block with BFINAL set, then a message after it",
            [
                frame(
                    true,
                    4,
                    0x1,
                    KEY,
                    &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
                ),
                frame(
                    true,
                    4,
                    0x1,
                    KEY,
                    &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
                ),
            ]
            .concat(),
            vec![b"Hello", b"Hello"],
        ),
        (
            "7.2.3.5 two blocks in one message",
            frame(
                true,
                4,
                0x1,
                KEY,
                &[
                    0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
                ],
            ),
            vec![b"Hello"],
        ),
    ];
    for (name, wire, expected) in cases {
        for cut in [1, 2, 3, 5, usize::MAX] {
            let (mut server, agreed) = server_with(DeflateParams::default());
            // A 15-bit peer needs a 32 KiB window: a smaller one is refused.
            assert!(Receiver::new(&mut [0u8; 256], &agreed, 1 << 20).is_err());
            let mut window = vec![0u8; 1 << 15];
            let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
            let (got, error) = receive_all(&mut receiver, &mut server, &wire, cut);
            assert_eq!(error, None, "{name} cut {cut}");
            let want: Vec<_> = expected
                .iter()
                .map(|m| (DataKind::Text, m.to_vec()))
                .collect();
            assert_eq!(got, want, "{name} cut {cut}");
        }
    }
}

/// The compressor gives the §7.2.3.1 and §7.2.3.2 bytes: "Hello" twice, sharing the window or not.
#[test]
fn rfc7692_examples_compress_byte_for_byte() {
    let mut out = [0u8; 64];
    let with_takeover = agreed(DeflateParams::default(), Role::Server);
    let mut c = Compressor::new(&with_takeover, 6);
    assert_eq!(
        c.compress_message(b"Hello", &mut out).unwrap(),
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    let second = c.compress_message(b"Hello", &mut out).unwrap();
    assert_eq!(
        second,
        [0xf2, 0x00, 0x11, 0x00, 0x00],
        "refers back to the first"
    );
    let without = agreed(
        DeflateParams {
            server_no_context_takeover: true,
            ..DeflateParams::default()
        },
        Role::Server,
    );
    let mut c = Compressor::new(&without, 6);
    for _ in 0..3 {
        assert_eq!(
            c.compress_message(b"Hello", &mut out).unwrap(),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
    }
    // The client side of the same agreement keeps its context: only the server resets.
    let client_side = agreed(*without.params(), Role::Client);
    let mut c = Compressor::new(&client_side, 6);
    c.compress_message(b"Hello", &mut out).unwrap();
    assert!(c.compress_message(b"Hello", &mut out).unwrap().len() < 7);
}

/// A server without context takeover starts every message afresh; the receiver resets with it.
#[test]
fn no_context_takeover_resets_the_inflater_each_message() {
    let params = DeflateParams {
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let (mut server, agreed) = server_with(params);
    let mut window = vec![0u8; 1 << 15];
    let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
    let mut sender = Compressor::new(&Agreed::new(params, Role::Client), 6);
    let mut wire = Vec::new();
    let mut out = [0u8; 256];
    for text in ["Hello", "Hello", "Hello, Hello"] {
        let compressed = sender.compress_message(text.as_bytes(), &mut out).unwrap();
        assert!(compressed.len() >= 7, "{text}: {compressed:02x?}");
        wire.extend(frame(true, 4, 0x1, KEY, compressed));
    }
    let (got, error) = receive_all(&mut receiver, &mut server, &wire, 3);
    assert_eq!(error, None);
    let texts: Vec<_> = got
        .iter()
        .map(|(_, m)| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert_eq!(texts, ["Hello", "Hello", "Hello, Hello"]);
}

/// Control frames between the fragments of a compressed message, and plain messages, pass
/// through unchanged.
#[test]
fn control_frames_and_plain_messages_pass_through() {
    let (mut server, agreed) = server_with(DeflateParams::default());
    let mut window = vec![0u8; 1 << 15];
    let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
    let mut wire = frame(false, 4, 0x2, KEY, &[0xf2, 0x48, 0xcd]);
    wire.extend(frame(true, 0, 0x9, KEY, b"ping!"));
    wire.extend(frame(true, 0, 0x0, KEY, &[0xc9, 0xc9, 0x07, 0x00]));
    wire.extend(frame(true, 0, 0x1, KEY, b"plain"));
    wire.extend(frame(true, 0, 0x8, KEY, b"\x03\xe8bye"));
    let mut rx = wire.clone();
    let mut seen = Vec::new();
    loop {
        let received = receiver.receive(&mut server, &mut rx).unwrap();
        let consumed = received.consumed;
        let done = consumed == 0 && received.event.is_none();
        match received.event {
            Some(Event::Data(c)) => seen.push(format!(
                "data {:?} {:?} rsv={} last={}",
                c.kind,
                String::from_utf8_lossy(c.payload),
                c.rsv,
                c.last
            )),
            Some(Event::Ping(p)) => seen.push(format!("ping {:?}", String::from_utf8_lossy(p))),
            Some(Event::Pong(_)) => seen.push("pong".into()),
            Some(Event::Close(c)) => seen.push(format!("close {} {}", c.code.0, c.reason)),
            None => {}
        }
        rx.drain(..consumed);
        if done {
            break;
        }
    }
    let joined = seen.join("\n");
    assert!(joined.contains("ping \"ping!\""), "{joined}");
    assert!(
        joined.contains("data Text \"plain\" rsv=0 last=true"),
        "{joined}"
    );
    assert!(joined.contains("close 1000 bye"), "{joined}");
    let binary: String = seen
        .iter()
        .filter(|s| s.starts_with("data Binary"))
        .map(|s| s.split('"').nth(1).unwrap())
        .collect();
    assert_eq!(binary, "Hello");
    assert!(rx.is_empty());
}

/// The close frame a server owes, as bytes: unmasked, code only.
fn owed_close<E: Endpoint>(conn: &mut Connection<E>) -> Vec<u8> {
    let mut tx = [0u8; 256];
    let n = conn.poll_transmit(&mut tx).unwrap();
    tx[..n].to_vec()
}

#[test]
fn corrupt_data_fails_the_connection_with_1007() {
    for (name, payload) in [
        ("reserved block type", vec![0x06, 0x00]),
        (
            "stored block with a bad NLEN",
            vec![0x00, 0x05, 0x00, 0x00, 0x00, b'H'],
        ),
        (
            "distance code 30",
            vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0xff, 0xff],
        ),
    ] {
        let (mut server, agreed) = server_with(DeflateParams::default());
        let mut window = vec![0u8; 1 << 15];
        let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
        let wire = frame(true, 4, 0x2, KEY, &payload);
        let (_, error) = receive_all(&mut receiver, &mut server, &wire, usize::MAX);
        assert_eq!(error, Some(InflateError::Corrupt), "{name}");
        assert_eq!(
            error.and_then(InflateError::close_code),
            Some(CloseCode::INVALID_DATA)
        );
        assert_eq!(
            owed_close(&mut server),
            [0x88, 0x02, 0x03, 0xef],
            "{name}: close 1007 owed"
        );
        let mut more = frame(true, 0, 0x9, KEY, b"");
        assert!(
            receiver.receive(&mut server, &mut more).is_err(),
            "no input after a failure"
        );
    }
}

#[test]
fn decompressed_text_is_utf8_checked_fail_fast() {
    let params = DeflateParams::default();
    let mut c = Compressor::new(&agreed(params, Role::Client), 6);
    let mut out = [0u8; 4096];
    // Valid text, then a byte that can never appear in UTF-8, then lots more text.
    let mut bad = "héllo wörld ".repeat(20).into_bytes();
    bad.push(0xff);
    bad.extend("more text ".repeat(400).bytes());
    let compressed = c.compress_message(&bad, &mut out).unwrap().to_vec();
    let (mut server, agreed) = server_with(params);
    let mut window = vec![0u8; 1 << 15];
    let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
    let wire = frame(true, 4, 0x1, KEY, &compressed);
    let (_, error) = receive_all(&mut receiver, &mut server, &wire, 7);
    assert_eq!(error, Some(InflateError::InvalidUtf8));
    assert_eq!(owed_close(&mut server), [0x88, 0x02, 0x03, 0xef]);
    // The same bytes as binary are fine.
    let (mut server, agreed) = server_with(params);
    let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
    let mut c = Compressor::new(&Agreed::new(params, Role::Client), 6);
    let compressed = c.compress_message(&bad, &mut out).unwrap().to_vec();
    let wire = frame(true, 4, 0x2, KEY, &compressed);
    let (got, error) = receive_all(&mut receiver, &mut server, &wire, 7);
    assert_eq!((error, got), (None, vec![(DataKind::Binary, bad)]));
    // A character split at the message's end is caught by the end check.
    let (mut server, agreed) = server_with(params);
    let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
    let mut c = Compressor::new(&Agreed::new(params, Role::Client), 6);
    let compressed = c
        .compress_message("ab\u{20ac}".as_bytes().split_last().unwrap().1, &mut out)
        .unwrap()
        .to_vec();
    let (_, error) = receive_all(
        &mut receiver,
        &mut server,
        &frame(true, 4, 0x1, KEY, &compressed),
        1,
    );
    assert_eq!(error, Some(InflateError::InvalidUtf8));
}

/// Writes bits least significant first, as DEFLATE packs them (RFC 1951 §3.1.1).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
}

/// The densest DEFLATE there is: one dynamic block whose literal/length code gives length 258
/// (symbol 285) one bit and whose distance code gives distance 1 one bit, so that every two
/// zero bits inflate to 258 bytes, about 1032 to 1. Returns the block header and first literal;
/// append zero bytes, each worth 1032 bytes of output.
fn bomb_header() -> Vec<u8> {
    let mut b = Bits::default();
    b.put(0, 1); // BFINAL
    b.put(2, 2); // dynamic Huffman
    b.put(286 - 257, 5); // HLIT: literal/length codes 0..=285
    b.put(2 - 1, 5); // HDIST: distance codes 0 and 1
    b.put(18 - 4, 4); // HCLEN: code length codes up to symbol 1 in the §3.2.7 order
                      // Code length code lengths, in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1:
                      // symbol 18 gets 1 bit, symbols 1 and 2 get 2 bits.
    for len in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        b.put(len, 3);
    }
    // Canonical codes: 18 -> 0, 1 -> 10, 2 -> 11.
    let two = |b: &mut Bits| b.code(0b11, 2);
    let one = |b: &mut Bits| b.code(0b10, 2);
    let zeros = |b: &mut Bits, count: u32| {
        b.code(0, 1);
        b.put(count - 11, 7);
    };
    two(&mut b); // literal 0: 2 bits
    zeros(&mut b, 138);
    zeros(&mut b, 117); // literals 1..=255 unused
    two(&mut b); // end of block 256: 2 bits
    zeros(&mut b, 28); // lengths 257..=284 unused
    one(&mut b); // length 285 (258 bytes): 1 bit
    one(&mut b); // distance 0 (1 byte back): 1 bit
    one(&mut b); // distance 1: 1 bit
                 // Literal/length codes: 285 -> 0, literal 0 -> 10, 256 -> 11. Distance 0 -> 0.
    b.code(0b10, 2); // one literal zero to copy from
                     // Pad to a byte with "258 at distance 1" pairs (two zero bits each) and the odd bit.
    while b.n != 0 {
        b.put(0, 1);
    }
    b.out
}

/// A compressed message of `compressed_len` bytes that would inflate to about 1032 times that
/// must stop at the limit with 1009, after at most one window of work past the limit.
fn bomb(compressed_len: usize, limit: u64, window_bits: u8) {
    let mut payload = bomb_header();
    payload.resize(compressed_len, 0);
    let params = DeflateParams {
        client_max_window_bits: ClientMaxWindowBits::Bits(window_bits),
        ..DeflateParams::default()
    };
    let (mut server, agreed) = server_with(params);
    let mut window = vec![0u8; 1 << window_bits];
    let mut receiver = Receiver::new(&mut window, &agreed, limit).unwrap();
    let mut wire = frame(true, 4, 0x2, KEY, &payload);
    let start = Instant::now();
    let mut at = 0;
    let mut inflated = 0u64;
    let mut calls = 0u64;
    let error = loop {
        calls += 1;
        match receiver.receive(&mut server, &mut wire[at..]) {
            Ok(received) => {
                at += received.consumed;
                if let Some(Event::Data(c)) = received.event {
                    inflated += c.payload.len() as u64;
                } else if received.consumed == 0 {
                    break None;
                }
            }
            Err(e) => break Some(e),
        }
    };
    let elapsed = start.elapsed();
    println!(
        "bomb: {compressed_len} compressed bytes (would inflate to ~{} MiB), limit {limit}, \
         window {}: stopped after {inflated} bytes, {calls} calls, {} of input used, in {elapsed:?}",
        (compressed_len as u64 * 1032) >> 20,
        1 << window_bits,
        at,
    );
    assert_eq!(error, Some(InflateError::TooBig));
    assert_eq!(
        owed_close(&mut server),
        [0x88, 0x02, 0x03, 0xf1],
        "close 1009 owed"
    );
    assert!(inflated <= limit, "nothing past the limit is handed out");
    assert!(
        inflated + (1 << window_bits) > limit,
        "it stopped at the limit, not before"
    );
}

#[test]
fn a_1_kib_bomb_stops_at_a_64_kib_limit() {
    bomb(1024, 64 << 10, 9);
}

#[test]
fn a_1_mib_bomb_worth_1_gib_stops_at_16_mib() {
    bomb(1 << 20, 16 << 20, 15);
}

#[test]
fn the_bomb_is_real_without_a_limit() {
    // The same stream, well under any limit: it inflates to 1032 bytes per zero byte.
    let mut payload = bomb_header();
    let header = payload.len();
    payload.resize(header + 100, 0);
    let mut w = vec![0u8; 1 << 15];
    let mut inflater = Inflater::new(&mut w).unwrap();
    let mut total = 0;
    let mut at = 0;
    loop {
        let step = inflater.inflate(&payload[at..], usize::MAX).unwrap();
        at += step.consumed;
        total += step.output.len();
        assert!(inflater.output(step.output).iter().all(|&b| b == 0));
        if at == payload.len() && step.stop == wsmachine::extensions::deflate::Stop::NeedsInput {
            break;
        }
    }
    assert!(total >= 100 * 1032, "{total}");
}

/// RAM: the receive side is the decompressor state plus the caller's window; the compressor
/// is a pointer to its heap state.
#[test]
fn sizes() {
    use std::mem::size_of;
    let decompressor = size_of::<miniz_oxide::inflate::core::DecompressorOxide>();
    let inflater = size_of::<Inflater<'static>>();
    let receiver = size_of::<Receiver<'static>>();
    let compressor_heap = size_of::<miniz_oxide::deflate::core::CompressorOxide>();
    println!("size_of::<DecompressorOxide>() = {decompressor}");
    println!("size_of::<Inflater>() = {inflater}, plus the caller's window of 1 << bits bytes");
    for bits in [8, 9, 10, 12, 15] {
        println!(
            "  receive RAM at {bits} window bits: {} bytes",
            receiver + (1 << bits)
        );
    }
    println!("size_of::<Receiver>() = {receiver}");
    println!(
        "size_of::<Compressor>() = {} inline; its boxed CompressorOxide = {compressor_heap} inline \
         part, plus its own boxes",
        size_of::<Compressor>()
    );
    assert!(inflater <= decompressor + 4 * size_of::<usize>());
    assert!(
        receiver <= inflater + 64,
        "the receiver adds little to the inflater"
    );
}

#[test]
fn every_window_size_and_client_connection_work() {
    for bits in 8..=15u8 {
        let params = DeflateParams {
            server_max_window_bits: Some(bits),
            ..DeflateParams::default()
        };
        let agreed_client = agreed(params, Role::Client);
        let mut conn = client(
            agreed_client.connection_config(Config::DEFAULT),
            u64::from(bits),
        );
        let mut window = vec![0u8; 1 << bits];
        let mut receiver = Receiver::new(&mut window, &agreed_client, 1 << 20).unwrap();
        let mut sender = Compressor::new(&agreed(params, Role::Server), 6);
        let text: String = (0..3000)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let mut out = vec![0u8; 8192];
        let mut wire = Vec::new();
        for _ in 0..3 {
            let compressed = sender.compress_message(text.as_bytes(), &mut out).unwrap();
            wire.extend(frame(true, 4, 0x1, None, compressed));
        }
        let (got, error) = receive_all(&mut receiver, &mut conn, &wire, 100);
        assert_eq!(error, None, "bits {bits}");
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|(_, m)| m == text.as_bytes()), "bits {bits}");
    }
}

#[test]
fn the_server_picks_and_the_receiver_follows() {
    let offers = b"permessage-deflate; client_max_window_bits; server_max_window_bits=10";
    let config = DeflateConfig {
        receive_window_bits: 9,
        ..DeflateConfig::DEFAULT
    };
    let agreed = accept_offer(&config, Extensions::new(core::iter::once(&offers[..]))).unwrap();
    assert_eq!(
        agreed.header().unwrap().as_str(),
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"
    );
    let mut window = [0u8; 512];
    assert!(Receiver::new(&mut window, &agreed, 1 << 20).is_ok());
    let mut small = [0u8; 256];
    assert!(Receiver::new(&mut small, &agreed, 1 << 20).is_err());
    let c = agreed.connection_config(Config::DEFAULT);
    assert_eq!(c.allowed_rsv, RSV1);
}

/// Found by `deflate_inflate`: a streamed compressor's first fragment may be empty (it holds
/// back its last four bytes), and an empty compressed frame is no corrupt data.
#[test]
fn empty_compressed_fragments_are_fine() {
    let (mut server, agreed) = server_with(DeflateParams::default());
    let mut window = vec![0u8; 1 << 15];
    let mut receiver = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
    let mut wire = frame(false, 4, 0x2, KEY, b"");
    wire.extend(frame(false, 0, 0x0, KEY, &[0xf2, 0x48, 0xcd]));
    wire.extend(frame(false, 0, 0x0, KEY, b""));
    wire.extend(frame(true, 0, 0x0, KEY, &[0xc9, 0xc9, 0x07, 0x00]));
    // An empty message: only the tail, 00 00 ff ff, is inflated.
    wire.extend(frame(true, 4, 0x1, KEY, b""));
    wire.extend(frame(true, 4, 0x1, KEY, &[0x00]));
    for cut in [1, 4, usize::MAX] {
        let mut s = server.clone();
        let mut window = vec![0u8; 1 << 15];
        let mut r = Receiver::new(&mut window, &agreed, 1 << 20).unwrap();
        let (got, error) = receive_all(&mut r, &mut s, &wire, cut);
        assert_eq!(error, None, "cut {cut}");
        assert_eq!(
            got,
            [
                (DataKind::Binary, b"Hello".to_vec()),
                (DataKind::Text, Vec::new()),
                (DataKind::Text, Vec::new())
            ]
        );
    }
    // Our compressor never sends an empty payload for an empty message.
    let mut out = [0u8; 16];
    let mut c = Compressor::new(&Agreed::new(DeflateParams::default(), Role::Client), 6);
    let empty = c.compress_message(b"", &mut out).unwrap().to_vec();
    assert!(!empty.is_empty());
    let mut wire = frame(true, 4, 0x1, KEY, &empty);
    wire.extend(frame(
        true,
        4,
        0x1,
        KEY,
        c.compress_message(b"Hello", &mut out).unwrap(),
    ));
    let (got, error) = receive_all(&mut receiver, &mut server, &wire, 2);
    assert_eq!(error, None);
    assert_eq!(
        got,
        [
            (DataKind::Text, Vec::new()),
            (DataKind::Text, b"Hello".to_vec())
        ]
    );
}
