//! `BulkEmailStatus`: the status of one SendBulkEmail entry, with the wire values of the SES v2
//! service model (botocore `sesv2` 2019-09-27 and `aws-sdk-sesv2`'s `BulkEmailStatus`). The
//! API reference's prose lists `CONFIGURATION_SET_DOES_NOT_EXIST`, `TEMPLATE_DOES_NOT_EXIST` and
//! `INVALID_PARAMETER_VALUE` instead; the SDKs only parse the model's values into their enum
//! (anything else becomes `Unknown`), so the model's spelling is what goes on the wire.

/// The status of one entry of a SendBulkEmail answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BulkStatus {
    Success,
    MessageRejected,
    MailFromDomainNotVerified,
    ConfigurationSetNotFound,
    TemplateNotFound,
    AccountSuspended,
    AccountThrottled,
    AccountDailyQuotaExceeded,
    InvalidSendingPoolName,
    AccountSendingPaused,
    ConfigurationSetSendingPaused,
    InvalidParameter,
    TransientFailure,
    Failed,
}

/// Every status, in the model's order (keys of `bulk_entry_statuses` in `/_sim/stats`).
pub(crate) const BULK_STATUSES: [BulkStatus; 14] = [
    BulkStatus::Success,
    BulkStatus::MessageRejected,
    BulkStatus::MailFromDomainNotVerified,
    BulkStatus::ConfigurationSetNotFound,
    BulkStatus::TemplateNotFound,
    BulkStatus::AccountSuspended,
    BulkStatus::AccountThrottled,
    BulkStatus::AccountDailyQuotaExceeded,
    BulkStatus::InvalidSendingPoolName,
    BulkStatus::AccountSendingPaused,
    BulkStatus::ConfigurationSetSendingPaused,
    BulkStatus::InvalidParameter,
    BulkStatus::TransientFailure,
    BulkStatus::Failed,
];

impl BulkStatus {
    /// The wire value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::MessageRejected => "MESSAGE_REJECTED",
            Self::MailFromDomainNotVerified => "MAIL_FROM_DOMAIN_NOT_VERIFIED",
            Self::ConfigurationSetNotFound => "CONFIGURATION_SET_NOT_FOUND",
            Self::TemplateNotFound => "TEMPLATE_NOT_FOUND",
            Self::AccountSuspended => "ACCOUNT_SUSPENDED",
            Self::AccountThrottled => "ACCOUNT_THROTTLED",
            Self::AccountDailyQuotaExceeded => "ACCOUNT_DAILY_QUOTA_EXCEEDED",
            Self::InvalidSendingPoolName => "INVALID_SENDING_POOL_NAME",
            Self::AccountSendingPaused => "ACCOUNT_SENDING_PAUSED",
            Self::ConfigurationSetSendingPaused => "CONFIGURATION_SET_SENDING_PAUSED",
            Self::InvalidParameter => "INVALID_PARAMETER",
            Self::TransientFailure => "TRANSIENT_FAILURE",
            Self::Failed => "FAILED",
        }
    }

    /// Position in [`BULK_STATUSES`] (the counter index).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order_and_names_are_distinct() {
        for (i, s) in BULK_STATUSES.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
        let mut names: Vec<&str> = BULK_STATUSES.iter().map(|s| s.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 14);
    }
}
