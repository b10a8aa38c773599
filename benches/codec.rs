//! Codec throughput, with no benchmark framework: `cargo bench --bench codec`.
//!
//! Each line runs one operation in a loop for about 200 ms after a warm-up and prints ns/op and
//! payload GB/s. The `memcpy 128 B` line is the reference: the cost of touching 128 bytes once.
//!
//! Decoding reuses one buffer: `receive` unmasks in place and leaves the header untouched, so
//! each pass masks the payload back or forth, which is the same work. Text is decoded by a
//! client (unmasked input is not modified), so the UTF-8 check sees valid text on every pass.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand_core::RngCore;
use wsmachine::{Config, Connection, Event};

/// xorshift32: the client's masking-key source for the benchmark.
struct XorShift(u32);

impl RngCore for XorShift {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    fn next_u64(&mut self) -> u64 {
        (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let word = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

const RUN: Duration = Duration::from_millis(200);

/// Runs `op` in batches until `RUN` has passed; prints ns/op and GB/s of `bytes` per op.
fn bench(name: &str, bytes: usize, mut op: impl FnMut()) {
    for _ in 0..1000 {
        op();
    }
    let mut batch = 1u64;
    let mut iterations = 0u64;
    let start = Instant::now();
    loop {
        for _ in 0..batch {
            op();
        }
        iterations += batch;
        let elapsed = start.elapsed();
        if elapsed >= RUN {
            let ns = elapsed.as_nanos() as f64 / iterations as f64;
            let gbps = bytes as f64 / ns;
            println!("{name:<40} {ns:>10.1} ns/op {gbps:>8.2} GB/s  ({iterations} iterations)");
            return;
        }
        batch = (batch * 2).min(1 << 20);
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + (i >> 7)) as u8).collect()
}

fn text(len: usize) -> String {
    let pieces = [
        "Hello, ",
        "w\u{f6}rld",
        " \u{20ac}",
        "\u{1f600}",
        "abcdefgh",
    ];
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        let p = pieces[i % pieces.len()];
        s.push_str(if s.len() + p.len() <= len { p } else { "x" });
        i += 1;
    }
    s
}

/// A client-encoded (masked) binary frame of `len` bytes.
fn masked_frame(len: usize) -> Vec<u8> {
    let mut client = Connection::client(Config::DEFAULT, XorShift(0x1234_5678));
    let mut out = vec![0u8; len + 14];
    let n = client.send_binary(&payload(len), &mut out).unwrap();
    out.truncate(n);
    out
}

fn bench_server_decode(name: &str, len: usize) {
    let mut server = Connection::server(Config::DEFAULT);
    let mut buf = masked_frame(len);
    let frame_len = buf.len();
    bench(name, len, || {
        let received = server.receive(black_box(&mut buf)).unwrap();
        let Some(Event::Data(chunk)) = received.event else {
            panic!("expected data");
        };
        assert!(chunk.first && chunk.last && received.consumed == frame_len);
        black_box(chunk.payload);
    });
}

fn bench_client_text_decode(name: &str, len: usize) {
    let mut server = Connection::server(Config::DEFAULT);
    let mut frame = vec![0u8; len + 14];
    let n = server.send_text(&text(len), &mut frame).unwrap();
    frame.truncate(n);
    let mut client = Connection::client(Config::DEFAULT, XorShift(1));
    bench(name, len, || {
        let received = client.receive(black_box(&mut frame)).unwrap();
        let Some(Event::Data(chunk)) = received.event else {
            panic!("expected data");
        };
        assert!(chunk.last && received.consumed == n);
        black_box(chunk.payload);
    });
}

fn main() {
    let src = payload(128);
    let mut dst = vec![0u8; 128];
    bench("memcpy 128 B (reference)", 128, || {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
    });

    bench_server_decode("server decode masked binary 128 B", 128);
    bench_server_decode("server decode masked binary 16 KiB", 16 << 10);

    let data = payload(128);
    let mut out = vec![0u8; 256];
    let mut server = Connection::server(Config::DEFAULT);
    bench("server encode binary 128 B", 128, || {
        let n = server.send_binary(black_box(&data), &mut out).unwrap();
        black_box(&out[..n]);
    });
    let mut client = Connection::client(Config::DEFAULT, XorShift(7));
    bench("client encode binary 128 B (masked)", 128, || {
        let n = client.send_binary(black_box(&data), &mut out).unwrap();
        black_box(&out[..n]);
    });

    bench_client_text_decode("client decode text 128 B (UTF-8 checked)", 128);
    bench_client_text_decode("client decode text 16 KiB (UTF-8 checked)", 16 << 10);
}
