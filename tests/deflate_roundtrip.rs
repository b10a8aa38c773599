//! permessage-deflate round trips between a client and a server `Connection` in memory: random
//! messages, random pieces on both sides, every window size, context takeover on and off; a
//! 16 MiB message through a 512-byte window; a 512-byte device against a peer at 9 bits.

mod util;

use std::time::Instant;

use proptest::prelude::*;
use util::client;
use wsmachine::connection::Endpoint;
use wsmachine::extensions::deflate::{
    Agreed, ClientMaxWindowBits, Compressor, DeflateParams, InflateError, Receiver,
};
use wsmachine::wire::frame::RSV1;
use wsmachine::{Config, Connection, DataKind, Event, Role, Server};

/// Sends `message` on `conn`: compressed in `piece`-byte inputs into `out_len`-byte outputs,
/// each output a fragment (RSV1 on the first), or plain when `compressor` is `None`.
fn send<E: Endpoint>(
    conn: &mut Connection<E>,
    compressor: Option<&mut Compressor>,
    kind: DataKind,
    message: &[u8],
    piece: usize,
    out_len: usize,
    wire: &mut Vec<u8>,
) {
    let mut frame = vec![0u8; out_len + 64];
    let Some(compressor) = compressor else {
        let mut buf = vec![0u8; message.len() + 64];
        let n = conn.send_message(kind, 0, message, &mut buf).unwrap();
        wire.extend_from_slice(&buf[..n]);
        return;
    };
    let mut out = vec![0u8; out_len.max(1)];
    let mut at = 0;
    loop {
        let end = (at + piece.max(1)).min(message.len());
        let fin = end == message.len();
        let c = compressor
            .compress(&message[at..end], fin, &mut out)
            .unwrap();
        at += c.consumed;
        if c.written > 0 || c.done {
            let n = conn
                .send_fragment(kind, RSV1, &out[..c.written], c.done, &mut frame)
                .unwrap();
            wire.extend_from_slice(&frame[..n]);
        }
        if c.done {
            assert_eq!(at, message.len());
            return;
        }
    }
}

/// Feeds `wire` through `receiver` in pieces of the sizes `cuts` cycles through.
fn receive<E: Endpoint>(
    receiver: &mut Receiver<'_>,
    conn: &mut Connection<E>,
    wire: &[u8],
    cuts: &[usize],
) -> Result<Vec<(DataKind, Vec<u8>)>, InflateError> {
    let mut rx = Vec::new();
    let mut messages = Vec::new();
    let mut message = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < wire.len() || !rx.is_empty() {
        let cut = cuts[i % cuts.len()].max(1);
        i += 1;
        let end = (at + cut).min(wire.len());
        rx.extend_from_slice(&wire[at..end]);
        at = end;
        loop {
            let received = receiver.receive(conn, &mut rx)?;
            let consumed = received.consumed;
            let event = received.event.is_some();
            if let Some(Event::Data(chunk)) = received.event {
                assert_eq!(chunk.first, message.is_empty() && chunk.first, "first once");
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
        if at == wire.len() && !rx.is_empty() {
            // Everything is in; what is left must be an incomplete frame, which it cannot be.
            panic!("{} bytes left unconsumed", rx.len());
        }
    }
    Ok(messages)
}

/// A message with repeats at short and long distances, so that LZ77 reaches back.
fn content(seed: u64, len: usize, text: bool) -> Vec<u8> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out: Vec<u8> = Vec::with_capacity(len);
    while out.len() < len {
        let r = next();
        if out.len() > 8 && r % 3 == 0 {
            let dist = 1 + (next() as usize % out.len().min(40_000));
            let n = 3 + (next() as usize % 200);
            for _ in 0..n {
                let b = out[out.len() - dist];
                out.push(b);
            }
        } else if text {
            let words = ["héllo ", "wörld ", "€ ", "🌍 ", "deflate ", "a", "\n"];
            out.extend_from_slice(words[(r >> 8) as usize % words.len()].as_bytes());
        } else {
            out.push((r >> 16) as u8);
        }
    }
    if text {
        // Cut at a character boundary.
        let mut end = len.min(out.len());
        while std::str::from_utf8(&out[..end]).is_err() {
            end -= 1;
        }
        out.truncate(end);
    } else {
        out.truncate(len);
    }
    out
}

#[derive(Debug, Clone)]
struct Plan {
    server_bits: u8,
    client_bits: u8,
    server_reset: bool,
    client_reset: bool,
    level: u8,
    /// (text, length, seed, compressed)
    messages: Vec<(bool, usize, u64, bool)>,
    piece: usize,
    out_len: usize,
    cuts: Vec<usize>,
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        9u8..=15,
        9u8..=15,
        any::<bool>(),
        any::<bool>(),
        0u8..=9,
        prop::collection::vec(
            (
                any::<bool>(),
                prop_oneof![0usize..64, 0usize..3000, 20_000usize..70_000],
                any::<u64>(),
                prop::bool::weighted(0.8),
            ),
            1..6,
        ),
        1usize..5000,
        1usize..3000,
        prop::collection::vec(1usize..2000, 1..5),
    )
        .prop_map(
            |(
                server_bits,
                client_bits,
                server_reset,
                client_reset,
                level,
                messages,
                piece,
                out_len,
                cuts,
            )| Plan {
                server_bits,
                client_bits,
                server_reset,
                client_reset,
                level,
                messages,
                piece,
                out_len,
                cuts,
            },
        )
}

