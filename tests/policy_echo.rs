//! The policy flags of the `echo_server` example over real sockets on 127.0.0.1, in both
//! roles: 401 with `WWW-Authenticate: Bearer` (the token in the header or the query), 403 for
//! an origin off the list, 1009 past `--max-message`, 1008 past `--rate-msgs`, 503 with
//! `Retry-After` past `--max-connections` (read whole, then the end of the stream, no reset),
//! keepalive dropping a silent peer and keeping one that answers, 408 for a slowloris while
//! others are served; and the client side reporting refusals (status, `WWW-Authenticate`,
//! `Location`, `Retry-After`, body) and refusing a header with CR or LF before connecting.
//! Every wait is bounded.

#[path = "../examples/echo_server.rs"]
#[allow(dead_code)]
mod echo_server;
mod raw;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use echo_server::common::policy::Policy;
use echo_server::common::{self, ConnectFailure, ConnectOptions};
use echo_server::{serve_with, Limits};
use raw::{frame, read_frame};

/// How long a test waits for anything.
const WAIT: Duration = Duration::from_secs(10);

/// An echo server under `policy` on a free port; it runs until the test process ends.
fn server(policy: Policy) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || serve_with(&listener, Limits::default(), policy));
    addr
}

fn connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    tcp
}

/// An upgrade request for `target` with `extra` header lines.
fn request(target: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// Reads until the end of an HTTP head; returns it as text.
fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("head cut short: {other:?} after {head:?}"),
        }
    }
    String::from_utf8(head).unwrap()
}

/// Sends the request and returns the response head and the stream.
fn upgrade(addr: SocketAddr, target: &str, extra: &str) -> (String, TcpStream) {
    let mut tcp = connect(addr);
    tcp.write_all(&request(target, extra)).unwrap();
    (read_head(&mut tcp), tcp)
}

/// Reads to the end of the stream, which must end (a FIN), not be reset.
fn read_to_end_no_reset(tcp: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match tcp.read(&mut buf) {
            Ok(0) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) => panic!("not a graceful end: {e} after {seen:?}"),
        }
    }
    panic!("still open after {WAIT:?}");
}

