//! Frame headers (RFC 6455 §5.2): opcodes, parse from bytes, emit in the minimal form.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```

use crate::error::{ProtocolError, SendError};

/// The longest possible frame header: 2 bytes, a 64-bit length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest control frame payload (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode. The reserved opcodes (3–7, 0xB–0xF) have no variant: parsing one is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Opcode {
    /// Continues a fragmented message.
    Continuation = 0x0,
    /// Starts a text message.
    Text = 0x1,
    /// Starts a binary message.
    Binary = 0x2,
    /// Close (control).
    Close = 0x8,
    /// Ping (control).
    Ping = 0x9,
    /// Pong (control).
    Pong = 0xA,
}

impl Opcode {
    /// The opcode for a 4-bit value, or `None` for a reserved one.
    #[must_use]
    pub const fn from_u4(bits: u8) -> Option<Self> {
        match bits {
            0x0 => Some(Self::Continuation),
            0x1 => Some(Self::Text),
            0x2 => Some(Self::Binary),
            0x8 => Some(Self::Close),
            0x9 => Some(Self::Ping),
            0xA => Some(Self::Pong),
            _ => None,
        }
    }

    /// Close, ping and pong are control opcodes (§5.5).
    #[must_use]
    pub const fn is_control(self) -> bool {
        self as u8 & 0x8 != 0
    }
}

/// The result of a parse that may need more input, as in `httparse`: the one type the frame
/// parser ([`FrameHeader::parse`]) and the handshake parsers
/// ([`parse_request`](crate::handshake::server::parse_request),
/// [`parse_response`](crate::handshake::client::parse_response)) return. Incomplete input is
/// not an error: read more and parse again with all the bytes so far.
///
/// ```
/// use wsmachine::{FrameHeader, Status};
/// assert_eq!(FrameHeader::parse(&[0x81])?, Status::Partial);
/// assert!(FrameHeader::parse(&[0x81, 0x00])?.complete().is_some());
/// # Ok::<(), wsmachine::ProtocolError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub enum Status<T> {
    /// Not enough bytes yet. Not an error.
    Partial,
    /// Parsed.
    Complete(T),
}

impl<T> Status<T> {
    /// The complete value, or `None` when partial.
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Partial => None,
            Self::Complete(t) => Some(t),
        }
    }
}

/// RSV1, the bit an extension such as permessage-deflate (RFC 7692) claims.
pub const RSV1: u8 = 0b100;
/// RSV2.
pub const RSV2: u8 = 0b010;
/// RSV3.
pub const RSV3: u8 = 0b001;