fn run(plan: &Plan) {
    let params = DeflateParams {
        server_no_context_takeover: plan.server_reset,
        client_no_context_takeover: plan.client_reset,
        server_max_window_bits: Some(plan.server_bits),
        client_max_window_bits: ClientMaxWindowBits::Bits(plan.client_bits),
    };
    let on_server = Agreed::new(params, Role::Server);
    let on_client = Agreed::new(params, Role::Client);
    let mut server = Connection::server(on_server.connection_config(Config::DEFAULT));
    let mut client_conn = client(on_client.connection_config(Config::DEFAULT), 5);
    let mut server_compressor = Compressor::new(&on_server, plan.level);
    let mut client_compressor = Compressor::new(&on_client, plan.level);
    let expected: Vec<(DataKind, Vec<u8>)> = plan
        .messages
        .iter()
        .map(|&(text, len, seed, _)| {
            let kind = if text {
                DataKind::Text
            } else {
                DataKind::Binary
            };
            (kind, content(seed, len, text))
        })
        .collect();
    // Client to server, then server to client.
    let mut c2s = Vec::new();
    let mut s2c = Vec::new();
    for ((kind, message), &(_, _, _, compressed)) in expected.iter().zip(&plan.messages) {
        let c = compressed.then_some(&mut client_compressor);
        send(
            &mut client_conn,
            c,
            *kind,
            message,
            plan.piece,
            plan.out_len,
            &mut c2s,
        );
        let s = compressed.then_some(&mut server_compressor);
        send(
            &mut server,
            s,
            *kind,
            message,
            plan.piece,
            plan.out_len,
            &mut s2c,
        );
    }
    let mut server_window = vec![0u8; 1 << plan.client_bits];
    let mut server_receiver = Receiver::new(&mut server_window, &on_server, 1 << 20).unwrap();
    let got = receive(&mut server_receiver, &mut server, &c2s, &plan.cuts).unwrap();
    assert_eq!(got, expected, "client to server");
    let mut client_window = vec![0u8; 1 << plan.server_bits];
    let mut client_receiver = Receiver::new(&mut client_window, &on_client, 1 << 20).unwrap();
    let got = receive(&mut client_receiver, &mut client_conn, &s2c, &plan.cuts).unwrap();
    assert_eq!(got, expected, "server to client");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_messages_round_trip_in_random_pieces(plan in plan()) {
        run(&plan);
    }
}

#[test]
fn every_window_size_both_ways_with_and_without_context_takeover() {
    for bits in 9..=15 {
        for reset in [false, true] {
            run(&Plan {
                server_bits: bits,
                client_bits: 24 - bits,
                server_reset: reset,
                client_reset: !reset,
                level: 6,
                messages: vec![
                    (true, 5000, 1, true),
                    (false, 40_000, 2, true),
                    (true, 100, 3, false),
                    (false, 9000, 4, true),
                ],
                piece: 700,
                out_len: 300,
                cuts: vec![1, 13, 1000],
            });
        }
    }
}

