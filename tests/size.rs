//! The connection state stays small: it lives in a firmware's static memory (DESIGN.md: "a few
//! hundred bytes at most"; the target is 256 bytes per connection).

mod util;

use std::mem::size_of;

use util::XorShift;
use wsmachine::{Client, Connection, Server};

const TARGET: usize = 256;

#[test]
fn connection_state_fits_in_256_bytes() {
    assert_eq!(size_of::<XorShift>(), 16);
    let server = size_of::<Connection<Server>>();
    let client = size_of::<Connection<Client<XorShift>>>();
    println!("size_of::<Connection<Server>>() = {server}");
    println!("size_of::<Connection<Client<XorShift>>>() (16-byte RNG) = {client}");
    assert!(server <= TARGET, "server connection is {server} bytes");
    assert!(client <= TARGET, "client connection is {client} bytes");
    // The client holds its RNG: at most the RNG plus alignment more than the server.
    assert!(client <= server + 16 + 8, "{client} vs {server}");
}

#[test]
fn the_optional_helpers_are_small_too() {
    let limiter = size_of::<wsmachine::connection::RateLimiter>();
    let backoff = size_of::<wsmachine::reconnect::Reconnect>();
    println!("size_of::<RateLimiter>() = {limiter}, size_of::<Reconnect>() = {backoff}");
    assert!(limiter <= 112, "RateLimiter is {limiter} bytes");
    assert!(backoff <= 64, "Reconnect is {backoff} bytes");
}
