//! Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, resumable mid-payload.

/// XORs `buf` with `key`, as if `buf` started `offset` bytes into the frame's payload.
///
/// Masking and unmasking are the same operation. A payload that arrives in pieces is unmasked
/// piece by piece by passing the running offset; only `offset % 4` matters. Works a machine
/// word at a time on the bulk of the slice.
///
/// ```
/// use wsmachine::wire::mask::apply_mask;
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut whole = *b"\x7f\x9f\x4d\x51\x58";
/// apply_mask(key, 0, &mut whole);
/// assert_eq!(&whole, b"Hello");
///
/// let mut split = *b"\x7f\x9f\x4d\x51\x58";
/// let (a, b) = split.split_at_mut(3);
/// apply_mask(key, 0, a);
/// apply_mask(key, 3, b);
/// assert_eq!(&split, b"Hello");
/// ```
pub fn apply_mask(key: [u8; 4], offset: usize, buf: &mut [u8]) {
    // The key as it lines up with `buf[0]`: rotated left by `offset % 4` bytes.
    let key = u32::from_le_bytes(key).rotate_right(8 * (offset % 4) as u32);
    let key = key.to_le_bytes();
    // The key repeated across a word: times 0x..0001_0000_0001.
    let k = Word::from(u32::from_ne_bytes(key)) * (Word::MAX / Word::from(u32::MAX));
    let mut words = buf.chunks_exact_mut(WORD_LEN);
    for chunk in &mut words {
        let mut bytes = [0u8; WORD_LEN];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(Word::from_ne_bytes(bytes) ^ k).to_ne_bytes());
    }
    for (i, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// The unit of the bulk XOR: 16 bytes where the target has vector registers to hold them, a
/// 32-bit word on microcontrollers, where a `u128` costs four registers and a library copy.
#[cfg(target_pointer_width = "64")]
type Word = u128;
#[cfg(not(target_pointer_width = "64"))]
type Word = u32;

const WORD_LEN: usize = core::mem::size_of::<Word>();

#[cfg(test)]
mod tests {
    use super::apply_mask;

    fn bytewise(key: [u8; 4], offset: usize, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_bytewise_at_every_offset_and_length() {
        let key = [0x01, 0x23, 0x45, 0x67];
        for offset in 0..9 {
            for len in 0..40 {
                let mut a: std::vec::Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
                let mut b = a.clone();
                apply_mask(key, offset, &mut a);
                bytewise(key, offset, &mut b);
                assert_eq!(a, b, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn rfc_5_7_masked_hello() {
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask([0x37, 0xfa, 0x21, 0x3d], 0, &mut payload);
        assert_eq!(&payload, b"Hello");
    }
}
