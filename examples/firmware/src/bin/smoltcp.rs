//! A wsmachine server and client talking through smoltcp TCP sockets on a Cortex-M4, with no
//! allocator anywhere: smoltcp without `alloc` over a fixed-capacity loopback device (a ring of
//! four packet buffers), wsmachine allocation-free. Both ends are the public poll driver,
//! [`wsmachine::io::Driver`], and the clock is simulated: one `now` in milliseconds goes to
//! smoltcp's `Interface::poll` and to `Driver::poll`.
//!
//! The socket buffers are 1 KiB and the drivers' buffers 512 bytes, so the 8 KiB and 64 KiB
//! messages stream through in pieces: generated piece by piece by the sender, checked byte for
//! byte by the receiver, never whole in memory. The steps: TCP connect; the opening handshake
//! (the server accepts on `Poll::Request`); an 8 KiB text and then a 64 KiB binary message
//! each way, both ways at once; ping/pong; the close handshake (both ends `Closed`, cleanly);
//! TCP close, the server first. Exits 0 only when every step checked out within a bounded
//! number of loop iterations.
//!
//! How the driver's steps map to the socket (see `Peer::service`):
//!
//! | `Driver::poll`        | `smoltcp::socket::tcp::Socket`                                  |
//! | --------------------- | --------------------------------------------------------------- |
//! | `Write(bytes)`        | `send_slice(bytes)`, then `write_done(n)`: short writes are fine |
//! | `Read { buf, .. }`    | `recv_slice(buf)`, then `read_done(n)`; `Err(Finished)` (FIN) is `read_done(0)` |
//! | nothing to do (0 bytes either way) | come back after the next `Interface::poll` |
//! | `Closed(_)`           | `close()` (server) / read until the peer's FIN, then `close()` (client) |
#![no_std]
#![no_main]

