//! Instructions per message under callgrind: one workload of benches/src/ours.rs in a loop.
//!
//! `per_message WORKLOAD SIZE N` runs N messages of SIZE bytes through wsmachine and prints a
//! checksum; the same run at two values of N, under `valgrind --tool=callgrind`, gives the
//! instructions of one message as the difference over the difference in N, start-up left out
//! (`per_message.sh` does that). Workloads: `send` (send_binary, as a client), `header-mask`
//! (send_frame_header + mask_payload_in_place), `decode` (a server receives one masked binary
//! frame, after copying it into its receive buffer, as the benchmark does), `decode-text` (the
//! same with a text frame of ASCII); and the same three for nexus-web, the fastest peer at these
//! sizes: `nexus-send` (`encode_binary`), `nexus-header-mask` (`build_header` + `apply_mask`),
//! `nexus-decode` (`read`, then `next` until it returns `None`). Each message goes through the
//! same calls the benchmark times (src/ours.rs, src/peers/nexus.rs).

// The same calls as the benchmark's; the checking and validating ones are its alone.
#[allow(dead_code)]
#[path = "ours.rs"]
mod ours;

use std::hint::black_box;
use std::process::ExitCode;

use nexus_web::ws::{apply_mask, FrameReader, FrameWriter, Message, Role};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(workload), Some(size), Some(n)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!(
            "usage: per_message [nexus-]send|[nexus-]header-mask|[nexus-]decode|decode-text SIZE N"
        );
        return ExitCode::from(2);
    };
    let payload: Vec<u8> = b"the quick brown fox {\"k\": 12} "
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect();
    let mut total = 0usize;
    match workload.as_str() {
        "send" => {
            let mut client = ours::client(1);
            let mut out = vec![0u8; size + 14];
            for _ in 0..n {
                total += ours::send_binary(&mut client, black_box(&payload), black_box(&mut out));
            }
        }
        "header-mask" => {
            let mut client = ours::client(2);
            let mut body = payload.clone();
            let mut header = [0u8; 14];
            for _ in 0..n {
                total += ours::send_header_mask_in_place(
                    &mut client,
                    black_box(&mut body),
                    black_box(&mut header),
                );
            }
        }
        "decode" | "decode-text" => {
            let frame = ours::masked_frame(&payload, workload == "decode-text");
            let mut server = ours::server();
            let mut buf = vec![0u8; frame.len()];
            for _ in 0..n {
                buf.copy_from_slice(black_box(&frame));
                match ours::receive_whole(&mut server, black_box(&mut buf)) {
                    Some(p) => total += p.len(),
                    None => {
                        eprintln!("the frame did not decode whole");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        "nexus-send" => {
            let mut writer = FrameWriter::new(Role::Client);
            let mut out = vec![0u8; writer.max_encoded_len(size)];
            for _ in 0..n {
                total += writer.encode_binary(black_box(&payload), black_box(&mut out));
            }
        }
        "nexus-header-mask" => {
            let mut writer = FrameWriter::new(Role::Client);
            let mut body = payload.clone();
            for _ in 0..n {
                let (header, key) = writer.build_header(0x82, size);
                let Some(key) = key else {
                    eprintln!("a client masks");
                    return ExitCode::FAILURE;
                };
                apply_mask(black_box(&mut body[..]), key);
                total += black_box(header.as_bytes()).len();
            }
        }
        "nexus-decode" => {
            let frame = ours::masked_frame(&payload, false);
            let mut reader = FrameReader::builder()
                .role(Role::Server)
                .buffer_capacity((2 * frame.len()).max(64 << 10))
                .build();
            for _ in 0..n {
                if let Err(e) = reader.read(black_box(&frame)) {
                    eprintln!("nexus-web read: {e}");
                    return ExitCode::FAILURE;
                }
                let mut messages = 0;
                loop {
                    match reader.next() {
                        Ok(Some(Message::Binary(p))) => total += black_box(p).len(),
                        Ok(None) => break,
                        other => {
                            eprintln!("nexus-web next: {other:?}");
                            return ExitCode::FAILURE;
                        }
                    }
                    messages += 1;
                }
                if messages != 1 {
                    eprintln!("{messages} messages from one frame");
                    return ExitCode::FAILURE;
                }
            }
        }
        other => {
            eprintln!("unknown workload {other}");
            return ExitCode::from(2);
        }
    }
    println!("{total}");
    ExitCode::SUCCESS
}
