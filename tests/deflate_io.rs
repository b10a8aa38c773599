//! permessage-deflate through the sans-IO driver (RFC 7692 §5–§7): a client and a server
//! driver in memory negotiate, inflate compressed messages into their windows, pass plain ones
//! through, and fail a bad answer with 1010.
#![cfg(all(
    feature = "deflate-compress",
    feature = "embedded-io",
    feature = "embedded-io-async"
))]

mod util;

use util::XorShift;
use wsmachine::connection::Endpoint;
use wsmachine::extensions::deflate::{Compressor, DeflateConfig};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::server::{Accept, ServerOptions};
use wsmachine::io::{Closed, Deflate, Driver, Step};
use wsmachine::wire::frame::RSV1;
use wsmachine::{Client, CloseCode, Config, DataKind, Event, Server};

type ClientDriver<'b> = Driver<'b, Client<XorShift>>;

/// Moves what `from` has queued into `to`'s receive buffer, as much as fits.
fn transfer<A: Endpoint, B: Endpoint>(from: &mut Driver<'_, A>, to: &mut Driver<'_, B>) -> bool {
    let out = from.output();
    if out.is_empty() {
        return false;
    }
    let buf = to.read_buf();
    let n = out.len().min(buf.len());
    buf[..n].copy_from_slice(&out[..n]);
    to.read_done(n);
    from.write_done(n);
    n > 0
}

/// Runs `driver` until it wants to read; collects its events as (kind, bytes, rsv) messages
/// and the close codes it sees; answers a request with `accept`.
fn run<E: Endpoint>(
    driver: &mut Driver<'_, E>,
    accept: &Accept<'_>,
    messages: &mut Vec<(DataKind, Vec<u8>)>,
    current: &mut Vec<u8>,
) -> Option<Closed> {
    loop {
        match driver.advance() {
            Step::Read | Step::Write => return None,
            Step::Open => {}
            Step::Request => {
                let pending = driver.request().unwrap();
                let mut headers = [wsmachine::httparse::EMPTY_HEADER; 32];
                let request = pending.request(&mut headers).unwrap();
                pending.accept(&request, accept).unwrap();
            }
            Step::Event => {
                if let Some(Event::Data(chunk)) = driver.event() {
                    assert_eq!(chunk.rsv, 0, "inflated chunks carry no RSV bit");
                    current.extend_from_slice(chunk.payload);
                    if chunk.last {
                        messages.push((chunk.kind, std::mem::take(current)));
                    }
                }
            }
            Step::Closed(closed) => return Some(closed),
        }
    }
}

/// Both drivers until neither has anything to do.
#[allow(clippy::too_many_arguments)]
fn settle(
    server: &mut Driver<'_, Server>,
    client: &mut ClientDriver<'_>,
    accept: &Accept<'_>,
    at_server: &mut Vec<(DataKind, Vec<u8>)>,
    at_client: &mut Vec<(DataKind, Vec<u8>)>,
) -> (Option<Closed>, Option<Closed>) {
    let (mut s_cur, mut c_cur) = (Vec::new(), Vec::new());
    let mut closed = (None, None);
    for _ in 0..10_000 {
        closed.1 = run(client, accept, at_client, &mut c_cur).or(closed.1);
        let a = transfer(client, server);
        closed.0 = run(server, accept, at_server, &mut s_cur).or(closed.0);
        let b = transfer(server, client);
        if !a && !b {
            closed.1 = run(client, accept, at_client, &mut c_cur).or(closed.1);
            return closed;
        }
    }
    panic!("no quiescence");
}

fn text(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| b"Hello, permessage-deflate! "[i % 27])
        .collect()
}

/// Sends `payload` through `driver` in as many calls as `tx` needs, moving its bytes to `to`.
fn send<A: Endpoint, B: Endpoint>(
    driver: &mut Driver<'_, A>,
    to: &mut Driver<'_, B>,
    kind: DataKind,
    rsv: u8,
    payload: &[u8],
    got: &mut Vec<(DataKind, Vec<u8>)>,
    current: &mut Vec<u8>,
) {
    let mut rest = payload;
    loop {
        match driver.send_message(kind, rsv, rest) {
            Ok(n) => rest = &rest[n..],
            Err(wsmachine::io::TrySendError::Full { .. }) => {}
            Err(e) => panic!("{e}"),
        }
        while transfer(driver, to) {
            // The receiver keeps up: its events are taken so its `rx` has room.
            assert_eq!(run(to, &Accept::default(), got, current), None);
        }
        if rest.is_empty() {
            assert_eq!(run(to, &Accept::default(), got, current), None);
            return;
        }
    }
}

