//! Client/server scenarios over the `Pair` harness (RFC 6455 §5.2–§5.5): messages of every
//! kind and size both ways at every chunking, a mebibyte through a small buffer, fragments with
//! pings between them, frames sent in pieces, and fresh masking keys.

mod util;

use util::{c2s, client, pattern, text_of_len, Ev, Pair, PairConfig};
use wsmachine::connection::MIN_RECEIVE_BUFFER;
use wsmachine::{Config, Connection, DataKind, SendError};

fn text(s: &str) -> Ev {
    Ev::Message(DataKind::Text, s.as_bytes().to_vec())
}

fn binary(b: &[u8]) -> Ev {
    Ev::Message(DataKind::Binary, b.to_vec())
}

const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 70000];

#[test]
fn every_kind_and_size_both_ways_at_every_chunking() {
    for chunk in [1, 3, 139, 256, 100_000] {
        let mut pair = Pair::with(PairConfig {
            chunk,
            ..PairConfig::default()
        });
        let mut expected = Vec::new();
        for (i, &len) in SIZES.iter().enumerate() {
            let t = text_of_len(len);
            let b = pattern(len, i as u8);
            pair.client
                .send_with(len, |c, out| c.send_text(&t, out))
                .unwrap();
            pair.client
                .send_with(len, |c, out| c.send_binary(&b, out))
                .unwrap();
            pair.server
                .send_with(len, |c, out| c.send_binary(&b, out))
                .unwrap();
            pair.server
                .send_with(len, |c, out| {
                    c.send_message(DataKind::Text, 0, t.as_bytes(), out)
                })
                .unwrap();
            expected.push((text(&t), binary(&b)));
        }
        pair.drive();
        let want_at_server: Vec<Ev> = expected
            .iter()
            .flat_map(|(t, b)| [t.clone(), b.clone()])
            .collect();
        let want_at_client: Vec<Ev> = expected
            .iter()
            .flat_map(|(t, b)| [b.clone(), t.clone()])
            .collect();
        assert_eq!(pair.server.events(), &want_at_server[..], "chunk {chunk}");
        assert_eq!(pair.client.events(), &want_at_client[..], "chunk {chunk}");
        assert_eq!(pair.server.error(), None);
        assert_eq!(pair.client.error(), None);
        assert!(pair.server.conn.is_open() && pair.client.conn.is_open());
        // Small pieces mean many chunks per message: streaming, not buffering.
        if chunk == 1 {
            assert!(pair.server.rx.chunks > 2 * (65536 + 65535));
        }
    }
}

#[test]
fn one_mebibyte_streams_through_a_256_byte_buffer() {
    const LEN: usize = 1 << 20;
    let mut pair = Pair::with(PairConfig {
        rx_capacity: 256,
        chunk: 1000,
        ..PairConfig::default()
    });
    let b = pattern(LEN, 7);
    let t = text_of_len(LEN);
    pair.client
        .send_with(LEN, |c, out| c.send_binary(&b, out))
        .unwrap();
    pair.server
        .send_with(LEN, |c, out| c.send_text(&t, out))
        .unwrap();
    pair.drive();
    assert_eq!(pair.server.events(), &[binary(&b)]);
    assert_eq!(pair.client.events(), &[text(&t)]);
    // At most 256 bytes are ever in the buffer, so the message came in many chunks.
    assert!(
        pair.server.rx.chunks >= LEN / 256,
        "{}",
        pair.server.rx.chunks
    );
    assert!(pair.client.rx.chunks >= LEN / 256);
}

