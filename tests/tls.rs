//! `wss://` (RFC 6455 §4.1, §10.6): our client and our server over rustls, on real 127.0.0.1
//! sockets, through the blocking and the async adapters, with certificates made at test time.
//!
//! Every socket has read and write timeouts (or every async step a `timeout`), so a failure
//! is an error, never a hang. `WSMACHINE_WRITE_TEST_PKI=DIR` makes
//! `write_test_pki_when_asked` write a PKI for the interop script into `DIR` (and a second,
//! unrelated CA into `DIR/other`).

#[path = "../examples/common/tls.rs"]
mod tls;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use embedded_io_adapters::tokio_1::FromTokio;
use rand_core::{OsRng, TryRngCore};
use tls::{AsyncHalfCloseTls, AsyncStream, HalfCloseTls, Stream, TestPki};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::server::{Accept, ServerOptions};
use wsmachine::io::{Drain, Error};
use wsmachine::message::{Message, Reassembler, SliceStorage};
use wsmachine::{CloseCode, Config};

const TIMEOUT: Duration = Duration::from_secs(10);
const BUF: usize = 64 * 1024;
/// The largest message the test servers reassemble.
const MAX_MESSAGE: usize = 2 << 20;

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("wsmachine-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pki(dir: &TempDir, name: &str) -> TestPki {
    tls::test_pki(&dir.0.join(name)).unwrap()
}

fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn with_timeouts(tcp: TcpStream) -> TcpStream {
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
    tcp
}

fn tcp_to(port: u16) -> TcpStream {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    with_timeouts(TcpStream::connect_timeout(&addr, TIMEOUT).unwrap())
}

/// Accepts one connection and runs the TLS handshake on it; its result.
fn tls_server_once(listener: TcpListener, config: Arc<tls::ServerConfig>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        match tls::accept_tls(with_timeouts(tcp), &config) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e,
        }
    })
}

/// What the blocking echo server saw.
#[derive(Debug, PartialEq)]
struct Served {
    messages: usize,
    /// The client ended the TLS session with `close_notify` (a read after the close is 0).
    clean_tls_close: bool,
}

/// A blocking `wss://` echo of whole messages (reassembled, then sent back: the client writes
/// a whole large message before it reads), for one connection; then the graceful close.
fn echo_server_once(listener: TcpListener, config: Arc<tls::ServerConfig>) -> JoinHandle<Served> {
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut stream = tls::accept_tls(with_timeouts(tcp), &config).unwrap();
        assert!(stream.is_tls());
        let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
        let mut storage = vec![0u8; MAX_MESSAGE];
        let mut reassembler = Reassembler::new(SliceStorage::new(&mut storage));
        let options = ServerOptions::default();
        type Ws<'b> =
            wsmachine::io::blocking::WebSocket<'b, FromStd<&'b mut Stream>, wsmachine::Server>;
        let mut ws = Ws::accept(
            FromStd::new(&mut stream),
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            &options,
            |_| Ok(Accept::default()),
        )
        .unwrap();
        let mut messages = 0;
        loop {
            let echo = match ws.receive_message(&mut reassembler) {
                Ok(Message::Text(text)) => Some((true, text.as_bytes().to_vec())),
                Ok(Message::Binary(data)) => Some((false, data.to_vec())),
                Ok(_) => None,
                Err(Error::Closed) => break,
                Err(e) => panic!("server: {e}"),
            };
            if let Some((text, data)) = echo {
                messages += 1;
                if text {
                    ws.send_text(std::str::from_utf8(&data).unwrap()).unwrap();
                } else {
                    ws.send_binary(&data).unwrap();
                }
            }
        }
        // The server closes first (§7.1.1): close_notify, FIN, then drain the client's end.
        ws.close_stream(HalfCloseTls, Drain::DEFAULT);
        let clean_tls_close = matches!(stream.read(&mut [0u8; 16]), Ok(0));
        Served {
            messages,
            clean_tls_close,
        }
    })
}

type ClientWs<'b> = wsmachine::io::blocking::WebSocket<
    'b,
    FromStd<Stream>,
    wsmachine::Client<rand_core::UnwrapErr<OsRng>>,
>;

fn big_message() -> Vec<u8> {
    (0..1 << 20).map(|i: u32| (i % 251) as u8).collect()
}

