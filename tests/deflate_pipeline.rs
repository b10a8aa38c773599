//! The driver's receive pipeline with permessage-deflate (RFC 7692 §7.2.2; RFC 6455 §5.4,
//! §10.4): the rate limiter counts compressed messages as they arrive (1008), whole-message
//! receive gets them inflated, and a message inflating past the limit is closed with 1009,
//! through the blocking and the async adapter, in both roles, and through the sans-IO driver
//! with reads of every size.
#![cfg(all(
    feature = "deflate-compress",
    feature = "embedded-io",
    feature = "embedded-io-async"
))]

mod util;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use util::XorShift;
use wsmachine::connection::{Endpoint, Limit, OnExceed, RateLimit, RateLimiter, RateLimits};
use wsmachine::extensions::deflate::{Compressor, DeflateConfig, InflateError};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::server::{Accept, ServerOptions};
use wsmachine::io::{Closed, Deflate, Drain, Driver, Error, Step};
use wsmachine::message::{Message, Reassembler, SliceStorage};
use wsmachine::wire::frame::RSV1;
use wsmachine::{Client, CloseCode, Config, DataKind, Event, ProtocolError, Server};

/// How long a socket waits for anything.
const WAIT: Duration = Duration::from_secs(10);

/// Text that compresses, but not to nothing: words drawn from a fixed generator.
fn prose(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "deflate ",
        "window ",
        "frame ",
        "socket ",
        "message ",
        "ring ",
        "stage ",
        "limit ",
        "inflate ",
        "chunk ",
        "close ",
        "pipeline ",
    ];
    let mut rng = XorShift::new(seed);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        let word = WORDS[rand_core::RngCore::next_u32(&mut rng) as usize % WORDS.len()];
        out.extend_from_slice(word.as_bytes());
    }
    out.truncate(len);
    out
}

/// What the receiving side is given.
#[derive(Debug, Clone, Copy)]
struct Setup {
    /// A limit of this many messages (a burst of as many, no refill: the clock stays at 0).
    rate_msgs: Option<u32>,
    /// Whole-message receive into storage of this many bytes; chunks otherwise.
    whole: Option<usize>,
    /// The largest decompressed message.
    max_inflated: u64,
}

/// What the receiving side saw: the messages (chunks joined; each chunk checked to carry no
/// RSV bit) and how it ended.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<(DataKind, Vec<u8>)>,
    pings: usize,
    end: Option<String>,
}

impl Seen {
    fn end(&self) -> &str {
        self.end.as_deref().unwrap_or("")
    }
}

/// Takes a message (or a control frame) into `seen`.
fn take_message(seen: &mut Seen, message: Message<'_>) {
    match message {
        Message::Text(t) => seen.messages.push((DataKind::Text, t.as_bytes().to_vec())),
        Message::Binary(b) => seen.messages.push((DataKind::Binary, b.to_vec())),
        Message::Encoded { .. } => panic!("a compressed message came out encoded"),
        Message::Ping(_) => seen.pings += 1,
        Message::Pong(_) | Message::Close(_) => {}
    }
}

/// Takes an event into `seen`, joining chunks into messages in `current`.
fn take_event(seen: &mut Seen, current: &mut Vec<u8>, event: Event<'_>) {
    match event {
        Event::Data(chunk) => {
            assert_eq!(chunk.rsv, 0, "chunks come out inflated");
            current.extend_from_slice(chunk.payload);
            if chunk.last {
                seen.messages.push((chunk.kind, std::mem::take(current)));
            }
        }
        Event::Ping(_) => seen.pings += 1,
        Event::Pong(_) | Event::Close(_) => {}
    }
}

/// The receive loop of either adapter, `[]` or `[.await]`: events or whole messages until an
/// error, which ends `seen`.
macro_rules! receive_all {
    ($ws:expr, $setup:expr, $seen:expr, [$($await:tt)*]) => {{
        let mut storage = vec![0u8; $setup.whole.unwrap_or(0)];
        let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
        let mut current = Vec::new();
        for _ in 0..100_000 {
            let result = if $setup.whole.is_some() {
                $ws.receive_message(&mut messages) $($await)* .map(|m| take_message(&mut $seen, m))
            } else {
                $ws.next_event() $($await)* .map(|e| take_event(&mut $seen, &mut current, e))
            };
            if let Err(e) = result {
                $seen.end = Some(format!("{e:?}"));
                break;
            }
        }
    }};
}

