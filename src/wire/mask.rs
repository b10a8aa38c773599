//! Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, resumable mid-payload.

/// XORs `buf` with `key`, as if `buf` started `offset` bytes into the frame's payload.
///
/// Masking and unmasking are the same operation. A payload that arrives in pieces is unmasked
/// piece by piece by passing the running offset; only `offset % 4` matters. Works on vector-
/// sized blocks (64-bit targets) or 32-bit words (the others) on the bulk of the slice.
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
    // The key as it lines up with `buf[0]`: rotated left by `offset % 4` bytes.
    xor_repeated(turned(key, offset), buf);
}

/// [`apply_mask`] on a chunk of text that starts on a character boundary, returning whether
/// the same pass over the bytes found it UTF-8 (RFC 6455 §8.1) up to its last character,
/// which it does not check (it may be unfinished, and whether its first byte can start a
/// character is the UTF-8 validator's to say). `false` says only that the pass did not find it
/// valid: the validator must read the chunk.
///
/// On 64-bit targets only (on microcontrollers the word loop stays as small as it is). From
/// 287 bytes on, on x86_64 with AVX2, the pass is a UTF-8 check
/// ([`mask_utf8`](super::mask_utf8)); otherwise it sees whether every byte is ASCII.
#[cfg(target_pointer_width = "64")]
#[inline]
pub(crate) fn apply_mask_is_utf8(key: [u8; 4], offset: usize, buf: &mut [u8]) -> bool {
    let key = turned(key, offset);
    #[cfg(all(target_arch = "x86_64", any(unix, windows)))]
    if buf.len() >= super::mask_utf8::MIN_LEN {
        if let Some(simd) = pulp::x86::V3::try_new() {
            return super::mask_utf8::xor_is_utf8(simd, key, buf);
        }
    }
    let seen = if buf.len() >= ALIGN_FROM {
        xor_aligned_seen(key, buf)
    } else {
        xor_seen(key, buf)
    };
    seen & HIGH_BITS == 0
}

/// Copies `src` into the start of `dst` masked with `key`, as if `src` started `offset` bytes
/// into the frame's payload: `copy_from_slice` and [`apply_mask`] in one pass over the bytes.
/// Copies `min(src.len(), dst.len())` bytes.
///
/// ```
/// use wsmachine::wire::mask::copy_masked;
/// let mut out = [0u8; 5];
/// copy_masked([0x37, 0xfa, 0x21, 0x3d], 0, b"Hello", &mut out);
/// assert_eq!(&out, b"\x7f\x9f\x4d\x51\x58");
/// ```
// A hint on hosted targets only: on bare metal the compiler keeps one copy for the senders
// (client 12, deflate client 72 bytes).
#[cfg_attr(not(target_os = "none"), inline)]
pub fn copy_masked(key: [u8; 4], offset: usize, src: &[u8], dst: &mut [u8]) {
    let len = src.len().min(dst.len());
    if let (Some(src), Some(dst)) = (src.get(..len), dst.get_mut(..len)) {
        copy_xor_repeated(turned(key, offset), src, dst);
    }
}

/// XORs `buf` with `key` repeated, `key[0]` on `buf[0]`.
///
/// On 64-bit targets: from [`ALIGN_FROM`] bytes on, the few bytes before the first 32-byte-
/// aligned address first ([`xor_aligned`]); then blocks of [`BLOCK`] bytes, each XORed as
/// 8-byte words with the key repeated across a word, a loop the compiler turns into vector
/// loads, XORs and stores (on x86_64 AVX2 or SSE2, chosen at run time by [`widest`] from
/// [`ALIGN_FROM`] bytes on; NEON on aarch64); then 8-byte words, then single bytes. Each step
/// but the first has a length that is a multiple of 4, so the key stays lined up; after the
/// first, the key is turned by its length.
#[cfg(target_pointer_width = "64")]
#[inline]
fn xor_repeated(key: [u8; 4], buf: &mut [u8]) {
    if buf.len() >= ALIGN_FROM {
        xor_aligned(key, buf);
    } else {
        xor_bulk(key, buf);
    }
}

/// [`xor_repeated`] from [`ALIGN_FROM`] bytes on: the head up to the first 32-byte-aligned
/// address, then the bulk from there, compiled for the CPU's widest vectors ([`widest`]). Out
/// of line, so that a short payload's caller carries none of it.
#[cfg(target_pointer_width = "64")]
#[inline(never)]
fn xor_aligned(key: [u8; 4], buf: &mut [u8]) {
    let (head, body) = buf.split_at_mut(head_len(buf.as_ptr()).min(buf.len()));
    xor_short(key, head);
    widest(
        #[inline(always)]
        || xor_bulk(turned(key, head.len()), body),
    );
}

