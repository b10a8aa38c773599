//! Runs every case of an Autobahn|Testsuite `fuzzingserver` as a client, echoing each message.
//!
//! ```text
//! cargo run --release --example autobahn_client -- [ws://127.0.0.1:9001] [AGENT]
//! ```
//!
//! Asks `/getCaseCount`, then for each case opens `/runCase?case=i&agent=AGENT` and sends
//! every data chunk back as a fragment as it arrives (three fixed 64 KiB buffers, whatever the
//! message size) until the server closes; finally `/updateReports?agent=AGENT` writes the
//! reports. A case that fails the connection is expected (many test bad input) and only logged.
//!
//! With `--deflate` (build with `--features deflate-compress`) every case offers
//! permessage-deflate (RFC 7692): compressed messages arrive inflated into a 32 KiB window, and
//! once agreed every message is echoed compressed.

mod common;

use std::time::Duration;

use common::{ClientWs, Url};
use wsmachine::io::{Buffer, Error};
use wsmachine::message::{Message, Reassembler, SliceStorage};
use wsmachine::Event;

const BUF: usize = 64 * 1024;
/// Bounds every read and write: a case that stalls ends, the run goes on.
const TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let (flags, args): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let deflate = match flags.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => false,
        ["--deflate"] => true,
        _ => {
            eprintln!("usage: autobahn_client [URL] [AGENT] [--deflate]");
            std::process::exit(2);
        }
    };
    let deflate = common::deflate::check(deflate).unwrap_or_else(|e| {
        eprintln!("autobahn_client: {e}");
        std::process::exit(2);
    });
    let mut args = args.into_iter();
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "wsmachine".to_owned());
    if let Err(e) = run(&base, &agent, deflate) {
        eprintln!("autobahn_client: {e}");
        std::process::exit(1);
    }
}

fn run(base: &str, agent: &str, deflate: bool) -> Result<(), String> {
    let base = common::parse_url(base)?;
    let at = |path: &str, query: Option<String>| Url {
        path: path.to_owned(),
        query,
        ..base.clone()
    };
    let mut buffers = vec![0u8; 3 * BUF];
    let (rx, rest) = buffers.split_at_mut(BUF);
    let (tx, copy) = rest.split_at_mut(BUF);

    let count = case_count(&at("/getCaseCount", None), rx, tx, copy)?;
    println!("autobahn_client: {count} cases");
    for case in 1..=count {
        let url = at("/runCase", Some(format!("case={case}&agent={agent}")));
        #[cfg(feature = "deflate-compress")]
        let (offer, mut window) = (common::deflate::offer(), common::deflate::window(deflate));
        #[cfg(feature = "deflate-compress")]
        let mut state = common::deflate::deflate(&mut window, u64::MAX);
        #[cfg(feature = "deflate-compress")]
        let (mut ws, _) = match state.as_mut() {
            Some(state) => {
                let options = common::ConnectOptions {
                    extensions: Some(&offer),
                    ..common::ConnectOptions::default()
                };
                common::connect_deflate(&url, rx, tx, &options, TIMEOUT, state)
                    .map_err(|e| e.to_string())?
            }
            _ => common::connect(&url, rx, tx, &[], TIMEOUT)?,
        };
        #[cfg(not(feature = "deflate-compress"))]
        let (mut ws, _) = common::connect(&url, rx, tx, &[], TIMEOUT)?;
        let _ = deflate;
        if let Err(e) = echo(&mut ws, copy) {
            eprintln!("case {case}: {e}");
        }
        // Also after a failure: its close frame goes out before the stream is closed.
        common::finish(ws);
    }
    let url = at("/updateReports", Some(format!("agent={agent}")));
    let (mut ws, _) = common::connect(&url, rx, tx, &[], TIMEOUT)?;
    drain(&mut ws).map_err(|e| format!("updateReports: {e}"))?;
    common::finish(ws);
    println!("autobahn_client: reports updated");
    Ok(())
}

/// The number of cases: one text message, then the server closes.
fn case_count(url: &Url, rx: &mut [u8], tx: &mut [u8], storage: &mut [u8]) -> Result<u32, String> {
    let (mut ws, _) = common::connect(url, rx, tx, &[], TIMEOUT)?;
    let mut messages = Reassembler::new(SliceStorage::new(storage));
    let count = match ws.receive_message(&mut messages) {
        Ok(Message::Text(text)) => text
            .trim()
            .parse()
            .map_err(|_| format!("case count is not a number: {text:?}"))?,
        Ok(other) => return Err(format!("expected the case count, got {other:?}")),
        Err(e) => return Err(format!("getCaseCount: {e}")),
    };
    drain(&mut ws).map_err(|e| format!("getCaseCount: {e}"))?;
    common::finish(ws);
    Ok(count)
}

/// Reads until the close handshake is over.
fn drain(ws: &mut ClientWs<'_>) -> Result<(), Error<std::io::Error>> {
    loop {
        match ws.next_event() {
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Sends every data chunk back as it arrives, as a fragment of the same kind.
fn echo(ws: &mut ClientWs<'_>, copy: &mut [u8]) -> Result<(), Error<std::io::Error>> {
    // Once permessage-deflate is agreed every message goes back compressed.
    #[cfg(feature = "deflate-compress")]
    let mut compress = common::deflate::Compress::new(ws.driver().deflate_agreed());
    loop {
        let (kind, rsv, len, last) = match ws.next_event() {
            Ok(Event::Data(chunk)) => {
                let len = chunk.payload.len();
                let Some(dst) = copy.get_mut(..len) else {
                    let (buffer, needed) = (Buffer::Rx, len);
                    return Err(Error::BufferTooSmall { buffer, needed });
                };
                dst.copy_from_slice(chunk.payload);
                (chunk.kind, chunk.rsv, len, chunk.last)
            }
            Ok(Event::Ping(_) | Event::Pong(_) | Event::Close(_)) => continue,
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        };
        let payload = copy.get(..len).unwrap_or_default();
        #[cfg(feature = "deflate-compress")]
        if let Some(c) = compress.as_mut() {
            ws.send_compressed_fragment(&mut c.compressor, kind, payload, last, &mut c.out)?;
            continue;
        }
        ws.send_fragment(kind, rsv, payload, last)?;
    }
}
