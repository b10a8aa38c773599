//! The extension seam (RFC 6455 §5.2, §9; RFC 7692 §6): a message's RSV bits travel with its
//! data, end to end, so an external codec can run over the connection. The codec here is a
//! trivial reversible one (each byte XOR 0xA5 under RSV1), which turns text into bytes that are
//! not UTF-8: the core must pass them through and leave the check to the decoder.

mod util;

use util::{c2s, client, frame, Receiver};
use wsmachine::connection::Endpoint;
use wsmachine::message::{Message, Reassembler, SliceStorage};
use wsmachine::utf8::Utf8Validator;
use wsmachine::wire::frame::{RSV1, RSV2};
use wsmachine::{
    CloseCode, Config, Connection, DataChunk, DataKind, Event, ProtocolError, ReceiveError,
    SendError,
};

const WITH_CODEC: Config = Config {
    allowed_rsv: RSV1,
    ..Config::DEFAULT
};

/// The codec: XOR 0xA5, its own inverse.
fn xor(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b ^ 0xA5).collect()
}

/// The decoding layer above the connection: undoes the codec on messages that carry RSV1 and
/// checks decoded text itself, chunk by chunk, as the connection does for plain text.
#[derive(Default)]
struct Decoder {
    utf8: Utf8Validator,
    message: Vec<u8>,
    messages: Vec<(DataKind, Vec<u8>)>,
}

