//! The logic of the permessage-deflate fuzz targets (RFC 7692), free of libFuzzer:
//! `deflate_inflate` drives a server connection with deflate negotiated through a
//! [`Receiver`], `deflate_negotiate` the offer grammar and the choice. `tests/deflate_fuzz.rs`
//! includes this file to replay inputs through the same code. Every invariant is an `assert!`.

use wsmachine::extensions::deflate::{
    accept_offer, Agreed, ClientMaxWindowBits, ClientOffer, Compressor, DeflateConfig,
    DeflateParams, InflateError, Receiver,
};
use wsmachine::handshake::server::{parse_request, Accept, ServerOptions};
use wsmachine::handshake::{Extensions, Status};
use wsmachine::httparse;
use wsmachine::{Config, Connection, DataKind, Event, Role, State};

/// The receive buffer the driver keeps unconsumed bytes in, like a real caller.
pub const RX_CAP: usize = 1024;

/// What [`inflate`] received: the whole messages, and the error that ended it.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Each message's kind and decompressed bytes.
    pub messages: Vec<(DataKind, Vec<u8>)>,
    /// The error the receiver returned, if any.
    pub error: Option<InflateError>,
}

/// The message size limits the flags choose from.
const LIMITS: [u64; 4] = [64, 1024, 65_536, 1 << 20];

