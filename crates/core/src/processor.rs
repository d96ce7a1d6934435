//! The batch processor: one invocation's worth of records in, a partial batch response out.
//!
//! validate → one customer lookup (cached) → per record, concurrently and bounded:
//! ledger claim → paced send → ledger record/release → dead letters → visibility delays.
//! Every record ends as exactly one [`RecordOutcome`]; only retryable ones are returned in
//! `batch_item_failures`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::cache::CachedCustomerStore;
use crate::classify::{FailureClass, classify};
use crate::config::PollerConfig;
use crate::model::{
    Customer, DeadLetter, DlqReason, InboundRecord, MessageId, OutgoingEmail, SendRequest,
    UniqueCode,
};
use crate::pacer::Pacer;
use crate::ports::{
    Claim, CustomerStore, DeadLetterSink, Ledger, Mailer, PortError, VisibilityControl,
};
use crate::request::Policy;

/// Where the pacing ceiling comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateSource {
    /// The account's `MaxSendRate` from `GetAccount` (cached for `quota_cache`).
    Account,
    /// A fixed account-wide rate in emails per second (`SES_MAX_SEND_RATE_OVERRIDE`).
    Fixed(f64),
    /// No pacing at all (benchmarks, simulators without a quota).
    Unlimited,
}

/// If `GetAccount` has never answered, pace as a sandbox account (1 email/s).
pub const FALLBACK_MAX_SEND_RATE: f64 = 1.0;

/// Processor settings (usually from [`PollerConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessorSettings {
    pub policy: Policy,
    /// When false the ledger is never called.
    pub idempotency_enabled: bool,
    pub claim_lease: Duration,
    /// SendEmail calls in flight at most (1 = sequential mode).
    pub send_concurrency: usize,
    pub default_configuration_set: Option<String>,
    pub rate_source: RateSource,
    pub target_utilisation: f64,
    /// The event source mapping's maximum concurrency: this instance paces to its share.
    pub maximum_concurrency: u32,
    pub quota_cache: Duration,
    pub customer_cache_capacity: usize,
    pub customer_cache_ttl: Duration,
    pub retry_base_delay: Duration,
    pub retry_max_delay: Duration,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            idempotency_enabled: true,
            claim_lease: Duration::from_secs(120),
            send_concurrency: 32,
            default_configuration_set: None,
            rate_source: RateSource::Account,
            target_utilisation: 0.98,
            maximum_concurrency: 2,
            quota_cache: Duration::from_secs(300),
            customer_cache_capacity: 20_000,
            customer_cache_ttl: Duration::from_secs(300),
            retry_base_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(300),
        }
    }
}

impl ProcessorSettings {
    pub fn from_config(c: &PollerConfig) -> Self {
        Self {
            policy: Policy::new(&c.allowed_recipient_domains),
            idempotency_enabled: c.idempotency_enabled,
            claim_lease: c.claim_lease,
            send_concurrency: c.send_concurrency,
            default_configuration_set: c.default_configuration_set.clone(),
            rate_source: match c.ses_max_send_rate_override {
                Some(r) => RateSource::Fixed(r),
                None => RateSource::Account,
            },
            target_utilisation: c.target_utilisation,
            maximum_concurrency: c.maximum_concurrency,
            quota_cache: c.quota_cache,
            customer_cache_capacity: c.customer_cache_capacity,
            customer_cache_ttl: c.customer_cache_ttl,
            retry_base_delay: c.retry_base_delay,
            retry_max_delay: c.retry_max_delay,
        }
    }

    /// The same settings with one send at a time (the benchmark's baseline).
    pub fn sequential(mut self) -> Self {
        self.send_concurrency = 1;
        self
    }

    /// This instance's pacing ceiling for an account-wide rate.
    pub fn instance_share(&self, account_rate: f64) -> f64 {
        account_rate * self.target_utilisation / f64::from(self.maximum_concurrency.max(1))
    }

