//! `echo_server --deflate --rate-msgs 5` over a real socket on 127.0.0.1: a client that agreed
//! permessage-deflate (RFC 7692) and floods compressed messages is closed with 1008 (RFC 6455
//! §7.4.1) after the burst, as an uncompressed flood is; a paced one is echoed, compressed.
//! Every wait is bounded.
#![cfg(feature = "deflate-compress")]

#[path = "../examples/echo_server.rs"]
#[allow(dead_code)]
mod echo_server;
mod raw;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use echo_server::common::policy::Policy;
use echo_server::{serve_with, Limits};
use raw::{frame, read_frame};

/// How long a test waits for anything.
const WAIT: Duration = Duration::from_secs(10);

/// RFC 7692 §7.2.3.1: "Hello" compressed, the tail stripped.
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let policy = Policy {
        rate_msgs: Some(5),
        deflate: true,
        ..Policy::default()
    };
    std::thread::spawn(move || serve_with(&listener, Limits::default(), policy));
    addr
}

/// Upgrades with a permessage-deflate offer (no context takeover either way, so every message
/// stands alone); returns the stream once the 101 agreed it.
fn upgrade(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; \
          server_no_context_takeover\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).unwrap(), 1, "head cut short: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("sec-websocket-extensions: permessage-deflate"),
        "{head}"
    );
    tcp
}

#[test]
fn a_compressed_flood_gets_1008_and_a_paced_client_is_echoed() {
    let addr = server();
    // 5 a second, one every 250 ms: under the limit, each echoed compressed.
    let mut paced = upgrade(addr);
    for _ in 0..6 {
        paced.write_all(&frame(0xc1, &HELLO)).unwrap();
        let (first, payload) = read_frame(&mut paced);
        assert_eq!(first, 0xc1, "echoed compressed");
        assert!(!payload.is_empty());
        std::thread::sleep(Duration::from_millis(250));
    }
    // 50 at once: the burst of 5 is echoed, then 1008.
    let mut flood = upgrade(addr);
    let burst: Vec<u8> = (0..50).flat_map(|_| frame(0xc1, &HELLO)).collect();
    let _ = flood.write_all(&burst);
    let mut echoed = 0;
    let code = loop {
        let (first, payload) = read_frame(&mut flood);
        match first {
            0xc1 => echoed += 1,
            0x88 => break u16::from_be_bytes([payload[0], payload[1]]),
            other => panic!("{other:#x}"),
        }
    };
    assert_eq!(code, 1008);
    assert!((5..=7).contains(&echoed), "{echoed}");
}