#[test]
fn blocking_client_and_server_over_tls() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let server_config = tls::server_config(&pki.cert, &pki.key).unwrap();
    let client_config = tls::client_config(Some(&pki.ca)).unwrap();
    let (listener, port) = listener();
    let server = echo_server_once(listener, server_config);

    // An IP literal host: verified against the certificate's IP SAN.
    let stream = tls::connect_tls(tcp_to(port), "127.0.0.1", &client_config).unwrap();
    let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
    let mut storage = vec![0u8; MAX_MESSAGE];
    let mut reassembler = Reassembler::new(SliceStorage::new(&mut storage));
    let request = ClientRequest {
        port,
        secure: true,
        ..ClientRequest::new("127.0.0.1", "/")
    };
    let rng = OsRng.unwrap_err();
    let (mut ws, _) = ClientWs::connect(
        FromStd::new(stream),
        &mut rx,
        &mut tx,
        Config::DEFAULT,
        rng,
        &request,
    )
    .unwrap();

    ws.send_text("hello over TLS ✓").unwrap();
    match ws.receive_message(&mut reassembler).unwrap() {
        Message::Text(text) => assert_eq!(text, "hello over TLS ✓"),
        other => panic!("{other:?}"),
    }
    ws.send_binary(&[0, 1, 2, 255]).unwrap();
    match ws.receive_message(&mut reassembler).unwrap() {
        Message::Binary(data) => assert_eq!(data, [0, 1, 2, 255]),
        other => panic!("{other:?}"),
    }
    let big = big_message();
    ws.send_binary(&big).unwrap();
    match ws.receive_message(&mut reassembler).unwrap() {
        Message::Binary(data) => assert!(data == big, "the 1 MiB echo differs"),
        other => panic!("{other:?}"),
    }
    ws.close(CloseCode::NORMAL, "").unwrap();

    // The server half-closed first with close_notify: a clean end of the TLS stream.
    let mut stream = ws.into_inner().into_inner();
    assert!(matches!(stream.read(&mut [0u8; 16]), Ok(0)));
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let served = server.join().unwrap();
    assert_eq!(
        served,
        Served {
            messages: 3,
            clean_tls_close: true
        }
    );
}

#[test]
fn localhost_name_is_verified_too() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let (listener, port) = listener();
    let server = tls_server_once(listener, tls::server_config(&pki.cert, &pki.key).unwrap());
    let config = tls::client_config(Some(&pki.ca)).unwrap();
    let stream = tls::connect_tls(tcp_to(port), "localhost", &config).unwrap();
    assert!(stream.is_tls());
    assert_eq!(server.join().unwrap(), "ok");
}

#[test]
fn wrong_ca_is_a_clear_error_on_both_sides() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let other = pki_other(&dir);
    let (listener, port) = listener();
    let server = tls_server_once(listener, tls::server_config(&pki.cert, &pki.key).unwrap());
    let config = tls::client_config(Some(&other.ca)).unwrap();
    let err = tls::connect_tls(tcp_to(port), "127.0.0.1", &config)
        .err()
        .unwrap();
    assert!(err.contains("unknown CA"), "{err}");
    let server_err = server.join().unwrap();
    assert!(
        server_err.contains("refused our certificate"),
        "{server_err}"
    );
}

fn pki_other(dir: &TempDir) -> TestPki {
    pki(dir, "other")
}

#[test]
fn wrong_host_name_is_a_name_mismatch() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let config = tls::client_config(Some(&pki.ca)).unwrap();
    for host in ["example.com", "127.0.0.2"] {
        let (listener, port) = listener();
        let server = tls_server_once(listener, tls::server_config(&pki.cert, &pki.key).unwrap());
        let err = tls::connect_tls(tcp_to(port), host, &config).err().unwrap();
        assert!(err.contains("name mismatch"), "{host}: {err}");
        assert_ne!(server.join().unwrap(), "ok");
    }
}

#[test]
fn plain_ws_client_on_the_tls_port_is_refused() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let (listener, port) = listener();
    let server = tls_server_once(listener, tls::server_config(&pki.cert, &pki.key).unwrap());
    let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
    let request = ClientRequest {
        port,
        ..ClientRequest::new("127.0.0.1", "/")
    };
    let plain = FromStd::new(tcp_to(port));
    let result = wsmachine::io::blocking::WebSocket::connect(
        plain,
        &mut rx,
        &mut tx,
        Config::DEFAULT,
        OsRng.unwrap_err(),
        &request,
    );
    // The TLS alert is not an HTTP response (or the stream ends): a handshake error.
    let err = result.err().expect("a plain client got through a TLS port");
    assert!(!matches!(
        err,
        wsmachine::io::blocking::ConnectError::Other(Error::Io(ref e))
            if e.kind() == std::io::ErrorKind::WouldBlock
    ));
    let server_err = server.join().unwrap();
    assert!(server_err.contains("not TLS"), "{server_err}");
}

