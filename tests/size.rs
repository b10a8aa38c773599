//! The connection state stays small: it lives in a firmware's static memory (DESIGN.md: "a few
//! hundred bytes at most"; the target is 256 bytes per connection).
//!
//! Today a server connection is 320 bytes and a client with a 16-byte RNG 336: the owed pong's
//! 125-byte payload (127), `Config` (64, three `Option<u64>`-sized times), the timer's three
//! `Option<u64>` deadlines (56), the receive state (40), the send state (24) and the close state
//! (8). Reaching 256 needs `Config` and the timer to shrink; until then the 256-byte target is an
//! ignored test (run it with `cargo test --test size -- --ignored`), and the live test keeps the
//! state from growing past today's size.

mod util;

use std::mem::size_of;

use util::XorShift;
use wsmachine::{Client, Connection, Server};

const TARGET: usize = 256;
/// Today's sizes: a ceiling, so that any growth is a deliberate change of this number.
const CEILING_SERVER: usize = 320;
const CEILING_CLIENT: usize = 336;

fn sizes() -> (usize, usize) {
    assert_eq!(size_of::<XorShift>(), 16);
    let server = size_of::<Connection<Server>>();
    let client = size_of::<Connection<Client<XorShift>>>();
    println!("size_of::<Connection<Server>>() = {server}");
    println!("size_of::<Connection<Client<XorShift>>>() (16-byte RNG) = {client}");
    (server, client)
}

#[test]
fn connection_state_does_not_grow() {
    let (server, client) = sizes();
    assert!(
        server <= CEILING_SERVER,
        "server connection is {server} bytes"
    );
    assert!(
        client <= CEILING_CLIENT,
        "client connection is {client} bytes"
    );
    // The client holds its RNG: at most the RNG plus alignment more than the server.
    assert!(client <= server + 16 + 8, "{client} vs {server}");
}

#[test]
#[ignore = "320/336 bytes today; see the module doc"]
fn connection_state_fits_in_256_bytes() {
    let (server, client) = sizes();
    assert!(server <= TARGET, "server connection is {server} bytes");
    assert!(client <= TARGET, "client connection is {client} bytes");
}
