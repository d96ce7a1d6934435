//! Fleet pacing: send slots from the fleet's shared [`SendSchedule`], AIMD per instance on top.
//!
//! The whole fleet sends at `R = MaxSendRate × target_utilisation` (not a share per instance):
//! every instance reserves its send slots, `1/R` apart, from one schedule (a DynamoDB item on
//! AWS, a SQLite row locally), so that N instances never meet in SES's one-second bucket
//! whatever their number and phase.
//!
//! - **Blocks.** One reservation takes `round(R × BLOCK)` consecutive slots (at least 1, at most
//!   the number of sends of the batch still without a slot), so a fast fleet writes the store
//!   once per [`BLOCK`] of sending rather than once per email, and a batch's end wastes none; the
//!   slots an instance holds but has not used yet stay in its *pool* for its next sends.
//! - **Deadline.** A reservation passes `max_wait` = the time left until the latest send start the
//!   caller allows: a slot past the invocation's deadline is never reserved ([`Slot::TooLate`]).
//! - **Burst rule.** SES refills a bucket holding one second of `MaxSendRate` (`C` tokens). A
//!   schedule that was idle may hand out slots up to `burst` in the past, which lets up to
//!   `burst × R` sends run ahead of the steady spacing; the bucket absorbs them only if
//!   `burst × R ≤ C − 1` (one token is what the next send on time needs). [`burst`] keeps half of
//!   that depth for arrival jitter and caps it at [`MAX_BURST`]:
//!   `burst = min(MAX_BURST, (C − 1) / (2R))` — zero at 1/s (the sandbox: a catch-up send there
//!   lands in the next instance's slot), 100 ms from about 1.3/s up.
//! - **AIMD per instance.** A throttle halves the rate at which *this* instance reserves (its
//!   slots are `1/(R × f)` apart, `f` its fraction, halved at most once per [`DECREASE_WINDOW`],
//!   never below `1/MIN_RATE_DIVISOR`), empties its pool, and `f` recovers by
//!   [`RECOVERY_PER_SECOND`] per second. Since the schedule is shared, the fleet slows while the
//!   throttled instance's reservations are wider.
//! - **Fallback.** If the schedule cannot be reached, the instance paces alone at its share
//!   `R × f / maximum_concurrency` (a per-instance token bucket with the same burst rule), logs
//!   it, counts it ([`Slot::At::fallback`]) and tries the schedule again after
//!   [`SCHEDULE_RETRY`]. Sending never stops silently.
//!
//! Time is `tokio::time`, so tests run with paused time.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::ports::{Reservation, SendSchedule};
use crate::processor::within;

/// The name of the fleet's send schedule in the control store (one per deployment: its instances
/// share one SES account's rate).
pub const SEND_SCHEDULE: &str = "ses-send";

/// One reservation covers about this much of the fleet's sending.
pub const BLOCK: Duration = Duration::from_millis(50);
/// The largest catch-up a reservation may take after an idle spell (see [`burst`]).
pub const MAX_BURST: Duration = Duration::from_millis(100);
/// Fraction of the full rate regained per second after a decrease (20 s from 0 to full).
pub const RECOVERY_PER_SECOND: f64 = 0.05;
/// Multiplicative decrease factor on throttling.
pub const DECREASE_FACTOR: f64 = 0.5;
/// Throttles within this window of a decrease do not decrease again.
pub const DECREASE_WINDOW: Duration = Duration::from_secs(1);
/// The fraction never drops below 1 / this.
pub const MIN_RATE_DIVISOR: f64 = 20.0;
/// While the schedule fails, it is tried again at most this often.
pub const SCHEDULE_RETRY: Duration = Duration::from_secs(1);
/// The `max_wait` of a reservation when the invocation has no deadline.
pub const NO_DEADLINE_WAIT: Duration = Duration::from_secs(3600);

/// The catch-up a reservation may take: `min(MAX_BURST, (account_rate − 1) / (2 × fleet_rate))`,
/// never negative (see the module documentation).
pub fn burst(account_rate: f64, fleet_rate: f64) -> Duration {
    if !(account_rate.is_finite() && fleet_rate.is_finite() && fleet_rate > 0.0) {
        return Duration::ZERO;
    }
    let s = ((account_rate - 1.0) / (2.0 * fleet_rate)).max(0.0);
    Duration::from_secs_f64(s).min(MAX_BURST)
}

/// Slots one reservation takes at `rate` emails/s when `wanted` sends still need one:
/// `round(rate × BLOCK)`, at least 1, at most `wanted`.
pub fn block_tokens(rate: f64, wanted: usize) -> u32 {
    let k = (rate * BLOCK.as_secs_f64()).round();
    let k = if k.is_finite() && k >= 1.0 {
        k.min(f64::from(u32::MAX)) as u32
    } else {
        1
    };
    k.min(u32::try_from(wanted.max(1)).unwrap_or(u32::MAX))
}