use cortex_m::singleton;
use cortex_m_rt::entry;
use heapless::{Deque, Vec};
use smoltcp::iface::{self, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp::{self, RecvError, State};
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use wsmachine::connection::Endpoint;
use wsmachine::handshake::client::ClientRequest;
use wsmachine::handshake::server::{Accept, ServerOptions};
use wsmachine::io::{Closed, Driver, Poll, TrySendError};
use wsmachine::{Client, CloseCode, Config, DataKind, Server};
use wsmachine_firmware::stream::{self, Inbox};
use wsmachine_firmware::{check, exit, say, Failed, TestRng};

/// The largest IP packet; each of the loopback's slots holds one.
const MTU: usize = 1500;
/// Packets the loopback holds at once.
const SLOTS: usize = 4;
/// Each TCP socket's receive and transmit buffer: far smaller than the messages.
const SOCKET_BUFFER: usize = 1024;
/// Each driver's `rx` and `tx`: a handshake head fits.
const WS_BUFFER: usize = 512;
/// The pieces the senders generate their messages in.
const PIECE: usize = 200;
/// The loop's bound: past it the run fails instead of hanging.
const MAX_ITERATIONS: u32 = 50_000;
/// Driver steps per peer per loop iteration.
const STEPS: usize = 64;

const ADDR: IpAddress = IpAddress::v4(127, 0, 0, 1);
const PORT: u16 = 80;

const TEXT_LEN: usize = stream::text_len(8 * 1024);
const BINARY_LEN: usize = 64 * 1024;

#[entry]
fn main() -> ! {
    match run() {
        Ok(()) => {
            say!("smoltcp: all steps passed");
            exit(true)
        }
        Err(Failed(what)) => {
            say!("smoltcp: FAILED: {}", what);
            exit(false)
        }
    }
}

/// Every buffer, in one static so that the RAM it takes shows in `.bss`.
struct Memory {
    sockets: [SocketStorage<'static>; 2],
    /// The TCP sockets' buffers: server rx, server tx, client rx, client tx.
    tcp: [[u8; SOCKET_BUFFER]; 4],
    /// The drivers' buffers: server rx, server tx, client rx, client tx.
    ws: [[u8; WS_BUFFER]; 4],
}

fn run() -> Result<(), Failed> {
    let memory = singleton!(: Memory = Memory {
        sockets: [SocketStorage::EMPTY; 2],
        tcp: [[0; SOCKET_BUFFER]; 4],
        ws: [[0; WS_BUFFER]; 4],
    })
    .ok_or(Failed("memory"))?;
    let device = singleton!(: Loopback = Loopback::new()).ok_or(Failed("device"))?;
    say!(
        "smoltcp: loopback {} slots of {} bytes, TCP buffers {} bytes, driver buffers {} bytes, static memory {} bytes",
        SLOTS,
        MTU,
        SOCKET_BUFFER,
        WS_BUFFER,
        core::mem::size_of::<Memory>() + core::mem::size_of::<Loopback>()
    );
    say!(
        "smoltcp: on the stack: Interface {} bytes, client Peer {} bytes, server Peer {} bytes (Driver {} bytes)",
        core::mem::size_of::<Interface>(),
        core::mem::size_of::<Peer<Client<TestRng>>>(),
        core::mem::size_of::<Peer<Server>>(),
        core::mem::size_of::<Driver<'static, Server>>()
    );

    let mut config = iface::Config::new(HardwareAddress::Ip);
    config.random_seed = 0x5eed_0001;
    let mut iface = Interface::new(config, device, Instant::from_millis(0));
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(ADDR, 8));
    });

    let [srx, stx, crx, ctx] = &mut memory.tcp;
    let mut sockets = SocketSet::new(&mut memory.sockets[..]);
    let server_socket = sockets.add(tcp_socket(srx, stx));
    let client_socket = sockets.add(tcp_socket(crx, ctx));
    let mut net = Net {
        iface,
        device,
        sockets,
        now: 0,
        iterations: 0,
    };

    let [wsrx, wstx, wcrx, wctx] = &mut memory.ws;
    let options = ServerOptions::default();
    let server = Driver::server(wsrx, wstx, Config::DEFAULT, &options);
    let request = ClientRequest {
        subprotocols: &["chat.v2", "chat.v1"],
        ..ClientRequest::new("device.local", "/ws")
    };
    let client = Driver::client(wcrx, wctx, Config::DEFAULT, TestRng(0x2545_f491), &request);
    let mut server = Peer::new(server, server_socket, true);
    let mut client = Peer::new(client, client_socket, false);

    // TCP: the server listens, the client connects.
    net.socket(server.socket)
        .listen(PORT)
        .map_err(|_| Failed("listen"))?;
    let cx = net.iface.context();
    net.sockets
        .get_mut::<tcp::Socket>(client.socket)
        .connect(cx, (ADDR, PORT), 49152)
        .map_err(|_| Failed("connect"))?;
    net.run_until(&mut client, &mut server, "tcp connect", |net, c, s| {
        net.state(c.socket) == State::Established && net.state(s.socket) == State::Established
    })?;
    say!("tcp: connected at {} ms: ok", net.now);

    // The opening handshake: the client's request goes out on its first poll, the server
    // accepts it on `Poll::Request` (in `Peer::service`).
    net.run_until(&mut client, &mut server, "handshake", |_, c, s| {
        c.opened && s.opened
    })?;
    check(server.requests == 1, "server: one request")?;
    check(
        client.driver.subprotocol() == Some("chat.v1"),
        "client: subprotocol",
    )?;
    say!(
        "handshake: GET /ws accepted, subprotocol chat.v1, open at {} ms: ok",
        net.now
    );

    // Large messages both ways at once: each end streams its own while it receives the other's.
    for (kind, len, name) in [
        (DataKind::Text, TEXT_LEN, "text"),
        (DataKind::Binary, BINARY_LEN, "binary"),
    ] {
        let n = client.inbox.messages + 1;
        client.send(kind, 2, len);
        server.send(kind, 1, len);
        net.run_until(&mut client, &mut server, name, |_, c, s| {
            c.outbox.is_none() && s.outbox.is_none() && c.inbox.got(n, len) && s.inbox.got(n, len)
        })?;
        for (peer, inbox) in [
            ("client->server", &server.inbox),
            ("server->client", &client.inbox),
        ] {
            say!(
                "{}: {} {} bytes in {} chunks (max {}), byte for byte: ok",
                name,
                peer,
                len,
                inbox.chunks,
                inbox.max_chunk
            );
        }
    }

    // Ping: the server's driver queues the pong by itself.
    let payload = b"ping over smoltcp";
    client
        .driver
        .send_ping(payload)
        .map_err(|_| Failed("send_ping"))?;
    net.run_until(&mut client, &mut server, "ping", |_, c, s| {
        s.inbox.pings == 1 && c.inbox.pongs == 1
    })?;
    check(server.inbox.control() == payload, "server: ping payload")?;
    check(client.inbox.control() == payload, "client: pong payload")?;
    say!("ping/pong: client ping, server auto-pong, payload echoed: ok");

    // The close handshake: the client closes, the server's driver replies by itself.
    client
        .driver
        .send_close(CloseCode::NORMAL, "bye")
        .map_err(|_| Failed("send_close"))?;
    net.run_until(&mut client, &mut server, "close handshake", |_, c, s| {
        c.closed.is_some() && s.closed.is_some()
    })?;
    for (name, peer_close, closed, outcome) in [
        (
            "client",
            client.inbox.close,
            client.closed,
            client.driver.connection().close_outcome(),
        ),
        (
            "server",
            server.inbox.close,
            server.closed,
            server.driver.connection().close_outcome(),
        ),
    ] {
        check(peer_close == Some(1000), name)?;
        check(closed == Some(Closed::Done), name)?;
        check(
            outcome.is_some_and(|o| o.clean && o.code == CloseCode::NORMAL),
            name,
        )?;
    }
    say!("close: client 1000 \"bye\", server replied 1000, both Closed::Done, clean: ok");

    // TCP close, the server first (RFC 6455 §7.1.1): its FIN, then the client's.
    net.run_until(&mut client, &mut server, "tcp close", |net, c, s| {
        net.state(c.socket) == State::Closed
            && matches!(net.state(s.socket), State::TimeWait | State::Closed)
    })?;
    say!(
        "tcp: closed at {} ms (client Closed, server TimeWait): ok",
        net.now
    );
    say!(
        "wire: client wrote {} bytes, server wrote {} bytes, {} packets through the loopback ({} dropped), {} iterations, {} ms simulated",
        client.written,
        server.written,
        net.device.packets,
        net.device.dropped,
        net.iterations,
        net.now
    );
    Ok(())
}

