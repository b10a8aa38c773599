//! wsmachine's async adapter (`wsmachine::io::asynch::WebSocket`) over embassy-net
//! `TcpSocket`s on a Cortex-M4: a server and a client (two futures joined in the main task) on
//! one embassy-net stack, whose runner is a task of its own and whose network driver is a
//! fixed-capacity loopback (a ring of four packet buffers); embassy-executor's thread-mode
//! executor runs it all, with a SysTick time driver for embassy-time. Nothing allocates: the
//! tasks (their socket and WebSocket buffers included) and the stack live in statics.
//!
//! `TcpSocket` implements `embedded_io_async::{Read, Write}` (0.7, as wsmachine), so it could
//! go straight into `WebSocket::accept` / `WebSocket::connect`; it goes in through `Tcp`, a
//! wrapper whose `flush` does not wait for the peer's ACK (its doc says why).
//!
//! The steps: TCP connect; the opening handshake; an 8 KiB text and a 64 KiB binary message
//! from the client, then a ping, then the same two messages from the server (1 KiB socket
//! buffers, 512-byte WebSocket buffers: sent with `send_frame_header` + `send_payload` from
//! generated pieces, checked byte for byte as the chunks arrive); the close handshake, clean on
//! both ends; `close_stream`: the server half-closes with the socket's `close()` and drains,
//! the client drains until the server's FIN and then closes. Exits 0 only when every step
//! checked out within 10 s of embassy time.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_futures::join::join;
use embassy_net::tcp::TcpSocket;
use embassy_net::Stack;
use embassy_time::{with_timeout, Duration, Instant};
use embedded_io_async::{Read, Write};
use wsmachine::connection::Endpoint;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::server::{Accept, HandshakeError, ServerOptions};
use wsmachine::io::asynch::{NoHalfClose, WebSocket};
use wsmachine::io::Drain;
use wsmachine::{CloseCode, Config, DataKind};
use wsmachine_firmware::embassy::{loopback_stack, start_systick, Tcp, ADDR};
use wsmachine_firmware::stream::{self, Inbox};
use wsmachine_firmware::{check, exit, say, Failed, TestRng};

/// Each TCP socket's receive and transmit buffer: far smaller than the messages.
const SOCKET_BUFFER: usize = 1024;
/// Each WebSocket's `rx` and `tx`.
const WS_BUFFER: usize = 512;
/// The pieces the senders generate their messages in.
const PIECE: usize = 200;

const PORT: u16 = 80;

const TEXT_LEN: usize = stream::text_len(8 * 1024);
const BINARY_LEN: usize = 64 * 1024;
const PING: &[u8] = b"ping over embassy-net";

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    start_systick();
    match with_timeout(Duration::from_secs(10), run(spawner)).await {
        Ok(Ok(())) => {
            say!("embassy: all steps passed");
            exit(true)
        }
        Ok(Err(Failed(what))) => say!("embassy: FAILED: {}", what),
        Err(_) => say!("embassy: FAILED: timed out"),
    }
    exit(false)
}

async fn run(spawner: Spawner) -> Result<(), Failed> {
    let stack = loopback_stack(spawner).await?;
    // Both ends in one task, polled in turn: each one's writes wait on the other's reads.
    let (server, client) = join(server(stack), client(stack)).await;
    server?;
    client?;
    say!("embassy: done at {} ms", Instant::now().as_millis());
    Ok(())
}