#[test]
fn fragments_with_pings_between_them_and_auto_pong() {
    for chunk in [1, 5, 4096] {
        let mut pair = Pair::with(PairConfig {
            chunk,
            ..PairConfig::default()
        });
        let parts: [&[u8]; 4] = [b"Hel", b"", "lo \u{20ac}".as_bytes(), b"!"];
        // The euro sign is split across the fragment boundary on purpose.
        let split: [&[u8]; 3] = [b"Hel", b"lo \xe2\x82", b"\xac!"];
        for (i, p) in parts.iter().enumerate() {
            let fin = i == parts.len() - 1;
            pair.client
                .send(|c, out| c.send_fragment(DataKind::Binary, 0, p, fin, out))
                .unwrap();
            pair.client
                .send(|c, out| c.send_ping(&[i as u8; 3], out))
                .unwrap();
            pair.server
                .send(|c, out| {
                    let piece: &[u8] = split.get(i).copied().unwrap_or(b"");
                    c.send_fragment(DataKind::Text, 0, piece, fin, out)
                })
                .unwrap();
            if i == 1 {
                pair.server.send(|c, out| c.send_pong(b"hb", out)).unwrap();
            }
        }
        pair.drive();
        // The last ping follows the last fragment.
        let mut want_server: Vec<Ev> = (0..3u8).map(|i| Ev::Ping(vec![i; 3])).collect();
        want_server.push(binary("Hello \u{20ac}!".as_bytes()));
        want_server.push(Ev::Ping(vec![3; 3]));
        assert_eq!(pair.server.events(), &want_server[..], "chunk {chunk}");
        // The client gets the server's pong between fragments, then the text, then the auto-pongs.
        let events = pair.client.take_events();
        let pongs: Vec<&Ev> = events.iter().filter(|e| matches!(e, Ev::Pong(_))).collect();
        assert_eq!(pongs[0], &Ev::Pong(b"hb".to_vec()));
        assert!(events.contains(&text("Hello \u{20ac}!")), "{events:?}");
        // Each ping was answered, or at least the latest one (§5.5.3).
        let auto: Vec<&Ev> = pongs[1..].to_vec();
        assert!(!auto.is_empty());
        assert_eq!(auto.last(), Some(&&Ev::Pong(vec![3; 3])));
        for p in &auto {
            assert!(
                matches!(p, Ev::Pong(v) if v.len() == 3 && v.iter().all(|&b| b == v[0] && b < 4))
            );
        }
    }
}

#[test]
fn auto_pong_answers_every_ping_that_is_drained_in_time() {
    let mut pair = Pair::new();
    for i in 0..5u8 {
        pair.client
            .send(|c, out| c.send_ping(&[i; 125][..usize::from(i) * 31], out))
            .unwrap();
        pair.drive();
    }
    let want: Vec<Ev> = (0..5u8)
        .map(|i| Ev::Pong(vec![i; usize::from(i) * 31]))
        .collect();
    assert_eq!(pair.client.events(), &want[..]);
    // With auto-pong off, nothing is owed.
    let mut pair = Pair::with(PairConfig {
        server: Config {
            auto_pong: false,
            ..Config::DEFAULT
        },
        ..PairConfig::default()
    });
    pair.client.send(|c, out| c.send_ping(b"x", out)).unwrap();
    pair.drive();
    assert_eq!(pair.server.events(), &[Ev::Ping(b"x".to_vec())]);
    assert!(pair.client.events().is_empty());
}

