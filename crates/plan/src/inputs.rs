//! What the user knows about the account, plus the model's assumptions, and their validation.

use serde::{Deserialize, Serialize};

use crate::PlanError;
use crate::limits::{SANDBOX_MAX_24_HOUR_SEND, SANDBOX_MAX_SEND_RATE};

/// The SES v2 operation the poller sends with (the poller's own setting, `SEND_API`).
pub use sesload_core::SendApi;

/// What the user knows, plus the model's assumptions (all overridable, all in `docs/tuning.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Account `MaxSendRate` (emails/s), from `GetAccount` / the SES console.
    pub max_send_rate: f64,
    /// Account `Max24HourSend`: emails per rolling 24 hours; `None` = unlimited (`-1` in
    /// `GetAccount`).
    pub max_24_hour_send: Option<f64>,
    /// Mean `SendEmail` latency seen by the poller (ms); for bulk, the fixed part of a call.
    pub ses_latency_ms: f64,
    /// Fraction (0, 1] of `max_send_rate` the fleet aims for (`TARGET_UTILISATION`).
    pub target_utilisation: f64,
    /// SES calls in flight per instance (`SEND_CONCURRENCY`).
    pub send_concurrency: u32,
    /// `SendEmail` (one recipient per call) or `SendBulkEmail` (up to 50).
    pub send_api: SendApi,
    /// What each entry adds to a `SendBulkEmail` call's latency (ms): a bulk call takes
    /// `ses_latency_ms + bulk_per_entry_ms × entries`. An assumption until measured.
    pub bulk_per_entry_ms: f64,
    /// Monthly volume for the cost estimate.
    pub emails_per_month: f64,
    /// Seconds of sending one batch should hold at the paced per-instance rate.
    pub batch_seconds: f64,
    /// Plan on this fraction of an instance's Little's-law capacity.
    pub capacity_headroom: f64,
    /// Time a send slot is busy besides SES (ledger claim + record writes), ms.
    pub per_email_overhead_ms: f64,
    /// Time between two batches of one concurrency slot (delete, receive, invoke), ms; lost
    /// sending time.
    pub invoke_gap_ms: f64,
    /// Per-batch work before the first send (BatchGetItem, ledger claims), ms; billed duration.
    pub per_batch_overhead_ms: f64,
    /// Function timeout = batch time × this + `init_seconds`.
    pub timeout_safety_factor: f64,
    /// Cold start allowance added to the timeout (s).
    pub init_seconds: f64,
    /// Smallest function timeout recommended (s).
    pub min_function_timeout_s: u32,
    /// CPU time per email on one full vCPU (µs): TLS, SigV4 and JSON for SendEmail + ledger writes.
    pub cpu_us_per_email: f64,
    /// The part of `cpu_us_per_email` paid once per SES call (SigV4, endpoint rules, the SDK
    /// orchestrator, HTTP), which a bulk call shares among its entries; the rest (two ledger
    /// writes, the entry's JSON) stays per email.
    pub cpu_us_per_ses_call: f64,
    /// Keep the paced CPU need at or below this fraction of the instance's CPU share.
    pub cpu_budget: f64,
    /// Request body size (bytes).
    pub message_bytes: u64,
    /// Idempotency ledger on (2 DynamoDB writes per email).
    pub ledger_enabled: bool,
    /// Fraction of customer lookups answered by the warm-instance cache.
    pub customer_cache_hit_ratio: f64,
    /// Fraction of emails retried once (throttles, transient errors): one ChangeMessageVisibility,
    /// one more receive.
    pub retry_ratio: f64,
    /// SES events published per email (Send + Delivery/Bounce/Complaint...).
    pub events_per_email: f64,
    /// Size of one SES event JSON record (bytes).
    pub event_bytes: u64,
    /// Parquet size / JSON size, for S3 storage.
    pub parquet_compression_ratio: f64,
    /// Log bytes per invocation (EMF line + START/END/REPORT).
    pub log_bytes_per_invocation: u64,
    /// Count the API Gateway ingest (one REST request + one SQS SendMessage per email).
    pub include_ingest: bool,
}

