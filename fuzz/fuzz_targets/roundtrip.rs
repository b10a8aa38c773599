//! Messages and controls encoded by one role, split arbitrarily, decoded by the other: the
//! same messages come out.
#![no_main]

use arbitrary::Arbitrary;
use wsmachine::DataKind;
use wsmachine_fuzz::drive::{roundtrip, Fragment, Op};

/// What the sender does, as the fuzzer generates it.
#[derive(Debug, Arbitrary)]
enum Action {
    Text(String),
    Binary(Vec<u8>),
    /// A text message cut into fragments at these byte positions (even inside a character).
    FragmentedText(String, Vec<(u8, Option<Vec<u8>>)>),
    /// A binary message in fragments, each optionally followed by a ping.
    FragmentedBinary(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    /// One frame written in pieces; `true`: masked in place.
    Streamed(bool, Vec<Vec<u8>>, bool),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close: below 0x8000 picks a valid code, otherwise the raw value.
    Close(u16, String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    client_sends: bool,
    seed: u8,
    mode: u8,
    actions: Vec<Action>,
}

fn close_code(raw: u16) -> u16 {
    const VALID: [u16; 11] = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
    ];
    match raw {
        0..=0x3fff => VALID[usize::from(raw) % VALID.len()],
        0x4000..=0x7fff => 3000 + raw % 2000,
        _ => raw,
    }
}

fn op(action: Action) -> Op {
    match action {
        Action::Text(s) => Op::Message(DataKind::Text, s.into_bytes()),
        Action::Binary(b) => Op::Message(DataKind::Binary, b),
        Action::FragmentedText(s, cuts) => {
            let bytes = s.into_bytes();
            let mut fragments = Vec::new();
            let mut at = 0;
            for (cut, ping) in cuts {
                let end = (at + usize::from(cut)).min(bytes.len());
                fragments.push(Fragment {
                    payload: bytes[at..end].to_vec(),
                    ping,
                });
                at = end;
            }
            fragments.push(Fragment {
                payload: bytes[at..].to_vec(),
                ping: None,
            });
            Op::Fragmented(DataKind::Text, fragments)
        }
        Action::FragmentedBinary(parts) => Op::Fragmented(
            DataKind::Binary,
            parts
                .into_iter()
                .map(|(payload, ping)| Fragment { payload, ping })
                .collect(),
        ),
        Action::Streamed(text, pieces, in_place) => {
            if text {
                // Text pieces must concatenate to UTF-8: keep only the valid prefix.
                let mut all: Vec<u8> = pieces.concat();
                let valid = match core::str::from_utf8(&all) {
                    Ok(_) => all.len(),
                    Err(e) => e.valid_up_to(),
                };
                all.truncate(valid);
                let mut out = Vec::new();
                let mut at = 0;
                for piece in &pieces {
                    let end = (at + piece.len()).min(all.len());
                    out.push(all[at..end].to_vec());
                    at = end;
                }
                Op::Streamed(DataKind::Text, out, in_place)
            } else {
                Op::Streamed(DataKind::Binary, pieces, in_place)
            }
        }
        Action::Ping(p) => Op::Ping(p),
        Action::Pong(p) => Op::Pong(p),
        Action::Close(code, reason) => Op::Close(close_code(code), reason),
    }
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let ops: Vec<Op> = input.actions.into_iter().map(op).collect();
    roundtrip(input.client_sends, input.seed, input.mode, &ops);
});