/// [`xor_aligned`] for [`apply_mask_is_utf8`] without AVX2: the head, then the bulk with the
/// widest vectors, by [`xor_seen`]; the OR of the bytes written.
#[cfg(target_pointer_width = "64")]
#[inline(never)]
fn xor_aligned_seen(key: [u8; 4], buf: &mut [u8]) -> u64 {
    let (head, body) = buf.split_at_mut(head_len(buf.as_ptr()).min(buf.len()));
    xor_seen(key, head)
        | widest(
            #[inline(always)]
            || xor_seen(turned(key, head.len()), body),
        )
}

/// XORs `buf` with `key` repeated, as [`xor_repeated`] does, and returns the OR of the bytes
/// written, each byte somewhere in the word: one loop of 8-byte words that ORs each word it
/// writes into one value, which the compiler vectorizes as a reduction (the blocks of
/// [`xor_bulk`], with a value to carry across them, were left as scalar words); then the
/// last bytes.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
pub(super) fn xor_seen(key: [u8; 4], buf: &mut [u8]) -> u64 {
    let word_key = repeated(key);
    let words_len = buf.len() - buf.len() % 8;
    let (words, bytes) = buf.split_at_mut(words_len);
    let mut seen = 0;
    for chunk in words.chunks_exact_mut(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word) ^ word_key;
        chunk.copy_from_slice(&word.to_ne_bytes());
        seen |= word;
    }
    for (byte, k) in bytes.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
        seen |= u64::from(*byte);
    }
    seen
}

/// The blocks of [`xor_repeated`], then its short tail.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn xor_bulk(key: [u8; 4], buf: &mut [u8]) {
    let word_key = repeated(key);
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        xor_words(word_key, block);
    }
    xor_short(key, blocks.into_remainder());
}

/// XORs a `buf` shorter than a block with `key` repeated: 8-byte words, then single bytes.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn xor_short(key: [u8; 4], buf: &mut [u8]) {
    let words_len = buf.len() - buf.len() % 8;
    let (words, bytes) = buf.split_at_mut(words_len);
    xor_words(repeated(key), words);
    for (byte, k) in bytes.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// XORs `words` (a multiple of 8 bytes long) with `word_key`, 8 bytes at a time.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn xor_words(word_key: u64, words: &mut [u8]) {
    for chunk in words.chunks_exact_mut(8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word_key).to_ne_bytes());
    }
}

/// Writes `src` XORed with `key` repeated into `dst`, of the same length: the blocks and the
/// short tail of [`xor_repeated`], reading from `src`.
///
/// There is no aligned head here. Aligning `dst` leaves `src` off by as much, and in the
/// benchmark that copy at 16 KiB took 296–305 ns in some runs of the same binary and 678–686 in
/// others, against 361–394 in every run without the head (cause not found; not seen in place).
#[cfg(target_pointer_width = "64")]
#[inline]
fn copy_xor_repeated(key: [u8; 4], src: &[u8], dst: &mut [u8]) {
    if src.len() >= ALIGN_FROM {
        copy_xor_wide(key, src, dst);
    } else {
        copy_xor_blocks_then_short(key, src, dst);
    }
}

/// [`copy_xor_repeated`] from [`ALIGN_FROM`] bytes on, compiled for the CPU's widest vectors
/// ([`widest`]). Out of line, as [`xor_aligned`] is.
#[cfg(target_pointer_width = "64")]
#[inline(never)]
fn copy_xor_wide(key: [u8; 4], src: &[u8], dst: &mut [u8]) {
    widest(
        #[inline(always)]
        || copy_xor_blocks_then_short(key, src, dst),
    );
}

/// The blocks of [`copy_xor_repeated`], then its short tail.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn copy_xor_blocks_then_short(key: [u8; 4], src: &[u8], dst: &mut [u8]) {
    let blocks_len = src.len() - src.len() % BLOCK;
    let (src_blocks, from) = src.split_at(blocks_len);
    let (dst_blocks, to) = dst.split_at_mut(blocks_len.min(dst.len()));
    copy_xor_blocks(repeated(key), src_blocks, dst_blocks);
    copy_xor_short(key, from, to);
}