/// Reads frames until a close; returns its code.
fn close_code(tcp: &mut TcpStream) -> u16 {
    for _ in 0..100_000 {
        let (first, payload) = read_frame(tcp);
        if first == 0x88 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
    panic!("no close");
}

fn echo(tcp: &mut TcpStream, text: &str) {
    tcp.write_all(&frame(0x81, text.as_bytes())).unwrap();
    assert_eq!(read_frame(tcp), (0x81, text.as_bytes().to_vec()));
}

fn with_token() -> Policy {
    Policy {
        token: Some("s3cr+t".to_owned()),
        ..Policy::default()
    }
}

#[test]
fn a_token_in_the_header_or_the_query_is_accepted_and_none_gets_401_bearer() {
    let addr = server(with_token());
    for (target, extra) in [
        ("/", ""),
        ("/?token=wrong", ""),
        ("/", "Authorization: Bearer wrong\r\n"),
        ("/", "Authorization: Basic czNjcit0\r\n"),
    ] {
        let (head, mut tcp) = upgrade(addr, target, extra);
        assert!(head.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{head}");
        assert!(head.contains("\r\nWWW-Authenticate: Bearer\r\n"), "{head}");
        // The body (empty) and then the end of the stream, gracefully.
        assert_eq!(read_to_end_no_reset(&mut tcp), b"");
    }
    for (target, extra) in [
        ("/", "Authorization: Bearer s3cr+t\r\n"),
        ("/echo?token=s3cr%2Bt", ""),
    ] {
        let (head, mut tcp) = upgrade(addr, target, extra);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        echo(&mut tcp, "in");
    }
}

#[test]
fn an_origin_off_the_list_gets_403_and_one_on_it_or_none_is_served() {
    let addr = server(Policy {
        origins: vec![
            "https://good.example".to_owned(),
            "http://localhost:8000".to_owned(),
        ],
        ..Policy::default()
    });
    let (head, mut tcp) = upgrade(addr, "/", "Origin: https://evil.example\r\n");
    assert!(head.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{head}");
    assert_eq!(read_to_end_no_reset(&mut tcp), b"");
    for extra in [
        "Origin: https://GOOD.example\r\n",
        "Origin: http://localhost:8000\r\n",
        "",
    ] {
        let (head, mut tcp) = upgrade(addr, "/", extra);
        assert!(head.starts_with("HTTP/1.1 101 "), "{extra}: {head}");
        echo(&mut tcp, "ok");
    }
}

#[test]
fn a_message_over_max_message_is_closed_with_1009() {
    let addr = server(Policy {
        max_message: Some(1000),
        ..Policy::default()
    });
    let (_, mut tcp) = upgrade(addr, "/", "");
    echo(&mut tcp, &"a".repeat(1000));
    tcp.write_all(&frame(0x81, &[b'a'; 1001])).unwrap();
    assert_eq!(close_code(&mut tcp), 1009);
    // In pieces too: the sum counts.
    let (_, mut tcp) = upgrade(addr, "/", "");
    tcp.write_all(&frame(0x01, &[b'a'; 600])).unwrap();
    tcp.write_all(&frame(0x80, &[b'a'; 600])).unwrap();
    let mut code = 0;
    for _ in 0..10 {
        let (first, payload) = read_frame(&mut tcp);
        if first == 0x88 {
            code = u16::from_be_bytes([payload[0], payload[1]]);
            break;
        }
    }
    assert_eq!(code, 1009);
}

#[test]
fn a_message_flood_over_rate_msgs_gets_1008_and_a_paced_client_is_served() {
    let addr = server(Policy {
        rate_msgs: Some(20),
        ..Policy::default()
    });
    // 10 a second for a second and a half: under the limit.
    let (_, mut paced) = upgrade(addr, "/", "");
    for i in 0..15 {
        echo(&mut paced, &format!("paced {i}"));
        std::thread::sleep(Duration::from_millis(100));
    }
    // 200 at once: the burst of 20 is echoed, then 1008.
    let (_, mut flood) = upgrade(addr, "/", "");
    let burst: Vec<u8> = (0..200).flat_map(|_| frame(0x81, b"flood")).collect();
    let _ = flood.write_all(&burst);
    let mut echoed = 0;
    let code = loop {
        let (first, payload) = read_frame(&mut flood);
        match first {
            0x81 => echoed += 1,
            0x88 => break u16::from_be_bytes([payload[0], payload[1]]),
            other => panic!("{other:#x}"),
        }
    };
    assert_eq!(code, 1008);
    assert!((20..=22).contains(&echoed), "{echoed}");
    // The paced one is still served.
    echo(&mut paced, "still here");
}

#[test]
fn past_max_connections_the_next_gets_503_with_retry_after_then_a_graceful_end() {
    let addr = server(Policy {
        max_connections: Some(1),
        ..Policy::default()
    });
    let (head, mut first) = upgrade(addr, "/", "");
    assert!(head.starts_with("HTTP/1.1 101 "));
    for _ in 0..3 {
        let (head, mut tcp) = upgrade(addr, "/", "");
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nRetry-After: 1\r\n"), "{head}");
        assert_eq!(read_to_end_no_reset(&mut tcp), b"");
    }
    echo(&mut first, "the first is served meanwhile");
}

#[test]
fn keepalive_drops_a_silent_peer_in_time_and_keeps_one_that_answers() {
    let (interval, timeout) = (300, 300);
    let addr = server(Policy {
        ping_interval_ms: Some(interval),
        pong_timeout_ms: Some(timeout),
        ..Policy::default()
    });
    // Silent: pinged after the interval, closed with 1001 after the timeout, then dropped.
    let (_, mut silent) = upgrade(addr, "/", "");
    let start = Instant::now();
    assert_eq!(read_frame(&mut silent).0, 0x89);
    assert_eq!(close_code(&mut silent), 1001);
    let _ = read_to_end_no_reset(&mut silent);
    let took = start.elapsed();
    let bound = Duration::from_millis(u64::from(interval + timeout) + 250);
    assert!(
        took >= Duration::from_millis(u64::from(interval + timeout)),
        "{took:?}"
    );
    assert!(took <= bound, "{took:?} > {bound:?}");
    // Answering: stays open over several intervals.
    let (_, mut alive) = upgrade(addr, "/", "");
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_millis(u64::from(interval) * 5) {
        let (first, payload) = read_frame(&mut alive);
        assert_eq!(first, 0x89, "a ping, not a close");
        alive.write_all(&frame(0x8a, &payload)).unwrap();
        pings += 1;
    }
    assert!(pings >= 3, "{pings}");
    echo(&mut alive, "alive");
}

#[test]
fn a_slowloris_gets_408_while_others_are_served() {
    let addr = server(Policy {
        handshake_timeout_ms: Some(600),
        ..Policy::default()
    });
    let request = request("/", "");
    let mut slow = connect(addr);
    let start = Instant::now();
    // One byte every 50 ms: 12 bytes by the deadline.
    let dripper = std::thread::spawn(move || {
        for byte in request.iter().take(40) {
            if slow.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        slow
    });
    // Meanwhile, another is served.
    let (head, mut other) = upgrade(addr, "/", "");
    assert!(head.starts_with("HTTP/1.1 101 "));
    echo(&mut other, "served meanwhile");
    let mut slow = dripper.join().unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match slow.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("{e}"),
        }
    }
    let took = start.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
    assert!(took < Duration::from_millis(600 + 2_000), "{took:?}");
    // A silent one gets it too, at the deadline.
    let mut silent = connect(addr);
    let start = Instant::now();
    let head = read_head(&mut silent);
    assert!(head.starts_with("HTTP/1.1 408 "), "{head}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_millis(1_200),
        "{took:?}"
    );
}

/// A one-shot HTTP server on a free port: reads a request head, answers `response`, closes
/// gracefully. Returns its address; the thread ends after one connection or 10 s.
fn refusing_server(response: &'static [u8]) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + WAIT;
        let mut tcp = loop {
            match listener.accept() {
                Ok((tcp, _)) => break tcp,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("no client: {e}"),
            }
        };
        tcp.set_nonblocking(false).unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let head = read_head(&mut tcp);
        tcp.write_all(response).unwrap();
        let _ = tcp.shutdown(std::net::Shutdown::Write);
        let _ = tcp.read(&mut [0u8; 64]);
        head.into_bytes()
    });
    (addr, handle)
}

