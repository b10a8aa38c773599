//! Properties: (1) any frame sequence cut into any pieces, down to one byte, gives the events
//! of a model of the sequence and of feeding it whole; (2) what one role's `send_*` API encodes,
//! the other role decodes back, for every opcode, length class and masking path.

mod util;

use proptest::prelude::*;
use util::{client, drain_transmit, frame, pattern, text_of_len, Ev, Receiver};
use wsmachine::connection::Endpoint;
use wsmachine::{CloseCode, Config, Connection, DataKind, SendError};

#[derive(Debug, Clone)]
enum Ctrl {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Frag {
    len: usize,
    /// Control frames sent right after this fragment (between fragments when not the last).
    controls_after: Vec<Ctrl>,
    /// Round trip only: send as a header then the payload in pieces of these sizes.
    via_header: bool,
    pieces: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Msg {
    text: bool,
    frags: Vec<Frag>,
    /// Round trip only: send a one-fragment message with `send_message`.
    whole: bool,
    salt: u8,
}

#[derive(Debug, Clone)]
enum Item {
    Msg(Msg),
    Ctrl(Ctrl),
}

#[derive(Debug, Clone)]
struct Script {
    items: Vec<Item>,
    close: Option<(u16, String)>,
}

impl Msg {
    fn kind(&self) -> DataKind {
        if self.text {
            DataKind::Text
        } else {
            DataKind::Binary
        }
    }

    /// The whole payload; a text one splits characters at fragment boundaries.
    fn payload(&self) -> Vec<u8> {
        let total = self.frags.iter().map(|f| f.len).sum();
        if self.text {
            text_of_len(total).into_bytes()
        } else {
            pattern(total, self.salt)
        }
    }

    fn fragments(&self) -> Vec<(Vec<u8>, &Frag)> {
        let payload = self.payload();
        let mut at = 0;
        self.frags
            .iter()
            .map(|f| {
                let piece = payload[at..at + f.len].to_vec();
                at += f.len;
                (piece, f)
            })
            .collect()
    }
}

fn ctrl_event(c: &Ctrl) -> Ev {
    match c {
        Ctrl::Ping(p) => Ev::Ping(p.clone()),
        Ctrl::Pong(p) => Ev::Pong(p.clone()),
    }
}

impl Script {
    /// What a receiver must report, computed from the script alone.
    fn model(&self) -> Vec<Ev> {
        let mut out = Vec::new();
        for item in &self.items {
            match item {
                Item::Ctrl(c) => out.push(ctrl_event(c)),
                Item::Msg(m) => {
                    let last = m.frags.len() - 1;
                    for (i, f) in m.frags.iter().enumerate() {
                        if i == last {
                            out.push(Ev::Message(m.kind(), m.payload()));
                        }
                        out.extend(f.controls_after.iter().map(ctrl_event));
                    }
                }
            }
        }
        if let Some((code, reason)) = &self.close {
            out.push(Ev::Close(*code, reason.clone()));
        }
        out
    }

    /// The wire bytes, by the test's own encoder, masked when `masked`.
    fn encode_raw(&self, masked: bool) -> Vec<u8> {
        let mut n = 0u8;
        let mut key = || {
            n = n.wrapping_add(1);
            masked.then_some([
                n,
                n.wrapping_mul(7),
                0x5a ^ n,
                if n.is_multiple_of(5) { 0 } else { !n },
            ])
        };
        let mut out = Vec::new();
        let ctrl = |out: &mut Vec<u8>, c: &Ctrl, key: Option<[u8; 4]>| match c {
            Ctrl::Ping(p) => out.extend(frame(true, 0, 0x9, key, p)),
            Ctrl::Pong(p) => out.extend(frame(true, 0, 0xA, key, p)),
        };
        for item in &self.items {
            match item {
                Item::Ctrl(c) => ctrl(&mut out, c, key()),
                Item::Msg(m) => {
                    let frags = m.fragments();
                    let last = frags.len() - 1;
                    for (i, (bytes, f)) in frags.iter().enumerate() {
                        let opcode = match (i, m.text) {
                            (0, true) => 0x1,
                            (0, false) => 0x2,
                            _ => 0x0,
                        };
                        out.extend(frame(i == last, 0, opcode, key(), bytes));
                        for c in &f.controls_after {
                            ctrl(&mut out, c, key());
                        }
                    }
                }
            }
        }
        if let Some((code, reason)) = &self.close {
            let payload = if *code == 1005 {
                Vec::new()
            } else {
                [&code.to_be_bytes()[..], reason.as_bytes()].concat()
            };
            out.extend(frame(true, 0, 0x8, key(), &payload));
        }
        out
    }

