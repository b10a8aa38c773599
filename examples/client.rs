//! A line client: each stdin line goes out as a text message; each text message received is
//! printed on its own line.
//!
//! ```text
//! cargo run --release --example client -- ws://HOST:PORT/PATH [FLAGS]
//! cargo run --release --example client -- wss://HOST[:PORT]/PATH [--ca CA.pem] [FLAGS]
//! ```
//!
//! With `wss://` (port 443 by default) it runs TLS (rustls) before the handshake and checks
//! that the server's certificate is valid for HOST (a DNS name or an IP literal) and chains to
//! a trusted root: the CA certificates of `--ca CA.pem`, or the system's roots without it. An
//! untrusted certificate (unknown CA), a name mismatch, or a server that does not speak TLS:
//! a message saying which on stderr, and exit 1.
//!
//! At the end of stdin it sends a close with 1000, waits for the server's close and exits 0.
//! It reads the socket while it waits for stdin (a thread feeds the lines through a channel;
//! the socket has a short read timeout), so messages, pings and a close from the server are
//! handled as they arrive. A failed handshake, a protocol violation by the server, or a server
//! that goes silent: a message on stderr and exit 1. A server that refuses the upgrade: its
//! status and the headers that say why (`WWW-Authenticate`, `Location`, `Retry-After`, and the
//! start of the body) on stderr, and exit 1. Every wait is bounded.
//!
//! Every flag is optional:
//!
//! | flag | effect |
//! | --- | --- |
//! | `--ca CA.pem` | for `wss://`: trust the CA certificates in this PEM file instead of the system's roots |
//! | `--header 'Name: value'` | repeatable: sent with the request (`Authorization: Bearer ...`); a name that is not a token, or a value with CR, LF or another control byte, is refused before connecting (exit 2) |
//! | `--ping-interval-ms N` | a ping after N ms without input ... |
//! | `--pong-timeout-ms M` | ... and a server silent for M ms more (default 10 000) is given up on (exit 1) |
//! | `--deflate` | offer permessage-deflate (RFC 7692; build with `--features deflate-compress`): compressed messages are inflated into a 32 KiB window, and once the server agrees every line goes out compressed |
//! | `--reconnect` | when the connection fails or ends abnormally, or the server refuses with 429 or 503, try again after a backoff (`wsmachine::reconnect::Reconnect`, honouring `Retry-After`), printing each attempt and its delay; at most 10 attempts in a row. A 4xx refusal other than 429 is final |

mod common;

use std::io::BufRead;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use common::flags::{parse_header, Flags, TLS_CLIENT_FLAGS};
use common::{ConnectFailure, ConnectOptions};
use rand_core::{OsRng, TryRngCore};
use wsmachine::connection::{DataKind, Event, TimedOut};
use wsmachine::io::Error;
use wsmachine::message::{Message, Reassembler, SliceStorage};
use wsmachine::reconnect::{Reconnect, ReconnectConfig};
use wsmachine::{CloseCode, CloseFrame, Config, ProtocolError};

/// Bounds the connect, the handshake, and the wait for the server's close.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long one socket read waits before stdin and the timers are looked at.
const POLL: Duration = Duration::from_millis(20);
/// The receive and transmit buffers.
const BUF: usize = 64 * 1024;
/// The largest message printed.
const MAX_MESSAGE: usize = 16 << 20;
/// Reconnect attempts in a row before giving up.
const MAX_ATTEMPTS: u32 = 10;

/// How the client failed: 1 for the connection, 2 for the command line.
enum Failure {
    Usage(String),
    Connect(ConnectFailure),
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Self::Connect(ConnectFailure::Other(e))
    }
}

fn main() {
    let code = match run() {
        Ok(()) => 0,
        Err(Failure::Usage(e)) => {
            eprintln!("client: {e}");
            2
        }
        Err(Failure::Connect(e)) => {
            eprintln!("client: {e}");
            1
        }
    };
    std::process::exit(code);
}

/// The lines of stdin; `None` at its end.
fn stdin_lines() -> Receiver<Option<String>> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if send.send(Some(line)).is_err() {
                return;
            }
        }
        let _ = send.send(None);
    });
    receive
}

const USAGE: &str = "usage: client ws[s]://HOST:PORT/PATH [--ca CA.pem] \
[--header 'Name: value']... [--ping-interval-ms N] [--pong-timeout-ms M] [--reconnect] [--deflate]";