#[test]
fn both_drivers_negotiate_and_inflate_compressed_messages() {
    let (mut srx, mut stx, mut crx, mut ctx) = ([0u8; 4096], [0u8; 4096], [0u8; 4096], [0u8; 4096]);
    // The server inflates into 512 bytes (9 bits); the client into 32 KiB.
    let server_config = DeflateConfig {
        receive_window_bits: 9,
        ..DeflateConfig::DEFAULT
    };
    let (mut swindow, mut cwindow) = (vec![0u8; 512], vec![0u8; 1 << 15]);
    let mut sdeflate = Deflate::new(&mut swindow, server_config, 1 << 20).unwrap();
    let mut cdeflate = Deflate::new(&mut cwindow, DeflateConfig::DEFAULT, 1 << 20).unwrap();
    let offer = cdeflate.offer().header().unwrap();
    let request = ClientRequest {
        extensions: Some(offer.as_str()),
        ..ClientRequest::new("example.com", "/")
    };
    let options = ServerOptions::default();
    let mut server =
        Driver::server(&mut srx, &mut stx, Config::DEFAULT, &options).deflate(&mut sdeflate);
    let mut client = Driver::client_deflate(
        &mut crx,
        &mut ctx,
        Config::DEFAULT,
        XorShift::new(7),
        &request,
        &mut cdeflate,
    );
    let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
    let accept = Accept::default();
    let closed = settle(
        &mut server,
        &mut client,
        &accept,
        &mut at_server,
        &mut at_client,
    );
    assert_eq!(closed, (None, None));
    let on_server = server.deflate_agreed().expect("server agreed");
    let on_client = client.deflate_agreed().expect("client agreed");
    assert_eq!(on_server.receive().window_bits, 9);
    assert_eq!(on_client.send().window_bits, 9);

    // Client to server: compressed (with the 9-bit window), then plain, then compressed.
    let mut compressor = Compressor::new(&on_client, 6);
    let mut out = vec![0u8; 1 << 16];
    let big = text(20_000);
    let c = compressor
        .compress_message(&big, &mut out)
        .unwrap()
        .to_vec();
    let mut current = Vec::new();
    send(
        &mut client,
        &mut server,
        DataKind::Text,
        RSV1,
        &c,
        &mut at_server,
        &mut current,
    );
    send(
        &mut client,
        &mut server,
        DataKind::Binary,
        0,
        b"plain",
        &mut at_server,
        &mut current,
    );
    let c = compressor
        .compress_message(b"Hello", &mut out)
        .unwrap()
        .to_vec();
    send(
        &mut client,
        &mut server,
        DataKind::Text,
        RSV1,
        &c,
        &mut at_server,
        &mut current,
    );
    assert_eq!(
        at_server,
        vec![
            (DataKind::Text, big.clone()),
            (DataKind::Binary, b"plain".to_vec()),
            (DataKind::Text, b"Hello".to_vec()),
        ]
    );

    // Server to client: compressed with the server's own compressor, checked at the client.
    let mut server_compressor = Compressor::new(&on_server, 6);
    let c = server_compressor
        .compress_message(&big, &mut out)
        .unwrap()
        .to_vec();
    let mut got = Vec::new();
    send(
        &mut server,
        &mut client,
        DataKind::Text,
        RSV1,
        &c,
        &mut got,
        &mut current,
    );
    assert_eq!(got, vec![(DataKind::Text, big.clone())]);

    // A clean close.
    client.send_close(CloseCode::NORMAL, "").unwrap();
    let closed = settle(
        &mut server,
        &mut client,
        &accept,
        &mut Vec::new(),
        &mut Vec::new(),
    );
    assert_eq!(closed, (Some(Closed::Done), Some(Closed::Done)));
}

