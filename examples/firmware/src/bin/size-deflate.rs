//! Footprint of a client that negotiates: offer a subprotocol and permessage-deflate (RFC 7692,
//! a 512-byte window), validate the 101 that picks both, send a text message, inflate the
//! server's compressed one, close. Inputs come through `black_box` so nothing is computed at
//! compile time.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use wsmachine::extensions::deflate::{ClientOffer, DeflateConfig, Receiver};
use wsmachine::handshake::client::{parse_response, ClientRequest};
use wsmachine::handshake::{Status, DEFAULT_MAX_HEAD_LEN};
use wsmachine::{CloseCode, Config, Connection, Event};

#[path = "../size_inputs.rs"]
mod size_inputs;

/// The application's RNG for masking keys (a hardware RNG on a real device).
struct Rng(u32);

impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst);
    }
}

/// Byte equality in a loop: `==` on slices would link a `memcmp` the other firmwares lack.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn run() -> Option<()> {
    let inputs = size_inputs::inputs();
    // The request offers more than the plain client's: 278 bytes.
    let mut out = [0u8; 320];
    let offer = ClientOffer::new(&DeflateConfig {
        receive_window_bits: 9,
        ..DeflateConfig::DEFAULT
    });
    let offer_header = offer.header().ok()?;
    let protocols = [inputs.subprotocol];
    let request = ClientRequest {
        subprotocols: &protocols,
        extensions: Some(offer_header.as_str()),
        ..ClientRequest::new(inputs.host, inputs.path)
    };
    let (n, expected) = request.write(&inputs.nonce, &mut out).ok()?;
    black_box(&out[..n]);

    let mut rx = [0u8; 256];
    let input = inputs.deflate_response;
    rx.get_mut(..input.len())?.copy_from_slice(input);
    let mut filled = input.len();
    let (head, agreed) = {
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let Status::Complete((response, len)) =
            parse_response(&rx[..filled], &mut headers, DEFAULT_MAX_HEAD_LEN).ok()?
        else {
            return None;
        };
        let accepted = response.validate(&expected).ok()?;
        if !same(
            accepted.subprotocol()?.as_bytes(),
            inputs.subprotocol.as_bytes(),
        ) {
            return None;
        }
        (len, offer.accept(accepted.extensions()).ok()??)
    };
    rx.copy_within(head..filled, 0);
    filled -= head;

    let config = agreed.connection_config(Config::DEFAULT);
    let mut conn = Connection::client(config, Rng(black_box(0x2545_f491)));
    let mut window = [0u8; 512];
    let mut receiver = Receiver::new(&mut window, &agreed, 1 << 16).ok()?;
    let n = conn.send_text(inputs.client_text, &mut out).ok()?;
    black_box(&out[..n]);
    let mut text = [0u8; 16];
    let mut text_len = 0;
    let mut texts = 0;
    loop {
        let r = receiver.receive(&mut conn, &mut rx[..filled]).ok()?;
        if r.consumed == 0 && r.event.is_none() {
            break;
        }
        let mut send_close = false;
        match r.event {
            Some(Event::Data(chunk)) => {
                let end = text_len + chunk.payload.len();
                text.get_mut(text_len..end)?.copy_from_slice(chunk.payload);
                text_len = end;
                if chunk.last {
                    // Only the inflated "Hello" counts.
                    send_close = same(&text[..text_len], b"Hello");
                    texts += usize::from(send_close);
                    text_len = 0;
                }
            }
            Some(event) => {
                black_box(event);
            }
            None => {}
        }
        let consumed = r.consumed;
        if send_close {
            let n = conn.send_close(CloseCode::NORMAL, "", &mut out).ok()?;
            black_box(&out[..n]);
        }
        rx.copy_within(consumed..filled, 0);
        filled -= consumed;
    }
    while conn.poll_transmit(&mut out).ok()? > 0 {
        black_box(&out);
    }
    (conn.is_closed() && texts == 1).then_some(())
}

#[entry]
fn main() -> ! {
    debug::exit(match run() {
        Some(()) => debug::EXIT_SUCCESS,
        None => debug::EXIT_FAILURE,
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
