//! A wsmachine client over TLS 1.3 on a Cortex-M4: embedded-tls's async `TlsConnection` over an
//! embassy-net `TcpSocket`, and `wsmachine::io::asynch::WebSocket` over the `TlsConnection`
//! (both `embedded_io_async::{Read, Write}` 0.7). No allocator: the TLS record buffers (16 KiB
//! to read, as a record may be that long, 4 KiB to write) live in the task's static storage.
//!
//! What runs, and what stops it: this firmware has no TLS 1.3 *server* (embedded-tls is a
//! client only; the no_std servers need an allocator), and QEMU's mps2-an386 reaches the host
//! only through its LAN9118 Ethernet controller, for which there is no driver here. So the
//! peer on the loopback stack is a stand-in that reads the client's first record, checks that
//! it is a TLS ClientHello carrying the server name, and ends the connection. The client's
//! handshake then stops with an error, and the WebSocket part (`websocket`, below: the opening
//! handshake over TLS, a text message, the close) is built but not reached. Exits 0 when the
//! ClientHello checked out and the handshake stopped for that reason.
//!
//! `TlsConnection` buffers what is written until its `flush` (or a full record): the adapter's
//! flush after each write is what sends the records. Its own flush of the transport goes to
//! `Tcp`, whose `flush` does not wait for the peer's ACK.
//!
//! The certificate is not verified (`UnsecureProvider`) and the RNG is a fixed-seed xorshift:
//! a device uses a verifier with its CA (embedded-tls's `rustpki`) and its hardware RNG.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_futures::join::join;
use embassy_net::tcp::TcpSocket;
use embassy_net::Stack;
use embassy_time::{with_timeout, Duration};
use embedded_io_async::{Read, Write};
use embedded_tls::{
    Aes128GcmSha256, TlsConfig, TlsConnection, TlsContext, TlsError, UnsecureProvider,
};
use wsmachine::handshake::client::ClientRequest;
use wsmachine::io::asynch::{NoHalfClose, WebSocket};
use wsmachine::io::Drain;
use wsmachine::{CloseCode, Config, Event};
use wsmachine_firmware::embassy::{loopback_stack, start_systick, Tcp, ADDR};
use wsmachine_firmware::{check, exit, say, Failed, TestRng};

const PORT: u16 = 443;
const HOST: &str = "device.local";
/// A TLS record is at most 16 KiB of plaintext plus 256 bytes of overhead.
const TLS_READ: usize = 16_640;
const TLS_WRITE: usize = 4096;
const WS_BUFFER: usize = 512;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    start_systick();
    match with_timeout(Duration::from_secs(10), run(spawner)).await {
        Ok(Ok(())) => {
            say!("tls: ClientHello checked; stopped at the ServerHello: no TLS 1.3 server here");
            exit(true)
        }
        Ok(Err(Failed(what))) => say!("tls: FAILED: {}", what),
        Err(_) => say!("tls: FAILED: timed out"),
    }
    exit(false)
}

async fn run(spawner: Spawner) -> Result<(), Failed> {
    let stack = loopback_stack(spawner).await?;
    let (hello, client) = join(stand_in(stack), client(stack)).await;
    let hello_len = hello?;
    say!(
        "tls: the peer got a {}-byte ClientHello for {}",
        hello_len,
        HOST
    );
    match client? {
        // The stand-in ended the stream where the ServerHello should have come.
        Err(e @ (TlsError::IoError | TlsError::Io(_) | TlsError::ConnectionClosed)) => {
            cortex_m_semihosting::hprintln!("tls: the client's handshake stopped: {:?}", e);
            Ok(())
        }
        Err(_) => Err(Failed("client: handshake failed otherwise")),
        Ok(()) => Err(Failed("client: a handshake without a server")),
    }
}

