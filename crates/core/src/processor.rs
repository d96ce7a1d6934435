//! The batch processor: one invocation's worth of records in, a partial batch response out.
//!
//! [`BatchProcessor::process`] runs one batch through named steps, each a method readable on
//! its own (the batch's bookkeeping is in `processor/steps.rs`, one record's claim and send in
//! `processor/send.rs`):
//!
//! 1. [refresh the quota](BatchProcessor::refresh_quota) (the pacing ceiling from `GetAccount`);
//! 2. validate every body;
//! 3. look up the customers of the valid records, once per batch (cached);
//! 4. compose each record's email, or settle it as an unknown customer / lookup failure;
//! 5. claim + paced send + record/release, per record, concurrently and bounded;
//! 6. write the dead letters, retrying the records whose write failed;
//! 7. settle every record's [`RecordOutcome`] and set the retried records' visibility delays.
//!
//! Every record ends as exactly one [`RecordOutcome`]; only retryable ones are returned in
//! `batch_item_failures`.

mod report;
mod send;
mod settings;
mod steps;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::cache::CachedCustomerStore;
use crate::model::{
    Customer, InboundRecord, MessageId, OutgoingEmail, SendRequest, UniqueCode, UserId,
};
use crate::pacer::Pacer;
use crate::ports::{
    Claim, ClaimToken, CustomerStore, DeadLetterSink, Ledger, Mailer, PortError, Recorded,
    VisibilityControl,
};

pub use report::{BatchOutcome, BatchReport, RecordOutcome, RetryCause};
pub use settings::{FALLBACK_MAX_SEND_RATE, ProcessorSettings, RateSource};
pub use steps::compose;

use steps::{Batch, RetryDelay};

/// A ledger for when idempotency is disabled: every claim succeeds, nothing is stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLedger;

impl Ledger for NoLedger {
    async fn claim(&self, _: &UniqueCode, _: Duration) -> Result<Claim, PortError> {
        Ok(Claim::Claimed(ClaimToken(String::new())))
    }
    async fn record_sent(
        &self,
        _: &UniqueCode,
        _: &ClaimToken,
        _: &MessageId,
    ) -> Result<Recorded, PortError> {
        Ok(Recorded::Owned)
    }
    async fn release(&self, _: &UniqueCode, _: &ClaimToken) -> Result<(), PortError> {
        Ok(())
    }
}

struct Inner<C, L, M, D, V> {
    customers: CachedCustomerStore<C>,
    ledger: L,
    mailer: M,
    dlq: D,
    visibility: V,
    settings: ProcessorSettings,
    pacer: Pacer,
    semaphore: Arc<Semaphore>,
    /// When the pacing ceiling was last set from `GetAccount`.
    quota_fetched: Mutex<Option<Instant>>,
    rng: Mutex<u64>,
}

/// The poller's logic, generic over the ports. Cheap to clone (shared state: pacer,
/// customer cache, quota cache), created once per warm instance.
pub struct BatchProcessor<C, L, M, D, V> {
    inner: Arc<Inner<C, L, M, D, V>>,
}

