//! A client and a server `Connection` talking over in-memory pipes on a Cortex-M4, each with a
//! 256-byte receive buffer: the opening handshake, text, a 4 KiB binary message each way,
//! fragmentation, ping/pong and the close handshake. Exits 0 only when every step checked out.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use wsmachine::handshake::client::{parse_response, ClientRequest};
use wsmachine::handshake::server::{parse_request, Accept, ServerOptions};
use wsmachine::handshake::{Status, DEFAULT_MAX_HEAD_LEN};
use wsmachine::{Client, CloseCode, Config, Connection, DataKind, Server};
use wsmachine_firmware::{
    check, exit, pattern, say, Checksum, End, Failed, Pipe, TestRng, READ, RX,
};

/// One direction of the "TCP connection".
type Wire = Pipe<1024>;

/// The size of the large binary messages: 16 times the receive buffer.
const BIG: usize = 4096;

#[entry]
fn main() -> ! {
    match run() {
        Ok(()) => {
            say!("pair: all steps passed");
            exit(true)
        }
        Err(Failed(what)) => {
            say!("pair: FAILED: {}", what);
            exit(false)
        }
    }
}

fn run() -> Result<(), Failed> {
    say!(
        "pair: size_of Connection<Server> = {}, Connection<Client<TestRng>> = {}, rx buffer = {}",
        core::mem::size_of::<Connection<Server>>(),
        core::mem::size_of::<Connection<Client<TestRng>>>(),
        RX
    );
    let mut c2s = Wire::new();
    let mut s2c = Wire::new();
    let (mut client, mut server) = handshake(&mut c2s, &mut s2c)?;
    text(&mut client, &mut server, &mut c2s, &mut s2c)?;
    binary(&mut client, &mut server, &mut c2s, &mut s2c)?;
    fragments(&mut client, &mut server, &mut c2s, &mut s2c)?;
    ping(&mut client, &mut server, &mut c2s, &mut s2c)?;
    close(&mut client, &mut server, &mut c2s, &mut s2c)?;
    say!(
        "wire: client sent {} bytes, server sent {} bytes",
        c2s.total,
        s2c.total
    );
    Ok(())
}

type ClientEnd = End<Client<TestRng>>;
type ServerEnd = End<Server>;

/// Client builds the request, server parses and accepts it, client validates the 101.
fn handshake(c2s: &mut Wire, s2c: &mut Wire) -> Result<(ClientEnd, ServerEnd), Failed> {
    let mut rng = TestRng(0x2545_f491);
    let mut tx = [0u8; RX];
    let request = ClientRequest {
        subprotocols: &["chat.v2", "chat.v1"],
        ..ClientRequest::new("device.local", "/ws")
    };
    let (request_len, expected) = request
        .write_with_rng(&mut rng, &mut tx)
        .map_err(|_| Failed("client: write request"))?;
    c2s.push(&tx[..request_len])?;

    // The server reads the head in pieces until it is complete.
    let mut srx = [0u8; RX];
    let mut sfilled = 0;
    let (response_len, head_len) = loop {
        sfilled += c2s.read(&mut srx[sfilled..], READ);
        let mut headers = [httparse::EMPTY_HEADER; 8];
        match parse_request(&srx[..sfilled], &mut headers, &ServerOptions::default()) {
            Ok(Status::Complete((req, len))) => {
                #[cfg(feature = "defmt")]
                defmt::println!("handshake: server got {}", req);
                check(req.path() == "/ws", "server: request path")?;
                check(req.host() == "device.local", "server: request host")?;
                check(
                    req.subprotocols().any(|p| p == "chat.v1"),
                    "server: offered subprotocols",
                )?;
                let accept = Accept {
                    subprotocol: Some("chat.v1"),
                    ..Accept::default()
                };
                let n = req
                    .accept(&accept, &mut tx)
                    .map_err(|_| Failed("server: accept"))?;
                break (n, len);
            }
            Ok(Status::Partial) if !c2s.is_empty() => {}
            _ => return Err(Failed("server: parse request")),
        }
    };
    s2c.push(&tx[..response_len])?;
    let server = End::new(Connection::server(Config::DEFAULT), &srx[head_len..sfilled])?;

    let mut crx = [0u8; RX];
    let mut cfilled = 0;
    let head_len = loop {
        cfilled += s2c.read(&mut crx[cfilled..], READ);
        let mut headers = [httparse::EMPTY_HEADER; 8];
        match parse_response(&crx[..cfilled], &mut headers, DEFAULT_MAX_HEAD_LEN) {
            Ok(Status::Complete((response, len))) => {
                #[cfg(feature = "defmt")]
                defmt::println!("handshake: client got {}", response);
                check(response.status() == 101, "client: status 101")?;
                let accepted = response
                    .validate(&expected)
                    .map_err(|_| Failed("client: validate response"))?;
                check(
                    accepted.subprotocol() == Some("chat.v1"),
                    "client: chosen subprotocol",
                )?;
                break len;
            }
            Ok(Status::Partial) if !s2c.is_empty() => {}
            _ => return Err(Failed("client: parse response")),
        }
    };
    let client = End::new(
        Connection::client(Config::DEFAULT, rng),
        &crx[head_len..cfilled],
    )?;
    say!(
        "handshake: request {} bytes, 101 response {} bytes, subprotocol chat.v1: ok",
        request_len,
        response_len
    );
    Ok((client, server))
}

