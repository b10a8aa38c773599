//! A client's reconnect policy: capped exponential backoff with full jitter (RFC 6455 §7.2.3).
//!
//! RFC 6455 §7.2.3 asks a client whose connection ended abnormally to wait a random time before
//! its first reconnect, and increasingly longer times after that, "using a method such as
//! truncated binary exponential backoff", so that a server that drops all its clients at once
//! is not knocked over again by all of them coming back at once. [`Reconnect`] computes those
//! waits. Like the rest of the crate it never sleeps, reads a clock or owns randomness: the
//! caller passes `now` (milliseconds on any monotonic clock, the same one for every call) and a
//! [`rand_core::RngCore`] to each call that needs one, and waits however it likes.
//!
//! - **Full jitter.** Attempt `k` (from 0) waits a uniformly random time in
//!   `[0, min(cap, base × 2^k)]` milliseconds: the "full jitter" backoff, which spreads a herd
//!   of clients best for the least total waiting.
//! - **Reset after a stable connection.** Report [`connected`](Reconnect::connected) when the
//!   opening handshake succeeds and [`disconnected`](Reconnect::disconnected) when the
//!   connection ends. A connection that stayed up at least `stable_after_ms` starts the backoff
//!   over from attempt 0; one that dropped sooner does not, so a server that accepts and
//!   immediately drops us is still backed off from.
//! - **Retry-After.** A 429 (RFC 6585 §4) or 503 (RFC 9110 §15.6.4) refusal may carry
//!   `Retry-After` (RFC 9110 §10.2.3). Pass its delay in seconds to
//!   [`retry_after`](Reconnect::retry_after): the next delay is then that long *plus* the
//!   jitter, so clients refused together do not come back together. The floor is clamped to
//!   `max_retry_after_ms`, so a hostile or broken server cannot park us for a week.
//! - **Giving up.** With `max_attempts` set, the attempt after that many in a row without a
//!   stable connection is refused: [`next_delay`](Reconnect::next_delay) returns `None`.
//!
//! Every value is an integer number of milliseconds; nothing overflows or panics, however many
//! attempts are made and whatever `now` is (on 32-bit targets too).
//!
//! ```
//! use wsmachine::reconnect::{Reconnect, ReconnectConfig};
//! # struct Lcg(u32);
//! # impl rand_core::RngCore for Lcg {
//! #     fn next_u32(&mut self) -> u32 { self.0 = self.0.wrapping_mul(1664525).wrapping_add(1013904223); self.0 }
//! #     fn next_u64(&mut self) -> u64 { u64::from(self.next_u32()) }
//! #     fn fill_bytes(&mut self, dst: &mut [u8]) { for b in dst { *b = self.next_u32() as u8 } }
//! # }
//! # let mut rng = Lcg(7); // any rand_core::RngCore
//! let mut policy = Reconnect::new(ReconnectConfig::DEFAULT);
//!
//! // The connection drops at t = 1 s, just after it came up: wait, then dial again.
//! policy.connected(0);
//! policy.disconnected(1_000);
//! let at = policy.next_attempt_at(1_000, &mut rng).unwrap();
//! assert!((1_000..=1_500).contains(&at)); // attempt 0: within [0, 500] ms
//!
//! // The dial fails: the window doubles.
//! let delay = policy.next_delay(at, &mut rng).unwrap();
//! assert!(delay <= 1_000); // attempt 1: within [0, 1000] ms
//!
//! // The server refuses with 503 and `Retry-After: 120`: at least two minutes.
//! policy.retry_after(120);
//! let delay = policy.next_delay(at, &mut rng).unwrap();
//! assert!((120_000..=122_000).contains(&delay)); // the floor plus attempt 2's jitter
//!
//! // Connected, and up for a minute: the next drop starts over from attempt 0.
//! policy.connected(200_000);
//! policy.disconnected(260_000);
//! assert_eq!(policy.attempts(), 0);
//! ```

use core::num::NonZeroU32;
use rand_core::RngCore;

