//! SES v2 mailer: `SendEmail` with a stored template, `SendBulkEmail` for several emails of one
//! sender, template and configuration set, `GetAccount` for the quota.
//!
//! SDK retries are **off** for this client (max attempts 1): the poller owns retries
//! (visibility delay + AIMD pacing). With the SDK's default standard retry strategy a
//! `TooManyRequestsException` would be retried up to 3 times inside one `send` call, hiding
//! the throttle from the pacer and multiplying the load exactly when SES asks for less.
//! Timeouts are explicit so that a stuck connection cannot eat the Lambda's time budget.

use std::time::Duration;

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{
    BulkEmailContent, BulkEmailEntry, BulkEmailEntryResult, BulkEmailStatus, Destination,
    EmailContent, MessageTag, ReplacementEmailContent, ReplacementTemplate, Template,
};
use sesload_core::{
    BulkEntryResult, Mailer, MessageId, OutgoingEmail, PortError, SendFailure, SendQuota, Tag,
};

/// Connect timeout of the SES client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Timeout of one SendEmail / GetAccount attempt (SES answers in ~50 ms).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The SES client configuration the poller uses: no SDK retries, explicit timeouts.
pub fn ses_config(sdk: &aws_config::SdkConfig) -> aws_sdk_sesv2::config::Builder {
    with_poller_policy(aws_sdk_sesv2::config::Builder::from(sdk))
}

/// Apply the poller's retry and timeout policy to an SES client configuration.
pub fn with_poller_policy(b: aws_sdk_sesv2::config::Builder) -> aws_sdk_sesv2::config::Builder {
    b.retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
}

/// An SES client for an endpoint such as `sesload sim` (static dummy credentials, no
/// retries, the poller's timeouts).
pub fn ses_client_for_endpoint(endpoint_url: &str, region: &str) -> Client {
    let conf = aws_sdk_sesv2::config::Builder::new()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "sesload",
            "sesload",
            None,
            None,
            "sesload-static",
        ))
        .endpoint_url(endpoint_url);
    let conf = with_poller_policy(conf).build();
    Client::from_conf(conf)
}

/// [`Mailer`] over `aws-sdk-sesv2`.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Turn an SDK error into a [`SendFailure`] classified later by its code.
///
/// Whether SES may have accepted the email (`maybe_sent`) follows the Smithy runtime's own
/// reading of transport failures: an answer SES gave is certain (`maybe_sent = false`); a
/// connection that was never made (refused, DNS failure, connect timeout: the HTTP client's
/// `Connect` error) never carried the request (`Dispatch`, `false`); any other transport failure
/// — a timeout, a reset or a connection closed after the request may have been written, an
/// answer that could not be read — "MAY have been sent" (`true`).
pub fn send_failure<E>(err: SdkError<E, aws_sdk_sesv2::config::http::HttpResponse>) -> SendFailure
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let e = se.err();
            SendFailure {
                code: e
                    .code()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("Http{status}")),
                message: e.message().unwrap_or_default().to_string(),
                status: Some(status),
                maybe_sent: false,
            }
        }
        SdkError::TimeoutError(_) => SendFailure {
            code: "Timeout".into(),
            message: format!("{err:?}"),
            status: None,
            // the request may have been written before the timeout
            maybe_sent: true,
        },
        SdkError::DispatchFailure(d) => {
            let never_connected = d.as_connector_error().is_some_and(|c| failed_to_connect(c));
            SendFailure {
                code: if d.is_timeout() && !never_connected {
                    "Timeout".into()
                } else {
                    "Dispatch".into()
                },
                message: format!("{err:?}"),
                status: None,
                maybe_sent: !never_connected,
            }
        }
        SdkError::ResponseError(r) => SendFailure {
            code: "ResponseError".into(),
            message: format!("{err:?}"),
            status: Some(r.raw().status().as_u16()),
            // SES answered something we could not read: it may have accepted the email
            maybe_sent: true,
        },
        _ => SendFailure {
            code: "ConstructionFailure".into(),
            message: format!("{err:?}"),
            status: None,
            maybe_sent: false,
        },
    }
}

/// Whether a dispatch failure happened while connecting (the HTTP client's `Connect` error
/// anywhere in the chain: refused, DNS, connect timeout), so the request was never written.
fn failed_to_connect(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|h| h.is_connect())
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The SES message tags of an email; a tag the SDK cannot build is a `BadRequestException`
/// naming it (nothing was sent).
fn message_tags(tags: &[Tag]) -> Result<Vec<MessageTag>, SendFailure> {
    tags.iter()
        .map(|t| {
            MessageTag::builder()
                .name(&t.name)
                .value(&t.value)
                .build()
                .map_err(|e| SendFailure {
                    code: "BadRequestException".into(),
                    message: format!("tag {:?}={:?}: {e}", t.name, t.value),
                    status: None,
                    maybe_sent: false,
                })
        })
        .collect()
}