/// A server driver with `setup`'s permessage-deflate, rate limiter; answers offers.
fn server_parts(setup: Setup) -> (Vec<u8>, Vec<u8>, Vec<u8>, RateLimiter) {
    let limits = RateLimits {
        messages: setup.rate_msgs.map(|n| RateLimit::new(0, n)),
        ..RateLimits::NONE
    };
    (
        vec![0u8; 4096],
        vec![0u8; 4096],
        vec![0u8; 1 << 15],
        RateLimiter::new(limits),
    )
}

/// A blocking server on `listener` for one connection, receiving under `setup`.
fn blocking_server(listener: TcpListener, setup: Setup) -> std::thread::JoinHandle<Seen> {
    use wsmachine::io::blocking::{NoHalfClose, WebSocket};
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let (mut rx, mut tx, mut window, mut limiter) = server_parts(setup);
        let mut deflate =
            Deflate::new(&mut window, DeflateConfig::DEFAULT, setup.max_inflated).unwrap();
        let options = ServerOptions::default();
        let mut driver =
            Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options).deflate(&mut deflate);
        if setup.rate_msgs.is_some() {
            driver = driver.rate_limiter(&mut limiter, OnExceed::Fail);
        }
        let mut ws =
            WebSocket::accept_on(FromStd::new(tcp), driver, |_| Ok(Accept::default())).unwrap();
        assert!(ws.driver().deflate_agreed().is_some());
        let mut seen = Seen::default();
        receive_all!(ws, setup, seen, []);
        ws.close_stream(NoHalfClose, Drain::DEFAULT);
        seen
    })
}

/// The same server on the async adapter, on a tokio runtime of its own thread.
fn async_server(listener: TcpListener, setup: Setup) -> std::thread::JoinHandle<Seen> {
    use embedded_io_adapters::tokio_1::FromTokio;
    use wsmachine::io::asynch::{NoHalfClose, WebSocket};
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
                .await
                .unwrap()
                .unwrap();
            let (mut rx, mut tx, mut window, mut limiter) = server_parts(setup);
            let mut deflate =
                Deflate::new(&mut window, DeflateConfig::DEFAULT, setup.max_inflated).unwrap();
            let options = ServerOptions::default();
            let mut driver =
                Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options).deflate(&mut deflate);
            if setup.rate_msgs.is_some() {
                driver = driver.rate_limiter(&mut limiter, OnExceed::Fail);
            }
            let mut ws =
                WebSocket::accept_on(FromTokio::new(tcp), driver, |_| Ok(Accept::default()))
                    .await
                    .unwrap();
            assert!(ws.driver().deflate_agreed().is_some());
            let mut seen = Seen::default();
            let work = async {
                receive_all!(ws, setup, seen, [.await]);
            };
            tokio::time::timeout(WAIT, work).await.unwrap();
            tokio::time::timeout(WAIT, ws.close_stream(NoHalfClose, Drain::DEFAULT))
                .await
                .unwrap();
            seen
        })
    })
}

/// One thing the client sends.
#[derive(Debug, Clone)]
enum Send {
    /// A compressed message, in fragments of at most `frag` compressed bytes, from pieces of
    /// `piece` bytes, with a ping after the first piece.
    Compressed {
        payload: Vec<u8>,
        frag: usize,
        piece: usize,
    },
    /// An uncompressed message.
    Plain(Vec<u8>),
}

