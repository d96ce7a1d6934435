//! The SES side of the stack: the simulator's configuration from `[sim]`, the SES resources the
//! stack creates through the real SDK, and the one definition of "delivered".

use std::path::Path;

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{
    EmailTemplateContent, EventDestinationDefinition, EventType, KinesisFirehoseDestination,
};
use sesload_local::LocalConfig;
use sesload_sim::{SimConfig, SimStats};

use crate::StackError;

/// Name of the event destination the stack creates on its configuration set.
pub const EVENT_DESTINATION: &str = "lake";

/// The simulator configuration of `cfg`: its `[sim]` table (verified identities default to
/// `sender_identity`), with the lake under `data_dir`
/// and no pre-made configuration sets (the stack creates its own through the SDK).
pub fn sim_config(cfg: &LocalConfig, data_dir: &Path) -> Result<SimConfig, StackError> {
    let mut table = cfg.sim_table();
    if !table.contains_key("configuration_sets") {
        table.insert("configuration_sets".into(), toml::Value::Array(Vec::new()));
    }
    let mut sc: SimConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| StackError::SimConfig(e.to_string()))?;
    if sc.events.lake_dir.is_none() {
        sc.events.lake_dir = Some(data_dir.join("lake"));
    }
    Ok(sc)
}

fn created_or_exists<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    operation: &'static str,
    name: &str,
    r: Result<T, aws_sdk_sesv2::error::SdkError<E, aws_sdk_sesv2::config::http::HttpResponse>>,
) -> Result<(), StackError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(StackError::SesSetup {
            operation,
            name: name.to_string(),
            message: match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => format!("{e:?}"),
            },
        }),
    }
}

/// Create the configuration set `configuration_set_name` with an event destination for every
/// event type (published into the lake), and the template `template_name`, through the SDK.
/// Idempotent: what exists already is kept.
pub async fn setup_ses(client: &Client, cfg: &LocalConfig) -> Result<(), StackError> {
    let set = &cfg.configuration_set_name;
    created_or_exists(
        "CreateConfigurationSet",
        set,
        client
            .create_configuration_set()
            .configuration_set_name(set)
            .send()
            .await,
    )?;
    let firehose = KinesisFirehoseDestination::builder()
        .iam_role_arn("arn:aws:iam::123456789012:role/sesload-local-firehose")
        .delivery_stream_arn(
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/sesload-local-lake",
        )
        .build()
        .map_err(|e| StackError::SesSetup {
            operation: "KinesisFirehoseDestination",
            name: set.clone(),
            message: e.to_string(),
        })?;
    let dest = EventDestinationDefinition::builder()
        .enabled(true)
        .set_matching_event_types(Some(vec![
            EventType::Send,
            EventType::Delivery,
            EventType::Bounce,
            EventType::Complaint,
            EventType::Reject,
            EventType::RenderingFailure,
            EventType::DeliveryDelay,
        ]))
        .kinesis_firehose_destination(firehose)
        .build();
    created_or_exists(
        "CreateConfigurationSetEventDestination",
        &format!("{set}/{EVENT_DESTINATION}"),
        client
            .create_configuration_set_event_destination()
            .configuration_set_name(set)
            .event_destination_name(EVENT_DESTINATION)
            .event_destination(dest)
            .send()
            .await,
    )?;
    let content = EmailTemplateContent::builder()
        .subject("Hello {{first_name}}, your code is {{unique_code}}")
        .text("Dear {{first_name}},\n\nthis is a load test email. Your unique code is {{unique_code}}.\n")
        .html("<p>Dear {{first_name}},</p><p>this is a load test email. Your unique code is <b>{{unique_code}}</b>.</p>")
        .build();
    created_or_exists(
        "CreateEmailTemplate",
        &cfg.template_name,
        client
            .create_email_template()
            .template_name(&cfg.template_name)
            .template_content(content)
            .send()
            .await,
    )
}

/// Messages whose final status is delivered, from the events the simulator published: every
/// Delivery except those a Complaint followed (a complaint comes after the delivery, in SES as
/// in the simulator). The same definition as `status = 'delivered'` in
/// `sql/views/email_status.sql`, which `sesload report` counts.
pub fn delivered(stats: &SimStats) -> u64 {
    let n = |k: &str| stats.events.get(k).copied().unwrap_or(0);
    n("Delivery").saturating_sub(n("Complaint"))
}
