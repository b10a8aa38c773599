//! wsmachine's codec throughput against tungstenite, fastwebsockets, embedded-websocket,
//! nexus-web and a plain `copy_from_slice`, with no benchmark framework.
//!
//! `cargo run --release` (in `benches/`) times every workload and prints one markdown table per
//! workload, then writes `results/latest.md` and the chart `results/throughput.svg`.
//! `cargo run --release -- --check` builds every row and checks its output, times nothing, and
//! finishes well within a second once built: the CI step.
//!
//! Options: `--reps N` (21), `--sample-ms M` (10: the length of one timed sample), `--only
//! WORD` (workloads whose title contains WORD), `--row WORD` (rows whose name contains WORD,
//! e.g. to profile one implementation under callgrind), `--no-write` (print only), `--help`.

mod chart;
mod data;
mod harness;
mod ours;
mod peers;
mod wire;

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use harness::{
    checked, command_output, cpu_model, load_average, size_label, Entry, Measured, Settings, Side,
    Workload,
};
use peers::{embedded, fastws, finish, nexus, tung};

const SIZES: [usize; 5] = [16, 128, 1 << 10, 16 << 10, 1 << 20];
const TEXT_LEN: usize = 16 << 10;

fn decode_workload(
    payload: &[u8],
    group: &'static str,
    title: String,
    column: String,
    text: bool,
) -> Workload {
    let frame = ours::masked_frame(payload, text);
    let embedded = if text {
        embedded::text_not_applicable()
    } else {
        embedded::decode(&frame, payload)
    };
    Workload {
        group,
        title,
        column,
        payload: payload.len(),
        entries: vec![
            peers::memcpy_decode(&frame),
            peers::wsmachine_decode(&frame, payload),
            tung::decode(&frame, payload, text, None),
            tung::decode(&frame, payload, text, Some(4 << 10)),
            fastws::decode(&frame, payload, text),
            embedded,
            nexus::decode(&frame, payload, text),
        ],
    }
}

fn encode_workload(payload: &[u8], title: String) -> Workload {
    Workload {
        group: "encode",
        title,
        column: size_label(payload.len()),
        payload: payload.len(),
        entries: vec![
            peers::memcpy_payload(payload),
            peers::wsmachine_send_binary(payload),
            peers::wsmachine_header_in_place(payload),
            tung::encode(payload),
            fastws::encode(payload),
            embedded::encode(payload),
            nexus::encode_copy(payload),
            nexus::encode_in_place(payload),
        ],
    }
}

/// A validator over a whole text: `true` for valid UTF-8. Checked on the text and on a copy
/// with one byte broken.
fn validator(name: &str, side: Side, text: &str, valid: impl Fn(&[u8]) -> bool + 'static) -> Entry {
    let text = text.as_bytes().to_vec();
    checked(name, side, move || {
        let mut broken = text.clone();
        broken[text.len() / 2] = 0xFF;
        if valid(&broken) {
            return Err("accepts a 0xFF byte".into());
        }
        finish(move |_| {
            if valid(black_box(&text)) {
                Ok(())
            } else {
                Err("rejects valid text".into())
            }
        })
    })
}

fn utf8_workload(title: String, column: &str, text: &str) -> Workload {
    Workload {
        group: "utf8",
        title,
        column: column.into(),
        payload: text.len(),
        entries: vec![
            peers::memcpy_payload(text.as_bytes()),
            validator(
                "wsmachine utf8::Utf8Validator",
                Side::Ours,
                text,
                ours::validate,
            ),
            validator("core::str::from_utf8", Side::Peer, text, |b| {
                core::str::from_utf8(b).is_ok()
            }),
            validator("simdutf8::basic::from_utf8", Side::Peer, text, |b| {
                simdutf8::basic::from_utf8(b).is_ok()
            }),
        ],
    }
}

/// A workload's title, and how to build it (and check its rows' outputs).
type Planned = (String, Box<dyn FnOnce(String) -> Workload>);

/// The workloads, each built only when it is run.
fn workloads() -> Vec<Planned> {
    let mut w: Vec<Planned> = Vec::new();
    for size in SIZES {
        w.push((
            format!("decode {} (server, masked binary frame)", size_label(size)),
            Box::new(move |title| {
                decode_workload(
                    &data::payload(size),
                    "decode",
                    title,
                    size_label(size),
                    false,
                )
            }),
        ));
    }
    for size in SIZES {
        w.push((
            format!("encode {} (client, masked binary frame)", size_label(size)),
            Box::new(move |title| encode_workload(&data::payload(size), title)),
        ));
    }
    let ascii = data::ascii_text(TEXT_LEN);
    let mixed = data::mixed_text(TEXT_LEN);
    let mixed_label = format!(
        "16 KiB mixed text ({:.0} % non-ASCII bytes)",
        data::non_ascii_percent(&mixed)
    );
    let texts = [
        ("16 KiB ASCII text".to_string(), "ASCII", ascii),
        (mixed_label, "mixed", mixed),
    ];
    for (label, column, text) in texts.clone() {
        w.push((
            format!("decode text, {label} (server, masked, UTF-8 checked)"),
            Box::new(move |title| {
                decode_workload(text.as_bytes(), "text", title, column.into(), true)
            }),
        ));
    }
    for (label, column, text) in texts {
        w.push((
            format!("UTF-8 validation alone, {label}"),
            Box::new(move |title| utf8_workload(title, column, &text)),
        ));
    }
    w
}

struct Args {
    check: bool,
    write: bool,
    only: Option<String>,
    row: Option<String>,
    settings: Settings,
}

