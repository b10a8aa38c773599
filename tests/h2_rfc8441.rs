//! RFC 8441 over a real HTTP/2 stack (the `h2` crate) on 127.0.0.1: the extended CONNECT set
//! up with `wsmachine::handshake::h2`, then a `Connection` on each side over the stream's DATA
//! frames under HTTP/2 flow control, messages both ways, pings, and the close handshake ending
//! each half of the stream with END_STREAM (§5); and the two refusals a client must report.
//!
//! The machinery is `examples/h2_websocket.rs`, included as a module, so the example and these
//! tests run the same code; the assertions are here.

#[allow(dead_code)]
#[path = "../examples/h2_websocket.rs"]
mod example;

use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use example::Counts;
use example::{
    accept_response, client_scenario, listen, open, open_with, request_fields, serve, step,
    Failure, H2WebSocket, Message, EXTENSION_OFFER, LARGE, PATH, SERVER_PING, SUBPROTOCOL,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wsmachine::error::{ProtocolError, ReceiveError};
use wsmachine::handshake::h2::{parse_connect, H2Error};
use wsmachine::{CloseCode, CloseOutcome, Config, Connection, Server};

/// Every test as a whole ends within this.
const TEST: Duration = Duration::from_secs(30);

/// Runs a test body under [`TEST`].
async fn bounded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST, body)
        .await
        .expect("the test took longer than its bound")
}

/// HTTP/2's initial flow-control window (RFC 9113 §6.9.2), which `h2` keeps by default.
const INITIAL_WINDOW: usize = 65_535;

const CLEAN: CloseOutcome = CloseOutcome {
    clean: true,
    code: CloseCode::NORMAL,
};

#[tokio::test]
async fn websocket_over_an_h2_stream_end_to_end() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let server = tokio::spawn(serve(listener, true));
        let client = client_scenario(addr).await.unwrap();
        let server = server.await.unwrap().unwrap();

        // The extended CONNECT, as the helper wrote it (RFC 8441 §4): no key, no upgrade.
        let authority = addr.to_string();
        let expected: Vec<(&str, &str)> = vec![
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "http"),
            (":path", PATH),
            (":authority", &authority),
            ("sec-websocket-version", "13"),
            ("sec-websocket-protocol", "superchat"),
            ("sec-websocket-protocol", SUBPROTOCOL),
            ("sec-websocket-extensions", EXTENSION_OFFER),
        ];
        let sent: Vec<(&str, &str)> = client
            .sent
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(sent, expected);
        // ... and as the server rebuilt them from h2's request: the same, through HPACK.
        assert_eq!(server.fields, client.sent);

        // What the server's h2 exposed, and what it answered.
        assert_eq!(server.requests, 1);
        assert_eq!(server.protocol.as_deref(), Some("websocket"));
        assert_eq!((server.status, server.refused), (200, None));
        assert_eq!(server.subprotocol.as_deref(), Some(SUBPROTOCOL));
        assert_eq!(client.subprotocol.as_deref(), Some(SUBPROTOCOL));
        assert_eq!(server.extensions_offered, ["permessage-deflate"]);
        assert!(client.extensions.is_empty());

        // Messages both ways: each side received exactly what the other sent.
        let large: Vec<u8> = (0..LARGE).map(|i| (i % 251) as u8).collect();
        assert!(large.len() > INITIAL_WINDOW);
        let messages = [
            Message::Text("hello over HTTP/2".into()),
            Message::Binary(large),
        ];
        assert_eq!(server.echoed, messages);
        assert_eq!(client.echoes, messages);

        // Pings each way, answered by the connection's automatic pong.
        assert_eq!(server.pinged, [b"ping 1".to_vec()]);
        assert_eq!(client.pong.as_deref(), Some(&b"ping 1"[..]));
        assert_eq!(client.server_ping.as_deref(), Some(SERVER_PING));
        assert_eq!(server.pong.as_deref(), Some(SERVER_PING));

        // Flow control: the large message could only go through as the peer gave its window
        // back, both ways; every byte sent arrived, and was released.
        assert!(client.counts.capacity_waits > 0, "{:?}", client.counts);
        assert!(server.counts.capacity_waits > 0, "{:?}", server.counts);
        assert_eq!(client.counts.bytes_out, server.counts.bytes_in);
        assert_eq!(server.counts.bytes_out, client.counts.bytes_in);
        assert!(client.counts.bytes_out > LARGE && server.counts.bytes_out > LARGE);
        // h2's DATA frames are at most 16 KiB (its default SETTINGS_MAX_FRAME_SIZE): the
        // message crossed many of them, and the connection took it in pieces.
        assert!(server.counts.data_frames_in >= LARGE / 16_384);
        assert!(client.counts.data_frames_in >= LARGE / 16_384);

        // The close handshake, then END_STREAM from each side (RFC 8441 §5).
        assert_eq!(server.close, Some((1000, "done".to_owned())));
        assert_eq!(client.close, Some((1000, String::new())));
        assert_eq!(server.outcome, Some(CLEAN));
        assert_eq!(client.outcome, Some(CLEAN));
        assert!(client.counts.end_stream_sent && server.counts.end_stream_sent);
    })
    .await;
}

