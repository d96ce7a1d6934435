//! Why SES refuses to send, for a reason other than the request's syntax or IAM: the account
//! (suspended, paused), the configuration set (missing, paused, its IP pool missing), the
//! identities (sender or sandbox recipients not verified), the template (missing) or a quota.
//!
//! One [`Refusal`] has two faces: SendEmail (and a SendBulkEmail refused as a whole) answers it
//! as an HTTP error ([`Refusal::reply`]); SendBulkEmail can instead give it as the status of
//! each entry it concerns ([`Refusal::status`], with the same message as `Error`).

use std::sync::atomic::Ordering as AO;

use super::bulk::BulkStatus;
use crate::api::SimState;
use crate::api::stats::Counters;
use crate::api::wire::Reply;

/// `SendingPausedException` message of a paused account (SES's wording).
const ACCOUNT_PAUSED: &str = "Sending paused for this account. For more information, please check the inbox of the email address associated with your AWS account.";
/// `AccountSuspendedException` message (the SES v2 model's description of the error).
const ACCOUNT_SUSPENDED: &str = "The message can't be sent because the account's ability to send email has been permanently restricted.";

/// A send SES refuses; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    AccountSuspended,
    AccountPaused,
    ConfigSetNotFound(String),
    ConfigSetPaused(String),
    /// The configuration set's `DeliveryOptions.SendingPoolName` names a pool that does not
    /// exist (the simulator has no dedicated IP pools).
    SendingPoolNotFound {
        set: String,
        pool: String,
    },
    /// The sender's address (or domain) is not a verified identity.
    SenderNotVerified(String),
    /// Sandbox: these recipients are neither verified nor mailbox-simulator addresses.
    RecipientsNotVerified(Vec<String>),
    TemplateNotFound(String),
    /// Over `MaxSendRate`.
    Rate,
    /// Over `Max24HourSend`.
    Daily,
}

impl Refusal {
    /// The message SES gives (`message` of the HTTP error, `Error` of a bulk entry).
    pub(crate) fn message(&self, region: &str) -> String {
        let unverified = |who: &str| {
            format!(
                "Email address is not verified. The following identities failed the check in region {}: {who}",
                region.to_ascii_uppercase()
            )
        };
        match self {
            Self::AccountSuspended => ACCOUNT_SUSPENDED.to_owned(),
            Self::AccountPaused => ACCOUNT_PAUSED.to_owned(),
            Self::ConfigSetNotFound(n) => format!("Configuration set <{n}> does not exist."),
            Self::ConfigSetPaused(n) => format!("Sending is paused for configuration set {n}."),
            Self::SendingPoolNotFound { set, pool } => {
                format!("Dedicated IP pool <{pool}> of configuration set <{set}> does not exist.")
            }
            Self::SenderNotVerified(a) => unverified(a),
            Self::RecipientsNotVerified(list) => unverified(&list.join(", ")),
            Self::TemplateNotFound(n) => format!("Template {n} does not exist."),
            Self::Rate => "Maximum sending rate exceeded.".to_owned(),
            Self::Daily => "Daily message quota exceeded.".to_owned(),
        }
    }

    /// HTTP status and error code of the refusal as an error answer.
    fn code(&self) -> (u16, &'static str) {
        match self {
            Self::AccountSuspended => (400, "AccountSuspendedException"),
            Self::AccountPaused | Self::ConfigSetPaused(_) => (400, "SendingPausedException"),
            Self::ConfigSetNotFound(_)
            | Self::SendingPoolNotFound { .. }
            | Self::TemplateNotFound(_) => (404, "NotFoundException"),
            Self::SenderNotVerified(_) | Self::RecipientsNotVerified(_) => (400, "MessageRejected"),
            Self::Rate => (429, "TooManyRequestsException"),
            Self::Daily => (400, "LimitExceededException"),
        }
    }

    /// The status of a bulk entry refused for this reason.
    pub(crate) fn status(&self) -> BulkStatus {
        match self {
            Self::AccountSuspended => BulkStatus::AccountSuspended,
            Self::AccountPaused => BulkStatus::AccountSendingPaused,
            Self::ConfigSetNotFound(_) => BulkStatus::ConfigurationSetNotFound,
            Self::ConfigSetPaused(_) => BulkStatus::ConfigurationSetSendingPaused,
            Self::SendingPoolNotFound { .. } => BulkStatus::InvalidSendingPoolName,
            Self::SenderNotVerified(_) => BulkStatus::MailFromDomainNotVerified,
            Self::RecipientsNotVerified(_) => BulkStatus::MessageRejected,
            Self::TemplateNotFound(_) => BulkStatus::TemplateNotFound,
            Self::Rate => BulkStatus::AccountThrottled,
            Self::Daily => BulkStatus::AccountDailyQuotaExceeded,
        }
    }

    /// Counts an HTTP error answer of this kind in its `/_sim/stats` counter (the 404s are
    /// counted with the other client errors by the router).
    fn count(&self, c: &Counters) {
        let counter = match self {
            Self::AccountSuspended => &c.account_suspended,
            Self::AccountPaused | Self::ConfigSetPaused(_) => &c.sending_paused,
            Self::SenderNotVerified(_) | Self::RecipientsNotVerified(_) => &c.rejected,
            Self::Rate => &c.throttled,
            Self::Daily => &c.daily_quota_exceeded,
            Self::ConfigSetNotFound(_)
            | Self::SendingPoolNotFound { .. }
            | Self::TemplateNotFound(_) => return,
        };
        counter.fetch_add(1, AO::Relaxed);
    }
}

impl SimState {
    /// The HTTP error answer of `r`, counted.
    pub(crate) fn refuse(&self, r: Refusal) -> Reply {
        r.count(&self.counters);
        let (status, code) = r.code();
        Reply::error(status, code, r.message(&self.config.region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_an_error_code_and_a_distinct_bulk_status() {
        let all = [
            Refusal::AccountSuspended,
            Refusal::AccountPaused,
            Refusal::ConfigSetNotFound("s".into()),
            Refusal::ConfigSetPaused("s".into()),
            Refusal::SendingPoolNotFound {
                set: "s".into(),
                pool: "p".into(),
            },
            Refusal::SenderNotVerified("a@b.c".into()),
            Refusal::RecipientsNotVerified(vec!["a@b.c".into()]),
            Refusal::TemplateNotFound("t".into()),
            Refusal::Rate,
            Refusal::Daily,
        ];
        let mut statuses: Vec<&str> = all.iter().map(|r| r.status().as_str()).collect();
        statuses.sort();
        statuses.dedup();
        assert_eq!(statuses.len(), all.len());
        assert_eq!(Refusal::Rate.code(), (429, "TooManyRequestsException"));
        assert!(
            Refusal::RecipientsNotVerified(vec!["x@y.z".into(), "u@v.w".into()])
                .message("us-east-1")
                .ends_with("region US-EAST-1: x@y.z, u@v.w")
        );
    }
}
