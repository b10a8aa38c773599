//! The driver's receive pipeline (RFC 6455 §5.4–§5.6, §10.4; RFC 7692 §7.2.2): connection, rate limiter, inflate, reassembly, each stage a layer over the one before.
//!
//! ```text
//! rx -> Connection::receive -> RateLimiter (counts the wire: frames, compressed bytes)
//!    -> deflate::Receiver (when agreed: decompressed chunks, its size limit, UTF-8)
//!    -> Reassembler (with advance_message: whole messages, its capacity, decompressed bytes)
//! ```
//!
//! Every combination is the same code with stages left out. What comes out is kept as a
//! [`Pending`] (its bytes let go of) and borrowed again by [`Driver::event`] or
//! [`Driver::message`] from where the stage that handed it out keeps it: the input, the
//! inflate window, or the reassembly storage.

use super::pending::{Pending, Place};
use super::policy::Limiter;
use super::Driver;
use crate::connection::{Endpoint, Limit, Limited, Received};
use crate::error::ReceiveError;
use crate::message::{Reassembler, Storage};
use crate::Connection;

/// What one pass through the pipeline did.
#[derive(Debug, Clone, Copy)]
pub(super) struct Taken {
    /// Bytes of `rx` used.
    pub(super) consumed: usize,
    /// What came out of the top stage.
    pub(super) pending: Option<Pending>,
    /// Some stage took input or handed something up: call again, even with nothing consumed
    /// and nothing out (an inflated chunk went into the reassembly storage).
    pub(super) progress: bool,
}

impl<E: Endpoint, const H: usize> Driver<'_, E, H> {
    /// Runs the buffered input `rx[start..rx_end]` through every stage the driver has, once:
    /// at most one event (or, with `messages`, one message or control frame) comes out.
    pub(super) fn receive_next<S: Storage>(
        &mut self,
        start: usize,
        mut messages: Option<&mut Reassembler<S>>,
    ) -> Result<Taken, ReceiveError> {
        let now = self.now;
        let limiter = self.limiter.as_mut();
        let limited = &mut self.limited;
        let conn = &mut self.conn;
        let input = self.rx.get_mut(start..self.rx_end).unwrap_or_default();
        #[cfg(feature = "deflate")]
        let mut deflate = self.deflate.as_deref_mut();
        // Without an agreement the connection refuses RSV1 itself (1002): it is allowed only
        // once the extension is agreed (`Connection::allow_rsv`).
        #[cfg(feature = "deflate")]
        let received = match deflate.as_deref_mut().filter(|d| d.agreed().is_some()) {
            Some(inflate) => inflate.receive(conn, input, |conn, input| {
                wire(conn, input, limiter, now, limited)
            }),
            None => wire(conn, input, limiter, now, limited),
        }?;
        #[cfg(not(feature = "deflate"))]
        let received = wire(conn, input, limiter, now, limited)?;
        let progress = received.consumed > 0 || received.event.is_some();
        let (consumed, pending) = match messages.as_deref_mut() {
            Some(messages) => {
                let (consumed, message) = messages.reassemble(conn, received)?;
                (consumed, message.map(Pending::message))
            }
            None => (received.consumed, received.event.map(Pending::event)),
        };
        // Where the stage that handed it out keeps its bytes.
        let stored = messages
            .as_deref()
            .is_some_and(|m| !m.storage().bytes().is_empty());
        #[cfg(feature = "deflate")]
        let inflated = deflate.as_deref().is_some_and(|d| !d.inflated().is_empty());
        #[cfg(not(feature = "deflate"))]
        let inflated = false;
        let pending = pending.map(|p| match p {
            // Control frames always borrow the input.
            p if !p.is_data() => p,
            // A message that came in pieces is in the storage; one that came whole is the
            // chunk it came in (and the storage was cleared for it). Empty bytes are empty
            // wherever they are.
            Pending::Message { .. } if stored => p.at(Place::Storage),
            p if inflated => p.at(Place::Window),
            p => p,
        });
        Ok(Taken {
            consumed,
            pending,
            progress,
        })
    }
}

/// The first two stages: the connection, then the rate limiter (when there is one), which
/// counts what arrives on the wire (frames, compressed payload bytes). An event over a limit
/// with [`OnExceed::Fail`](crate::connection::OnExceed::Fail) is dropped (its bytes consumed)
/// and the limit kept in `limited`: the connection has failed with 1008.
#[inline]
fn wire<'a, E: Endpoint>(
    conn: &mut Connection<E>,
    input: &'a mut [u8],
    limiter: Option<&mut Limiter<'_>>,
    now: u64,
    limited: &mut Option<Limit>,
) -> Result<Received<'a>, ReceiveError> {
    Ok(match limiter {
        None => conn.receive(input)?,
        Some(limiter) => match limiter.limiter.receive(conn, now, input) {
            Ok(received) => received,
            Err(Limited::Exceeded { limit, consumed }) => {
                *limited = limited.or(Some(limit));
                return Ok(Received {
                    consumed,
                    event: None,
                });
            }
            Err(Limited::Receive(e)) => return Err(e),
        },
    })
}