/// A server for the scenarios below: one TCP connection, one extended CONNECT accepted with
/// the helpers (no subprotocol), and the task that drives the HTTP/2 connection.
async fn accept_websocket(
    listener: TcpListener,
    config: Config,
) -> Result<(H2WebSocket<Server>, JoinHandle<()>), Failure> {
    let (tcp, _) = step("TCP accept", async { Ok(listener.accept().await?) }).await?;
    let mut connection = step("HTTP/2 handshake", async {
        Ok(h2::server::Builder::new()
            .enable_connect_protocol()
            .handshake::<_, Bytes>(tcp)
            .await?)
    })
    .await?;
    let (request, mut respond) = step("the request", async {
        match connection.accept().await {
            Some(accepted) => Ok(accepted?),
            None => Err(Failure::Unexpected("no request".into())),
        }
    })
    .await?;
    let driver = tokio::spawn(async move { while connection.accept().await.is_some() {} });
    let response = {
        let fields = request_fields(&request).expect("text fields");
        let connect = parse_connect(fields.iter().copied())?;
        let mut out = [("", ""); 3];
        let n = connect.response_fields(None, None, &mut out)?;
        accept_response(&out[..n])?
    };
    let send = respond.send_response(response, false)?;
    let ws = H2WebSocket::new(Connection::server(config), send, request.into_body());
    Ok((ws, driver))
}

/// Receives until the peer's END_STREAM (at most `bound` things), then lets the HTTP/2
/// connection end.
async fn until_end(
    mut ws: H2WebSocket<Server>,
    driver: JoinHandle<()>,
    bound: usize,
) -> Result<(Vec<Message>, Counts), Failure> {
    let mut seen = Vec::new();
    for _ in 0..bound {
        let message = step("the client's next frame", ws.next()).await?;
        let end = matches!(message, Message::End(_));
        seen.push(message);
        if end {
            break;
        }
    }
    assert!(ws.conn.is_closed(), "{seen:?}");
    let counts = ws.counts;
    drop(ws);
    step("the end of the HTTP/2 connection", async {
        driver
            .await
            .map_err(|e| Failure::Unexpected(format!("{e}")))
    })
    .await?;
    Ok((seen, counts))
}

/// A server that speaks first and closes first: a text, then close 1001. Its END_STREAM waits
/// for the client's close reply (only then is the WebSocket closed); the client's END_STREAM
/// goes out in the same DATA write as that reply. Returns what it received.
async fn serve_and_close_first(listener: TcpListener) -> Result<Vec<Message>, Failure> {
    let (mut ws, driver) = accept_websocket(listener, Config::DEFAULT).await?;
    step("send text", ws.send_text("welcome")).await?;
    step("send close", ws.send_close(CloseCode::GOING_AWAY, "bye")).await?;
    assert!(
        !ws.counts.end_stream_sent,
        "END_STREAM before the close reply"
    );
    let (seen, counts) = until_end(ws, driver, 4).await?;
    assert!(counts.end_stream_sent);
    Ok(seen)
}

#[tokio::test]
async fn the_server_closes_first_and_both_halves_end() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let server = tokio::spawn(serve_and_close_first(listener));
        let example::Opened {
            mut ws,
            subprotocol,
            driver,
            ..
        } = open(addr, PATH, &[SUBPROTOCOL]).await.unwrap();
        // This server offers no subprotocol back: none is in force.
        assert_eq!(subprotocol, None);
        assert_eq!(ws.next().await.unwrap(), Message::Text("welcome".into()));
        // The close: the reply goes out with END_STREAM at once, as the connection is closed.
        assert_eq!(ws.next().await.unwrap(), Message::Close(1001, "bye".into()));
        assert!(ws.conn.is_closed());
        assert!(ws.counts.end_stream_sent);
        let end = ws.next().await.unwrap();
        assert_eq!(
            end,
            Message::End(CloseOutcome {
                clean: true,
                code: CloseCode::GOING_AWAY
            })
        );
        drop(ws);
        driver.await.unwrap().unwrap();

        let seen = server.await.unwrap().unwrap();
        assert_eq!(
            seen,
            [
                Message::Close(1001, String::new()),
                Message::End(CloseOutcome {
                    clean: true,
                    code: CloseCode::GOING_AWAY
                }),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_server_without_extended_connect_is_refused_before_any_request() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let server = tokio::spawn(serve(listener, false));
        let refused = open(addr, PATH, &[]).await.err();
        let server = server.await.unwrap().unwrap();
        match refused {
            Some(Failure::Helper(e)) => {
                assert_eq!(e, H2Error::ConnectProtocolDisabled);
                assert!(e.to_string().contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"));
            }
            other => panic!("expected the helper's refusal, got {other:?}"),
        }
        // The client sent nothing: the server saw no stream at all.
        assert_eq!(server.requests, 0);
        assert_eq!(server.status, 0);
    })
    .await;
}

