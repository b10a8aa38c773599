//! One test suite run against both adapters, over a scripted in-memory stream (RFC 6455 §4, §5.7 examples).

use std::vec::Vec;

use crate::handshake::server::{Accept, HandshakeError, Request};
use crate::wire::frame::{FrameHeader, Status};
use crate::wire::mask::apply_mask;

/// A stream that hands out `input` at most `chunk` bytes per read, takes at most 100 bytes per
/// write, and records what is written.
#[derive(Debug)]
struct Mock {
    input: Vec<u8>,
    pos: usize,
    chunk: usize,
    output: Vec<u8>,
    reads: usize,
    half_closed: bool,
    /// How many times the stream was flushed.
    flushes: usize,
    /// Async only: each write waits once (`Pending`) before it writes.
    yield_writes: bool,
}

impl Mock {
    fn new(input: &[u8], chunk: usize) -> Self {
        Self {
            input: input.to_vec(),
            pos: 0,
            chunk,
            output: Vec::new(),
            reads: 0,
            half_closed: false,
            flushes: 0,
            yield_writes: false,
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> usize {
        self.reads += 1;
        let rest = &self.input[self.pos..];
        let n = rest.len().min(buf.len()).min(self.chunk);
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        n
    }

    /// Short writes, to exercise the write loop.
    fn write_some(&mut self, buf: &[u8]) -> usize {
        let n = buf.len().min(100);
        self.output.extend_from_slice(&buf[..n]);
        n
    }
}

#[cfg(feature = "embedded-io")]
impl embedded_io::ErrorType for Mock {
    type Error = embedded_io::ErrorKind;
}

// The same trait, re-exported: only when the blocking one is not there.
#[cfg(not(feature = "embedded-io"))]
impl embedded_io_async::ErrorType for Mock {
    type Error = embedded_io_async::ErrorKind;
}

#[cfg(feature = "embedded-io")]
impl embedded_io::Read for Mock {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.read_some(buf))
    }
}

#[cfg(feature = "embedded-io")]
impl embedded_io::Write for Mock {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(self.write_some(buf))
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.flushes += 1;
        Ok(())
    }
}

#[cfg(feature = "embedded-io-async")]
impl embedded_io_async::Read for Mock {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.read_some(buf))
    }
}

/// A future that is pending once, then ready.
#[cfg(feature = "embedded-io-async")]
struct YieldOnce(bool);

#[cfg(feature = "embedded-io-async")]
impl core::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        if self.0 {
            return core::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        core::task::Poll::Pending
    }
}

#[cfg(feature = "embedded-io-async")]
impl embedded_io_async::Write for Mock {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if self.yield_writes {
            // Cancelled here, nothing is written: the stream is cancel-safe.
            YieldOnce(false).await;
        }
        Ok(self.write_some(buf))
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.flushes += 1;
        Ok(())
    }
}

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, echo\r\n\r\n";

/// A client frame: masked with key `1 2 3 4`.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let key = [1, 2, 3, 4];
    let mut frame = vec![first, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    let start = frame.len();
    frame.extend_from_slice(payload);
    apply_mask(key, 0, &mut frame[start..]);
    frame
}

/// Splits what a server or client wrote into frames: (first byte, unmasked payload).
fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Ok(Status::Complete((header, len))) = FrameHeader::parse(bytes) else {
            panic!("not a whole frame: {bytes:?}");
        };
        let end = len + header.payload_len as usize;
        let mut payload = bytes[len..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(key, 0, &mut payload);
        }
        out.push((bytes[0], payload));
        bytes = &bytes[end..];
    }
    out
}

/// The bytes after the HTTP head in `output`.
fn after_head(output: &[u8]) -> &[u8] {
    let end = output.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    &output[end..]
}

/// The server's input: the request, "Hello" in two fragments, a ping, the close.
fn server_script() -> Vec<u8> {
    let mut input = REQUEST.to_vec();
    input.extend(masked(0x01, b"Hel"));
    input.extend(masked(0x89, b"ping"));
    input.extend(masked(0x80, b"lo"));
    input.extend(masked(0x88, &[0x03, 0xe8, b'b', b'y', b'e']));
    input
}