impl Decoder {
    fn chunk(&mut self, chunk: DataChunk<'_>) -> Result<(), &'static str> {
        if chunk.first {
            self.utf8.reset();
            self.message.clear();
        }
        let decoded = if chunk.rsv & RSV1 != 0 {
            xor(chunk.payload)
        } else {
            chunk.payload.to_vec()
        };
        if chunk.kind == DataKind::Text && chunk.rsv != 0 {
            self.utf8
                .feed(&decoded)
                .map_err(|_| "decoded text is not UTF-8")?;
            if chunk.last {
                self.utf8
                    .finish()
                    .map_err(|_| "decoded text ends inside a character")?;
            }
        }
        self.message.extend_from_slice(&decoded);
        if chunk.last {
            self.messages
                .push((chunk.kind, std::mem::take(&mut self.message)));
        }
        Ok(())
    }
}

/// Feeds `wire` to `conn` in `cut`-byte pieces and decodes every chunk.
fn receive_all<E: Endpoint>(conn: &mut Connection<E>, wire: &[u8], cut: usize) -> Decoder {
    let mut decoder = Decoder::default();
    let mut rx = Vec::new();
    for piece in wire.chunks(cut.max(1)) {
        rx.extend_from_slice(piece);
        loop {
            let received = conn.receive(&mut rx).expect("a valid stream");
            let (consumed, event) = (received.consumed, received.event);
            if let Some(Event::Data(chunk)) = event {
                decoder.chunk(chunk).expect("decodes");
            }
            rx.drain(..consumed);
            if consumed == 0 {
                break;
            }
        }
    }
    decoder
}

#[test]
fn a_reversible_codec_runs_over_the_seam_in_every_send_form_and_both_directions() {
    let text = "héllo wörld, 你好 🌍";
    let binary: Vec<u8> = (0..=255).collect();
    let mut c = client(WITH_CODEC, 9);
    let mut s = Connection::server(WITH_CODEC);
    // Client to server: whole, fragmented (RSV1 on the first frame only), header-only, plain.
    let mut wire = Vec::new();
    let mut out = [0u8; 512];
    let n = c
        .send_message(DataKind::Text, RSV1, &xor(text.as_bytes()), &mut out)
        .unwrap();
    wire.extend_from_slice(&out[..n]);
    let encoded = xor(&binary);
    let (a, b) = encoded.split_at(100);
    let n = c
        .send_fragment(DataKind::Binary, RSV1, a, false, &mut out)
        .unwrap();
    assert_eq!(out[0] & 0x70, 0x40, "RSV1 on the first fragment");
    wire.extend_from_slice(&out[..n]);
    let n = c
        .send_fragment(DataKind::Binary, RSV1, b, true, &mut out)
        .unwrap();
    assert_eq!(out[0] & 0x70, 0, "continuation frames carry no RSV bit");
    wire.extend_from_slice(&out[..n]);
    let mut payload = xor(text.as_bytes());
    let n = c
        .send_frame_header(DataKind::Text, RSV1, payload.len() as u64, true, &mut out)
        .unwrap();
    wire.extend_from_slice(&out[..n]);
    c.mask_payload_in_place(&mut payload).unwrap();
    wire.extend_from_slice(&payload);
    let n = c.send_text("plain", &mut out).unwrap();
    wire.extend_from_slice(&out[..n]);
    for cut in [1, 3, 7, usize::MAX] {
        let mut server = s.clone();
        let decoder = receive_all(&mut server, &wire, cut);
        assert_eq!(
            decoder.messages,
            [
                (DataKind::Text, text.as_bytes().to_vec()),
                (DataKind::Binary, binary.clone()),
                (DataKind::Text, text.as_bytes().to_vec()),
                (DataKind::Text, b"plain".to_vec()),
            ],
            "cut {cut}"
        );
    }
    // Server to client.
    let n = s
        .send_message(DataKind::Text, RSV1, &xor(text.as_bytes()), &mut out)
        .unwrap();
    let decoder = receive_all(&mut c, &out[..n], 2);
    assert_eq!(
        decoder.messages,
        [(DataKind::Text, text.as_bytes().to_vec())]
    );
}

#[test]
fn the_reassembler_hands_encoded_messages_to_the_decoder() {
    let mut s = Connection::server(WITH_CODEC);
    let key = Some([1, 2, 3, 4]);
    let encoded = xor("ünïcödé".as_bytes());
    let mut wire = frame(false, 4, 0x1, key, &encoded[..5]);
    wire.extend(frame(true, 0, 0x0, key, &encoded[5..]));
    wire.extend(frame(true, 4, 0x2, key, &xor(b"bin")));
    let mut storage = [0u8; 64];
    let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
    let mut at = 0;
    let mut got = Vec::new();
    while at < wire.len() {
        let (consumed, message) = messages.receive(&mut s, &mut wire[at..]).unwrap();
        at += consumed;
        if let Some(Message::Encoded { kind, rsv, payload }) = message {
            assert_eq!(rsv, RSV1);
            got.push((kind, xor(payload)));
        }
    }
    assert_eq!(
        got,
        [
            (DataKind::Text, "ünïcödé".as_bytes().to_vec()),
            (DataKind::Binary, b"bin".to_vec())
        ]
    );
}

#[test]
fn rsv_bits_on_control_or_continuation_frames_fail_whatever_the_config_allows() {
    let key = Some([9, 9, 9, 9]);
    for bytes in [
        // A ping with RSV1.
        frame(true, 4, 0x9, key, b""),
        // A close with RSV1.
        frame(true, 4, 0x8, key, b"\x03\xe8"),
        // A continuation with RSV1.
        [
            frame(false, 4, 0x1, key, b"a"),
            frame(true, 4, 0x0, key, b"b"),
        ]
        .concat(),
        // RSV2, which no extension here defines, on a first frame.
        frame(true, RSV2, 0x2, key, b"x"),
    ] {
        let mut s = Connection::server(WITH_CODEC);
        let mut rx = Receiver::new(256);
        rx.feed(&mut s, &bytes, &[usize::MAX]);
        assert_eq!(
            rx.error,
            Some(ReceiveError::Protocol(ProtocolError::ReservedBits)),
            "{bytes:02x?}"
        );
        assert_eq!(
            rx.error.and_then(ReceiveError::close_code),
            Some(CloseCode::PROTOCOL_ERROR)
        );
    }
}

#[test]
fn text_under_an_rsv_bit_is_not_utf8_checked_by_the_core_but_plain_text_is() {
    let key = Some([5, 6, 7, 8]);
    let mut s = Connection::server(WITH_CODEC);
    let mut encoded = frame(true, 4, 0x1, key, b"\xff\xfe");
    let received = s
        .receive(&mut encoded)
        .expect("the extension's bytes pass through");
    let Some(Event::Data(chunk)) = received.event else {
        panic!("no chunk: {received:?}");
    };
    assert_eq!((chunk.rsv, chunk.payload), (RSV1, &b"\xff\xfe"[..]));
    let mut plain = c2s(true, 0x1, b"\xff\xfe");
    assert_eq!(
        s.receive(&mut plain),
        Err(ReceiveError::Protocol(ProtocolError::InvalidUtf8))
    );
}

#[test]
fn senders_may_only_set_the_rsv_bits_an_extension_defines() {
    let mut out = [0u8; 64];
    let mut plain = Connection::server(Config::DEFAULT);
    assert_eq!(
        plain.send_message(DataKind::Binary, RSV1, b"x", &mut out),
        Err(SendError::ReservedBits)
    );
    let mut s = Connection::server(WITH_CODEC);
    assert_eq!(
        s.send_message(DataKind::Binary, RSV2, b"x", &mut out),
        Err(SendError::ReservedBits)
    );
    assert_eq!(
        s.send_message(DataKind::Binary, 0x80, b"x", &mut out),
        Err(SendError::ReservedBits)
    );
    // A message's fragments keep the RSV bits it started with.
    s.send_fragment(DataKind::Binary, RSV1, b"a", false, &mut out)
        .unwrap();
    assert_eq!(
        s.send_fragment(DataKind::Binary, 0, b"b", true, &mut out),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        s.send_fragment(DataKind::Binary, RSV1, b"b", true, &mut out),
        Ok(3)
    );
}

#[test]
fn allow_rsv_after_the_handshake_lets_a_data_frame_carry_the_bit_and_nothing_else() {
    let key = Some([9, 9, 9, 9]);
    // Before: RSV1 on a data frame is a protocol error.
    let mut s = Connection::server(Config::DEFAULT);
    let mut rx = Receiver::new(256);
    rx.feed(&mut s, &frame(true, RSV1, 0x2, key, b"x"), &[usize::MAX]);
    assert_eq!(
        rx.error,
        Some(ReceiveError::Protocol(ProtocolError::ReservedBits))
    );

    // After `allow_rsv(RSV1)`: the data frame comes through with its bit, as with the config.
    let mut s = Connection::server(Config::DEFAULT);
    s.allow_rsv(RSV1 | 0xf0);
    assert_eq!(
        s.config().allowed_rsv,
        RSV1,
        "only the three RSV bits are kept"
    );
    let mut input = frame(true, RSV1, 0x2, key, b"x");
    let received = s.receive(&mut input).expect("allowed");
    match received.event {
        Some(Event::Data(chunk)) => assert_eq!((chunk.rsv, chunk.payload), (RSV1, &b"x"[..])),
        other => panic!("{other:?}"),
    }
    // A ping with RSV1 still fails.
    let mut rx = Receiver::new(256);
    rx.feed(&mut s, &frame(true, RSV1, 0x9, key, b""), &[usize::MAX]);
    assert_eq!(
        rx.error,
        Some(ReceiveError::Protocol(ProtocolError::ReservedBits))
    );
}
