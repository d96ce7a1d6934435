//! `GetAccount`: the account's `MaxSendRate` for the pacer and the numbers of the regime gate.
//!
//! Fetched at the start of a batch when the cached answer is older than `quota_cache` (rate
//! from the account) or when the closed account gate's probe is due. Each fetch tries up to
//! [`QUOTA_ATTEMPTS`] times with a jittered exponential backoff from [`QUOTA_BACKOFF`], never past
//! the last send start; every failed call counts in `quota_fetch_failures`. A failure keeps the
//! last good answer. If `GetAccount` has never answered and the rate comes from the account,
//! the batch is parked (`quota_unknown`) rather than paced at a guess.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::deadline::within;
use super::{BatchCtx, Inner, RateSource};
use crate::ports::{Mailer, PortSet, SendQuota};

/// `GetAccount` calls per fetch at most.
pub const QUOTA_ATTEMPTS: u32 = 3;
/// Backoff before the second attempt (doubled for each further one, × [0.5, 1] jitter).
pub const QUOTA_BACKOFF: Duration = Duration::from_millis(200);

/// The last good `GetAccount` answer and when it came.
#[derive(Debug, Default)]
pub(super) struct QuotaCache {
    pub(super) last: Option<SendQuota>,
    pub(super) fetched: Option<Instant>,
}

fn usable(q: &SendQuota) -> bool {
    q.max_send_rate.is_finite() && q.max_send_rate > 0.0
}

impl<P: PortSet> Inner<P> {
    /// Step 1 of a batch: set the pacer's rate (fixed, unlimited, or the account's), fetch
    /// `GetAccount` when stale or when a closed gate's probe is due. Returns whether the rate is
    /// known, i.e. whether records may be sent.
    pub(super) async fn refresh_quota(&self, ctx: &BatchCtx) -> bool {
        let s = &self.settings;
        match s.rate_source {
            RateSource::Unlimited => self.pacer.set_account_rate(None),
            RateSource::Fixed(r) => self.pacer.set_account_rate(Some(r)),
            RateSource::Account => {}
        }
        let stale = s.rate_source == RateSource::Account && {
            let q = self.quota.lock().unwrap_or_else(|e| e.into_inner());
            q.fetched.is_none_or(|t| t.elapsed() >= s.quota_cache)
        };
        let probe = self.gate.account_probe_due();
        if stale || probe {
            match self.fetch_quota(ctx).await {
                Some(q) => self.apply_quota(q),
                None if probe => self.gate.account_probe_failed(),
                None => {}
            }
        }
        s.rate_source != RateSource::Account || self.pacer.account_rate().is_some()
    }

    /// `GetAccount`, retried with backoff and jitter, never past the last send start. `None`
    /// when every attempt failed (each failure is counted in the batch's
    /// `quota_fetch_failures`).
    pub(super) async fn fetch_quota(&self, ctx: &BatchCtx) -> Option<SendQuota> {
        let limit = ctx.deadline.last_send_start();
        for attempt in 0..QUOTA_ATTEMPTS {
            if attempt > 0 {
                let backoff = QUOTA_BACKOFF
                    .saturating_mul(1 << (attempt - 1))
                    .mul_f64(0.5 + 0.5 * self.jitter());
                if limit.is_some_and(|l| Instant::now() + backoff >= l) {
                    break;
                }
                tokio::time::sleep(backoff).await;
            }
            if limit.is_some_and(|l| Instant::now() >= l) {
                break;
            }
            let failure = match within(limit, self.mailer.quota()).await {
                Some(Ok(q)) if usable(&q) => return Some(q),
                Some(Ok(q)) => format!("unusable MaxSendRate {}", q.max_send_rate),
                Some(Err(e)) => e.to_string(),
                None => "no answer before the last send start".to_string(),
            };
            ctx.quota_fetch_failures.fetch_add(1, Ordering::SeqCst);
            let last = self
                .quota
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .last
                .map(|q| q.max_send_rate);
            tracing::warn!(attempt = attempt + 1, of = QUOTA_ATTEMPTS, error = %failure,
                last_good_max_send_rate = ?last, "GetAccount failed");
        }
        None
    }

    /// A good `GetAccount` answer: the pacer's rate (when it comes from the account), the
    /// gate's numbers, the cache.
    pub(super) fn apply_quota(&self, q: SendQuota) {
        if self.settings.rate_source == RateSource::Account {
            if self.pacer.account_rate() != Some(q.max_send_rate) {
                tracing::info!(
                    max_send_rate = q.max_send_rate,
                    fleet_rate = self.settings.fleet_rate(q.max_send_rate),
                    "fleet rate from GetAccount"
                );
            }
            self.pacer.set_account_rate(Some(q.max_send_rate));
        }
        self.gate.apply_quota(&q);
        let mut c = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        c.last = Some(q);
        c.fetched = Some(Instant::now());
    }

    /// After a `SendingPausedException`: one `GetAccount` (not two at once) to tell an account
    /// pause (then the whole account parks) from a configuration set's.
    pub(super) async fn check_account(&self, ctx: &BatchCtx) {
        if !ctx.deadline.may_start_send() || !self.gate.start_account_check() {
            return;
        }
        if let Some(q) = self.fetch_quota(ctx).await {
            self.apply_quota(q);
        }
        self.gate.end_account_check();
    }
}
