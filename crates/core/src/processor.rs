//! The batch processor: one invocation's worth of records in, a partial batch response out.
//!
//! [`BatchProcessor::process`] runs one batch through named steps, each a method readable on
//! its own (the batch's bookkeeping is in `processor/steps.rs`, one record's task in
//! `processor/send.rs`, `GetAccount` in `processor/quota.rs`, the regime gate in
//! `processor/gate.rs`, the deadline's limits in `processor/deadline.rs`):
//!
//! 1. [refresh the quota](Inner::refresh_quota): the account's rate and the gate's numbers
//!    from `GetAccount` (cached; retried; a closed gate probed);
//! 2. validate every body;
//! 3. park the valid records at once if nothing can be sent: the rate was never known
//!    (`quota_unknown`), the account's gate is closed (`daily_quota`, `sending_paused`), or the
//!    deadline is too close (`deadline`);
//! 4. the campaign step: read the states of the batch's campaigns (once, cached for
//!    [`CAMPAIGN_STATE_CACHE`]); park the records of paused campaigns (`campaign_paused`) and
//!    set aside those of cancelled ones (`processor/campaigns.rs`);
//! 5. look up the customers of the valid records, once per batch (cached);
//! 6. compose each record's email, or settle it as an unknown customer / lookup failure;
//! 7. per record, concurrently and bounded: gate → send slot → campaign re-check → claim → send
//!    → record/release; the records a task parks are written in small groups while the others
//!    still send;
//! 8. record the cancelled records, write the dead letters and the remaining parks, retrying
//!    the records whose write failed;
//! 9. settle every record's [`RecordOutcome`] and set the retried records' visibility delays.
//!
//! Every record ends as exactly one [`RecordOutcome`]; only retryable ones are returned in
//! `batch_item_failures`. Nothing runs past the invocation's deadline (see [`Deadline`]).

mod bulk;
mod campaigns;
mod deadline;
mod gate;
mod quota;
mod report;
mod send;
mod settings;
mod steps;

use crate::ports::Held;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::cache::CachedCustomerStore;
use crate::model::{
    Customer, InboundRecord, MessageId, OutgoingEmail, ParkReason, SendRequest, UniqueCode, UserId,
};
use crate::pacer::Pacer;
use crate::ports::{
    Claim, ClaimToken, DeadLetterSink, Ledger, Parking, PortError, PortSet, Recorded,
    VisibilityControl,
};

pub use bulk::entries_per_call;
pub use campaigns::CAMPAIGN_STATE_CACHE;
pub use deadline::{
    DEADLINE_RESERVE, Deadline, FINISH_MARGIN, SEND_END_MARGIN, deadline_from_epoch_ms,
};
pub use report::{BatchOutcome, BatchReport, RecordOutcome, RetryCause};
pub use settings::{ProcessorSettings, RateSource, SendApi};
pub use steps::compose;

use campaigns::CampaignStates;
pub(crate) use deadline::within;
use gate::Gate;
use quota::QuotaCache;
use send::RecordMeta;
use steps::{Batch, RetryDelay};

/// How long a parked record waits before its park is written, so that the parks of records
/// refused at nearly the same time (e.g. every slot past the deadline) share one call.
pub const PARK_LINGER: Duration = Duration::from_millis(200);

/// The longest a record of a paused campaign waits between two looks at its campaign's state:
/// an operator who resumes expects sending to restart within a minute, not after the 15 minutes
/// SES's own pauses may wait (the price: one SQS write per parked record per minute of pause).
pub const CAMPAIGN_PAUSED_MAX_DELAY: Duration = Duration::from_secs(60);

/// A ledger for when idempotency is disabled: every claim succeeds, nothing is stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLedger;

impl Ledger for NoLedger {
    async fn claim(&self, _: &UniqueCode, _: Duration) -> Result<Claim, PortError> {
        Ok(Claim::Claimed(ClaimToken(String::new())))
    }
    async fn record_sent(&self, _: Held<'_>, _: &MessageId) -> Result<Recorded, PortError> {
        Ok(Recorded::Owned)
    }
    async fn release(&self, _: Held<'_>) -> Result<(), PortError> {
        Ok(())
    }
    async fn extend(&self, _: Held<'_>, _: Duration) -> Result<bool, PortError> {
        Ok(true)
    }
}

