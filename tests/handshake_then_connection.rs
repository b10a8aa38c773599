//! The opening handshake (RFC 6455 §4) hands over to the connection (§5–§7): the bytes after
//! each head are already frames, and a message goes both ways before a clean close.

use httparse::EMPTY_HEADER;
use wsmachine::handshake::client::{parse_response, ClientRequest};
use wsmachine::handshake::server::{parse_request, Accept, ServerOptions};
use wsmachine::handshake::DEFAULT_MAX_HEAD_LEN;
use wsmachine::{CloseCode, Config, Connection, DataChunk, DataKind, Event};

/// A fixed-sequence generator: enough for masking keys in a test.
struct Lcg(u32);

impl rand_core::RngCore for Lcg {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u32() as u8;
        }
    }
}

fn data(event: Option<Event<'_>>) -> (DataKind, Vec<u8>, bool) {
    match event {
        Some(Event::Data(DataChunk {
            kind,
            payload,
            last,
            ..
        })) => (kind, payload.to_vec(), last),
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn handshake_then_messages_then_close() {
    let mut rng = Lcg(1);
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rng, &mut nonce);
    let offer = ClientRequest {
        subprotocols: &["chat"],
        ..ClientRequest::new("127.0.0.1", "/")
    };

    // Client: the request, and its first message in the same segment.
    let mut client = Connection::client(Config::DEFAULT, Lcg(99));
    let mut c2s = [0u8; 1024];
    let (req_len, expected) = offer.write(&nonce, &mut c2s).unwrap();
    let frame_len = client.send_text("first", &mut c2s[req_len..]).unwrap();
    let c2s = &mut c2s[..req_len + frame_len];

    // Server: parse, accept, and hand the rest to the connection.
    let mut headers = [EMPTY_HEADER; 16];
    let (request, consumed) = parse_request(c2s, &mut headers, &ServerOptions::default())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(consumed, req_len);
    let mut s2c = [0u8; 1024];
    let accept = Accept {
        subprotocol: request.subprotocols().next(),
        ..Accept::default()
    };
    let resp_len = request.accept(&accept, &mut s2c).unwrap();
    let mut server = Connection::server(Config::DEFAULT);
    let (_, rest) = c2s.split_at_mut(consumed);
    let received = server.receive(rest).unwrap();
    assert_eq!(received.consumed, frame_len);
    assert_eq!(
        data(received.event),
        (DataKind::Text, b"first".to_vec(), true)
    );

    // Server answers in the same segment as its 101.
    let n = server
        .send_binary(&[1, 2, 3], &mut s2c[resp_len..])
        .unwrap();
    let s2c = &mut s2c[..resp_len + n];

    // Client: validate, then the connection takes the rest.
    let mut headers = [EMPTY_HEADER; 16];
    let (response, consumed) = parse_response(s2c, &mut headers, DEFAULT_MAX_HEAD_LEN)
        .unwrap()
        .complete()
        .unwrap();
    let accepted = response.validate(&expected).unwrap();
    assert_eq!(accepted.subprotocol(), Some("chat"));
    let (_, rest) = s2c.split_at_mut(consumed);
    let received = client.receive(rest).unwrap();
    assert_eq!(
        data(received.event),
        (DataKind::Binary, vec![1, 2, 3], true)
    );

    // Close from the client; the server echoes the code and both end closed.
    let mut wire = [0u8; 256];
    let n = client
        .send_close(CloseCode::NORMAL, "bye", &mut wire)
        .unwrap();
    match server.receive(&mut wire[..n]).unwrap().event {
        Some(Event::Close(frame)) => {
            assert_eq!((frame.code, frame.reason), (CloseCode::NORMAL, "bye"))
        }
        other => panic!("expected close, got {other:?}"),
    }
    let n = server.poll_transmit(&mut wire).unwrap();
    assert!(server.is_closed());
    assert_eq!(&wire[..n], b"\x88\x02\x03\xe8");
    match client.receive(&mut wire[..n]).unwrap().event {
        Some(Event::Close(frame)) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("expected close, got {other:?}"),
    }
    assert!(client.is_closed());
}