#[test]
fn tls_client_on_a_plain_port_is_refused() {
    let (listener, port) = listener();
    // A plain WebSocket server: the ClientHello is not an HTTP request.
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
        let options = ServerOptions::default();
        let ws = wsmachine::io::blocking::WebSocket::accept(
            FromStd::new(with_timeouts(tcp)),
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            &options,
            |_| Ok(Accept::default()),
        );
        ws.is_err()
    });
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let config = tls::client_config(Some(&pki.ca)).unwrap();
    let err = tls::connect_tls(tcp_to(port), "127.0.0.1", &config)
        .err()
        .unwrap();
    assert!(err.contains("not TLS"), "{err}");
    assert!(server.join().unwrap());
}

#[test]
fn async_client_and_server_over_tokio_rustls() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let server_config = tls::server_config(&pki.cert, &pki.key).unwrap();
    let client_config = tls::client_config(Some(&pki.ca)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            async_echo_once(tcp, server_config).await
        });
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let stream = tls::connect_tls_async(tcp, "localhost", &client_config)
            .await
            .unwrap();
        let mut stream = FromTokio::new(stream);
        let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
        let mut storage = vec![0u8; MAX_MESSAGE];
        let mut reassembler = Reassembler::new(SliceStorage::new(&mut storage));
        let request = ClientRequest {
            port,
            secure: true,
            ..ClientRequest::new("localhost", "/")
        };
        let (mut ws, _) = wsmachine::io::asynch::WebSocket::connect(
            &mut stream,
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            OsRng.unwrap_err(),
            &request,
        )
        .await
        .unwrap();
        ws.send_text("async ✓").await.unwrap();
        match ws.receive_message(&mut reassembler).await.unwrap() {
            Message::Text(text) => assert_eq!(text, "async ✓"),
            other => panic!("{other:?}"),
        }
        let big = big_message();
        ws.send_binary(&big).await.unwrap();
        match ws.receive_message(&mut reassembler).await.unwrap() {
            Message::Binary(data) => assert!(data == big, "the 1 MiB echo differs"),
            other => panic!("{other:?}"),
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        drop(ws);
        // The server's close_notify, then our own.
        let mut end = [0u8; 16];
        let n = tokio::io::AsyncReadExt::read(stream.inner_mut(), &mut end).await;
        assert!(matches!(n, Ok(0)), "{n:?}");
        tokio::io::AsyncWriteExt::shutdown(stream.inner_mut())
            .await
            .unwrap();
        server.await.unwrap()
    };
    let served = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), run).await })
        .expect("timed out");
    assert_eq!(
        served,
        Served {
            messages: 2,
            clean_tls_close: true
        }
    );
}

async fn async_echo_once(tcp: tokio::net::TcpStream, config: Arc<tls::ServerConfig>) -> Served {
    let stream = tls::accept_tls_async(tcp, &config).await.unwrap();
    let mut stream = FromTokio::new(stream);
    let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
    let mut storage = vec![0u8; MAX_MESSAGE];
    let mut reassembler = Reassembler::new(SliceStorage::new(&mut storage));
    let options = ServerOptions::default();
    let mut ws = wsmachine::io::asynch::WebSocket::accept(
        &mut stream,
        &mut rx,
        &mut tx,
        Config::DEFAULT,
        &options,
        |_| Ok(Accept::default()),
    )
    .await
    .unwrap();
    let mut messages = 0;
    loop {
        let echo = match ws.receive_message(&mut reassembler).await {
            Ok(Message::Text(text)) => Some((true, text.as_bytes().to_vec())),
            Ok(Message::Binary(data)) => Some((false, data.to_vec())),
            Ok(_) => None,
            Err(Error::Closed) => break,
            Err(e) => panic!("server: {e}"),
        };
        if let Some((text, data)) = echo {
            messages += 1;
            if text {
                ws.send_text(std::str::from_utf8(&data).unwrap())
                    .await
                    .unwrap();
            } else {
                ws.send_binary(&data).await.unwrap();
            }
        }
    }
    ws.close_stream(AsyncHalfCloseTls, Drain::DEFAULT).await;
    let mut end = [0u8; 16];
    let n = tokio::io::AsyncReadExt::read(stream.inner_mut(), &mut end).await;
    Served {
        messages,
        clean_tls_close: matches!(n, Ok(0)),
    }
}