struct Inner<P: PortSet> {
    customers: CachedCustomerStore<P::Customers>,
    ledger: P::Ledger,
    mailer: P::Mailer,
    dlq: P::DeadLetters,
    visibility: P::Visibility,
    parking: P::Parking,
    schedule: P::Schedule,
    campaigns: CampaignStates<P::Campaigns>,
    settings: ProcessorSettings,
    pacer: Pacer,
    gate: Gate,
    quota: Mutex<QuotaCache>,
    semaphore: Arc<Semaphore>,
    rng: Mutex<u64>,
}

/// What the tasks of one batch share.
struct BatchCtx {
    deadline: Deadline,
    /// SES answered `AccountSuspendedException`: no more calls in this batch.
    suspended: AtomicBool,
    quota_fetch_failures: AtomicUsize,
    /// Records of the batch that may still need a send slot (the pacer reserves no more).
    unslotted: AtomicUsize,
}

impl BatchCtx {
    /// A record left before asking the pacer for a slot.
    fn no_slot_needed(&self) {
        let _ = self
            .unslotted
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}

/// The poller's logic over a set of [`Ports`](crate::Ports). Cheap to clone (shared state:
/// pacer, gate, customer cache, quota cache), created once per warm instance.
pub struct BatchProcessor<P: PortSet> {
    inner: Arc<Inner<P>>,
}

impl<P: PortSet> Clone for BatchProcessor<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P: PortSet> BatchProcessor<P> {
    pub fn new(ports: P, settings: ProcessorSettings) -> Self {
        let p = ports.into_ports();
        let pacer = Pacer::new(settings.target_utilisation, settings.maximum_concurrency);
        match settings.rate_source {
            RateSource::Fixed(r) => pacer.set_account_rate(Some(r)),
            RateSource::Unlimited | RateSource::Account => pacer.set_account_rate(None),
        }
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            | 1;
        Self {
            inner: Arc::new(Inner {
                customers: CachedCustomerStore::new(
                    p.customers,
                    settings.customer_cache_capacity,
                    settings.customer_cache_ttl,
                ),
                ledger: p.ledger,
                mailer: p.mailer,
                dlq: p.dead_letters,
                visibility: p.visibility,
                parking: p.parking,
                schedule: p.schedule,
                campaigns: CampaignStates::new(p.campaigns, settings.campaign_state_cache),
                semaphore: Arc::new(Semaphore::new(settings.send_concurrency.max(1))),
                gate: Gate::new(settings.park_base_delay),
                quota: Mutex::new(QuotaCache::default()),
                settings,
                pacer,
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

    pub fn mailer(&self) -> &P::Mailer {
        &self.inner.mailer
    }

    pub fn ledger(&self) -> &P::Ledger {
        &self.inner.ledger
    }

    pub fn dead_letters(&self) -> &P::DeadLetters {
        &self.inner.dlq
    }

    pub fn visibility(&self) -> &P::Visibility {
        &self.inner.visibility
    }

    pub fn parking(&self) -> &P::Parking {
        &self.inner.parking
    }

    pub fn schedule(&self) -> &P::Schedule {
        &self.inner.schedule
    }

    pub fn campaigns(&self) -> &P::Campaigns {
        self.inner.campaigns.control()
    }

    pub fn customers(&self) -> &CachedCustomerStore<P::Customers> {
        &self.inner.customers
    }

    /// Why this instance does not call SES for the whole account now, if it does not.
    pub fn account_gate(&self) -> Option<ParkReason> {
        self.inner.gate.account_closed()
    }

    /// Process one batch before `deadline` (`None`: no deadline). Never fails: every record
    /// ends as one outcome.
    pub async fn process(
        &self,
        records: Vec<InboundRecord>,
        deadline: Option<Instant>,
    ) -> BatchOutcome {
        let started = Instant::now();
        let inner = &self.inner;
        let ctx = Arc::new(BatchCtx {
            deadline: Deadline(deadline),
            suspended: AtomicBool::new(false),
            quota_fetch_failures: AtomicUsize::new(0),
            unslotted: AtomicUsize::new(0),
        });
        let mut batch = Batch::new(&records);
        let rate_known = inner.refresh_quota(&ctx).await;
        let valid = batch.validate(&inner.settings.policy);
        let valid = self.park_if_nothing_can_be_sent(valid, rate_known, &ctx, &mut batch);
        let valid = self.steer_campaigns(valid, &ctx, &mut batch).await;
        let customers = self.look_up_customers(&valid, &ctx, &mut batch).await;
        let emails = batch.compose_emails(
            valid,
            customers.as_ref(),
            inner.settings.default_configuration_set.as_deref(),
        );
        self.claim_and_send(&mut batch, emails, &ctx).await;
        self.write_cancelled(&mut batch, ctx.deadline.finish())
            .await;
        self.write_dead_letters_and_parks(&mut batch, ctx.deadline.finish())
            .await;
        batch.report.quota_fetch_failures = ctx.quota_fetch_failures.load(Ordering::SeqCst);
        let (mut outcome, delays) = batch
            .settle(|_, receive_count| inner.settings.retry_delay(receive_count, inner.jitter()));
        self.set_retry_delays(&delays, ctx.deadline.finish()).await;
        outcome.report.batch_duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        outcome
    }

    /// Step 3: when no record of the batch can be sent, park every valid one now (no lookup, no
    /// slot, no claim). Returns the records still to send.
    fn park_if_nothing_can_be_sent(
        &self,
        valid: Vec<(usize, SendRequest)>,
        rate_known: bool,
        ctx: &BatchCtx,
        batch: &mut Batch<'_>,
    ) -> Vec<(usize, SendRequest)> {
        let reason = if !rate_known {
            tracing::warn!(
                records = valid.len(),
                "GetAccount has never answered: the account's rate is unknown; parking the batch"
            );
            ParkReason::QuotaUnknown
        } else if let Some(r) = self.inner.gate.account_closed() {
            r
        } else if !ctx.deadline.may_start_send() {
            ParkReason::Deadline
        } else {
            return valid;
        };
        let inner = &self.inner;
        batch.park_all(valid.iter().map(|(i, _)| *i), reason, |park_count| {
            inner.park_delay(reason, park_count, None)
        });
        Vec::new()
    }

    /// Step 5: one lookup of the valid records' distinct `user_id`s (cache first), bounded by
    /// the last send start. `None`: the lookup failed, and every valid record will be retried;
    /// a lookup the deadline cut parks them (`deadline`).
    async fn look_up_customers(
        &self,
        valid: &[(usize, SendRequest)],
        ctx: &BatchCtx,
        batch: &mut Batch<'_>,
    ) -> Option<HashMap<UserId, Customer>> {
        if valid.is_empty() {
            return Some(HashMap::new());
        }
        let ids: Vec<UserId> = valid.iter().map(|(_, r)| r.user_id.clone()).collect();
        let limit = ctx.deadline.last_send_start();
        match within(limit, self.inner.customers.get_counted(&ids)).await {
            Some(Ok((found, stats))) => {
                batch.report.customer_cache_hits = stats.hits;
                batch.report.customer_cache_misses = stats.misses;
                Some(found)
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "customer lookup failed; retrying the batch's valid records");
                None
            }
            None => {
                tracing::warn!(
                    records = valid.len(),
                    "customer lookup still running at the last send start; parking the batch"
                );
                let inner = &self.inner;
                batch.park_all(valid.iter().map(|(i, _)| *i), ParkReason::Deadline, |n| {
                    inner.park_delay(ParkReason::Deadline, n, None)
                });
                Some(HashMap::new())
            }
        }
    }

    /// Step 7: one task per composed email (`send_api = single`) or per `SendBulkEmail` call
    /// (`bulk`, see `processor/bulk.rs`), all spawned at once (the semaphore inside bounds how
    /// many hold a slot). Records a task parks are written after [`PARK_LINGER`], so that
    /// another instance can take them while this batch still sends. A task still running at the
    /// batch's finish limit is abandoned and its records retried.
    async fn claim_and_send(
        &self,
        batch: &mut Batch<'_>,
        emails: Vec<(usize, OutgoingEmail)>,
        ctx: &Arc<BatchCtx>,
    ) {
        let finish = ctx.deadline.finish();
        ctx.unslotted.store(emails.len(), Ordering::SeqCst);
        let meta = |i: usize| {
            let r = &batch.records[i];
            RecordMeta {
                message_id: r.message_id.clone(),
                park_count: r.park_count,
            }
        };
        // (record indices, the task answering one result per index)
        let mut units = Vec::new();
        match self.inner.settings.send_api {
            SendApi::Single => {
                for (i, email) in emails {
                    let (inner, ctx, meta) = (Arc::clone(&self.inner), Arc::clone(ctx), meta(i));
                    let task =
                        tokio::spawn(async move { vec![inner.send_one(meta, email, &ctx).await] });
                    units.push((vec![i], task));
                }
            }
            SendApi::Bulk => {
                let per_call = bulk::entries_per_call(self.inner.pacer.fleet_rate());
                for call in bulk::calls(emails, per_call) {
                    let (indices, emails): (Vec<usize>, Vec<OutgoingEmail>) =
                        call.into_iter().unzip();
                    let metas = indices.iter().map(|&i| meta(i)).collect();
                    let (inner, ctx) = (Arc::clone(&self.inner), Arc::clone(ctx));
                    let task =
                        tokio::spawn(async move { inner.send_call(metas, emails, &ctx).await });
                    units.push((indices, task));
                }
            }
        }
        let mut running = Vec::with_capacity(units.len());
        let mut tasks = FuturesUnordered::new();
        for (u, (indices, handle)) in units.into_iter().enumerate() {
            running.push((u, indices.clone(), handle.abort_handle()));
            tasks.push(async move { (u, indices, handle.await) });
        }
        let mut pending: Vec<usize> = Vec::new();
        let mut flush_at: Option<Instant> = None;
        enum Event<T> {
            Done(usize, Vec<usize>, T),
            AllDone,
            Flush,
            Finish,
        }
        loop {
            let event = tokio::select! {
                next = tasks.next() => match next {
                    Some((u, indices, joined)) => Event::Done(u, indices, joined),
                    None => Event::AllDone,
                },
                _ = sleep_until_opt(flush_at) => Event::Flush,
                _ = sleep_until_opt(finish) => Event::Finish,
            };
            match event {
                Event::Done(u, indices, joined) => {
                    running.retain(|(v, _, _)| *v != u);
                    batch.unit_done(&indices, joined);
                    for i in indices {
                        if batch.is_unwritten_park(i) {
                            pending.push(i);
                            flush_at.get_or_insert(Instant::now() + PARK_LINGER);
                        }
                    }
                }
                Event::AllDone => break,
                Event::Flush => {
                    flush_at = None;
                    let indices = std::mem::take(&mut pending);
                    self.write_parks(batch, Some(&indices), finish).await;
                }
                Event::Finish => {
                    for (_, indices, abort) in running.drain(..) {
                        abort.abort();
                        for i in indices {
                            batch.unfinished(i);
                        }
                    }
                    break;
                }
            }
        }
    }

    /// Park the records of `indices` (all waiting ones when `None`) in one call, bounded by
    /// `limit`; those whose park failed are retried with the park's delay.
    async fn write_parks(
        &self,
        batch: &mut Batch<'_>,
        indices: Option<&[usize]>,
        limit: Option<Instant>,
    ) {
        let (indices, parked): (Vec<usize>, Vec<_>) = batch.parks(indices).into_iter().unzip();
        if parked.is_empty() {
            return;
        }
        let failed = within(limit, self.inner.parking.park(&parked))
            .await
            .unwrap_or_else(|| parked.iter().map(|p| p.source_message_id.clone()).collect());
        if !failed.is_empty() {
            tracing::warn!(
                count = failed.len(),
                "parks failed; returning those records as batch item failures with the park delay"
            );
        }
        batch.parks_done(&indices, &failed);
    }

    /// Step 8: the dead letters in one call and the parks still waiting in another, at the same
    /// time, bounded by `limit`; a record whose write failed is retried.
    async fn write_dead_letters_and_parks(&self, batch: &mut Batch<'_>, limit: Option<Instant>) {
        let letters = batch.dead_letters();
        let dlq = async {
            if letters.is_empty() {
                return Vec::new();
            }
            within(limit, self.inner.dlq.send_batch(&letters))
                .await
                .unwrap_or_else(|| {
                    letters
                        .iter()
                        .map(|l| l.source_message_id.clone())
                        .collect()
                })
        };
        let (indices, parked): (Vec<usize>, Vec<_>) = batch.parks(None).into_iter().unzip();
        let parks = async {
            if parked.is_empty() {
                return Vec::new();
            }
            within(limit, self.inner.parking.park(&parked))
                .await
                .unwrap_or_else(|| parked.iter().map(|p| p.source_message_id.clone()).collect())
        };
        let (dlq_failed, park_failed) = futures::join!(dlq, parks);
        if !dlq_failed.is_empty() {
            tracing::warn!(
                count = dlq_failed.len(),
                "dead-letter writes failed; retrying those records"
            );
            batch.dead_letter_writes_failed(&dlq_failed);
        }
        if !park_failed.is_empty() {
            tracing::warn!(
                count = park_failed.len(),
                "parks failed; returning those records as batch item failures with the park delay"
            );
        }
        batch.parks_done(&indices, &park_failed);
    }

    /// Step 9: `ChangeMessageVisibility` of every retried record, concurrently, bounded by
    /// `limit`. Best effort: on error the queue's own visibility timeout applies.
    async fn set_retry_delays(&self, delays: &[RetryDelay<'_>], limit: Option<Instant>) {
        let vis = &self.inner.visibility;
        let all = join_all(delays.iter().map(|d| async move {
            if let Err(e) = vis.delay(d.receipt_handle, d.delay).await {
                tracing::warn!(message_id = %d.message_id, error = %e, "could not set the retry delay; the queue's visibility timeout applies");
            }
        }));
        if within(limit, all).await.is_none() {
            tracing::warn!(
                "retry delays still being set at the deadline; the queue's visibility timeout applies to the rest"
            );
        }
    }
}

impl<P: PortSet> Inner<P> {
    /// A uniform number in [0, 1).
    fn jitter(&self) -> f64 {
        let mut x = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        // xorshift64*
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }

    /// How long a record parked for `reason` waits:
    ///
    /// | reason | delay |
    /// |---|---|
    /// | `deadline` | 1 s + up to 1 s of jitter (the next invocation takes it) |
    /// | `throttled` | `retry_base_delay` × [0.5, 1] |
    /// | `claim_in_flight` | the other attempt's lease left + up to 1 s (≤ `park_max_delay`) |
    /// | `daily_quota`, `sending_paused`, `quota_unknown` | `park_base_delay × 2^park_count` ≤ `park_max_delay`, × [0.75, 1] |
    /// | `campaign_paused` | the same, but at most [`CAMPAIGN_PAUSED_MAX_DELAY`], so that a resume takes effect within a minute |
    fn park_delay(
        &self,
        reason: ParkReason,
        park_count: u32,
        lease_left: Option<Duration>,
    ) -> Duration {
        let s = &self.settings;
        let max = s.park_max_delay.min(Duration::from_secs(900));
        let j = self.jitter();
        match reason {
            ParkReason::Deadline => Duration::from_secs(1).mul_f64(1.0 + j),
            ParkReason::Throttled => s.retry_base_delay.mul_f64(0.5 + 0.5 * j),
            ParkReason::ClaimInFlight => {
                (lease_left.unwrap_or(s.claim_lease) + Duration::from_secs(1).mul_f64(j)).min(max)
            }
            ParkReason::DailyQuota | ParkReason::SendingPaused | ParkReason::QuotaUnknown => {
                s.park_delay(park_count, j)
            }
            ParkReason::CampaignPaused => {
                s.park_delay(park_count, j).min(CAMPAIGN_PAUSED_MAX_DELAY)
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
