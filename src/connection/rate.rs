//! Token buckets for per-connection rate limits (RFC 6455 §10.4: implementation-specific limits).
//!
//! RFC 6455 §10.4 leaves it to implementations to limit what a peer may make them do. A
//! [`RateLimit`] says how much per second (messages, payload bytes, control frames: one bucket
//! each), and a [`TokenBucket`] enforces it on the caller's clock: `now` is any monotonic clock
//! in milliseconds, the same one for every call. Nothing here reads a clock.
//!
//! The arithmetic is integer only (no soft-float on Cortex-M) and exact: the bucket counts
//! milli-tokens, and `per_second` tokens per second is exactly `per_second` milli-tokens per
//! millisecond, so no fraction is ever rounded away, however the calls are spaced. Over any
//! span of `T` milliseconds a bucket grants at most `burst + per_second × T / 1000` tokens, and
//! a caller that drains it from the start, asking often enough that it never overfills, gets
//! exactly that many.

/// A rate limit: on average at most `per_second` tokens (messages, bytes, frames: whatever one
/// bucket counts) per second, with bursts of up to `burst` at once.
///
/// A bucket starts full, so the first `burst` tokens may be spent at once; after that it
/// refills by `per_second` each second, never above `burst`. A `per_second` of 0 never
/// refills: `burst` tokens for the whole connection. A `burst` of 0 grants nothing (but
/// zero-sized takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: u32,
    /// The bucket's capacity: the most tokens that may be taken at once after a quiet spell.
    pub burst: u32,
}

impl RateLimit {
    /// A limit of `per_second` tokens per second with bursts of `burst`.
    #[must_use]
    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }
}

/// Milli-tokens per token.
const MILLI: i64 = 1000;

/// A token bucket that enforces one [`RateLimit`]. 24 bytes, `Copy`; never panics and never
/// overflows, whatever `now` and the sizes asked for.
///
/// - [`try_take`](Self::try_take): take `n` tokens if all are there (a message may be sent,
///   a ping answered).
/// - [`charge`](Self::charge): take `n` tokens whether they are there or not, going into debt
///   (bytes that were already read); [`ready_at`](Self::ready_at) then says when to read
///   again.
/// - [`ready_at`](Self::ready_at): when `n` tokens will be there: backpressure, "stop reading
///   until then".
///
/// Time going backwards is harmless: a `now` before the latest one seen adds nothing, and
/// the bucket goes on from the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct TokenBucket {
    /// Milli-tokens in the bucket: at most `burst × 1000`, negative while in debt.
    level: i64,
    /// The latest `now` seen: the bucket is filled up to this time.
    last: u64,
    limit: RateLimit,
}

// Three buckets per connection (messages, bytes, control frames): keep each small, on 32-bit
// targets too.
const _: () = assert!(core::mem::size_of::<TokenBucket>() <= 24);

impl TokenBucket {
    /// A full bucket for `limit`.
    pub(crate) const fn new(limit: RateLimit) -> Self {
        Self {
            level: Self::capacity(limit),
            // Full already: whatever time the first call brings, the refill is cut to full.
            last: 0,
            limit,
        }
    }

    /// The limit this bucket enforces.
    #[cfg(test)]
    pub(crate) const fn limit(&self) -> RateLimit {
        self.limit
    }

    /// `burst` in milli-tokens: at most `u32::MAX × 1000`, far inside an `i64`.
    const fn capacity(limit: RateLimit) -> i64 {
        limit.burst as i64 * MILLI
    }

    /// `n` tokens in milli-tokens.
    fn milli(n: u32) -> i64 {
        i64::from(n) * MILLI
    }

    /// The milli-token level at `now`, and the time it is for (the later of `now` and
    /// `last`).
    fn level_at(&self, now: u64) -> (i64, u64) {
        let Some(elapsed) = now.checked_sub(self.last) else {
            return (self.level, self.last);
        };
        // `per_second` tokens per second is `per_second` milli-tokens per millisecond. The
        // room to full is below 2^64 (the level is at least i64::MIN), so a saturated product
        // still fills the bucket, and below the room the sum is exact.
        let added = elapsed.saturating_mul(u64::from(self.limit.per_second));
        let full = Self::capacity(self.limit);
        let room = full.abs_diff(self.level);
        let level = if added >= room {
            full
        } else {
            self.level.saturating_add_unsigned(added)
        };
        (level, now)
    }

    fn refill(&mut self, now: u64) {
        (self.level, self.last) = self.level_at(now);
    }

    /// The whole tokens available at `now` (0 while in debt), at most `burst`.
    #[cfg(test)]
    pub(crate) fn available(&self, now: u64) -> u32 {
        let (level, _) = self.level_at(now);
        u32::try_from(level / MILLI).unwrap_or(0)
    }