    /// The wire bytes, written by `conn` through the `send_*` API.
    fn encode_api<E: Endpoint>(&self, conn: &mut Connection<E>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 17];
        let ctrl = |conn: &mut Connection<E>, out: &mut Vec<u8>, buf: &mut [u8], c: &Ctrl| {
            let n = match c {
                Ctrl::Ping(p) => conn.send_ping(p, buf),
                Ctrl::Pong(p) => conn.send_pong(p, buf),
            }
            .unwrap();
            out.extend_from_slice(&buf[..n]);
        };
        for item in &self.items {
            match item {
                Item::Ctrl(c) => ctrl(conn, &mut out, &mut buf, c),
                Item::Msg(m) if m.whole && m.frags.len() == 1 => {
                    let n = if m.text {
                        let text = String::from_utf8(m.payload()).unwrap();
                        conn.send_text(&text, &mut buf)
                    } else {
                        conn.send_binary(&m.payload(), &mut buf)
                    }
                    .unwrap();
                    out.extend_from_slice(&buf[..n]);
                    for c in &m.frags[0].controls_after {
                        ctrl(conn, &mut out, &mut buf, c);
                    }
                }
                Item::Msg(m) => {
                    let frags = m.fragments();
                    let last = frags.len() - 1;
                    for (i, (bytes, f)) in frags.iter().enumerate() {
                        let fin = i == last;
                        if f.via_header {
                            write_in_pieces(conn, m.kind(), bytes, fin, &f.pieces, &mut out);
                        } else {
                            let n = conn
                                .send_fragment(m.kind(), 0, bytes, fin, &mut buf)
                                .unwrap();
                            out.extend_from_slice(&buf[..n]);
                        }
                        for c in &f.controls_after {
                            ctrl(conn, &mut out, &mut buf, c);
                        }
                    }
                }
            }
        }
        if let Some((code, reason)) = &self.close {
            let n = conn.send_close(CloseCode(*code), reason, &mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        out
    }
}

/// A frame as a header, then its payload in pieces: copied with `send_payload` on even
/// pieces, masked in place on odd ones.
fn write_in_pieces<E: Endpoint>(
    conn: &mut Connection<E>,
    kind: DataKind,
    bytes: &[u8],
    fin: bool,
    pieces: &[usize],
    out: &mut Vec<u8>,
) {
    let mut header = [0u8; 14];
    let n = conn
        .send_frame_header(kind, 0, bytes.len() as u64, fin, &mut header)
        .unwrap();
    out.extend_from_slice(&header[..n]);
    let mut rest = bytes;
    let mut sizes = pieces.iter().copied().cycle();
    let mut i = 0;
    while !rest.is_empty() {
        let take = sizes.next().unwrap_or(1).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(take);
        if i % 2 == 0 {
            let mut dst = vec![0u8; take];
            assert_eq!(conn.send_payload(piece, &mut dst), Ok(take));
            out.extend(dst);
        } else {
            let mut owned = piece.to_vec();
            conn.mask_payload_in_place(&mut owned).unwrap();
            out.extend(owned);
        }
        rest = tail;
        i += 1;
    }
    let mut probe = [0u8; 16];
    assert_eq!(
        conn.send_payload(b"x", &mut probe),
        Err(SendError::PayloadLengthMismatch),
        "frame must be complete"
    );
}

fn payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => 0usize..48,
        4 => 48usize..600,
        2 => prop::sample::select(vec![0usize, 1, 125, 126, 127, 1000]),
        1 => prop::sample::select(vec![65535usize, 65536, 70001]),
    ]
}

fn ctrl() -> impl Strategy<Value = Ctrl> {
    let payload = prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..8),
        1 => prop::collection::vec(any::<u8>(), 125..=125),
    ];
    (any::<bool>(), payload).prop_map(|(ping, p)| if ping { Ctrl::Ping(p) } else { Ctrl::Pong(p) })
}

fn frag() -> impl Strategy<Value = Frag> {
    (
        payload_len(),
        prop_oneof![3 => Just(0usize), 1 => 1usize..3],
        prop::collection::vec(ctrl(), 2),
        any::<bool>(),
        prop::collection::vec(1usize..200, 1..4),
    )
        .prop_map(|(len, n, controls, via_header, pieces)| Frag {
            len,
            controls_after: controls.into_iter().take(n).collect(),
            via_header,
            pieces,
        })
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        any::<bool>(),
        prop::collection::vec(frag(), 1..4),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(|(text, frags, whole, salt)| Msg {
            text,
            frags,
            whole,
            salt,
        })
}

