//! Classification of SES send failures by error *code* (never by message text).

use crate::model::DlqReason;
use crate::ports::SendFailure;

/// What to do with a record whose send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// SES throttled the send (`TooManyRequestsException`): slow this instance down
    /// (multiplicative decrease) and park the record for a short, jittered delay.
    Throttled,
    /// The account's rolling 24-hour quota is used up (`LimitExceededException`): stop sending,
    /// park the record until the window frees capacity.
    DailyQuota,
    /// Sending is paused for the account or the configuration set (`SendingPausedException`):
    /// stop sending in that scope, park the record.
    SendingPaused,
    /// The account may not send at all (`AccountSuspendedException`): dead-letter
    /// (`account_suspended`) and call SES no more for the rest of the batch.
    AccountSuspended,
    /// Transient: 5xx, timeouts, connection errors, unknown codes. Retry later (a real failure:
    /// it spends the record's receive budget).
    Transient,
    /// Will never succeed: dead-letter with this reason (`AccessDeniedException` is
    /// `access_denied`: IAM denied the identity, template or configuration set).
    Permanent(DlqReason),
}

impl FailureClass {
    /// Whether the record comes back to be sent again (retried or parked), as opposed to the DLQ.
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            FailureClass::Permanent(_) | FailureClass::AccountSuspended
        )
    }
}

/// The classification table (documented in `docs/architecture.md`).
///
/// | code | class |
/// |---|---|
/// | `TooManyRequestsException`, `Throttling`, `ThrottlingException` | throttled (park) |
/// | `LimitExceededException` | daily quota (park, stop sending) |
/// | `SendingPausedException` | sending paused (park, stop sending in the scope) |
/// | `AccountSuspendedException` | account suspended (DLQ `account_suspended`) |
/// | `AccessDeniedException` | permanent `access_denied` |
/// | `MessageRejected` | permanent `ses_rejected` |
/// | `MailFromDomainNotVerifiedException` | permanent `sender_not_verified` |
/// | `NotFoundException` | permanent `ses_not_found` |
/// | `BadRequestException` | permanent `ses_bad_request` |
/// | anything else (5xx, `InternalFailure`, `ServiceUnavailable`, `Timeout`, `Dispatch`, unknown) | transient |
///
/// Unknown codes are retried rather than dead-lettered: retrying never loses an email, and a
/// record that keeps failing ends in the queue's redrive DLQ after `maxReceiveCount`.
///
/// A `SendBulkEmail` entry's status (`BulkEmailEntryResult.Status`) is classified like the
/// error a `SendEmail` would have met in its place:
///
/// | entry status | class |
/// |---|---|
/// | `ACCOUNT_THROTTLED` | throttled |
/// | `ACCOUNT_DAILY_QUOTA_EXCEEDED` | daily quota |
/// | `ACCOUNT_SENDING_PAUSED`, `CONFIGURATION_SET_SENDING_PAUSED` | sending paused |
/// | `ACCOUNT_SUSPENDED` | account suspended |
/// | `MESSAGE_REJECTED` | permanent `ses_rejected` |
/// | `MAIL_FROM_DOMAIN_NOT_VERIFIED` | permanent `sender_not_verified` |
/// | `TEMPLATE_NOT_FOUND`, `CONFIGURATION_SET_NOT_FOUND`, `INVALID_SENDING_POOL_NAME` (and the v1 spellings `TEMPLATE_DOES_NOT_EXIST`, `CONFIGURATION_SET_DOES_NOT_EXIST`) | permanent `ses_not_found` |
/// | `INVALID_PARAMETER` (`INVALID_PARAMETER_VALUE`) | permanent `ses_bad_request` |
/// | `TRANSIENT_FAILURE`, `FAILED`, any other status | transient |
pub fn classify(failure: &SendFailure) -> FailureClass {
    match failure.code.as_str() {
        "TooManyRequestsException" | "Throttling" | "ThrottlingException" | "ACCOUNT_THROTTLED" => {
            FailureClass::Throttled
        }
        "LimitExceededException" | "ACCOUNT_DAILY_QUOTA_EXCEEDED" => FailureClass::DailyQuota,
        "SendingPausedException"
        | "ACCOUNT_SENDING_PAUSED"
        | "CONFIGURATION_SET_SENDING_PAUSED" => FailureClass::SendingPaused,
        "AccountSuspendedException" | "ACCOUNT_SUSPENDED" => FailureClass::AccountSuspended,
        "AccessDeniedException" => FailureClass::Permanent(DlqReason::AccessDenied),
        "MessageRejected" | "MESSAGE_REJECTED" => FailureClass::Permanent(DlqReason::SesRejected),
        "MailFromDomainNotVerifiedException" | "MAIL_FROM_DOMAIN_NOT_VERIFIED" => {
            FailureClass::Permanent(DlqReason::SenderNotVerified)
        }
        "NotFoundException"
        | "TEMPLATE_NOT_FOUND"
        | "TEMPLATE_DOES_NOT_EXIST"
        | "CONFIGURATION_SET_NOT_FOUND"
        | "CONFIGURATION_SET_DOES_NOT_EXIST"
        | "INVALID_SENDING_POOL_NAME" => FailureClass::Permanent(DlqReason::SesNotFound),
        "BadRequestException" | "INVALID_PARAMETER" | "INVALID_PARAMETER_VALUE" => {
            FailureClass::Permanent(DlqReason::SesBadRequest)
        }
        _ => FailureClass::Transient,
    }
}