fn tcp_socket(rx: &'static mut [u8], tx: &'static mut [u8]) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
    // The simulated clock moves 1 ms per loop iteration: acknowledge at once rather than
    // after smoltcp's default 10 ms, so a window-limited transfer does not wait on the timer.
    socket.set_ack_delay(None);
    socket
}

/// The interface, its device, the sockets and the simulated clock.
struct Net {
    iface: Interface,
    device: &'static mut Loopback,
    sockets: SocketSet<'static>,
    /// Milliseconds since the start: the time for both smoltcp and the drivers.
    now: u64,
    iterations: u32,
}

impl Net {
    fn socket(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut(handle)
    }

    fn state(&self, handle: SocketHandle) -> State {
        self.sockets.get::<tcp::Socket>(handle).state()
    }

    /// Runs the loop until `done`, failing with `what` at the iteration bound. One iteration:
    /// smoltcp moves packets (`Interface::poll`), each end drives its socket, the clock ticks.
    fn run_until<R: rand_core::RngCore>(
        &mut self,
        client: &mut Peer<Client<R>>,
        server: &mut Peer<Server>,
        what: &'static str,
        done: impl Fn(&Self, &Peer<Client<R>>, &Peer<Server>) -> bool,
    ) -> Result<(), Failed> {
        while !done(self, client, server) {
            self.iterations += 1;
            if self.iterations > MAX_ITERATIONS {
                return Err(Failed(what));
            }
            let now = Instant::from_millis(self.now as i64);
            let _ = self.iface.poll(now, self.device, &mut self.sockets);
            client.service(self.sockets.get_mut(client.socket), self.now)?;
            server.service(self.sockets.get_mut(server.socket), self.now)?;
            self.now += 1;
        }
        Ok(())
    }
}

