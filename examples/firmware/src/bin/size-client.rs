//! Footprint of a client: build the request, validate the 101, send a text message, receive
//! one, close. Inputs come through `black_box` so nothing is computed at compile time.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
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

fn run() -> Option<()> {
    let inputs = size_inputs::inputs();
    let mut out = [0u8; 256];
    let request = ClientRequest::new(inputs.host, inputs.path);
    let (n, expected) = request.write(&inputs.nonce, &mut out).ok()?;
    black_box(&out[..n]);

    let mut rx = [0u8; 256];
    let input = inputs.response;
    rx.get_mut(..input.len())?.copy_from_slice(input);
    let mut filled = input.len();
    let head = {
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let Status::Complete((response, len)) =
            parse_response(&rx[..filled], &mut headers, DEFAULT_MAX_HEAD_LEN).ok()?
        else {
            return None;
        };
        response.validate(&expected).ok()?;
        len
    };
    rx.copy_within(head..filled, 0);
    filled -= head;

    let mut conn = Connection::client(Config::DEFAULT, Rng(black_box(0x2545_f491)));
    let n = conn.send_text(inputs.client_text, &mut out).ok()?;
    black_box(&out[..n]);
    let mut texts = 0;
    loop {
        let r = conn.receive(&mut rx[..filled]).ok()?;
        if r.consumed == 0 && r.event.is_none() {
            break;
        }
        match r.event {
            Some(Event::Data(chunk)) => {
                black_box(chunk.payload);
                texts += usize::from(chunk.last);
                if texts == 1 && chunk.last {
                    let n = conn.send_close(CloseCode::NORMAL, "", &mut out).ok()?;
                    black_box(&out[..n]);
                }
            }
            Some(event) => {
                black_box(event);
            }
            None => {}
        }
        let consumed = r.consumed;
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