impl Inputs {
    /// The documented defaults for a quota and a latency. `Max24HourSend` is the sandbox's 200 when
    /// `max_send_rate` is the sandbox's 1/s, and unlimited otherwise.
    pub fn new(max_send_rate: f64, ses_latency_ms: f64) -> Self {
        Inputs {
            max_send_rate,
            max_24_hour_send: (max_send_rate <= SANDBOX_MAX_SEND_RATE)
                .then_some(SANDBOX_MAX_24_HOUR_SEND),
            ses_latency_ms,
            target_utilisation: 0.98,
            send_concurrency: 32,
            send_api: SendApi::Single,
            bulk_per_entry_ms: 1.0,
            emails_per_month: 1_000_000.0,
            batch_seconds: 3.0,
            capacity_headroom: 0.8,
            per_email_overhead_ms: 10.0,
            invoke_gap_ms: 20.0,
            per_batch_overhead_ms: 30.0,
            timeout_safety_factor: 4.0,
            init_seconds: 1.0,
            min_function_timeout_s: 10,
            cpu_us_per_email: 200.0,
            cpu_us_per_ses_call: 70.0,
            cpu_budget: 0.5,
            message_bytes: 400,
            ledger_enabled: true,
            customer_cache_hit_ratio: 0.0,
            retry_ratio: 0.01,
            events_per_email: 2.0,
            event_bytes: 2_500,
            parquet_compression_ratio: 0.1,
            log_bytes_per_invocation: 1_500,
            include_ingest: true,
        }
    }
}

fn check(name: &'static str, value: f64, ok: bool, why: &'static str) -> Result<(), PlanError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(PlanError::Invalid {
            name,
            value: value.to_string(),
            why,
        })
    }
}

pub(crate) fn validate(i: &Inputs) -> Result<(), PlanError> {
    check(
        "max_send_rate",
        i.max_send_rate,
        i.max_send_rate > 0.0,
        "must be > 0 emails/s",
    )?;
    check(
        "ses_latency_ms",
        i.ses_latency_ms,
        i.ses_latency_ms > 0.0,
        "must be > 0 ms",
    )?;
    check(
        "target_utilisation",
        i.target_utilisation,
        i.target_utilisation > 0.0 && i.target_utilisation <= 1.0,
        "must be in (0, 1]",
    )?;
    check(
        "send_concurrency",
        f64::from(i.send_concurrency),
        i.send_concurrency >= 1,
        "must be ≥ 1",
    )?;
    check(
        "emails_per_month",
        i.emails_per_month,
        i.emails_per_month >= 0.0,
        "must be ≥ 0",
    )?;
    check(
        "batch_seconds",
        i.batch_seconds,
        i.batch_seconds > 0.0,
        "must be > 0 s",
    )?;
    check(
        "capacity_headroom",
        i.capacity_headroom,
        i.capacity_headroom > 0.0 && i.capacity_headroom <= 1.0,
        "must be in (0, 1]",
    )?;
    for (name, v) in [
        ("per_email_overhead_ms", i.per_email_overhead_ms),
        ("invoke_gap_ms", i.invoke_gap_ms),
        ("per_batch_overhead_ms", i.per_batch_overhead_ms),
        ("init_seconds", i.init_seconds),
        ("cpu_us_per_email", i.cpu_us_per_email),
        ("bulk_per_entry_ms", i.bulk_per_entry_ms),
        ("events_per_email", i.events_per_email),
    ] {
        check(name, v, v >= 0.0, "must be ≥ 0")?;
    }
    if let Some(q) = i.max_24_hour_send {
        check(
            "max_24_hour_send",
            q,
            q >= 1.0,
            "must be ≥ 1 email (-1 means unlimited)",
        )?;
    }
    check(
        "cpu_us_per_ses_call",
        i.cpu_us_per_ses_call,
        i.cpu_us_per_ses_call >= 0.0 && i.cpu_us_per_ses_call <= i.cpu_us_per_email,
        "must be in [0, cpu_us_per_email]",
    )?;
    check(
        "timeout_safety_factor",
        i.timeout_safety_factor,
        i.timeout_safety_factor >= 1.0,
        "must be ≥ 1",
    )?;
    check(
        "cpu_budget",
        i.cpu_budget,
        i.cpu_budget > 0.0 && i.cpu_budget <= 1.0,
        "must be in (0, 1]",
    )?;
    for (name, v) in [
        ("customer_cache_hit_ratio", i.customer_cache_hit_ratio),
        ("retry_ratio", i.retry_ratio),
        ("parquet_compression_ratio", i.parquet_compression_ratio),
    ] {
        check(name, v, (0.0..=1.0).contains(&v), "must be in [0, 1]")?;
    }
    Ok(())
}