#[test]
fn a_declined_offer_speaks_plain_and_a_bad_answer_fails_with_1010() {
    for (answer, agreed) in [(None, false), (Some("permessage-deflate; foo"), false)] {
        let (mut srx, mut stx, mut crx, mut ctx) =
            ([0u8; 1024], [0u8; 1024], [0u8; 1024], [0u8; 1024]);
        let mut cwindow = vec![0u8; 1 << 15];
        let mut cdeflate = Deflate::new(&mut cwindow, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let offer = cdeflate.offer().header().unwrap();
        let request = ClientRequest {
            extensions: Some(offer.as_str()),
            ..ClientRequest::new("example.com", "/")
        };
        let options = ServerOptions::default();
        // A server without the opt-in: it declines, or its application answers by hand.
        let mut server = Driver::server(&mut srx, &mut stx, Config::DEFAULT, &options);
        let mut client = Driver::client_deflate(
            &mut crx,
            &mut ctx,
            Config::DEFAULT,
            XorShift::new(1),
            &request,
            &mut cdeflate,
        );
        let accept = Accept {
            extensions: answer,
            ..Accept::default()
        };
        let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
        let closed = settle(
            &mut server,
            &mut client,
            &accept,
            &mut at_server,
            &mut at_client,
        );
        assert_eq!(client.deflate_agreed().is_some(), agreed);
        if answer.is_none() {
            assert_eq!(closed, (None, None));
            let mut current = Vec::new();
            send(
                &mut client,
                &mut server,
                DataKind::Text,
                0,
                b"hi",
                &mut at_server,
                &mut current,
            );
            assert_eq!(at_server, vec![(DataKind::Text, b"hi".to_vec())]);
            send(
                &mut server,
                &mut client,
                DataKind::Binary,
                0,
                b"ok",
                &mut at_client,
                &mut current,
            );
            assert_eq!(at_client, vec![(DataKind::Binary, b"ok".to_vec())]);
        } else {
            assert!(
                matches!(closed.1, Some(Closed::Negotiation(_))),
                "{closed:?}"
            );
            let outcome = server.connection().close_outcome();
            assert_eq!(
                outcome.map(|o| o.code),
                Some(CloseCode(1010)),
                "{outcome:?}"
            );
        }
    }
}

/// A blocking echo server with permessage-deflate on one connection: every message back,
/// compressed.
fn deflate_echo_server(listener: std::net::TcpListener) -> std::thread::JoinHandle<()> {
    use embedded_io_adapters::std::FromStd;
    use wsmachine::io::blocking::WebSocket;
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let (mut rx, mut tx) = (vec![0u8; 8192], vec![0u8; 8192]);
        let mut window = vec![0u8; 1 << 15];
        let mut deflate = Deflate::new(&mut window, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let options = ServerOptions::default();
        let driver =
            Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options).deflate(&mut deflate);
        let mut ws =
            WebSocket::accept_on(FromStd::new(tcp), driver, |_| Ok(Accept::default())).unwrap();
        let agreed = ws.driver().deflate_agreed().expect("agreed");
        let mut compressor = Compressor::new(&agreed, 6);
        let (mut message, mut out) = (Vec::new(), vec![0u8; 1024]);
        loop {
            match ws.next_event() {
                Ok(Event::Data(chunk)) => {
                    message.extend_from_slice(chunk.payload);
                    if chunk.last {
                        let kind = chunk.kind;
                        ws.send_compressed(&mut compressor, kind, &message, &mut out)
                            .unwrap();
                        message.clear();
                    }
                }
                Ok(_) => {}
                Err(wsmachine::io::Error::Closed) => return,
                Err(e) => panic!("server: {e}"),
            }
        }
    })
}