/// The resource IAM denied, from an `AccessDeniedException` message ("User: … is not
/// authorized to perform: ses:SendEmail on resource: arn:aws:ses:…:template/Name because …").
/// `None` when the message names none.
pub fn denied_resource(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("on resource")?;
    let rest = rest.trim_start_matches([':', ' ']);
    let token = rest.split_whitespace().next()?;
    let token = token.trim_matches(|c: char| matches!(c, '`' | '"' | '\'' | '.' | ','));
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(code: &str, status: Option<u16>, message: &str) -> SendFailure {
        SendFailure {
            code: code.into(),
            message: message.into(),
            status,
            maybe_sent: false,
        }
    }

    #[test]
    fn classification_table() {
        use FailureClass::*;
        let table = [
            ("TooManyRequestsException", Some(429), Throttled),
            ("LimitExceededException", Some(400), DailyQuota),
            ("AccountSuspendedException", Some(400), AccountSuspended),
            ("SendingPausedException", Some(400), SendingPaused),
            (
                "AccessDeniedException",
                Some(403),
                Permanent(DlqReason::AccessDenied),
            ),
            (
                "MessageRejected",
                Some(400),
                Permanent(DlqReason::SesRejected),
            ),
            (
                "MailFromDomainNotVerifiedException",
                Some(400),
                Permanent(DlqReason::SenderNotVerified),
            ),
            (
                "NotFoundException",
                Some(404),
                Permanent(DlqReason::SesNotFound),
            ),
            (
                "BadRequestException",
                Some(400),
                Permanent(DlqReason::SesBadRequest),
            ),
            ("InternalFailure", Some(500), Transient),
            ("ServiceUnavailable", Some(503), Transient),
            ("Timeout", None, Transient),
            ("Dispatch", None, Transient),
            ("SomethingNew", Some(400), Transient),
            // SendBulkEmail entry statuses (no HTTP status of their own)
            ("ACCOUNT_THROTTLED", None, Throttled),
            ("ACCOUNT_DAILY_QUOTA_EXCEEDED", None, DailyQuota),
            ("ACCOUNT_SENDING_PAUSED", None, SendingPaused),
            ("CONFIGURATION_SET_SENDING_PAUSED", None, SendingPaused),
            ("ACCOUNT_SUSPENDED", None, AccountSuspended),
            ("MESSAGE_REJECTED", None, Permanent(DlqReason::SesRejected)),
            (
                "MAIL_FROM_DOMAIN_NOT_VERIFIED",
                None,
                Permanent(DlqReason::SenderNotVerified),
            ),
            (
                "TEMPLATE_NOT_FOUND",
                None,
                Permanent(DlqReason::SesNotFound),
            ),
            (
                "CONFIGURATION_SET_NOT_FOUND",
                None,
                Permanent(DlqReason::SesNotFound),
            ),
            (
                "INVALID_SENDING_POOL_NAME",
                None,
                Permanent(DlqReason::SesNotFound),
            ),
            (
                "INVALID_PARAMETER",
                None,
                Permanent(DlqReason::SesBadRequest),
            ),
            ("TRANSIENT_FAILURE", None, Transient),
            ("FAILED", None, Transient),
        ];
        for (code, status, want) in table {
            assert_eq!(classify(&f(code, status, "")), want, "{code}");
        }
    }

    #[test]
    fn message_text_is_ignored() {
        // The original sample matched on "Maximum sending rate exceeded."; we do not.
        assert_eq!(
            classify(&f(
                "MessageRejected",
                Some(400),
                "Maximum sending rate exceeded."
            )),
            FailureClass::Permanent(DlqReason::SesRejected)
        );
        assert_eq!(
            classify(&f("TooManyRequestsException", Some(429), "anything")),
            FailureClass::Throttled
        );
        assert!(FailureClass::Throttled.is_retryable());
        assert!(!FailureClass::Permanent(DlqReason::SesRejected).is_retryable());
        assert!(!FailureClass::AccountSuspended.is_retryable());
        assert!(FailureClass::DailyQuota.is_retryable());
    }

    #[test]
    fn the_denied_resource_is_read_from_the_iam_message() {
        let m = "User: arn:aws:sts::123456789012:assumed-role/poller/x is not authorized to perform: \
                 ses:SendEmail on resource: arn:aws:ses:us-east-1:123456789012:template/Promo because \
                 no identity-based policy allows the ses:SendEmail action";
        assert_eq!(
            denied_resource(m),
            Some("arn:aws:ses:us-east-1:123456789012:template/Promo")
        );
        assert_eq!(
            denied_resource("not authorized to perform `ses:SendEmail` on resource `arn:x:y`."),
            Some("arn:x:y")
        );
        assert_eq!(denied_resource("Access denied"), None);
    }
}
