//! AWS service limits and billing units the model works within. Each is a documented AWS figure
//! (see `docs/tuning.md`), not a tuning choice.

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

/// Entries a `SendBulkEmail` call carries at most.
pub const MAX_BULK_ENTRIES: u32 = 50;
/// The SES sandbox: 1 email/s and 200 emails per rolling 24 hours (verified recipients and the
/// mailbox simulator only). A production account starts well above 1/s, so a `MaxSendRate` of 1
/// is taken to be the sandbox when `Max24HourSend` is not given.
pub const SANDBOX_MAX_SEND_RATE: f64 = 1.0;
pub const SANDBOX_MAX_24_HOUR_SEND: f64 = 200.0;
/// The window `Max24HourSend` counts over (s).
pub const DAILY_QUOTA_WINDOW_S: f64 = 86_400.0;

pub(crate) const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
/// Costs are per million emails.
pub(crate) const MILLION: f64 = 1_000_000.0;