async fn server(stack: Stack<'static>) -> Result<(), Failed> {
    let (mut socket_rx, mut socket_tx) = ([0; SOCKET_BUFFER], [0; SOCKET_BUFFER]);
    let mut socket = TcpSocket::new(stack, &mut socket_rx, &mut socket_tx);
    socket
        .accept(PORT)
        .await
        .map_err(|_| Failed("server: tcp accept"))?;

    let (mut rx, mut tx) = ([0; WS_BUFFER], [0; WS_BUFFER]);
    let options = ServerOptions::default();
    let mut ws = WebSocket::accept(
        Tcp(socket),
        &mut rx,
        &mut tx,
        Config::DEFAULT,
        &options,
        |r| {
            if r.path() != "/ws" {
                return Err(HandshakeError::Malformed);
            }
            let chat = r.subprotocols().any(|p| p == "chat.v1");
            Ok(Accept {
                subprotocol: chat.then_some("chat.v1"),
                ..Accept::default()
            })
        },
    )
    .await
    .map_err(|_| Failed("server: handshake"))?;
    say!("server: GET /ws accepted, subprotocol chat.v1: ok");

    let mut inbox = Inbox::new();
    for (kind, len, n) in [
        (DataKind::Text, TEXT_LEN, 1),
        (DataKind::Binary, BINARY_LEN, 2),
    ] {
        inbox.expect = (kind, 1);
        receive(&mut ws, &mut inbox, |i| i.messages == n).await?;
        check(inbox.got(n, len), "server: message")?;
        say!(
            "server: got {} bytes in {} chunks, byte for byte, at {} ms: ok",
            len,
            inbox.chunks,
            Instant::now().as_millis()
        );
    }
    // The ping; its pong is queued already and goes out ahead of the next frame.
    receive(&mut ws, &mut inbox, |i| i.pings == 1).await?;
    check(inbox.control() == PING, "server: ping payload")?;

    send(&mut ws, DataKind::Text, 2, TEXT_LEN).await?;
    send(&mut ws, DataKind::Binary, 2, BINARY_LEN).await?;

    // The client's close: the reply is written by the next call, which then says Closed.
    receive(&mut ws, &mut inbox, |i| i.close.is_some()).await?;
    check(
        matches!(ws.next_event().await, Err(wsmachine::io::Error::Closed)),
        "server: closed",
    )?;
    check(inbox.close == Some(1000), "server: close code")?;
    let outcome = ws.connection().close_outcome();
    check(outcome.is_some_and(|o| o.clean), "server: clean close")?;
    // The server ends the TCP connection first: FIN, then drain until the client's FIN.
    let Tcp(mut socket) = ws
        .close_stream(|s: &mut Tcp<'_>| s.0.close(), Drain::DEFAULT)
        .await;
    let _ = socket.flush().await; // waits until the client has acknowledged everything
    say!("server: close 1000 received and answered, clean, stream closed: ok");
    Ok(())
}

async fn client(stack: Stack<'static>) -> Result<(), Failed> {
    let (mut socket_rx, mut socket_tx) = ([0; SOCKET_BUFFER], [0; SOCKET_BUFFER]);
    let mut socket = TcpSocket::new(stack, &mut socket_rx, &mut socket_tx);
    socket
        .connect((ADDR, PORT))
        .await
        .map_err(|_| Failed("client: tcp connect"))?;
    say!("client: tcp connected at {} ms", Instant::now().as_millis());

    let (mut rx, mut tx) = ([0; WS_BUFFER], [0; WS_BUFFER]);
    let request = ClientRequest {
        subprotocols: &["chat.v2", "chat.v1"],
        ..ClientRequest::new("device.local", "/ws")
    };
    let rng = TestRng(0x2545_f491);
    let (mut ws, chosen) = WebSocket::connect(
        Tcp(socket),
        &mut rx,
        &mut tx,
        Config::DEFAULT,
        rng,
        &request,
    )
    .await
    .map_err(|_| Failed("client: handshake"))?;
    check(chosen == Some("chat.v1"), "client: subprotocol")?;

    send(&mut ws, DataKind::Text, 1, TEXT_LEN).await?;
    send(&mut ws, DataKind::Binary, 1, BINARY_LEN).await?;
    ws.send_ping(PING)
        .await
        .map_err(|_| Failed("client: ping"))?;

    let mut inbox = Inbox::new();
    receive(&mut ws, &mut inbox, |i| i.pongs == 1).await?;
    check(inbox.control() == PING, "client: pong payload")?;
    say!("client: ping answered with its payload: ok");
    for (kind, len, n) in [
        (DataKind::Text, TEXT_LEN, 1),
        (DataKind::Binary, BINARY_LEN, 2),
    ] {
        inbox.expect = (kind, 2);
        receive(&mut ws, &mut inbox, |i| i.messages == n).await?;
        check(inbox.got(n, len), "client: message")?;
        say!(
            "client: got {} bytes in {} chunks, byte for byte, at {} ms: ok",
            len,
            inbox.chunks,
            Instant::now().as_millis()
        );
    }

    // Sends the close and reads until the server's reply.
    ws.close(CloseCode::NORMAL, "bye")
        .await
        .map_err(|_| Failed("client: close"))?;
    let outcome = ws.connection().close_outcome();
    check(
        outcome.is_some_and(|o| o.clean && o.code == CloseCode::NORMAL),
        "client: clean close",
    )?;
    // The client lets the server end the TCP connection first (RFC 6455 §7.1.1): no
    // half-close, read until the server's FIN, then its own FIN.
    let Tcp(mut socket) = ws.close_stream(NoHalfClose, Drain::DEFAULT).await;
    socket.close();
    let _ = socket.flush().await; // waits until the server has acknowledged the FIN
    say!(
        "client: close 1000 \"bye\" answered, clean, stream closed ({}) at {} ms: ok",
        tcp_state(&socket),
        Instant::now().as_millis()
    );
    Ok(())
}

/// Sends test message `seed` of `kind`: the header, then `len` bytes in generated pieces,
/// each written before the next is made.
async fn send<T: Read + Write, E: Endpoint>(
    ws: &mut WebSocket<'_, T, E>,
    kind: DataKind,
    seed: u8,
    len: usize,
) -> Result<(), Failed> {
    ws.send_frame_header(kind, 0, len as u64, true)
        .await
        .map_err(|_| Failed("send_frame_header"))?;
    let mut piece = [0; PIECE];
    let mut at = 0;
    while at < len {
        let piece = &mut piece[..PIECE.min(len - at)];
        stream::fill(kind, seed, at, piece);
        ws.send_payload(piece)
            .await
            .map_err(|_| Failed("send_payload"))?;
        at += piece.len();
    }
    Ok(())
}

/// Takes events into `inbox` until `done`.
async fn receive<T: Read + Write, E: Endpoint>(
    ws: &mut WebSocket<'_, T, E>,
    inbox: &mut Inbox,
    done: impl Fn(&Inbox) -> bool,
) -> Result<(), Failed> {
    while !done(inbox) {
        let event = ws.next_event().await.map_err(|_| Failed("next_event"))?;
        inbox.on_event(&event);
    }
    Ok(())
}

fn tcp_state(socket: &TcpSocket<'_>) -> &'static str {
    use embassy_net::tcp::State;
    match socket.state() {
        State::Closed => "Closed",
        State::TimeWait => "TimeWait",
        State::FinWait1 | State::FinWait2 | State::Closing => "closing",
        State::LastAck => "LastAck",
        _ => "open",
    }
}
