//! Classification of SES send failures by error *code* (never by message text).

use crate::model::DlqReason;
use crate::ports::SendFailure;

/// What to do with a record whose send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// SES throttled us (`TooManyRequestsException`, `LimitExceededException`): slow the
    /// pacer down (multiplicative decrease) and retry later with a jittered delay.
    Throttled,
    /// Transient: 5xx, timeouts, connection errors, unknown codes. Retry later.
    Transient,
    /// The account cannot send right now (`AccountSuspendedException`,
    /// `SendingPausedException`): retry with the maximum delay and log loudly.
    AccountPaused,
    /// Will never succeed: dead-letter with this reason.
    Permanent(DlqReason),
}

impl FailureClass {
    pub fn is_retryable(self) -> bool {
        !matches!(self, FailureClass::Permanent(_))
    }
}

/// The classification table (documented in `docs/architecture.md`).
///
/// | code | class |
/// |---|---|
/// | `TooManyRequestsException`, `LimitExceededException`, `Throttling`, `ThrottlingException` | throttled |
/// | `AccountSuspendedException`, `SendingPausedException` | account paused (max delay, loud log) |
/// | `MessageRejected` | permanent `ses_rejected` |
/// | `MailFromDomainNotVerifiedException` | permanent `sender_not_verified` |
/// | `NotFoundException` | permanent `ses_not_found` |
/// | `BadRequestException` | permanent `ses_bad_request` |
/// | anything else (5xx, `InternalFailure`, `ServiceUnavailable`, `Timeout`, `Dispatch`, unknown) | transient |
///
/// Unknown codes are retried rather than dead-lettered: retrying never loses an email, and a
/// record that keeps failing ends in the queue's redrive DLQ after `maxReceiveCount`.
pub fn classify(failure: &SendFailure) -> FailureClass {
    match failure.code.as_str() {
        "TooManyRequestsException"
        | "LimitExceededException"
        | "Throttling"
        | "ThrottlingException" => FailureClass::Throttled,
        "AccountSuspendedException" | "SendingPausedException" => FailureClass::AccountPaused,
        "MessageRejected" => FailureClass::Permanent(DlqReason::SesRejected),
        "MailFromDomainNotVerifiedException" => {
            FailureClass::Permanent(DlqReason::SenderNotVerified)
        }
        "NotFoundException" => FailureClass::Permanent(DlqReason::SesNotFound),
        "BadRequestException" => FailureClass::Permanent(DlqReason::SesBadRequest),
        _ => FailureClass::Transient,
    }
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
            ("LimitExceededException", Some(400), Throttled),
            ("AccountSuspendedException", Some(400), AccountPaused),
            ("SendingPausedException", Some(400), AccountPaused),
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
    }
}