/// Runs `f`, inlined into a copy compiled for AVX2 when the CPU has it (x86-64-v3: `pulp`
/// checks at run time, and its check is cached), else into the baseline SSE2 copy. The same
/// loops then store 32 bytes a cycle where the baseline stores 16, as the copy of a socket
/// read does (libc picks AVX2 for it at run time). The choice is `pulp`'s, and so is the
/// `unsafe` a run-time choice needs; `f` is ours and safe. `f` must be `#[inline(always)]` for
/// its body to be compiled with AVX2.
#[cfg(all(target_arch = "x86_64", any(unix, windows)))]
#[inline(always)]
fn widest<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Runs `f`: elsewhere the vector unit is the target's baseline, known at compile time (NEON
/// on aarch64; SSE2 on x86_64 without an OS to ask).
#[cfg(all(
    target_pointer_width = "64",
    not(all(target_arch = "x86_64", any(unix, windows)))
))]
#[inline(always)]
fn widest<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Writes a `src` shorter than a block, XORed with `key` repeated, into `dst`: 8-byte words,
/// then single bytes.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn copy_xor_short(key: [u8; 4], from: &[u8], to: &mut [u8]) {
    let words_len = from.len() - from.len() % 8;
    let (to_words, to_bytes) = to.split_at_mut(words_len.min(to.len()));
    let (from_words, from_bytes) = from.split_at(words_len);
    copy_xor_words(repeated(key), from_words, to_words);
    for ((to, from), k) in to_bytes.iter_mut().zip(from_bytes).zip(key.iter().cycle()) {
        *to = from ^ k;
    }
}

/// The blocks of [`copy_xor_repeated`], each read whole into a local block, XORed there and
/// written out: the loads come before the stores, so the compiler vectorizes the block without
/// knowing that `src` and `dst` do not overlap. (Inlined into a caller whose payload and output
/// are both in `Vec`s, where it cannot tell, a loop that XORed from `src` straight into `dst`
/// was left as scalar 8-byte XORs.)
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn copy_xor_blocks(word_key: u64, src: &[u8], dst: &mut [u8]) {
    for (to, from) in dst.chunks_exact_mut(BLOCK).zip(src.chunks_exact(BLOCK)) {
        let mut block = [0u8; BLOCK];
        block.copy_from_slice(from);
        xor_words(word_key, &mut block);
        to.copy_from_slice(&block);
    }
}

/// Writes `src` XORed with `word_key` into `dst`, 8 bytes at a time.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn copy_xor_words(word_key: u64, src: &[u8], dst: &mut [u8]) {
    for (to, from) in dst.chunks_exact_mut(8).zip(src.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(from);
        to.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word_key).to_ne_bytes());
    }
}

/// How many bytes from `at` to the next 32-byte-aligned address: the head of a long payload,
/// after which no vector store (16 or 32 bytes) straddles a cache line.
///
/// A payload lies where its frame header left it (2, 4 or 10 bytes and the 4-byte key into the
/// receive buffer, from the start of a send buffer), so the vector stores of an unaligned bulk
/// straddle a cache line one time in four, and the loads of an in-place pass straddle the
/// stores of the copy that just filled the buffer. Measured on x86_64 (Zen 4), the payload 8
/// bytes past a 16-byte boundary, before and after, in one process: in place 1 KiB 26.3 ns and
/// 17.1, 16 KiB 313 and 278; copied into a buffer, then unmasked in place, 1 KiB 46.4–46.9 and
/// 40.4–41.6 (SSE2, a 16-byte head). The head runs to 32 bytes for AVX2, whose 32-byte stores
/// after a 16-byte head straddle a cache line one time in two; in the benchmark that did not
/// show: 16 KiB in place took 214–275 ns with a 16-byte head and 249–264 with a 32-byte one
/// (five interleaved runs each, medians 256 and 255). (`copy_masked` takes no head: see
/// [`copy_xor_repeated`].)
#[cfg(target_pointer_width = "64")]
#[inline(always)]
pub(super) fn head_len(at: *const u8) -> usize {
    at.addr().wrapping_neg() % 32
}

/// The key lined up with the byte `by` bytes on: rotated by `by % 4` bytes.
#[inline(always)]
pub(super) fn turned(key: [u8; 4], by: usize) -> [u8; 4] {
    u32::from_le_bytes(key)
        .rotate_right(8 * (by % 4) as u32)
        .to_le_bytes()
}

/// The top bit of each byte of a word: 0 in the OR of ASCII bytes.
#[cfg(target_pointer_width = "64")]
pub(super) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// `key` repeated across an 8-byte word.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn repeated(key: [u8; 4]) -> u64 {
    u64::from(u32::from_ne_bytes(key)) * 0x0000_0001_0000_0001
}

