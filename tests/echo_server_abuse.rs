//! Bad input at the socket level against the `echo_server` example, run in-process: a peer
//! that stops mid-frame, a head that never ends, 200 clients at once, a client that vanishes
//! without a close, and the connection cap (503). The server must log, free the connection, and keep
//! serving the others. Every wait is bounded.

#[path = "../examples/echo_server.rs"]
mod echo_server;
mod raw;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use echo_server::{serve, Limits};
use raw::{frame, read_frame};

/// How long a test waits for anything.
const WAIT: Duration = Duration::from_secs(10);
/// The server's idle timeout in these tests.
const IDLE: Duration = Duration::from_millis(700);

/// Starts an echo server on a free port; it runs until the test process ends.
fn server(max_connections: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        max_connections,
        idle_timeout: IDLE,
    };
    std::thread::spawn(move || serve(&listener, limits));
    addr
}

fn connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    tcp
}

/// Reads until the end of an HTTP head; returns it.
fn read_head(tcp: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("head cut short: {other:?} after {head:?}"),
        }
    }
    head
}

/// Opens a connection and completes the handshake by hand.
fn handshake(addr: SocketAddr) -> TcpStream {
    let mut tcp = connect(addr);
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let head = read_head(&mut tcp);
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{head:?}");
    tcp
}

/// Sends a text message and reads its echo (in one or more fragments).
fn echo(tcp: &mut TcpStream, text: &str) {
    tcp.write_all(&frame(0x81, text.as_bytes())).unwrap();
    let mut got = Vec::new();
    loop {
        let (first, payload) = read_frame(tcp);
        got.extend(payload);
        if first & 0x80 != 0 {
            break;
        }
    }
    assert_eq!(got, text.as_bytes());
}

/// Closes with 1000 and checks the server echoes it and then closes the TCP connection.
fn close(mut tcp: TcpStream) {
    tcp.write_all(&frame(0x88, &[0x03, 0xe8])).unwrap();
    assert_eq!(read_frame(&mut tcp), (0x88, vec![0x03, 0xe8]));
    assert_eq!(tcp.read(&mut [0u8; 16]).unwrap(), 0);
}

/// Waits until the server drops the connection: end of stream or a reset.
fn wait_dropped(tcp: &mut TcpStream) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match tcp.read(&mut buf) {
            Ok(0) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return seen,
            Err(e) => panic!("still open after {WAIT:?}: {e}"),
        }
    }
    panic!("still open after {WAIT:?}");
}

#[test]
fn a_peer_that_stops_mid_frame_is_dropped_and_others_are_served() {
    let addr = server(256);
    let mut stalled = handshake(addr);
    let whole = frame(0x81, b"hello");
    stalled.write_all(&whole[..whole.len() - 2]).unwrap();
    // Another client is served all the while, and stays (it is never idle for long).
    let mut other = handshake(addr);
    stalled
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let start = Instant::now();
    let mut echoes = 0;
    let mut received = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        echo(&mut other, "meanwhile");
        echoes += 1;
        match stalled.read(&mut buf) {
            Ok(0) => break,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(_) => assert!(
                start.elapsed() < WAIT,
                "the stalled peer is still connected"
            ),
        }
    }
    assert!(
        start.elapsed() >= IDLE / 2,
        "dropped too early: {:?}",
        start.elapsed()
    );
    // The part that arrived was streamed back as the first fragment of the echo, and the
    // server said it was going away (1001) before closing.
    assert_eq!(received, b"\x01\x03hel\x88\x02\x03\xe9");
    assert!(echoes > 3, "{echoes}");
    echo(&mut other, "still served");
    close(other);
}