/// Turns the fuzz input into the bytes a client sends: frames described by a control byte
/// each (opcode, FIN, RSV1, compress with a real compressor, long payload, raw bytes).
fn client_stream(agreed: &Agreed, mut data: &[u8]) -> Vec<u8> {
    let mut compressor = Compressor::new(agreed, 6);
    let mut out = vec![0u8; 1 << 16];
    let mut wire = Vec::new();
    let take = |data: &mut &[u8], n: usize| {
        let n = n.min(data.len());
        let (head, rest) = data.split_at(n);
        *data = rest;
        head.to_vec()
    };
    while let Some((&control, rest)) = data.split_first() {
        data = rest;
        let len_byte = take(&mut data, 1).first().copied().unwrap_or(0);
        let len = usize::from(len_byte) * if control & 0x40 != 0 { 16 } else { 1 };
        if control & 0x80 != 0 {
            // Raw bytes, as they are: malformed frames and anything else.
            wire.extend(take(&mut data, len));
            continue;
        }
        let opcode = [0u8, 1, 2, 0, 9, 10, 8, 1][usize::from(control & 7)];
        let fin = control & 0x08 != 0 || opcode >= 8;
        let rsv1 = control & 0x10 != 0;
        let mut payload = take(&mut data, len);
        if control & 0x20 != 0 && opcode < 8 {
            // A real compressed piece: the message's next fragment.
            if let Ok(c) = compressor.compress(&payload, fin, &mut out) {
                payload = out.get(..c.written).unwrap_or_default().to_vec();
            }
        }
        let key = [control, len_byte, 0x5a, 0xa5];
        let mut head = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode, 0x80];
        match payload.len() {
            n @ 0..=125 => head[1] |= n as u8,
            n @ 126..=0xffff => {
                head[1] |= 126;
                head.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                head[1] |= 127;
                head.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        head.extend_from_slice(&key);
        wire.extend(head);
        wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    }
    wire
}

/// A server connection with permessage-deflate negotiated, fed frames built from `data`
/// through a [`Receiver`] in pieces. No panic; a call never changes the input past what it
/// consumed and what it still holds as pending; decompressed chunks fit the window; no
/// message passes the limit; text is a valid UTF-8 prefix at every chunk and valid at its end;
/// an error leaves the connection failed with the error's code owed; the loop makes progress.
/// Returns what came out, for the tests that replay it.
pub fn inflate(data: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    let Some((&flags, rest)) = data.split_first() else {
        return outcome;
    };
    let Some((&cut_seed, rest)) = rest.split_first() else {
        return outcome;
    };
    let bits = 8 + (flags & 7);
    let limit = LIMITS[usize::from(flags >> 4) & 3];
    let params = DeflateParams {
        client_no_context_takeover: flags & 0x08 != 0,
        client_max_window_bits: ClientMaxWindowBits::Bits(bits),
        ..DeflateParams::default()
    };
    let on_server = Agreed::new(params, Role::Server);
    let on_client = Agreed::new(params, Role::Client);
    let wire = client_stream(&on_client, rest);
    let config = Config {
        max_message_size: limit,
        max_frame_size: limit,
        ..on_server.connection_config(Config::DEFAULT)
    };
    let mut conn = Connection::server(config);
    let mut window = vec![0u8; 1 << bits];
    let window_len = window.len();
    let Ok(mut receiver) = Receiver::new(&mut window, &on_server, limit) else {
        panic!("a window of 1 << bits is enough");
    };
    let mut rx = [0u8; RX_CAP];
    let mut filled = 0;
    let mut at = 0;
    let mut message: Option<(DataKind, Vec<u8>)> = None;
    let mut steps = 0u64;
    let mut peer_closed = false;
    let mut cut = u64::from(cut_seed) | 1;
    loop {
        // Move the next piece in: 1..=RX_CAP bytes, as much as fits.
        cut = cut.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let want = 1 + (cut >> 33) as usize % if flags & 0x40 != 0 { 7 } else { RX_CAP };
        let n = want.min(RX_CAP - filled).min(wire.len() - at);
        rx[filled..filled + n].copy_from_slice(&wire[at..at + n]);
        filled += n;
        at += n;
        loop {
            steps += 1;
            assert!(steps < 50_000_000, "no progress");
            let before = rx;
            let result = receiver.receive(&mut conn, &mut rx[..filled]);
            let received = match result {
                Ok(received) => received,
                Err(e) => {
                    failed(&mut conn, e, peer_closed);
                    outcome.error = Some(e);
                    return outcome;
                }
            };
            let consumed = received.consumed;
            assert!(consumed <= filled);
            let event = received.event.is_some();
            peer_closed |= matches!(received.event, Some(Event::Close(_)));
            if let Some(Event::Data(chunk)) = received.event {
                assert!(chunk.payload.len() <= window_len.max(RX_CAP));
                assert_eq!(chunk.rsv, 0, "RSV1 messages come out decoded");
                let (kind, bytes) = message.get_or_insert_with(|| (chunk.kind, Vec::new()));
                assert_eq!(chunk.first, bytes.is_empty() && chunk.first);
                assert_eq!(*kind, chunk.kind);
                bytes.extend_from_slice(chunk.payload);
                assert!(bytes.len() as u64 <= limit, "the limit holds");
                if *kind == DataKind::Text {
                    if let Err(e) = core::str::from_utf8(bytes) {
                        assert!(e.error_len().is_none() && !chunk.last, "text stays UTF-8");
                    }
                }
                if chunk.last {
                    outcome.messages.extend(message.take());
                }
            }
            // Nothing past what was consumed and what is pending changed.
            let kept = consumed + receiver.pending();
            assert!(kept <= filled);
            assert_eq!(
                rx[kept..filled],
                before[kept..filled],
                "unconsumed bytes untouched"
            );
            rx.copy_within(consumed..filled, 0);
            filled -= consumed;
            if consumed == 0 && !event {
                break;
            }
        }
        if at == wire.len() && (n == 0 || filled == RX_CAP) {
            return outcome;
        }
        if filled == RX_CAP {
            // A frame header or control frame never needs this much: the receiver is stuck.
            panic!("a full buffer made no progress");
        }
    }
}

/// After an error: the connection failed and owes a close with the code the error names
/// (unless the peer's close came first: then the echo of it stays owed).
fn failed(conn: &mut Connection<wsmachine::Server>, e: InflateError, peer_closed: bool) {
    let Some(code) = e.close_code() else {
        return;
    };
    assert_ne!(conn.state(), State::Open, "{e}: the connection failed");
    let mut tx = [0u8; 512];
    let n = conn
        .poll_transmit(&mut tx)
        .expect("512 bytes hold any owed frames");
    // Owed frames from a server: unmasked, at most 125 bytes of payload: a pong, then the close.
    let mut frames = &tx[..n];
    let mut close = None;
    while let [b0, len, rest @ ..] = frames {
        let len = usize::from(*len & 0x7f);
        if b0 & 0x0f == 0x8 && len >= 2 {
            close = Some(u16::from_be_bytes([rest[0], rest[1]]));
        }
        frames = rest.get(len..).unwrap_or_default();
    }
    if !peer_closed {
        assert_eq!(close, Some(code.0), "{e}: the close owed carries its code");
    }
}

/// The request head around `lines`, each a `Sec-WebSocket-Extensions` line.
fn request(lines: &[&[u8]]) -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        .to_vec();
    for line in lines {
        head.extend_from_slice(b"Sec-WebSocket-Extensions: ");
        head.extend_from_slice(line);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The offer grammar and the server's choice on arbitrary lines, and the client's check of
/// arbitrary answers. The chosen answer re-parses to the same parameters, `accept` writes it,
/// the client that made the chosen offer accepts it, and each side's inflater is large enough
/// for what the other sends.
pub fn negotiate(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let config = DeflateConfig {
        receive_window_bits: 8 + (flags & 7),
        send_window_bits: 8 + ((flags >> 3) & 7),
        peer_no_context_takeover: flags & 0x40 != 0,
        no_context_takeover: flags & 0x80 != 0,
    };
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    // The iterator on raw lines, grammar or not: no panic.
    let raw = accept_offer(&config, Extensions::new(lines.iter().copied()));
    let client = ClientOffer::new(&config);
    if let Ok(Some(agreed)) = client.accept(Extensions::new(lines.iter().copied())) {
        assert!(agreed.receive().window_bits <= config.receive_window_bits);
        assert!(agreed.send().window_bits <= config.send_window_bits.max(8));
        assert!(agreed.params().is_valid());
    }
    let head = request(&lines);
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let Ok(Status::Complete((req, _))) =
        parse_request(&head, &mut headers, &ServerOptions::default())
    else {
        return;
    };
    let agreed = accept_offer(&config, req.extensions());
    assert_eq!(
        agreed, raw,
        "the same offers, whether read from the request or the lines"
    );
    let Some(agreed) = agreed else {
        return;
    };
    assert!(agreed.receive().window_bits <= config.receive_window_bits);
    let answer = agreed.header().expect("a chosen answer is valid");
    let reparsed = Extensions::new(core::iter::once(answer.as_str().as_bytes()))
        .next()
        .map(|e| DeflateParams::parse(&e));
    assert_eq!(reparsed, Some(Ok(*agreed.params())), "{answer:?}");
    let accept = Accept {
        extensions: Some(answer.as_str()),
        ..Accept::default()
    };
    let mut out = [0u8; 1024];
    assert!(req.accept(&accept, &mut out).is_ok(), "{answer:?}");
    // The offer it answers: the first acceptable one.
    let chosen = req
        .extensions()
        .filter_map(|e| DeflateParams::parse(&e).ok())
        .find(|p| {
            let h = p.header().expect("parsed parameters are valid");
            accept_offer(
                &config,
                Extensions::new(core::iter::once(h.as_str().as_bytes())),
            )
            .is_some()
        })
        .expect("some offer was chosen");
    let client = ClientOffer::from_params(chosen);
    let Ok(Some(on_client)) = client.accept(Extensions::new(core::iter::once(
        answer.as_str().as_bytes(),
    ))) else {
        panic!("the client of {chosen:?} refuses {answer:?}");
    };
    assert!(on_client.send().window_bits <= agreed.receive().window_bits);
    assert_eq!(on_client.receive().window_bits, agreed.send().window_bits);
    assert_eq!(
        on_client.receive().no_context_takeover,
        agreed.send().no_context_takeover
    );
}
