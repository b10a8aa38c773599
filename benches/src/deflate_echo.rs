//! permessage-deflate (RFC 7692 §7.2) echo throughput: the same messages echoed compressed and
//! uncompressed through a wsmachine client and server, in memory.
//!
//! One message is one round trip: the client compresses (or not), masks and frames it; the
//! server unmasks, inflates into its window and copies the message out as an application
//! would; the server compresses it again and frames it; the client inflates it and copies it
//! out. No socket is involved, so the figures are the CPU cost of the stack per message, and
//! the wire column says what compression saves the network.
//!
//! `cargo run --release --bin deflate_echo` (in `benches/`) prints the table and writes
//! `results/deflate_echo.md`; `-- --check` runs every row once, checks every echoed message
//! against the original and times nothing (the CI step). Options as the codec benchmark's:
//! `--reps N` (15), `--sample-ms M` (20), `--no-write`, `--only WORD` (corpora whose title
//! contains WORD), `--row WORD` (configurations whose name contains WORD, e.g. to profile one
//! under callgrind with `--check`).

#[allow(dead_code)]
#[path = "harness.rs"]
mod harness;

use std::fmt::Write as _;
use std::time::Duration;

use harness::{checked, command_output, cpu_model, fmt_ns, load_average, Settings, Side, Workload};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wsmachine::connection::Endpoint;
use wsmachine::extensions::deflate::{
    accept_offer, Agreed, ClientOffer, Compressor, DeflateConfig, Receiver,
};
use wsmachine::handshake::Extensions;
use wsmachine::wire::frame::RSV1;
use wsmachine::{Client, Config, Connection, DataChunk, DataKind, Event, Server};

/// The largest message: the frame and compression buffers are sized from it.
const MAX_MESSAGE: usize = 64 << 10;
/// Compression level: miniz_oxide's 1 (its fastest), what a server under load would pick.
const LEVEL: u8 = 1;

/// One end of the echo: its connection, and its compression state when negotiated.
struct End<E: Endpoint> {
    conn: Connection<E>,
    deflate: Option<(Receiver<'static>, Box<Compressor>)>,
    /// Compressed bytes of the message being sent.
    packed: Vec<u8>,
    /// The message as the application receives it.
    message: Vec<u8>,
}

impl<E: Endpoint> End<E> {
    fn new(conn: Connection<E>, agreed: Option<&Agreed>) -> Self {
        let deflate = agreed.map(|agreed| {
            let window = vec![0u8; 1 << agreed.receive().window_bits].leak();
            let receiver = Receiver::new(window, agreed, MAX_MESSAGE as u64).expect("window");
            (receiver, Box::new(Compressor::new(agreed, LEVEL)))
        });
        Self {
            conn,
            deflate,
            packed: vec![0; MAX_MESSAGE + 1024],
            message: Vec::with_capacity(MAX_MESSAGE),
        }
    }

    /// Frames `payload` into `out` (compressed when negotiated); returns the frame's length.
    fn send(&mut self, kind: DataKind, payload: &[u8], out: &mut [u8]) -> usize {
        match &mut self.deflate {
            Some((_, compressor)) => {
                let packed = compressor
                    .compress_message(payload, &mut self.packed)
                    .expect("compress");
                self.conn.send_message(kind, RSV1, packed, out)
            }
            None => self.conn.send_message(kind, 0, payload, out),
        }
        .expect("send")
    }

