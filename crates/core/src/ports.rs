//! Ports: what the batch processor needs from the outside world.
//!
//! Each trait has one AWS adapter (`sesload-aws`), one local adapter (`sesload-local`) and
//! one in memory ([`crate::memory`]); all of them pass the same port contracts (`contract`,
//! feature `contract-tests`). Methods return `impl Future + Send` so that adapters can be
//! written with `async fn` and the processor stays generic (no boxing).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use crate::campaign::CampaignControl;
use crate::clock::micros;
use crate::model::{
    Customer, DeadLetter, MessageId, OutgoingEmail, ParkedRecord, UniqueCode, UserId,
};

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

/// Proof that one attempt holds the claim on a `unique_code` (a fencing token). The ledger
/// makes it at `claim`; `record_sent` and `release` present it, so that an attempt whose lease
/// expired cannot undo the claim of the attempt that re-took it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(pub String);

impl std::fmt::Display for ClaimToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A claim an attempt holds: the code and the token [`Ledger::claim`] gave for it. Every
/// ledger write after the claim is fenced by the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held<'a> {
    pub code: &'a UniqueCode,
    pub token: &'a ClaimToken,
}

/// Result of claiming a `unique_code` in the idempotency ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had claimed it: this attempt owns the send.
    Claimed(ClaimToken),
    /// A previous attempt's lease expired without recording a message id: this attempt
    /// owns the send again, but the earlier one may have reached SES (ambiguous retry).
    Reclaimed(ClaimToken),
    /// Already sent: acknowledge without sending. Carries the recorded SES message id.
    AlreadySent(MessageId),
    /// Another attempt holds a live lease for `lease_left` more: wait at least that long
    /// (do not send, do not dead-letter).
    InFlight { lease_left: Duration },
}

impl Claim {
    /// The token of a claim this attempt holds (`Claimed` / `Reclaimed`).
    pub fn token(&self) -> Option<&ClaimToken> {
        match self {
            Claim::Claimed(t) | Claim::Reclaimed(t) => Some(t),
            Claim::AlreadySent(_) | Claim::InFlight { .. } => None,
        }
    }
}

/// What `record_sent` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The claim was still this attempt's: the normal case.
    Owned,
    /// Another attempt had re-taken the claim after this one's lease expired, so it may send
    /// too. The code is recorded as sent all the same (the first message id recorded stays):
    /// no later attempt may send it again.
    Superseded,
}

