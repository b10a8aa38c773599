//! The public `Driver` by hand over non-blocking `std::net::TcpStream`s (RFC 6455 §4–§7): a
//! client and a server in one thread, both sending messages far larger than their buffers at
//! the same time (a loop that stopped reading while its writes block would deadlock), a ping
//! each way, the close handshake, then the graceful end of the streams. 127.0.0.1 only; every
//! loop is bounded in count and time.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use wsmachine::connection::Endpoint;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::server::{Accept, ServerOptions};
use wsmachine::io::{Closed, Driver, Poll, TrySendError};
use wsmachine::{CloseCode, Config, DataKind, Event};

/// A deterministic RNG for the client's nonce and masks.
struct Counter(u32);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u32() as u8;
        }
    }
}

/// One end: its socket, what it sends, what it got.
struct End {
    tcp: TcpStream,
    /// The message to send, and how much of it is queued.
    outgoing: Vec<u8>,
    queued: Option<usize>,
    /// Received data, the pings and pongs seen.
    received: Vec<u8>,
    pongs: usize,
    closed: Option<Closed>,
    sent_close: bool,
}

impl End {
    fn new(tcp: TcpStream, outgoing: Vec<u8>) -> Self {
        tcp.set_nonblocking(true).unwrap();
        Self {
            tcp,
            outgoing,
            queued: None,
            received: Vec::new(),
            pongs: 0,
            closed: None,
            sent_close: false,
        }
    }

    /// One turn of the loop a firmware or a readiness-based runtime writes. Returns whether
    /// anything moved.
    fn turn<E: Endpoint>(&mut self, driver: &mut Driver<'_, E>, expected: usize) -> bool {
        if self.closed.is_some() {
            return false;
        }
        let mut moved = false;
        let mut blocked = false;
        match driver.step() {
            Poll::Write(bytes) => match self.tcp.write(bytes) {
                Ok(n) => {
                    driver.write_done(n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => blocked = true,
                Err(e) => panic!("write: {e}"),
            },
            Poll::Read { buf, .. } => match self.tcp.read(buf) {
                Ok(n) => {
                    driver.read_done(n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            },
            Poll::Request(pending) => {
                let mut headers = [httparse::EMPTY_HEADER; 16];
                let request = pending.request(&mut headers).unwrap();
                pending.accept(&request, &Accept::default()).unwrap();
                moved = true;
            }
            Poll::Open => {
                // Both ends start sending at once, and ping.
                self.queued = Some(0);
                driver.send_ping(b"hello?").unwrap();
                moved = true;
            }
            Poll::Event(event) => {
                match event {
                    Event::Data(chunk) => self.received.extend_from_slice(chunk.payload),
                    Event::Pong(p) => {
                        assert_eq!(p, b"hello?");
                        self.pongs += 1;
                    }
                    Event::Ping(_) | Event::Close(_) => {}
                }
                moved = true;
            }
            Poll::Closed(closed) => {
                self.closed = Some(closed);
                return true;
            }
        }
        if blocked {
            // Read meanwhile: the peer may be blocked writing to us.
            let buf = driver.read_buf();
            if !buf.is_empty() {
                match self.tcp.read(buf) {
                    Ok(n) => {
                        driver.read_done(n);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
        if let Some(at) = self.queued {
            match driver.send_message(DataKind::Binary, 0, &self.outgoing[at..]) {
                Ok(n) if at + n == self.outgoing.len() => self.queued = None,
                Ok(n) => self.queued = Some(at + n),
                Err(TrySendError::Full { .. }) => {}
                Err(e) => panic!("send: {e}"),
            }
        }
        // Once all is sent and received, the client closes.
        let done = self.queued.is_none() && self.received.len() == expected;
        if done && !self.sent_close && E::ROLE == wsmachine::Role::Client {
            match driver.send_close(CloseCode::NORMAL, "done") {
                Ok(()) => self.sent_close = true,
                Err(TrySendError::Full { .. }) => {}
                Err(e) => panic!("close: {e}"),
            }
        }
        moved
    }

    /// The graceful end of the stream, by hand: half-close, then read what is left (bounded).
    fn finish(self) -> usize {
        self.tcp.set_nonblocking(false).unwrap();
        self.tcp
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        self.tcp.shutdown(Shutdown::Write).unwrap();
        let mut tcp = self.tcp;
        let (mut sink, mut total) = ([0u8; 4096], 0);
        for _ in 0..16 {
            match tcp.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        total
    }
}

fn pattern(len: usize, salt: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(salt) >> 3) as u8)
        .collect()
}

#[test]
fn two_non_blocking_drivers_send_large_messages_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client_tcp = TcpStream::connect(addr).unwrap();
    let (server_tcp, _) = listener.accept().unwrap();

    let (from_client, from_server) = (pattern(3 << 20, 1), pattern(2 << 20, 2));
    let mut client = End::new(client_tcp, from_client.clone());
    let mut server = End::new(server_tcp, from_server.clone());

    let (mut crx, mut ctx) = (vec![0u8; 2048], vec![0u8; 1024]);
    let (mut srx, mut stx) = (vec![0u8; 1024], vec![0u8; 2048]);
    let request = ClientRequest::new("127.0.0.1", "/");
    let mut cd = Driver::client(&mut crx, &mut ctx, Config::DEFAULT, Counter(9), &request);
    let options = ServerOptions::default();
    let mut sd = Driver::server(&mut srx, &mut stx, Config::DEFAULT, &options);

    let start = Instant::now();
    let mut turns = 0u64;
    while client.closed.is_none() || server.closed.is_none() {
        turns += 1;
        assert!(turns < 20_000_000, "too many turns");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "stuck after {turns} turns"
        );
        let moved =
            client.turn(&mut cd, from_server.len()) | server.turn(&mut sd, from_client.len());
        if !moved {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    assert_eq!(client.received.len(), from_server.len());
    assert!(client.received == from_server, "the client got other bytes");
    assert!(server.received == from_client, "the server got other bytes");
    assert_eq!((client.pongs, server.pongs), (1, 1));
    assert_eq!(client.closed, Some(Closed::Done));
    assert_eq!(server.closed, Some(Closed::Done));
    let outcome = sd.connection().close_outcome().unwrap();
    assert!(outcome.clean);
    assert_eq!(outcome.code, CloseCode::NORMAL);
    // The server closes first (§7.1.1); the client then sees the end of the stream.
    let server_tail = server.finish();
    let client_tail = client.finish();
    assert_eq!((server_tail, client_tail), (0, 0));
}