fn client_connect(addr: SocketAddr, headers: &[(&str, &str)]) -> Result<(), ConnectFailure> {
    let url = common::parse_url(&format!("ws://{addr}/chat")).unwrap();
    let (mut rx, mut tx) = (vec![0u8; 4096], vec![0u8; 4096]);
    let options = ConnectOptions {
        headers,
        ..ConnectOptions::default()
    };
    let (ws, _) = common::connect_with(&url, &mut rx, &mut tx, &options, WAIT)?;
    common::finish(ws);
    Ok(())
}

#[test]
fn the_client_reports_a_refusal_with_the_headers_that_say_why() {
    let cases: [(&[u8], u16, &[&str]); 3] = [
        (
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n\
              Content-Length: 12\r\n\r\nwho are you?",
            401,
            &[
                "WWW-Authenticate: Bearer realm=\"chat\"",
                "Body: who are you?",
            ],
        ),
        (
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n",
            503,
            &["Retry-After: 3"],
        ),
        (
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: ws://127.0.0.1:1/elsewhere\r\n\
              Content-Length: 0\r\n\r\n",
            307,
            &["Location: ws://127.0.0.1:1/elsewhere"],
        ),
    ];
    for (response, status, lines) in cases {
        let (addr, server) = refusing_server(response);
        let failure = client_connect(addr, &[("Authorization", "Bearer t0k")]).unwrap_err();
        let ConnectFailure::Refused {
            status: got, why, ..
        } = &failure
        else {
            panic!("{failure}")
        };
        assert_eq!(*got, status);
        for line in lines {
            assert!(why.iter().any(|w| w == line), "{line} not in {why:?}");
        }
        let head = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(head.contains("\r\nAuthorization: Bearer t0k\r\n"), "{head}");
    }
    // Against our own server with a token: 401 and its challenge.
    let addr = server(with_token());
    let failure = client_connect(addr, &[]).unwrap_err();
    assert!(
        matches!(&failure, ConnectFailure::Refused { status: 401, why, .. }
            if why.iter().any(|w| w == "WWW-Authenticate: Bearer")),
        "{failure}"
    );
    client_connect(addr, &[("Authorization", "Bearer s3cr+t")]).unwrap();
}

#[test]
fn a_header_with_cr_or_lf_is_refused_before_anything_is_sent() {
    use echo_server::common::flags::parse_header;
    for bad in [
        "X-Token: a\r\nSet-Cookie: b=c",
        "X-Token: a\nb",
        "X-Token: a\rb",
        "X-A\r\nB: c",
    ] {
        assert!(parse_header(bad).is_err(), "{bad:?}");
    }
    // And the library refuses it too if it gets that far: nothing reaches the server.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let failure = client_connect(addr, &[("X-Token", "a\r\nSet-Cookie: b=c")]).unwrap_err();
    assert!(matches!(failure, ConnectFailure::Other(_)), "{failure}");
    listener.set_nonblocking(true).unwrap();
    // The TCP connection was made, but no byte of a request arrived.
    if let Ok((mut tcp, _)) = listener.accept() {
        tcp.set_nonblocking(false).unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 64];
        assert!(matches!(tcp.read(&mut buf), Ok(0) | Err(_)));
    }
}