#[test]
fn async_wrong_ca_and_plain_peer_fail_cleanly() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let other = pki_other(&dir);
    let server_config = tls::server_config(&pki.cert, &pki.key).unwrap();
    let wrong = tls::client_config(Some(&other.ca)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut errors = Vec::new();
            for _ in 0..2 {
                let (tcp, _) = listener.accept().await.unwrap();
                match tls::accept_tls_async(tcp, &server_config).await {
                    Ok(_) => errors.push("ok".to_owned()),
                    Err(e) => errors.push(e),
                }
            }
            errors
        });
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let err = tls::connect_tls_async(tcp, "127.0.0.1", &wrong)
            .await
            .err()
            .unwrap();
        assert!(err.contains("unknown CA"), "{err}");
        // A plain ws:// client: the server says not TLS, the client's handshake fails.
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (mut rx, mut tx) = (vec![0u8; BUF], vec![0u8; BUF]);
        let request = ClientRequest {
            port,
            ..ClientRequest::new("127.0.0.1", "/")
        };
        let plain = FromTokio::new(AsyncStream::Plain(tcp));
        let result = wsmachine::io::asynch::WebSocket::connect(
            plain,
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            OsRng.unwrap_err(),
            &request,
        )
        .await;
        assert!(result.is_err());
        server.await.unwrap()
    };
    let errors = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), run).await })
        .expect("timed out");
    assert!(errors[0].contains("refused our certificate"), "{errors:?}");
    assert!(errors[1].contains("not TLS"), "{errors:?}");
}

#[test]
fn flags_and_urls() {
    let dir = TempDir::new();
    let pki = pki(&dir, "pki");
    let (cert, key) = (
        pki.cert.display().to_string(),
        pki.key.display().to_string(),
    );
    let mut args: Vec<String> = ["127.0.0.1:9001", "--tls-cert", &cert, "--tls-key", &key]
        .map(String::from)
        .to_vec();
    assert!(tls::server_flags(&mut args).unwrap().is_some());
    assert_eq!(args, ["127.0.0.1:9001"]);
    assert!(tls::server_flags(&mut args).unwrap().is_none());
    let mut half = vec!["--tls-cert".to_owned(), cert.clone()];
    assert!(tls::server_flags(&mut half).is_err());
    let mut missing = vec!["--tls-key".to_owned()];
    assert!(tls::server_flags(&mut missing).is_err());
    let mut bad = vec![format!("--tls-cert={key}"), format!("--tls-key={key}")];
    let err = tls::server_flags(&mut bad).err().unwrap();
    assert!(err.contains("no certificate"), "{err}");

    let mut args: Vec<String> = ["wss://h/", "--ca", "ca.pem"].map(String::from).to_vec();
    assert_eq!(tls::client_flags(&mut args).unwrap(), Some("ca.pem".into()));
    assert_eq!(args, ["wss://h/"]);
    let err = tls::client_config(Some(&dir.0.join("missing.pem")))
        .err()
        .unwrap();
    assert!(err.contains("missing.pem"), "{err}");

    // The system's roots load here, or the error says what to do instead.
    if let Err(e) = tls::client_config(None) {
        assert!(e.contains("--ca"), "{e}");
    }

    let split = |u: &str| tls::split_wss(u);
    assert_eq!(split("wss://h/p?q"), ("ws://h:443/p?q".to_owned(), true));
    assert_eq!(split("wss://h:8443"), ("ws://h:8443".to_owned(), true));
    assert_eq!(
        split("wss://[::1]/x"),
        ("ws://[::1]:443/x".to_owned(), true)
    );
    assert_eq!(split("wss://[::1]:9/"), ("ws://[::1]:9/".to_owned(), true));
    assert_eq!(split("ws://h/"), ("ws://h/".to_owned(), false));
    assert!(tls::server_name("[::1]").is_ok());
    assert!(tls::server_name("bad name!").is_err());
}

/// Writes a PKI for `tests/interop/websockets_tls.py` when `WSMACHINE_WRITE_TEST_PKI=DIR` is
/// set: `DIR/{ca,cert,key}.pem`, and an unrelated CA in `DIR/other/`. Otherwise does nothing.
#[test]
fn write_test_pki_when_asked() {
    let Some(dir) = std::env::var_os("WSMACHINE_WRITE_TEST_PKI") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let pki = tls::test_pki(&dir).unwrap();
    tls::test_pki(&dir.join("other")).unwrap();
    println!(
        "wrote {}, {}, {}",
        pki.ca.display(),
        pki.cert.display(),
        pki.key.display()
    );
}
