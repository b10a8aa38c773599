//! The workloads' inputs: binary payloads and the two 16 KiB texts.

/// `len` bytes that are not all alike (so a broken mask cannot go unseen).
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + (i >> 7)) as u8).collect()
}

/// Repeats `pieces` up to exactly `len` bytes, padding with ASCII where the next piece would
/// not fit (no character is cut).
fn fill(pieces: &[&str], len: usize) -> String {
    let mut s = String::with_capacity(len);
    let mut i = 0;
    while s.len() < len {
        let p = pieces[i % pieces.len()];
        if s.len() + p.len() <= len {
            s.push_str(p);
        } else {
            s.push('.');
        }
        i += 1;
    }
    s
}

/// English prose and JSON-ish ASCII.
pub fn ascii_text(len: usize) -> String {
    fill(
        &[
            "The quick brown fox jumps over the lazy dog. ",
            "{\"id\":42,\"op\":\"update\",\"price\":101.25,\"qty\":7}\n",
            "WebSocket frames carry text and binary messages; ",
        ],
        len,
    )
}

/// Chinese, emoji and ASCII, about 55 % of the bytes outside ASCII.
pub fn mixed_text(len: usize) -> String {
    fill(
        &[
            "WebSocket 协议在一个连接上传输消息。",
            "price=101.25; qty=7; side=b; ",
            "😀🚀 ",
            "服务器必须拒绝未掩码的帧 ",
            "{\"id\":42,\"ok\":true,\"user\":\"li\"} ",
            "数据帧 ✓ ok ",
        ],
        len,
    )
}

/// The share of bytes that are not ASCII, in percent.
pub fn non_ascii_percent(s: &str) -> f64 {
    let n = s.bytes().filter(|b| !b.is_ascii()).count();
    100.0 * n as f64 / s.len() as f64
}
