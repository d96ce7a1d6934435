//! The campaign guardrails on AWS: SES's events reach the guard Lambda through EventBridge and
//! an SQS buffer; [`handle_guard_sqs_event`] counts them per campaign and send minute in the
//! control table ([`DynamoGuardCounters`]) and runs the core's guardrail check
//! ([`sesload_core::campaign::guardrail::check`]) on every campaign it counted, which auto-pauses
//! a campaign over a threshold through the same `CampaignControl` the CLI steers with.
//!
//! Control table items (partition key `pk`, S):
//!
//! | `pk` | attributes |
//! |---|---|
//! | `guard#<campaign>#<minute>` | `campaign` (S), `minute` (N, epoch minutes of the messages' send time), `sends`, `bounces`, `complaints` (N, added with `ADD`), `expires_at` (N, epoch s: the TTL attribute, [`GUARD_BUCKET_TTL`] after the minute) |
//!
//! Each bucket a batch touches is one `UpdateItem` with `ADD` (atomic: concurrent guard
//! instances never lose an increment). A bucket that cannot be written reports its events as
//! batch item failures, so SQS delivers them again; the buckets written are not retried.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;
use serde_json::json;
use sesload_core::campaign::guardrail::{
    self, CheckOutcome, GuardCounters, GuardCountsWriter, GuardrailSettings, SesEventRecord, Tally,
    Window,
};
use sesload_core::{CampaignControl, PortError};

use crate::control::CONTROL_KEY;
use crate::dynamo::{BATCH_GET_MAX_KEYS, TTL_ATTRIBUTE, batch_get_items, error_text};

/// Key prefix of a guardrail bucket: `guard#<campaign>#<minute>`.
pub const GUARD_PREFIX: &str = "guard#";
/// How long a bucket is kept after its minute: longer than the longest window (1,440 min).
pub const GUARD_BUCKET_TTL: Duration = Duration::from_secs(2 * 24 * 3600);
/// The guard's counter of campaigns it paused (EMF, the dashboard, the alarm; locally the
/// stack's counter of the same name).
pub const GUARDRAIL_PAUSES: &str = "guardrail_pauses";
/// SES events counted (sends, hard bounces, complaints of tagged messages).
pub const GUARD_EVENTS: &str = "guard_events";
/// Messages that are not an SES event of EventBridge (left to the guard queue's DLQ).
pub const GUARD_EVENTS_INVALID: &str = "guard_events_invalid";

fn bucket_key(campaign: &str, minute: u64) -> String {
    format!("{GUARD_PREFIX}{campaign}#{minute}")
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// [`GuardCounters`] and [`GuardCountsWriter`] over the deployment's control table (see the
/// module documentation). Reads are strongly consistent.
#[derive(Debug, Clone)]
pub struct DynamoGuardCounters {
    client: Client,
    table: String,
}

impl DynamoGuardCounters {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn err(&self, op: &'static str, detail: String) -> PortError {
        PortError::new(op, format!("control table {:?}: {detail}", self.table))
    }
}

fn tally_from_item(item: &HashMap<String, AttributeValue>) -> Tally {
    let num = |k: &str| match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse::<u64>().unwrap_or(0),
        _ => 0,
    };
    Tally {
        sends: num("sends"),
        bounces: num("bounces"),
        complaints: num("complaints"),
    }
}

impl GuardCounters for DynamoGuardCounters {
    async fn window_tally(&self, campaign: &str, window: Window) -> Result<Tally, PortError> {
        let keys: Vec<HashMap<String, AttributeValue>> = window
            .minutes()
            .map(|m| {
                HashMap::from([(
                    CONTROL_KEY.to_string(),
                    AttributeValue::S(bucket_key(campaign, m)),
                )])
            })
            .collect();
        let reads = keys.chunks(BATCH_GET_MAX_KEYS).map(|chunk| {
            batch_get_items(
                &self.client,
                &self.table,
                chunk.to_vec(),
                true,
                "guard.window_tally",
            )
        });
        let items = futures::future::try_join_all(reads).await?;
        Ok(items.iter().flatten().map(tally_from_item).sum())
    }
}

impl GuardCountsWriter for DynamoGuardCounters {
    async fn add_counts(&self, campaign: &str, minute: u64, tally: Tally) -> Result<(), PortError> {
        let expires = (minute + 1) * 60 + GUARD_BUCKET_TTL.as_secs();
        self.client
            .update_item()
            .table_name(&self.table)
            .key(CONTROL_KEY, AttributeValue::S(bucket_key(campaign, minute)))
            .update_expression("SET #c = :c, #m = :m, #e = :e ADD #s :s, #b :b, #k :k")
            .expression_attribute_names("#c", "campaign")
            .expression_attribute_names("#m", "minute")
            .expression_attribute_names("#e", TTL_ATTRIBUTE)
            .expression_attribute_names("#s", "sends")
            .expression_attribute_names("#b", "bounces")
            .expression_attribute_names("#k", "complaints")
            .expression_attribute_values(":c", AttributeValue::S(campaign.to_string()))
            .expression_attribute_values(":m", n(minute))
            .expression_attribute_values(":e", n(expires))
            .expression_attribute_values(":s", n(tally.sends))
            .expression_attribute_values(":b", n(tally.bounces))
            .expression_attribute_values(":k", n(tally.complaints))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                self.err(
                    "guard.add_counts",
                    format!("{campaign}@{minute}: {}", error_text(&e)),
                )
            })
    }
}

