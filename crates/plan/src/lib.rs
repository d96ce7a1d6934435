//! Capacity planner: from an account's SES `MaxSendRate` and the observed `SendEmail` latency to
//! the event-source-mapping and Lambda settings that reach the quota with the fewest instances,
//! and what a million emails cost.
//!
//! Pure arithmetic, no I/O: the CLI (`sesload plan`) parses flags and price files and prints.
//! `docs/tuning.md` explains every formula; the names here are the ones used there.
//!
//! The model, in one paragraph: one poller instance keeps at most `send_concurrency` `SendEmail`
//! calls in flight, each taking `ses_latency_ms + per_email_overhead_ms`, so by Little's law it
//! can send `send_concurrency / (latency + overhead)` emails/s. We only plan on `capacity_headroom`
//! of that (latency has a tail). The fleet aims at `max_send_rate × target_utilisation`; the
//! event source mapping's `maximum_concurrency` is the fewest instances that carry it (at least 2,
//! the ESM minimum), and each instance paces itself to its equal share (the poller's token bucket).
//! A batch holds `batch_seconds` of sending at that paced rate; the function timeout covers a batch
//! slowed down by throttling; the queue's visibility timeout is 6 × the function timeout plus the
//! batching window (the AWS rule).

use serde::{Deserialize, Serialize};

/// ESM `ScalingConfig.MaximumConcurrency` bounds.
pub const MIN_MAXIMUM_CONCURRENCY: u32 = 2;
pub const MAX_MAXIMUM_CONCURRENCY: u32 = 1000;
/// Standard-queue batch size bound of an event source mapping.
pub const MAX_BATCH_SIZE: u32 = 10_000;
/// A batch larger than this needs `MaximumBatchingWindowInSeconds` ≥ 1.
pub const BATCH_SIZE_WITHOUT_WINDOW: u32 = 10;
/// Lambda synchronous invocation payload limit (bytes).
pub const MAX_INVOKE_PAYLOAD_BYTES: u64 = 6 * 1024 * 1024;
/// Bytes the Lambda SQS event adds around each body (ids, receipt handle, attributes, ARN).
pub const SQS_RECORD_ENVELOPE_BYTES: u64 = 1_000;
/// Lambda's maximum function timeout (s).
pub const MAX_FUNCTION_TIMEOUT_S: u32 = 900;
/// SQS maximum visibility timeout (s).
pub const MAX_VISIBILITY_TIMEOUT_S: u32 = 43_200;
/// SQS standard queues allow about this many in-flight (received, not deleted) messages.
pub const SQS_MAX_IN_FLIGHT: u64 = 120_000;
/// Lambda gives one full vCPU at this much memory (MB); CPU scales linearly below it.
pub const MB_PER_VCPU: f64 = 1769.0;
/// Lambda memory bounds (MB).
pub const MIN_MEMORY_MB: u32 = 128;
pub const MAX_MEMORY_MB: u32 = 10_240;
/// SQS bills a request per started 64 KiB of payload.
pub const SQS_BILLING_CHUNK_BYTES: u64 = 64 * 1024;
/// Firehose bills ingestion (and format conversion) per record rounded up to 5 KB.
pub const FIREHOSE_ROUNDING_BYTES: u64 = 5 * 1024;
/// Firehose buffer size when record format conversion (Parquet) is on: at least 64 MB.
pub const FIREHOSE_PARQUET_BUFFER_BYTES: u64 = 64 * 1024 * 1024;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MILLION: f64 = 1_000_000.0;