/// A blocking client that offers permessage-deflate, sends `script` (stopping at the first
/// refused send), then reads until the connection is over; returns the close code it got.
fn client(addr: SocketAddr, script: &[Send]) -> Option<u16> {
    use wsmachine::io::blocking::WebSocket;
    let tcp = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    let (mut rx, mut tx) = (vec![0u8; 4096], vec![0u8; 4096]);
    let mut window = vec![0u8; 1 << 15];
    let mut deflate = Deflate::new(&mut window, DeflateConfig::DEFAULT, 1 << 20).unwrap();
    let offer = deflate.offer().header().unwrap();
    let request = ClientRequest {
        extensions: Some(offer.as_str()),
        ..ClientRequest::new("127.0.0.1", "/")
    };
    let driver = Driver::client_deflate(
        &mut rx,
        &mut tx,
        Config::DEFAULT,
        XorShift::new(11),
        &request,
        &mut deflate,
    );
    let (mut ws, _) = WebSocket::connect_on(FromStd::new(tcp), driver).unwrap();
    let agreed = ws.driver().deflate_agreed().expect("agreed");
    let mut compressor = Compressor::new(&agreed, 6);
    'script: for send in script {
        let sent = match send {
            Send::Compressed {
                payload,
                frag,
                piece,
            } => {
                let mut out = vec![0u8; *frag];
                let pieces: Vec<&[u8]> = payload.chunks(*piece).collect();
                if pieces.is_empty() {
                    ws.send_compressed(&mut compressor, DataKind::Text, b"", &mut out)
                } else {
                    for (i, p) in pieces.iter().enumerate() {
                        let fin = i + 1 == pieces.len();
                        let sent = ws.send_compressed_fragment(
                            &mut compressor,
                            DataKind::Text,
                            p,
                            fin,
                            &mut out,
                        );
                        if sent.is_err() {
                            break 'script;
                        }
                        if i == 0 && ws.send_ping(b"between").is_err() {
                            break 'script;
                        }
                    }
                    Ok(())
                }
            }
            Send::Plain(payload) => ws.send_binary(payload),
        };
        if sent.is_err() {
            break;
        }
    }
    // Refused once the server has failed the connection: its close is read below.
    let _ = ws.send_close(CloseCode::NORMAL, "");
    let mut code = None;
    for _ in 0..100_000 {
        match ws.next_event() {
            Ok(Event::Close(frame)) => code = Some(frame.code.0),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    code.or(ws.connection().close_outcome().map(|o| o.code.0))
}

/// Runs `script` against a server under `setup`, on each adapter in turn.
fn on_both_adapters(setup: Setup, script: &[Send], check: impl Fn(&str, Option<u16>, &Seen)) {
    for (name, server) in [
        ("blocking", blocking_server as fn(TcpListener, Setup) -> _),
        ("async", async_server),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = server(listener, setup);
        let code = client(addr, script);
        let seen = handle.join().unwrap();
        check(name, code, &seen);
    }
}

fn hello() -> Send {
    Send::Compressed {
        payload: b"Hello".to_vec(),
        frag: 64,
        piece: 64,
    }
}

#[test]
fn a_flood_of_compressed_messages_hits_the_rate_limit_with_1008() {
    for whole in [None, Some(4096)] {
        let setup = Setup {
            rate_msgs: Some(5),
            whole,
            max_inflated: 1 << 20,
        };
        let script = vec![hello(); 50];
        on_both_adapters(setup, &script, |adapter, code, seen| {
            assert_eq!(code, Some(1008), "{adapter} {whole:?}: {seen:?}");
            assert_eq!(
                seen.end(),
                format!("{:?}", Error::<()>::RateLimited(Limit::Messages)),
                "{adapter} {whole:?}"
            );
            // The burst of 5, inflated; the sixth went over.
            let hellos = vec![(DataKind::Text, b"Hello".to_vec()); 5];
            assert_eq!(seen.messages, hellos, "{adapter} {whole:?}");
        });
    }
}

#[test]
fn a_compressed_fragmented_message_arrives_whole_and_inflated() {
    // Larger than the 32 KiB window: it inflates in several passes, into the storage.
    let big = prose(100_000, 1);
    let script = [
        Send::Compressed {
            payload: big.clone(),
            frag: 200,
            piece: 7_000,
        },
        Send::Plain(b"plain".to_vec()),
        Send::Compressed {
            payload: b"Hello".to_vec(),
            frag: 2,
            piece: 2,
        },
        Send::Compressed {
            payload: Vec::new(),
            frag: 64,
            piece: 64,
        },
    ];
    let setup = Setup {
        rate_msgs: Some(100),
        whole: Some(1 << 17),
        max_inflated: 1 << 20,
    };
    on_both_adapters(setup, &script, |adapter, code, seen| {
        let expected = vec![
            (DataKind::Text, big.clone()),
            (DataKind::Binary, b"plain".to_vec()),
            (DataKind::Text, b"Hello".to_vec()),
            (DataKind::Text, Vec::new()),
        ];
        assert!(seen.messages == expected, "{adapter}: {:?}", seen.end);
        assert_eq!(seen.pings, 2, "{adapter}: the pings between fragments");
        assert_eq!(seen.end(), "Closed", "{adapter}");
        assert_eq!(
            code,
            Some(1000),
            "{adapter}: the reply to the client's close"
        );
    });
}

#[test]
fn a_compressed_message_inflating_past_the_limit_gets_1009_with_whole_messages() {
    // 50 000 bytes that compress to about a hundred: the wire limits never see them.
    let bomb = Send::Compressed {
        payload: vec![b'a'; 50_000],
        frag: 64,
        piece: 50_000,
    };
    let script = [hello(), bomb];
    // Over the decompressed limit of the `Deflate`, and over the reassembly storage.
    let cases = [
        (
            10_000,
            1 << 17,
            format!("{:?}", Error::<()>::Inflate(InflateError::TooBig)),
        ),
        (
            1 << 20,
            10_000,
            format!("{:?}", Error::<()>::Protocol(ProtocolError::MessageTooBig)),
        ),
    ];
    for (max_inflated, storage, end) in cases {
        let setup = Setup {
            rate_msgs: Some(100),
            whole: Some(storage),
            max_inflated,
        };
        on_both_adapters(setup, &script, |adapter, code, seen| {
            assert_eq!(code, Some(1009), "{adapter}: {seen:?}");
            assert_eq!(seen.end(), end, "{adapter}");
            assert_eq!(seen.messages, [(DataKind::Text, b"Hello".to_vec())]);
        });
    }
}

// The sans-IO driver, in memory: the client driver's frames fed to the server driver in reads
// of a given size.

type ClientDriver<'b> = Driver<'b, Client<XorShift>>;

/// Runs `driver` until it wants to read: answers a request, takes whole messages (or control
/// frames) into `seen`, keeps what it writes in `wrote`; the reason once it is closed.
fn run<E: Endpoint>(
    driver: &mut Driver<'_, E>,
    messages: &mut Reassembler<SliceStorage<'_>>,
    seen: &mut Seen,
    wrote: &mut Vec<u8>,
) -> Option<Closed> {
    for _ in 0..100_000 {
        match driver.advance_message(messages) {
            Step::Read => return None,
            Step::Write => {
                let out = driver.output();
                wrote.extend_from_slice(out);
                let n = out.len();
                driver.write_done(n);
            }
            Step::Open => {}
            Step::Request => {
                let pending = driver.request().unwrap();
                let mut headers = [wsmachine::httparse::EMPTY_HEADER; 32];
                let request = pending.request(&mut headers).unwrap();
                pending.accept(&request, &Accept::default()).unwrap();
            }
            Step::Event => take_message(seen, driver.message(messages).unwrap()),
            Step::Closed(closed) => return Some(closed),
        }
    }
    panic!("no end");
}

/// Feeds `wire` to `driver` in reads of at most `read` bytes, running it after each.
fn feed<E: Endpoint>(
    driver: &mut Driver<'_, E>,
    wire: &[u8],
    read: usize,
    messages: &mut Reassembler<SliceStorage<'_>>,
    seen: &mut Seen,
    wrote: &mut Vec<u8>,
) -> Option<Closed> {
    let mut at = 0;
    loop {
        if let Some(closed) = run(driver, messages, seen, wrote) {
            return Some(closed);
        }
        if at == wire.len() {
            return None;
        }
        let buf = driver.read_buf();
        assert!(!buf.is_empty(), "asked for a read into nothing");
        let n = buf.len().min(read).min(wire.len() - at);
        buf[..n].copy_from_slice(&wire[at..at + n]);
        driver.read_done(n);
        at += n;
    }
}

/// Moves everything `from` has queued into `to`, and back, until both are open.
fn handshake(server: &mut Driver<'_, Server>, client: &mut ClientDriver<'_>) {
    let mut scratch = [0u8; 0];
    let mut messages = Reassembler::new(SliceStorage::new(&mut scratch));
    let (mut seen, mut wrote) = (Seen::default(), Vec::new());
    for _ in 0..10 {
        let out = client.output().to_vec();
        client.write_done(out.len());
        assert_eq!(
            feed(
                server,
                &out,
                usize::MAX,
                &mut messages,
                &mut seen,
                &mut wrote
            ),
            None
        );
        let back = std::mem::take(&mut wrote);
        assert_eq!(
            feed(
                client,
                &back,
                usize::MAX,
                &mut messages,
                &mut seen,
                &mut wrote
            ),
            None
        );
        if server.deflate_agreed().is_some() && client.deflate_agreed().is_some() {
            return;
        }
    }
    panic!("no handshake");
}

/// Queues a message as fragments of at most `frag` compressed bytes (RSV1 on the first), with
/// a ping after the first fragment.
fn queue_compressed<E: Endpoint>(
    driver: &mut Driver<'_, E>,
    compressor: &mut Compressor,
    payload: &[u8],
    frag: usize,
) {
    let mut out = vec![0u8; payload.len() + 1024];
    let compressed = compressor
        .compress_message(payload, &mut out)
        .unwrap()
        .to_vec();
    let fragments: Vec<&[u8]> = if compressed.is_empty() {
        vec![&[]]
    } else {
        compressed.chunks(frag).collect()
    };
    for (i, fragment) in fragments.iter().enumerate() {
        let fin = i + 1 == fragments.len();
        let n = driver
            .send_fragment(DataKind::Text, RSV1, fragment, fin)
            .unwrap();
        assert_eq!(n, fragment.len(), "tx holds everything");
        if i == 0 {
            driver.send_ping(b"between").unwrap();
        }
    }
}

/// The close code in the last close frame of unmasked server output.
fn close_code_in(wrote: &[u8]) -> Option<u16> {
    wrote
        .windows(4)
        .rev()
        .find(|w| w[0] == 0x88 && w[1] == 0x02)
        .map(|w| u16::from_be_bytes([w[2], w[3]]))
}

/// A server with deflate and `limits`, a client offering it; the client's frames for
/// `messages` are fed to the server in reads of each size, whole messages coming out of
/// `storage` bytes. Returns per read size what the server saw, how it ended and the close
/// code it wrote.
fn through_the_driver(
    limits: RateLimits,
    storage: usize,
    queue: impl Fn(&mut ClientDriver<'_>, &mut Compressor),
) -> Vec<(usize, Seen, Option<Closed>, Option<u16>)> {
    let mut results = Vec::new();
    for read in [1, 2, 3, 7, 64, 139, 1000, 1 << 20] {
        // A small rx: the request head, then a few frames at a time.
        let (mut srx, mut stx) = (vec![0u8; 512], vec![0u8; 4096]);
        let (mut crx, mut ctx) = (vec![0u8; 4096], vec![0u8; 1 << 20]);
        let (mut swindow, mut cwindow) = (vec![0u8; 1 << 15], vec![0u8; 1 << 15]);
        let mut sdeflate = Deflate::new(&mut swindow, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let mut cdeflate = Deflate::new(&mut cwindow, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let offer = cdeflate.offer().header().unwrap();
        let request = ClientRequest {
            extensions: Some(offer.as_str()),
            ..ClientRequest::new("example.com", "/")
        };
        let options = ServerOptions {
            max_head_len: 512,
            ..ServerOptions::default()
        };
        let mut limiter = RateLimiter::new(limits);
        let mut server = Driver::server(&mut srx, &mut stx, Config::DEFAULT, &options)
            .deflate(&mut sdeflate)
            .rate_limiter(&mut limiter, limits.on_exceed);
        let mut client = Driver::client_deflate(
            &mut crx,
            &mut ctx,
            Config::DEFAULT,
            XorShift::new(5),
            &request,
            &mut cdeflate,
        );
        handshake(&mut server, &mut client);
        let mut compressor = Compressor::new(&client.deflate_agreed().unwrap(), 6);
        queue(&mut client, &mut compressor);
        let wire = client.output().to_vec();
        let mut buf = vec![0u8; storage];
        let mut messages = Reassembler::new(SliceStorage::new(&mut buf));
        let (mut seen, mut wrote) = (Seen::default(), Vec::new());
        let closed = feed(
            &mut server,
            &wire,
            read,
            &mut messages,
            &mut seen,
            &mut wrote,
        );
        let code = close_code_in(&wrote);
        results.push((read, seen, closed, code));
    }
    results
}

#[test]
fn the_driver_reassembles_inflated_messages_from_reads_of_any_size() {
    let big = prose(70_000, 2);
    let limits = RateLimits {
        messages: Some(RateLimit::new(0, 10)),
        ..RateLimits::NONE
    };
    let results = through_the_driver(limits, 1 << 17, |client, compressor| {
        queue_compressed(client, compressor, &big, 300);
        client.send_message(DataKind::Binary, 0, b"plain").unwrap();
        queue_compressed(client, compressor, b"Hello", 3);
        queue_compressed(client, compressor, b"", 64);
    });
    let expected = vec![
        (DataKind::Text, big.clone()),
        (DataKind::Binary, b"plain".to_vec()),
        (DataKind::Text, b"Hello".to_vec()),
        (DataKind::Text, Vec::new()),
    ];
    for (read, seen, closed, code) in results {
        assert_eq!((read, &closed, code), (read, &None, None), "{:?}", seen.end);
        assert!(seen.messages == expected, "reads of {read}");
        assert_eq!(seen.pings, 3, "reads of {read}");
    }
}

#[test]
fn the_rate_limiter_counts_the_wire_under_inflate_and_reassembly() {
    // Ten messages that inflate to 50 000 bytes each and cross the wire in about a hundred: a
    // limit of 5000 bytes lets all ten through (it counts what arrives), and stops a plain
    // message of 5000 bytes after them with 1008.
    let limits = RateLimits {
        bytes: Some(RateLimit::new(0, 5000)),
        messages: Some(RateLimit::new(0, 20)),
        ..RateLimits::NONE
    };
    let bomb = vec![b'a'; 50_000];
    let results = through_the_driver(limits, 1 << 16, |client, compressor| {
        for _ in 0..10 {
            queue_compressed(client, compressor, &bomb, 40);
        }
        client
            .send_message(DataKind::Binary, 0, &[7; 5000])
            .unwrap();
    });
    for (read, seen, closed, code) in results {
        assert_eq!(seen.messages.len(), 10, "reads of {read}");
        assert!(
            seen.messages.iter().all(|(_, m)| m == &bomb),
            "reads of {read}"
        );
        assert_eq!(
            closed,
            Some(Closed::RateLimited(Limit::Bytes)),
            "reads of {read}"
        );
        assert_eq!(code, Some(1008), "reads of {read}");
    }
    // The message limit counts compressed messages too: the sixth of five goes over.
    let limits = RateLimits {
        messages: Some(RateLimit::new(0, 5)),
        ..RateLimits::NONE
    };
    let results = through_the_driver(limits, 1 << 10, |client, compressor| {
        for i in 0..8 {
            queue_compressed(client, compressor, format!("message {i}").as_bytes(), 4);
        }
    });
    for (read, seen, closed, code) in results {
        let names: Vec<_> = (0..5)
            .map(|i| (DataKind::Text, format!("message {i}").into_bytes()))
            .collect();
        assert_eq!(seen.messages, names, "reads of {read}");
        assert_eq!(
            closed,
            Some(Closed::RateLimited(Limit::Messages)),
            "reads of {read}"
        );
        assert_eq!(code, Some(1008), "reads of {read}");
    }
}

#[test]
fn past_the_limit_inflated_or_stored_the_driver_closes_with_1009() {
    let limits = RateLimits::NONE;
    // The storage holds 10 000 bytes; the message inflates to 50 000.
    let results = through_the_driver(limits, 10_000, |client, compressor| {
        queue_compressed(client, compressor, b"Hello", 64);
        queue_compressed(client, compressor, &[b'a'; 50_000], 64);
    });
    for (read, seen, closed, code) in results {
        assert_eq!(
            seen.messages,
            [(DataKind::Text, b"Hello".to_vec())],
            "reads of {read}"
        );
        let expected = Closed::Protocol(ProtocolError::MessageTooBig);
        assert_eq!(
            (closed, code),
            (Some(expected), Some(1009)),
            "reads of {read}"
        );
    }
}

// The client's receive pipeline, on both adapters: the server sends compressed fragmented
// messages, the client takes them whole (its RSV1 is let through from the start, and refused
// unless the extension is agreed).

/// A blocking server that sends `payloads` compressed in fragments of at most 100 bytes, with
/// a ping in each, then closes.
fn sending_server(listener: TcpListener, payloads: Vec<Vec<u8>>) -> std::thread::JoinHandle<()> {
    use wsmachine::io::blocking::{NoHalfClose, WebSocket};
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let (mut rx, mut tx) = (vec![0u8; 4096], vec![0u8; 4096]);
        let mut window = vec![0u8; 1 << 15];
        let mut deflate = Deflate::new(&mut window, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let options = ServerOptions::default();
        let driver =
            Driver::server(&mut rx, &mut tx, Config::DEFAULT, &options).deflate(&mut deflate);
        let mut ws =
            WebSocket::accept_on(FromStd::new(tcp), driver, |_| Ok(Accept::default())).unwrap();
        let agreed = ws.driver().deflate_agreed().expect("agreed");
        let mut compressor = Compressor::new(&agreed, 6);
        let mut out = vec![0u8; 100];
        for payload in &payloads {
            let half = payload.len() / 2;
            ws.send_compressed_fragment(
                &mut compressor,
                DataKind::Text,
                &payload[..half],
                false,
                &mut out,
            )
            .unwrap();
            ws.send_ping(b"between").unwrap();
            ws.send_compressed_fragment(
                &mut compressor,
                DataKind::Text,
                &payload[half..],
                true,
                &mut out,
            )
            .unwrap();
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        ws.close_stream(NoHalfClose, Drain::DEFAULT);
    })
}

/// The client's parts: buffers, a window, a generous limiter.
fn client_parts() -> (Vec<u8>, Vec<u8>, Vec<u8>, RateLimiter, Vec<u8>) {
    let limits = RateLimits {
        messages: Some(RateLimit::new(0, 100)),
        ..RateLimits::NONE
    };
    let buffers = (vec![0u8; 4096], vec![0u8; 4096], vec![0u8; 1 << 15]);
    (
        buffers.0,
        buffers.1,
        buffers.2,
        RateLimiter::new(limits),
        vec![0u8; 1 << 17],
    )
}

#[test]
fn a_client_on_either_adapter_takes_compressed_messages_whole() {
    let payloads = vec![prose(80_000, 3), b"Hello".to_vec(), prose(300, 4)];
    let expected: Vec<_> = payloads
        .iter()
        .map(|p| (DataKind::Text, p.clone()))
        .collect();
    let setup = Setup {
        rate_msgs: Some(100),
        whole: Some(1 << 17),
        max_inflated: 1 << 20,
    };
    // The blocking client.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = sending_server(listener, payloads.clone());
    let seen = {
        use wsmachine::io::blocking::WebSocket;
        let (mut rx, mut tx, mut window, mut limiter, _) = client_parts();
        let mut deflate = Deflate::new(&mut window, DeflateConfig::DEFAULT, 1 << 20).unwrap();
        let offer = deflate.offer().header().unwrap();
        let request = ClientRequest {
            extensions: Some(offer.as_str()),
            ..ClientRequest::new("127.0.0.1", "/")
        };
        let tcp = TcpStream::connect_timeout(&addr, WAIT).unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let driver = Driver::client_deflate(
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            XorShift::new(21),
            &request,
            &mut deflate,
        )
        .rate_limiter(&mut limiter, OnExceed::Fail);
        let (mut ws, _) = WebSocket::connect_on(FromStd::new(tcp), driver).unwrap();
        let mut seen = Seen::default();
        receive_all!(ws, setup, seen, []);
        seen
    };
    server.join().unwrap();
    assert!(seen.messages == expected, "blocking: {:?}", seen.end);
    assert_eq!((seen.pings, seen.end()), (3, "Closed"), "blocking");

    // The async client, on tokio.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = sending_server(listener, payloads.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seen = runtime.block_on(async {
        use embedded_io_adapters::tokio_1::FromTokio;
        use wsmachine::io::asynch::WebSocket;
        let (mut rx, mut tx, mut window, mut limiter, _) = client_parts();
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
            XorShift::new(22),
            &request,
            &mut deflate,
        )
        .rate_limiter(&mut limiter, OnExceed::Fail);
        let (mut ws, _) = WebSocket::connect_on(FromTokio::new(tcp), driver)
            .await
            .unwrap();
        let mut seen = Seen::default();
        let work = async {
            receive_all!(ws, setup, seen, [.await]);
        };
        tokio::time::timeout(WAIT, work).await.unwrap();
        seen
    });
    server.join().unwrap();
    assert!(seen.messages == expected, "async: {:?}", seen.end);
    assert_eq!((seen.pings, seen.end()), (3, "Closed"), "async");
}

#[test]
fn rsv1_after_a_declined_offer_fails_the_client_with_1002_whole_or_in_chunks() {
    for whole in [false, true] {
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
        // A server without the opt-in declines; its application then sets RSV1 anyway.
        let config = Config {
            allowed_rsv: RSV1,
            ..Config::DEFAULT
        };
        let mut server = Driver::server(&mut srx, &mut stx, config, &options);
        let mut client = Driver::client_deflate(
            &mut crx,
            &mut ctx,
            Config::DEFAULT,
            XorShift::new(1),
            &request,
            &mut cdeflate,
        );
        let mut scratch = [0u8; 0];
        let mut nothing = Reassembler::new(SliceStorage::new(&mut scratch));
        let (mut seen, mut wrote) = (Seen::default(), Vec::new());
        for _ in 0..4 {
            let out = client.output().to_vec();
            client.write_done(out.len());
            feed(
                &mut server,
                &out,
                usize::MAX,
                &mut nothing,
                &mut seen,
                &mut wrote,
            );
            let back = std::mem::take(&mut wrote);
            feed(
                &mut client,
                &back,
                usize::MAX,
                &mut nothing,
                &mut seen,
                &mut wrote,
            );
        }
        assert!(client.handshake_done() && client.deflate_agreed().is_none());
        server
            .send_message(DataKind::Text, RSV1, b"\xf2\x48\xcd\xc9\xc9\x07\x00")
            .unwrap();
        let frames = server.output().to_vec();
        let closed = if whole {
            let mut storage = [0u8; 64];
            let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
            feed(
                &mut client,
                &frames,
                usize::MAX,
                &mut messages,
                &mut seen,
                &mut wrote,
            )
        } else {
            client.read_buf()[..frames.len()].copy_from_slice(&frames);
            client.read_done(frames.len());
            loop {
                match client.advance() {
                    Step::Event => panic!("{:?}", client.event()),
                    Step::Write => {
                        let n = client.output().len();
                        wrote.extend_from_slice(client.output());
                        client.write_done(n);
                    }
                    Step::Closed(closed) => break Some(closed),
                    other => panic!("{other:?}"),
                }
            }
        };
        assert!(seen.messages.is_empty());
        let expected = Closed::Protocol(ProtocolError::ReservedBits);
        assert_eq!(closed, Some(expected), "whole: {whole}");
        // The client's close is masked: its code is the last two payload bytes, unmasked.
        let close = &wrote[wrote.len() - 8..];
        assert_eq!(close[..2], [0x88, 0x82], "whole: {whole}");
        let code = [close[6] ^ close[2], close[7] ^ close[3]];
        assert_eq!(u16::from_be_bytes(code), 1002, "whole: {whole}");
    }
}

/// RAM: the driver's `Deflate` is the engine's `Receiver` and a few words (the configuration,
/// what was agreed, why it ended), not a second inflater.
#[test]
fn the_drivers_deflate_is_the_engines_receiver_and_a_few_words() {
    use std::mem::size_of;
    use wsmachine::extensions::deflate::Receiver;
    let (deflate, receiver) = (
        size_of::<Deflate<'static>>(),
        size_of::<Receiver<'static>>(),
    );
    println!("size_of::<io::Deflate>() = {deflate}, size_of::<Receiver>() = {receiver}");
    assert!(deflate <= receiver + 64, "{deflate} against {receiver}");
}