/// A message being sent, generated piece by piece.
struct Outgoing {
    kind: DataKind,
    seed: u8,
    len: usize,
    sent: usize,
    header: bool,
}

/// One end: its driver over its TCP socket, and what it has received.
struct Peer<E: Endpoint> {
    driver: Driver<'static, E>,
    socket: SocketHandle,
    /// Closes the TCP connection first once the WebSocket is closed (the server).
    closes_first: bool,
    inbox: Inbox,
    outbox: Option<Outgoing>,
    requests: u32,
    opened: bool,
    closed: Option<Closed>,
    /// Bytes written to the socket.
    written: usize,
}

impl<E: Endpoint> Peer<E> {
    fn new(driver: Driver<'static, E>, socket: SocketHandle, closes_first: bool) -> Self {
        Self {
            driver,
            socket,
            closes_first,
            inbox: Inbox::new(),
            outbox: None,
            requests: 0,
            opened: false,
            closed: None,
            written: 0,
        }
    }

    /// Starts sending test message `seed` of `kind`, `len` bytes; the peer expects the same.
    fn send(&mut self, kind: DataKind, seed: u8, len: usize) {
        self.outbox = Some(Outgoing {
            kind,
            seed,
            len,
            sent: 0,
            header: false,
        });
        // This end receives the message of the other seed (1 <-> 2).
        self.inbox.expect = (kind, 3 - seed);
    }

    /// Does what the driver says until the socket can take or give nothing more.
    fn service(&mut self, socket: &mut tcp::Socket<'_>, now: u64) -> Result<(), Failed> {
        if self.closed.is_some() {
            return self.close_tcp(socket);
        }
        if !matches!(socket.state(), State::Established | State::CloseWait) {
            return Ok(()); // not connected yet
        }
        for _ in 0..STEPS {
            self.queue_outgoing()?;
            match self.driver.poll(now) {
                Poll::Write(bytes) => {
                    let n = socket.send_slice(bytes).map_err(|_| Failed("send_slice"))?;
                    if n > 0 {
                        self.driver.write_done(n);
                        self.written += n;
                        continue;
                    }
                    // The socket's transmit buffer is full: read meanwhile, so that a peer
                    // blocked on its own writes goes on.
                    if !self.read(socket)? {
                        return Ok(());
                    }
                }
                Poll::Read { buf, wake_at: _ } => match socket.recv_slice(buf) {
                    Ok(0) => return Ok(()), // nothing yet: after the next Interface::poll
                    Ok(n) => self.driver.read_done(n),
                    Err(RecvError::Finished) => self.driver.read_done(0), // the peer's FIN
                    Err(_) => return Err(Failed("recv_slice")),
                },
                Poll::Request(pending) => {
                    self.requests += 1;
                    let mut headers = [httparse::EMPTY_HEADER; 16];
                    let request = pending
                        .request(&mut headers)
                        .map_err(|_| Failed("server: parse request"))?;
                    check(request.path() == "/ws", "server: path")?;
                    check(request.host() == "device.local", "server: host")?;
                    let accept = Accept {
                        subprotocol: request.subprotocols().find(|&p| p == "chat.v1"),
                        ..Accept::default()
                    };
                    pending
                        .accept(&request, &accept)
                        .map_err(|_| Failed("server: accept"))?;
                }
                Poll::Open => self.opened = true,
                Poll::Event(event) => self.inbox.on_event(&event),
                Poll::Closed(reason) => {
                    self.closed = Some(reason);
                    return self.close_tcp(socket);
                }
            }
        }
        Ok(())
    }

