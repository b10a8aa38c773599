//! No sequence of public calls strands a connection (RFC 6455 §7.1): random call sequences,
//! hostile input included, then an application that keeps calling `receive`, `send_*` or
//! `handle_timeout` always reaches `State::Closed`, and nothing it owes is lost on the way.

mod util;

use std::num::NonZeroU32;

use proptest::prelude::*;
use util::{client, frame};
use wsmachine::connection::{Endpoint, MIN_RECEIVE_BUFFER};
use wsmachine::wire::frame::RSV1;
use wsmachine::{
    CloseCode, CloseFrame, Config, Connection, DataKind, FrameHeader, Opcode, Role, SendError,
    State, Status,
};

/// One public call, with its arguments.
#[derive(Debug, Clone)]
enum Call {
    /// Bytes from the peer: one frame, valid or not.
    Receive(PeerFrame),
    SendText(usize),
    SendFragment(bool),
    /// A frame header then its payload in two pieces, the second possibly never sent.
    SendStreamed(bool),
    SendPing,
    SendClose(u16),
    Fail(u16),
    PollTransmit,
    /// `handle_timeout` after this many milliseconds.
    Wait(u64),
    /// Any send, into a buffer this small.
    SendTiny(usize),
}

/// A frame the peer might send; masked as the peer's role requires unless `wrong_mask`.
#[derive(Debug, Clone)]
struct PeerFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: Vec<u8>,
    wrong_mask: bool,
}

fn peer_frame() -> impl Strategy<Value = PeerFrame> {
    let opcode = prop_oneof![
        4 => Just(0x1u8),
        4 => Just(0x2u8),
        3 => Just(0x0u8),
        4 => Just(0x9u8),
        2 => Just(0xAu8),
        2 => Just(0x8u8),
        1 => 0u8..16,
    ];
    let payload = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40),
        2 => Just(b"\x03\xe8bye".to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 120..130),
    ];
    (
        any::<bool>(),
        prop_oneof![6 => Just(0u8), 1 => Just(RSV1), 1 => 0u8..8],
        opcode,
        payload,
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(fin, rsv, opcode, payload, wrong_mask)| PeerFrame {
            fin: fin || opcode >= 8,
            rsv,
            opcode,
            payload,
            wrong_mask,
        })
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        8 => peer_frame().prop_map(Call::Receive),
        2 => (0usize..200).prop_map(Call::SendText),
        2 => any::<bool>().prop_map(Call::SendFragment),
        1 => any::<bool>().prop_map(Call::SendStreamed),
        1 => Just(Call::SendPing),
        1 => prop_oneof![Just(1000u16), Just(1001), Just(1005), Just(4000)].prop_map(Call::SendClose),
        1 => prop_oneof![Just(1002u16), Just(1008), Just(1006)].prop_map(Call::Fail),
        2 => Just(Call::PollTransmit),
        3 => (0u64..400).prop_map(Call::Wait),
        1 => (0usize..12).prop_map(Call::SendTiny),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(auto_pong, keepalive, rsv)| Config {
        auto_pong,
        allowed_rsv: if rsv { RSV1 } else { 0 },
        keepalive_interval: keepalive.then(|| NonZeroU32::new(150)).flatten(),
        keepalive_timeout: 200,
        close_timeout: NonZeroU32::new(500),
        max_message_size: 2000,
        ..Config::DEFAULT
    })
}

/// An application around one connection: a receive buffer, the clock, and every byte the
/// connection wrote, checked frame by frame.
struct App<E: Endpoint> {
    conn: Connection<E>,
    rx: Vec<u8>,
    now: u64,
    /// A frame's payload is being written in pieces: how many bytes remain.
    streaming: usize,
    /// Our close frame has been written.
    close_written: bool,
    /// A fragmented message of ours is open.
    fragmenting: bool,
}

impl<E: Endpoint> App<E> {
    fn new(conn: Connection<E>) -> Self {
        Self {
            conn,
            rx: Vec::new(),
            now: 0,
            streaming: 0,
            close_written: false,
            fragmenting: false,
        }
    }