fn run() -> Result<(), Failure> {
    let with_value = [
        &["header", "ping-interval-ms", "pong-timeout-ms"][..],
        TLS_CLIENT_FLAGS,
    ]
    .concat();
    let flags = Flags::parse(
        std::env::args().skip(1),
        &with_value,
        &["reconnect", "deflate"],
    )
    .map_err(|e| Failure::Usage(format!("{e}\n{USAGE}")))?;
    let url = flags
        .positional
        .first()
        .ok_or_else(|| Failure::Usage(USAGE.to_owned()))?;
    let url = common::parse_url(url).map_err(Failure::Usage)?;
    // Checked before anything is sent: a CR or LF would smuggle a header.
    let headers = flags
        .all("header")
        .map(parse_header)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Usage)?;
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let interval: Option<u32> = flags.number("ping-interval-ms").map_err(Failure::Usage)?;
    let timeout: Option<u32> = flags.number("pong-timeout-ms").map_err(Failure::Usage)?;
    let config = Config {
        keepalive_interval: interval.and_then(NonZeroU32::new),
        keepalive_timeout: timeout.unwrap_or(Config::DEFAULT.keepalive_timeout),
        ..Config::DEFAULT
    };
    let ca = flags.value("ca").map(Path::new);
    if ca.is_some() && !url.secure {
        return Err(Failure::Usage(format!("--ca is for wss:// URLs\n{USAGE}")));
    }
    let deflate = common::deflate::check(flags.switch("deflate")).map_err(Failure::Usage)?;
    // The permessage-deflate offer of `common::deflate`'s configuration.
    let offer = common::deflate::offer();
    let options = ConnectOptions {
        headers: &headers,
        config,
        ca,
        extensions: deflate.then_some(offer.as_str()),
        ..ConnectOptions::default()
    };
    let lines = stdin_lines();
    let mut storage = vec![0u8; MAX_MESSAGE];
    let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
    let mut backoff = flags.switch("reconnect").then(|| {
        Reconnect::new(ReconnectConfig {
            max_attempts: NonZeroU32::new(MAX_ATTEMPTS),
            ..ReconnectConfig::DEFAULT
        })
    });
    let start = Instant::now();
    let now = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut rng = OsRng.unwrap_err();
    loop {
        let mut connected = false;
        let result = session(&url, &options, &lines, &mut messages, &mut || {
            connected = true;
            if let Some(b) = backoff.as_mut() {
                b.connected(now());
            }
        });
        let failure = match result {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        let Some(backoff) = backoff.as_mut() else {
            return Err(Failure::Connect(failure));
        };
        eprintln!("client: {failure}");
        if connected {
            backoff.disconnected(now());
        }
        match &failure {
            ConnectFailure::Refused {
                status: 429 | 503,
                retry_after,
                ..
            } => {
                if let Some(seconds) = retry_after {
                    backoff.retry_after(u64::from(*seconds));
                }
            }
            // Asking again will not change the answer.
            ConnectFailure::Refused { .. } => return Err(Failure::Connect(failure)),
            ConnectFailure::Other(_) => {}
        }
        let Some(delay) = backoff.next_delay(now(), &mut rng) else {
            return Err(format!("gave up after {MAX_ATTEMPTS} attempts").into());
        };
        eprintln!(
            "client: reconnect attempt {} in {delay} ms",
            backoff.attempts()
        );
        std::thread::sleep(Duration::from_millis(delay));
    }
}