fn script() -> impl Strategy<Value = Script> {
    let item = prop_oneof![3 => msg().prop_map(Item::Msg), 1 => ctrl().prop_map(Item::Ctrl)];
    let close = prop_oneof![
        1 => Just(None),
        1 => (
            prop::sample::select(vec![1000u16, 1001, 1003, 1007, 1011, 3000, 4999, 1005]),
            "[a-z\u{e9}\u{20ac}\u{1f600}]{0,12}",
        )
            .prop_map(|(code, reason)| Some((code, if code == 1005 { String::new() } else { reason }))),
    ];
    (prop::collection::vec(item, 0..6), close).prop_map(|(items, close)| Script { items, close })
}

/// Piece sizes: tiny, small or large, cycled.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        prop::collection::vec(1usize..4, 1..6),
        prop::collection::vec(1usize..80, 1..6),
        prop::collection::vec(1usize..5000, 1..6),
    ]
}

/// Feeds `bytes` into a fresh connection from `make` and returns what it received.
fn run<E: Endpoint>(
    mut conn: Connection<E>,
    bytes: &[u8],
    cuts: &[usize],
    rx_cap: usize,
) -> (Vec<Ev>, Vec<u8>, bool) {
    let mut rx = Receiver::new(rx_cap);
    rx.feed(&mut conn, bytes, cuts);
    assert_eq!(rx.error, None, "events so far {:?}", rx.events);
    assert!(
        rx.unconsumed().is_empty(),
        "left over: {:?}",
        rx.unconsumed()
    );
    assert_eq!(rx.dropped, 0);
    let owed = drain_transmit(&mut conn);
    (rx.events, owed, conn.is_open())
}

/// The close reply the receiver owes after a close with `code`, if the script closes.
fn check_close_reply(script: &Script, owed: &[u8], open: bool, masked_reply: bool) {
    match &script.close {
        None => assert!(open),
        Some((code, _)) => {
            assert!(!open);
            // The echo is the last frame owed (a pong may precede it).
            let len = if *code == 1005 { 0 } else { 2 };
            let frame_len = 2 + len + if masked_reply { 4 } else { 0 };
            assert!(owed.len() >= frame_len);
            let reply = &owed[owed.len() - frame_len..];
            assert_eq!(reply[0], 0x88);
            assert_eq!(usize::from(reply[1] & 0x7f), len);
            if len == 2 {
                let k = if masked_reply {
                    [reply[2], reply[3]]
                } else {
                    [0, 0]
                };
                let p = &reply[frame_len - 2..];
                assert_eq!(u16::from_be_bytes([p[0] ^ k[0], p[1] ^ k[1]]), *code);
            }
        }
    }
}

const RX_CAPS: [usize; 3] = [139, 256, 1024];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_chunking_gives_the_model_events(
        script in script(),
        cuts in cuts(),
        cap in prop::sample::select(RX_CAPS.to_vec()),
        seed in any::<u64>(),
    ) {
        let model = script.model();
        // Client to server: masked.
        let bytes = script.encode_raw(true);
        let whole = run(Connection::server(Config::DEFAULT), &bytes, &[usize::MAX], 1 << 20);
        let chunked = run(Connection::server(Config::DEFAULT), &bytes, &cuts, cap);
        prop_assert_eq!(&whole.0, &model);
        prop_assert_eq!(&chunked, &whole);
        check_close_reply(&script, &chunked.1, chunked.2, false);
        // Server to client: unmasked.
        let bytes = script.encode_raw(false);
        let whole = run(client(Config::DEFAULT, seed), &bytes, &[usize::MAX], 1 << 20);
        let chunked = run(client(Config::DEFAULT, seed), &bytes, &cuts, cap);
        prop_assert_eq!(&whole.0, &model);
        prop_assert_eq!(&chunked, &whole);
        check_close_reply(&script, &chunked.1, chunked.2, true);
    }

    #[test]
    fn send_api_round_trips_through_the_other_role(
        script in script(),
        cuts in cuts(),
        cap in prop::sample::select(RX_CAPS.to_vec()),
        seed in any::<u64>(),
    ) {
        let model = script.model();
        let mut c = client(Config::DEFAULT, seed);
        let bytes = script.encode_api(&mut c);
        let (events, owed, open) = run(Connection::server(Config::DEFAULT), &bytes, &cuts, cap);
        prop_assert_eq!(&events, &model);
        check_close_reply(&script, &owed, open, false);

        let mut s = Connection::server(Config::DEFAULT);
        let bytes = script.encode_api(&mut s);
        // A server never masks: its bytes are the test encoder's unmasked bytes exactly.
        prop_assert_eq!(&bytes, &script.encode_raw(false));
        let (events, owed, open) = run(client(Config::DEFAULT, seed), &bytes, &cuts, cap);
        prop_assert_eq!(&events, &model);
        check_close_reply(&script, &owed, open, true);
    }
}
