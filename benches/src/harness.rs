//! Timing without a framework: calibrate, warm up, then repetitions in which every
//! implementation of every workload runs once, in a rotating order, so that machine noise lands
//! on all of them alike. The figure kept is the median repetition.

use std::time::{Duration, Instant};

/// What a row is, for the ratios: "× fastest peer" compares against the fastest `Peer`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `copy_from_slice`: the cost of touching the bytes once.
    Reference,
    /// wsmachine.
    Ours,
    /// Another crate.
    Peer,
}

/// One implementation of one workload, already checked, ready to run `n` messages.
pub struct Subject {
    pub name: String,
    pub side: Side,
    pub run: Box<dyn FnMut(u64)>,
}

/// A row of a workload: something to time, or why this implementation cannot do it.
pub enum Entry {
    Ready(Subject),
    NotApplicable { name: String, reason: &'static str },
}

/// Builds a row from a constructor that checks the implementation's output first. A failed
/// check stops the benchmark: a wrong answer is never timed.
pub fn checked(
    name: impl Into<String>,
    side: Side,
    make: impl FnOnce() -> Result<Box<dyn FnMut(u64)>, String>,
) -> Entry {
    let name = name.into();
    match make() {
        Ok(run) => Entry::Ready(Subject { name, side, run }),
        Err(e) => panic!("{name}: output check failed: {e}"),
    }
}

pub struct Workload {
    /// Short id, e.g. `decode` or `text`: which summary table and chart the workload is in.
    pub group: &'static str,
    pub title: String,
    /// The workload's column in the summary table (a size, or which text).
    pub column: String,
    /// Payload bytes per message, for GB/s.
    pub payload: usize,
    pub entries: Vec<Entry>,
}

pub struct Settings {
    pub reps: usize,
    pub sample: Duration,
}

/// A workload's result: the median ns per message of each row, or why it is "n/a".
pub struct Measured {
    pub group: &'static str,
    pub title: String,
    pub column: String,
    pub payload: usize,
    pub rows: Vec<(String, Side, Result<f64, &'static str>)>,
    /// Per row, the interquartile range of the repetitions over the median (0 for n/a).
    pub spread: Vec<f64>,
}

/// Runs `n` messages and returns the ns per message.
fn time(run: &mut dyn FnMut(u64), n: u64) -> f64 {
    let t = Instant::now();
    run(n);
    t.elapsed().as_nanos() as f64 / n as f64
}

/// How many messages take about `sample`.
fn calibrate(run: &mut dyn FnMut(u64), sample: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        run(n);
        let elapsed = t.elapsed();
        if elapsed >= sample / 4 || n >= 1 << 30 {
            let per = elapsed.as_secs_f64() / n as f64;
            return ((sample.as_secs_f64() / per) as u64).max(1);
        }
        n *= 2;
    }
}

/// The median and the interquartile range as a share of it (the noise a figure carries).
fn median_spread(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let m = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (m, (v[(3 * n) / 4] - v[n / 4]) / m)
}

/// Times every row of every workload. Calibration (which doubles as the warm-up) and one more
/// sample come first for each row; then each repetition takes one sample of every row of every
/// workload, rows in an order rotated by one each time. A burst of machine noise thus spoils a
/// sample or two of every row rather than every sample of one workload.
pub fn measure(mut workloads: Vec<Workload>, s: &Settings) -> Vec<Measured> {
    struct Timed<'a> {
        sub: &'a mut Subject,
        n: u64,
        samples: Vec<f64>,
    }
    let mut plan: Vec<Vec<(usize, Timed)>> = Vec::new();
    for w in &mut workloads {
        let mut rows = Vec::new();
        for (i, e) in w.entries.iter_mut().enumerate() {
            if let Entry::Ready(sub) = e {
                let n = calibrate(&mut sub.run, s.sample);
                time(&mut sub.run, n);
                rows.push((
                    i,
                    Timed {
                        sub,
                        n,
                        samples: Vec::with_capacity(s.reps),
                    },
                ));
            }
        }
        plan.push(rows);
    }
    for rep in 0..s.reps {
        for rows in &mut plan {
            let k = rows.len();
            for j in 0..k {
                let t = &mut rows[(rep + j) % k].1;
                t.samples.push(time(&mut t.sub.run, t.n));
            }
        }
        eprint!("\rrepetition {}/{}", rep + 1, s.reps);
    }
    eprintln!();
    let results: Vec<Vec<(usize, f64, f64)>> = plan
        .into_iter()
        .map(|rows| {
            rows.into_iter()
                .map(|(i, t)| {
                    let (m, spread) = median_spread(t.samples);
                    (i, m, spread)
                })
                .collect()
        })
        .collect();
    workloads
        .into_iter()
        .zip(results)
        .map(|(w, timed)| {
            let mut spread = vec![0.0; w.entries.len()];
            let rows = w
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| match e {
                    Entry::Ready(sub) => {
                        let &(_, ns, iqr) = timed
                            .iter()
                            .find(|t| t.0 == i)
                            .expect("every ready row was timed");
                        spread[i] = iqr;
                        (sub.name.clone(), sub.side, Ok(ns))
                    }
                    Entry::NotApplicable { name, reason } => {
                        (name.clone(), Side::Peer, Err(*reason))
                    }
                })
                .collect();
            Measured {
                group: w.group,
                title: w.title,
                column: w.column,
                payload: w.payload,
                rows,
                spread,
            }
        })
        .collect()
}

