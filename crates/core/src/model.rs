//! Domain values shared by the processor and every adapter.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Customer id as sent by the load generator (`"42"` or `42` on the wire; always a string here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub String);

/// Caller-chosen idempotency key of one email (`unique_code`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UniqueCode(pub String);

/// SES message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageId(pub String);

macro_rules! display_newtype {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str { &self.0 }
        }
    )*};
}
display_newtype!(UserId, UniqueCode, MessageId);

/// An SES message tag (`EmailTags[]`, `{"Name","Value"}` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// Personalisation attributes of one customer (string attributes only; `user_id` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Customer {
    pub user_id: UserId,
    pub attributes: BTreeMap<String, String>,
}

/// One record as the event source delivers it (SQS message), independent of AWS types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    /// Queue message id: the `itemIdentifier` of a batch item failure.
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ApproximateReceiveCount` (1 on first delivery). A parked record comes back as a new
    /// message, so its count starts again.
    pub receive_count: u32,
    /// How many times this record was parked before (message attribute
    /// [`park_attributes::COUNT`]; 0 for a record as the ingest queued it).
    pub park_count: u32,
}

/// A validated send request (the queue message body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub from: String,
    pub to: String,
    pub template_name: String,
    pub user_id: UserId,
    /// `None`: use the configured default configuration set.
    pub config_set: Option<String>,
    pub tags: Vec<Tag>,
    pub unique_code: UniqueCode,
}

/// Everything the mailer needs for one `SendEmail` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: String,
    pub template_name: String,
    /// JSON object string: customer attributes + `unique_code`.
    pub template_data: String,
    pub configuration_set: Option<String>,
    pub tags: Vec<Tag>,
    pub unique_code: UniqueCode,
}

/// Why a record can never succeed. `code()` is the stable machine-readable reason written
/// to the DLQ (message attribute `sesload_reason`) and used in metrics and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DlqReason {
    /// Body is not JSON.
    InvalidJson,
    /// JSON that does not match the send-request schema (missing field, wrong type...).
    SchemaViolation,
    /// Recipient domain not in the allow-list.
    RecipientNotAllowed,
    /// No customer with this `user_id`.
    UnknownCustomer,
    /// A tag name or value SES would reject (charset or length).
    InvalidTag,
    /// SES `MessageRejected`.
    SesRejected,
    /// SES `MailFromDomainNotVerifiedException` or unverified sender.
    SenderNotVerified,
    /// SES `NotFoundException` (template or configuration set does not exist).
    SesNotFound,
    /// SES `BadRequestException` and other permanent 4xx.
    SesBadRequest,
    /// The record kept failing transiently until the queue's `maxReceiveCount`.
    RetriesExhausted,
    /// SES answered `AccessDeniedException` (HTTP 403): the poller's role may not send with
    /// the sender identity, template or configuration set the request names.
    AccessDenied,
    /// SES answered `AccountSuspendedException`: the account may not send at all until AWS
    /// lifts the suspension; redrive the records by this reason afterwards.
    AccountSuspended,
}

impl DlqReason {
    pub const ALL: [DlqReason; 12] = [
        DlqReason::InvalidJson,
        DlqReason::SchemaViolation,
        DlqReason::RecipientNotAllowed,
        DlqReason::UnknownCustomer,
        DlqReason::InvalidTag,
        DlqReason::SesRejected,
        DlqReason::SenderNotVerified,
        DlqReason::SesNotFound,
        DlqReason::SesBadRequest,
        DlqReason::RetriesExhausted,
        DlqReason::AccessDenied,
        DlqReason::AccountSuspended,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DlqReason::InvalidJson => "invalid_json",
            DlqReason::SchemaViolation => "schema_violation",
            DlqReason::RecipientNotAllowed => "recipient_not_allowed",
            DlqReason::UnknownCustomer => "unknown_customer",
            DlqReason::InvalidTag => "invalid_tag",
            DlqReason::SesRejected => "ses_rejected",
            DlqReason::SenderNotVerified => "sender_not_verified",
            DlqReason::SesNotFound => "ses_not_found",
            DlqReason::SesBadRequest => "ses_bad_request",
            DlqReason::RetriesExhausted => "retries_exhausted",
            DlqReason::AccessDenied => "access_denied",
            DlqReason::AccountSuspended => "account_suspended",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for DlqReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A record on its way to the DLQ: the original body, unchanged, plus why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Queue message id of the source record.
    pub source_message_id: String,
    pub body: String,
    pub reason: DlqReason,
    /// Human-readable detail naming the bad value (e.g. `recipient domain "gmail.com" is not allowed`).
    pub detail: String,
}

/// Message attribute names used on DLQ messages (SQS and local).
pub mod dlq_attributes {
    pub const REASON: &str = "sesload_reason";
    pub const DETAIL: &str = "sesload_detail";
    pub const SOURCE_MESSAGE_ID: &str = "sesload_source_message_id";
}

/// Why a record was parked: put back on the source queue to wait, as a new message with a
/// delay, so that waiting never spends its receive budget. `code()` is the stable reason
/// written to the message attribute [`park_attributes::REASON`] and used in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkReason {
    /// SES throttled the send (`TooManyRequestsException`): the account is busy.
    Throttled,
    /// The account's rolling 24-hour quota is used up (`LimitExceededException`, or
    /// `SentLast24Hours` has reached `Max24HourSend`).
    DailyQuota,
    /// Sending is paused for the account or the configuration set (`SendingPausedException`).
    SendingPaused,
    /// Another attempt holds a live claim on the record's `unique_code`.
    ClaimInFlight,
    /// The invocation's deadline came before the record's turn to send.
    Deadline,
    /// `GetAccount` has never answered, so the account's rate is unknown.
    QuotaUnknown,
    /// The record's campaign is paused.
    CampaignPaused,
}

impl ParkReason {
    pub const ALL: [ParkReason; 7] = [
        ParkReason::Throttled,
        ParkReason::DailyQuota,
        ParkReason::SendingPaused,
        ParkReason::ClaimInFlight,
        ParkReason::Deadline,
        ParkReason::QuotaUnknown,
        ParkReason::CampaignPaused,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ParkReason::Throttled => "throttled",
            ParkReason::DailyQuota => "daily_quota",
            ParkReason::SendingPaused => "sending_paused",
            ParkReason::ClaimInFlight => "claim_in_flight",
            ParkReason::Deadline => "deadline",
            ParkReason::QuotaUnknown => "quota_unknown",
            ParkReason::CampaignPaused => "campaign_paused",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for ParkReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A record on its way back to the source queue to wait: the original body, unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedRecord {
    /// Queue message id of the source record (acknowledged once the copy is queued).
    pub source_message_id: String,
    /// Receipt handle of the source record (a local queue deletes it in the same transaction).
    pub receipt_handle: String,
    pub body: String,
    pub reason: ParkReason,
    /// How long the copy stays invisible (SQS caps `DelaySeconds` at 900 s).
    pub delay: std::time::Duration,
    /// The copy's park count: the source record's plus one.
    pub park_count: u32,
}

/// Message attribute names used on parked copies (SQS and local).
pub mod park_attributes {
    pub const REASON: &str = "sesload_park_reason";
    pub const COUNT: &str = "sesload_park_count";
}