/// What the user knows, plus the model's assumptions (all overridable, all in `docs/tuning.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Account `MaxSendRate` (emails/s), from `GetAccount` / the SES console.
    pub max_send_rate: f64,
    /// Mean `SendEmail` latency seen by the poller (ms).
    pub ses_latency_ms: f64,
    /// Fraction (0, 1] of `max_send_rate` the fleet aims for (`TARGET_UTILISATION`).
    pub target_utilisation: f64,
    /// `SendEmail` calls in flight per instance (`SEND_CONCURRENCY`).
    pub send_concurrency: u32,
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
    /// The documented defaults for a quota and a latency.
    pub fn new(max_send_rate: f64, ses_latency_ms: f64) -> Self {
        Inputs {
            max_send_rate,
            ses_latency_ms,
            target_utilisation: 0.98,
            send_concurrency: 32,
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

/// Unit prices (USD). Defaults are us-east-1 on-demand list prices; see [`PRICES_SOURCE`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prices {
    /// Lambda arm64 duration, per GB-second.
    pub lambda_gb_second: f64,
    /// Lambda requests, per million invocations.
    pub lambda_per_million_requests: f64,
    /// SQS standard queue, per million requests (64 KiB chunks).
    pub sqs_per_million_requests: f64,
    /// DynamoDB on-demand, per million write request units.
    pub dynamodb_per_million_wru: f64,
    /// DynamoDB on-demand, per million read request units.
    pub dynamodb_per_million_rru: f64,
    /// Firehose Direct PUT ingestion, per GB (records rounded up to 5 KB).
    pub firehose_per_gb: f64,
    /// Firehose record format conversion (JSON → Parquet), per GB (same 5 KB rounding).
    pub firehose_format_conversion_per_gb: f64,
    /// S3 Standard PUT requests, per thousand.
    pub s3_per_thousand_puts: f64,
    /// S3 Standard storage, per GB-month.
    pub s3_gb_month: f64,
    /// SES outbound email, per thousand.
    pub ses_per_thousand_emails: f64,
    /// API Gateway REST API, per million requests (first tier).
    pub apigw_rest_per_million: f64,
    /// CloudWatch Logs ingestion, per GB.
    pub cloudwatch_logs_per_gb: f64,
}

/// Where the default prices come from. Not verifiable offline: override with `--region-prices`.
pub const PRICES_SOURCE: &str = "us-east-1 on-demand list prices from the AWS pricing pages \
(AWS Lambda Pricing, Amazon SQS Pricing, Amazon DynamoDB Pricing for On-Demand Capacity, \
Amazon Data Firehose Pricing, Amazon S3 Pricing, Amazon SES Pricing, Amazon API Gateway Pricing, \
Amazon CloudWatch Pricing) as last read in 2025; not re-checked (no internet here)";

impl Default for Prices {
    fn default() -> Self {
        Prices {
            lambda_gb_second: 0.000_013_333_4,
            lambda_per_million_requests: 0.20,
            sqs_per_million_requests: 0.40,
            dynamodb_per_million_wru: 0.625,
            dynamodb_per_million_rru: 0.125,
            firehose_per_gb: 0.029,
            firehose_format_conversion_per_gb: 0.018,
            s3_per_thousand_puts: 0.005,
            s3_gb_month: 0.023,
            ses_per_thousand_emails: 0.10,
            apigw_rest_per_million: 3.50,
            cloudwatch_logs_per_gb: 0.50,
        }
    }
}

impl Prices {
    /// Defaults overridden by the keys of a JSON object (unknown keys are an error).
    pub fn from_json_overrides(json: &str) -> Result<Self, PlanError> {
        let prices: Prices =
            serde_json::from_str(json).map_err(|e| PlanError::Prices(e.to_string()))?;
        for (name, value) in prices.named() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(PlanError::Prices(format!(
                    "{name} = {value} must be a finite number ≥ 0"
                )));
            }
        }
        Ok(prices)
    }

    fn named(&self) -> [(&'static str, f64); 12] {
        [
            ("lambda_gb_second", self.lambda_gb_second),
            (
                "lambda_per_million_requests",
                self.lambda_per_million_requests,
            ),
            ("sqs_per_million_requests", self.sqs_per_million_requests),
            ("dynamodb_per_million_wru", self.dynamodb_per_million_wru),
            ("dynamodb_per_million_rru", self.dynamodb_per_million_rru),
            ("firehose_per_gb", self.firehose_per_gb),
            (
                "firehose_format_conversion_per_gb",
                self.firehose_format_conversion_per_gb,
            ),
            ("s3_per_thousand_puts", self.s3_per_thousand_puts),
            ("s3_gb_month", self.s3_gb_month),
            ("ses_per_thousand_emails", self.ses_per_thousand_emails),
            ("apigw_rest_per_million", self.apigw_rest_per_million),
            ("cloudwatch_logs_per_gb", self.cloudwatch_logs_per_gb),
        ]
    }
}

/// Inputs the model cannot work with; each message names the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("{name} = {value} is invalid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: &'static str,
    },
    #[error(
        "{instances} instances would be needed at send_concurrency {send_concurrency} \
         (ESM maximum concurrency is at most {MAX_MAXIMUM_CONCURRENCY}): raise --send-concurrency"
    )]
    TooManyInstances {
        instances: u64,
        send_concurrency: u32,
    },
    #[error("invalid price overrides: {0}")]
    Prices(String),
}

/// One cost line: service, what is counted, quantity per million emails, USD per million emails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    pub service: &'static str,
    pub item: &'static str,
    pub quantity: f64,
    pub unit: &'static str,
    pub usd: f64,
}