/// How a [`Reconnect`] backs off. Start from [`ReconnectConfig::DEFAULT`] and change what you
/// need; all times are milliseconds.
///
/// ```
/// use core::num::NonZeroU32;
/// use wsmachine::reconnect::ReconnectConfig;
/// // A battery device: start slow, wait up to 5 minutes, stop after 20 failures in a row.
/// let config = ReconnectConfig {
///     base_ms: 2_000,
///     cap_ms: 300_000,
///     max_attempts: NonZeroU32::new(20),
///     ..ReconnectConfig::DEFAULT
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReconnectConfig {
    /// The jitter window of the first attempt; it doubles with every attempt after. Default
    /// 500, for a device that must be back quickly; RFC 6455 §7.2.3 calls 0–5 s a reasonable
    /// first delay, so a fleet of clients behind one server may want `5_000`. A `base_ms` of 0
    /// makes every window 0: reconnect at once (only a Retry-After delays).
    pub base_ms: u32,
    /// The largest jitter window: the windows stop doubling here. Default 30 000. A `cap_ms`
    /// below `base_ms` caps the first window too.
    pub cap_ms: u32,
    /// How long a connection must stay up before its loss starts the backoff over from
    /// attempt 0 (and clears the count towards `max_attempts`). Default 10 000.
    pub stable_after_ms: u32,
    /// The longest a server's `Retry-After` may make us wait (before the jitter is added):
    /// longer values are cut to this, so that a hostile server cannot park a client forever.
    /// Default 300 000 (5 minutes).
    pub max_retry_after_ms: u32,
    /// Give up after this many attempts in a row without a stable connection; `None` never
    /// gives up. Default `None`.
    pub max_attempts: Option<NonZeroU32>,
}

impl ReconnectConfig {
    /// The defaults, usable in `const` context: base 500 ms, cap 30 s, stable after 10 s,
    /// Retry-After honoured up to 5 minutes, never give up.
    pub const DEFAULT: Self = Self {
        base_ms: 500,
        cap_ms: 30_000,
        stable_after_ms: 10_000,
        max_retry_after_ms: 300_000,
        max_attempts: None,
    };
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The state of a client's reconnect backoff: how many attempts in a row have failed, whether
/// a connection is up and since when, and any `Retry-After` floor. See the
/// [module docs](self) for the policy.
///
/// # Call order
///
/// ```text
/// loop {
///     at = policy.next_attempt_at(now, &mut rng)?   // None: give up
///     wait until `at`; dial and handshake
///     refused with 429/503 and Retry-After: policy.retry_after(seconds); continue
///     failed otherwise:                              continue
///     policy.connected(now)
///     run the connection until it ends
///     policy.disconnected(now)
/// }
/// ```
///
/// A first connection need not wait: call `next_attempt_at` only before a *re*connect.
/// Calling it while a connection is still reported up counts as `disconnected(now)` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reconnect {
    config: ReconnectConfig,
    /// Delays handed out since the last reset: the exponent of the next window.
    attempts: u32,
    /// When the connection that is up now came up.
    up_since: Option<u64>,
    /// The floor of the next delay, from a `Retry-After`, already clamped.
    floor_ms: u32,
}

impl Reconnect {
    /// A policy that has made no attempt yet.
    #[must_use]
    pub const fn new(config: ReconnectConfig) -> Self {
        Self {
            config,
            attempts: 0,
            up_since: None,
            floor_ms: 0,
        }
    }

    /// The configuration this policy was made with.
    #[must_use]
    pub const fn config(&self) -> &ReconnectConfig {
        &self.config
    }

