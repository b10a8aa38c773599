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
#[inline]
pub fn apply_mask(key: [u8; 4], offset: usize, buf: &mut [u8]) {
    let mut key = key;
    key.rotate_left(offset % 4);
    apply_mask_aligned(key, buf);
}

/// Masks `buf` with `key` starting at key position 0: 16 bytes at a time as one `u128` XOR
/// (a vector XOR where the target has one), then the tail byte by byte.
#[inline]
fn apply_mask_aligned(key: [u8; 4], buf: &mut [u8]) {
    let k = u128::from(u32::from_ne_bytes(key));
    let k = k | k << 32 | k << 64 | k << 96;
    let mut blocks = buf.chunks_exact_mut(16);
    for block in &mut blocks {
        let mut word = [0u8; 16];
        word.copy_from_slice(block);
        block.copy_from_slice(&(u128::from_ne_bytes(word) ^ k).to_ne_bytes());
    }
    for (byte, k) in blocks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

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
