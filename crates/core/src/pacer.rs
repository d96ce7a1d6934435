//! Token-bucket pacing with AIMD (additive increase, multiplicative decrease).
//!
//! Each `acquire` reserves the next free slot, `1 / rate` seconds after the previous one, and
//! sleeps until it. An instance that was idle (between two batches: the last send's latency,
//! the deletes, the next receive) may catch up on at most [`BURST`] of that idle time: the next
//! slot is never earlier than `now - BURST`, so the bucket holds `rate × BURST` tokens at most
//! and the sends of any window of `T` seconds stay under `rate × (T + BURST)`. The rate starts at the
//! *ceiling* (this instance's share of the account's `MaxSendRate` × target utilisation).
//! A throttle halves the rate (at most once per [`DECREASE_WINDOW`], because the throttles
//! of requests already in flight describe the same overload); the rate then recovers
//! additively by [`RECOVERY_PER_SECOND`] of the ceiling per second until it reaches the
//! ceiling again.
//!
//! Time is `tokio::time`, so tests run with paused time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Idle time an instance may catch up on (the bucket's depth in seconds of its rate). Small
/// beside SES's one-second rate window, large enough to cover the idle gap between two
/// batches (about one SES latency plus a few store writes), which otherwise costs 1-3 % of
/// the quota at every batch boundary.
pub const BURST: Duration = Duration::from_millis(100);
/// Fraction of the ceiling regained per second after a decrease (20 s from 0 to full).
pub const RECOVERY_PER_SECOND: f64 = 0.05;
/// Multiplicative decrease factor on throttling.
pub const DECREASE_FACTOR: f64 = 0.5;
/// Throttles within this window of a decrease do not decrease again.
pub const DECREASE_WINDOW: Duration = Duration::from_secs(1);
/// The rate never drops below the ceiling divided by this.
pub const MIN_RATE_DIVISOR: f64 = 20.0;

#[derive(Debug)]
struct State {
    /// `None`: unlimited (no pacing).
    ceiling: Option<f64>,
    rate: f64,
    next_slot: Instant,
    last_update: Instant,
    last_decrease: Option<Instant>,
}

/// Paces sends of one instance. Shared by all tasks of all batches of a warm instance.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Pacer {
    /// A pacer that never waits (until a ceiling is set).
    pub fn unlimited() -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                ceiling: None,
                rate: f64::INFINITY,
                next_slot: now,
                last_update: now,
                last_decrease: None,
            }),
        }
    }

    /// A pacer at `ceiling` emails per second.
    pub fn with_ceiling(ceiling: f64) -> Self {
        let p = Self::unlimited();
        p.set_ceiling(Some(ceiling));
        p
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain numbers behind: keep using them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the ceiling (e.g. a fresh `GetAccount` answer). The current rate keeps its
    /// fraction of the ceiling, so an ongoing recovery continues.
    pub fn set_ceiling(&self, ceiling: Option<f64>) {
        let ceiling = ceiling.filter(|c| c.is_finite() && *c > 0.0);
        let mut s = self.lock();
        let now = Instant::now();
        recover(&mut s, now);
        match (s.ceiling, ceiling) {
            (_, None) => s.rate = f64::INFINITY,
            (Some(old), Some(new)) => {
                s.rate = (s.rate / old * new).clamp(new / MIN_RATE_DIVISOR, new)
            }
            (None, Some(new)) => s.rate = new,
        }
        s.ceiling = ceiling;
        s.last_update = now;
    }

    /// Current ceiling (`None` = unlimited).
    pub fn ceiling(&self) -> Option<f64> {
        self.lock().ceiling
    }

    /// Current rate in emails per second (`INFINITY` when unlimited).
    pub fn rate(&self) -> f64 {
        let mut s = self.lock();
        recover(&mut s, Instant::now());
        s.rate
    }

    /// Wait for the next send slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut s = self.lock();
            let now = Instant::now();
            recover(&mut s, now);
            if s.ceiling.is_none() {
                return;
            }
            let earliest = now.checked_sub(BURST).unwrap_or(now);
            let slot = s.next_slot.max(earliest);
            s.next_slot = slot + Duration::from_secs_f64(1.0 / s.rate);
            if slot <= now {
                return;
            }
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// SES throttled a send: decrease multiplicatively (once per window).
    pub fn on_throttle(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        let Some(ceiling) = s.ceiling else { return };
        recover(&mut s, now);
        if s.last_decrease
            .is_some_and(|t| now.saturating_duration_since(t) < DECREASE_WINDOW)
        {
            return;
        }
        s.rate = (s.rate * DECREASE_FACTOR).max(ceiling / MIN_RATE_DIVISOR);
        s.last_decrease = Some(now);
        s.last_update = now;
        // Nothing new goes out before one slot at the new rate.
        let gap = Duration::from_secs_f64(1.0 / s.rate);
        s.next_slot = s.next_slot.max(now + gap);
    }
}