/// A text message each way.
fn text(
    client: &mut ClientEnd,
    server: &mut ServerEnd,
    c2s: &mut Wire,
    s2c: &mut Wire,
) -> Result<(), Failed> {
    let mut tx = [0u8; RX];
    let hello = "hello from the client, \u{3ba}\u{3b1}\u{3bb}\u{3b7}\u{3bc}\u{3ad}\u{3c1}\u{3b1}";
    let n = client.conn.send_text(hello, &mut tx)?;
    c2s.push(&tx[..n])?;
    server.pump(c2s, s2c)?;
    check(server.seen.texts == 1, "server: one text message")?;
    check(
        server.seen.text() == hello.as_bytes(),
        "server: text content",
    )?;

    let reply = "hello from the server";
    let n = server.conn.send_text(reply, &mut tx)?;
    s2c.push(&tx[..n])?;
    client.pump(s2c, c2s)?;
    check(client.seen.texts == 1, "client: one text message")?;
    check(
        client.seen.text() == reply.as_bytes(),
        "client: text content",
    )?;
    say!(
        "text: client->server {} bytes, server->client {} bytes: ok",
        hello.len(),
        reply.len()
    );
    Ok(())
}

/// 4 KiB each way through 256-byte receive buffers, streamed in pieces on the sending side
/// too, and checked by a running checksum.
fn binary(
    client: &mut ClientEnd,
    server: &mut ServerEnd,
    c2s: &mut Wire,
    s2c: &mut Wire,
) -> Result<(), Failed> {
    let mut tx = [0u8; RX];
    // Client to server: the header, then pieces of 203 bytes masked in place (the masking
    // offset moves through every value), each delivered before the next is made.
    let n = client
        .conn
        .send_frame_header(DataKind::Binary, 0, BIG as u64, true, &mut tx)?;
    c2s.push(&tx[..n])?;
    let mut sent = Checksum::new();
    let mut at = 0;
    while at < BIG {
        let piece = &mut tx[..203.min(BIG - at)];
        for (i, b) in piece.iter_mut().enumerate() {
            *b = pattern(1, at + i);
        }
        sent.update(piece);
        client.conn.mask_payload_in_place(piece)?;
        c2s.push(piece)?;
        at += piece.len();
        server.pump(c2s, s2c)?;
    }
    check(server.seen.binaries == 1, "server: one binary message")?;
    check(server.seen.binary_len == BIG, "server: binary length")?;
    check(server.seen.binary_sum == sent, "server: binary checksum")?;
    check(server.seen.max_chunk <= RX, "server: chunk size")?;
    say!(
        "binary: client->server {} bytes in {} chunks (max {}), checksum {}: ok",
        BIG,
        server.seen.chunks,
        server.seen.max_chunk,
        sent.0
    );

    // Server to client: pieces of 150 bytes copied out with send_payload.
    let n = server
        .conn
        .send_frame_header(DataKind::Binary, 0, BIG as u64, true, &mut tx)?;
    s2c.push(&tx[..n])?;
    let mut sent = Checksum::new();
    let mut piece = [0u8; 150];
    let mut at = 0;
    while at < BIG {
        let piece = &mut piece[..150.min(BIG - at)];
        for (i, b) in piece.iter_mut().enumerate() {
            *b = pattern(2, at + i);
        }
        sent.update(piece);
        let n = server.conn.send_payload(piece, &mut tx)?;
        s2c.push(&tx[..n])?;
        at += n;
        client.pump(s2c, c2s)?;
    }
    check(client.seen.binaries == 1, "client: one binary message")?;
    check(client.seen.binary_len == BIG, "client: binary length")?;
    check(client.seen.binary_sum == sent, "client: binary checksum")?;
    say!(
        "binary: server->client {} bytes in {} chunks (max {}), checksum {}: ok",
        BIG,
        client.seen.chunks,
        client.seen.max_chunk,
        sent.0
    );
    Ok(())
}