/// The recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// `max_send_rate × target_utilisation` (emails/s).
    pub target_rate: f64,
    /// Little's law: `send_concurrency / (latency + overhead)` (emails/s per instance).
    pub instance_capacity: f64,
    /// `instance_capacity × capacity_headroom`: what the plan relies on per instance.
    pub instance_plannable_rate: f64,
    /// ESM `maximum_concurrency` (= poller instances; also `MAXIMUM_CONCURRENCY` in the poller).
    pub maximum_concurrency: u32,
    /// Each instance's paced rate: `target_rate / maximum_concurrency` (emails/s).
    pub per_instance_rate: f64,
    /// Sends in flight per instance at that rate (Little's law).
    pub in_flight_per_instance: f64,
    pub batch_size: u32,
    pub maximum_batching_window_in_seconds: u32,
    /// Seconds one batch takes at the paced rate.
    pub batch_duration_s: f64,
    pub function_timeout_seconds: u32,
    pub visibility_timeout_seconds: u32,
    pub function_memory_mb: u32,
    /// Fraction of wall time an instance spends sending (batch / (batch + gap)).
    pub batch_efficiency: f64,
    /// Predicted fleet send rate with a backlog (emails/s).
    pub predicted_rate: f64,
    /// Lambda invocations per million emails.
    pub invocations_per_million: f64,
    /// Cost lines per million emails.
    pub cost_per_million: Vec<CostLine>,
    pub cost_per_million_usd: f64,
    /// `cost_per_million_usd × emails_per_month / 1e6`.
    pub monthly_cost_usd: f64,
    /// Settings that were clamped by a service limit, and why.
    pub notes: Vec<String>,
    pub inputs: Inputs,
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

fn validate(i: &Inputs) -> Result<(), PlanError> {
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
        ("events_per_email", i.events_per_email),
    ] {
        check(name, v, v >= 0.0, "must be ≥ 0")?;
    }
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

/// Largest batch whose Lambda event fits the 6 MB invocation payload.
pub fn max_batch_for_payload(message_bytes: u64) -> u32 {
    let per_record = message_bytes + SQS_RECORD_ENVELOPE_BYTES;
    let n = MAX_INVOKE_PAYLOAD_BYTES / per_record.max(1);
    u32::try_from(n)
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_BATCH_SIZE)
}

/// The batching window an ESM needs for a batch size: 0 up to 10 records, else at least 1 s.
/// One second is the least allowed and the least added latency; with a backlog, batches fill
/// before the window ends anyway.
pub fn batching_window_for(batch_size: u32) -> u32 {
    if batch_size > BATCH_SIZE_WITHOUT_WINDOW {
        1
    } else {
        0
    }
}

/// The AWS rule: visibility timeout ≥ 6 × function timeout + batching window (capped at 12 h).
pub fn visibility_timeout_for(function_timeout_s: u32, window_s: u32) -> u32 {
    function_timeout_s
        .saturating_mul(6)
        .saturating_add(window_s)
        .min(MAX_VISIBILITY_TIMEOUT_S)
}

/// Lambda memory whose CPU share covers `rate` emails/s within the CPU budget, in 64 MB steps.
pub fn memory_for(
    rate: f64,
    cpu_us_per_email: f64,
    cpu_budget: f64,
    batch_size: u32,
    message_bytes: u64,
) -> u32 {
    let vcpu_needed = rate * cpu_us_per_email / 1e6 / cpu_budget;
    let for_cpu = vcpu_needed * MB_PER_VCPU;
    // Runtime + SDK clients ≈ 30 MB; the event and its parsed copies ≈ 4 × payload.
    let for_payload = 30.0
        + 4.0 * f64::from(batch_size) * (message_bytes + SQS_RECORD_ENVELOPE_BYTES) as f64 / 1e6;
    let mb = for_cpu.max(for_payload).max(f64::from(MIN_MEMORY_MB));
    let stepped = ((mb / 64.0).ceil() * 64.0) as u32;
    stepped.clamp(MIN_MEMORY_MB, MAX_MEMORY_MB)
}