    /// Every frame the connection wrote: well-formed, masked iff client, nothing after our close.
    /// The last frame may be a header whose payload follows later.
    fn wrote(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            assert!(!self.close_written, "a frame after our close: {bytes:02x?}");
            let (header, len) = match FrameHeader::parse(bytes) {
                Ok(Status::Complete(parsed)) => parsed,
                other => panic!("output does not parse: {other:?} in {bytes:02x?}"),
            };
            assert_eq!(header.mask.is_some(), E::ROLE == Role::Client);
            let end = len + header.payload_len as usize;
            if end > bytes.len() {
                assert!(!header.opcode.is_control(), "only a streamed frame is cut");
                return;
            }
            if header.opcode == Opcode::Close {
                let mut payload = bytes[len..end].to_vec();
                if let Some(key) = header.mask {
                    wsmachine::wire::mask::apply_mask(key, 0, &mut payload);
                }
                let close = CloseFrame::parse(&payload).expect("our close parses");
                assert!(close.code.0 == 1005 || close.code.is_allowed_on_wire());
                self.close_written = true;
            }
            bytes = &bytes[end..];
        }
    }

    /// The outcome of a send: written bytes are checked; `Closing` carries the owed close.
    fn sent(&mut self, out: &[u8], result: Result<usize, SendError>) -> Result<usize, SendError> {
        match result {
            Ok(n) => self.wrote(&out[..n]),
            Err(SendError::Closing { written }) => {
                assert!(written > 0);
                self.wrote(&out[..written]);
                assert!(self.close_written, "Closing wrote no close");
            }
            Err(_) => {}
        }
        result
    }

    fn receive(&mut self, bytes: &[u8]) {
        self.rx.extend_from_slice(bytes);
        for _ in 0..64 {
            let mut input = std::mem::take(&mut self.rx);
            let result = self.conn.receive(&mut input);
            let consumed = match result {
                Ok(r) => {
                    let progress = r.consumed > 0 || r.event.is_some();
                    let consumed = r.consumed;
                    input.drain(..consumed);
                    self.rx = input;
                    if !progress {
                        return;
                    }
                    consumed
                }
                Err(_) => {
                    // A refused input stays refused: the application drops it.
                    return;
                }
            };
            let _ = consumed;
        }
    }

    fn check_invariants(&self, label: &str) {
        let state = self.conn.state();
        if state == State::Closing {
            assert!(
                self.conn.poll_timeout().is_some(),
                "{label}: closing with no timer running"
            );
        }
        if state == State::Closed {
            assert!(!self.conn.wants_transmit(), "{label}: closed but owes");
            assert!(
                self.conn.poll_timeout().is_none(),
                "{label}: closed with a timer"
            );
            assert!(self.conn.close_outcome().is_some());
        } else {
            assert!(self.conn.close_outcome().is_none());
        }
    }

    fn apply(&mut self, call: &Call, peer_key: Option<[u8; 4]>) {
        let mut out = vec![0u8; 512];
        match call {
            Call::Receive(f) => {
                let key = if f.wrong_mask {
                    match peer_key {
                        Some(_) => None,
                        None => Some([1, 2, 3, 4]),
                    }
                } else {
                    peer_key
                };
                let bytes = frame(f.fin, f.rsv, f.opcode, key, &f.payload);
                self.receive(&bytes);
            }
            Call::SendText(len) => {
                let text = "é".repeat(*len / 2);
                let r = self.conn.send_text(&text, &mut out);
                let _ = self.sent(&out, r);
            }
            Call::SendFragment(fin) => {
                let r = self
                    .conn
                    .send_fragment(DataKind::Binary, 0, b"frag", *fin, &mut out);
                if self.sent(&out, r).is_ok() {
                    self.fragmenting = !fin;
                }
            }
            Call::SendStreamed(finish) => {
                if self.streaming > 0 {
                    let piece = vec![7u8; self.streaming];
                    let r = self.conn.send_payload(&piece, &mut out);
                    if r.is_ok() {
                        self.streaming = 0;
                    }
                    return;
                }
                let r = self
                    .conn
                    .send_frame_header(DataKind::Binary, 0, 20, true, &mut out);
                if self.sent(&out, r).is_ok() {
                    let r = self.conn.send_payload(&[7u8; 10], &mut out);
                    assert_eq!(r, Ok(10));
                    self.streaming = 10;
                    if *finish {
                        assert_eq!(self.conn.send_payload(&[7u8; 10], &mut out), Ok(10));
                        self.streaming = 0;
                    }
                }
            }
            Call::SendPing => {
                let r = self.conn.send_ping(b"app", &mut out);
                let _ = self.sent(&out, r);
            }
            Call::SendClose(code) => {
                let r = self.conn.send_close(CloseCode(*code), "", &mut out);
                let _ = self.sent(&out, r);
            }
            Call::Fail(code) => {
                let r = self.conn.fail(CloseCode(*code));
                assert_eq!(r.is_ok(), CloseCode(*code).is_allowed_on_wire());
            }
            Call::PollTransmit => {
                let wants = self.conn.wants_transmit();
                let n = self
                    .conn
                    .poll_transmit(&mut out)
                    .expect("a full-size buffer");
                assert_eq!(wants, n > 0, "wants_transmit disagrees with poll_transmit");
                assert!(n <= MIN_RECEIVE_BUFFER);
                self.wrote(&out[..n]);
            }
            Call::Wait(dt) => {
                self.now += dt;
                let _ = self.conn.handle_timeout(self.now);
            }
            Call::SendTiny(len) => {
                let before = self.conn.state();
                let r = self.conn.send_text("tiny", &mut out[..*len]);
                match r {
                    Err(SendError::BufferTooSmall { needed }) => {
                        assert!(needed > *len);
                        assert_eq!(
                            self.conn.state(),
                            before,
                            "a refused send changed the state"
                        );
                    }
                    r => {
                        let _ = self.sent(&out, r);
                    }
                }
            }
        }
    }

    /// Finishes a frame left open by the random phase, as any application must.
    fn finish_streaming(&mut self) {
        if self.streaming > 0 {
            let mut out = vec![0u8; 64];
            let piece = vec![7u8; self.streaming];
            assert_eq!(self.conn.send_payload(&piece, &mut out), Ok(piece.len()));
            self.streaming = 0;
        }
    }
}