#[test]
fn both_adapters_take_the_opt_in_and_send_compressed() {
    use embedded_io_adapters::std::FromStd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = deflate_echo_server(listener);
    // The blocking client.
    let big = text(100_000);
    {
        use wsmachine::io::blocking::WebSocket;
        let (mut rx, mut tx) = (vec![0u8; 4096], vec![0u8; 4096]);
        let mut window = vec![0u8; 1 << 15];
        let mut deflate = Deflate::new(&mut window, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let offer = deflate.offer().header().unwrap();
        let request = ClientRequest {
            extensions: Some(offer.as_str()),
            ..ClientRequest::new("127.0.0.1", "/")
        };
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let driver = Driver::client_deflate(
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            XorShift::new(3),
            &request,
            &mut deflate,
        );
        let (mut ws, _) = WebSocket::connect_on(FromStd::new(tcp), driver).unwrap();
        let agreed = ws.driver().deflate_agreed().expect("agreed");
        let mut compressor = Compressor::new(&agreed, 6);
        let mut out = vec![0u8; 700];
        for (i, payload) in [&big[..], b"plain", b""].into_iter().enumerate() {
            if i == 1 {
                ws.send_binary(payload).unwrap();
            } else {
                ws.send_compressed(&mut compressor, DataKind::Text, payload, &mut out)
                    .unwrap();
            }
            let mut got = Vec::new();
            loop {
                match ws.next_event().unwrap() {
                    Event::Data(chunk) => {
                        assert_eq!(chunk.rsv, 0);
                        got.extend_from_slice(chunk.payload);
                        if chunk.last {
                            break;
                        }
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(got, payload);
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
    }
    server.join().unwrap();

    // The async client, on tokio.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = deflate_echo_server(listener);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use embedded_io_adapters::tokio_1::FromTokio;
        use wsmachine::io::asynch::WebSocket;
        let (mut rx, mut tx) = (vec![0u8; 4096], vec![0u8; 4096]);
        let mut window = vec![0u8; 1 << 15];
        let mut deflate = Deflate::new(&mut window, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let offer = deflate.offer().header().unwrap();
        let request = ClientRequest {
            extensions: Some(offer.as_str()),
            ..ClientRequest::new("127.0.0.1", "/")
        };
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let driver = Driver::client_deflate(
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            XorShift::new(4),
            &request,
            &mut deflate,
        );
        let (mut ws, _) = WebSocket::connect_on(FromTokio::new(tcp), driver)
            .await
            .unwrap();
        let agreed = ws.driver().deflate_agreed().expect("agreed");
        let mut compressor = Compressor::new(&agreed, 6);
        let mut out = vec![0u8; 700];
        ws.send_compressed(&mut compressor, DataKind::Text, &big, &mut out)
            .await
            .unwrap();
        let mut got = Vec::new();
        loop {
            match ws.next_event().await.unwrap() {
                Event::Data(chunk) => {
                    got.extend_from_slice(chunk.payload);
                    if chunk.last {
                        break;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, big);
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    });
    server.join().unwrap();
}

/// Compressed text that inflates to invalid UTF-8: the server driver writes its 1007 close
/// before it asks for another read (a blocking adapter waiting on that read would never send
/// it: found by the Python `websockets` interop with compression on).
#[test]
fn an_inflate_failure_writes_its_close_before_reading_again() {
    let (mut srx, mut stx, mut crx, mut ctx) = ([0u8; 4096], [0u8; 4096], [0u8; 4096], [0u8; 4096]);
    let (mut swindow, mut cwindow) = (vec![0u8; 1 << 15], vec![0u8; 1 << 15]);
    let mut sdeflate = Deflate::new(&mut swindow, DeflateConfig::DEFAULT, 1 << 20).unwrap();
    let mut cdeflate = Deflate::new(&mut cwindow, DeflateConfig::DEFAULT, 1 << 20).unwrap();
    let offer = cdeflate.offer().header().unwrap();
    let request = ClientRequest {
        extensions: Some(offer.as_str()),
        ..ClientRequest::new("example.com", "/")
    };
    let options = ServerOptions::default();
    let mut server =
        Driver::server(&mut srx, &mut stx, Config::DEFAULT, &options).deflate(&mut sdeflate);
    let mut client = Driver::client_deflate(
        &mut crx,
        &mut ctx,
        Config::DEFAULT,
        XorShift::new(9),
        &request,
        &mut cdeflate,
    );
    let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
    let accept = Accept::default();
    assert_eq!(
        settle(
            &mut server,
            &mut client,
            &accept,
            &mut at_server,
            &mut at_client
        ),
        (None, None)
    );
    let agreed = client.deflate_agreed().expect("agreed");
    let mut compressor = Compressor::new(&agreed, 6);
    let mut out = vec![0u8; 1024];
    let bad = compressor
        .compress_message(b"\xce\xba\xe1\xbd\xb9\xed\xa0\x80", &mut out)
        .unwrap()
        .to_vec();
    assert!(client.send_message(DataKind::Text, RSV1, &bad).is_ok());
    assert!(transfer(&mut client, &mut server));
    // The failure's close is queued and written first: Write, not Read.
    assert_eq!(server.advance(), Step::Write);
    assert_eq!(&server.output()[..4], &[0x88, 0x02, 0x03, 0xef]);
}