/// A parsed frame header. Parsing already enforces what a single header can break: reserved
/// opcodes, minimal length encoding, the 63-bit limit, and the control-frame rules of §5.5.
/// Whether RSV bits and masking are allowed depends on the connection and is checked there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameHeader {
    /// FIN: this is the last frame of its message.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits ([`RSV1`], [`RSV2`], [`RSV3`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length, below 2^63.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a header from the start of `buf`.
    ///
    /// Returns `Complete((header, header_len))`, where the payload starts at `header_len`, or
    /// `Partial` when the header has not arrived in full: at most [`MAX_HEADER_LEN`] bytes.
    ///
    /// ```
    /// use wsmachine::{FrameHeader, Opcode, Status};
    /// // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
    /// let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    /// let Status::Complete((header, len)) = FrameHeader::parse(&bytes)? else { panic!() };
    /// assert_eq!((header.opcode, header.fin, header.payload_len, len), (Opcode::Text, true, 5, 2));
    /// assert_eq!(FrameHeader::parse(&bytes[..1])?, Status::Partial);
    /// # Ok::<(), wsmachine::ProtocolError>(())
    /// ```
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Status<(Self, usize)>, ProtocolError> {
        Self::parse_with(buf, cfg!(not(target_os = "none")))
    }

    /// [`parse`](Self::parse), with the one-step parse of 7- and 16-bit lengths when
    /// `shortcut`. The general path gives the same answer; on bare metal it alone is kept,
    /// which is smaller (see "Speed and flash" in the `connection` module docs). Tests compare
    /// the two.
    #[inline(always)]
    fn parse_with(buf: &[u8], shortcut: bool) -> Result<Status<(Self, usize)>, ProtocolError> {
        let (b0, b1) = match *buf {
            [b0, b1, ..] => (b0, b1),
            _ => return Ok(Status::Partial),
        };
        let opcode = Opcode::from_u4(b0 & 0x0f).ok_or(ProtocolError::ReservedOpcode)?;
        let fin = b0 & 0x80 != 0;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let rsv = (b0 >> 4) & 0x7;
        // The usual case, no extended length, in one step.
        if shortcut && len7 < 126 {
            let (mask, header_len) = match (masked, buf) {
                (true, [_, _, k0, k1, k2, k3, ..]) => (Some([*k0, *k1, *k2, *k3]), 6),
                (false, _) => (None, 2),
                (true, _) => return Ok(Status::Partial),
            };
            let header = Self {
                fin,
                rsv,
                opcode,
                mask,
                payload_len: u64::from(len7),
            };
            return Ok(Status::Complete((header, header_len)));
        }
        // The next most usual, a 16-bit length, in one step too.
        if shortcut && len7 == 126 {
            let (mask, len, header_len) = match (masked, buf) {
                (true, [_, _, a, b, k0, k1, k2, k3, ..]) => {
                    (Some([*k0, *k1, *k2, *k3]), u16::from_be_bytes([*a, *b]), 8)
                }
                (false, [_, _, a, b, ..]) => (None, u16::from_be_bytes([*a, *b]), 4),
                _ => return Ok(Status::Partial),
            };
            if len < 126 {
                return Err(ProtocolError::NonMinimalLength);
            }
            let header = Self {
                fin,
                rsv,
                opcode,
                mask,
                payload_len: u64::from(len),
            };
            return Ok(Status::Complete((header, header_len)));
        }
        let len_bytes = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        let Some(rest) = buf.get(2..header_len) else {
            return Ok(Status::Partial);
        };
        let (len_field, mask_field) = rest.split_at(len_bytes);
        let payload_len = match *len_field {
            [a, b] => {
                let n = u64::from(u16::from_be_bytes([a, b]));
                if n < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                n
            }
            [a, b, c, d, e, f, g, h] => {
                let n = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
                if n >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                if n <= 0xffff {
                    return Err(ProtocolError::NonMinimalLength);
                }
                n
            }
            _ => u64::from(len7),
        };
        let mask = match *mask_field {
            [a, b, c, d] => Some([a, b, c, d]),
            _ => None,
        };
        let header = Self {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        };
        Ok(Status::Complete((header, header_len)))
    }

    /// The number of bytes [`emit`](Self::emit) writes.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        let len_bytes = if self.payload_len < 126 {
            0
        } else if self.payload_len <= 0xffff {
            2
        } else {
            8
        };
        2 + len_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Writes the header into the start of `out`, the length in its minimal form, and returns
    /// the number of bytes written. The payload (masked, when `mask` is set) goes after it.
    ///
    /// ```
    /// use wsmachine::{FrameHeader, Opcode};
    /// let header = FrameHeader { fin: true, rsv: 0, opcode: Opcode::Binary, mask: None, payload_len: 256 };
    /// let mut out = [0u8; 14];
    /// let n = header.emit(&mut out)?;
    /// assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]); // RFC 6455 §5.7: 256 bytes binary
    /// # Ok::<(), wsmachine::SendError>(())
    /// ```
    #[inline]
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, SendError> {
        self.emit_with(out, cfg!(not(target_os = "none")))
    }

    /// [`emit`](Self::emit), with the one-step write of a 7- or 16-bit length when `shortcut`.
    /// The general path gives the same bytes and answer; on bare metal it alone is kept, which
    /// is smaller (client 48, server and deflate client 36 bytes). A test compares the two.
    #[inline(always)]
    fn emit_with(&self, out: &mut [u8], shortcut: bool) -> Result<usize, SendError> {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        // The common case, a payload under 126 bytes: no extended length.
        if shortcut && self.payload_len < 126 {
            let len7 = self.payload_len as u8;
            match (self.mask, &mut *out) {
                (Some([k0, k1, k2, k3]), [h0, h1, m0, m1, m2, m3, ..]) => {
                    (*h0, *h1, *m0, *m1, *m2, *m3) = (b0, 0x80 | len7, k0, k1, k2, k3);
                    return Ok(6);
                }
                (None, [h0, h1, ..]) => {
                    (*h0, *h1) = (b0, len7);
                    return Ok(2);
                }
                _ => {}
            }
        } else if shortcut && self.payload_len <= 0xffff {
            let [l0, l1] = (self.payload_len as u16).to_be_bytes();
            match (self.mask, &mut *out) {
                (Some([k0, k1, k2, k3]), [h0, h1, e0, e1, m0, m1, m2, m3, ..]) => {
                    (*h0, *h1, *e0, *e1) = (b0, 0x80 | 126, l0, l1);
                    (*m0, *m1, *m2, *m3) = (k0, k1, k2, k3);
                    return Ok(8);
                }
                (None, [h0, h1, e0, e1, ..]) => {
                    (*h0, *h1, *e0, *e1) = (b0, 126, l0, l1);
                    return Ok(4);
                }
                _ => {}
            }
        }
        let needed = self.encoded_len();
        let Some(out) = out.get_mut(..needed) else {
            return Err(SendError::BufferTooSmall { needed });
        };
        let (head, rest) = out.split_at_mut(2);
        let len_bytes = rest.len() - if self.mask.is_some() { 4 } else { 0 };
        let (len_field, mask_field) = rest.split_at_mut(len_bytes);
        let len7 = match len_bytes {
            0 => self.payload_len as u8,
            2 => {
                len_field.copy_from_slice(&(self.payload_len as u16).to_be_bytes());
                126
            }
            _ => {
                len_field.copy_from_slice(&self.payload_len.to_be_bytes());
                127
            }
        };
        head.copy_from_slice(&[b0, mask_bit | len7]);
        if let Some(key) = self.mask {
            mask_field.copy_from_slice(&key);
        }
        Ok(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-step parse of 7- and 16-bit lengths (hosted targets) and the general path
        /// (bare metal) agree on every input: the same header, length, `Partial` or error.
        /// (Proptest reads the working directory, which Miri's isolation forbids.)
        #[test]
        #[cfg_attr(miri, ignore)]
        fn shortcut_and_general_parse_agree(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            prop_assert_eq!(
                FrameHeader::parse_with(&bytes, true),
                FrameHeader::parse_with(&bytes, false)
            );
        }

        /// The same on headers with 7-bit lengths, masked or not, whole or cut short.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn shortcut_and_general_agree_on_short_lengths(
            b0 in any::<u8>(),
            len7 in 0u8..126,
            masked in any::<bool>(),
            key in any::<[u8; 4]>(),
            cut in 0usize..7,
        ) {
            let mut bytes = std::vec![b0, len7 | if masked { 0x80 } else { 0 }];
            bytes.extend_from_slice(&key);
            bytes.truncate(cut.max(1));
            prop_assert_eq!(
                FrameHeader::parse_with(&bytes, true),
                FrameHeader::parse_with(&bytes, false)
            );
        }
    }

    proptest! {
        /// The one-step write of 7- and 16-bit lengths (hosted targets) and the general path
        /// (bare metal) write the same bytes and give the same answer, for every length class
        /// and every output length, too short ones included.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn shortcut_and_general_emit_agree(
            fin in any::<bool>(),
            rsv in 0u8..8,
            opcode in prop::sample::select(std::vec![
                Opcode::Continuation, Opcode::Text, Opcode::Binary,
                Opcode::Close, Opcode::Ping, Opcode::Pong,
            ]),
            mask in proptest::option::of(any::<[u8; 4]>()),
            payload_len in prop_oneof![0u64..130, 126u64..70_000, 65_530u64..65_540, any::<u64>()],
            out_len in 0usize..16,
        ) {
            let header = FrameHeader { fin, rsv, opcode, mask, payload_len };
            let (mut a, mut b) = ([0x5au8; 16], [0x5au8; 16]);
            prop_assert_eq!(
                header.emit_with(&mut a[..out_len], true),
                header.emit_with(&mut b[..out_len], false)
            );
            prop_assert_eq!(a, b);
        }
    }

    proptest! {
        /// The same on headers with 16-bit lengths (minimal or not), masked or not, whole or
        /// cut short.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn shortcut_and_general_agree_on_16_bit_lengths(
            b0 in any::<u8>(),
            len in prop_oneof![0u16..130, any::<u16>()],
            masked in any::<bool>(),
            key in any::<[u8; 4]>(),
            cut in 0usize..9,
        ) {
            let mut bytes = std::vec![b0, 126 | if masked { 0x80 } else { 0 }];
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(&key);
            bytes.truncate(cut.max(1));
            prop_assert_eq!(
                FrameHeader::parse_with(&bytes, true),
                FrameHeader::parse_with(&bytes, false)
            );
        }
    }

    fn parse_ok(bytes: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::parse(bytes) {
            Ok(Status::Complete(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rfc_5_7_examples() {
        // Unmasked "Hello".
        let (h, n) = parse_ok(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, n),
            (true, Opcode::Text, None, 5, 2)
        );
        // Masked "Hello".
        let (h, n) = parse_ok(&[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        assert_eq!(
            (h.mask, h.payload_len, n),
            (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6)
        );
        // Fragmented "Hel" + "lo".
        let (h, _) = parse_ok(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert_eq!((h.fin, h.opcode), (false, Opcode::Text));
        let (h, _) = parse_ok(&[0x80, 0x02, 0x6c, 0x6f]);
        assert_eq!((h.fin, h.opcode), (true, Opcode::Continuation));
        // Unmasked ping and masked pong with "Hello".
        assert_eq!(parse_ok(&[0x89, 0x05]).0.opcode, Opcode::Ping);
        let (h, n) = parse_ok(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!((h.opcode, h.payload_len, n), (Opcode::Pong, 5, 6));
        // 256 bytes and 64 KiB binary, unmasked.
        assert_eq!(
            parse_ok(&[0x82, 0x7E, 0x01, 0x00]),
            (
                FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode: Opcode::Binary,
                    mask: None,
                    payload_len: 256
                },
                4
            )
        );
        let (h, n) = parse_ok(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn partial_until_the_whole_header_is_there() {
        for (bytes, len) in [
            (&[0x82, 0x05][..], 2),
            (&[0x82, 0x85, 1, 2, 3, 4], 6),
            (&[0x89, 0xFD, 1, 2, 3, 4], 6),
            (&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], 10),
            (&[0x82, 0xFE, 0, 200, 1, 2, 3, 4], 8),
        ] {
            for cut in 0..len {
                assert_eq!(FrameHeader::parse(&bytes[..cut]), Ok(Status::Partial));
            }
            assert!(FrameHeader::parse(bytes).unwrap().complete().is_some());
        }
    }

    #[test]
    fn rejects_what_a_header_alone_breaks() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                FrameHeader::parse(&[0x80 | op, 0]),
                Err(ProtocolError::ReservedOpcode)
            );
        }
        assert_eq!(
            FrameHeader::parse(&[0x82, 126, 0, 125]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::LengthOverflow)
        );
        assert_eq!(
            FrameHeader::parse(&[0x09, 0]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            FrameHeader::parse(&[0x89, 126]),
            Err(ProtocolError::ControlFrameTooLong)
        );
        assert!(FrameHeader::parse(&[0x89, 125]).is_ok());
    }

    #[test]
    fn emit_round_trips_every_length_class() {
        for len in [0u64, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 63) - 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                for opcode in [Opcode::Continuation, Opcode::Text, Opcode::Binary] {
                    let h = FrameHeader {
                        fin: len % 2 == 0,
                        rsv: 0b101,
                        opcode,
                        mask,
                        payload_len: len,
                    };
                    let mut out = [0u8; MAX_HEADER_LEN];
                    let n = h.emit(&mut out).unwrap();
                    assert_eq!(n, h.encoded_len());
                    assert_eq!(parse_ok(&out[..n]), (h, n));
                    assert_eq!(
                        h.emit(&mut out[..n - 1]),
                        Err(SendError::BufferTooSmall { needed: n })
                    );
                }
            }
        }
    }
}