impl<C, L, M, D, V> Clone for BatchProcessor<C, L, M, D, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C, L, M, D, V> BatchProcessor<C, L, M, D, V>
where
    C: CustomerStore + 'static,
    L: Ledger + 'static,
    M: Mailer + 'static,
    D: DeadLetterSink + 'static,
    V: VisibilityControl + 'static,
{
    pub fn new(
        customers: C,
        ledger: L,
        mailer: M,
        dlq: D,
        visibility: V,
        settings: ProcessorSettings,
    ) -> Self {
        let pacer = match settings.rate_source {
            RateSource::Unlimited => Pacer::unlimited(),
            RateSource::Fixed(r) => Pacer::with_ceiling(settings.instance_share(r)),
            // until GetAccount answers (first batch), the sandbox rate
            RateSource::Account => {
                Pacer::with_ceiling(settings.instance_share(FALLBACK_MAX_SEND_RATE))
            }
        };
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            | 1;
        Self {
            inner: Arc::new(Inner {
                customers: CachedCustomerStore::new(
                    customers,
                    settings.customer_cache_capacity,
                    settings.customer_cache_ttl,
                ),
                ledger,
                mailer,
                dlq,
                visibility,
                semaphore: Arc::new(Semaphore::new(settings.send_concurrency.max(1))),
                settings,
                pacer,
                quota_fetched: Mutex::new(None),
                rng: Mutex::new(seed),
            }),
        }
    }

    pub fn settings(&self) -> &ProcessorSettings {
        &self.inner.settings
    }

    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    pub fn mailer(&self) -> &M {
        &self.inner.mailer
    }

    pub fn ledger(&self) -> &L {
        &self.inner.ledger
    }

    pub fn dead_letters(&self) -> &D {
        &self.inner.dlq
    }

    pub fn visibility(&self) -> &V {
        &self.inner.visibility
    }

    pub fn customers(&self) -> &CachedCustomerStore<C> {
        &self.inner.customers
    }

    /// Refresh the pacing ceiling from `GetAccount` when the cached answer is stale.
    pub async fn refresh_quota(&self) {
        let s = &self.inner.settings;
        if s.rate_source != RateSource::Account {
            return;
        }
        let stale = {
            let q = self
                .inner
                .quota_fetched
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            q.is_none_or(|t| t.elapsed() >= s.quota_cache)
        };
        if !stale {
            return;
        }
        match self.inner.mailer.quota().await {
            Ok(q) if q.max_send_rate > 0.0 && q.max_send_rate.is_finite() => {
                let share = s.instance_share(q.max_send_rate);
                self.inner.pacer.set_ceiling(Some(share));
                *self
                    .inner
                    .quota_fetched
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                tracing::debug!(
                    max_send_rate = q.max_send_rate,
                    instance_rate = share,
                    "pacing ceiling from GetAccount"
                );
            }
            Ok(q) => tracing::warn!(
                max_send_rate = q.max_send_rate,
                "GetAccount returned an unusable MaxSendRate; keeping the current pacing ceiling"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                ceiling = ?self.inner.pacer.ceiling(),
                "GetAccount failed; keeping the current pacing ceiling"
            ),
        }
    }

    fn jitter(&self) -> f64 {
        let mut x = self.inner.rng.lock().unwrap_or_else(|e| e.into_inner());
        // xorshift64*
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Process one batch. Never fails: every record ends as one outcome.
    pub async fn process(&self, records: Vec<InboundRecord>) -> BatchOutcome {
        let started = Instant::now();
        self.refresh_quota().await;
        let mut batch = Batch::new(&records);
        let valid = batch.validate(&self.inner.settings.policy);
        let customers = self.look_up_customers(&valid, &mut batch).await;
        let emails = batch.compose_emails(
            valid,
            customers.as_ref(),
            self.inner.settings.default_configuration_set.as_deref(),
        );
        self.claim_and_send(&mut batch, emails).await;
        self.write_dead_letters(&mut batch).await;
        let (mut outcome, delays) =
            batch.settle(|cause, receive_count| self.retry_delay(cause, receive_count));
        self.set_retry_delays(&delays).await;
        outcome.report.batch_duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        outcome
    }

    /// How long a retried record stays invisible: the maximum when the account cannot send,
    /// otherwise exponential in its receive count, jittered.
    fn retry_delay(&self, cause: &RetryCause, receive_count: u32) -> Duration {
        let s = &self.inner.settings;
        match cause {
            RetryCause::AccountPaused(_) => s.retry_max_delay,
            _ => s.retry_delay(receive_count, self.jitter()),
        }
    }

    /// One lookup of the valid records' distinct `user_id`s (cache first). `None`: the
    /// lookup failed, and every valid record will be retried.
    async fn look_up_customers(
        &self,
        valid: &[(usize, SendRequest)],
        batch: &mut Batch<'_>,
    ) -> Option<HashMap<UserId, Customer>> {
        if valid.is_empty() {
            return Some(HashMap::new());
        }
        let ids: Vec<UserId> = valid.iter().map(|(_, r)| r.user_id.clone()).collect();
        match self.inner.customers.get_counted(&ids).await {
            Ok((found, stats)) => {
                batch.report.customer_cache_hits = stats.hits;
                batch.report.customer_cache_misses = stats.misses;
                Some(found)
            }
            Err(e) => {
                tracing::warn!(error = %e, "customer lookup failed; retrying the batch's valid records");
                None
            }
        }
    }

    /// Claim and send every composed email: one task each, all at once; the semaphore inside
    /// `send_one` bounds how many are past the claim.
    async fn claim_and_send(&self, batch: &mut Batch<'_>, emails: Vec<(usize, OutgoingEmail)>) {
        let records = batch.records;
        let tasks = emails.into_iter().map(|(i, email)| {
            let inner = Arc::clone(&self.inner);
            let message_id = records[i].message_id.clone();
            let task = tokio::spawn(async move { inner.send_one(message_id, email).await });
            async move { (i, task.await) }
        });
        // Spawn every task before awaiting any of them.
        let tasks: Vec<_> = tasks.collect();
        for (i, joined) in join_all(tasks).await {
            batch.sent(i, joined);
        }
    }

    /// Write the batch's dead letters in one call; a record whose write failed is retried.
    async fn write_dead_letters(&self, batch: &mut Batch<'_>) {
        let letters = batch.dead_letters();
        if letters.is_empty() {
            return;
        }
        let failed = self.inner.dlq.send_batch(&letters).await;
        if !failed.is_empty() {
            tracing::warn!(
                count = failed.len(),
                "dead-letter writes failed; retrying those records"
            );
            batch.dead_letter_writes_failed(&failed);
        }
    }

    /// `ChangeMessageVisibility` of every retried record, concurrently. Best effort: on
    /// error the queue's own visibility timeout applies.
    async fn set_retry_delays(&self, delays: &[RetryDelay<'_>]) {
        let vis = &self.inner.visibility;
        join_all(delays.iter().map(|d| async move {
            if let Err(e) = vis.delay(d.receipt_handle, d.delay).await {
                tracing::warn!(message_id = %d.message_id, error = %e, "could not set the retry delay; the queue's visibility timeout applies");
            }
        }))
        .await;
    }
}
