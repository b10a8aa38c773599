//! Tests of both adapters over a scripted in-memory stream (RFC 6455 §4, §5.7 examples).

use std::vec::Vec;

use crate::io::Error;
use crate::wire::frame::{FrameHeader, Status};
use crate::wire::mask::apply_mask;
use crate::Event;

/// A stream that hands out `input` at most `chunk` bytes per read and records what is written.
#[derive(Debug)]
struct Mock {
    input: Vec<u8>,
    pos: usize,
    chunk: usize,
    output: Vec<u8>,
}

impl Mock {
    fn new(input: &[u8], chunk: usize) -> Self {
        Self {
            input: input.to_vec(),
            pos: 0,
            chunk,
            output: Vec::new(),
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> usize {
        let rest = &self.input[self.pos..];
        let n = rest.len().min(buf.len()).min(self.chunk);
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
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
        // Partial writes, to exercise the write loop.
        let n = buf.len().min(100);
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(feature = "embedded-io-async")]
impl embedded_io_async::Read for Mock {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.read_some(buf))
    }
}

#[cfg(feature = "embedded-io-async")]
impl embedded_io_async::Write for Mock {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
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

fn choose_echo(
    request: &crate::handshake::server::Request<'_, '_>,
) -> Result<crate::handshake::server::Accept<'static>, crate::handshake::server::HandshakeError> {
    let echo = request.subprotocols().any(|p| p == "echo");
    Ok(crate::handshake::server::Accept {
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

#[cfg(feature = "embedded-io")]
mod blocking {
    use super::*;
    use crate::handshake::accept_key;
    use crate::handshake::client::ClientRequest;
    use crate::handshake::server::{HandshakeError, ServerOptions};
    use crate::io::blocking::WebSocket;
    use crate::io::HandshakeFailure;
    use crate::message::{Message, Reassembler, SliceStorage};
    use crate::{CloseCode, Config, DataKind, ProtocolError};

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

    /// Serves `server_script` read `chunk` bytes at a time, echoing each chunk as a fragment.
    fn echo_server(chunk: usize) -> Vec<u8> {
        let (mut rx, mut tx, mut copy) = ([0u8; 512], [0u8; 512], [0u8; 512]);
        let mock = Mock::new(&server_script(), chunk);
        let opts = ServerOptions::default();
        let mut ws =
            WebSocket::accept(mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo).unwrap();
        let mut events = Vec::new();
        loop {
            let (kind, n, last) = match ws.next_event() {
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
            ws.send_fragment(kind, &copy[..n], last).unwrap();
        }
        assert_eq!(events, ["ping 4", "close 1000 bye"]);
        // Once closed, it stays closed.
        assert_eq!(ws.next_event().unwrap_err(), Error::Closed);
        ws.into_inner().output
    }

    #[test]
    fn server_echoes_whatever_the_read_size() {
        for chunk in [1, 2, 3, 7, 64, 1000] {
            check_server_output(&echo_server(chunk));
        }
    }

    #[test]
    fn whole_messages_with_a_ping_between_fragments() {
        let (mut rx, mut tx, mut storage) = ([0u8; 256], [0u8; 256], [0u8; 16]);
        let mock = Mock::new(&server_script(), 5);
        let opts = ServerOptions::default();
        let mut ws =
            WebSocket::accept(mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo).unwrap();
        let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
        assert_eq!(
            ws.receive_message(&mut messages),
            Ok(Message::Ping(b"ping"))
        );
        assert_eq!(
            ws.receive_message(&mut messages),
            Ok(Message::Text("Hello"))
        );
        let Ok(Message::Close(close)) = ws.receive_message(&mut messages) else {
            panic!("expected the close");
        };
        assert_eq!((close.code, close.reason), (CloseCode::NORMAL, "bye"));
        assert_eq!(ws.receive_message(&mut messages), Err(Error::Closed));
    }

    #[test]
    fn message_too_big_for_the_storage_closes_with_1009() {
        let mut input = REQUEST.to_vec();
        input.extend(masked(0x01, b"Hel"));
        input.extend(masked(0x80, b"lo"));
        let (mut rx, mut tx, mut storage) = ([0u8; 256], [0u8; 256], [0u8; 4]);
        let opts = ServerOptions::default();
        let mut ws = WebSocket::accept(
            Mock::new(&input, 64),
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            &opts,
            choose_echo,
        )
        .unwrap();
        let mut messages = Reassembler::new(SliceStorage::new(&mut storage));
        let err = ws.receive_message(&mut messages).unwrap_err();
        assert_eq!(err, Error::Protocol(ProtocolError::MessageTooBig));
        assert_eq!(err.close_code(), Some(CloseCode::TOO_BIG));
        let out = ws.into_inner().output;
        assert_eq!(frames(after_head(&out)), [(0x88, vec![0x03, 0xf1])]);
    }

    #[test]
    fn protocol_error_writes_its_close_then_reports() {
        let mut input = REQUEST.to_vec();
        input.extend([0x81, 0x02, b'h', b'i']); // unmasked from a client
        let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
        let opts = ServerOptions::default();
        let mut ws = WebSocket::accept(
            Mock::new(&input, 64),
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            &opts,
            choose_echo,
        )
        .unwrap();
        assert_eq!(
            ws.next_event().unwrap_err(),
            Error::Protocol(ProtocolError::UnmaskedFrame)
        );
        assert_eq!(ws.next_event().unwrap_err(), Error::Closed);
        let out = ws.into_inner().output;
        assert_eq!(frames(after_head(&out)), [(0x88, vec![0x03, 0xea])]);
    }

    #[test]
    fn eof_without_close_and_refused_requests() {
        let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
        let opts = ServerOptions::default();
        let mut input = REQUEST.to_vec();
        input.extend(&masked(0x81, b"hi")[..4]); // stops mid-frame
        let mut ws = WebSocket::accept(
            Mock::new(&input, 64),
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            &opts,
            choose_echo,
        )
        .unwrap();
        assert_eq!(ws.next_event().unwrap_err(), Error::UnexpectedEof);

        let bad = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut mock = Mock::new(bad, 64);
        let err = WebSocket::accept(
            &mut mock,
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            &opts,
            choose_echo,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::Handshake(HandshakeFailure::Request(HandshakeError::Upgrade))
        );
        assert!(mock.output.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));

        // A head that never ends is refused once the receive buffer is full.
        let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
        endless.resize(4096, b'a');
        let mut mock = Mock::new(&endless, 64);
        let err = WebSocket::accept(
            &mut mock,
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            &opts,
            choose_echo,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::Handshake(HandshakeFailure::Request(HandshakeError::HeadTooLarge))
        );
        assert!(mock.output.starts_with(b"HTTP/1.1 431 "));

        let (mut small, mut tx) = ([0u8; 138], [0u8; 256]);
        let err = WebSocket::accept(
            Mock::new(REQUEST, 64),
            &mut small,
            &mut tx,
            Config::DEFAULT,
            &opts,
            choose_echo,
        )
        .unwrap_err();
        assert_eq!(err, Error::BufferTooSmall);
    }

    /// A client's handshake against a scripted 101, then a message larger than `tx`.
    #[test]
    fn client_connects_and_sends_more_than_its_buffer() {
        let mut nonce_key = [0u8; crate::handshake::KEY_LEN];
        <base64ct::Base64 as base64ct::Encoding>::encode(&[FIXED; 16], &mut nonce_key).unwrap();
        let accept = accept_key(&nonce_key);
        let mut input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Protocol: b\r\nSec-WebSocket-Accept: "
            .to_vec();
        input.extend_from_slice(&accept);
        input.extend_from_slice(b"\r\n\r\n\x81\x02hi");
        let (mut rx, mut tx) = ([0u8; 256], [0u8; 200]);
        let offered = ["a", "b"];
        let request = ClientRequest {
            subprotocols: &offered,
            ..ClientRequest::new("example.com", "/chat")
        };
        let (mut ws, chosen) = WebSocket::connect(
            Mock::new(&input, 3),
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            Fixed,
            &request,
        )
        .unwrap();
        assert_eq!(chosen, Some("b"));
        // Read 3 bytes at a time, "hi" streams in as two chunks.
        let mut got = Vec::new();
        loop {
            let Ok(Event::Data(chunk)) = ws.next_event() else {
                panic!("expected data");
            };
            assert_eq!(chunk.first, got.is_empty());
            got.extend_from_slice(chunk.payload);
            if chunk.last {
                break;
            }
        }
        assert_eq!(got, b"hi");

        let big: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        ws.send_binary(&big).unwrap();
        ws.send_fragment(DataKind::Text, b"ab", false).unwrap();
        ws.send_fragment(DataKind::Text, &[b'c'; 300], true)
            .unwrap();
        ws.send_frame_header(DataKind::Binary, 5, true).unwrap();
        ws.send_payload(b"12").unwrap();
        ws.send_payload(b"345").unwrap();
        assert_eq!(
            ws.send_payload(b"6").unwrap_err(),
            Error::Send(crate::SendError::PayloadLengthMismatch)
        );
        ws.send_ping(b"p").unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap_err(); // the script has no close: eof
        let out = ws.into_inner().output;
        assert!(out.starts_with(b"GET /chat HTTP/1.1\r\n"));
        let sent = frames(after_head(&out));
        let mut expected_c = vec![b'c'; 300];
        expected_c.insert(0, b'b');
        expected_c.insert(0, b'a');
        assert_eq!(sent[0], (0x82, big));
        assert_eq!(sent[1], (0x01, b"ab".to_vec()));
        assert_eq!(sent[2], (0x80, vec![b'c'; 300]));
        assert_eq!(sent[3], (0x82, b"12345".to_vec()));
        assert_eq!(sent[4], (0x89, b"p".to_vec()));
        assert_eq!(sent[5], (0x88, vec![0x03, 0xe8]));
        // Every frame a client sends is masked.
        let masked_bit = after_head(&out)[1] & 0x80;
        assert_eq!(masked_bit, 0x80);
    }

    #[test]
    fn client_refuses_a_wrong_accept() {
        let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
        let request = ClientRequest::new("example.com", "/");
        let err = WebSocket::connect(
            Mock::new(input, 64),
            &mut rx,
            &mut tx,
            Config::DEFAULT,
            Fixed,
            &request,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::Handshake(HandshakeFailure::Response(
                crate::handshake::client::ResponseError::Accept
            ))
        );
    }
}

#[cfg(feature = "embedded-io-async")]
mod asynch {
    use super::*;
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll};
    use std::sync::Arc;
    use std::task::Wake;

    use crate::handshake::server::ServerOptions;
    use crate::io::asynch::WebSocket;
    use crate::Config;

    struct NoWake;

    impl Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }

    /// Runs a future whose stream is always ready.
    fn block_on<F: Future>(future: F) -> F::Output {
        let waker = Arc::new(NoWake).into();
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    async fn echo_server(chunk: usize) -> Vec<u8> {
        let (mut rx, mut tx, mut copy) = ([0u8; 512], [0u8; 512], [0u8; 512]);
        let mock = Mock::new(&server_script(), chunk);
        let opts = ServerOptions::default();
        let mut ws = WebSocket::accept(mock, &mut rx, &mut tx, Config::DEFAULT, &opts, choose_echo)
            .await
            .unwrap();
        loop {
            let (kind, n, last) = match ws.next_event().await {
                Ok(Event::Data(c)) => {
                    copy[..c.payload.len()].copy_from_slice(c.payload);
                    (c.kind, c.payload.len(), c.last)
                }
                Ok(_) => continue,
                Err(Error::Closed) => break,
                Err(e) => panic!("{e:?}"),
            };
            ws.send_fragment(kind, &copy[..n], last).await.unwrap();
        }
        ws.into_inner().output
    }

    #[test]
    fn async_server_echoes_like_the_blocking_one() {
        for chunk in [1, 5, 1000] {
            check_server_output(&block_on(echo_server(chunk)));
        }
    }
}