    /// Takes `n` tokens at `now` if all of them are there, and says whether it did; takes
    /// nothing otherwise. Always `false` for `n > burst`; always `true` for `n == 0`.
    pub(crate) fn try_take(&mut self, now: u64, n: u32) -> bool {
        self.refill(now);
        let need = Self::milli(n);
        if self.level >= need {
            self.level = self.level.saturating_sub(need);
            true
        } else {
            false
        }
    }

    /// Takes `n` tokens at `now` whether they are there or not: the bucket goes into debt, and
    /// grants nothing more until the refill has paid it back. For what already happened (bytes
    /// read off the socket), where refusing is no longer possible. The debt saturates far
    /// beyond any real use (about 9 × 10¹⁵ tokens).
    pub(crate) fn charge(&mut self, now: u64, n: u32) {
        self.refill(now);
        self.level = self.level.saturating_sub(Self::milli(n));
    }

    /// The earliest time, not before `now`, at which [`try_take`](Self::try_take) of `n`
    /// tokens would succeed (`now` itself when they are there already), or `None` if it never
    /// will: `n > burst`, or a bucket that does not refill and holds too little.
    pub(crate) fn ready_at(&self, now: u64, n: u32) -> Option<u64> {
        if n > self.limit.burst {
            return None;
        }
        let (level, at) = self.level_at(now);
        let need = Self::milli(n);
        if level >= need {
            return Some(now);
        }
        let rate = u64::from(self.limit.per_second);
        if rate == 0 {
            return None;
        }
        // need <= u32::MAX × 1000 and level >= i64::MIN: the deficit fits in a u64.
        let deficit = need.abs_diff(level);
        let wait = deficit.div_ceil(rate);
        Some(at.saturating_add(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bucket(per_second: u32, burst: u32) -> TokenBucket {
        TokenBucket::new(RateLimit::new(per_second, burst))
    }

    #[test]
    fn is_small() {
        assert!(core::mem::size_of::<TokenBucket>() <= 24);
        assert_eq!(core::mem::size_of::<RateLimit>(), 8);
    }

    #[test]
    fn starts_full_and_spends_the_burst_at_once() {
        let mut b = bucket(10, 5);
        assert_eq!(b.limit(), RateLimit::new(10, 5));
        assert_eq!(b.available(1_000_000), 5);
        for _ in 0..5 {
            assert!(b.try_take(1_000_000, 1));
        }
        assert!(!b.try_take(1_000_000, 1));
        assert!(b.try_take(1_000_000, 0));
        // 10 per second: one token every 100 ms.
        assert!(!b.try_take(1_000_099, 1));
        assert!(b.try_take(1_000_100, 1));
    }

    #[test]
    fn a_flood_just_under_the_limit_is_never_refused() {
        // 100 per second is one per 10 ms; one every 11 ms for a minute, with no burst to
        // spare after the first.
        let mut b = bucket(100, 1);
        let mut now = 5_000;
        for _ in 0..60_000 / 11 {
            assert!(b.try_take(now, 1), "refused at {now}");
            now += 11;
        }
    }

    #[test]
    fn a_flood_just_over_the_limit_gets_burst_plus_rate() {
        // One every 9 ms for 10 s against 100 per second, burst 10: the bucket loses 0.1
        // token a request (10 − 0.1 i before request i), so request 91 is the first refused,
        // and from then on only the refill passes.
        let mut b = bucket(100, 10);
        let (mut granted, mut first_refusal) = (0u64, None);
        let start = 7_000u64;
        let mut now = start;
        for i in 0..=10_000 / 9 {
            if b.try_take(now, 1) {
                granted += 1;
            } else if first_refusal.is_none() {
                first_refusal = Some(i);
            }
            now += 9;
        }
        let last = now - 9;
        assert_eq!(first_refusal, Some(91));
        assert!(granted <= 10 + 100 * (last - start) / 1000);
        assert!(granted >= 100 * (last - start) / 1000, "{granted}");
    }

    #[test]
    #[cfg_attr(miri, ignore)] // 3.6 million calls: exact, and too slow under Miri
    fn an_hour_at_seven_per_second_is_exact() {
        // Asking every millisecond, and asking at random spacings, both get exactly
        // burst + 7 × 3600 tokens: no rounding drift. (The spacings stay below 286 ms: a
        // longer gap would overfill the 3-token bucket and rightly lose tokens.)
        let hour = 3_600_000u64;
        let mut b = bucket(7, 3);
        let mut granted = 0u64;
        for now in 0..=hour {
            while b.try_take(now, 1) {
                granted += 1;
            }
        }
        assert_eq!(granted, 3 + 7 * 3600);

        let mut b = bucket(7, 3);
        let (mut granted, mut now, mut x) = (0u64, 0u64, 12345u32);
        loop {
            while b.try_take(now, 1) {
                granted += 1;
            }
            if now == hour {
                break;
            }
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            now = (now + u64::from(x % 286)).min(hour);
        }
        assert_eq!(granted, 3 + 7 * 3600);
    }

    #[test]
    fn time_going_backwards_adds_nothing_and_loses_nothing() {
        let mut b = bucket(1000, 10);
        assert!(b.try_take(10_000, 10));
        assert!(!b.try_take(5, 1)); // back in time: no refill
        assert_eq!(b.available(0), 0);
        // From the latest time seen, 5 ms later: 5 tokens, not 10_000 ms' worth.
        assert_eq!(b.available(10_005), 5);
        assert_eq!(b.ready_at(3, 7), Some(10_007));
    }

    #[test]
    fn huge_sizes_and_gaps_never_overflow() {
        let mut b = bucket(u32::MAX, u32::MAX);
        assert!(b.try_take(u64::MAX, u32::MAX));
        assert!(!b.try_take(u64::MAX, 1));
        assert_eq!(b.ready_at(u64::MAX, 1), Some(u64::MAX));
        assert_eq!(b.ready_at(u64::MAX, u32::MAX), Some(u64::MAX));

        let mut b = bucket(1, 1);
        assert!(!b.try_take(0, u32::MAX));
        assert_eq!(b.ready_at(0, u32::MAX), None);
        for _ in 0..10_000 {
            b.charge(0, u32::MAX);
        }
        assert_eq!(b.available(u64::MAX), 1);
        b.charge(0, u32::MAX);
        b.level = i64::MIN;
        assert_eq!(b.available(0), 0);
        assert!(b.ready_at(0, 1).is_some());
        b.charge(0, u32::MAX);
        assert_eq!(b.level, i64::MIN);
        assert!(b.try_take(u64::MAX, 1));
    }

    #[test]
    fn a_bucket_that_never_refills() {
        let mut b = bucket(0, 3);
        assert!(b.try_take(0, 2));
        assert!(b.try_take(u64::MAX, 1));
        assert!(!b.try_take(u64::MAX, 1));
        assert_eq!(b.ready_at(0, 1), None);
        let mut b = bucket(5, 0);
        assert!(!b.try_take(u64::MAX, 1));
        assert_eq!(b.ready_at(0, 1), None);
        assert_eq!(b.ready_at(9, 0), Some(9));
    }

    #[test]
    fn charging_bytes_then_waiting_holds_the_byte_rate() {
        // Bytes per second: read 1500-byte chunks whenever the bucket is out of debt; stop
        // reading until `ready_at` otherwise. Over 10 s, 10 000 B/s with a 4096 B burst lets
        // through at most 100 000 + 4096 + one chunk of overshoot.
        let mut b = bucket(10_000, 4096);
        let mut now = 0;
        let mut read = 0u64;
        while now <= 10_000 {
            b.charge(now, 1500);
            read += 1500;
            now = b.ready_at(now, 1).unwrap();
        }
        assert!(read <= 100_000 + 4096 + 1500, "{read}");
        assert!(read >= 100_000, "{read}");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Take(u32),
        Charge(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u32..20).prop_map(Op::Take),
            1 => any::<u32>().prop_map(Op::Take),
            1 => (0u32..50).prop_map(Op::Charge),
        ]
    }

    proptest! {
        /// Over any run of calls (time may step back), the tokens `try_take` grants in any
        /// window [a, b] of the bucket's clock never exceed burst + per_second × (b − a) / 1000.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn grants_never_exceed_burst_plus_rate_times_window(
            per_second in prop_oneof![0u32..50, any::<u32>()],
            burst in prop_oneof![0u32..50, any::<u32>()],
            start in prop_oneof![0u64..10_000, any::<u64>()],
            calls in proptest::collection::vec((-500i64..3_000, op()), 1..80),
        ) {
            let mut b = bucket(per_second, burst);
            let mut now = start;
            let mut clock = 0u64; // the bucket's own clock: the latest `now`
            let mut grants: Vec<(u64, u64)> = Vec::new();
            for (dt, op) in calls {
                now = now.saturating_add_signed(dt);
                clock = clock.max(now);
                match op {
                    Op::Take(n) => {
                        let ready = b.ready_at(now, n);
                        let mut before = b;
                        if b.try_take(now, n) {
                            grants.push((clock, u64::from(n)));
                            prop_assert_eq!(ready, Some(now));
                        } else if let Some(at) = ready.filter(|&at| at < u64::MAX) {
                            // `ready_at` is exact: refused just before, granted at it.
                            prop_assert!(at > now);
                            let mut early = before;
                            prop_assert!(!early.try_take(at - 1, n));
                            prop_assert!(before.try_take(at, n));
                        }
                    }
                    Op::Charge(n) => b.charge(now, n),
                }
                prop_assert!(b.available(now) <= burst);
            }
            for (i, &(start, _)) in grants.iter().enumerate() {
                let mut sum = 0u128;
                for &(at, n) in &grants[i..] {
                    sum += u128::from(n);
                    let bound = u128::from(burst) * 1000
                        + u128::from(per_second) * u128::from(at - start);
                    prop_assert!(sum * 1000 <= bound, "{} granted in [{}, {}]", sum, start, at);
                }
            }
        }
    }
}