/// The random phase, then the application closes and keeps driving the connection with only
/// the calls `drive` makes; it must reach `Closed` within `steps`.
fn run<E: Endpoint>(
    conn: Connection<E>,
    peer_key: Option<[u8; 4]>,
    calls: &[Call],
    drive: u8,
    steps: usize,
) {
    let mut app = App::new(conn);
    for (i, call) in calls.iter().enumerate() {
        app.apply(call, peer_key);
        app.check_invariants(&format!("after call {i} {call:?}"));
    }
    app.finish_streaming();
    let mut out = vec![0u8; 512];
    if app.conn.state() == State::Open {
        let r = app.conn.send_close(CloseCode::NORMAL, "", &mut out);
        app.sent(&out, r).expect("closing an open connection");
    }
    for step in 0..steps {
        if app.conn.state() == State::Closed {
            return;
        }
        match drive {
            // Only the timer: handle_timeout at each deadline.
            0 => {
                let at = app.conn.poll_timeout().expect("closing with no timer");
                app.now = app.now.max(at);
                let _ = app.conn.handle_timeout(app.now);
            }
            // Only sends, with the clock moving between them: a send writes what is owed.
            1 => {
                let owes_close = app.conn.state() == State::Closing && app.conn.wants_transmit();
                let r = app.conn.send_text("more", &mut out);
                let _ = app.sent(&out, r);
                if owes_close {
                    assert!(app.close_written, "a send did not write the close owed");
                    assert_eq!(app.conn.state(), State::Closed);
                }
                app.now += 100;
                let _ = app.conn.handle_timeout(app.now);
            }
            // Only receives (the peer is silent), with the clock moving.
            2 => {
                app.receive(&[]);
                app.now += 100;
                let _ = app.conn.handle_timeout(app.now);
                let n = app.conn.poll_transmit(&mut out).expect("full-size buffer");
                app.wrote(&out[..n]);
            }
            // Everything, the peer answering our close.
            _ => {
                let close = frame(true, 0, 0x8, peer_key, b"\x03\xe8");
                match step % 3 {
                    0 => app.receive(&close),
                    1 => {
                        let r = app.conn.send_ping(b"", &mut out);
                        let _ = app.sent(&out, r);
                    }
                    _ => {
                        app.now += 50;
                        let _ = app.conn.handle_timeout(app.now);
                    }
                }
            }
        }
        app.check_invariants(&format!("drive {drive} step {step}"));
    }
    panic!(
        "drive {drive}: still {:?} after {steps} steps",
        app.conn.state()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_server_always_reaches_closed(
        config in config(),
        calls in proptest::collection::vec(call(), 0..40),
        drive in 0u8..4,
    ) {
        run(Connection::server(config), Some([0x11, 0x22, 0x33, 0x44]), &calls, drive, 64);
    }

    #[test]
    fn a_client_always_reaches_closed(
        config in config(),
        calls in proptest::collection::vec(call(), 0..40),
        drive in 0u8..4,
        seed in any::<u64>(),
    ) {
        run(client(config, seed), None, &calls, drive, 64);
    }
}

#[test]
fn a_protocol_error_is_closed_by_the_next_send_without_poll_transmit() {
    // The new user's case: the app never calls poll_transmit.
    let mut app = App::new(Connection::server(Config::DEFAULT));
    app.receive(&frame(true, 0, 0x1, None, b"unmasked"));
    assert_eq!(app.conn.state(), State::Closing);
    assert!(app.conn.poll_timeout().is_some());
    let mut out = [0u8; 64];
    let r = app.conn.send_text("hello", &mut out);
    assert_eq!(r, Err(SendError::Closing { written: 4 }));
    assert_eq!(&out[..4], &[0x88, 0x02, 0x03, 0xea]);
    assert_eq!(app.conn.state(), State::Closed);
    assert_eq!(
        app.conn.send_text("hello", &mut out),
        Err(SendError::Closed)
    );
}

#[test]
fn a_pong_owed_goes_out_before_the_next_message() {
    let mut app = App::new(Connection::server(Config::DEFAULT));
    app.receive(&frame(true, 0, 0x9, Some([1, 2, 3, 4]), b"are you there"));
    let mut out = [0u8; 64];
    let n = app.conn.send_text("hi", &mut out).unwrap();
    assert_eq!(&out[..n], b"\x8a\x0dare you there\x81\x02hi");
    // All or nothing: a buffer for the message alone is too small, and nothing was taken.
    app.receive(&frame(true, 0, 0x9, Some([1, 2, 3, 4]), b"again"));
    assert_eq!(
        app.conn.send_text("hi", &mut out[..4]),
        Err(SendError::BufferTooSmall { needed: 11 })
    );
    assert!(app.conn.wants_transmit());
}

#[test]
fn answering_the_peer_s_close_with_our_own_code_still_sends_the_pong_owed_first() {
    let mut s = Connection::server(Config::DEFAULT);
    let key = Some([1, 2, 3, 4]);
    let mut app = App::new(s.clone());
    app.receive(
        &[
            frame(true, 0, 0x9, key, b"p"),
            frame(true, 0, 0x8, key, b"\x03\xe8"),
        ]
        .concat(),
    );
    s = app.conn;
    assert_eq!(s.state(), State::Closing);
    let mut out = [0u8; 64];
    let n = s.send_close(CloseCode::GOING_AWAY, "", &mut out).unwrap();
    assert_eq!(&out[..n], b"\x8a\x01p\x88\x02\x03\xe9");
    assert_eq!(s.state(), State::Closed);
}