#[test]
fn a_head_that_never_ends_is_refused() {
    let addr = server(256);
    let mut tcp = connect(addr);
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    let line = [b"X-Endless: ".as_slice(), &[b'a'; 1000], b"\r\n"].concat();
    // Keep sending header lines until the server answers; it must, long before 1 MiB.
    tcp.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    let mut sent = 0;
    while sent < 1 << 20 {
        match tcp.read(&mut buf) {
            Ok(n) if n > 0 => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(_) => {}
        }
        if tcp.write_all(&line).is_err() {
            break;
        }
        sent += line.len();
    }
    assert!(sent < 1 << 20, "the server read 1 MiB of head");
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    answer.extend(wait_dropped(&mut tcp));
    assert!(answer.starts_with(b"HTTP/1.1 431 "), "{answer:?}");
    // And it serves the next one.
    let mut next = handshake(addr);
    echo(&mut next, "after the endless head");
    close(next);
}

#[test]
fn a_frame_announcing_an_absurd_length_is_closed_with_1009() {
    let addr = server(256);
    let mut tcp = handshake(addr);
    // 2^62 bytes announced, then nothing.
    tcp.write_all(&[0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])
        .unwrap();
    assert_eq!(read_frame(&mut tcp), (0x88, vec![0x03, 0xf1]));
    wait_dropped(&mut tcp);
}

#[test]
fn a_violation_with_input_behind_it_ends_with_a_close_frame_and_a_fin_not_a_reset() {
    let addr = server(256);
    for _ in 0..3 {
        let mut tcp = handshake(addr);
        // Unmasked (a violation), then far more data than the server reads before failing:
        // a socket closed with unread input is reset, and the peer may lose the close frame.
        let mut writer = tcp.try_clone().unwrap();
        let junk = std::thread::spawn(move || {
            let mut bytes = vec![0x81, 0x02, b'h', b'i'];
            for _ in 0..20 {
                bytes.extend(frame(0x82, &[7u8; 60_000]));
            }
            let _ = writer.write_all(&bytes);
        });
        assert_eq!(read_frame(&mut tcp), (0x88, vec![0x03, 0xea]));
        // The server half-closed: a clean end of stream, not a reset.
        let mut buf = [0u8; 16];
        assert_eq!(tcp.read(&mut buf).map_err(|e| e.kind()), Ok(0));
        drop(tcp);
        junk.join().unwrap();
    }
}

#[test]
fn two_hundred_clients_at_once() {
    let addr = server(256);
    let clients: Vec<_> = (0..200)
        .map(|i| {
            std::thread::spawn(move || {
                let mut tcp = handshake(addr);
                echo(&mut tcp, &format!("client {i}"));
                close(tcp);
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

#[test]
fn a_client_that_vanishes_without_a_close() {
    let addr = server(256);
    for _ in 0..20 {
        let mut tcp = handshake(addr);
        echo(&mut tcp, "here");
        // Half a frame, then gone.
        tcp.write_all(&frame(0x81, b"gone")[..3]).unwrap();
        drop(tcp);
    }
    let mut tcp = handshake(addr);
    tcp.write_all(&frame(0x81, &[b'm'; 70_000])[..10]).unwrap();
    tcp.shutdown(std::net::Shutdown::Both).unwrap();
    let mut next = handshake(addr);
    echo(&mut next, &"x".repeat(200_000));
    close(next);
}

#[test]
fn the_connection_cap_holds_and_idle_peers_free_their_slots() {
    let addr = server(2);
    let mut first = handshake(addr);
    let _second = handshake(addr);
    // The third is answered 503 with Retry-After, and closed gracefully (no reset).
    let mut third = connect(addr);
    third
        .write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let answer = wait_dropped(&mut third);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nRetry-After: 1\r\n"), "{text}");
    // Once the idle timeout frees the two, a new client is served.
    wait_dropped(&mut first);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut tcp = connect(addr);
        let _ = tcp.write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        let mut answer = [0u8; 12];
        // Until a slot is free the answer is 503.
        if tcp.read_exact(&mut answer).is_ok() && &answer != b"HTTP/1.1 503" {
            assert_eq!(&answer, b"HTTP/1.1 101");
            break;
        }
        assert!(Instant::now() < deadline, "no slot freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}
