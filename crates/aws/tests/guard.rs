//! The guardrails' AWS side against moto (PyPI `moto[server]`, from the project venv;
//! `MOTO_SERVER` names another executable): `DynamoGuardCounters` keeps the guard counters
//! contract (but for concurrent writers, which moto does not serialise) and the control table's
//! bucket layout, and the guard Lambda's handler turns SES events from EventBridge (the shape
//! SES documents: an `aws.ses` event whose `detail` is the event record) into counts and
//! auto-pauses the campaign that crosses its threshold, and only that one.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use common::{create_table, dynamo, start_moto};
use serde_json::json;
use sesload_aws::guard::{GUARD_BUCKET_TTL, guard_emf_line, parse_eventbridge_ses_event};
use sesload_aws::{DynamoCampaigns, DynamoGuardCounters, handle_guard_sqs_event};
use sesload_core::campaign::guardrail::{BUCKET_MS, GuardrailSettings, parse_timestamp_ms};
use sesload_core::{CampaignControl, CampaignState, contract};

/// When the sample messages were sent (SES's `mail.timestamp`).
const SENT: &str = "2026-12-01T03:04:05.678Z";

/// An SES event as EventBridge delivers it to the SQS queue (SES's EventBridge destination on
/// the default bus; `detail-type` per event type, `detail` the event record with the tags).
fn eventbridge_event(
    event_type: &str,
    campaign: &str,
    n: usize,
    extra: serde_json::Value,
) -> String {
    let detail_type = match event_type {
        "Send" => "Email Sent",
        "Bounce" => "Email Bounced",
        "Complaint" => "Email Complaint Received",
        "Delivery" => "Email Delivered",
        other => panic!("no sample for {other}"),
    };
    let mut detail = json!({
        "eventType": event_type,
        "mail": {
            "timestamp": SENT,
            "source": "sender@example.com",
            "sendingAccountId": "123456789012",
            "messageId": format!("0100018c-{campaign}-{n:06}-000000"),
            "destination": [format!("r{n}@simulator.amazonses.com")],
            "headersTruncated": false,
            "tags": {
                "ses:configuration-set": ["sesload-config"],
                "ses:source-ip": ["192.0.2.1"],
                "campaign": [campaign]
            }
        }
    });
    if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    json!({
        "version": "0",
        "id": format!("e-{campaign}-{event_type}-{n}"),
        "detail-type": detail_type,
        "source": "aws.ses",
        "account": "123456789012",
        "time": "2026-12-01T03:04:07Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ses:us-east-1:123456789012:configuration-set/sesload-config"],
        "detail": detail
    })
    .to_string()
}

fn hard_bounce() -> serde_json::Value {
    json!({"bounce": {"bounceType": "Permanent", "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": "bounce@simulator.amazonses.com", "action": "failed", "status": "5.1.1"}],
        "timestamp": "2026-12-01T03:04:06.100Z", "feedbackId": "f-1"}})
}

