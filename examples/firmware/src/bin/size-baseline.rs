//! Footprint baseline: the same runtime, inputs, buffers and exit as the client and server
//! firmwares, without wsmachine. What they add over this is what the crate costs.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;

#[path = "../size_inputs.rs"]
mod size_inputs;

#[entry]
fn main() -> ! {
    // An "application" that does the buffer work the others do around the crate: copy its
    // input into a receive buffer, drop consumed bytes from its front, zero a buffer. It pulls
    // in the same memcpy, memmove and memset, which every firmware has anyway.
    let mut rx = [0u8; 256];
    let mut out = [0u8; 256];
    let input: &[u8] = &size_inputs::inputs().nonce;
    let filled = input.len().min(rx.len());
    rx[..filled].copy_from_slice(&input[..filled]);
    let consumed = black_box(4).min(filled);
    rx.copy_within(consumed..filled, 0);
    out[..filled - consumed].copy_from_slice(&rx[..filled - consumed]);
    black_box(&mut out);
    debug::exit(if black_box(out[0]) == b's' {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
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