/// Compute the recommendation.
pub fn plan(i: &Inputs, prices: &Prices) -> Result<Plan, PlanError> {
    validate(i)?;
    let mut notes = Vec::new();
    let target_rate = i.max_send_rate * i.target_utilisation;

    // Per-instance capacity (Little's law) and the instance count.
    let slot_seconds = (i.ses_latency_ms + i.per_email_overhead_ms) / 1000.0;
    let instance_capacity = f64::from(i.send_concurrency) / slot_seconds;
    let instance_plannable_rate = instance_capacity * i.capacity_headroom;
    let needed = (target_rate / instance_plannable_rate).ceil().max(1.0) as u64;
    if needed > u64::from(MAX_MAXIMUM_CONCURRENCY) {
        return Err(PlanError::TooManyInstances {
            instances: needed,
            send_concurrency: i.send_concurrency,
        });
    }
    let maximum_concurrency = (needed as u32).max(MIN_MAXIMUM_CONCURRENCY);
    if needed < u64::from(MIN_MAXIMUM_CONCURRENCY) {
        notes.push(format!(
            "one instance would do; maximum_concurrency is {MIN_MAXIMUM_CONCURRENCY}, the ESM minimum, \
             so each instance paces to half the target"
        ));
    }
    let per_instance_rate = target_rate / f64::from(maximum_concurrency);
    let in_flight_per_instance = per_instance_rate * slot_seconds;

    // Batch: `batch_seconds` of sending at the paced rate, within the payload and in-flight limits.
    let mut batch_size = (per_instance_rate * i.batch_seconds).ceil().max(1.0) as u32;
    let payload_cap = max_batch_for_payload(i.message_bytes);
    if batch_size > payload_cap {
        notes.push(format!(
            "batch_size {batch_size} lowered to {payload_cap}: a larger event exceeds Lambda's 6 MB payload"
        ));
        batch_size = payload_cap;
    }
    let in_flight_cap = (SQS_MAX_IN_FLIGHT / u64::from(maximum_concurrency)).max(1) as u32;
    if batch_size > in_flight_cap {
        notes.push(format!(
            "batch_size {batch_size} lowered to {in_flight_cap}: SQS allows about {SQS_MAX_IN_FLIGHT} in-flight messages"
        ));
        batch_size = in_flight_cap;
    }
    let maximum_batching_window_in_seconds = batching_window_for(batch_size);
    let batch_duration_s = f64::from(batch_size) / per_instance_rate;

    // Timeouts.
    let raw_timeout = (batch_duration_s * i.timeout_safety_factor + i.init_seconds).ceil();
    let mut function_timeout_seconds = (raw_timeout as u32).max(i.min_function_timeout_s).max(1);
    if function_timeout_seconds > MAX_FUNCTION_TIMEOUT_S {
        notes.push(format!(
            "function timeout {function_timeout_seconds} s capped at Lambda's {MAX_FUNCTION_TIMEOUT_S} s: lower --batch-seconds"
        ));
        function_timeout_seconds = MAX_FUNCTION_TIMEOUT_S;
    }
    let visibility_timeout_seconds =
        visibility_timeout_for(function_timeout_seconds, maximum_batching_window_in_seconds);

    let function_memory_mb = memory_for(
        per_instance_rate,
        i.cpu_us_per_email,
        i.cpu_budget,
        batch_size,
        i.message_bytes,
    );

    // Throughput prediction with a backlog: each slot loses the gap between two batches, and the
    // fleet can never beat the account's rate.
    // Time without sends (the gap between two batches, the per-batch work before the first send,
    // and the tail after the last send starts: one send slot) is lost, except for the pacer's
    // burst: an idle instance catches up on at most `pacer::BURST` of it.
    let idle_s = (i.invoke_gap_ms + i.per_batch_overhead_ms) / 1000.0 + slot_seconds;
    let lost_s = (idle_s - sesload_core::pacer::BURST.as_secs_f64()).max(0.0);
    let batch_efficiency = batch_duration_s / (batch_duration_s + lost_s);
    let predicted_rate = (f64::from(maximum_concurrency)
        * per_instance_rate.min(instance_capacity)
        * batch_efficiency)
        .min(i.max_send_rate);

    let invocations_per_million = MILLION / f64::from(batch_size);
    let cost_per_million = costs(i, prices, batch_size, per_instance_rate, function_memory_mb);
    let cost_per_million_usd: f64 = cost_per_million.iter().map(|c| c.usd).sum();
    let monthly_cost_usd = cost_per_million_usd * i.emails_per_month / MILLION;

    Ok(Plan {
        target_rate,
        instance_capacity,
        instance_plannable_rate,
        maximum_concurrency,
        per_instance_rate,
        in_flight_per_instance,
        batch_size,
        maximum_batching_window_in_seconds,
        batch_duration_s,
        function_timeout_seconds,
        visibility_timeout_seconds,
        function_memory_mb,
        batch_efficiency,
        predicted_rate,
        invocations_per_million,
        cost_per_million,
        cost_per_million_usd,
        monthly_cost_usd,
        notes,
        inputs: i.clone(),
    })
}