    /// Receives the one whole message `input` holds into `self.message`.
    fn receive(&mut self, input: &mut [u8]) {
        self.message.clear();
        let mut at = 0;
        loop {
            let rest = &mut input[at..];
            let (consumed, event) = match &mut self.deflate {
                Some((receiver, _)) => {
                    let r = receiver.receive(&mut self.conn, rest).expect("inflate");
                    (r.consumed, r.event)
                }
                None => {
                    let r = self.conn.receive(rest).expect("receive");
                    (r.consumed, r.event)
                }
            };
            at += consumed;
            match event {
                Some(Event::Data(DataChunk { payload, last, .. })) => {
                    self.message.extend_from_slice(payload);
                    if last {
                        assert_eq!(at, input.len(), "one message, one frame");
                        return;
                    }
                }
                Some(other) => panic!("unexpected event {other:?}"),
                None => assert!(consumed > 0, "the message is incomplete"),
            }
        }
    }
}

/// A client and a server, compressing both ways when `config` is given.
struct Pair {
    client: End<Client<ChaCha8Rng>>,
    server: End<Server>,
    frame: Vec<u8>,
}

impl Pair {
    fn new(config: Option<DeflateConfig>) -> Self {
        let (client_agreed, server_agreed) = match config {
            Some(config) => {
                let offer = ClientOffer::new(&config);
                let header = offer.header().expect("offer");
                let server = accept_offer(
                    &config,
                    Extensions::new(core::iter::once(header.as_str().as_bytes())),
                )
                .expect("the server accepts the offer");
                let answer = server.header().expect("answer");
                let client = offer
                    .accept(Extensions::new(core::iter::once(
                        answer.as_str().as_bytes(),
                    )))
                    .expect("a valid answer")
                    .expect("accepted");
                (Some(client), Some(server))
            }
            None => (None, None),
        };
        let config_for = |agreed: Option<&Agreed>| match agreed {
            Some(a) => a.connection_config(Config::DEFAULT),
            None => Config::DEFAULT,
        };
        Self {
            client: End::new(
                Connection::client(
                    config_for(client_agreed.as_ref()),
                    ChaCha8Rng::seed_from_u64(7),
                ),
                client_agreed.as_ref(),
            ),
            server: End::new(
                Connection::server(config_for(server_agreed.as_ref())),
                server_agreed.as_ref(),
            ),
            frame: vec![0; MAX_MESSAGE + 1024],
        }
    }

    /// One round trip of `payload`; returns the client-to-server frame's length.
    fn echo(&mut self, kind: DataKind, payload: &[u8]) -> usize {
        let n = self.client.send(kind, payload, &mut self.frame);
        self.server.receive(&mut self.frame[..n]);
        let message = core::mem::take(&mut self.server.message);
        let m = self.server.send(kind, &message, &mut self.frame);
        self.server.message = message;
        self.client.receive(&mut self.frame[..m]);
        n
    }
}

/// A set of messages echoed in turn (context takeover sees a stream of different messages,
/// not one message repeated).
struct Corpus {
    title: &'static str,
    column: &'static str,
    kind: DataKind,
    messages: Vec<Vec<u8>>,
}

impl Corpus {
    fn payload(&self) -> usize {
        self.messages.iter().map(Vec::len).sum::<usize>() / self.messages.len()
    }
}

/// Chat-sized JSON: 64 different messages of about 150 bytes.
fn chat() -> Corpus {
    let users = ["ada", "grace", "linus", "barbara", "ken", "margaret"];
    let words = [
        "the",
        "build",
        "passed",
        "on",
        "main",
        "again",
        "after",
        "the",
        "fix",
        "to",
        "the",
        "close",
        "handshake",
        "see",
        "issue",
        "thanks",
    ];
    let messages = (0..64usize)
        .map(|i| {
            let text: Vec<&str> = (0..8).map(|j| words[(i * 7 + j * 3) % words.len()]).collect();
            format!(
                "{{\"type\":\"message\",\"id\":{},\"channel\":\"#dev\",\"user\":\"{}\",\"ts\":{},\"text\":\"{}\"}}",
                1000 + i,
                users[i % users.len()],
                1_764_547_200 + i * 13,
                text.join(" ")
            )
            .into_bytes()
        })
        .collect();
    Corpus {
        title: "chat JSON, 64 messages of about 150 B (text)",
        column: "chat JSON",
        kind: DataKind::Text,
        messages,
    }
}

/// Up to `len` bytes of `record(rng)` strings, padded with spaces to exactly `len`.
fn records(len: usize, seed: u64, mut record: impl FnMut(&mut ChaCha8Rng) -> String) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::with_capacity(len);
    loop {
        let r = record(&mut rng);
        if s.len() + r.len() > len {
            break;
        }
        s.push_str(&r);
    }
    while s.len() < len {
        s.push(' ');
    }
    s.into_bytes()
}