/// A device that inflates into 512 bytes, receiving a 16 MiB message compressed at 9 bits,
/// streamed through 1 KiB of compressed output per fragment.
#[test]
fn a_16_mib_message_through_a_512_byte_window() {
    let params = DeflateParams {
        client_max_window_bits: ClientMaxWindowBits::Bits(9),
        ..DeflateParams::default()
    };
    let on_server = Agreed::new(params, Role::Server);
    let on_client = Agreed::new(params, Role::Client);
    let mut server: Connection<Server> =
        Connection::server(on_server.connection_config(Config::DEFAULT));
    let mut client_conn = client(on_client.connection_config(Config::DEFAULT), 3);
    let mut compressor = Compressor::new(&on_client, 6);
    let mut window = [0u8; 512];
    let mut receiver = Receiver::new(&mut window, &on_server, 16 << 20).unwrap();
    let total = 16usize << 20;
    let block: Vec<u8> = (0..4096u32)
        .map(|i| (i / 64) as u8 ^ (i % 7) as u8)
        .collect();
    let start = Instant::now();
    let mut sent = 0;
    let mut received = 0usize;
    let mut chunks = 0usize;
    let mut largest = 0;
    let mut compressed_len = 0;
    let mut out = [0u8; 1024];
    let mut frame = [0u8; 1100];
    let mut rx: Vec<u8> = Vec::new();
    let mut done = false;
    while !done {
        let end = (sent + block.len()).min(total);
        let fin = end == total;
        let c = compressor
            .compress(&block[..end - sent], fin, &mut out)
            .unwrap();
        sent += c.consumed;
        compressed_len += c.written;
        if c.written > 0 || c.done {
            let n = client_conn
                .send_fragment(
                    DataKind::Binary,
                    RSV1,
                    &out[..c.written],
                    c.done,
                    &mut frame,
                )
                .unwrap();
            rx.extend_from_slice(&frame[..n]);
        }
        loop {
            let r = receiver.receive(&mut server, &mut rx).unwrap();
            let consumed = r.consumed;
            let event = r.event.is_some();
            if let Some(Event::Data(chunk)) = r.event {
                for (i, &b) in chunk.payload.iter().enumerate() {
                    assert_eq!(b, block[(received + i) % block.len()]);
                }
                received += chunk.payload.len();
                largest = largest.max(chunk.payload.len());
                chunks += 1;
                done = chunk.last;
            }
            rx.drain(..consumed);
            if consumed == 0 && !event {
                break;
            }
        }
    }
    println!(
        "16 MiB through a 512-byte window: {compressed_len} compressed bytes, {chunks} chunks of at \
         most {largest} bytes, {:?}",
        start.elapsed()
    );
    assert_eq!(received, total);
    assert!(largest <= 512);
}

/// The device with `server_max_window_bits=9` on its side of the connection: a peer that
/// compresses within 512 bytes (here with matches exactly 512 bytes back) is understood; the
/// same peer reaching 600 bytes back fails the connection with 1007 (miniz_oxide refuses a
/// distance longer than the ring). The device replies uncompressed.
#[test]
fn a_512_byte_device_and_a_peer_compressing_at_9_bits() {
    let params = DeflateParams {
        server_max_window_bits: Some(9),
        ..DeflateParams::default()
    };
    let device = Agreed::new(params, Role::Client);
    let peer = Agreed::new(
        DeflateParams {
            server_max_window_bits: None,
            ..params
        },
        Role::Server,
    );
    let mut x = 99u32;
    let mut noise = move || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    };
    let period_512: Vec<u8> = (0..512).map(|_| noise()).collect::<Vec<_>>().repeat(40);
    let period_600: Vec<u8> = (0..600).map(|_| noise()).collect::<Vec<_>>().repeat(40);
    let mut peer_compressor = Compressor::new(&peer, 9);
    let mut out = vec![0u8; 1 << 16];
    let mut server: Connection<Server> =
        Connection::server(peer.connection_config(Config::DEFAULT));
    let mut conn = client(device.connection_config(Config::DEFAULT), 1);
    let mut wire = Vec::new();
    let mut tx = vec![0u8; 1 << 17];
    for _ in 0..2 {
        let c = peer_compressor
            .compress_message(&period_512, &mut out)
            .unwrap();
        assert!(
            c.len() < period_512.len() / 10,
            "it reached back: {} bytes",
            c.len()
        );
        let n = server
            .send_message(DataKind::Binary, RSV1, c, &mut tx)
            .unwrap();
        wire.extend_from_slice(&tx[..n]);
    }
    let mut window = [0u8; 512];
    let mut receiver = Receiver::new(&mut window, &device, 1 << 20).unwrap();
    let got = receive(&mut receiver, &mut conn, &wire, &[333]).unwrap();
    assert_eq!(got, vec![(DataKind::Binary, period_512.clone()); 2]);
    // The device answers without compression: RSV1 clear, nothing more to hold.
    let mut reply = vec![0u8; 64];
    let n = conn.send_text("ack", &mut reply).unwrap();
    assert_eq!(reply[0] & 0x40, 0);
    let mut rx = reply[..n].to_vec();
    let r = server.receive(&mut rx).unwrap();
    assert!(matches!(r.event, Some(Event::Data(c)) if c.payload == b"ack" && c.rsv == 0));
    // A peer that ignores the agreement and reaches 600 bytes back.
    let mut rogue = Compressor::new(&peer, 9);
    let c = rogue
        .compress_message(&period_600, &mut out)
        .unwrap()
        .to_vec();
    let mut server: Connection<Server> =
        Connection::server(peer.connection_config(Config::DEFAULT));
    let n = server
        .send_message(DataKind::Binary, RSV1, &c, &mut tx)
        .unwrap();
    let mut conn = client(device.connection_config(Config::DEFAULT), 2);
    let mut window = [0u8; 512];
    let mut receiver = Receiver::new(&mut window, &device, 1 << 20).unwrap();
    let got = receive(&mut receiver, &mut conn, &tx[..n], &[4096]);
    assert_eq!(
        got,
        Err(InflateError::Corrupt),
        "a 600-byte reach cannot be served from 512 bytes"
    );
}
