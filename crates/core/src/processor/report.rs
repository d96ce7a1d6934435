//! What a batch produced: every record's [`RecordOutcome`] and the [`BatchReport`] the metrics
//! are made of.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::{DlqReason, MessageId, ParkReason};

/// Why a record is returned to the queue as a batch item failure: a real failure, which spends
/// one of the record's receives (waiting does not: it parks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryCause {
    /// 5xx, timeout, connection error or unknown error code (the code is kept).
    Transient(String),
    /// The customer lookup failed.
    CustomerLookupFailed,
    /// The ledger could not be reached for the claim.
    LedgerFailed,
    /// A permanent failure whose dead-letter write failed.
    DeadLetterWriteFailed(DlqReason),
    /// The record was to be parked for this reason, but the park failed.
    ParkFailed(ParkReason),
    /// The states of the record's campaign could not be read, and none was known from before.
    CampaignStateUnknown,
    /// The record's campaign is cancelled, but recording the record as cancelled failed.
    CancelRecordFailed,
    /// The record's task panicked.
    Panicked,
    /// The record's task had not finished when the batch had to answer (a port that ignored
    /// its time limit).
    Unfinished,
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
    /// Parked: acknowledged, and a copy queued again, visible after `delay` (receive budget
    /// untouched).
    Parked { reason: ParkReason, delay: Duration },
    /// Its campaign is cancelled: recorded as cancelled and acknowledged without sending.
    Cancelled { campaign: String },
    /// Returned as a batch item failure, visible again after `delay`.
    Retry { cause: RetryCause, delay: Duration },
}

/// What the metrics need about one batch (names as in the shared conventions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    pub emails_received: usize,
    pub emails_sent: usize,
    /// SES throttling answers.
    pub emails_throttled: usize,
    /// Records returned as batch item failures.
    pub emails_retried: usize,
    pub emails_dead_lettered: usize,
    pub dead_lettered_by_reason: BTreeMap<DlqReason, usize>,
    /// Records parked (acknowledged and queued again with a delay).
    pub emails_parked: usize,
    pub parked_by_reason: BTreeMap<ParkReason, usize>,
    /// Records of cancelled campaigns, recorded as cancelled and acknowledged without sending.
    pub emails_cancelled: usize,
    /// Records the deadline sent back unattempted (parked `deadline`, or retried if the park
    /// failed).
    pub deadline_returns: usize,
    /// `AccessDeniedException` answers (IAM denied the identity, template or configuration set).
    pub access_denied: usize,
    /// `GetAccount` calls that failed (every attempt counts).
    pub quota_fetch_failures: usize,
    /// Slots this instance took from its own fallback pacing because the shared send schedule
    /// could not be reached.
    pub schedule_fallbacks: usize,
    pub duplicates_skipped: usize,
    /// Sends that may have repeated an earlier attempt's send (an expired lease re-taken, or
    /// a claim another attempt had re-taken meanwhile).
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
            (m::EMAILS_PARKED, self.emails_parked as f64),
            (m::EMAILS_CANCELLED, self.emails_cancelled as f64),
            (m::DEADLINE_RETURNS, self.deadline_returns as f64),
            (m::ACCESS_DENIED, self.access_denied as f64),
            (m::QUOTA_FETCH_FAILURES, self.quota_fetch_failures as f64),
            (m::SCHEDULE_FALLBACKS, self.schedule_fallbacks as f64),
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