    /// How many delays were handed out since the start or the last reset: the attempt number
    /// (from 0) of the next one. Saturates at `u32::MAX`.
    #[must_use]
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether a connection is reported up ([`connected`](Self::connected) without
    /// [`disconnected`](Self::disconnected) since).
    #[must_use]
    pub const fn is_connected(&self) -> bool {
        self.up_since.is_some()
    }

    /// Whether `max_attempts` attempts in a row have been made: the next
    /// [`next_delay`](Self::next_delay) returns `None` unless a stable connection (or
    /// [`reset`](Self::reset)) comes first.
    #[must_use]
    pub const fn gave_up(&self) -> bool {
        match self.config.max_attempts {
            Some(max) => self.attempts >= max.get(),
            None => false,
        }
    }

    /// The opening handshake succeeded at `now`: the connection's uptime counts from here.
    /// A second call without [`disconnected`](Self::disconnected) between keeps the first time.
    pub fn connected(&mut self, now: u64) {
        if self.up_since.is_none() {
            self.up_since = Some(now);
        }
    }

    /// The connection reported by [`connected`](Self::connected) ended at `now` (closed,
    /// failed, TCP reset, keepalive timeout: any reason). If it was up for at least
    /// `stable_after_ms`, the backoff starts over from attempt 0. Without a connection up this
    /// does nothing; a `now` before the connect time counts as no uptime.
    pub fn disconnected(&mut self, now: u64) {
        if let Some(since) = self.up_since.take() {
            let uptime = now.saturating_sub(since);
            if uptime >= u64::from(self.config.stable_after_ms) {
                self.attempts = 0;
            }
        }
    }

    /// The server refused with 429 or 503 and `Retry-After: seconds` (a date already turned
    /// into seconds from now by the caller): the next delay is at least that long, cut to
    /// `max_retry_after_ms`. Several calls before the next delay keep the largest; the next
    /// delay consumes it.
    pub fn retry_after(&mut self, seconds: u64) {
        let ms = seconds.saturating_mul(1000);
        let clamped = ms.min(u64::from(self.config.max_retry_after_ms));
        // `clamped` is at most a u32 value, so this conversion cannot fail.
        let clamped = u32::try_from(clamped).unwrap_or(self.config.max_retry_after_ms);
        self.floor_ms = self.floor_ms.max(clamped);
    }

    /// Forget the history: the next delay is attempt 0's, with no `Retry-After` floor, and no
    /// connection is up. For when the caller knows the old failures no longer say anything
    /// (the network interface changed, the user asked to reconnect now).
    pub fn reset(&mut self) {
        *self = Self::new(self.config);
    }

    /// The jitter window of attempt `attempt`: `min(cap, base × 2^attempt)`, at most
    /// `u32::MAX`.
    fn window(&self, attempt: u32) -> u64 {
        // From attempt 64 on, 2^attempt is past u64::MAX: saturate it, so that a base of 0
        // stays 0 and any other base saturates to the cap.
        let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
        u64::from(self.config.base_ms)
            .saturating_mul(factor)
            .min(u64::from(self.config.cap_ms))
    }

    /// How long to wait, in milliseconds, before the next connection attempt, or `None` to
    /// give up (`max_attempts` reached). Counts the attempt, and consumes any `Retry-After`
    /// floor. If a connection is still reported up, it counts as
    /// [`disconnected`](Self::disconnected) at `now` first.
    ///
    /// The delay is `floor + jitter`: `floor` is the clamped `Retry-After` (0 without one) and
    /// `jitter` is uniform in `[0, min(cap_ms, base_ms × 2^attempt)]`, from one
    /// [`next_u32`](RngCore::next_u32) of `rng` (by multiply-and-shift, whose bias is below
    /// `window / 2^32`: under 10⁻⁵ for the default cap). So it is never above
    /// `max_retry_after_ms + cap_ms`.
    #[must_use = "the delay is the whole point; `None` means give up"]
    pub fn next_delay(&mut self, now: u64, rng: &mut impl RngCore) -> Option<u64> {
        self.disconnected(now);
        if self.gave_up() {
            return None;
        }
        let window = self.window(self.attempts);
        // window + 1 <= 2^32 and next_u32 < 2^32: the product fits in a u64, and shifting it
        // down by 32 bits gives a uniform value in [0, window].
        let jitter = u64::from(rng.next_u32()).saturating_mul(window.saturating_add(1)) >> 32;
        let delay = u64::from(self.floor_ms).saturating_add(jitter);
        self.floor_ms = 0;
        self.attempts = self.attempts.saturating_add(1);
        Some(delay)
    }

    /// The time at which to make the next connection attempt: `now` plus
    /// [`next_delay`](Self::next_delay) (saturating), or `None` to give up.
    #[must_use = "the deadline is the whole point; `None` means give up"]
    pub fn next_attempt_at(&mut self, now: u64, rng: &mut impl RngCore) -> Option<u64> {
        self.next_delay(now, rng)
            .map(|delay| now.saturating_add(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_core::RngCore;

    /// Returns the same `u32` every time: 0 and `u32::MAX` pin the ends of the jitter range.
    struct Constant(u32);

    impl RngCore for Constant {
        fn next_u32(&mut self) -> u32 {
            self.0
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.0)
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            dst.fill(self.0 as u8);
        }
    }

    /// A deterministic xorshift32 generator for sequences.
    struct XorShift(u32);

    impl RngCore for XorShift {
        fn next_u32(&mut self) -> u32 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            self.0 = x;
            x
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            for b in dst {
                *b = self.next_u32() as u8;
            }
        }
    }

    fn policy() -> Reconnect {
        Reconnect::new(ReconnectConfig::DEFAULT)
    }

    #[test]
    fn is_small() {
        assert_eq!(core::mem::size_of::<ReconnectConfig>(), 20);
        assert!(core::mem::size_of::<Reconnect>() <= 48);
    }

    #[test]
    fn the_largest_draw_walks_the_doubling_windows_up_to_the_cap() {
        let mut p = policy();
        let mut rng = Constant(u32::MAX);
        let delays: [u64; 9] = core::array::from_fn(|_| p.next_delay(0, &mut rng).unwrap());
        // The largest draw lands on each window's end: 500 × 2^k, then the cap.
        assert_eq!(
            delays,
            [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(p.attempts(), 9);
    }

    #[test]
    fn the_smallest_draw_is_no_wait() {
        let mut p = policy();
        let mut rng = Constant(0);
        for _ in 0..100 {
            assert_eq!(p.next_delay(0, &mut rng), Some(0));
        }
    }

    #[test]
    fn a_sequence_stays_within_each_attempts_window() {
        let mut p = policy();
        let mut rng = XorShift(0x1234_5678);
        let mut seen_below_half = false;
        for k in 0..40u32 {
            let window = 500u64.checked_shl(k).unwrap_or(u64::MAX).min(30_000);
            let delay = p.next_delay(0, &mut rng).unwrap();
            assert!(delay <= window, "attempt {k}: {delay} > {window}");
            seen_below_half |= delay < window / 2;
        }
        assert!(seen_below_half, "full jitter reaches below half the window");
    }

    #[test]
    fn the_jitter_covers_the_window_evenly() {
        // Attempt 0's window [0, 500]: 10 000 draws fill each fifth of it about equally.
        let mut rng = XorShift(99);
        let mut fifths = [0u32; 5];
        for _ in 0..10_000 {
            let mut p = policy();
            let delay = p.next_delay(0, &mut rng).unwrap();
            fifths[usize::try_from(delay.min(499) / 100).unwrap()] += 1;
        }
        for count in fifths {
            assert!((1_800..2_200).contains(&count), "{fifths:?}");
        }
    }

    #[test]
    fn a_stable_connection_resets_the_backoff() {
        let mut p = policy();
        let mut rng = Constant(u32::MAX);
        for _ in 0..5 {
            let _ = p.next_delay(0, &mut rng);
        }
        p.connected(1_000);
        p.disconnected(11_000); // exactly stable_after
        assert_eq!(p.attempts(), 0);
        assert_eq!(p.next_delay(11_000, &mut rng), Some(500));
    }

    #[test]
    fn a_connection_that_drops_quickly_does_not_reset() {
        let mut p = policy();
        let mut rng = Constant(u32::MAX);
        for _ in 0..5 {
            let _ = p.next_delay(0, &mut rng);
        }
        p.connected(1_000);
        p.disconnected(10_999); // 1 ms short of stable
        assert_eq!(p.attempts(), 5);
        assert_eq!(p.next_delay(10_999, &mut rng), Some(16_000));
    }

    #[test]
    fn an_unreported_disconnect_is_taken_at_the_next_delay() {
        let mut p = policy();
        let mut rng = Constant(u32::MAX);
        for _ in 0..3 {
            let _ = p.next_delay(0, &mut rng);
        }
        p.connected(0);
        assert!(p.is_connected());
        // Up for a minute, then the caller asks for a delay straight away.
        assert_eq!(p.next_delay(60_000, &mut rng), Some(500));
        assert!(!p.is_connected());
    }

    #[test]
    fn time_going_backwards_counts_as_no_uptime() {
        let mut p = policy();
        let mut rng = Constant(u32::MAX);
        let _ = p.next_delay(0, &mut rng);
        p.connected(50_000);
        p.disconnected(10);
        assert_eq!(p.attempts(), 1);
        // A disconnect with nothing up, and a second connect, change nothing.
        p.disconnected(u64::MAX);
        p.connected(0);
        p.connected(u64::MAX);
        p.disconnected(9_999);
        assert_eq!(p.attempts(), 1);
    }

    #[test]
    fn retry_after_is_a_floor_under_the_jitter_once() {
        let mut p = policy();
        p.retry_after(120);
        assert_eq!(p.next_delay(0, &mut Constant(0)), Some(120_000));
        // Consumed: the next one is back to plain jitter (attempt 1).
        assert_eq!(p.next_delay(0, &mut Constant(u32::MAX)), Some(1_000));
        p.retry_after(3);
        p.retry_after(7);
        p.retry_after(5);
        // The largest floor, plus attempt 2's largest jitter.
        assert_eq!(p.next_delay(0, &mut Constant(u32::MAX)), Some(9_000));
    }

    #[test]
    fn a_hostile_retry_after_is_clamped() {
        let mut p = policy();
        p.retry_after(u64::MAX);
        assert_eq!(p.next_delay(0, &mut Constant(0)), Some(300_000));
        let mut p = Reconnect::new(ReconnectConfig {
            max_retry_after_ms: u32::MAX,
            cap_ms: u32::MAX,
            base_ms: u32::MAX,
            ..ReconnectConfig::DEFAULT
        });
        p.retry_after(86_400 * 365 * 1000);
        let delay = p.next_delay(0, &mut Constant(u32::MAX)).unwrap();
        assert_eq!(delay, u64::from(u32::MAX) * 2);
    }

    #[test]
    fn max_attempts_gives_up_until_a_stable_connection() {
        let mut p = Reconnect::new(ReconnectConfig {
            max_attempts: NonZeroU32::new(3),
            ..ReconnectConfig::DEFAULT
        });
        let mut rng = XorShift(1);
        for _ in 0..3 {
            assert!(!p.gave_up());
            assert!(p.next_attempt_at(0, &mut rng).is_some());
        }
        assert!(p.gave_up());
        assert_eq!(p.next_attempt_at(0, &mut rng), None);
        assert_eq!(p.next_attempt_at(0, &mut rng), None);
        assert_eq!(p.attempts(), 3);
        // A short connection does not help; a stable one does.
        p.connected(0);
        p.disconnected(100);
        assert_eq!(p.next_delay(100, &mut rng), None);
        p.connected(100);
        p.disconnected(20_000);
        assert!(p.next_delay(20_000, &mut rng).is_some());
        p.reset();
        assert_eq!(p.attempts(), 0);
    }

    #[test]
    fn attempt_64_and_beyond_never_overflows() {
        let mut p = Reconnect::new(ReconnectConfig {
            base_ms: u32::MAX,
            cap_ms: u32::MAX,
            ..ReconnectConfig::DEFAULT
        });
        let mut rng = Constant(u32::MAX);
        for _ in 0..200 {
            let delay = p.next_delay(0, &mut rng).unwrap();
            assert_eq!(delay, u64::from(u32::MAX));
        }
        p.attempts = u32::MAX - 1;
        for _ in 0..3 {
            assert!(p.next_delay(u64::MAX, &mut rng).is_some());
        }
        assert_eq!(p.attempts(), u32::MAX);
        assert_eq!(p.next_attempt_at(u64::MAX, &mut rng), Some(u64::MAX));
    }

    #[test]
    fn zero_base_or_cap_reconnects_at_once() {
        let mut rng = Constant(u32::MAX);
        for config in [
            ReconnectConfig {
                base_ms: 0,
                ..ReconnectConfig::DEFAULT
            },
            ReconnectConfig {
                cap_ms: 0,
                ..ReconnectConfig::DEFAULT
            },
        ] {
            let mut p = Reconnect::new(config);
            for _ in 0..70 {
                assert_eq!(p.next_delay(0, &mut rng), Some(0));
            }
        }
    }

    proptest! {
        /// Whatever the configuration, the inputs and their order: every delay lies in
        /// [clamped Retry-After floor, floor + window of its attempt], no window exceeds the
        /// cap, the attempt counter only ever counts up by one (saturating) or resets, and
        /// `None` (give up) comes exactly when `max_attempts` attempts in a row were made.
        #[test]
        #[cfg_attr(miri, ignore)]
        fn delays_stay_within_floor_and_cap(
            base_ms in any::<u32>(),
            cap_ms in any::<u32>(),
            stable_after_ms in 0u32..100_000,
            max_retry_after_ms in any::<u32>(),
            start_attempts in prop_oneof![0u32..100, (u32::MAX - 5)..=u32::MAX],
            max_attempts in proptest::option::of(1u32..30),
            seed in 1u32..,
            steps in proptest::collection::vec((0u8..4, any::<u32>(), 0u64..200_000), 1..60),
        ) {
            let config = ReconnectConfig {
                base_ms,
                cap_ms,
                stable_after_ms,
                max_retry_after_ms,
                max_attempts: max_attempts.and_then(NonZeroU32::new),
            };
            let mut p = Reconnect::new(config);
            p.attempts = start_attempts;
            let mut rng = XorShift(seed);
            let mut now = 0u64;
            let mut floor = 0u64;
            for (op, value, dt) in steps {
                now = now.saturating_add(dt);
                let before = p.attempts();
                match op {
                    0 => p.connected(now),
                    1 => p.disconnected(now),
                    2 => {
                        p.retry_after(u64::from(value));
                        let ms = u64::from(value) * 1000;
                        floor = floor.max(ms.min(u64::from(max_retry_after_ms)));
                    }
                    _ => {
                        let was_up = p.is_connected();
                        let mut after_disconnect = p;
                        after_disconnect.disconnected(now);
                        let exhausted = max_attempts.is_some_and(|m| after_disconnect.attempts() >= m);
                        let Some(delay) = p.next_delay(now, &mut rng) else {
                            // Giving up changes nothing but the implicit disconnect.
                            prop_assert!(exhausted);
                            prop_assert_eq!(p, after_disconnect);
                            continue;
                        };
                        prop_assert!(!exhausted);
                        let attempt = if p.attempts() == before.saturating_add(1) {
                            before
                        } else {
                            // The implicit disconnect reset the backoff first.
                            prop_assert!(was_up);
                            prop_assert_eq!(p.attempts(), 1);
                            0
                        };
                        // min(cap, base × 2^attempt), computed wide instead of saturated.
                        let wide = u128::from(base_ms) << attempt.min(64);
                        let window = u64::try_from(wide.min(u128::from(cap_ms))).unwrap();
                        prop_assert_eq!(p.window(attempt), window);
                        prop_assert!(delay >= floor, "{} < floor {}", delay, floor);
                        prop_assert!(delay <= floor + window, "{} > {} + {}", delay, floor, window);
                        floor = 0;
                        continue;
                    }
                }
                prop_assert!(p.attempts() == before || p.attempts() == 0);
            }
        }
    }
}