    /// Visibility delay of a retried record: exponential in its receive count
    /// (`base × 2^(n-1)`, capped), with "equal jitter" (uniform in [d/2, d]) so that a
    /// burst of throttled records does not come back at the same instant.
    pub fn retry_delay(&self, receive_count: u32, jitter: f64) -> Duration {
        let exp = receive_count.saturating_sub(1).min(30);
        let d = self
            .retry_base_delay
            .saturating_mul(1u32 << exp)
            .min(self.retry_max_delay);
        d.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Why a record is returned to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryCause {
    /// SES throttled the send.
    Throttled,
    /// 5xx, timeout, connection error or unknown error code (the code is kept).
    Transient(String),
    /// `AccountSuspendedException` / `SendingPausedException`.
    AccountPaused(String),
    /// Another attempt holds a live ledger lease on this `unique_code`.
    ClaimInFlight,
    /// The customer lookup failed.
    CustomerLookupFailed,
    /// The ledger could not be reached for the claim.
    LedgerFailed,
    /// A permanent failure whose dead-letter write failed.
    DeadLetterWriteFailed(DlqReason),
    /// The record's task panicked.
    Panicked,
}

/// How one record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// SES accepted it. `ambiguous`: an earlier attempt's lease had expired, so that attempt
    /// may have reached SES too.
    Sent {
        message_id: MessageId,
        ambiguous: bool,
    },
    /// The ledger says this `unique_code` was already sent: acknowledged without sending.
    DuplicateSkipped { message_id: MessageId },
    /// Written to the DLQ with a reason; acknowledged.
    DeadLettered { reason: DlqReason, detail: String },
    /// Returned as a batch item failure, visible again after `delay`.
    Retry { cause: RetryCause, delay: Duration },
}

/// What the metrics need about one batch (names as in the shared conventions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    pub emails_received: usize,
    pub emails_sent: usize,
    /// SES throttling answers (each also counts in `emails_retried`).
    pub emails_throttled: usize,
    /// Records returned as batch item failures.
    pub emails_retried: usize,
    pub emails_dead_lettered: usize,
    pub dead_lettered_by_reason: BTreeMap<DlqReason, usize>,
    pub duplicates_skipped: usize,
    /// Sends after reclaiming an expired lease.
    pub ambiguous_retries: usize,
    /// Latency of every SendEmail call, in milliseconds.
    pub ses_send_ms: Vec<f64>,
    pub batch_duration_ms: f64,
    pub customer_cache_hits: usize,
    pub customer_cache_misses: usize,
    /// Every record's outcome, by queue message id, in input order.
    pub outcomes: Vec<(String, RecordOutcome)>,
}

impl BatchReport {
    /// Counter metrics as (name, value), names from [`crate::metrics`].
    pub fn counters(&self) -> Vec<(&'static str, f64)> {
        use crate::metrics as m;
        vec![
            (m::EMAILS_RECEIVED, self.emails_received as f64),
            (m::EMAILS_SENT, self.emails_sent as f64),
            (m::EMAILS_THROTTLED, self.emails_throttled as f64),
            (m::EMAILS_RETRIED, self.emails_retried as f64),
            (m::EMAILS_DEAD_LETTERED, self.emails_dead_lettered as f64),
            (m::DUPLICATES_SKIPPED, self.duplicates_skipped as f64),
            (m::AMBIGUOUS_RETRIES, self.ambiguous_retries as f64),
            (m::CUSTOMER_CACHE_HITS, self.customer_cache_hits as f64),
            (m::CUSTOMER_CACHE_MISSES, self.customer_cache_misses as f64),
        ]
    }
}

/// Result of [`BatchProcessor::process`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// Queue message ids to return as `batchItemFailures` (exactly the retryable records).
    pub batch_item_failures: Vec<String>,
    pub report: BatchReport,
}

/// A ledger for when idempotency is disabled: every claim succeeds, nothing is stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLedger;

