//! permessage-deflate negotiation (RFC 7692 §5, §7.1): the server's choice among offers, the
//! client's check of the answer, and a whole handshake carrying both.

use wsmachine::extensions::deflate::{
    accept_offer, ClientMaxWindowBits, ClientOffer, DeflateConfig, DeflateParams, NegotiationError,
    ParamError,
};
use wsmachine::handshake::client::{parse_response, ClientRequest};
use wsmachine::handshake::server::{parse_request, Accept, ServerOptions};
use wsmachine::handshake::{Extensions, Status};
use wsmachine::{CloseCode, Role};

const DEVICE: DeflateConfig = DeflateConfig {
    receive_window_bits: 9,
    ..DeflateConfig::DEFAULT
};

/// The server's answer to `lines` (one `Sec-WebSocket-Extensions` line each), or `None`.
fn server_answer(config: &DeflateConfig, lines: &[&str]) -> Option<String> {
    let offers = Extensions::new(lines.iter().map(|l| l.as_bytes()));
    accept_offer(config, offers).map(|a| a.header().unwrap().as_str().to_owned())
}

#[test]
fn the_server_answers_the_first_offer_it_can_honour() {
    let d = DeflateConfig::DEFAULT;
    let cases: &[(&DeflateConfig, &[&str], Option<&str>)] = &[
        (&d, &["permessage-deflate"], Some("permessage-deflate")),
        // A 32 KiB inflate window needs no bound on the client.
        (&d, &["permessage-deflate; client_max_window_bits"], Some("permessage-deflate")),
        // The server must echo server_no_context_takeover (§7.1.1.1).
        (
            &d,
            &["permessage-deflate; server_no_context_takeover"],
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        // The same or a smaller server window than offered (§7.1.2.1).
        (
            &d,
            &["permessage-deflate; server_max_window_bits=10"],
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            &DeflateConfig { send_window_bits: 9, ..d },
            &["permessage-deflate; server_max_window_bits=10"],
            Some("permessage-deflate; server_max_window_bits=9"),
        ),
        // The server may announce a smaller window it was not asked for.
        (
            &DeflateConfig { send_window_bits: 12, ..d },
            &["permessage-deflate"],
            Some("permessage-deflate; server_max_window_bits=12"),
        ),
        // A 512-byte device bounds the client, when the client offered the parameter.
        (&DEVICE, &["permessage-deflate"], None),
        (
            &DEVICE,
            &["permessage-deflate; client_max_window_bits"],
            Some("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            &DEVICE,
            &["permessage-deflate; client_max_window_bits=8"],
            Some("permessage-deflate; client_max_window_bits=8"),
        ),
        (
            &DEVICE,
            &["permessage-deflate; client_max_window_bits=12"],
            Some("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            &DEVICE,
            &["permessage-deflate, permessage-deflate; client_max_window_bits"],
            Some("permessage-deflate; client_max_window_bits=9"),
        ),
        // Context takeover wishes of the server's own.
        (
            &DeflateConfig { no_context_takeover: true, peer_no_context_takeover: true, ..d },
            &["permessage-deflate"],
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        // Malformed, repeated, out-of-range and unknown parameters decline that offer only.
        (
            &d,
            &["permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=11"],
            Some("permessage-deflate; server_max_window_bits=11"),
        ),
        (
            &d,
            &["permessage-deflate; server_max_window_bits=10; server_max_window_bits=11, permessage-deflate"],
            Some("permessage-deflate"),
        ),
        (&d, &["permessage-deflate; server_max_window_bits=16"], None),
        (&d, &["permessage-deflate; server_max_window_bits=7"], None),
        (&d, &["permessage-deflate; client_max_window_bits=0x9"], None),
        (&d, &["permessage-deflate; server_no_context_takeover=yes"], None),
        (&d, &["permessage-deflate; server_max_window_bits"], None),
        // Across header lines, in order; other extensions are skipped.
        (
            &d,
            &["x-webkit-deflate-frame", "permessage-deflate; foo", "permessage-deflate; server_max_window_bits=\"12\""],
            Some("permessage-deflate; server_max_window_bits=12"),
        ),
        (
            &d,
            &["permessage-deflate; client_no_context_takeover"],
            Some("permessage-deflate; client_no_context_takeover"),
        ),
        (&d, &["x-foo; bar"], None),
        (&d, &[], None),
    ];
    for (config, lines, want) in cases {
        assert_eq!(server_answer(config, lines).as_deref(), *want, "{lines:?}");
    }
}

/// What the client made of an answer: none, or the windows and resets it receives and sends with.
type Verdict = Result<Option<(u8, u8, bool, bool)>, NegotiationError>;

/// The client's verdict on the server's answer lines.
fn client_verdict(offer: &ClientOffer, answer: &[&str]) -> Verdict {
    let agreed = offer.accept(Extensions::new(answer.iter().map(|l| l.as_bytes())))?;
    Ok(agreed.map(|a| {
        assert_eq!(a.role(), Role::Client);
        (
            a.receive().window_bits,
            a.send().window_bits,
            a.receive().no_context_takeover,
            a.send().no_context_takeover,
        )
    }))
}

#[test]
fn the_client_checks_the_answer_against_its_offer() {
    let plain = ClientOffer::new(&DeflateConfig::DEFAULT);
    assert_eq!(
        plain.header().unwrap().as_str(),
        "permessage-deflate; client_max_window_bits"
    );
    let device = ClientOffer::new(&DEVICE);
    assert_eq!(
        device.header().unwrap().as_str(),
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits"
    );
    let fussy = ClientOffer::new(&DeflateConfig {
        peer_no_context_takeover: true,
        no_context_takeover: true,
        send_window_bits: 10,
        ..DeflateConfig::DEFAULT
    });
    assert_eq!(
        fussy.header().unwrap().as_str(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         client_max_window_bits=10"
    );
    let bare = ClientOffer::from_params(DeflateParams::default());
    use NegotiationError as N;
    let cases: &[(&ClientOffer, &[&str], Verdict)] = &[
        (&plain, &[], Ok(None)),
        (&plain, &["x-other"], Ok(None)),
        (
            &plain,
            &["permessage-deflate"],
            Ok(Some((15, 15, false, false))),
        ),
        (
            &plain,
            &["permessage-deflate; server_no_context_takeover"],
            Ok(Some((15, 15, true, false))),
        ),
        (
            &plain,
            &["permessage-deflate; client_no_context_takeover"],
            Ok(Some((15, 15, false, true))),
        ),
        (
            &plain,
            &["permessage-deflate; client_max_window_bits=10"],
            Ok(Some((15, 10, false, false))),
        ),
        (
            &plain,
            &["permessage-deflate; server_max_window_bits=8"],
            Ok(Some((8, 15, false, false))),
        ),
        (
            &plain,
            &["permessage-deflate; client_max_window_bits"],
            Err(N::ClientWindowNotOffered),
        ),
        (
            &plain,
            &["permessage-deflate; foo"],
            Err(N::Param(ParamError::Unknown)),
        ),
        (
            &plain,
            &["permessage-deflate; server_max_window_bits=16"],
            Err(N::Param(ParamError::InvalidValue)),
        ),
        (
            &plain,
            &["permessage-deflate; client_no_context_takeover; client_no_context_takeover"],
            Err(N::Param(ParamError::Duplicate)),
        ),
        (
            &plain,
            &["permessage-deflate", "permessage-deflate"],
            Err(N::Repeated),
        ),
        (
            &device,
            &["permessage-deflate"],
            Err(N::ServerWindowTooLarge),
        ),
        (
            &device,
            &["permessage-deflate; server_max_window_bits=10"],
            Err(N::ServerWindowTooLarge),
        ),
        (
            &device,
            &["permessage-deflate; server_max_window_bits=9"],
            Ok(Some((9, 15, false, false))),
        ),
        (
            &device,
            &["permessage-deflate; server_max_window_bits=8"],
            Ok(Some((8, 15, false, false))),
        ),
        (
            &fussy,
            &["permessage-deflate"],
            Err(N::ContextTakeoverRefused),
        ),
        // Our own limit of 10 stands against a larger answer or none.
        (
            &fussy,
            &["permessage-deflate; server_no_context_takeover"],
            Ok(Some((15, 10, true, true))),
        ),
        (
            &fussy,
            &["permessage-deflate; server_no_context_takeover; client_max_window_bits=12"],
            Ok(Some((15, 10, true, true))),
        ),
        (
            &bare,
            &["permessage-deflate; client_max_window_bits=10"],
            Err(N::ClientWindowNotOffered),
        ),
    ];
    for (offer, answer, want) in cases {
        assert_eq!(
            &client_verdict(offer, answer),
            want,
            "{:?} <- {answer:?}",
            offer.params()
        );
        if let Err(e) = want {
            assert_eq!(e.close_code(), CloseCode::MANDATORY_EXTENSION);
            assert!(!e.to_string().is_empty());
        }
    }
}

/// Whatever the server answers to the offer a client makes, that client accepts it.
#[test]
fn every_server_answer_to_our_offers_satisfies_the_client() {
    let bits = [8u8, 9, 12, 15];
    for &recv_c in &bits {
        for &send_c in &bits {
            for &recv_s in &bits {
                for &send_s in &bits {
                    for flags in 0..16u8 {
                        let c = DeflateConfig {
                            receive_window_bits: recv_c,
                            send_window_bits: send_c,
                            peer_no_context_takeover: flags & 1 != 0,
                            no_context_takeover: flags & 2 != 0,
                        };
                        let s = DeflateConfig {
                            receive_window_bits: recv_s,
                            send_window_bits: send_s,
                            peer_no_context_takeover: flags & 4 != 0,
                            no_context_takeover: flags & 8 != 0,
                        };
                        let offer = ClientOffer::new(&c);
                        let header = offer.header().unwrap();
                        let line = [header.as_str().as_bytes()];
                        let Some(agreed) = accept_offer(&s, Extensions::new(line.into_iter()))
                        else {
                            panic!(
                                "{c:?} / {s:?}: our offer always carries client_max_window_bits"
                            );
                        };
                        let answer = agreed.header().unwrap();
                        let answer = [answer.as_str().as_bytes()];
                        let client = offer
                            .accept(Extensions::new(answer.into_iter()))
                            .unwrap_or_else(|e| panic!("{c:?} / {s:?}: {e}"))
                            .unwrap();
                        // Each side's inflater is large enough for what the other sends.
                        assert!(agreed.receive().window_bits <= recv_s);
                        assert!(client.receive().window_bits <= recv_c);
                        assert!(client.send().window_bits <= agreed.receive().window_bits);
                        assert!(agreed.send().window_bits <= client.receive().window_bits);
                        assert!(client.send().window_bits <= send_c);
                        assert!(agreed.send().window_bits <= send_s);
                        assert_eq!(
                            client.receive().no_context_takeover,
                            agreed.send().no_context_takeover
                        );
                        assert_eq!(
                            client.send().no_context_takeover,
                            agreed.receive().no_context_takeover
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_whole_handshake_carries_the_offer_and_the_answer() {
    let offer = ClientOffer::new(&DEVICE);
    let offer_header = offer.header().unwrap();
    let request = ClientRequest {
        extensions: Some(offer_header.as_str()),
        ..ClientRequest::new("example.com", "/chat")
    };
    let mut wire = [0u8; 512];
    let (n, expected) = request.write(&[7; 16], &mut wire).unwrap();
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let Ok(Status::Complete((req, _))) =
        parse_request(&wire[..n], &mut headers, &ServerOptions::default())
    else {
        panic!("request")
    };
    let server_config = DeflateConfig {
        receive_window_bits: 10,
        ..DeflateConfig::DEFAULT
    };
    let agreed = accept_offer(&server_config, req.extensions()).unwrap();
    let answer = agreed.header().unwrap();
    assert_eq!(
        answer.as_str(),
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10"
    );
    let accept = Accept {
        extensions: Some(answer.as_str()),
        ..Accept::default()
    };
    let mut response = [0u8; 512];
    let m = req.accept(&accept, &mut response).unwrap();
    let text = std::str::from_utf8(&response[..m]).unwrap();
    assert!(text.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9; client_max_window_bits=10\r\n"), "{text}");
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let Ok(Status::Complete((resp, _))) = parse_response(&response[..m], &mut headers, 4096) else {
        panic!("response")
    };
    let accepted = resp.validate(&expected).unwrap();
    let client = offer.accept(accepted.extensions()).unwrap().unwrap();
    assert_eq!(
        client.receive().window_bits,
        9,
        "the device's 512-byte window holds"
    );
    assert_eq!(client.send().window_bits, 10);
    assert_eq!(agreed.receive(), client.send());
    assert_eq!(agreed.send(), client.receive());
}

#[test]
fn client_max_window_bits_without_a_value_is_only_for_offers() {
    let offer = DeflateParams {
        client_max_window_bits: ClientMaxWindowBits::Supported,
        ..DeflateParams::default()
    };
    let offer = ClientOffer::from_params(offer);
    assert_eq!(
        client_verdict(&offer, &["permessage-deflate; client_max_window_bits"]),
        Err(NegotiationError::ClientWindowNotOffered)
    );
}