fn choose_echo(request: &Request<'_, '_>) -> Result<Accept<'static>, HandshakeError> {
    let echo = request.subprotocols().any(|p| p == "echo");
    Ok(Accept {
        subprotocol: echo.then_some("echo"),
        ..Default::default()
    })
}

/// What the server wrote for `server_script`: the 101 with `echo`, the pong, the close reply.
fn check_server_output(output: &[u8]) {
    let text = std::string::String::from_utf8_lossy(output);
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    assert!(text.contains("Sec-WebSocket-Protocol: echo\r\n"), "{text}");
    assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    let sent = frames(after_head(output));
    let echo: Vec<u8> = sent
        .iter()
        .filter(|(b, _)| b & 0x0f <= 2)
        .flat_map(|(_, p)| p.clone())
        .collect();
    assert_eq!(echo, b"Hello");
    assert!(sent.contains(&(0x8a, b"ping".to_vec())), "{sent:?}");
    assert_eq!(sent.last(), Some(&(0x88, vec![0x03, 0xe8])));
}

/// Always the same bytes: a known nonce, and non-zero masking keys.
#[derive(Debug)]
struct Fixed;

const FIXED: u8 = 0x5a;

impl rand_core::RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        u32::from_ne_bytes([FIXED; 4])
    }
    fn next_u64(&mut self) -> u64 {
        u64::from_ne_bytes([FIXED; 8])
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(FIXED);
    }
}

/// The server's 101 for the nonce [`Fixed`] gives, with `extra` header lines, then `frames`.
fn response_101(extra: &str, frames: &[u8]) -> Vec<u8> {
    let mut nonce_key = [0u8; crate::handshake::KEY_LEN];
    <base64ct::Base64 as base64ct::Encoding>::encode(&[FIXED; 16], &mut nonce_key).unwrap();
    let accept = crate::handshake::accept_key(&nonce_key);
    let mut input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\n"
        .to_vec();
    input.extend_from_slice(extra.as_bytes());
    input.extend_from_slice(b"Sec-WebSocket-Accept: ");
    input.extend_from_slice(&accept);
    input.extend_from_slice(b"\r\n\r\n");
    input.extend_from_slice(frames);
    input
}

/// Runs a blocking test body as it is.
#[cfg(feature = "embedded-io")]
macro_rules! run_blocking {
    ($body:expr) => {
        $body
    };
}

/// Runs an async test body on a stream that is always ready.
#[cfg(feature = "embedded-io-async")]
macro_rules! run_async {
    ($body:expr) => {
        block_on(async { $body })
    };
}

#[cfg(feature = "embedded-io-async")]
fn block_on<F: core::future::Future>(future: F) -> F::Output {
    use core::task::{Context, Poll};
    use std::sync::Arc;
    use std::task::Wake;

    struct NoWake;
    impl Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Arc::new(NoWake).into();
    let mut cx = Context::from_waker(&waker);
    let mut future = core::pin::pin!(future);
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("a future over an always-ready stream did not finish");
}

