//! Metric names shared by EMF (AWS), the local dashboard, Terraform and Prometheus
//! (`sesload_` prefix there). Namespace `sesload`, dimension `FunctionName`.

pub const NAMESPACE: &str = "sesload";
pub const DIMENSION: &str = "FunctionName";

pub const EMAILS_RECEIVED: &str = "emails_received";
pub const EMAILS_SENT: &str = "emails_sent";
pub const EMAILS_THROTTLED: &str = "emails_throttled";
pub const EMAILS_RETRIED: &str = "emails_retried";
pub const EMAILS_DEAD_LETTERED: &str = "emails_dead_lettered";
/// Records parked (acknowledged and queued again with a delay); by `Reason` too.
pub const EMAILS_PARKED: &str = "emails_parked";
/// Records of cancelled campaigns acknowledged without sending (counted in the campaign's
/// `cancelled`).
pub const EMAILS_CANCELLED: &str = "emails_cancelled";
/// Records the invocation's deadline sent back unattempted.
pub const DEADLINE_RETURNS: &str = "deadline_returns";
/// `AccessDeniedException` answers from SES.
pub const ACCESS_DENIED: &str = "access_denied";
/// Failed `GetAccount` calls.
pub const QUOTA_FETCH_FAILURES: &str = "quota_fetch_failures";
/// Slots an instance paced alone because the shared send schedule could not be reached.
pub const SCHEDULE_FALLBACKS: &str = "schedule_fallbacks";
pub const DUPLICATES_SKIPPED: &str = "duplicates_skipped";
pub const AMBIGUOUS_RETRIES: &str = "ambiguous_retries";
pub const SES_SEND_MS: &str = "ses_send_ms";
pub const BATCH_DURATION_MS: &str = "batch_duration_ms";
pub const CUSTOMER_CACHE_HITS: &str = "customer_cache_hits";
pub const CUSTOMER_CACHE_MISSES: &str = "customer_cache_misses";

/// Every metric name, in a stable order.
pub const ALL: [&str; 17] = [
    EMAILS_RECEIVED,
    EMAILS_SENT,
    EMAILS_THROTTLED,
    EMAILS_RETRIED,
    EMAILS_DEAD_LETTERED,
    EMAILS_PARKED,
    EMAILS_CANCELLED,
    DEADLINE_RETURNS,
    ACCESS_DENIED,
    QUOTA_FETCH_FAILURES,
    SCHEDULE_FALLBACKS,
    DUPLICATES_SKIPPED,
    AMBIGUOUS_RETRIES,
    SES_SEND_MS,
    BATCH_DURATION_MS,
    CUSTOMER_CACHE_HITS,
    CUSTOMER_CACHE_MISSES,
];