/// 16 KiB of JSON market updates with random ids, prices and quantities, 8 different ones.
fn json16() -> Corpus {
    let symbols = ["BTC-USD", "ETH-USD", "SOL-USD", "EUR-USD", "XAU-USD"];
    let messages = (0..8)
        .map(|k| {
            records(16 << 10, 100 + k, |rng| {
                let r = rng.next_u64();
                format!(
                    "{{\"id\":{},\"op\":\"update\",\"symbol\":\"{}\",\"price\":{}.{:02},\"qty\":{},\"side\":\"{}\"}}\n",
                    r % 1_000_000,
                    symbols[(r >> 20) as usize % symbols.len()],
                    (r >> 24) % 100_000,
                    (r >> 40) % 100,
                    (r >> 48) % 1000,
                    if r >> 63 == 0 { "buy" } else { "sell" },
                )
            })
        })
        .collect();
    Corpus {
        title: "16 KiB JSON (market updates, random ids and prices), 8 messages",
        column: "16 KiB JSON",
        kind: DataKind::Text,
        messages,
    }
}

/// 16 KiB of chat lines in Chinese with emoji, words drawn at random, 8 different ones.
fn mixed16() -> Corpus {
    let words = [
        "协议",
        "连接",
        "消息",
        "服务器",
        "客户端",
        "数据帧",
        "压缩",
        "窗口",
        "关闭",
        "握手",
        "😀",
        "🚀",
        "✓",
        "ok",
        "42",
        "，",
        "。",
        "用户",
        "设备",
        "延迟",
    ];
    let messages = (0..8)
        .map(|k| {
            records(16 << 10, 200 + k, |rng| {
                let n = 4 + rng.next_u32() as usize % 12;
                let line: String = (0..n)
                    .map(|_| words[rng.next_u32() as usize % words.len()])
                    .collect();
                format!("{line}\n")
            })
        })
        .collect();
    Corpus {
        title: "16 KiB chat lines in Chinese with emoji (random words), 8 messages",
        column: "16 KiB mixed text",
        kind: DataKind::Text,
        messages,
    }
}

/// 16 KiB of random bytes, 8 different ones: what compression cannot shrink.
fn random16() -> Corpus {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let messages = (0..8)
        .map(|_| {
            let mut m = vec![0u8; 16 << 10];
            rng.fill_bytes(&mut m);
            m
        })
        .collect();
    Corpus {
        title: "16 KiB random binary (incompressible), 8 messages",
        column: "16 KiB random",
        kind: DataKind::Binary,
        messages,
    }
}