/// The bulk step on 64-bit targets: four 16-byte vectors per iteration.
#[cfg(target_pointer_width = "64")]
const BLOCK: usize = 64;

/// The payload length from which the bulk starts on a 16-byte-aligned address. Below it the
/// head's extra steps and call cost more than the straddling stores.
#[cfg(target_pointer_width = "64")]
const ALIGN_FROM: usize = 256;

/// XORs `buf` with `key` repeated, `key[0]` on `buf[0]`: a 32-bit word at a time, then single
/// bytes. On microcontrollers this is small and as fast as the bus allows.
#[cfg(not(target_pointer_width = "64"))]
// A hint on hosted targets only: on bare metal the compiler keeps one copy for a server's
// control and data frames (32 bytes).
#[cfg_attr(not(target_os = "none"), inline)]
fn xor_repeated(key: [u8; 4], buf: &mut [u8]) {
    let word_key = u32::from_ne_bytes(key);
    let mut words = buf.chunks_exact_mut(4);
    for chunk in &mut words {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u32::from_ne_bytes(bytes) ^ word_key).to_ne_bytes());
    }
    // The last 0 to 3 bytes take the key's bytes in order, from a register.
    let mut k = u32::from_le_bytes(key);
    for byte in words.into_remainder() {
        *byte ^= k as u8;
        k >>= 8;
    }
}

/// Writes `src` XORed with `key` repeated into `dst`, of the same length: a copy, then the
/// XOR in place, which keeps one loop on microcontrollers.
#[cfg(not(target_pointer_width = "64"))]
#[inline]
fn copy_xor_repeated(key: [u8; 4], src: &[u8], dst: &mut [u8]) {
    dst.copy_from_slice(src);
    xor_repeated(key, dst);
}

#[cfg(test)]
mod tests {
    #[cfg(target_pointer_width = "64")]
    use super::apply_mask_is_utf8;
    use super::{apply_mask, copy_masked};

    /// Offsets and lengths across every key rotation, word and 64-byte block boundary. Miri
    /// (the CI step that checks the unit tests for undefined behaviour) gets the lengths
    /// around the first two block boundaries only: the whole grid took it over five minutes.
    fn grid() -> impl Iterator<Item = (usize, usize)> {
        let lens: std::vec::Vec<usize> = if cfg!(miri) {
            (0..=17)
                .chain(60..=72)
                .chain(124..=132)
                .chain([1025])
                .collect()
        } else {
            (0..300).chain([1023, 1024, 1025, 4099]).collect()
        };
        (0..9).flat_map(move |o| lens.clone().into_iter().map(move |l| (o, l)))
    }