impl Ledger for NoLedger {
    async fn claim(&self, _: &UniqueCode, _: Duration) -> Result<Claim, PortError> {
        Ok(Claim::Claimed)
    }
    async fn record_sent(&self, _: &UniqueCode, _: &MessageId) -> Result<(), PortError> {
        Ok(())
    }
    async fn release(&self, _: &UniqueCode) -> Result<(), PortError> {
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

/// Internal result of one record's task.
enum Step {
    Sent {
        message_id: MessageId,
        ambiguous: bool,
    },
    Duplicate(MessageId),
    Dead(DlqReason, String),
    Retry(RetryCause),
}

struct TaskResult {
    step: Step,
    ses_ms: Option<f64>,
    throttled: bool,
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
        let s = &self.inner.settings;
        self.refresh_quota().await;

        let n = records.len();
        let mut steps: Vec<Option<Step>> = (0..n).map(|_| None).collect();
        let mut report = BatchReport {
            emails_received: n,
            ..Default::default()
        };

        // 1. validate
        let mut valid: Vec<(usize, SendRequest)> = Vec::with_capacity(n);
        for (i, r) in records.iter().enumerate() {
            match SendRequest::parse(&r.body, &s.policy) {
                Ok(req) => valid.push((i, req)),
                Err(rej) => {
                    tracing::info!(message_id = %r.message_id, reason = %rej.reason, detail = %rej.detail, "rejected");
                    steps[i] = Some(Step::Dead(rej.reason, rej.detail));
                }
            }
        }

        // 2. customers, one lookup
        let ids: Vec<_> = valid.iter().map(|(_, r)| r.user_id.clone()).collect();
        let customers: Option<HashMap<_, _>> = if ids.is_empty() {
            Some(HashMap::new())
        } else {
            match self.inner.customers.get_counted(&ids).await {
                Ok((m, stats)) => {
                    report.customer_cache_hits = stats.hits;
                    report.customer_cache_misses = stats.misses;
                    Some(m)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "customer lookup failed; retrying the batch's valid records");
                    None
                }
            }
        };

        // 3-4. claim + send, concurrently and bounded
        let mut handles = Vec::with_capacity(valid.len());
        for (i, req) in valid {
            let Some(customers) = customers.as_ref() else {
                steps[i] = Some(Step::Retry(RetryCause::CustomerLookupFailed));
                continue;
            };
            let Some(customer) = customers.get(&req.user_id) else {
                steps[i] = Some(Step::Dead(
                    DlqReason::UnknownCustomer,
                    format!("no customer with user_id {:?}", req.user_id.0),
                ));
                continue;
            };
            let email = compose(&req, customer, s.default_configuration_set.as_deref());
            let this = self.clone();
            let message_id = records[i].message_id.clone();
            handles.push((
                i,
                tokio::spawn(async move { this.send_one(message_id, email).await }),
            ));
        }
        let joined = join_all(
            handles
                .into_iter()
                .map(|(i, h)| async move { (i, h.await) }),
        )
        .await;
        for (i, res) in joined {
            match res {
                Ok(t) => {
                    if let Some(ms) = t.ses_ms {
                        report.ses_send_ms.push(ms);
                    }
                    if t.throttled {
                        report.emails_throttled += 1;
                    }
                    steps[i] = Some(t.step);
                }
                Err(e) => {
                    tracing::error!(message_id = %records[i].message_id, error = %e, "record task failed; retrying the record");
                    steps[i] = Some(Step::Retry(RetryCause::Panicked));
                }
            }
        }

        // 5. dead letters
        let letters: Vec<DeadLetter> = steps
            .iter()
            .enumerate()
            .filter_map(|(i, st)| match st {
                Some(Step::Dead(reason, detail)) => Some(DeadLetter {
                    source_message_id: records[i].message_id.clone(),
                    body: records[i].body.clone(),
                    reason: *reason,
                    detail: detail.clone(),
                }),
                _ => None,
            })
            .collect();
        if !letters.is_empty() {
            let failed = self.inner.dlq.send_batch(&letters).await;
            if !failed.is_empty() {
                tracing::warn!(
                    count = failed.len(),
                    "dead-letter writes failed; retrying those records"
                );
                for (i, st) in steps.iter_mut().enumerate() {
                    if let Some(Step::Dead(reason, _)) = st
                        && failed.contains(&records[i].message_id)
                    {
                        *st = Some(Step::Retry(RetryCause::DeadLetterWriteFailed(*reason)));
                    }
                }
            }
        }

        // 6. outcomes, visibility delays
        let mut failures = Vec::new();
        let mut delays = Vec::new();
        for (i, st) in steps.into_iter().enumerate() {
            let r = &records[i];
            let outcome = match st.unwrap_or(Step::Retry(RetryCause::Panicked)) {
                Step::Sent {
                    message_id,
                    ambiguous,
                } => {
                    report.emails_sent += 1;
                    if ambiguous {
                        report.ambiguous_retries += 1;
                    }
                    RecordOutcome::Sent {
                        message_id,
                        ambiguous,
                    }
                }
                Step::Duplicate(message_id) => {
                    report.duplicates_skipped += 1;
                    RecordOutcome::DuplicateSkipped { message_id }
                }
                Step::Dead(reason, detail) => {
                    report.emails_dead_lettered += 1;
                    *report.dead_lettered_by_reason.entry(reason).or_default() += 1;
                    RecordOutcome::DeadLettered { reason, detail }
                }
                Step::Retry(cause) => {
                    report.emails_retried += 1;
                    let delay = match cause {
                        RetryCause::AccountPaused(_) => s.retry_max_delay,
                        _ => s.retry_delay(r.receive_count, self.jitter()),
                    };
                    failures.push(r.message_id.clone());
                    delays.push((r.receipt_handle.as_str(), r.message_id.as_str(), delay));
                    RecordOutcome::Retry { cause, delay }
                }
            };
            report.outcomes.push((r.message_id.clone(), outcome));
        }
        let vis = &self.inner.visibility;
        join_all(delays.into_iter().map(|(handle, id, delay)| async move {
            if let Err(e) = vis.delay(handle, delay).await {
                tracing::warn!(message_id = %id, error = %e, "could not set the retry delay; the queue's visibility timeout applies");
            }
        }))
        .await;

        report.batch_duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        BatchOutcome {
            batch_item_failures: failures,
            report,
        }
    }