/// The client: TCP, TLS, then the WebSocket. The outer `Result` is this firmware's checks,
/// the inner one how the TLS handshake ended.
async fn client(stack: Stack<'static>) -> Result<Result<(), TlsError>, Failed> {
    let (mut socket_rx, mut socket_tx) = ([0; 1024], [0; 1024]);
    let mut socket = TcpSocket::new(stack, &mut socket_rx, &mut socket_tx);
    socket
        .connect((ADDR, PORT))
        .await
        .map_err(|_| Failed("client: tcp connect"))?;

    let (mut read_record, mut write_record) = ([0; TLS_READ], [0; TLS_WRITE]);
    let config = TlsConfig::new().with_server_name(HOST);
    let mut tls = TlsConnection::new(Tcp(socket), &mut read_record, &mut write_record);
    let provider = UnsecureProvider::new::<Aes128GcmSha256>(TlsRng(0x9e37_79b9));
    if let Err(e) = tls.open(TlsContext::new(&config, provider)).await {
        return Ok(Err(e));
    }
    websocket(&mut tls).await?;
    // TLS close_notify, then the TCP close.
    if let Ok(Tcp(mut socket)) = tls.close().await {
        socket.close();
        let _ = socket.flush().await;
    }
    Ok(Ok(()))
}

/// The WebSocket over any async stream, the TLS connection here: the opening handshake, a
/// text message echoed back, the close handshake.
async fn websocket<T: Read + Write>(stream: T) -> Result<(), Failed> {
    let (mut rx, mut tx) = ([0; WS_BUFFER], [0; WS_BUFFER]);
    let request = ClientRequest::new(HOST, "/ws");
    let rng = TestRng(0x2545_f491);
    let (mut ws, _) = WebSocket::connect(stream, &mut rx, &mut tx, Config::DEFAULT, rng, &request)
        .await
        .map_err(|_| Failed("websocket: handshake"))?;
    ws.send_text("hello over TLS")
        .await
        .map_err(|_| Failed("websocket: send"))?;
    let echoed =
        matches!(ws.next_event().await, Ok(Event::Data(c)) if c.payload == b"hello over TLS");
    check(echoed, "websocket: echo")?;
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|_| Failed("websocket: close"))?;
    let _ = ws.close_stream(NoHalfClose, Drain::DEFAULT).await;
    Ok(())
}

/// The stand-in peer: reads the client's first TLS record, checks it is a ClientHello naming
/// [`HOST`], and ends the connection. Returns the record's length.
async fn stand_in(stack: Stack<'static>) -> Result<usize, Failed> {
    let (mut socket_rx, mut socket_tx) = ([0; 1024], [0; 1024]);
    let mut socket = TcpSocket::new(stack, &mut socket_rx, &mut socket_tx);
    socket
        .accept(PORT)
        .await
        .map_err(|_| Failed("peer: tcp accept"))?;
    let mut record = [0; 1024];
    let mut len = 0;
    // The 5-byte record header: type 22 (handshake), version, length.
    let total = loop {
        let n = socket
            .read(&mut record[len..])
            .await
            .map_err(|_| Failed("peer: read"))?;
        check(n > 0, "peer: the client ended the stream")?;
        len += n;
        if len >= 5 {
            let total = 5 + usize::from(u16::from_be_bytes([record[3], record[4]]));
            check(total <= record.len(), "peer: record too long")?;
            if len >= total {
                break total;
            }
        }
    };
    check(record[0] == 22, "peer: a handshake record")?;
    check(record[5] == 1, "peer: a ClientHello")?;
    let names_host = record[..total]
        .windows(HOST.len())
        .any(|w| w == HOST.as_bytes());
    check(names_host, "peer: the server name")?;
    socket.close();
    let _ = socket.flush().await;
    Ok(total)
}

/// Xorshift32 for embedded-tls, which takes a `rand_core` 0.6 RNG (wsmachine takes 0.9): NOT
/// a cryptographic RNG, a stand-in for the device's hardware RNG.
struct TlsRng(u32);

impl rand_core_06::RngCore for TlsRng {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    fn next_u64(&mut self) -> u64 {
        rand_core_06::impls::next_u64_via_u32(self)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core_06::impls::fill_bytes_via_next(self, dst);
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.fill_bytes(dst);
        Ok(())
    }
}

impl rand_core_06::CryptoRng for TlsRng {}