/// A text message in three fragments that split a two-byte character, with a ping between
/// the first two; the server's automatic pong comes back.
fn fragments(
    client: &mut ClientEnd,
    server: &mut ServerEnd,
    c2s: &mut Wire,
    s2c: &mut Wire,
) -> Result<(), Failed> {
    let whole = "fragmented \u{3ba}\u{3b1}\u{3bb}\u{3b7} message".as_bytes();
    // "fragmented " is 11 bytes; byte 12 is the middle of the first Greek letter.
    let parts = [&whole[..12], &whole[12..20], &whole[20..]];
    let mut tx = [0u8; RX];
    let pings = server.seen.pings;
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let n = client
            .conn
            .send_fragment(DataKind::Text, 0, part, last, &mut tx)?;
        c2s.push(&tx[..n])?;
        if i == 0 {
            let n = client.conn.send_ping(b"between fragments", &mut tx)?;
            c2s.push(&tx[..n])?;
        }
    }
    server.pump(c2s, s2c)?;
    check(server.seen.texts == 2, "server: fragmented message whole")?;
    check(server.seen.text() == whole, "server: fragmented content")?;
    check(server.seen.chunks >= 3, "server: one chunk per fragment")?;
    check(
        server.seen.pings == pings + 1,
        "server: ping between fragments",
    )?;
    let pongs = client.seen.pongs;
    client.pump(s2c, c2s)?;
    let mut expected = Checksum::new();
    expected.update(b"between fragments");
    check(client.seen.pongs == pongs + 1, "client: automatic pong")?;
    check(client.seen.control_sum == expected, "client: pong payload")?;
    say!(
        "fragments: {} fragments, {} bytes, a ping in between answered: ok",
        parts.len(),
        whole.len()
    );
    Ok(())
}

/// The server pings, the client answers by itself.
fn ping(
    client: &mut ClientEnd,
    server: &mut ServerEnd,
    c2s: &mut Wire,
    s2c: &mut Wire,
) -> Result<(), Failed> {
    let mut tx = [0u8; RX];
    let payload = b"are you there?";
    let n = server.conn.send_ping(payload, &mut tx)?;
    s2c.push(&tx[..n])?;
    let pings = client.seen.pings;
    client.pump(s2c, c2s)?;
    check(client.seen.pings == pings + 1, "client: ping")?;
    check(c2s.len() == 6 + payload.len(), "client: masked pong queued")?;
    let pongs = server.seen.pongs;
    server.pump(c2s, s2c)?;
    let mut expected = Checksum::new();
    expected.update(payload);
    check(server.seen.pongs == pongs + 1, "server: pong")?;
    check(server.seen.control_sum == expected, "server: pong payload")?;
    say!("ping/pong: server ping, client auto-pong, payload echoed: ok");
    Ok(())
}

/// The client closes with 1000, the server replies, both end closed.
fn close(
    client: &mut ClientEnd,
    server: &mut ServerEnd,
    c2s: &mut Wire,
    s2c: &mut Wire,
) -> Result<(), Failed> {
    let mut tx = [0u8; RX];
    let n = client.conn.send_close(CloseCode::NORMAL, "bye", &mut tx)?;
    c2s.push(&tx[..n])?;
    check(!client.conn.is_closed(), "client: waits for the reply")?;
    server.pump(c2s, s2c)?;
    check(
        server.seen.close == Some(CloseCode::NORMAL),
        "server: close code",
    )?;
    check(server.conn.is_closed(), "server: closed")?;
    client.pump(s2c, c2s)?;
    check(
        client.seen.close == Some(CloseCode::NORMAL),
        "client: close reply",
    )?;
    check(client.conn.is_closed(), "client: closed")?;
    check(c2s.is_empty() && s2c.is_empty(), "nothing left on the wire")?;
    say!("close: client 1000 \"bye\", server replied 1000, both closed: ok");
    Ok(())
}