#[tokio::test]
async fn a_non_200_answer_is_reported_with_its_status() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let server = tokio::spawn(serve(listener, true));
        let refused = open(addr, "/elsewhere", &[]).await.err();
        let server = server.await.unwrap().unwrap();
        assert!(
            matches!(refused, Some(Failure::Helper(H2Error::Status(404)))),
            "{refused:?}"
        );
        assert_eq!((server.requests, server.status), (1, 404));
        assert_eq!(
            refused.map(|e| e.to_string()).as_deref(),
            Some("the server answered 404")
        );
    })
    .await;
}

/// Requests our helper would never write, sent through h2 anyway: the server's helper refuses
/// each, the server answers 400, and the client reports the 400.
#[tokio::test]
async fn the_server_refuses_a_bad_extended_connect_with_400() {
    type Edit = fn(&mut Vec<(&str, &str)>);
    let cases: [(Edit, H2Error); 3] = [
        (
            |f| f.retain(|(n, _)| *n != "sec-websocket-version"),
            H2Error::Version,
        ),
        (
            |f| {
                for field in f.iter_mut().filter(|(n, _)| *n == "sec-websocket-version") {
                    field.1 = "8";
                }
            },
            H2Error::Version,
        ),
        (
            |f| {
                for field in f.iter_mut().filter(|(n, _)| *n == ":protocol") {
                    field.1 = "not-websocket";
                }
            },
            H2Error::Protocol,
        ),
    ];
    bounded(async {
        for (edit, why) in cases {
            let (listener, addr) = listen().await.unwrap();
            let server = tokio::spawn(serve(listener, true));
            let refused = open_with(addr, PATH, &[], edit).await.err();
            let server = server.await.unwrap().unwrap();
            assert_eq!(server.refused, Some(why));
            assert_eq!((server.requests, server.status), (1, 400));
            assert!(
                matches!(refused, Some(Failure::Helper(H2Error::Status(400)))),
                "{why:?}: {refused:?}"
            );
        }
    })
    .await;
}

/// A protocol violation over the stream: the server's connection fails, its 1002 close goes out
/// (what it owed, before the error is reported) with END_STREAM, and the client sees both.
#[tokio::test]
async fn a_violation_on_the_stream_is_answered_with_1002_then_end_stream() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let server = tokio::spawn(async move {
            let (mut ws, driver) = accept_websocket(listener, Config::DEFAULT).await?;
            let violation = step("the violation", ws.next()).await.err();
            assert!(
                matches!(
                    violation,
                    Some(Failure::Receive(ReceiveError::Protocol(
                        ProtocolError::UnmaskedFrame
                    )))
                ),
                "{violation:?}"
            );
            assert!(ws.counts.end_stream_sent);
            until_end(ws, driver, 2).await
        });
        let example::Opened { mut ws, driver, .. } = open(addr, PATH, &[]).await.unwrap();
        // An unmasked text frame from a client (RFC 6455 §5.1: the server must fail).
        ws.send_raw(&[0x81, 0x02, b'h', b'i']).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap(),
            Message::Close(1002, String::new())
        );
        // The connection, closed by the server's close, ends our half as well.
        assert!(ws.conn.is_closed() && ws.counts.end_stream_sent);
        assert!(matches!(ws.next().await.unwrap(), Message::End(_)));
        drop(ws);
        driver.await.unwrap().unwrap();
        let (seen, _) = server.await.unwrap().unwrap();
        // After its failure the server only saw the end of the client's stream.
        assert_eq!(seen.len(), 1);
        assert!(
            matches!(seen[0], Message::End(CloseOutcome { clean: false, .. })),
            "{seen:?}"
        );
    })
    .await;
}