/// One connection, from the handshake to the end of stdin and the close handshake.
/// `connected` is called once the handshake is done.
fn session(
    url: &common::Url,
    options: &ConnectOptions<'_>,
    lines: &Receiver<Option<String>>,
    messages: &mut Reassembler<SliceStorage<'_>>,
    connected: &mut dyn FnMut(),
) -> Result<(), ConnectFailure> {
    let other = ConnectFailure::Other;
    let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
    // `--deflate`: the inflate window and the inflater's state, the messages put together
    // from inflated chunks, and the compressor once agreed.
    #[cfg(feature = "deflate-compress")]
    let mut window = common::deflate::window(options.extensions.is_some());
    #[cfg(feature = "deflate-compress")]
    let mut state = common::deflate::deflate(&mut window, MAX_MESSAGE as u64);
    #[cfg(feature = "deflate-compress")]
    let (mut ws, _) = match state.as_mut() {
        Some(state) => common::connect_deflate(url, &mut rx, &mut tx, options, TIMEOUT, state)?,
        None => common::connect_with(url, &mut rx, &mut tx, options, TIMEOUT)?,
    };
    #[cfg(not(feature = "deflate-compress"))]
    let (mut ws, _) = common::connect_with(url, &mut rx, &mut tx, options, TIMEOUT)?;
    #[cfg(feature = "deflate-compress")]
    let mut compress = common::deflate::Compress::new(ws.driver().deflate_agreed());
    #[cfg(feature = "deflate-compress")]
    let mut inflated = compress.is_some().then(Vec::new);
    #[cfg(not(feature = "deflate-compress"))]
    let mut inflated: Option<Vec<u8>> = None;
    connected();
    let stream = ws.get_mut().inner_mut();
    stream
        .set_read_timeout(Some(POLL))
        .map_err(|e| other(format!("socket setup: {e}")))?;
    let start = Instant::now();
    // When we sent our close: the server must answer by then.
    let mut closing: Option<Instant> = None;
    // The code of the server's close frame.
    let mut server_close: Option<CloseCode> = None;
    let mut silent = false;
    loop {
        while closing.is_none() {
            match lines.try_recv() {
                Ok(Some(line)) => {
                    #[cfg(feature = "deflate-compress")]
                    if let Some(c) = compress.as_mut() {
                        let (compressor, out) = (&mut c.compressor, &mut c.out);
                        ws.send_compressed(compressor, DataKind::Text, line.as_bytes(), out)
                            .map_err(|e| other(format!("send: {e}")))?;
                        continue;
                    }
                    ws.send_text(&line)
                        .map_err(|e| other(format!("send: {e}")))?;
                }
                Ok(None) | Err(TryRecvError::Disconnected) => {
                    ws.send_close(CloseCode::NORMAL, "")
                        .map_err(|e| other(format!("send close: {e}")))?;
                    closing = Some(Instant::now() + TIMEOUT);
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        let now = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        if ws.handle_timeout(now) == Some(TimedOut::Keepalive) {
            silent = true;
        }
        ws.flush().map_err(|e| other(format!("send: {e}")))?;
        let received = match inflated.as_mut() {
            Some(buf) => receive_inflated(&mut ws, buf),
            None => ws.receive_message(messages),
        };
        match received {
            Ok(Message::Text(text)) => println!("{text}"),
            Ok(Message::Binary(data)) => eprintln!("client: binary message, {} bytes", data.len()),
            // The server's close: its own, the answer to ours, or both at once.
            Ok(Message::Close(frame)) => {
                server_close = Some(frame.code);
                if !frame.reason.is_empty() {
                    eprintln!("client: server closed: {} {}", frame.code, frame.reason);
                }
            }
            Ok(_) => {}
            Err(Error::Closed) => break,
            Err(Error::Io(e)) if is_timeout(&e) => {
                if closing.is_some_and(|deadline| Instant::now() >= deadline) {
                    return Err(other("the server did not answer our close".to_owned()));
                }
            }
            Err(e) => return Err(other(e.to_string())),
        }
    }
    common::finish(ws);
    if silent {
        return Err(other("the server did not answer our ping".to_owned()));
    }
    match server_close {
        None | Some(CloseCode::NORMAL | CloseCode::GOING_AWAY | CloseCode::NO_STATUS) => Ok(()),
        Some(code) => Err(other(format!("server closed with {code}"))),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The next message when permessage-deflate is on: inflated chunks put together in `buf` (the
/// reassembler takes the connection's frames, not the inflated ones). Over [`MAX_MESSAGE`]
/// the connection fails with 1009.
fn receive_inflated<'v>(
    ws: &mut common::ClientWs<'_>,
    buf: &'v mut Vec<u8>,
) -> Result<Message<'v>, Error<std::io::Error>> {
    buf.clear();
    let kind = loop {
        match ws.next_event()? {
            Event::Data(chunk) => {
                if buf.len() + chunk.payload.len() > MAX_MESSAGE {
                    let _ = ws.connection_mut().fail(CloseCode::TOO_BIG);
                    ws.flush()?;
                    return Err(Error::Protocol(ProtocolError::MessageTooBig));
                }
                buf.extend_from_slice(chunk.payload);
                if chunk.last {
                    break chunk.kind;
                }
            }
            Event::Close(frame) => {
                let code = frame.code;
                buf.extend_from_slice(frame.reason.as_bytes());
                let reason = std::str::from_utf8(buf).unwrap_or_default();
                return Ok(Message::Close(CloseFrame { code, reason }));
            }
            Event::Ping(_) => return Ok(Message::Ping(&[])),
            Event::Pong(_) => return Ok(Message::Pong(&[])),
        }
    };
    Ok(match kind {
        // The text was checked as UTF-8 as it inflated.
        DataKind::Text => Message::Text(std::str::from_utf8(buf).unwrap_or_default()),
        DataKind::Binary => Message::Binary(buf),
    })
}