fn costs(
    i: &Inputs,
    p: &Prices,
    batch_size: u32,
    per_instance_rate: f64,
    memory_mb: u32,
) -> Vec<CostLine> {
    let b = f64::from(batch_size);
    let batches = MILLION / b;
    let mut lines = Vec::new();
    let mut line = |service, item, quantity: f64, unit, usd: f64| {
        lines.push(CostLine {
            service,
            item,
            quantity,
            unit,
            usd,
        })
    };

    // Lambda: an instance is busy 1/rate s per email plus the per-batch overhead; billed per ms.
    let busy_s = MILLION / per_instance_rate + batches * i.per_batch_overhead_ms / 1000.0;
    let gb_s = busy_s * f64::from(memory_mb) / 1024.0;
    line(
        "Lambda",
        "invocations",
        batches,
        "requests",
        batches / MILLION * p.lambda_per_million_requests,
    );
    line(
        "Lambda",
        "duration (arm64)",
        gb_s,
        "GB-s",
        gb_s * p.lambda_gb_second,
    );

    // SQS: ReceiveMessage and DeleteMessageBatch carry at most 10 messages; each request is billed
    // per started 64 KiB. Retries: one ChangeMessageVisibility and one more receive each.
    let per_ten_chunks = ((10 * (i.message_bytes + SQS_RECORD_ENVELOPE_BYTES)) as f64
        / SQS_BILLING_CHUNK_BYTES as f64)
        .ceil();
    let calls_per_batch = (b / 10.0).ceil();
    let receive = batches * calls_per_batch * per_ten_chunks * (1.0 + i.retry_ratio);
    let delete = batches * calls_per_batch;
    let change_visibility = MILLION * i.retry_ratio;
    if i.include_ingest {
        let send_chunks = (i.message_bytes as f64 / SQS_BILLING_CHUNK_BYTES as f64)
            .ceil()
            .max(1.0);
        line(
            "SQS",
            "SendMessage (ingest)",
            MILLION * send_chunks,
            "requests",
            MILLION * send_chunks / MILLION * p.sqs_per_million_requests,
        );
    }
    line(
        "SQS",
        "ReceiveMessage (ESM, 10/call)",
        receive,
        "requests",
        receive / MILLION * p.sqs_per_million_requests,
    );
    line(
        "SQS",
        "DeleteMessageBatch (ESM)",
        delete,
        "requests",
        delete / MILLION * p.sqs_per_million_requests,
    );
    line(
        "SQS",
        "ChangeMessageVisibility (retries)",
        change_visibility,
        "requests",
        change_visibility / MILLION * p.sqs_per_million_requests,
    );

    // DynamoDB: BatchGetItem reads are eventually consistent (0.5 RRU per item ≤ 4 KB);
    // the ledger claim (conditional PutItem) and record (UpdateItem) are 1 WRU each (items ≤ 1 KB).
    let rru = MILLION * (1.0 - i.customer_cache_hit_ratio) * 0.5 * (1.0 + i.retry_ratio);
    line(
        "DynamoDB",
        "BatchGetItem customers",
        rru,
        "RRU",
        rru / MILLION * p.dynamodb_per_million_rru,
    );
    if i.ledger_enabled {
        let wru = MILLION * 2.0 * (1.0 + i.retry_ratio);
        line(
            "DynamoDB",
            "ledger claim + record",
            wru,
            "WRU",
            wru / MILLION * p.dynamodb_per_million_wru,
        );
    }

    // Firehose: each SES event is one record, billed rounded up to 5 KB, for ingestion and again
    // for the Parquet conversion.
    let events = MILLION * i.events_per_email;
    let rounded = (i.event_bytes as f64 / FIREHOSE_ROUNDING_BYTES as f64)
        .ceil()
        .max(1.0)
        * FIREHOSE_ROUNDING_BYTES as f64;
    let billed_gb = events * rounded / GIB;
    line(
        "Firehose",
        "ingestion (5 KB-rounded)",
        billed_gb,
        "GB",
        billed_gb * p.firehose_per_gb,
    );
    line(
        "Firehose",
        "format conversion",
        billed_gb,
        "GB",
        billed_gb * p.firehose_format_conversion_per_gb,
    );

    // S3: one object per 64 MB buffer of raw JSON (at least one), storage of the Parquet for a month.
    let raw_bytes = events * i.event_bytes as f64;
    let objects = (raw_bytes / FIREHOSE_PARQUET_BUFFER_BYTES as f64)
        .ceil()
        .max(1.0);
    line(
        "S3",
        "PUT (Firehose objects)",
        objects,
        "requests",
        objects / 1000.0 * p.s3_per_thousand_puts,
    );
    let stored_gb = raw_bytes * i.parquet_compression_ratio / GIB;
    line(
        "S3",
        "storage, one month",
        stored_gb,
        "GB-month",
        stored_gb * p.s3_gb_month,
    );

    if i.include_ingest {
        line(
            "API Gateway",
            "REST requests",
            MILLION,
            "requests",
            p.apigw_rest_per_million,
        );
    }
    let log_gb = batches * i.log_bytes_per_invocation as f64 / GIB;
    line(
        "CloudWatch",
        "Logs ingestion (EMF)",
        log_gb,
        "GB",
        log_gb * p.cloudwatch_logs_per_gb,
    );
    line(
        "SES",
        "outbound email",
        MILLION,
        "emails",
        MILLION / 1000.0 * p.ses_per_thousand_emails,
    );
    lines
}