/// RFC 8441 §5: a reset stream (RST_STREAM with CANCEL) is the HTTP/2 form of a TCP reset; the
/// server's WebSocket ends abnormally (1006), as on a TCP connection that ends without a close.
#[tokio::test]
async fn a_reset_stream_ends_the_websocket_abnormally() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let server = tokio::spawn(serve(listener, true));
        let example::Opened { mut ws, driver, .. } = open(addr, PATH, &[]).await.unwrap();
        ws.send_text("hi").await.unwrap();
        // The server's ping and the echo, in some order.
        let mut seen = vec![ws.next().await.unwrap(), ws.next().await.unwrap()];
        seen.sort_by_key(|m| matches!(m, Message::Text(_)));
        assert_eq!(
            seen,
            [
                Message::Ping(SERVER_PING.to_vec()),
                Message::Text("hi".into())
            ]
        );
        let abandoned = ws.abort();
        assert_eq!(abandoned.code, CloseCode::ABNORMAL);
        assert!(ws.conn.is_closed());
        drop(ws);
        driver.await.unwrap().unwrap();
        let server = server.await.unwrap().unwrap();
        assert_eq!(server.echoed, [Message::Text("hi".into())]);
        assert_eq!(server.reset, Some(u32::from(h2::Reason::CANCEL)));
        assert_eq!(
            server.outcome,
            Some(CloseOutcome {
                clean: false,
                code: CloseCode::ABNORMAL
            })
        );
        assert!(!server.counts.end_stream_sent);
    })
    .await;
}

/// The connection's timers run over the stream too: a server with keepalive pings a quiet
/// client, whose connection answers with a pong on its own.
#[tokio::test]
async fn keepalive_pings_cross_the_stream_and_are_answered() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let config = Config {
            keepalive_interval: NonZeroU32::new(100),
            ..Config::DEFAULT
        };
        let server = tokio::spawn(async move {
            let (mut ws, driver) = accept_websocket(listener, config).await?;
            let pong = step("the keepalive pong", ws.next()).await?;
            let (rest, _) = until_end(ws, driver, 3).await?;
            Ok::<_, Failure>((pong, rest))
        });
        let example::Opened { mut ws, driver, .. } = open(addr, PATH, &[]).await.unwrap();
        let Message::Ping(payload) = ws.next().await.unwrap() else {
            panic!("expected the keepalive ping");
        };
        ws.send_close(CloseCode::NORMAL, "").await.unwrap();
        assert_eq!(
            ws.next().await.unwrap(),
            Message::Close(1000, String::new())
        );
        assert_eq!(ws.next().await.unwrap(), Message::End(CLEAN));
        drop(ws);
        driver.await.unwrap().unwrap();
        let (pong, rest) = server.await.unwrap().unwrap();
        assert_eq!(pong, Message::Pong(payload));
        assert_eq!(
            rest,
            [Message::Close(1000, String::new()), Message::End(CLEAN)]
        );
    })
    .await;
}

/// A peer that never answers our close: at the close deadline the connection is closed and
/// the stream reset (CANCEL), not left open.
#[tokio::test]
async fn the_close_deadline_resets_a_stream_whose_peer_never_answers() {
    bounded(async {
        let (listener, addr) = listen().await.unwrap();
        let config = Config {
            close_timeout: NonZeroU32::new(200),
            ..Config::DEFAULT
        };
        let server = tokio::spawn(async move {
            let (mut ws, driver) = accept_websocket(listener, config).await?;
            ws.send_close(CloseCode::NORMAL, "").await?;
            let started = std::time::Instant::now();
            let ended = step("the close deadline", ws.next()).await?;
            let waited = started.elapsed();
            assert!(ws.conn.is_closed());
            drop(ws);
            Ok::<_, Failure>((ended, waited, driver))
        });
        let example::Opened { mut ws, driver, .. } = open(addr, PATH, &[]).await.unwrap();
        // The client reads nothing until the server has given up.
        let (ended, waited, server_driver) = server.await.unwrap().unwrap();
        assert_eq!(
            ended,
            Message::TimedOut(CloseOutcome {
                clean: false,
                code: CloseCode::ABNORMAL
            })
        );
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        // The close frame may still be delivered before the reset; the reset ends it. Our
        // side of the handshake is complete only if the close came (and we replied).
        let mut closed = false;
        for _ in 0..2 {
            match ws.next().await {
                Ok(Message::Close(1000, _)) if !closed => closed = true,
                Ok(Message::Reset(reason, outcome)) => {
                    assert_eq!(reason, u32::from(h2::Reason::CANCEL));
                    assert_eq!(outcome.clean, closed, "{outcome:?}");
                    break;
                }
                other => panic!("expected the close or the reset, got {other:?}"),
            }
        }
        assert!(ws.conn.is_closed());
        drop(ws);
        driver.await.unwrap().unwrap();
        server_driver.await.unwrap();
    })
    .await;
}
