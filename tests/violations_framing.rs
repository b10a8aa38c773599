//! RFC 6455 §5.1–§5.5 framing MUSTs a peer can break, from the receiving side: masking
//! direction, RSV bits, opcodes, fragmentation, control frames, length encodings. Each is fed
//! whole, one byte at a time and in uneven pieces; the exact error, the exact close frame owed
//! (1002) and a dead connection afterwards.

mod rejection;
mod util;

use rejection::*;
use util::{c2s, frame, s2c, Ev};
use wsmachine::wire::frame::{RSV1, RSV2, RSV3};
use wsmachine::{Config, Connection, DataKind, ProtocolError};

#[test]
fn server_rejects_unmasked_frames() {
    server_rejects(&s2c(true, 0x1, b"hi"), ProtocolError::UnmaskedFrame, 1002);
    server_rejects(&s2c(true, 0x9, b""), ProtocolError::UnmaskedFrame, 1002);
    server_rejects(
        &s2c(true, 0x8, b"\x03\xe8"),
        ProtocolError::UnmaskedFrame,
        1002,
    );
    // An unmasked continuation of a masked start.
    let mut bytes = c2s(false, 0x2, b"a");
    bytes.extend(s2c(true, 0x0, b"b"));
    server_rejects(&bytes, ProtocolError::UnmaskedFrame, 1002);
}

#[test]
fn client_rejects_masked_frames() {
    client_rejects(&c2s(true, 0x1, b"hi"), ProtocolError::MaskedFrame, 1002);
    client_rejects(&c2s(true, 0xA, b"x"), ProtocolError::MaskedFrame, 1002);
    // Masked with the all-zero key is still masked.
    client_rejects(
        &frame(true, 0, 0x2, Some([0; 4]), b"x"),
        ProtocolError::MaskedFrame,
        1002,
    );
}

#[test]
fn rsv_bits_need_an_extension() {
    for rsv in [RSV1, RSV2, RSV3, RSV1 | RSV3, 0b111] {
        for opcode in [0x1, 0x2, 0x9] {
            both_reject(
                |key| frame(true, rsv, opcode, key, b"x"),
                ProtocolError::ReservedBits,
                1002,
            );
        }
        // On a continuation frame too.
        both_reject(
            |key| {
                [
                    frame(false, 0, 0x2, key, b"x"),
                    frame(true, rsv, 0x0, key, b"y"),
                ]
                .concat()
            },
            ProtocolError::ReservedBits,
            1002,
        );
    }
    // An extension that claims RSV1 allows RSV1 only.
    let rsv1 = Config {
        allowed_rsv: RSV1,
        ..Config::DEFAULT
    };
    let events = accepts(
        Connection::server(rsv1),
        &frame(true, RSV1, 0x2, Some(KEY), b"z"),
    );
    assert_eq!(events, [Ev::Message(DataKind::Binary, b"z".to_vec())]);
    rejects(
        || Connection::server(rsv1),
        &frame(true, RSV2, 0x2, Some(KEY), b"z"),
        ProtocolError::ReservedBits,
        1002,
        server_exact,
    );
}

#[test]
fn reserved_opcodes() {
    for opcode in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        both_reject(
            |key| frame(true, 0, opcode, key, b""),
            ProtocolError::ReservedOpcode,
            1002,
        );
        // Inside a fragmented message as well.
        both_reject(
            |key| {
                [
                    frame(false, 0, 0x1, key, b"a"),
                    frame(true, 0, opcode, key, b"b"),
                ]
                .concat()
            },
            ProtocolError::ReservedOpcode,
            1002,
        );
    }
}

#[test]
fn continuation_without_a_start() {
    both_reject(
        |key| frame(true, 0, 0x0, key, b"x"),
        ProtocolError::UnexpectedContinuation,
        1002,
    );
    both_reject(
        |key| frame(false, 0, 0x0, key, b""),
        ProtocolError::UnexpectedContinuation,
        1002,
    );
    // After a finished message.
    both_reject(
        |key| {
            [
                frame(true, 0, 0x1, key, b"done"),
                frame(true, 0, 0x0, key, b"x"),
            ]
            .concat()
        },
        ProtocolError::UnexpectedContinuation,
        1002,
    );
}

#[test]
fn new_message_inside_a_fragmented_one() {
    for (first, second) in [(0x1, 0x1), (0x1, 0x2), (0x2, 0x1), (0x2, 0x2)] {
        both_reject(
            |key| {
                [
                    frame(false, 0, first, key, b"a"),
                    frame(true, 0, 0x9, key, b"ping in between is fine"),
                    frame(true, 0, second, key, b"b"),
                ]
                .concat()
            },
            ProtocolError::ExpectedContinuation,
            1002,
        );
    }
}

#[test]
fn control_frames_over_125_bytes() {
    for opcode in [0x8, 0x9, 0xA] {
        both_reject(
            |key| {
                let mut f = raw_header(0x80 | opcode, 126, &[0, 126], key);
                f.extend(vec![b'x'; 126]);
                f
            },
            ProtocolError::ControlFrameTooLong,
            1002,
        );
        both_reject(
            |key| raw_header(0x80 | opcode, 127, &65536u64.to_be_bytes(), key),
            ProtocolError::ControlFrameTooLong,
            1002,
        );
    }
    // 125 is fine.
    let events = accepts(server(), &c2s(true, 0x9, &[1; 125]));
    assert_eq!(events, [Ev::Ping(vec![1; 125])]);
}

#[test]
fn fragmented_control_frames() {
    for opcode in [0x8, 0x9, 0xA] {
        both_reject(
            |key| frame(false, 0, opcode, key, b""),
            ProtocolError::FragmentedControlFrame,
            1002,
        );
    }
}

#[test]
fn non_minimal_lengths() {
    // 16-bit field for lengths that fit in 7 bits.
    for len in [0u16, 1, 125] {
        both_reject(
            |key| {
                let mut f = raw_header(0x82, 126, &len.to_be_bytes(), key);
                f.extend(vec![0; usize::from(len)]);
                f
            },
            ProtocolError::NonMinimalLength,
            1002,
        );
    }
    // 64-bit field for lengths that fit in 16 (or 7) bits.
    for len in [0u64, 125, 126, 65535] {
        both_reject(
            |key| raw_header(0x82, 127, &len.to_be_bytes(), key),
            ProtocolError::NonMinimalLength,
            1002,
        );
    }
    // The smallest lengths of each form are accepted.
    let mut f = raw_header(0x82, 126, &126u16.to_be_bytes(), None);
    f.extend(vec![3; 126]);
    assert_eq!(
        accepts(the_client(), &f),
        [Ev::Message(DataKind::Binary, vec![3; 126])]
    );
    let mut f = raw_header(0x82, 127, &65536u64.to_be_bytes(), None);
    f.extend(vec![4; 65536]);
    assert_eq!(
        accepts(the_client(), &f),
        [Ev::Message(DataKind::Binary, vec![4; 65536])]
    );
}

#[test]
fn sixty_four_bit_length_with_the_top_bit_set() {
    for len in [1u64 << 63, u64::MAX, (1 << 63) | 0x10000] {
        both_reject(
            |key| raw_header(0x82, 127, &len.to_be_bytes(), key),
            ProtocolError::LengthOverflow,
            1002,
        );
    }
}
