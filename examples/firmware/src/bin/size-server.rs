//! Footprint of a server: parse the request, accept it, receive a text message, send one,
//! answer the client's close. Inputs come through `black_box` so nothing is computed at
//! compile time.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use wsmachine::handshake::server::{parse_request, Accept, ServerOptions};
use wsmachine::handshake::Status;
use wsmachine::{Config, Connection, Event};

#[path = "../size_inputs.rs"]
mod size_inputs;

fn run() -> Option<()> {
    let mut out = [0u8; 256];
    let mut rx = [0u8; 256];
    let inputs = size_inputs::inputs();
    let input = inputs.request;
    rx.get_mut(..input.len())?.copy_from_slice(input);
    let mut filled = input.len();
    let head = {
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let Status::Complete((request, len)) =
            parse_request(&rx[..filled], &mut headers, &ServerOptions::default()).ok()?
        else {
            return None;
        };
        let n = request.accept(&Accept::default(), &mut out).ok()?;
        black_box(&out[..n]);
        len
    };
    rx.copy_within(head..filled, 0);
    filled -= head;

    let mut conn = Connection::server(Config::DEFAULT);
    let mut closes = 0;
    loop {
        let r = conn.receive(&mut rx[..filled]).ok()?;
        if r.consumed == 0 && r.event.is_none() {
            break;
        }
        match r.event {
            Some(Event::Data(chunk)) => {
                black_box(chunk.payload);
                if chunk.last {
                    let n = conn.send_text(inputs.server_text, &mut out).ok()?;
                    black_box(&out[..n]);
                }
            }
            Some(Event::Close(frame)) => {
                black_box(frame);
                closes += 1;
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
    (conn.is_closed() && closes == 1).then_some(())
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