/// An SQS event of the guard queue holding `bodies` (message ids `m-<i>`).
fn sqs_event(bodies: &[String]) -> SqsEvent {
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m-{i}"), "receiptHandle": format!("rh-{i}"), "body": b,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn num(item: &HashMap<String, AttributeValue>, k: &str) -> u64 {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().unwrap(),
        other => panic!("{k}: expected N, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_counts_and_pauses_against_moto() {
    let moto = start_moto();
    let scenarios = async {
        let d = dynamo(&moto.url);
        create_table(&d, "control", "pk").await;
        let counters = DynamoGuardCounters::new(d.clone(), "control");
        contract::guard_counters_sequential(&counters).await;
        guard_handler(&d).await;
        unwritable_buckets_are_delivered_again(&d).await;
    };
    tokio::time::timeout(Duration::from_secs(180), scenarios)
        .await
        .expect("moto scenarios took over 180 s");
}

async fn guard_handler(d: &aws_sdk_dynamodb::Client) {
    let control = DynamoCampaigns::new(d.clone(), "control");
    let counters = DynamoGuardCounters::new(d.clone(), "control");
    let settings = GuardrailSettings::default();
    let sent_ms = parse_timestamp_ms(SENT).unwrap();
    let minute = sent_ms / BUCKET_MS;
    let now = sent_ms + 40_000;

    // First batch: 60 sends of each campaign, 12 hard bounces of "bouncy" (20 %), a soft
    // bounce and a delivery (not counted), one message that is no SES event.
    let mut bodies = Vec::new();
    for n in 0..60 {
        bodies.push(eventbridge_event("Send", "bouncy", n, json!({"send": {}})));
        bodies.push(eventbridge_event("Send", "clean", n, json!({"send": {}})));
    }
    for n in 0..12 {
        bodies.push(eventbridge_event("Bounce", "bouncy", n * 5, hard_bounce()));
    }
    bodies.push(eventbridge_event(
        "Bounce",
        "clean",
        7,
        json!({"bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull"}}),
    ));
    bodies.push(eventbridge_event(
        "Delivery",
        "clean",
        8,
        json!({"delivery": {}}),
    ));
    bodies.push("{\"source\": \"aws.ses\"}".to_string());
    let invalid_id = format!("m-{}", bodies.len() - 1);
    let (resp, report) =
        handle_guard_sqs_event(&control, &counters, &settings, sqs_event(&bodies), now).await;
    let failures: Vec<&str> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failures,
        [invalid_id.as_str()],
        "only the invalid message is retried"
    );
    assert_eq!(
        (report.counted, report.ignored, report.invalid),
        (132, 2, 1)
    );
    assert_eq!((report.buckets_written, report.campaigns_checked), (2, 2));
    assert!(
        report.paused.is_empty(),
        "60 sends are under the minimum: {report:?}"
    );

    // The bucket, attribute by attribute.
    let item = common::control_item(d, &format!("guard#bouncy#{minute}")).await;
    assert_eq!(
        (
            num(&item, "sends"),
            num(&item, "bounces"),
            num(&item, "complaints")
        ),
        (60, 12, 0)
    );
    assert_eq!(num(&item, "minute"), minute);
    assert_eq!(
        num(&item, "expires_at"),
        (minute + 1) * 60 + GUARD_BUCKET_TTL.as_secs()
    );
    let clean = common::control_item(d, &format!("guard#clean#{minute}")).await;
    assert_eq!((num(&clean, "sends"), num(&clean, "bounces")), (60, 0));

    // Second batch: 60 more sends each and 12 more bounces: "bouncy" has 24 of 120 (20 %),
    // over the minimum of 100 — paused; "clean" has 0 of 120.
    let mut bodies = Vec::new();
    for n in 60..120 {
        bodies.push(eventbridge_event("Send", "bouncy", n, json!({"send": {}})));
        bodies.push(eventbridge_event("Send", "clean", n, json!({"send": {}})));
    }
    for n in 12..24 {
        bodies.push(eventbridge_event("Bounce", "bouncy", n * 5, hard_bounce()));
    }
    let (resp, report) = handle_guard_sqs_event(
        &control,
        &counters,
        &settings,
        sqs_event(&bodies),
        now + 5_000,
    )
    .await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(report.paused, ["bouncy"]);
    let states = control
        .get(&["bouncy".to_string(), "clean".to_string()])
        .await
        .unwrap();
    let bouncy = &states["bouncy"];
    match &bouncy.state {
        CampaignState::AutoPaused { reason, since_ms } => {
            assert_eq!(
                reason,
                "bounce rate 20 % (24 of 120 sends in the last 60 min) is over the 5 % threshold"
            );
            assert_eq!(*since_ms, now + 5_000);
        }
        other => panic!("bouncy is {other:?}"),
    }
    assert_eq!(bouncy.updated_by, "guardrail:bounce");
    assert_eq!(states["clean"].state, CampaignState::Running);
    assert_eq!(
        states["clean"].version, 0,
        "the clean campaign was never written"
    );

    // The pause is counted once: more events of a paused campaign pause nothing again.
    let more = vec![eventbridge_event(
        "Send",
        "bouncy",
        500,
        json!({"send": {}}),
    )];
    let (_, report) = handle_guard_sqs_event(
        &control,
        &counters,
        &settings,
        sqs_event(&more),
        now + 9_000,
    )
    .await;
    assert!(report.paused.is_empty());
    let line: serde_json::Value =
        serde_json::from_str(&guard_emf_line(&report, "sesload", "sesload-guard", now)).unwrap();
    assert_eq!(line["guardrail_pauses"], 0);
    assert_eq!(line["guard_events"], 1);
    assert_eq!(line["FunctionName"], "sesload-guard");
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
        "guardrail_pauses"
    );
}

/// Counts that cannot be written are not lost: their events are batch item failures.
async fn unwritable_buckets_are_delivered_again(d: &aws_sdk_dynamodb::Client) {
    let control = DynamoCampaigns::new(d.clone(), "control");
    let counters = DynamoGuardCounters::new(d.clone(), "no-such-control");
    let bodies: Vec<String> = (0..3)
        .map(|n| eventbridge_event("Send", "elsewhere", n, json!({"send": {}})))
        .collect();
    let now = parse_timestamp_ms(SENT).unwrap();
    let (resp, report) = handle_guard_sqs_event(
        &control,
        &counters,
        &GuardrailSettings::default(),
        sqs_event(&bodies),
        now,
    )
    .await;
    let mut failures: Vec<String> = resp
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    failures.sort();
    assert_eq!(failures, ["m-0", "m-1", "m-2"]);
    assert_eq!((report.bucket_failures, report.campaigns_checked), (1, 0));
}

#[test]
fn an_eventbridge_event_without_an_ses_record_names_what_is_wrong() {
    let e = parse_eventbridge_ses_event("not json").unwrap_err();
    assert!(
        e.starts_with("not an EventBridge event with a detail"),
        "{e}"
    );
    let e = parse_eventbridge_ses_event(r#"{"detail-type": "Email Sent", "detail": {"x": 1}}"#)
        .unwrap_err();
    assert!(
        e.contains("\"Email Sent\" event whose detail is not an SES event record"),
        "{e}"
    );
    let r = parse_eventbridge_ses_event(&eventbridge_event(
        "Complaint",
        "c1",
        1,
        json!({"complaint": {}}),
    ))
    .unwrap();
    assert_eq!(r.campaign(), Some("c1"));
}