/// The configurations compared: plain, and permessage-deflate as browsers and as a device
/// would negotiate it.
fn configs() -> [(&'static str, Side, Option<DeflateConfig>); 3] {
    [
        ("uncompressed", Side::Reference, None),
        (
            "permessage-deflate, 15-bit windows, context takeover",
            Side::Ours,
            Some(DeflateConfig::DEFAULT),
        ),
        (
            "permessage-deflate, 9-bit windows, no context takeover",
            Side::Ours,
            Some(DeflateConfig {
                receive_window_bits: 9,
                send_window_bits: 9,
                peer_no_context_takeover: true,
                no_context_takeover: true,
            }),
        ),
    ]
}

/// Echoes every message of `corpus` once through a fresh pair, checking each echo; returns the
/// client-to-server wire bytes per message.
fn check_config(corpus: &Corpus, config: Option<DeflateConfig>) -> Result<f64, String> {
    let mut pair = Pair::new(config);
    let mut wire = 0usize;
    for (i, m) in corpus.messages.iter().enumerate() {
        wire += pair.echo(corpus.kind, m);
        if pair.client.message != *m || pair.server.message != *m {
            return Err(format!("message {i} came back different"));
        }
    }
    Ok(wire as f64 / corpus.messages.len() as f64)
}

fn workload(corpus: &Corpus, row: Option<&str>, wire: &mut Vec<f64>) -> Workload {
    let mut entries = Vec::new();
    for (name, side, config) in configs() {
        if row.is_some_and(|r| !name.contains(r)) {
            continue;
        }
        let messages = corpus.messages.clone();
        let kind = corpus.kind;
        let per = check_config(corpus, config)
            .unwrap_or_else(|e| panic!("{}, {name}: echo check failed: {e}", corpus.title));
        wire.push(per);
        entries.push(checked(name, side, move || {
            let mut pair = Pair::new(config);
            let mut i = 0usize;
            Ok(Box::new(move |n: u64| {
                for _ in 0..n {
                    std::hint::black_box(pair.echo(kind, &messages[i % messages.len()]));
                    i += 1;
                }
            }) as Box<dyn FnMut(u64)>)
        }));
    }
    Workload {
        group: "echo",
        title: corpus.title.to_string(),
        column: corpus.column.to_string(),
        payload: corpus.payload(),
        entries,
    }
}

fn main() {
    let mut check = false;
    let mut write = true;
    let mut only = None;
    let mut row = None;
    let mut settings = Settings {
        reps: 15,
        sample: Duration::from_millis(20),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match arg.as_str() {
            "--check" => check = true,
            "--no-write" => write = false,
            "--only" => only = Some(value("--only")),
            "--row" => row = Some(value("--row")),
            "--reps" => settings.reps = value("--reps").parse::<usize>().expect("N").max(1),
            "--sample-ms" => {
                settings.sample = Duration::from_millis(value("--sample-ms").parse().expect("M"))
            }
            other => panic!("unknown argument {other} (see the top of deflate_echo.rs)"),
        }
    }

    let corpora: Vec<Corpus> = [chat(), json16(), mixed16(), random16()]
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|w| c.title.contains(w)))
        .collect();
    let mut wire = Vec::new();
    let workloads: Vec<Workload> = corpora
        .iter()
        .map(|c| workload(c, row.as_deref(), &mut wire))
        .collect();
    if check {
        println!(
            "--check: {} corpora x {} configurations echoed and compared, nothing timed",
            corpora.len(),
            wire.len() / corpora.len().max(1)
        );
        return;
    }

    let measured = harness::measure(workloads, &settings);
    let mut out = String::new();
    let _ = writeln!(out, "# permessage-deflate echo throughput\n");
    let _ = writeln!(
        out,
        "- date: {}\n- machine: {} cores (`nproc`), {}\n- command: `cd benches && cargo run --release --bin deflate_echo`\n- method: a wsmachine client and server in memory; one message is one round trip (client compresses, masks, frames; server unmasks, inflates, copies out, compresses, frames; client inflates, copies out); compression level {LEVEL}; median of {} interleaved repetitions of {} ms; every echo checked first\n- load average before: {}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        settings.reps,
        settings.sample.as_millis(),
        load_average(),
    );
    let rows_per = wire.len() / corpora.len().max(1);
    for (k, m) in measured.iter().enumerate() {
        let _ = writeln!(out, "\n## {}\n", m.title);
        let _ = writeln!(
            out,
            "| configuration | µs/round trip | MB/s of messages | wire bytes/message | × uncompressed time |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: |");
        let plain = m.rows.first().and_then(|r| r.2.as_ref().ok().copied());
        for (j, (name, _, ns)) in m.rows.iter().enumerate() {
            let Ok(ns) = ns else { continue };
            let w = wire[k * rows_per + j];
            let _ = writeln!(
                out,
                "| {name} | {} | {:.0} | {:.0} ({:.0} %) | {} |",
                fmt_ns(ns / 1000.0),
                m.payload as f64 / ns * 1000.0,
                w,
                100.0 * w / m.payload as f64,
                plain.map_or("n/a".into(), |p| format!("{:.2}", ns / p)),
            );
        }
    }
    let _ = writeln!(out, "\nload average after: {}", load_average());
    print!("{out}");
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results/deflate_echo.md");
        std::fs::write(path, &out).expect("write results/deflate_echo.md");
        println!("wrote {path}");
    }
}