    fn bytewise(key: [u8; 4], offset: usize, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_bytewise_at_every_offset_and_length() {
        let key = [0x01, 0x23, 0x45, 0x67];
        for (offset, len) in grid() {
            let mut a: std::vec::Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31)).collect();
            let mut b = a.clone();
            apply_mask(key, offset, &mut a);
            bytewise(key, offset, &mut b);
            assert_eq!(a, b, "offset {offset} len {len}");
        }
    }

    #[test]
    fn copy_masked_matches_copy_then_mask_at_every_offset_and_length() {
        let key = [0x89, 0xab, 0xcd, 0xef];
        for (offset, len) in grid() {
            let src: std::vec::Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut expected = src.clone();
            bytewise(key, offset, &mut expected);
            // A longer destination keeps its tail; a shorter one takes a prefix.
            let mut dst = std::vec![0x55; len + 3];
            copy_masked(key, offset, &src, &mut dst);
            assert_eq!(&dst[..len], &expected[..], "offset {offset} len {len}");
            assert_eq!(&dst[len..], &[0x55; 3], "offset {offset} len {len}");
            let mut short = std::vec![0u8; len / 2];
            copy_masked(key, offset, &src, &mut short);
            assert_eq!(
                &short[..],
                &expected[..len / 2],
                "offset {offset} len {len}"
            );
        }
    }

    /// Every distance from a 32-byte boundary, for the lengths around where the bulk starts
    /// aligned (`ALIGN_FROM`): each head length in place, and the copy from and into buffers
    /// that lie differently.
    #[test]
    fn every_start_address_around_the_aligned_bulk() {
        let key = [0x5a, 0x0f, 0xf0, 0xa5];
        // Miri (slow) gets two lengths and two key offsets: every head length all the same.
        let (lens, offsets): (&[usize], &[usize]) = if cfg!(miri) {
            (&[256, 263], &[0, 3])
        } else {
            (
                &[255, 256, 257, 263, 271, 319, 320, 1024, 1029, 4099],
                &[0, 1, 2, 3],
            )
        };
        let src: std::vec::Vec<u8> = (0..4200).map(|i| (i * 13 + 5) as u8).collect();
        for start in 0..32 {
            for &len in lens {
                for &offset in offsets {
                    let mut expected = src[..len].to_vec();
                    bytewise(key, offset, &mut expected);
                    let mut buf = std::vec![0u8; len + 32];
                    buf[start..start + len].copy_from_slice(&src[..len]);
                    apply_mask(key, offset, &mut buf[start..start + len]);
                    assert_eq!(
                        &buf[start..start + len],
                        &expected[..],
                        "{start} {len} {offset}"
                    );
                    let mut out = std::vec![0u8; len + 32];
                    copy_masked(key, offset, &src[3..3 + len], &mut out[start..start + len]);
                    bytewise(key, offset, &mut out[start..start + len]);
                    assert_eq!(
                        &out[start..start + len],
                        &src[3..3 + len],
                        "{start} {len} {offset}"
                    );
                }
            }
        }
    }

    /// Where a test puts the one byte that is not ASCII in a payload of `len` bytes: both ends,
    /// the edges of the first word and block, the middle. Miri (slow: these tests took it over
    /// three minutes with every position) gets both ends and the middle.
    #[cfg(target_pointer_width = "64")]
    fn high_byte_positions(len: usize) -> impl Iterator<Item = usize> {
        let last = len.saturating_sub(1);
        let at = if cfg!(miri) {
            std::vec![0, len / 2, last]
        } else {
            std::vec![0, 1, 7, 8, 63, 64, len / 2, last.saturating_sub(1), last]
        };
        at.into_iter().filter(move |&at| at < len)
    }

    /// Masks `plain` as a peer would, unmasks it with `apply_mask_is_utf8` at `start` bytes
    /// into a buffer, checks the bytes, and returns what it said.
    #[cfg(target_pointer_width = "64")]
    fn unmask_is_utf8(key: [u8; 4], offset: usize, plain: &[u8], start: usize) -> bool {
        let mut buf = std::vec![0u8; start + plain.len()];
        buf[start..].copy_from_slice(plain);
        bytewise(key, offset, &mut buf[start..]);
        let valid = apply_mask_is_utf8(key, offset, &mut buf[start..]);
        assert_eq!(&buf[start..], plain, "offset {offset} len {}", plain.len());
        valid
    }

    /// `apply_mask_is_utf8` unmasks as `apply_mask` does, says ASCII is valid, and sees one
    /// byte of 0x80 or more among ASCII bytes wherever it lies but last (there it may start a
    /// character that the next chunk finishes: the validator's to say).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn apply_mask_is_utf8_sees_one_high_byte_anywhere() {
        let key = [0x81, 0x7f, 0x00, 0xc3];
        // Miri gets two key offsets of the grid's nine.
        let offsets = |o: &(usize, usize)| !cfg!(miri) || o.0 == 0 || o.0 == 5;
        for (offset, len) in grid().filter(offsets) {
            let plain: std::vec::Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8 & 0x7f).collect();
            assert!(
                unmask_is_utf8(key, offset, &plain, 0),
                "offset {offset} len {len}"
            );
            for at in high_byte_positions(len).filter(|&at| at + 1 < len) {
                let mut high = plain.clone();
                high[at] |= 0x80;
                assert!(
                    !unmask_is_utf8(key, offset, &high, 0),
                    "{offset} {len} {at}"
                );
            }
        }
    }

    /// The same from every distance to a 32-byte boundary, from where the bulk starts aligned:
    /// a high byte in the head, the bulk or the tail is seen.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn apply_mask_is_utf8_at_every_start_address() {
        let key = [0xf0, 0x0f, 0x80, 0x01];
        // Miri gets one length, and a start and a high byte in the head at every fourth byte.
        let (lens, step): (&[usize], usize) = if cfg!(miri) {
            (&[256], 4)
        } else {
            (&[256, 263, 320, 1029], 1)
        };
        for start in (0..32).step_by(step) {
            for &len in lens {
                let plain: std::vec::Vec<u8> =
                    (0..len).map(|i| (i * 13 + 5) as u8 & 0x7f).collect();
                assert!(unmask_is_utf8(key, 1, &plain, start), "{start} {len}");
                for at in high_byte_positions(len)
                    .chain((0..32).step_by(step))
                    .filter(|&at| at + 1 < len)
                {
                    let mut high = plain.clone();
                    high[at] |= 0x80;
                    assert!(!unmask_is_utf8(key, 1, &high, start), "{start} {len} {at}");
                }
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