    async fn send_one(&self, message_id: String, email: OutgoingEmail) -> TaskResult {
        let inner = &self.inner;
        let s = &inner.settings;
        // The semaphore is never closed.
        let _permit = inner.semaphore.acquire().await.ok();
        let mut result = TaskResult {
            step: Step::Retry(RetryCause::LedgerFailed),
            ses_ms: None,
            throttled: false,
        };
        let code = &email.unique_code;
        let mut ambiguous = false;
        if s.idempotency_enabled {
            match inner.ledger.claim(code, s.claim_lease).await {
                Ok(Claim::Claimed) => {}
                Ok(Claim::Reclaimed) => {
                    tracing::warn!(%message_id, unique_code = %code, "claim lease had expired; sending again (ambiguous retry)");
                    ambiguous = true;
                }
                Ok(Claim::AlreadySent(mid)) => {
                    tracing::info!(%message_id, unique_code = %code, ses_message_id = %mid, "already sent; skipping duplicate");
                    result.step = Step::Duplicate(mid);
                    return result;
                }
                Ok(Claim::InFlight) => {
                    result.step = Step::Retry(RetryCause::ClaimInFlight);
                    return result;
                }
                Err(e) => {
                    tracing::warn!(%message_id, error = %e, "ledger claim failed");
                    return result;
                }
            }
        }

        inner.pacer.acquire().await;
        let t0 = Instant::now();
        let sent = inner.mailer.send(&email).await;
        result.ses_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
        match sent {
            Ok(mid) => {
                if s.idempotency_enabled
                    && let Err(e) = inner.ledger.record_sent(code, &mid).await
                {
                    tracing::error!(%message_id, unique_code = %code, ses_message_id = %mid, error = %e,
                            "sent, but the ledger did not record it; a redelivery after the lease would be an ambiguous retry");
                }
                result.step = Step::Sent {
                    message_id: mid,
                    ambiguous,
                };
            }
            Err(f) => {
                let class = classify(&f);
                // Keep the claim (it expires after the lease) when this attempt may have sent,
                // and also when it re-took an expired claim: an earlier attempt may have sent,
                // and releasing would make the next attempt a fresh claim that no longer
                // counts as an ambiguous retry.
                let keep_claim = (f.maybe_sent || ambiguous) && class.is_retryable();
                if s.idempotency_enabled
                    && !keep_claim
                    && let Err(e) = inner.ledger.release(code).await
                {
                    tracing::warn!(%message_id, unique_code = %code, error = %e, "could not release the claim; it expires after the lease");
                }
                result.step = match class {
                    FailureClass::Throttled => {
                        inner.pacer.on_throttle();
                        result.throttled = true;
                        tracing::info!(%message_id, code = %f.code, rate = inner.pacer.rate(), "throttled by SES; slowing down");
                        Step::Retry(RetryCause::Throttled)
                    }
                    FailureClass::Transient => {
                        tracing::warn!(%message_id, code = %f.code, status = ?f.status, error = %f.message, "transient SES failure");
                        Step::Retry(RetryCause::Transient(f.code))
                    }
                    FailureClass::AccountPaused => {
                        tracing::error!(%message_id, code = %f.code, error = %f.message,
                            "SES ACCOUNT CANNOT SEND (suspended or sending paused): retrying with the maximum delay; fix the account");
                        Step::Retry(RetryCause::AccountPaused(f.code))
                    }
                    FailureClass::Permanent(reason) => {
                        Step::Dead(reason, format!("SES {}: {}", f.code, f.message))
                    }
                };
            }
        }
        result
    }
}

/// The `SendEmail` call for a request and its customer: `TemplateData` = the customer's
/// attributes + `unique_code`; tags = the request's + `unique_code` when valid.
pub fn compose(
    req: &SendRequest,
    customer: &Customer,
    default_config_set: Option<&str>,
) -> OutgoingEmail {
    let mut data = serde_json::Map::with_capacity(customer.attributes.len() + 1);
    for (k, v) in &customer.attributes {
        data.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    data.insert(
        "unique_code".into(),
        serde_json::Value::String(req.unique_code.0.clone()),
    );
    OutgoingEmail {
        from: req.from.clone(),
        to: req.to.clone(),
        template_name: req.template_name.clone(),
        template_data: serde_json::Value::Object(data).to_string(),
        configuration_set: req
            .config_set
            .clone()
            .or_else(|| default_config_set.map(str::to_string)),
        tags: req.email_tags(),
        unique_code: req.unique_code.clone(),
    }
}