/// Idempotency ledger keyed by `unique_code` (DynamoDB conditional writes / SQLite).
///
/// Semantics every adapter shares (the contract in `contract::ledger` checks them): a claim
/// is atomic and carries a fresh [`ClaimToken`]; a lease is live while `lease_until > now`;
/// `record_sent` always records a send (a send that happened must never be forgotten) but
/// never replaces a message id already recorded; `release` deletes a claim only while it is
/// still the caller's (same token) and unsent.
pub trait Ledger: Send + Sync {
    /// Claim `code` for `lease`. Must be atomic (conditional write).
    fn claim(
        &self,
        code: &UniqueCode,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, PortError>> + Send;
    /// Record that the held code was accepted by SES with message `id`, fenced by its token.
    fn record_sent(
        &self,
        held: Held<'_>,
        id: &MessageId,
    ) -> impl Future<Output = Result<Recorded, PortError>> + Send;
    /// Give the held claim back (the send failed in a way that is known not to have reached
    /// SES), so that a retry can claim it immediately. No effect if the claim is no longer the
    /// caller's or the code was sent.
    fn release(&self, held: Held<'_>) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Renew the held claim for `lease` from now (a heartbeat while its send is in flight,
    /// so that no other attempt re-takes a claim whose send has not answered yet). `true` when
    /// the claim was still the caller's and unsent and its lease now ends `lease` from now;
    /// `false` (nothing changed) when the code was sent, released, or re-taken by another
    /// attempt. Conditional like `release`.
    fn extend(
        &self,
        held: Held<'_>,
        lease: Duration,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// [`claim`](Ledger::claim) every code of `codes` for `lease` (the entries of one bulk
    /// call): one answer per code, in order, each with exactly the single claim's semantics
    /// (atomic per code, a fresh token each, `InFlight` with its lease left); one code's
    /// failure is that code's answer. The default runs the single claims concurrently; a store
    /// that can write many rows at once (SQLite: one transaction) overrides it.
    fn claim_many(
        &self,
        codes: &[UniqueCode],
        lease: Duration,
    ) -> impl Future<Output = Vec<Result<Claim, PortError>>> + Send {
        futures::future::join_all(codes.iter().map(move |code| self.claim(code, lease)))
    }

    /// [`record_sent`](Ledger::record_sent) every `(code, token, message id)` of `sent`: one
    /// answer per entry, in order, each with exactly the single record's semantics (fenced by
    /// its token, never forgetting a send, never replacing a recorded message id). The default
    /// runs the single records concurrently.
    fn record_sent_many(
        &self,
        sent: &[(UniqueCode, ClaimToken, MessageId)],
    ) -> impl Future<Output = Vec<Result<Recorded, PortError>>> + Send {
        futures::future::join_all(
            sent.iter()
                .map(move |(code, token, mid)| self.record_sent(Held { code, token }, mid)),
        )
    }
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
    /// `SendingEnabled`: false while sending is paused for the account.
    pub sending_enabled: bool,
}

/// The most entries one [`Mailer::send_bulk`] call carries (SES `SendBulkEmail`'s 50).
pub const MAX_BULK_ENTRIES: usize = 50;

/// One entry's answer in a bulk send: accepted with its own message id, or not accepted. A
/// failed entry's [`SendFailure::code`] is the SES entry status (`ACCOUNT_THROTTLED`,
/// `MESSAGE_REJECTED`, `TRANSIENT_FAILURE`, ...), which [`crate::classify`] understands as it
/// understands the error codes of a single send.
pub type BulkEntryResult = Result<MessageId, SendFailure>;

/// Sends email through SES v2: one email (`SendEmail` with a template) or several sharing a
/// sender, a template and a configuration set (`SendBulkEmail`).
pub trait Mailer: Send + Sync {
    fn send(
        &self,
        email: &OutgoingEmail,
    ) -> impl Future<Output = Result<MessageId, SendFailure>> + Send;
    /// Send `emails` in one call. Every email has the same `from`, `template_name` and
    /// `configuration_set` (the caller groups them), and there are at most
    /// [`MAX_BULK_ENTRIES`]; each keeps its own recipient, template data, tags and
    /// `unique_code`. `Ok` holds one result per email, in the same order (SES answered the
    /// call; each entry succeeded or failed on its own). `Err` is a failure of the whole call,
    /// classified as a single send's failure is: no entry was sent, unless `maybe_sent` (no
    /// answer after the request may have been written: any entry may have been sent).
    fn send_bulk(
        &self,
        emails: &[OutgoingEmail],
    ) -> impl Future<Output = Result<Vec<BulkEntryResult>, SendFailure>> + Send;
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

/// Puts records back on the source queue to wait, without spending their receive budget
/// (SQS `SendMessage` of a copy with `DelaySeconds`; the original is acknowledged).
pub trait Parking: Send + Sync {
    /// Park every record. Returns the source message ids that could NOT be parked; those
    /// records are returned as batch item failures instead (never dropped).
    fn park(&self, records: &[ParkedRecord]) -> impl Future<Output = Vec<String>> + Send;
}

/// The fleet's shared send schedule: every instance reserves its send slots here, so that
/// the instances together never send faster than the account's rate, whatever their number
/// and phase (a DynamoDB item on AWS, a SQLite row locally).
pub trait SendSchedule: Send + Sync {
    /// Make `request` ([`Reservation`]): the answer is how long to wait, counted from the
    /// answer, until the block's first slot (zero when it is already due), or `None` when
    /// nothing was reserved. The schedule applies [`Reservation::place`] atomically.
    fn reserve(
        &self,
        request: Reservation,
    ) -> impl Future<Output = Result<Option<Duration>, PortError>> + Send;
}

/// A request to the [`SendSchedule`]: `tokens` consecutive slots `interval` apart. The first
/// slot is the schedule's next free slot, but no earlier than `burst` before now. If that
/// first slot is more than `max_wait` away nothing is reserved; otherwise the schedule's next
/// free slot moves to `first + tokens × interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub tokens: u32,
    pub interval: Duration,
    pub burst: Duration,
    pub max_wait: Duration,
}

/// Where a [`Reservation`] lands, in the schedule's own microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The block's first slot.
    pub first_us: i64,
    /// The schedule's next free slot after the block.
    pub next_free_us: i64,
}

impl Reservation {
    /// The rule every schedule applies (one place, so the in-memory, SQLite and DynamoDB
    /// schedules cannot drift apart): given the schedule's next free slot (`None`: the
    /// schedule is new) and now, both in microseconds on the schedule's clock, where the block
    /// goes, or `None` when its first slot is more than `max_wait` away.
    pub fn place(&self, next_free_us: Option<i64>, now_us: i64) -> Option<Placement> {
        let earliest = now_us.saturating_sub(micros(self.burst));
        let first_us = next_free_us.unwrap_or(now_us).max(earliest);
        if first_us.saturating_sub(now_us) > micros(self.max_wait) {
            return None;
        }
        let span = micros(self.interval).saturating_mul(i64::from(self.tokens));
        Some(Placement {
            first_us,
            next_free_us: first_us.saturating_add(span),
        })
    }
}

/// Instances that share one schedule or queue hold it behind an `Arc`.
impl<T: Parking> Parking for std::sync::Arc<T> {
    async fn park(&self, records: &[ParkedRecord]) -> Vec<String> {
        T::park(self, records).await
    }
}

impl<T: SendSchedule> SendSchedule for std::sync::Arc<T> {
    async fn reserve(&self, request: Reservation) -> Result<Option<Duration>, PortError> {
        T::reserve(self, request).await
    }
}

/// A ledger shared by several processors (instances of one fleet in a test or benchmark).
impl<T: Ledger> Ledger for std::sync::Arc<T> {
    async fn claim(&self, code: &UniqueCode, lease: Duration) -> Result<Claim, PortError> {
        T::claim(self, code, lease).await
    }
    async fn record_sent(&self, held: Held<'_>, id: &MessageId) -> Result<Recorded, PortError> {
        T::record_sent(self, held, id).await
    }
    async fn release(&self, held: Held<'_>) -> Result<(), PortError> {
        T::release(self, held).await
    }
    async fn extend(&self, held: Held<'_>, lease: Duration) -> Result<bool, PortError> {
        T::extend(self, held, lease).await
    }
    async fn claim_many(
        &self,
        codes: &[UniqueCode],
        lease: Duration,
    ) -> Vec<Result<Claim, PortError>> {
        T::claim_many(self, codes, lease).await
    }
    async fn record_sent_many(
        &self,
        sent: &[(UniqueCode, ClaimToken, MessageId)],
    ) -> Vec<Result<Recorded, PortError>> {
        T::record_sent_many(self, sent).await
    }
}

/// A mailer shared by several processors (one simulated SES account for a fleet).
impl<T: Mailer> Mailer for std::sync::Arc<T> {
    async fn send(&self, email: &OutgoingEmail) -> Result<MessageId, SendFailure> {
        T::send(self, email).await
    }
    async fn send_bulk(
        &self,
        emails: &[OutgoingEmail],
    ) -> Result<Vec<BulkEntryResult>, SendFailure> {
        T::send_bulk(self, emails).await
    }
    async fn quota(&self) -> Result<SendQuota, PortError> {
        T::quota(self).await
    }
}

/// Everything the batch processor talks to, by name: `BatchProcessor::new(ports, settings)`.
#[derive(Debug, Clone, Default)]
pub struct Ports<C, L, M, D, V, P, S, G> {
    pub customers: C,
    pub ledger: L,
    pub mailer: M,
    pub dead_letters: D,
    pub visibility: V,
    pub parking: P,
    pub schedule: S,
    /// The campaigns' states (read once per batch, cached; cancelled records recorded).
    pub campaigns: G,
}

/// The adapter types of one [`Ports`] value, so that the processor takes one type parameter
/// (`BatchProcessor<Ports<…>>`, usually behind an alias such as `AwsPorts`).
pub trait PortSet: Send + Sync + 'static {
    type Customers: CustomerStore + 'static;
    type Ledger: Ledger + 'static;
    type Mailer: Mailer + 'static;
    type DeadLetters: DeadLetterSink + 'static;
    type Visibility: VisibilityControl + 'static;
    type Parking: Parking + 'static;
    type Schedule: SendSchedule + 'static;
    type Campaigns: CampaignControl + 'static;

    /// The ports themselves.
    #[allow(clippy::type_complexity)]
    fn into_ports(
        self,
    ) -> Ports<
        Self::Customers,
        Self::Ledger,
        Self::Mailer,
        Self::DeadLetters,
        Self::Visibility,
        Self::Parking,
        Self::Schedule,
        Self::Campaigns,
    >;
}

impl<C, L, M, D, V, P, S, G> PortSet for Ports<C, L, M, D, V, P, S, G>
where
    C: CustomerStore + 'static,
    L: Ledger + 'static,
    M: Mailer + 'static,
    D: DeadLetterSink + 'static,
    V: VisibilityControl + 'static,
    P: Parking + 'static,
    S: SendSchedule + 'static,
    G: CampaignControl + 'static,
{
    type Customers = C;
    type Ledger = L;
    type Mailer = M;
    type DeadLetters = D;
    type Visibility = V;
    type Parking = P;
    type Schedule = S;
    type Campaigns = G;

    fn into_ports(self) -> Self {
        self
    }
}