    /// Reads into the driver's free `rx` while its write waits; whether anything came.
    fn read(&mut self, socket: &mut tcp::Socket<'_>) -> Result<bool, Failed> {
        match socket.recv_slice(self.driver.read_buf()) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.driver.read_done(n);
                Ok(true)
            }
            Err(RecvError::Finished) => {
                self.driver.read_done(0);
                Ok(true)
            }
            Err(_) => Err(Failed("recv_slice")),
        }
    }

    /// Once the driver is closed (and all it wrote is in the socket): the server sends its
    /// FIN; the client drops what still arrives until the server's FIN, then sends its own.
    fn close_tcp(&mut self, socket: &mut tcp::Socket<'_>) -> Result<(), Failed> {
        if self.closes_first {
            if matches!(socket.state(), State::Established | State::CloseWait) {
                socket.close();
            }
            return Ok(());
        }
        let mut scratch = [0u8; 64];
        match socket.recv_slice(&mut scratch) {
            Ok(0) => Ok(()),
            Ok(_) => Err(Failed("client: data after the close")),
            Err(RecvError::Finished) => {
                socket.close();
                Ok(())
            }
            Err(_) if socket.state() == State::LastAck || !socket.is_open() => Ok(()),
            Err(_) => Err(Failed("client: recv after the close")),
        }
    }

    /// Queues as much of the outgoing message as the driver's `tx` has room for.
    fn queue_outgoing(&mut self) -> Result<(), Failed> {
        let Some(out) = self.outbox.as_mut() else {
            return Ok(());
        };
        if !out.header {
            match self
                .driver
                .send_frame_header(out.kind, 0, out.len as u64, true)
            {
                Ok(()) => out.header = true,
                Err(TrySendError::Full { .. }) => return Ok(()),
                Err(_) => return Err(Failed("send_frame_header")),
            }
        }
        let mut piece = [0u8; PIECE];
        while out.sent < out.len {
            let piece = &mut piece[..PIECE.min(out.len - out.sent)];
            stream::fill(out.kind, out.seed, out.sent, piece);
            match self.driver.send_payload(piece) {
                Ok(taken) => out.sent += taken,
                Err(TrySendError::Full { .. }) => return Ok(()),
                Err(_) => return Err(Failed("send_payload")),
            }
        }
        self.outbox = None;
        Ok(())
    }
}

/// A packet in one of the loopback's slots.
type Packet = Vec<u8, MTU>;

/// A loopback device of fixed capacity: what smoltcp transmits it receives, in order. When
/// the ring is full `transmit` says "not now" and smoltcp tries again on a later poll.
struct Loopback {
    ring: Deque<Packet, SLOTS>,
    /// Packets that went through.
    packets: u32,
    /// Packets that found the ring full (none: `receive` frees a slot before its reply).
    dropped: u32,
}

impl Loopback {
    const fn new() -> Self {
        Self {
            ring: Deque::new(),
            packets: 0,
            dropped: 0,
        }
    }
}

impl Device for Loopback {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken, TxToken<'_>)> {
        // Taking the packet out frees the slot its reply (a TCP ACK) may need.
        let packet = self.ring.pop_front()?;
        Some((RxToken(packet), TxToken(self)))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        (!self.ring.is_full()).then_some(TxToken(self))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps
    }
}

struct RxToken(Packet);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

struct TxToken<'a>(&'a mut Loopback);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = Packet::new();
        // smoltcp never asks for more than the MTU; a longer packet would be cut short.
        let _ = packet.resize(len.min(MTU), 0);
        let result = f(&mut packet);
        match self.0.ring.push_back(packet) {
            Ok(()) => self.0.packets += 1,
            Err(_) => self.0.dropped += 1,
        }
        result
    }
}