/// One `SendBulkEmail` entry: the recipient, the email's own template data as
/// `ReplacementTemplateData` and its tags (the request's, `campaign` among them, and
/// `unique_code`) as `ReplacementTags`.
fn bulk_entry(email: &OutgoingEmail) -> Result<BulkEmailEntry, SendFailure> {
    Ok(BulkEmailEntry::builder()
        .destination(Destination::builder().to_addresses(&email.to).build())
        .set_replacement_tags(Some(message_tags(&email.tags)?))
        .replacement_email_content(
            ReplacementEmailContent::builder()
                .replacement_template(
                    ReplacementTemplate::builder()
                        .replacement_template_data(&email.template_data)
                        .build(),
                )
                .build(),
        )
        .build())
}

/// One entry's answer: `SUCCESS` with a message id is sent; any other status is a failure whose
/// code is the status (classified by `sesload_core::classify`), certainly not sent. An answer
/// missing for an entry, or `SUCCESS` without a message id, is a `ResponseError` that may have
/// been sent.
fn entry_result(r: Option<&BulkEmailEntryResult>) -> BulkEntryResult {
    let unreadable = |message: &str| SendFailure {
        code: "ResponseError".into(),
        message: message.into(),
        status: Some(200),
        maybe_sent: true,
    };
    let Some(r) = r else {
        return Err(unreadable(
            "SendBulkEmail answered no result for this entry",
        ));
    };
    match r.status() {
        Some(BulkEmailStatus::Success) => match r.message_id() {
            Some(id) if !id.is_empty() => Ok(MessageId(id.to_string())),
            _ => Err(unreadable(
                "SendBulkEmail entry SUCCESS without a MessageId",
            )),
        },
        Some(status) => Err(SendFailure {
            code: status.as_str().to_string(),
            message: r.error().unwrap_or_default().to_string(),
            status: None,
            maybe_sent: false,
        }),
        None => Err(unreadable("SendBulkEmail entry without a Status")),
    }
}

impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<MessageId, SendFailure> {
        let tags = message_tags(&email.tags)?;
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(
                EmailContent::builder()
                    .template(
                        Template::builder()
                            .template_name(&email.template_name)
                            .template_data(&email.template_data)
                            .build(),
                    )
                    .build(),
            )
            .set_email_tags(Some(tags))
            .set_configuration_set_name(email.configuration_set.clone())
            .send()
            .await
            .map_err(send_failure)?;
        match out.message_id() {
            Some(id) if !id.is_empty() => Ok(MessageId(id.to_string())),
            _ => Err(SendFailure {
                code: "ResponseError".into(),
                message: "SendEmail answered without a MessageId".into(),
                status: Some(200),
                maybe_sent: true,
            }),
        }
    }

    /// `SendBulkEmail`: `FromEmailAddress`, `DefaultContent.Template` (the template name and
    /// empty default data: every entry brings all of its own), `ConfigurationSetName`, one
    /// [entry](bulk_entry) per email. An email whose entry cannot be built fails alone
    /// (`BadRequestException`) and is left out of the call.
    async fn send_bulk(
        &self,
        emails: &[OutgoingEmail],
    ) -> Result<Vec<BulkEntryResult>, SendFailure> {
        let Some(first) = emails.first() else {
            return Ok(Vec::new());
        };
        let built: Vec<Result<BulkEmailEntry, SendFailure>> =
            emails.iter().map(bulk_entry).collect();
        let entries: Vec<BulkEmailEntry> = built
            .iter()
            .filter_map(|b| b.as_ref().ok().cloned())
            .collect();
        let mut answers = if entries.is_empty() {
            Vec::new().into_iter()
        } else {
            let out = self
                .client
                .send_bulk_email()
                .from_email_address(&first.from)
                .default_content(
                    BulkEmailContent::builder()
                        .template(
                            Template::builder()
                                .template_name(&first.template_name)
                                .template_data("{}")
                                .build(),
                        )
                        .build(),
                )
                .set_bulk_email_entries(Some(entries))
                .set_configuration_set_name(first.configuration_set.clone())
                .send()
                .await
                .map_err(send_failure)?;
            out.bulk_email_entry_results.into_iter()
        };
        Ok(built
            .into_iter()
            .map(|b| match b {
                Ok(_) => entry_result(answers.next().as_ref()),
                Err(f) => Err(f),
            })
            .collect())
    }

    async fn quota(&self) -> Result<SendQuota, PortError> {
        let out = self.client.get_account().send().await.map_err(|e| {
            let f = send_failure(e);
            PortError::new("ses.get_account", format!("{}: {}", f.code, f.message))
        })?;
        let q = out
            .send_quota()
            .ok_or_else(|| PortError::new("ses.get_account", "answer has no SendQuota"))?;
        Ok(SendQuota {
            max_send_rate: q.max_send_rate(),
            max_24_hour_send: Some(q.max24_hour_send()).filter(|v| *v >= 0.0),
            sent_last_24_hours: q.sent_last24_hours(),
            sending_enabled: out.sending_enabled(),
        })
    }
}
