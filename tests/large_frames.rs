//! Frames longer than `u32::MAX` bytes: streamed with the remaining length tracked in `u64`, or
//! rejected by the configured limit, never truncated to `usize` (32 bits on i686 and most
//! microcontrollers). CI runs this file on x86_64 and on i686-unknown-linux-gnu.

use wsmachine::message::{Reassembler, SliceStorage};
use wsmachine::wire::mask::apply_mask;
use wsmachine::{
    CloseCode, Config, Connection, DataKind, Event, FrameHeader, Opcode, ProtocolError,
    ReceiveError, Status,
};

/// 2^32 + 5: truncated to 32 bits this reads as 5.
const HUGE: u64 = (1 << 32) + 5;

struct NoRng;

impl rand_core::RngCore for NoRng {
    fn next_u32(&mut self) -> u32 {
        0x0102_0304
    }
    fn next_u64(&mut self) -> u64 {
        0x0102_0304_0506_0708
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(7);
    }
}

fn header(payload_len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let h = FrameHeader {
        fin: true,
        rsv: 0,
        opcode: Opcode::Binary,
        mask,
        payload_len,
    };
    let mut out = vec![0; h.encoded_len()];
    h.emit(&mut out).unwrap();
    out
}

const BIG_LIMITS: Config = Config {
    max_frame_size: 1 << 40,
    max_message_size: 1 << 40,
    ..Config::DEFAULT
};

/// A client receives the whole frame (unmasked, so each call is cheap) through a 1 MiB
/// buffer: the chunks add up to exactly 2^32 + 5 bytes, only the final one is `last`, and the
/// frame after it parses as a frame.
#[test]
fn client_streams_a_frame_over_4_gib() {
    let mut client = Connection::client(BIG_LIMITS, NoRng);
    let mut head = header(HUGE, None);
    let head_len = head.len();
    let received = client.receive(&mut head).unwrap();
    // The header alone is consumed; the first chunk comes with the first payload bytes.
    assert_eq!((received.consumed, received.event), (head_len, None));

    let mut buf = vec![0u8; 1 << 20];
    let mut delivered: u64 = 0;
    let mut calls = 0u32;
    loop {
        let left = HUGE - delivered;
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
        let received = client.receive(&mut buf[..n]).unwrap();
        calls += 1;
        assert_eq!(
            received.consumed, n,
            "a data chunk takes all the bytes it can"
        );
        let Some(Event::Data(chunk)) = received.event else {
            panic!("expected data at {delivered}");
        };
        assert_eq!(chunk.kind, DataKind::Binary);
        assert_eq!(chunk.first, delivered == 0);
        delivered += chunk.payload.len() as u64;
        assert_eq!(chunk.last, delivered == HUGE, "last flag at {delivered}");
        if chunk.last {
            break;
        }
    }
    assert_eq!(delivered, HUGE);
    assert_eq!(calls, 4097);
    // The next bytes are a new frame, not more payload.
    let mut ping = [0x89, 0x01, b'x'];
    let received = client.receive(&mut ping).unwrap();
    assert_eq!(received.event, Some(Event::Ping(b"x")));
}

/// A server reads the first 5 payload bytes and then a ping's bytes: they are payload of the
/// big frame, as a truncated length would have ended the frame after 5 bytes.
#[test]
fn server_does_not_truncate_the_length() {
    let key = [1, 2, 3, 4];
    let mut server = Connection::server(BIG_LIMITS);
    let mut stream = header(HUGE, Some(key));
    stream.extend_from_slice(&[0xAA; 5]);
    stream.extend_from_slice(&[0x89, 0x80, 0, 0, 0, 0]);
    let mut at = 0;
    let mut payload = 0;
    while at < stream.len() {
        let received = server.receive(&mut stream[at..]).unwrap();
        at += received.consumed;
        match received.event {
            Some(Event::Data(chunk)) => {
                assert!(!chunk.last);
                payload += chunk.payload.len();
            }
            other => panic!("expected payload, got {other:?}"),
        }
    }
    assert_eq!(payload, 11);
}

/// A limit below the announced length rejects the frame with 1009, whatever the width of
/// `usize`.
#[test]
fn limits_reject_frames_over_4_gib() {
    for (config, error) in [
        (
            Config {
                max_frame_size: 1 << 32,
                ..BIG_LIMITS
            },
            ProtocolError::FrameTooBig,
        ),
        (
            Config {
                max_message_size: 1 << 32,
                ..BIG_LIMITS
            },
            ProtocolError::MessageTooBig,
        ),
        (Config::DEFAULT, ProtocolError::FrameTooBig),
    ] {
        let mut server = Connection::server(config);
        let mut head = header(HUGE, Some([9, 9, 9, 9]));
        assert_eq!(
            server.receive(&mut head),
            Err(ReceiveError::Protocol(error))
        );
        let mut tx = [0u8; 16];
        let n = server.poll_transmit(&mut tx).unwrap();
        assert_eq!(&tx[..n], &[0x88, 0x02, 0x03, 0xf1]);
    }
}

/// Two fragments of 2^31 + 3 bytes each: their sum passes 2^32 and is checked in `u64`.
#[test]
fn message_limit_sums_fragments_in_u64() {
    let config = Config {
        max_frame_size: 1 << 32,
        max_message_size: 1 << 32,
        ..Config::DEFAULT
    };
    let half = (1u64 << 31) + 3;
    let mut client = Connection::client(config, NoRng);
    let mut first = header(half, None);
    first[0] = 0x02; // binary, not FIN
    assert!(client.receive(&mut first).is_ok());
    let mut buf = vec![0u8; 1 << 20];
    let mut left = half;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
        let received = client.receive(&mut buf[..n]).unwrap();
        left -= received.consumed as u64;
    }
    let mut second = header(half, None);
    second[0] = 0x80; // continuation, FIN
    assert_eq!(
        client.receive(&mut second),
        Err(ReceiveError::Protocol(ProtocolError::MessageTooBig))
    );
}

/// The reassembler fails a 4 GiB message with 1009 as soon as its first bytes overflow the
/// storage, instead of truncating anything.
#[test]
fn reassembler_rejects_a_frame_over_4_gib() {
    let mut client = Connection::client(BIG_LIMITS, NoRng);
    let mut storage = [0u8; 64];
    let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
    let mut stream = header(HUGE, None);
    stream.extend_from_slice(&[0u8; 100]);
    let mut at = 0;
    let err = loop {
        match messages.receive(&mut client, &mut stream[at..]) {
            Ok((consumed, message)) => {
                assert!(message.is_none());
                assert!(consumed > 0, "stalled");
                at += consumed;
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, ReceiveError::Protocol(ProtocolError::MessageTooBig));
    let mut tx = [0u8; 16];
    let n = client.poll_transmit(&mut tx).unwrap();
    let Ok(Status::Complete((close, len))) = FrameHeader::parse(&tx[..n]) else {
        panic!("close frame expected");
    };
    assert_eq!(
        (close.opcode, close.payload_len, n),
        (Opcode::Close, 2, len + 2)
    );
    apply_mask(close.mask.unwrap(), 0, &mut tx[len..n]);
    assert_eq!(&tx[len..n], &CloseCode::TOO_BIG.0.to_be_bytes());
}
