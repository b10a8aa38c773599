//! A line client: each stdin line goes out as a text message; each text message received is
//! printed on its own line.
//!
//! ```text
//! cargo run --release --example client -- ws://HOST:PORT/PATH
//! ```
//!
//! At the end of stdin it sends a close with 1000, waits for the server's close and exits 0.
//! It reads the socket while it waits for stdin (a thread feeds the lines through a channel;
//! the socket has a short read timeout), so messages, pings and a close from the server are
//! handled as they arrive. A failed handshake, a protocol violation by the server, or a server
//! that goes silent: a message on stderr and exit 1. Every wait is bounded.

mod common;

use std::io::BufRead;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use wsmachine::io::Error;
use wsmachine::message::{Message, Reassembler, SliceStorage};
use wsmachine::CloseCode;

/// Bounds the connect, the handshake, and the wait for the server's close.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long one socket read waits before stdin is looked at again.
const POLL: Duration = Duration::from_millis(20);
/// The receive and transmit buffers.
const BUF: usize = 64 * 1024;
/// The largest message printed.
const MAX_MESSAGE: usize = 16 << 20;

fn main() {
    let code = match run() {
        Ok(()) => 0,
        Err(e) => {
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

fn run() -> Result<(), String> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: client ws://HOST:PORT/PATH")?;
    let url = common::parse_url(&url)?;
    let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
    let mut storage = vec![0u8; MAX_MESSAGE];
    let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
    let (mut ws, _) = common::connect(&url, &mut rx, &mut tx, &[], TIMEOUT)?;
    let tcp = ws.get_mut().inner_mut();
    tcp.set_read_timeout(Some(POLL))
        .map_err(|e| format!("socket setup: {e}"))?;
    let lines = stdin_lines();
    // When we sent our close: the server must answer by then.
    let mut closing: Option<Instant> = None;
    // The code of the server's close frame.
    let mut server_close: Option<CloseCode> = None;
    loop {
        while closing.is_none() {
            match lines.try_recv() {
                Ok(Some(line)) => ws.send_text(&line).map_err(|e| format!("send: {e}"))?,
                Ok(None) | Err(TryRecvError::Disconnected) => {
                    ws.send_close(CloseCode::NORMAL, "")
                        .map_err(|e| format!("send close: {e}"))?;
                    closing = Some(Instant::now() + TIMEOUT);
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        match ws.receive_message(&mut messages) {
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
                    return Err("the server did not answer our close".to_owned());
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    common::finish(ws);
    match server_close {
        None | Some(CloseCode::NORMAL | CloseCode::GOING_AWAY | CloseCode::NO_STATUS) => Ok(()),
        Some(code) => Err(format!("server closed with {code}")),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