#[test]
fn frame_in_pieces_with_send_payload_and_mask_in_place() {
    for chunk in [1, 64, 4096] {
        let mut pair = Pair::with(PairConfig {
            chunk,
            ..PairConfig::default()
        });
        let body = pattern(1000, 3);
        // Server: header, then the payload with send_payload in uneven pieces.
        pair.server
            .send(|c, out| c.send_frame_header(DataKind::Binary, 0, 600, false, out))
            .unwrap();
        // While the payload is open nothing else may go out.
        let mut scratch = [0u8; 256];
        assert_eq!(
            pair.server.conn.send_ping(b"p", &mut scratch),
            Err(SendError::FrameInProgress)
        );
        assert_eq!(
            pair.server.conn.send_binary(b"p", &mut scratch),
            Err(SendError::FrameInProgress)
        );
        for piece in body[..600].chunks(77) {
            pair.server
                .send(|c, out| c.send_payload(piece, out))
                .unwrap();
        }
        assert_eq!(
            pair.server.conn.send_payload(b"x", &mut scratch),
            Err(SendError::PayloadLengthMismatch)
        );
        pair.server.send(|c, out| c.send_ping(b"mid", out)).unwrap();
        pair.server
            .send(|c, out| c.send_frame_header(DataKind::Binary, 0, 400, true, out))
            .unwrap();
        for piece in body[600..].chunks(33) {
            pair.server
                .send(|c, out| c.send_payload(piece, out))
                .unwrap();
        }

        // Client: header, then mask the payload in place piece by piece.
        let t = text_of_len(900);
        let tb = t.as_bytes();
        pair.client
            .send(|c, out| c.send_frame_header(DataKind::Text, 0, 500, false, out))
            .unwrap();
        for piece in tb[..500].chunks(7) {
            let mut owned = piece.to_vec();
            pair.client.conn.mask_payload_in_place(&mut owned).unwrap();
            assert_ne!(owned, piece, "client payload must be masked");
            pair.client.write_raw(&owned);
        }
        pair.client.send(|c, out| c.send_ping(b"mid", out)).unwrap();
        pair.client
            .send(|c, out| c.send_frame_header(DataKind::Text, 0, 400, true, out))
            .unwrap();
        for piece in tb[500..].chunks(13) {
            let mut owned = piece.to_vec();
            pair.client.conn.mask_payload_in_place(&mut owned).unwrap();
            pair.client.write_raw(&owned);
        }
        pair.drive();
        assert_eq!(
            pair.server.events(),
            &[
                Ev::Ping(b"mid".to_vec()),
                text(&t),
                Ev::Pong(b"mid".to_vec())
            ],
            "chunk {chunk}"
        );
        let client_events = pair.client.events();
        assert_eq!(client_events[0], Ev::Ping(b"mid".to_vec()));
        assert_eq!(client_events[1], binary(&body));
        // Both pings were auto-answered after the fact.
        assert_eq!(&client_events[2..], &[Ev::Pong(b"mid".to_vec())]);
    }
}

#[test]
fn poll_transmit_waits_for_an_open_frame_payload() {
    let mut pair = Pair::new();
    pair.client
        .send(|c, out| c.send_ping(b"owed", out))
        .unwrap();
    pair.drive();
    assert!(pair.client.events().contains(&Ev::Pong(b"owed".to_vec())));
    // Now open a frame on the server and have a ping arrive meanwhile.
    pair.server
        .send(|c, out| c.send_frame_header(DataKind::Binary, 0, 10, true, out))
        .unwrap();
    pair.client
        .send(|c, out| c.send_ping(b"again", out))
        .unwrap();
    pair.drive();
    assert!(!pair.server.conn.wants_transmit());
    let mut out = [0u8; 256];
    assert_eq!(pair.server.conn.poll_transmit(&mut out), Ok(0));
    pair.server
        .send(|c, out| c.send_payload(&[9; 10], out))
        .unwrap();
    assert!(pair.server.conn.wants_transmit());
    pair.drive();
    let events = pair.client.take_events();
    assert_eq!(
        &events[events.len() - 2..],
        &[binary(&[9; 10]), Ev::Pong(b"again".to_vec())]
    );
}

#[test]
fn min_receive_buffer_is_enough_for_any_control_frame() {
    // A 125-byte masked ping is 131 bytes; the largest header is 14.
    assert_eq!(MIN_RECEIVE_BUFFER, 14 + 125);
    let mut server = Connection::server(Config::DEFAULT);
    let mut rx = util::Receiver::new(MIN_RECEIVE_BUFFER);
    let mut bytes = c2s(true, 0x9, &[7; 125]);
    bytes.extend(c2s(true, 0x2, &pattern(70000, 0)));
    rx.feed(&mut server, &bytes, &[1000]);
    assert_eq!(rx.error, None);
    assert_eq!(
        rx.events,
        [Ev::Ping(vec![7; 125]), binary(&pattern(70000, 0))]
    );
}

#[test]
fn client_masks_with_fresh_keys() {
    let mut c = client(Config::DEFAULT, 42);
    let mut keys = std::collections::HashSet::new();
    let mut out = [0u8; 64];
    for _ in 0..100 {
        let n = c.send_binary(b"abcd", &mut out).unwrap();
        assert_eq!(n, 10);
        assert_eq!(out[1], 0x84, "mask bit set");
        keys.insert([out[2], out[3], out[4], out[5]]);
    }
    assert!(keys.len() > 95, "masking keys repeat: {}", keys.len());
}