const USAGE: &str = "usage: wsbench [--check] [--no-write] [--reps N] [--sample-ms M] \
[--only WORD] [--row WORD] (see the top of benches/src/bench.rs)";

/// The command line, or the usage and an exit: status 0 for `--help`, 2 for anything else
/// that is not an option with its value.
fn args() -> Args {
    let mut a = Args {
        check: false,
        write: true,
        only: None,
        row: None,
        settings: Settings {
            reps: 21,
            sample: Duration::from_millis(10),
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage_error(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--check" => a.check = true,
            "--no-write" => a.write = false,
            "--only" => a.only = Some(value()),
            "--row" => a.row = Some(value()),
            "--reps" => a.settings.reps = number::<usize>(&arg, &value()).max(1),
            "--sample-ms" => a.settings.sample = Duration::from_millis(number(&arg, &value())),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => usage_error(&format!("unknown argument {other}")),
        }
    }
    a
}

/// `value`, the value of `option`, as a number; else the usage and exit status 2.
fn number<T: std::str::FromStr>(option: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage_error(&format!("{option} takes a number, not {value:?}")))
}

fn usage_error(what: &str) -> ! {
    eprintln!("wsbench: {what}\n{USAGE}");
    std::process::exit(2);
}

/// The last commit that changed the wsmachine sources measured (`src/`), and whether they
/// have uncommitted changes.
fn wsmachine_revision() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let commit = command_output(
        "git",
        &["-C", root, "log", "-1", "--format=%h %s", "--", "src"],
    );
    if commit.is_empty() {
        return "unknown commit".into();
    }
    let dirty = command_output("git", &["-C", root, "status", "--porcelain", "--", "src"]);
    if dirty.is_empty() {
        format!("`{commit}`")
    } else {
        format!("`{commit}` with uncommitted changes in src/")
    }
}

fn main() {
    let args = args();
    let selected = |title: &str| args.only.as_deref().is_none_or(|w| title.contains(w));
    let workloads = || {
        workloads()
            .into_iter()
            .filter(|(title, _)| selected(title))
            .map(|(title, make)| {
                let mut w = make(title);
                if let Some(row) = &args.row {
                    w.entries.retain(|e| match e {
                        Entry::Ready(s) => s.name.contains(row.as_str()),
                        Entry::NotApplicable { name, .. } => name.contains(row.as_str()),
                    });
                }
                w
            })
    };

    if args.check {
        let (mut ok, mut na) = (0, 0);
        for w in workloads() {
            let (line, k, n) = harness::check(w);
            println!("checked {line}");
            ok += k;
            na += n;
        }
        println!("--check: {ok} rows checked, {na} n/a, nothing timed");
        return;
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut head = String::new();
    let command: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| {
            if a.contains(' ') {
                format!("\"{a}\"")
            } else {
                a
            }
        })
        .collect();
    let _ = writeln!(head, "# wsmachine codec benchmark\n");
    let _ = writeln!(
        head,
        "- date: {}\n- machine: {cores} cores (`nproc`), {}\n- {}\n- wsmachine: {}\n- command: `cd benches && cargo run --release{}`\n- method: median of {} interleaved repetitions, {} ms per sample, after calibration and a warm-up; every row's output checked first",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        cpu_model(),
        command_output("rustc", &["--version"]),
        wsmachine_revision(),
        if command.is_empty() { String::new() } else { format!(" -- {}", command.join(" ")) },
        args.settings.reps,
        args.settings.sample.as_millis(),
    );
    let load_before = load_average();
    let all: Vec<Measured> = harness::measure(workloads().collect(), &args.settings);
    let spreads: Vec<f64> = all
        .iter()
        .flat_map(|m| {
            m.rows
                .iter()
                .zip(&m.spread)
                .filter(|(r, _)| r.2.is_ok())
                .map(|(_, s)| *s)
        })
        .collect();
    let _ = writeln!(
        head,
        "- noise: load average {load_before} before the run, {} after (other jobs share the 2 cores); {} of {} rows have an interquartile range over 20 % of their median\n",
        load_average(),
        spreads.iter().filter(|&&s| s > 0.2).count(),
        spreads.len(),
    );
    print!("{head}");
    for m in &all {
        println!("{}", harness::table(m));
    }

    let mut summary = String::new();
    for (group, title) in [
        ("decode", "Decode, ns/message"),
        ("encode", "Encode, ns/message"),
        ("text", "Text decode, 16 KiB, ns/message"),
        ("utf8", "UTF-8 validation alone, 16 KiB, ns/message"),
    ] {
        if all.iter().any(|m| m.group == group) {
            summary.push_str(&harness::summary(&all, group, title));
            summary.push('\n');
        }
    }
    println!("## Summary\n\n{summary}");

    if args.write {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
        std::fs::create_dir_all(&dir).expect("create benches/results");
        let mut md = head.clone();
        md.push_str("## Summary\n\n");
        md.push_str(&summary);
        md.push_str("## Every workload\n\n");
        for m in &all {
            md.push_str(&harness::table(m));
            md.push('\n');
        }
        std::fs::write(dir.join("latest.md"), md).expect("write results/latest.md");
        let svg = dir.join("throughput.svg");
        match chart::write(
            &svg,
            &all,
            &[
                ("decode", "decode (server, masked binary)"),
                ("encode", "encode (client, masked binary)"),
            ],
        ) {
            Ok(()) => println!(
                "wrote {} and {}",
                dir.join("latest.md").display(),
                svg.display()
            ),
            Err(e) => eprintln!("chart: {e}"),
        }
    }
}
