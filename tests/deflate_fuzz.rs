//! The permessage-deflate fuzz logic (`fuzz/src/deflate.rs`) replayed on its seeds and on
//! inputs made here, so that its invariants run with every `cargo test`.

#[allow(dead_code)]
#[path = "../fuzz/src/deflate.rs"]
mod deflate;

use std::path::Path;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .expect("seed directory")
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    all.sort();
    assert!(all.len() >= 5, "{target}: seeds");
    all
}

#[test]
fn inflate_seeds_hold_the_invariants() {
    for seed in seeds("deflate_inflate") {
        let _ = deflate::inflate(&seed);
        // Every window size, limit and cut class over the same frames.
        for flags in [0x00, 0x0f, 0x17, 0x21, 0x4a, 0x7f] {
            let mut input = seed.clone();
            input[0] = flags;
            let _ = deflate::inflate(&input);
        }
    }
}

/// The seeds reach the decompressor: each gives the messages it was made of.
#[test]
fn inflate_seeds_reach_the_decompressor() {
    use wsmachine::extensions::deflate::InflateError;
    use wsmachine::DataKind::{Binary, Text};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/deflate_inflate");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let texts = |outcome: &deflate::Outcome| -> Vec<String> {
        outcome
            .messages
            .iter()
            .map(|(_, m)| String::from_utf8_lossy(m).into_owned())
            .collect()
    };
    for name in ["rfc_hello", "rfc_bfinal", "rfc_stored"] {
        let outcome = deflate::inflate(&read(name));
        assert_eq!(
            (texts(&outcome), outcome.error),
            (vec!["Hello".to_owned()], None),
            "{name}"
        );
    }
    let outcome = deflate::inflate(&read("rfc_context_takeover"));
    assert_eq!(texts(&outcome), ["Hello", "Hello"]);
    let outcome = deflate::inflate(&read("compressed_text"));
    assert_eq!(texts(&outcome), ["Hello", "Hello, Hello"]);
    let outcome = deflate::inflate(&read("fragments_and_ping"));
    assert_eq!(outcome.messages.len(), 1);
    assert_eq!(outcome.messages[0].0, Binary);
    assert!(outcome.messages[0].1.ends_with(b"and the end"));
    let outcome = deflate::inflate(&read("plain_and_close"));
    assert_eq!(outcome.messages, [(Text, b"plain text".to_vec())]);
    let outcome = deflate::inflate(&read("corrupt"));
    assert_eq!(outcome.error, Some(InflateError::Corrupt));
    // The 64-byte limit stops the 200-byte binary message with 1009.
    let outcome = deflate::inflate(&read("small_window_small_limit"));
    assert_eq!(outcome.error, Some(InflateError::TooBig));
}

#[test]
fn negotiate_seeds_hold_the_invariants() {
    for seed in seeds("deflate_negotiate") {
        for flags in 0..=255u8 {
            let mut input = seed.clone();
            input[0] = flags;
            deflate::negotiate(&input);
        }
    }
}

#[test]
fn inflate_on_pseudo_random_inputs() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for len in 0..400usize {
        let input: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = deflate::inflate(&input);
        deflate::negotiate(&input);
    }
}