/// `--check`: every row was checked when it was built; run each a few more times (buffer
/// reuse, state after several messages) and report.
pub fn check(mut w: Workload) -> (String, usize, usize) {
    let mut ok = 0;
    let mut na = 0;
    for e in &mut w.entries {
        match e {
            Entry::Ready(sub) => {
                (sub.run)(3);
                ok += 1;
            }
            Entry::NotApplicable { .. } => na += 1,
        }
    }
    let names: Vec<String> = w
        .entries
        .iter()
        .map(|e| match e {
            Entry::Ready(s) => s.name.clone(),
            Entry::NotApplicable { name, .. } => format!("{name} (n/a)"),
        })
        .collect();
    (format!("{}: {}", w.title, names.join(", ")), ok, na)
}

/// Thousands separators and a sensible number of digits for ns figures.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 100.0 {
        format!("{ns:.1}")
    } else {
        let s = format!("{:.0}", ns);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}

/// `ns / base`, or a dash when the workload has no such row (`--row`).
fn ratio(ns: f64, base: f64) -> String {
    if base.is_finite() {
        format!("{:.2}", ns / base)
    } else {
        "–".into()
    }
}

pub fn table(m: &Measured) -> String {
    let ns_of = |side: Side| {
        m.rows
            .iter()
            .filter(|r| r.1 == side)
            .filter_map(|r| r.2.ok())
            .fold(f64::INFINITY, f64::min)
    };
    let fastest_peer = ns_of(Side::Peer);
    let memcpy = ns_of(Side::Reference);
    let mut t = format!(
        "### {}\n\n| implementation | ns/message | GB/s | × fastest peer | × memcpy | IQR |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
        m.title
    );
    for ((name, _, r), spread) in m.rows.iter().zip(&m.spread) {
        match r {
            Ok(ns) => t.push_str(&format!(
                "| {name} | {} | {:.2} | {} | {} | {:.0} % |\n",
                fmt_ns(*ns),
                m.payload as f64 / ns,
                ratio(*ns, fastest_peer),
                ratio(*ns, memcpy),
                100.0 * spread,
            )),
            Err(_) => t.push_str(&format!("| {name} | n/a | | | | |\n")),
        }
    }
    let reasons: Vec<String> = m
        .rows
        .iter()
        .filter_map(|(name, _, r)| r.err().map(|why| format!("{name}: n/a, {why}.")))
        .collect();
    if !reasons.is_empty() {
        t.push('\n');
        t.push_str(&reasons.join(" "));
        t.push('\n');
    }
    t
}

/// One table of ns/message per implementation (rows) and payload size (columns) for `group`.
pub fn summary(all: &[Measured], group: &str, title: &str) -> String {
    let cols: Vec<&Measured> = all.iter().filter(|m| m.group == group).collect();
    let mut names: Vec<&str> = Vec::new();
    for m in &cols {
        for (n, _, _) in &m.rows {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let mut t = format!("### {title}\n\n| implementation |");
    for m in &cols {
        t.push_str(&format!(" {} |", m.column));
    }
    t.push_str("\n| --- |");
    for _ in &cols {
        t.push_str(" ---: |");
    }
    t.push('\n');
    for name in names {
        t.push_str(&format!("| {name} |"));
        for m in &cols {
            let cell = match m.rows.iter().find(|r| r.0 == name).map(|r| r.2) {
                Some(Ok(ns)) => fmt_ns(ns),
                Some(Err(_)) => "n/a".into(),
                None => String::new(),
            };
            t.push_str(&format!(" {cell} |"));
        }
        t.push('\n');
    }
    t
}

pub fn size_label(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// The CPU's model name, from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// What `cmd args` prints, trimmed; empty when it cannot run.
pub fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