impl Plan {
    /// The Terraform variables, as a `terraform.tfvars` snippet.
    pub fn tfvars(&self) -> String {
        format!(
            "batch_size                         = {}\n\
             maximum_batching_window_in_seconds = {}\n\
             maximum_concurrency                = {}\n\
             target_utilisation                 = {}\n\
             send_concurrency                   = {}\n\
             function_timeout_seconds           = {}\n\
             visibility_timeout_seconds         = {}\n\
             function_memory_mb                 = {}\n",
            self.batch_size,
            self.maximum_batching_window_in_seconds,
            self.maximum_concurrency,
            self.inputs.target_utilisation,
            self.inputs.send_concurrency,
            self.function_timeout_seconds,
            self.visibility_timeout_seconds,
            self.function_memory_mb,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(rate: f64, latency: f64) -> Plan {
        plan(&Inputs::new(rate, latency), &Prices::default()).unwrap()
    }

    #[test]
    fn reference_case_200_per_s_at_50_ms() {
        let r = p(200.0, 50.0);
        // 32 / 60 ms = 533/s per instance; 196/s needs one, the ESM minimum is two.
        assert!(
            (r.instance_capacity - 533.33).abs() < 0.1,
            "{}",
            r.instance_capacity
        );
        assert_eq!(r.maximum_concurrency, 2);
        assert!((r.per_instance_rate - 98.0).abs() < 1e-9);
        assert_eq!(r.batch_size, 294);
        assert_eq!(r.maximum_batching_window_in_seconds, 1);
        // 3 s × 4 + 1 s init.
        assert_eq!(r.function_timeout_seconds, 13);
        assert_eq!(r.visibility_timeout_seconds, 79);
        assert_eq!(r.function_memory_mb, 128);
        // 3 s of sending; 0.05 s (gap + batch work) + 0.06 s (tail) idle, of which the pacer's
        // 0.1 s burst catches up all but 0.01 s.
        let expected = 196.0 * 3.0 / 3.01;
        assert!(
            (r.predicted_rate - expected).abs() < 0.01,
            "{}",
            r.predicted_rate
        );
        assert!(r.notes.iter().any(|n| n.contains("ESM minimum")));
    }

    #[test]
    fn esm_constraints_hold_across_a_grid() {
        for rate in [1.0, 14.0, 50.0, 200.0, 1_000.0, 5_000.0, 20_000.0] {
            for latency in [5.0, 50.0, 120.0, 400.0] {
                for conc in [1, 8, 32, 128] {
                    let mut i = Inputs::new(rate, latency);
                    i.send_concurrency = conc;
                    let r = match plan(&i, &Prices::default()) {
                        Ok(r) => r,
                        Err(PlanError::TooManyInstances { .. }) => continue,
                        Err(e) => panic!("{e}"),
                    };
                    let ctx = format!("rate {rate} latency {latency} conc {conc}: {r:?}");
                    assert!((2..=1000).contains(&r.maximum_concurrency), "{ctx}");
                    assert!((1..=MAX_BATCH_SIZE).contains(&r.batch_size), "{ctx}");
                    if r.batch_size > 10 {
                        assert!(r.maximum_batching_window_in_seconds >= 1, "{ctx}");
                    }
                    assert!(r.maximum_batching_window_in_seconds <= 300, "{ctx}");
                    assert!(
                        r.visibility_timeout_seconds
                            >= 6 * r.function_timeout_seconds
                                + r.maximum_batching_window_in_seconds,
                        "{ctx}"
                    );
                    assert!(
                        r.function_timeout_seconds as f64 >= r.batch_duration_s,
                        "{ctx}"
                    );
                    assert!(
                        r.function_timeout_seconds <= MAX_FUNCTION_TIMEOUT_S,
                        "{ctx}"
                    );
                    assert!(
                        (128..=10_240).contains(&r.function_memory_mb)
                            && r.function_memory_mb % 64 == 0,
                        "{ctx}"
                    );
                    // The fleet's capacity covers the target and its pacing never exceeds the quota.
                    assert!(
                        f64::from(r.maximum_concurrency) * r.instance_plannable_rate
                            >= r.target_rate - 1e-9,
                        "{ctx}"
                    );
                    assert!(
                        r.per_instance_rate * f64::from(r.maximum_concurrency) <= rate + 1e-9,
                        "{ctx}"
                    );
                    assert!(r.predicted_rate <= rate, "{ctx}");
                    // Payload fits.
                    assert!(
                        u64::from(r.batch_size) * (i.message_bytes + SQS_RECORD_ENVELOPE_BYTES)
                            <= MAX_INVOKE_PAYLOAD_BYTES,
                        "{ctx}"
                    );
                }
            }
        }
    }

    #[test]
    fn instances_grow_with_rate_and_latency_and_shrink_with_concurrency() {
        let mut last = 0;
        for rate in [10.0, 100.0, 500.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0] {
            let m = p(rate, 50.0).maximum_concurrency;
            assert!(m >= last, "rate {rate}: {m} < {last}");
            last = m;
        }
        assert!(last > 2);
        let mut last = 0;
        for latency in [10.0, 50.0, 100.0, 200.0, 400.0] {
            let m = p(4_000.0, latency).maximum_concurrency;
            assert!(m >= last, "latency {latency}: {m} < {last}");
            last = m;
        }
        let mut last = u32::MAX;
        for conc in [4, 8, 16, 32, 64] {
            let mut i = Inputs::new(4_000.0, 50.0);
            i.send_concurrency = conc;
            let m = plan(&i, &Prices::default()).unwrap().maximum_concurrency;
            assert!(m <= last, "concurrency {conc}: {m} > {last}");
            last = m;
        }
    }

    #[test]
    fn predicted_rate_grows_with_quota_and_utilisation() {
        let mut last = 0.0;
        for rate in [5.0, 50.0, 200.0, 1_000.0, 10_000.0] {
            let r = p(rate, 50.0).predicted_rate;
            assert!(r > last);
            last = r;
        }
        let mut last = 0.0;
        for u in [0.5, 0.7, 0.9, 1.0] {
            let mut i = Inputs::new(500.0, 50.0);
            i.target_utilisation = u;
            let r = plan(&i, &Prices::default()).unwrap().predicted_rate;
            assert!(r > last);
            last = r;
        }
    }

    #[test]
    fn sequential_sender_needs_the_original_samples_fleet() {
        // One send at a time at 50 ms (plus 10 ms ledger): ≈ 16.7/s, 13.3/s plannable.
        // 80/s × 0.98 = 78.4/s needs 6 instances; with 32 in flight, 2 do.
        let mut i = Inputs::new(80.0, 50.0);
        i.send_concurrency = 1;
        assert_eq!(plan(&i, &Prices::default()).unwrap().maximum_concurrency, 6);
        i.send_concurrency = 32;
        assert_eq!(plan(&i, &Prices::default()).unwrap().maximum_concurrency, 2);
    }

    #[test]
    fn small_batches_need_no_window_and_large_ones_do() {
        assert_eq!(batching_window_for(1), 0);
        assert_eq!(batching_window_for(10), 0);
        assert_eq!(batching_window_for(11), 1);
        // A sandbox account (1/s): tiny batches, no window.
        let r = p(1.0, 50.0);
        assert!(r.batch_size <= 10, "{r:?}");
        assert_eq!(r.maximum_batching_window_in_seconds, 0);
    }

    #[test]
    fn visibility_rule_and_cap() {
        assert_eq!(visibility_timeout_for(10, 1), 61);
        assert_eq!(visibility_timeout_for(900, 300), 5_700);
        assert_eq!(
            visibility_timeout_for(u32::MAX, 0),
            MAX_VISIBILITY_TIMEOUT_S
        );
    }

    #[test]
    fn payload_limit_caps_the_batch() {
        let mut i = Inputs::new(20_000.0, 50.0);
        i.message_bytes = 200 * 1024;
        i.batch_seconds = 5.0;
        let r = plan(&i, &Prices::default()).unwrap();
        assert_eq!(r.batch_size, max_batch_for_payload(200 * 1024));
        assert!(r.batch_size < 40);
        assert!(r.notes.iter().any(|n| n.contains("6 MB")));
    }

    #[test]
    fn memory_rises_with_the_paced_rate() {
        assert_eq!(memory_for(50.0, 200.0, 0.5, 100, 400), 128);
        let a = memory_for(500.0, 200.0, 0.5, 1000, 400);
        let b = memory_for(2_000.0, 200.0, 0.5, 1000, 400);
        assert!(a > 128 && b > a, "{a} {b}");
    }

    #[test]
    fn unreachable_rate_names_the_fix() {
        let mut i = Inputs::new(1_000_000.0, 100.0);
        i.send_concurrency = 4;
        let e = plan(&i, &Prices::default()).unwrap_err();
        assert!(e.to_string().contains("--send-concurrency"), "{e}");
    }

    #[test]
    fn bad_inputs_name_the_value() {
        for (f, name) in [
            (
                Box::new(|i: &mut Inputs| i.max_send_rate = 0.0) as Box<dyn Fn(&mut Inputs)>,
                "max_send_rate",
            ),
            (
                Box::new(|i: &mut Inputs| i.ses_latency_ms = -1.0),
                "ses_latency_ms",
            ),
            (
                Box::new(|i: &mut Inputs| i.target_utilisation = 1.5),
                "target_utilisation",
            ),
            (
                Box::new(|i: &mut Inputs| i.send_concurrency = 0),
                "send_concurrency",
            ),
            (
                Box::new(|i: &mut Inputs| i.max_send_rate = f64::NAN),
                "max_send_rate",
            ),
        ] {
            let mut i = Inputs::new(100.0, 50.0);
            f(&mut i);
            let e = plan(&i, &Prices::default()).unwrap_err().to_string();
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn cost_is_dominated_by_ses_and_scales_with_volume() {
        let r = p(200.0, 50.0);
        let ses = r
            .cost_per_million
            .iter()
            .find(|c| c.service == "SES")
            .unwrap();
        assert!((ses.usd - 100.0).abs() < 1e-9);
        assert!(
            r.cost_per_million_usd > 100.0 && r.cost_per_million_usd < 110.0,
            "{}",
            r.cost_per_million_usd
        );
        // Lambda: 1e6 / 98 s × 0.125 GB ≈ 1276 GB-s + per-batch overhead.
        let dur = r
            .cost_per_million
            .iter()
            .find(|c| c.item.starts_with("duration"))
            .unwrap();
        assert!(
            dur.quantity > 1_270.0 && dur.quantity < 1_300.0,
            "{}",
            dur.quantity
        );
        // SQS: ceil(294/10) receives per batch of 294, +1 % retried.
        let recv = r
            .cost_per_million
            .iter()
            .find(|c| c.item.starts_with("ReceiveMessage"))
            .unwrap();
        assert!(
            (recv.quantity - 1e6 / 294.0 * 30.0 * 1.01).abs() < 1.0,
            "{}",
            recv.quantity
        );
        // Firehose: 2 events × 5 KB per email.
        let fh = r
            .cost_per_million
            .iter()
            .find(|c| c.item.starts_with("ingestion"))
            .unwrap();
        assert!((fh.quantity - 2e6 * 5120.0 / GIB).abs() < 1e-6);
        let mut i = Inputs::new(200.0, 50.0);
        i.emails_per_month = 3_000_000.0;
        let r3 = plan(&i, &Prices::default()).unwrap();
        assert!((r3.monthly_cost_usd - 3.0 * r.cost_per_million_usd).abs() < 1e-6);
    }

    #[test]
    fn bigger_batches_cost_less() {
        let mut small = Inputs::new(500.0, 50.0);
        small.batch_seconds = 0.5;
        let mut big = small.clone();
        big.batch_seconds = 5.0;
        let s = plan(&small, &Prices::default()).unwrap();
        let b = plan(&big, &Prices::default()).unwrap();
        assert!(b.batch_size > s.batch_size);
        assert!(b.cost_per_million_usd < s.cost_per_million_usd);
        assert!(b.function_timeout_seconds >= s.function_timeout_seconds);
    }

    #[test]
    fn price_overrides() {
        let pr = Prices::from_json_overrides(r#"{"ses_per_thousand_emails": 0.12}"#).unwrap();
        assert_eq!(pr.ses_per_thousand_emails, 0.12);
        assert_eq!(pr.lambda_per_million_requests, 0.20);
        let e = Prices::from_json_overrides(r#"{"ses_per_thousand": 0.12}"#).unwrap_err();
        assert!(e.to_string().contains("ses_per_thousand"), "{e}");
        let e = Prices::from_json_overrides(r#"{"s3_gb_month": -1}"#).unwrap_err();
        assert!(e.to_string().contains("s3_gb_month"), "{e}");
    }

    #[test]
    fn tfvars_has_every_terraform_variable() {
        let t = p(200.0, 50.0).tfvars();
        for v in [
            "batch_size",
            "maximum_batching_window_in_seconds",
            "maximum_concurrency",
            "target_utilisation",
            "send_concurrency",
            "function_timeout_seconds",
            "visibility_timeout_seconds",
            "function_memory_mb",
        ] {
            assert!(
                t.lines().any(|l| l.split_whitespace().next() == Some(v)),
                "{v} missing in\n{t}"
            );
        }
        assert!(t.contains("batch_size                         = 294"));
    }
}