/// What one invocation of the guard did (its EMF line and log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardReport {
    /// SQS messages received.
    pub received: u64,
    /// Events counted (sends, hard bounces, complaints of a tagged message).
    pub counted: u64,
    /// Events of a kind or message the guardrails do not count (deliveries, untagged mail).
    pub ignored: u64,
    /// Messages that are not an SES event of EventBridge (reported as failures).
    pub invalid: u64,
    /// Buckets written, and not written (their events reported as failures).
    pub buckets_written: u64,
    pub bucket_failures: u64,
    /// Campaigns checked, and paused by this invocation.
    pub campaigns_checked: u64,
    pub paused: Vec<String>,
    /// Checks that could not read or write the campaign's state or counts.
    pub check_failures: u64,
}

/// The EventBridge envelope of an SES event: its `detail` is the SES event record.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type", default)]
    detail_type: String,
    detail: serde_json::Value,
}

/// Read one SQS message body (an EventBridge event); the record, or why it is not one.
pub fn parse_eventbridge_ses_event(body: &str) -> Result<SesEventRecord, String> {
    let env: Envelope = serde_json::from_str(body)
        .map_err(|e| format!("not an EventBridge event with a detail: {e}"))?;
    serde_json::from_value(env.detail).map_err(|e| {
        format!(
            "EventBridge {:?} event whose detail is not an SES event record: {e}",
            env.detail_type
        )
    })
}

/// Handle one batch of the guard queue at `now_ms`: count, write the buckets, check the
/// campaigns counted. Returns the partial batch response (invalid messages and the events of
/// buckets not written) and the report.
pub async fn handle_guard_sqs_event<C: CampaignControl, W: GuardCounters + GuardCountsWriter>(
    control: &C,
    counters: &W,
    settings: &GuardrailSettings,
    event: SqsEvent,
    now_ms: u64,
) -> (SqsBatchResponse, GuardReport) {
    let mut report = GuardReport::default();
    let mut failed: Vec<String> = Vec::new();
    // Bucket -> (tally, the message ids counted in it).
    let mut buckets: BTreeMap<(String, u64), (Tally, Vec<String>)> = BTreeMap::new();
    for m in event.records {
        report.received += 1;
        let id = m.message_id.unwrap_or_default();
        let observed = parse_eventbridge_ses_event(m.body.as_deref().unwrap_or_default())
            .and_then(|r| r.observe().map_err(|e| e.to_string()));
        match observed {
            Ok(Some(o)) => {
                report.counted += 1;
                let b = buckets.entry((o.campaign, o.minute)).or_default();
                b.0.count(o.counted);
                b.1.push(id);
            }
            Ok(None) => report.ignored += 1,
            Err(why) => {
                report.invalid += 1;
                tracing::warn!(message_id = %id, error = %why, "guard queue message is not a countable SES event; left for the guard DLQ");
                failed.push(id);
            }
        }
    }
    let writes = buckets
        .iter()
        .map(|((campaign, minute), (tally, _))| counters.add_counts(campaign, *minute, *tally));
    let results = futures::future::join_all(writes).await;
    let mut campaigns = BTreeSet::new();
    for (((campaign, minute), (_, ids)), res) in buckets.iter().zip(results) {
        match res {
            Ok(()) => {
                report.buckets_written += 1;
                campaigns.insert(campaign.clone());
            }
            Err(e) => {
                report.bucket_failures += 1;
                tracing::warn!(campaign, minute, events = ids.len(), error = %e, "guardrail bucket not written; its events will be delivered again");
                failed.extend(ids.iter().cloned());
            }
        }
    }
    let campaigns: Vec<String> = campaigns.into_iter().collect();
    for c in guardrail::check(control, counters, settings, &campaigns, now_ms).await {
        report.campaigns_checked += 1;
        match c.outcome {
            CheckOutcome::Paused { trip, .. } => {
                tracing::warn!(campaign = %c.campaign, reason = %trip.reason(), "campaign auto-paused");
                report.paused.push(c.campaign);
            }
            CheckOutcome::Failed(e) => {
                report.check_failures += 1;
                tracing::warn!(campaign = %c.campaign, error = %e, "guardrail check failed; the next batch checks again");
            }
            CheckOutcome::Raced { .. } => {
                tracing::info!(campaign = %c.campaign, "campaign changed during the check; the next batch judges it again");
            }
            CheckOutcome::Clear | CheckOutcome::NotRunning => {}
        }
    }
    let mut resp = SqsBatchResponse::default();
    for id in failed {
        resp.add_failure(id);
    }
    (resp, report)
}

/// The invocation's Embedded Metric Format line (namespace `namespace`, dimension
/// `FunctionName`): `guardrail_pauses`, `guard_events`, `guard_events_invalid`.
pub fn guard_emf_line(
    report: &GuardReport,
    namespace: &str,
    function_name: &str,
    ts_ms: u64,
) -> String {
    let dim = sesload_core::metrics::DIMENSION;
    let counts = [GUARDRAIL_PAUSES, GUARD_EVENTS, GUARD_EVENTS_INVALID].map(|n| (n, "Count"));
    json!({
        "_aws": crate::emf::directive(namespace, ts_ms, &[dim], &counts),
        (dim): function_name,
        (GUARDRAIL_PAUSES): report.paused.len(),
        (GUARD_EVENTS): report.counted,
        (GUARD_EVENTS_INVALID): report.invalid,
    })
    .to_string()
}
