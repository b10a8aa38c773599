//! Raw client frames over a TCP socket, for the tests that drive the example servers byte by
//! byte (RFC 6455 §5.2, §5.3): a masked frame to send, an unmasked server frame to read.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpStream;

#[path = "../util/mod.rs"]
mod util;

/// A masked client frame with first byte `first` (FIN, RSV bits, opcode), the length in its
/// minimal form: `util::frame` with a fixed key.
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let (fin, rsv, opcode) = (first & 0x80 != 0, (first >> 4) & 0x7, first & 0x0f);
    util::frame(fin, rsv, opcode, Some([0x11, 0x22, 0x33, 0x44]), payload)
}

/// Reads one server frame, which must be unmasked: (first byte, payload).
pub fn read_frame(tcp: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).unwrap();
    assert_eq!(
        head[1] & 0x80,
        0,
        "a server frame is never masked: {head:?}"
    );
    let len = match head[1] {
        126 => {
            let mut b = [0u8; 2];
            tcp.read_exact(&mut b).unwrap();
            usize::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            tcp.read_exact(&mut b).unwrap();
            usize::try_from(u64::from_be_bytes(b)).unwrap()
        }
        n => usize::from(n),
    };
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).unwrap();
    (head[0], payload)
}
