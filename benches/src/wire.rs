//! An in-memory socket for the peers that read and write through a stream (tungstenite over
//! `std::io`, fastwebsockets over tokio's traits), and a poll-once executor for the latter.
//!
//! Reading yields the same frame over and over, and a read never goes past the end of one copy
//! of it: each read hands over at most one message, as in the sans-IO rows, where the frame is
//! copied into the receive buffer once per message. Writes are counted and dropped, except while
//! the output is being checked, when they are kept.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Shared with the benchmark while the implementation owns the stream.
#[derive(Clone, Default)]
pub struct Captured {
    pub on: Rc<Cell<bool>>,
    pub bytes: Rc<RefCell<Vec<u8>>>,
}

impl Captured {
    /// Keeps what is written from now on, or stops keeping it.
    #[inline]
    pub fn keep(&self, on: bool) {
        self.on.set(on);
    }

    /// Stops keeping and returns what was kept.
    pub fn take(&self) -> Vec<u8> {
        self.on.set(false);
        std::mem::take(&mut *self.bytes.borrow_mut())
    }
}

pub struct Wire {
    input: Vec<u8>,
    pos: usize,
    captured: Captured,
}

impl Wire {
    /// A stream that reads `input` again and again (nothing, if empty) and writes into
    /// `captured` when it is on.
    pub fn new(input: Vec<u8>, captured: Captured) -> Self {
        Wire {
            input,
            pos: 0,
            captured,
        }
    }

    #[inline]
    fn next_chunk(&mut self, room: usize) -> Option<&[u8]> {
        if self.input.is_empty() {
            return None;
        }
        let n = room.min(self.input.len() - self.pos);
        let chunk = &self.input[self.pos..self.pos + n];
        self.pos += n;
        if self.pos == self.input.len() {
            self.pos = 0;
        }
        Some(chunk)
    }

    #[inline]
    fn sink(&self, bufs: &[&[u8]]) -> usize {
        if self.captured.on.get() {
            let mut out = self.captured.bytes.borrow_mut();
            for b in bufs {
                out.extend_from_slice(b);
            }
        }
        bufs.iter().map(|b| b.len()).sum()
    }
}

impl io::Read for Wire {
    #[inline]
    fn read(&mut self, to: &mut [u8]) -> io::Result<usize> {
        let room = to.len();
        match self.next_chunk(room) {
            Some(chunk) => {
                let n = chunk.len();
                to[..n].copy_from_slice(chunk);
                Ok(n)
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl io::Write for Wire {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.sink(&[buf]))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Wire {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.next_chunk(buf.remaining()) {
            Some(chunk) => {
                buf.put_slice(chunk);
                Poll::Ready(Ok(()))
            }
            None => Poll::Pending,
        }
    }
}

impl tokio::io::AsyncWrite for Wire {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.sink(&[buf])))
    }
    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = match bufs {
            [a] => self.sink(&[a]),
            [a, b] => self.sink(&[a, b]),
            more => more.iter().map(|b| self.sink(&[b])).sum(),
        };
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Polls `f` once: over a `Wire` nothing ever waits.
#[inline]
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an in-memory stream never waits"),
    }
}