/// The terms of one reservation: this instance's rate and slot interval, the burst, and
/// whether the shared schedule is to be asked (not while it is in its retry pause).
struct Terms {
    rate: f64,
    interval: Duration,
    burst: Duration,
    retry_schedule: bool,
}

impl Terms {
    /// `tokens` slots at these terms, the first no more than `max_wait` away.
    fn request(&self, tokens: u32, max_wait: Duration) -> Reservation {
        Reservation {
            tokens,
            interval: self.interval,
            burst: self.burst,
            max_wait,
        }
    }
}

/// What [`Pacer::acquire`] granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Send at `at` (now or later). `fallback`: the schedule could not be reached and the
    /// instance paced alone.
    At { at: Instant, fallback: bool },
    /// No slot before the latest start the caller allows.
    TooLate,
}

impl Slot {
    /// Send at `at`, paced with the fleet (not the fallback).
    fn at(at: Instant) -> Self {
        Slot::At {
            at,
            fallback: false,
        }
    }
}

#[derive(Debug)]
struct State {
    /// The account's `MaxSendRate`; `None` = unlimited (no pacing).
    account_rate: Option<f64>,
    /// AIMD fraction of the fleet rate this instance reserves at, in `[1/20, 1]`.
    fraction: f64,
    last_update: Instant,
    last_decrease: Option<Instant>,
    /// Slots reserved and not used yet, earliest first.
    pool: VecDeque<Instant>,
    /// Next slot of the per-instance schedule used while the shared one fails.
    local_next: Instant,
    /// `Some(t)`: the shared schedule failed; it is tried again from `t` on.
    schedule_retry_at: Option<Instant>,
}

/// Paces the sends of one instance. Shared by all tasks of all batches of a warm instance.
#[derive(Debug)]
pub struct Pacer {
    target_utilisation: f64,
    maximum_concurrency: u32,
    state: Mutex<State>,
    /// One reservation at a time per instance (the others take from the pool it fills).
    reserving: tokio::sync::Mutex<()>,
}

/// Decrements the batch's count of sends without a slot when an `acquire` ends.
struct Wanted<'a>(&'a AtomicUsize);

impl Drop for Wanted<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}

