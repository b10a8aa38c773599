//! The byte examples of RFC 6455 §5.7, decoded by the role that receives them (at every piece
//! size) and encoded by the role that sends them, byte for byte.

mod util;

use rand_core::RngCore;
use util::{client, Ev, Receiver};
use wsmachine::connection::Endpoint;
use wsmachine::{Config, Connection, DataKind, ProtocolError};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

const UNMASKED_HELLO: &[u8] = &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const MASKED_HELLO: &[u8] = &[
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
const FRAGMENTED_HELLO: &[u8] = &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
const UNMASKED_PING: &[u8] = &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const MASKED_PONG: &[u8] = &[
    0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

/// An RNG whose every key is the RFC's example key, so a client's output can be compared byte
/// for byte. Only for tests: real keys must be unpredictable (§10.3).
struct RfcKey;

impl RngCore for RfcKey {
    fn next_u32(&mut self) -> u32 {
        u32::from_ne_bytes(KEY)
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for (d, k) in dst.iter_mut().zip(KEY.iter().cycle()) {
            *d = *k;
        }
    }
}

fn binary_256() -> Vec<u8> {
    (0..256).map(|i| i as u8).collect()
}

fn binary_64k() -> Vec<u8> {
    (0..65536u32).map(|i| (i * 7 + (i >> 8)) as u8).collect()
}

fn with_header(header: &[u8], payload: &[u8]) -> Vec<u8> {
    [header, payload].concat()
}

/// Decodes `bytes` with `conn` at every piece size from 1 to `max_cut` (and whole), and checks
/// the events are `want` each time.
fn decode_all_ways<E: Endpoint>(
    mut make: impl FnMut() -> Connection<E>,
    bytes: &[u8],
    want: &[Ev],
    max_cut: usize,
) {
    for cut in (1..=max_cut.min(bytes.len())).chain([bytes.len()]) {
        let mut conn = make();
        let mut rx = Receiver::new(256);
        rx.feed(&mut conn, bytes, &[cut]);
        assert_eq!(rx.error, None, "cut {cut}");
        assert_eq!(rx.events, want, "cut {cut}");
        assert_eq!(rx.unconsumed(), &[] as &[u8], "cut {cut}");
        assert!(!rx.in_message());
    }
}

fn hello() -> Ev {
    Ev::Message(DataKind::Text, b"Hello".to_vec())
}

#[test]
fn client_decodes_the_unmasked_examples() {
    let make = || client(Config::DEFAULT, 0);
    decode_all_ways(make, UNMASKED_HELLO, &[hello()], 64);
    decode_all_ways(make, FRAGMENTED_HELLO, &[hello()], 64);
    decode_all_ways(make, UNMASKED_PING, &[Ev::Ping(b"Hello".to_vec())], 64);
    let b = binary_256();
    decode_all_ways(
        make,
        &with_header(&[0x82, 0x7E, 0x01, 0x00], &b),
        &[Ev::Message(DataKind::Binary, b.clone())],
        300,
    );
    let b = binary_64k();
    decode_all_ways(
        make,
        &with_header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00], &b),
        &[Ev::Message(DataKind::Binary, b.clone())],
        20,
    );
}

#[test]
fn server_decodes_the_masked_examples() {
    let make = || Connection::server(Config::DEFAULT);
    decode_all_ways(make, MASKED_HELLO, &[hello()], 64);
    decode_all_ways(make, MASKED_PONG, &[Ev::Pong(b"Hello".to_vec())], 64);
}

#[test]
fn the_examples_are_rejected_by_the_wrong_role() {
    // A server must not accept the unmasked frames, nor a client the masked ones (§5.1).
    let mut server = Connection::server(Config::DEFAULT);
    let mut rx = Receiver::new(256);
    rx.feed(&mut server, UNMASKED_HELLO, &[usize::MAX]);
    assert_eq!(rx.error, Some(ProtocolError::UnmaskedFrame.into()));
    let mut c = client(Config::DEFAULT, 0);
    let mut rx = Receiver::new(256);
    rx.feed(&mut c, MASKED_HELLO, &[usize::MAX]);
    assert_eq!(rx.error, Some(ProtocolError::MaskedFrame.into()));
}

#[test]
fn server_encodes_the_unmasked_examples_exactly() {
    let mut s = Connection::server(Config::DEFAULT);
    let mut out = vec![0u8; 70_000];

    let n = s.send_text("Hello", &mut out).unwrap();
    assert_eq!(&out[..n], UNMASKED_HELLO);

    let n1 = s
        .send_fragment(DataKind::Text, 0, b"Hel", false, &mut out)
        .unwrap();
    let n2 = s
        .send_fragment(DataKind::Text, 0, b"lo", true, &mut out[n1..])
        .unwrap();
    assert_eq!(&out[..n1 + n2], FRAGMENTED_HELLO);

    let n = s.send_ping(b"Hello", &mut out).unwrap();
    assert_eq!(&out[..n], UNMASKED_PING);

    let b = binary_256();
    let n = s.send_binary(&b, &mut out).unwrap();
    assert_eq!(&out[..n], &with_header(&[0x82, 0x7E, 0x01, 0x00], &b)[..]);

    let b = binary_64k();
    let n = s.send_binary(&b, &mut out).unwrap();
    assert_eq!(
        &out[..n],
        &with_header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00], &b)[..]
    );

    // The same frames, header first and payload after.
    let n = s
        .send_frame_header(DataKind::Binary, 0, 256, true, &mut out)
        .unwrap();
    assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]);
    let m = s.send_payload(&binary_256(), &mut out[n..]).unwrap();
    assert_eq!(&out[n..n + m], &binary_256()[..]);
}

#[test]
fn client_encodes_the_masked_examples_exactly_with_the_rfc_key() {
    let mut c = Connection::client(Config::DEFAULT, RfcKey);
    let mut out = [0u8; 64];
    let n = c.send_text("Hello", &mut out).unwrap();
    assert_eq!(&out[..n], MASKED_HELLO);
    let n = c.send_pong(b"Hello", &mut out).unwrap();
    assert_eq!(&out[..n], MASKED_PONG);
    // In pieces, masked in place.
    let n = c
        .send_frame_header(DataKind::Text, 0, 5, true, &mut out)
        .unwrap();
    assert_eq!(&out[..n], &MASKED_HELLO[..6]);
    let mut payload = *b"Hello";
    let (a, b) = payload.split_at_mut(2);
    c.mask_payload_in_place(a).unwrap();
    c.mask_payload_in_place(b).unwrap();
    assert_eq!(&payload, &MASKED_HELLO[6..]);
}

#[test]
fn encode_then_decode_the_examples_round_trip() {
    // What the RFC-key client writes, the server reads back as "Hello".
    let mut c = Connection::client(Config::DEFAULT, RfcKey);
    let mut out = [0u8; 64];
    let n = c.send_text("Hello", &mut out).unwrap();
    let mut server = Connection::server(Config::DEFAULT);
    let mut rx = Receiver::new(256);
    rx.feed(&mut server, &out[..n], &[1]);
    assert_eq!(rx.events, [hello()]);
}