/// The suite, for the adapter module `$adapter`, with `$run` to run a body and `$await`
/// (nothing or `.await`) after each adapter call.
macro_rules! suite {
    ($adapter:ident, $run:ident, [$($async:tt)*] [$($await:tt)*]) => {
        mod $adapter {
            use super::*;
            use crate::handshake::client::{ClientRequest, ResponseError};
            use crate::handshake::server::ServerOptions;
            use crate::io::$adapter::WebSocket;
            use crate::io::{Buffer, Drain, Error, HandshakeFailure};
            use crate::message::{Message, Reassembler, SliceStorage};
            use crate::{CloseCode, Config, DataKind, Event, ProtocolError, SendError};

            /// Serves `server_script` read `chunk` bytes at a time, echoing each chunk as a
            /// fragment.
            $($async)* fn echo_server(chunk: usize) -> Vec<u8> {
                let (mut rx, mut tx, mut copy) = ([0u8; 512], [0u8; 512], [0u8; 512]);
                let mock = Mock::new(&server_script(), chunk);
                let opts = ServerOptions::default();
                let mut ws = WebSocket::accept(mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                    $($await)* .unwrap();
                let mut events = Vec::new();
                loop {
                    let (kind, n, last) = match ws.next_event() $($await)* {
                        Ok(Event::Data(c)) => {
                            copy[..c.payload.len()].copy_from_slice(c.payload);
                            (c.kind, c.payload.len(), c.last)
                        }
                        Ok(Event::Close(c)) => {
                            events.push(std::format!("close {} {}", c.code, c.reason));
                            continue;
                        }
                        Ok(Event::Ping(p)) => {
                            events.push(std::format!("ping {}", p.len()));
                            continue;
                        }
                        Ok(e) => panic!("{e:?}"),
                        Err(Error::Closed) => break,
                        Err(e) => panic!("{e:?}"),
                    };
                    ws.send_fragment(kind, 0, &copy[..n], last) $($await)* .unwrap();
                }
                assert_eq!(events, ["ping 4", "close 1000 bye"]);
                // Once closed, it stays closed.
                assert_eq!(ws.next_event() $($await)* .unwrap_err(), Error::Closed);
                ws.into_inner().output
            }

            #[test]
            fn server_echoes_whatever_the_read_size() {
                for chunk in [1, 2, 3, 7, 64, 1000] {
                    check_server_output(&$run!(echo_server(chunk) $($await)*));
                }
            }

            #[test]
            fn whole_messages_with_a_ping_between_fragments() {
                let (mut rx, mut tx, mut storage) = ([0u8; 256], [0u8; 256], [0u8; 16]);
                let mut input = server_script();
                let close = input.split_off(input.len() - 11);
                input.extend(masked(0x82, b"whole"));
                input.extend(close);
                let mock = Mock::new(&input, 5);
                let opts = ServerOptions::default();
                $run!({
                    let mut ws = WebSocket::accept(mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                        $($await)* .unwrap();
                    let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
                    assert_eq!(ws.receive_message(&mut messages) $($await)*, Ok(Message::Ping(b"ping")));
                    assert_eq!(ws.receive_message(&mut messages) $($await)*, Ok(Message::Text("Hello")));
                    assert_eq!(ws.receive_message(&mut messages) $($await)*, Ok(Message::Binary(b"whole")));
                    let Ok(Message::Close(close)) = ws.receive_message(&mut messages) $($await)* else {
                        panic!("expected the close");
                    };
                    assert_eq!((close.code, close.reason), (CloseCode::NORMAL, "bye"));
                    assert_eq!(ws.receive_message(&mut messages) $($await)*, Err(Error::Closed));
                })
            }

            #[test]
            fn message_too_big_for_the_storage_closes_with_1009() {
                let mut input = REQUEST.to_vec();
                input.extend(masked(0x01, b"Hel"));
                input.extend(masked(0x80, b"lo"));
                let (mut rx, mut tx, mut storage) = ([0u8; 256], [0u8; 256], [0u8; 4]);
                let opts = ServerOptions::default();
                let out = $run!({
                    let mock = Mock::new(&input, 64);
                    let mut ws = WebSocket::accept(mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                        $($await)* .unwrap();
                    let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
                    let err = ws.receive_message(&mut messages) $($await)* .unwrap_err();
                    assert_eq!(err, Error::Protocol(ProtocolError::MessageTooBig));
                    assert_eq!(err.close_code(), Some(CloseCode::TOO_BIG));
                    ws.into_inner().output
                });
                assert_eq!(frames(after_head(&out)), [(0x88, vec![0x03, 0xf1])]);
            }

            #[test]
            fn protocol_error_writes_its_close_then_reports_once() {
                let mut input = REQUEST.to_vec();
                input.extend([0x81, 0x02, b'h', b'i']); // unmasked from a client
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let opts = ServerOptions::default();
                let out = $run!({
                    let mock = Mock::new(&input, 64);
                    let mut ws = WebSocket::accept(mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                        $($await)* .unwrap();
                    assert_eq!(
                        ws.next_event() $($await)* .unwrap_err(),
                        Error::Protocol(ProtocolError::UnmaskedFrame)
                    );
                    assert_eq!(ws.next_event() $($await)* .unwrap_err(), Error::Closed);
                    assert_eq!(ws.send_text("late") $($await)*, Err(Error::Send(SendError::Closed)));
                    ws.into_inner().output
                });
                assert_eq!(frames(after_head(&out)), [(0x88, vec![0x03, 0xea])]);
            }

            #[test]
            fn eof_refused_requests_and_small_buffers() {
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let opts = ServerOptions::default();
                let mut input = REQUEST.to_vec();
                input.extend(&masked(0x81, b"hi")[..4]); // stops mid-frame
                $run!({
                    let mut ws = WebSocket::accept(Mock::new(&input, 64), &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                        $($await)* .unwrap();
                    assert_eq!(ws.next_event() $($await)* .unwrap_err(), Error::UnexpectedEof);
                    assert_eq!(ws.next_event() $($await)* .unwrap_err(), Error::UnexpectedEof);
                });

                let bad = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
                let mut mock = Mock::new(bad, 64);
                let err = $run!(WebSocket::accept(&mut mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                    $($await)* .unwrap_err());
                assert_eq!(err, Error::Handshake(HandshakeFailure::Request(HandshakeError::Upgrade)));
                assert!(mock.output.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));

                // The application refuses: 403.
                let mut mock = Mock::new(REQUEST, 64);
                let refuse = |_: &Request<'_, '_>| -> Result<Accept<'static>, _> { Err(HandshakeError::Origin) };
                let err = $run!(WebSocket::accept(&mut mock, &mut rx, &mut tx, Config::DEFAULT, &opts, refuse)
                    $($await)* .unwrap_err());
                assert_eq!(err, Error::Handshake(HandshakeFailure::Request(HandshakeError::Origin)));
                assert!(mock.output.starts_with(b"HTTP/1.1 403 "));

                // A head that never ends is refused once the receive buffer is full, with 431;
                // the error says `rx` is smaller than the head limit.
                let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
                endless.resize(4096, b'a');
                let mut mock = Mock::new(&endless, 64);
                let err = $run!(WebSocket::accept(&mut mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                    $($await)* .unwrap_err());
                assert_eq!(err, Error::BufferTooSmall { buffer: Buffer::Rx, needed: 4096 });
                assert!(mock.output.starts_with(b"HTTP/1.1 431 "));
                // Within the limit it is the head that is too large.
                let small = ServerOptions { max_head_len: 200, ..ServerOptions::default() };
                let mut mock = Mock::new(&endless, 64);
                let err = $run!(WebSocket::accept(&mut mock, &mut rx, &mut tx, Config::DEFAULT, &small, choose_echo)
                    $($await)* .unwrap_err());
                assert_eq!(err, Error::Handshake(HandshakeFailure::Request(HandshakeError::HeadTooLarge)));
                assert!(mock.output.starts_with(b"HTTP/1.1 431 "));

                let (mut small, mut tx) = ([0u8; 138], [0u8; 256]);
                let err = $run!(WebSocket::accept(Mock::new(REQUEST, 64), &mut small, &mut tx, Config::DEFAULT, &opts, choose_echo)
                    $($await)* .unwrap_err());
                assert_eq!(err, Error::BufferTooSmall { buffer: Buffer::Rx, needed: 139 });
            }

            #[test]
            fn the_application_rejects_with_its_own_response() {
                let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
                let opts = ServerOptions::default();
                let mut mock = Mock::new(REQUEST, 64);
                let err = $run!({
                    let driver = crate::io::Driver::server(&mut rx, &mut tx, Config::DEFAULT, &opts);
                    let reject = |pending: crate::io::PendingRequest<'_>| {
                        let rejection = crate::handshake::Rejection::unauthorized_bearer(None);
                        pending.reject(&rejection).unwrap();
                    };
                    WebSocket::accept_with(&mut mock, driver, reject) $($await)* .unwrap_err()
                });
                assert_eq!(err, Error::Handshake(HandshakeFailure::Rejected { status: 401 }));
                assert!(mock.output.starts_with(b"HTTP/1.1 401 Unauthorized\r\n"));
            }

            #[test]
            fn client_buffer_errors_name_the_buffer_and_the_size() {
                let request = ClientRequest::new("example.com", "/chat");
                // A response head of more than 200 bytes, into a 200-byte rx.
                let long = "X-Padding: ".to_owned() + &"p".repeat(120) + "\r\n";
                let input = response_101(&long, b"");
                let (mut rx, mut tx) = ([0u8; 200], [0u8; 256]);
                let err = $run!(WebSocket::connect(Mock::new(&input, 64), &mut rx, &mut tx, Config::DEFAULT, Fixed, &request)
                    $($await)* .map_err(Error::from).unwrap_err());
                assert_eq!(err, Error::BufferTooSmall { buffer: Buffer::Rx, needed: 4096 });
                // The request does not fit a 150-byte tx.
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 150]);
                let err = $run!(WebSocket::connect(Mock::new(&input, 64), &mut rx, &mut tx, Config::DEFAULT, Fixed, &request)
                    $($await)* .map_err(Error::from).unwrap_err());
                let Error::BufferTooSmall { buffer: Buffer::Tx, needed } = err else { panic!("{err:?}") };
                assert!(needed > 150 && needed < 256, "{needed}");
                // With that much room, it connects.
                let (mut rx, mut tx) = ([0u8; 4096], [0u8; 256]);
                $run!(WebSocket::connect(Mock::new(&input, 64), &mut rx, &mut tx, Config::DEFAULT, Fixed, &request)
                    $($await)* .unwrap());
            }

            /// A client's handshake against a scripted 101, then a message larger than `tx`.
            #[test]
            fn client_connects_and_sends_more_than_its_buffer() {
                let input = response_101("Sec-WebSocket-Protocol: b\r\n", b"\x81\x02hi");
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 200]);
                let offered = ["a", "b"];
                let request = ClientRequest {
                    subprotocols: &offered,
                    ..ClientRequest::new("example.com", "/chat")
                };
                let big: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
                let out = $run!({
                    let (mut ws, chosen) = WebSocket::connect(Mock::new(&input, 3), &mut rx, &mut tx, Config::DEFAULT, Fixed, &request)
                        $($await)* .unwrap();
                    assert_eq!(chosen, Some("b"));
                    // Read 3 bytes at a time, "hi" streams in as two chunks.
                    let mut got = Vec::new();
                    loop {
                        let Ok(Event::Data(chunk)) = ws.next_event() $($await)* else {
                            panic!("expected data");
                        };
                        assert_eq!(chunk.first, got.is_empty());
                        got.extend_from_slice(chunk.payload);
                        if chunk.last {
                            break;
                        }
                    }
                    assert_eq!(got, b"hi");
                    ws.send_binary(&big) $($await)* .unwrap();
                    ws.send_fragment(DataKind::Text, 0, b"ab", false) $($await)* .unwrap();
                    ws.send_fragment(DataKind::Text, 0, &[b'c'; 300], true) $($await)* .unwrap();
                    ws.send_frame_header(DataKind::Binary, 0, 5, true) $($await)* .unwrap();
                    ws.send_payload(b"12") $($await)* .unwrap();
                    ws.send_payload(b"345") $($await)* .unwrap();
                    assert_eq!(
                        ws.send_payload(b"6") $($await)* .unwrap_err(),
                        Error::Send(SendError::PayloadLengthMismatch)
                    );
                    ws.send_ping(b"p") $($await)* .unwrap();
                    // The script has no close: the stream ends first.
                    assert_eq!(ws.close(CloseCode::NORMAL, "") $($await)*, Err(Error::UnexpectedEof));
                    ws.into_inner().output
                });
                assert!(out.starts_with(b"GET /chat HTTP/1.1\r\n"));
                let sent = frames(after_head(&out));
                assert_eq!(sent[0], (0x82, big));
                assert_eq!(sent[1], (0x01, b"ab".to_vec()));
                assert_eq!(sent[2], (0x80, vec![b'c'; 300]));
                assert_eq!(sent[3], (0x82, b"12345".to_vec()));
                assert_eq!(sent[4], (0x89, b"p".to_vec()));
                assert_eq!(sent[5], (0x88, vec![0x03, 0xe8]));
                // Every frame a client sends is masked.
                assert_eq!(after_head(&out)[1] & 0x80, 0x80);
            }

            #[test]
            fn the_stream_is_flushed_per_send_call_and_frame_not_per_piece() {
                let input = response_101("", b"");
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let request = ClientRequest::new("example.com", "/");
                let piece = [7u8; 200];
                let (flushes, out) = $run!({
                    let (mut ws, _) = WebSocket::connect(Mock::new(&input, 1000), &mut rx, &mut tx, Config::DEFAULT, Fixed, &request)
                        $($await)* .unwrap();
                    // The request was flushed before the response was read.
                    let before = ws.get_ref().flushes;
                    assert_eq!(before, 1);
                    // 64 KiB in 200-byte pieces: one flush, at the frame's end.
                    let total = 65_536u64;
                    ws.send_frame_header(DataKind::Binary, 0, total, true) $($await)* .unwrap();
                    let mut left = total as usize;
                    while left > 0 {
                        let n = left.min(piece.len());
                        ws.send_payload(&piece[..n]) $($await)* .unwrap();
                        left -= n;
                    }
                    assert_eq!(ws.get_ref().flushes, before + 1);
                    // A message larger than `tx`: one flush for the call.
                    ws.send_binary(&[1u8; 5000]) $($await)* .unwrap();
                    assert_eq!(ws.get_ref().flushes, before + 2);
                    ws.send_ping(b"p") $($await)* .unwrap();
                    assert_eq!(ws.get_ref().flushes, before + 3);
                    let out = ws.into_inner();
                    (out.flushes, out.output)
                });
                assert_eq!(flushes, 4);
                let sent = frames(after_head(&out));
                assert_eq!(sent[0].1.len(), 65_536);
                assert_eq!(sent[1], (0x82, vec![1u8; 5000]));
                assert_eq!(sent[2], (0x89, b"p".to_vec()));
            }

            #[test]
            fn client_reports_a_refusal_with_its_status_headers_and_body() {
                let input = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n\
                    Retry-After: 7\r\nLocation: /login\r\nContent-Length: 5\r\n\r\nnope!and more";
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let request = ClientRequest::new("example.com", "/");
                let err = $run!(WebSocket::connect(Mock::new(input, 7), &mut rx, &mut tx, Config::DEFAULT, Fixed, &request)
                    $($await)* .unwrap_err());
                let crate::io::$adapter::ConnectError::Refused(refusal) = err else { panic!("{err:?}") };
                assert_eq!(refusal.status, 401);
                assert_eq!(refusal.reason, "Unauthorized");
                assert_eq!(refusal.www_authenticate, Some("Bearer realm=\"chat\""));
                assert_eq!(refusal.location, Some("/login"));
                assert_eq!(refusal.retry_after, Some(crate::handshake::client::RetryAfter::Seconds(7)));
                assert_eq!(refusal.body, b"nope!");
                // Into the adapter's error, the status stays.
                assert_eq!(
                    Error::from(err),
                    Error::Handshake(HandshakeFailure::Response(ResponseError::Refused { status: 401 }))
                );
            }

            #[test]
            fn accept_or_reject_writes_the_rejection_whole() {
                let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
                let opts = ServerOptions::default();
                let mut mock = Mock::new(REQUEST, 5);
                let err = $run!({
                    let driver = crate::io::Driver::server(&mut rx, &mut tx, Config::DEFAULT, &opts);
                    WebSocket::accept_or_reject(&mut mock, driver, |request| {
                        assert_eq!(request.bearer_token(), None);
                        Err(crate::handshake::Rejection::unauthorized_bearer(None))
                    }) $($await)* .unwrap_err()
                });
                assert_eq!(err, Error::Handshake(HandshakeFailure::Rejected { status: 401 }));
                let text = std::string::String::from_utf8(mock.output.clone()).unwrap();
                assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"), "{text}");
                assert!(text.ends_with("\r\n\r\n"), "{text}");
                // A rejection with a header that could smuggle another is not written at all.
                let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
                let mut mock = Mock::new(REQUEST, 64);
                let err = $run!({
                    let driver = crate::io::Driver::server(&mut rx, &mut tx, Config::DEFAULT, &opts);
                    WebSocket::accept_or_reject(&mut mock, driver, |_| {
                        Err(crate::handshake::Rejection {
                            headers: &[("X-Why", "a\r\nSet-Cookie: x=y")],
                            ..crate::handshake::Rejection::forbidden()
                        })
                    }) $($await)* .unwrap_err()
                });
                assert!(matches!(err, Error::Handshake(HandshakeFailure::Write(_))), "{err:?}");
                assert!(mock.output.is_empty());
            }

            #[test]
            fn a_report_limiter_pauses_reads_and_resumes_on_the_clock() {
                use crate::connection::{OnExceed, RateLimit, RateLimiter, RateLimits};
                let limits = RateLimits {
                    messages: Some(RateLimit::new(2, 1)),
                    on_exceed: OnExceed::Report,
                    ..RateLimits::NONE
                };
                let mut limiter = RateLimiter::new(limits);
                let one = masked(0x81, b"m");
                let input: Vec<u8> = one.iter().copied().cycle().take(one.len() * 3).collect();
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let conn = crate::Connection::<crate::Server>::server(Config::DEFAULT);
                let driver = crate::io::Driver::new(conn, &mut rx, &mut tx, 0)
                    .rate_limiter(&mut limiter, limits.on_exceed);
                let (reads, paused) = $run!({
                    // One message per read.
                    let mut ws = WebSocket::from_driver(Mock::new(&input, one.len()), driver);
                    let mut paused = Vec::new();
                    let mut got = 0;
                    for _ in 0..10 {
                        if got == 3 {
                            break;
                        }
                        match ws.next_event() $($await)* {
                            Ok(Event::Data(chunk)) => {
                                assert_eq!(chunk.payload, b"m");
                                got += 1;
                            }
                            Err(Error::Paused { resume_at }) => {
                                assert!(matches!(ws.fill() $($await)*, Err(Error::Paused { .. })));
                                paused.push(resume_at);
                                let _ = ws.handle_timeout(resume_at);
                            }
                            other => panic!("{other:?}"),
                        }
                    }
                    assert_eq!(got, 3);
                    (ws.get_ref().reads, paused)
                });
                // Paused after each message: 2 a second is one every 500 ms.
                assert_eq!(paused, [500, 1000]);
                assert_eq!(reads, 3);
            }

            #[test]
            fn client_refuses_a_wrong_accept() {
                let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                    Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let request = ClientRequest::new("example.com", "/");
                let err = $run!(WebSocket::connect(Mock::new(input, 64), &mut rx, &mut tx, Config::DEFAULT, Fixed, &request)
                    $($await)* .map_err(Error::from).unwrap_err());
                assert_eq!(err, Error::Handshake(HandshakeFailure::Response(ResponseError::Accept)));
            }

            #[test]
            fn close_stream_goes_away_half_closes_and_drains_within_bounds() {
                let mut input = REQUEST.to_vec();
                input.extend(masked(0x81, b"hi"));
                input.resize(input.len() + 10_000, 0); // junk the peer keeps sending
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let opts = ServerOptions::default();
                let mock = $run!({
                    let mut ws = WebSocket::accept(Mock::new(&input, 64), &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
                        $($await)* .unwrap();
                    assert!(matches!(ws.next_event() $($await)*, Ok(Event::Data(_))));
                    let reads = ws.get_ref().reads;
                    let drain = Drain { reads: 5, bytes: 1 << 20 };
                    let mock = ws.close_stream(|m: &mut Mock| m.half_closed = true, drain) $($await)*;
                    assert_eq!(mock.reads - reads, 5);
                    mock
                });
                assert!(mock.half_closed);
                assert_eq!(frames(after_head(&mock.output)), [(0x88, vec![0x03, 0xe9])]);
            }

            #[test]
            fn keepalive_with_fill_and_try_next_event() {
                let mut input = REQUEST.to_vec();
                input.extend(masked(0x8a, b"")); // a pong, later
                let config = Config {
                    keepalive_interval: core::num::NonZeroU32::new(1000),
                    ..Config::DEFAULT
                };
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
                let opts = ServerOptions::default();
                let out = $run!({
                    let mut mock = Mock::new(&input, 64);
                    mock.input.truncate(REQUEST.len());
                    let mut ws = WebSocket::accept(mock, &mut rx, &mut tx, config, &opts, choose_echo)
                        $($await)* .unwrap();
                    assert_eq!(ws.handle_timeout(0), None);
                    assert_eq!(ws.poll_timeout(), Some(1000));
                    assert_eq!(ws.try_next_event() $($await)*, Ok(None));
                    assert_eq!(ws.handle_timeout(1000), None);
                    // The ping goes out before anything else is looked at.
                    assert_eq!(ws.try_next_event() $($await)*, Ok(None));
                    ws.get_mut().input.extend(masked(0x8a, b""));
                    ws.fill() $($await)* .unwrap();
                    assert_eq!(ws.try_next_event() $($await)*, Ok(Some(Event::Pong(b""))));
                    assert_eq!(ws.try_next_event() $($await)*, Ok(None));
                    ws.into_inner().output
                });
                assert_eq!(frames(after_head(&out)), [(0x89, vec![])]);
            }
        }
    };
}

#[cfg(feature = "embedded-io")]
suite!(blocking, run_blocking, [] []);

#[cfg(feature = "embedded-io-async")]
suite!(asynch, run_async, [async] [.await]);

/// Async calls cancelled at every point of their writes lose nothing and repeat nothing: each
/// event comes out once, and every frame written is whole (RFC 6455 §5.5.2-§5.5.3, §7.1).
#[cfg(feature = "embedded-io-async")]
#[test]
fn async_calls_cancelled_mid_write_lose_nothing() {
    use crate::handshake::server::ServerOptions;
    use crate::io::asynch::WebSocket;
    use crate::io::Error;
    use crate::{Config, Event};
    use core::future::Future;
    use core::task::{Context, Poll};
    use std::sync::Arc;
    use std::task::Wake;

    struct NoWake;
    impl Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Arc::new(NoWake).into();
    let mut cx = Context::from_waker(&waker);

    let mut input = REQUEST.to_vec();
    for p in [&b"a"[..], &[b'b'; 120], b"c"] {
        input.extend(masked(0x89, p));
    }
    input.extend(masked(0x88, &[0x03, 0xe8]));
    let mut mock = Mock::new(&input, 1000);
    mock.yield_writes = true;
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let opts = ServerOptions::default();
    let mut ws = block_on(WebSocket::accept(
        mock,
        &mut rx,
        &mut tx,
        Config::DEFAULT,
        &opts,
        choose_echo,
    ))
    .unwrap();
    let mut events = Vec::new();
    let mut closed = false;
    for attempt in 0..1000 {
        // Poll each call 1 to 3 times, then drop it: cancelled mid-write most of the time.
        let polls = attempt % 3 + 1;
        let mut future = core::pin::pin!(ws.next_event());
        for _ in 0..polls {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(Event::Ping(p))) => events.push(p.to_vec()),
                Poll::Ready(Ok(Event::Close(c))) => events.push(std::vec![c.code.0 as u8]),
                Poll::Ready(Ok(e)) => panic!("{e:?}"),
                Poll::Ready(Err(Error::Closed)) => closed = true,
                Poll::Ready(Err(e)) => panic!("{e:?}"),
                Poll::Pending => continue,
            }
            break;
        }
        if closed {
            break;
        }
    }
    assert!(closed, "never closed");
    assert_eq!(
        events,
        [
            b"a".to_vec(),
            std::vec![b'b'; 120],
            b"c".to_vec(),
            std::vec![0xe8]
        ]
    );
    let out = ws.into_inner().output;
    let sent = frames(after_head(&out));
    assert_eq!(
        sent,
        [
            (0x8a, b"a".to_vec()),
            (0x8a, std::vec![b'b'; 120]),
            (0x8a, b"c".to_vec()),
            (0x88, std::vec![0x03, 0xe8])
        ]
    );
}
