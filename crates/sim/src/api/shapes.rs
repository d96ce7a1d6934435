//! Request shapes: the serde structs of the REST-JSON bodies, field names as in the SES v2
//! service model (PascalCase).

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendEmailRequest {
    pub from_email_address: Option<String>,
    pub destination: Option<DestinationIn>,
    pub content: Option<EmailContent>,
    pub email_tags: Option<Vec<MessageTag>>,
    pub configuration_set_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DestinationIn {
    pub to_addresses: Option<Vec<String>>,
    pub cc_addresses: Option<Vec<String>>,
    pub bcc_addresses: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EmailContent {
    pub simple: Option<SimpleMessage>,
    pub raw: Option<RawMessage>,
    pub template: Option<TemplateIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SimpleMessage {
    pub subject: Option<ContentIn>,
    pub body: Option<BodyIn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BodyIn {
    pub text: Option<ContentIn>,
    pub html: Option<ContentIn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContentIn {
    pub data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RawMessage {
    /// Base64 (a blob in REST-JSON).
    pub data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TemplateIn {
    pub template_name: Option<String>,
    pub template_arn: Option<String>,
    pub template_content: Option<TemplateContentIn>,
    pub template_data: Option<String>,
    /// Headers added to the message (SendBulkEmail uses them; at most 15).
    pub headers: Option<Vec<MessageHeaderIn>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TemplateContentIn {
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MessageTag {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MessageHeaderIn {
    pub name: String,
    pub value: String,
}

/// SendBulkEmail (`POST /v2/email/outbound-bulk-emails`). `FeedbackForwardingEmailAddress`,
/// `ConfigurationOverrides`, `EndpointId`, `TenantName` and `Template.Attachments` are
/// accepted and not used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendBulkEmailRequest {
    pub from_email_address: Option<String>,
    pub from_email_address_identity_arn: Option<String>,
    pub reply_to_addresses: Option<Vec<String>>,
    pub default_email_tags: Option<Vec<MessageTag>>,
    pub default_content: Option<BulkEmailContentIn>,
    pub bulk_email_entries: Option<Vec<BulkEmailEntryIn>>,
    pub configuration_set_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BulkEmailContentIn {
    pub template: Option<TemplateIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BulkEmailEntryIn {
    pub destination: Option<DestinationIn>,
    pub replacement_tags: Option<Vec<MessageTag>>,
    pub replacement_email_content: Option<ReplacementEmailContentIn>,
    pub replacement_headers: Option<Vec<MessageHeaderIn>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReplacementEmailContentIn {
    pub replacement_template: Option<ReplacementTemplateIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReplacementTemplateIn {
    pub replacement_template_data: Option<String>,
}

/// CreateEmailTemplate and UpdateEmailTemplate (the name of an update is in the path).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateTemplateRequest {
    pub template_name: Option<String>,
    pub template_content: Option<TemplateContentIn>,
}

/// TestRenderEmailTemplate.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TestRenderRequest {
    pub template_data: Option<String>,
}

/// PutAccountSendingAttributes and PutConfigurationSetSendingOptions (an absent
/// `SendingEnabled` is false).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendingEnabledRequest {
    pub sending_enabled: Option<bool>,
}

/// `POST /_sim/account/sending` and `POST /_sim/configuration-sets/{name}/sending`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimSendingSwitch {
    pub enabled: bool,
}

/// `POST /_sim/account/suspension`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimSuspensionSwitch {
    pub suspended: bool,
}

/// ListConfigurationSets as the current model sends it (`POST`, body).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListConfigurationSetsRequest {
    pub next_token: Option<String>,
    pub page_size: Option<i64>,
}