fn recover(s: &mut State, now: Instant) {
    if let Some(ceiling) = s.ceiling
        && s.rate < ceiling
    {
        let dt = now.saturating_duration_since(s.last_update).as_secs_f64();
        s.rate = (s.rate + ceiling * RECOVERY_PER_SECOND * dt).min(ceiling);
    }
    s.last_update = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count_in(p: &Pacer, window: Duration) -> usize {
        let start = Instant::now();
        let mut n = 0;
        loop {
            p.acquire().await;
            if start.elapsed() >= window {
                return n;
            }
            n += 1;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn paces_to_the_ceiling() {
        let p = Pacer::with_ceiling(10.0);
        let n = count_in(&p, Duration::from_secs(10)).await;
        assert!((99..=101).contains(&n), "{n} sends in 10 s at 10/s");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_caught_up_only_up_to_the_burst() {
        let p = Pacer::with_ceiling(100.0);
        // A long idle period earns at most BURST × rate = 10 immediate sends (+1 due now).
        tokio::time::advance(Duration::from_secs(5)).await;
        let start = Instant::now();
        let mut immediate = 0;
        loop {
            p.acquire().await;
            if start.elapsed() > Duration::ZERO {
                break;
            }
            immediate += 1;
        }
        assert_eq!(
            immediate, 11,
            "sends without waiting after 5 s idle at 100/s"
        );
        // A 100 ms pause inside a stream costs nothing: 10 s at 100/s with the pause ≈ 1000.
        let p = Pacer::with_ceiling(100.0);
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < Duration::from_secs(10) {
            if n == 500 {
                tokio::time::advance(Duration::from_millis(100)).await;
            }
            p.acquire().await;
            n += 1;
        }
        assert!(
            (999..=1002).contains(&n),
            "{n} sends in 10 s at 100/s with a 100 ms pause"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_cancels_the_burst() {
        let p = Pacer::with_ceiling(100.0);
        tokio::time::advance(Duration::from_secs(1)).await;
        p.on_throttle(); // 50/s, next slot 20 ms out
        let start = Instant::now();
        p.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_millis(20),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let p = Pacer::unlimited();
        let start = Instant::now();
        for _ in 0..10_000 {
            p.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_halves_then_recovers_slowly() {
        let p = Pacer::with_ceiling(20.0);
        p.on_throttle();
        assert_eq!(p.rate(), 10.0);
        // further throttles inside the window are the same overload
        p.on_throttle();
        p.on_throttle();
        assert_eq!(p.rate(), 10.0);
        tokio::time::advance(Duration::from_secs(2)).await;
        // +5% of 20/s per second
        assert!((p.rate() - 12.0).abs() < 1e-9, "{}", p.rate());
        p.on_throttle();
        assert!((p.rate() - 6.0).abs() < 1e-9, "{}", p.rate());
        // halving never goes below ceiling / 20
        for _ in 0..20 {
            tokio::time::advance(DECREASE_WINDOW).await;
            p.on_throttle();
        }
        assert!(p.rate() >= 1.0 - 1e-9, "{}", p.rate());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(p.rate(), 20.0);
    }

    #[tokio::test(start_paused = true)]
    async fn sends_slow_down_after_a_throttle() {
        let p = Pacer::with_ceiling(10.0);
        p.on_throttle(); // 5/s, recovering 0.5/s per s
        let n = count_in(&p, Duration::from_secs(4)).await;
        // rate goes 5 -> 7 over 4 s: roughly 24 sends, well under the 40 at full rate
        assert!((20..=28).contains(&n), "{n}");
    }

    #[tokio::test(start_paused = true)]
    async fn new_ceiling_keeps_the_fraction() {
        let p = Pacer::with_ceiling(10.0);
        p.on_throttle();
        p.set_ceiling(Some(40.0));
        assert_eq!(p.rate(), 20.0);
        p.set_ceiling(None);
        assert!(p.rate().is_infinite());
    }
}
