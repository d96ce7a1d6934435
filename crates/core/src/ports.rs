//! Ports: what the batch processor needs from the outside world.
//!
//! Each trait has one AWS adapter (`sesload-aws`), one local adapter (`sesload-local`) and
//! one in memory ([`crate::memory`]); all of them pass the same port contracts (`contract`,
//! feature `contract-tests`). Methods return `impl Future + Send` so that adapters can be
//! written with `async fn` and the processor stays generic (no boxing).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use crate::model::{Customer, DeadLetter, MessageId, OutgoingEmail, UniqueCode, UserId};

/// A failure of an adapter that may succeed if tried again later (network, throttling,
/// service unavailable). Permanent business outcomes are not errors of a port: they are
/// values (e.g. a missing customer is simply absent from the lookup result).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct PortError {
    /// The port operation that failed, e.g. `"customers.batch_get"`.
    pub operation: &'static str,
    /// Human-readable cause, naming the bad value where there is one.
    pub message: String,
}

impl PortError {
    pub fn new(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            message: message.into(),
        }
    }
}

/// Customer data used to personalise emails (DynamoDB `BatchGetItem` / SQLite).
pub trait CustomerStore: Send + Sync {
    /// Look up every id in one logical round trip. Ids that do not exist are absent from
    /// the map. Implementations retry partial results (`UnprocessedKeys`) themselves.
    fn batch_get(
        &self,
        ids: &[UserId],
    ) -> impl Future<Output = Result<HashMap<UserId, Customer>, PortError>> + Send;
}

/// Result of claiming a `unique_code` in the idempotency ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had claimed it: this attempt owns the send.
    Claimed,
    /// A previous attempt's lease expired without recording a message id: this attempt
    /// owns the send again, but the earlier one may have reached SES (ambiguous retry).
    Reclaimed,
    /// Already sent: acknowledge without sending. Carries the recorded SES message id.
    AlreadySent(MessageId),
    /// Another attempt holds a live lease: retry later (do not send, do not DLQ).
    InFlight,
}

/// Idempotency ledger keyed by `unique_code` (DynamoDB conditional writes / SQLite).
pub trait Ledger: Send + Sync {
    /// Claim `code` for `lease`. Must be atomic (conditional write).
    fn claim(
        &self,
        code: &UniqueCode,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, PortError>> + Send;
    /// Record that `code` was accepted by SES with `message_id`.
    fn record_sent(
        &self,
        code: &UniqueCode,
        message_id: &MessageId,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Give a claim back (the send failed in a way that is known not to have reached SES),
    /// so that a retry can claim it immediately.
    fn release(&self, code: &UniqueCode) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Why SES did not accept a send, classified by error *code* (never by message text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// Error code as SES returns it (e.g. `TooManyRequestsException`), or a transport
    /// label such as `Timeout` / `Dispatch` when there was no SES answer.
    pub code: String,
    pub message: String,
    /// HTTP status if SES answered.
    pub status: Option<u16>,
    /// Whether SES may have accepted the email (e.g. a timeout after the request was
    /// written). Drives whether the ledger claim is released or kept.
    pub maybe_sent: bool,
}

/// The sending account's quota as SES reports it (`GetAccount`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendQuota {
    pub max_send_rate: f64,
    /// `None` when unlimited (SES reports -1).
    pub max_24_hour_send: Option<f64>,
    pub sent_last_24_hours: f64,
}

/// Sends one email (SES v2 `SendEmail` with a template).
pub trait Mailer: Send + Sync {
    fn send(
        &self,
        email: &OutgoingEmail,
    ) -> impl Future<Output = Result<MessageId, SendFailure>> + Send;
    fn quota(&self) -> impl Future<Output = Result<SendQuota, PortError>> + Send;
}

/// Where permanent failures go (SQS DLQ with a reason attribute / SQLite DLQ).
pub trait DeadLetterSink: Send + Sync {
    /// Write every dead letter. Returns the source message ids that could NOT be written;
    /// those records are retried (returned as batch item failures), never dropped.
    fn send_batch(&self, letters: &[DeadLetter]) -> impl Future<Output = Vec<String>> + Send;
}

/// Changes when a record becomes visible again (SQS `ChangeMessageVisibility`).
pub trait VisibilityControl: Send + Sync {
    /// Best effort: on error the record becomes visible after the queue's own timeout.
    fn delay(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