impl Pacer {
    /// A pacer that never waits until [`set_account_rate`](Self::set_account_rate) gives it a
    /// rate. `maximum_concurrency` only sets the share used while the schedule fails.
    pub fn new(target_utilisation: f64, maximum_concurrency: u32) -> Self {
        let now = Instant::now();
        Self {
            target_utilisation: if target_utilisation.is_finite() && target_utilisation > 0.0 {
                target_utilisation.min(1.0)
            } else {
                1.0
            },
            maximum_concurrency: maximum_concurrency.max(1),
            state: Mutex::new(State {
                account_rate: None,
                fraction: 1.0,
                last_update: now,
                last_decrease: None,
                pool: VecDeque::new(),
                local_next: now,
                schedule_retry_at: None,
            }),
            reserving: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain numbers behind: keep using them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Set the account's `MaxSendRate` (`None`: unlimited). Unusable values (≤ 0, not finite)
    /// are ignored. The AIMD fraction is kept, so an ongoing recovery continues.
    pub fn set_account_rate(&self, rate: Option<f64>) {
        let mut s = self.lock();
        match rate {
            None => s.account_rate = None,
            Some(r) if r.is_finite() && r > 0.0 => s.account_rate = Some(r),
            Some(_) => {}
        }
    }

    /// The account's `MaxSendRate` the pacer uses (`None` = unlimited).
    pub fn account_rate(&self) -> Option<f64> {
        self.lock().account_rate
    }

    /// The fleet's rate, `MaxSendRate × target_utilisation` (`INFINITY` when unlimited).
    pub fn fleet_rate(&self) -> f64 {
        self.lock()
            .account_rate
            .map_or(f64::INFINITY, |r| r * self.target_utilisation)
    }

    /// The rate this instance reserves at: the fleet rate × its AIMD fraction.
    pub fn rate(&self) -> f64 {
        let mut s = self.lock();
        recover(&mut s, Instant::now());
        s.account_rate
            .map_or(f64::INFINITY, |r| r * self.target_utilisation * s.fraction)
    }

    /// The catch-up allowed at the current account rate ([`burst`]).
    pub fn burst(&self) -> Duration {
        let s = self.lock();
        s.account_rate
            .map_or(Duration::ZERO, |r| burst(r, r * self.target_utilisation))
    }

    /// Whether the instance paces alone because the schedule failed.
    pub fn in_fallback(&self) -> bool {
        self.lock().schedule_retry_at.is_some()
    }

    /// A send slot no later than `latest` (`None`: no limit): from the pool, else from a new
    /// reservation on `schedule`, else (schedule unreachable) from the per-instance fallback.
    /// `wanted` counts the sends of the batch that still need a slot, this one included: a
    /// reservation takes no more, and `acquire` decrements it when it ends, however it ends.
    pub async fn acquire<S: SendSchedule>(
        &self,
        schedule: &S,
        latest: Option<Instant>,
        wanted: &AtomicUsize,
    ) -> Slot {
        let _wanted = Wanted(wanted);
        if let Some(slot) = self.pooled(latest) {
            return slot;
        }
        let Some(_reserving) = self.lock_reserving(latest).await else {
            return Slot::TooLate;
        };
        // Another task may have filled the pool while this one waited for the lock.
        if let Some(slot) = self.pooled(latest) {
            return slot;
        }
        let now = Instant::now();
        let Some(p) = self.reservation_terms(now) else {
            return Slot::at(now);
        };
        let interval = p.interval;
        let tokens = block_tokens(p.rate, wanted.load(Ordering::SeqCst));
        if !p.retry_schedule {
            return self.local_slot(now, latest);
        }
        let max_wait = latest.map_or(NO_DEADLINE_WAIT, |l| l.saturating_duration_since(now));
        let request = p.request(tokens, max_wait);
        self.reserve_on(
            (schedule, request),
            (now, latest),
            |first| {
                let mut s = self.lock();
                for i in 1..tokens {
                    s.pool.push_back(first + interval * i);
                }
                first
            },
            || self.local_slot(Instant::now(), latest),
        )
        .await
    }

    /// `request` made on `schedule`, its answer as a slot: too late when the schedule has no slot before
    /// `latest` (or did not answer in time); at `at(first)` for the reserved block whose first
    /// slot is `first` (the wait counts from the answer, a store round trip after `now`); the
    /// instance's own pacing (`local()`) when the schedule failed.
    async fn reserve_on<S: SendSchedule>(
        &self,
        (schedule, request): (&S, Reservation),
        (now, latest): (Instant, Option<Instant>),
        at: impl FnOnce(Instant) -> Instant,
        local: impl FnOnce() -> Slot,
    ) -> Slot {
        match within(latest, schedule.reserve(request)).await {
            None => Slot::TooLate,
            Some(Ok(None)) => {
                self.schedule_answered();
                Slot::TooLate
            }
            Some(Ok(Some(wait))) => {
                self.schedule_answered();
                Slot::at(at(Instant::now() + wait))
            }
            Some(Err(e)) => {
                self.schedule_failed(now, &e);
                local()
            }
        }
    }

    /// `tokens` consecutive slots in one reservation, for one call that sends that many emails
    /// at once (`SendBulkEmail`, whose entries SES counts one token each). The answer is the
    /// block's **last** slot: by then SES's bucket has refilled every token of the block, and
    /// since the block is contiguous in the fleet's schedule no other send of the fleet took
    /// them meanwhile. The caller keeps `tokens` within the bucket (the account's rate).
    /// Slots pooled by [`acquire`](Self::acquire) are not used. Unpaced: now.
    pub async fn acquire_block<S: SendSchedule>(
        &self,
        schedule: &S,
        tokens: u32,
        latest: Option<Instant>,
    ) -> Slot {
        let tokens = tokens.max(1);
        let Some(_reserving) = self.lock_reserving(latest).await else {
            return Slot::TooLate;
        };
        let now = Instant::now();
        let Some(p) = self.reservation_terms(now) else {
            return Slot::at(now);
        };
        if !p.retry_schedule {
            return self.local_block(now, tokens, latest);
        }
        let span = p.interval * (tokens - 1);
        // the last slot, not the first, must be before `latest`
        let max_wait = latest.map_or(NO_DEADLINE_WAIT, |l| {
            l.saturating_duration_since(now).saturating_sub(span)
        });
        self.reserve_on(
            (schedule, p.request(tokens, max_wait)),
            (now, latest),
            |first| first + span,
            || self.local_block(Instant::now(), tokens, latest),
        )
        .await
    }

    /// The instance's lock on reserving, waited for no later than `latest` (`None`: too late).
    async fn lock_reserving(
        &self,
        latest: Option<Instant>,
    ) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        within(latest, self.reserving.lock()).await
    }

    /// What a reservation made `now` asks for; `None` when unpaced.
    fn reservation_terms(&self, now: Instant) -> Option<Terms> {
        let mut s = self.lock();
        recover(&mut s, now);
        let account = s.account_rate?;
        let rate = account * self.target_utilisation * s.fraction;
        Some(Terms {
            rate,
            interval: Duration::from_secs_f64(1.0 / rate),
            burst: burst(account, account * self.target_utilisation),
            retry_schedule: s.schedule_retry_at.is_none_or(|t| now >= t),
        })
    }

    /// The schedule failed: pace alone until [`SCHEDULE_RETRY`] from `now` (logged once).
    fn schedule_failed(&self, now: Instant, e: &crate::ports::PortError) {
        let retry_at = now + SCHEDULE_RETRY;
        let was = self.lock().schedule_retry_at.replace(retry_at);
        if was.is_none() {
            tracing::warn!(error = %e, share = 1.0 / f64::from(self.maximum_concurrency),
                "send schedule unreachable; pacing this instance alone at its share of the fleet rate");
        }
    }

    fn schedule_answered(&self) {
        if self.lock().schedule_retry_at.take().is_some() {
            tracing::info!("send schedule reachable again; pacing with the fleet");
        }
    }

    /// The earliest pooled slot still usable (not more than the burst in the past), or
    /// `TooLate` when even that one is past `latest`; `None` when the pool is empty. Unpaced:
    /// always now.
    fn pooled(&self, latest: Option<Instant>) -> Option<Slot> {
        let now = Instant::now();
        let mut s = self.lock();
        recover(&mut s, now);
        let Some(account) = s.account_rate else {
            return Some(Slot::at(now));
        };
        let b = burst(account, account * self.target_utilisation);
        let oldest = now.checked_sub(b).unwrap_or(now);
        while s.pool.front().is_some_and(|t| *t < oldest) {
            s.pool.pop_front();
        }
        let first = *s.pool.front()?;
        if latest.is_some_and(|l| first > l) {
            return Some(Slot::TooLate);
        }
        s.pool.pop_front();
        Some(Slot::at(first))
    }

    /// A slot of the per-instance fallback schedule: the instance's share of the fleet rate.
    fn local_slot(&self, now: Instant, latest: Option<Instant>) -> Slot {
        self.local_block(now, 1, latest)
    }

    /// `tokens` consecutive slots of the per-instance fallback schedule; the answer is the last.
    fn local_block(&self, now: Instant, tokens: u32, latest: Option<Instant>) -> Slot {
        let mut s = self.lock();
        recover(&mut s, now);
        let Some(account) = s.account_rate else {
            return Slot::At {
                at: now,
                fallback: true,
            };
        };
        let fleet = account * self.target_utilisation;
        let share = fleet * s.fraction / f64::from(self.maximum_concurrency);
        let b = burst(account, fleet);
        let first = s.local_next.max(now.checked_sub(b).unwrap_or(now));
        let interval = Duration::from_secs_f64(1.0 / share);
        let last = first + interval * (tokens.max(1) - 1);
        if latest.is_some_and(|l| last > l) {
            return Slot::TooLate;
        }
        s.local_next = last + interval;
        Slot::At {
            at: last,
            fallback: true,
        }
    }

    /// Give back a slot the caller could not use (e.g. the claim found the code in flight): the
    /// next send of this instance may take it.
    pub fn give_back(&self, slot: Instant) {
        let mut s = self.lock();
        if s.account_rate.is_none() || slot < Instant::now() {
            return;
        }
        let at = s.pool.partition_point(|t| *t <= slot);
        s.pool.insert(at, slot);
    }

    /// SES throttled a send: halve this instance's rate (once per window) and drop the slots
    /// it holds, so nothing more goes out before one slot at the new rate.
    pub fn on_throttle(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        let Some(account) = s.account_rate else {
            return;
        };
        recover(&mut s, now);
        if s.last_decrease
            .is_some_and(|t| now.saturating_duration_since(t) < DECREASE_WINDOW)
        {
            return;
        }
        s.fraction = (s.fraction * DECREASE_FACTOR).max(1.0 / MIN_RATE_DIVISOR);
        s.last_decrease = Some(now);
        s.last_update = now;
        s.pool.clear();
        let share =
            account * self.target_utilisation * s.fraction / f64::from(self.maximum_concurrency);
        s.local_next = s.local_next.max(now + Duration::from_secs_f64(1.0 / share));
    }
}

fn recover(s: &mut State, now: Instant) {
    if s.fraction < 1.0 {
        let dt = now.saturating_duration_since(s.last_update).as_secs_f64();
        s.fraction = (s.fraction + RECOVERY_PER_SECOND * dt).min(1.0);
    }
    s.last_update = now;
}

#[cfg(test)]
mod tests;
