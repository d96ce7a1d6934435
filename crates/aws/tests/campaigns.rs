//! The campaign control plane's AWS side against moto (PyPI `moto[server]`, from the project
//! venv; `MOTO_SERVER` names another executable): `DynamoCampaigns` keeps the
//! `CampaignControl` contract (but for concurrent writers, which moto does not serialise) and the
//! control table's item layout, and a campaign's DLQ redrive
//! moves exactly its dead letters (of one reason if asked), each once, and loses none when the
//! queue cannot be written.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{create_queue, create_table, dynamo, sqs, start_moto};
use sesload_aws::DynamoCampaigns;
use sesload_aws::campaigns::redrive::{RedriveRequest, redrive_campaign};
use sesload_aws::campaigns::status::queue_depth;
use sesload_core::{
    CampaignChange, CampaignControl, CampaignState, CancelledRecord, UniqueCode, contract,
    dlq_attributes,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_control_plane_against_moto() {
    let moto = start_moto();
    let scenarios = async {
        let d = dynamo(&moto.url);
        create_table(&d, "control", "pk").await;
        let campaigns = DynamoCampaigns::new(d.clone(), "control");
        // moto does not serialise conditional writes (it checks and writes in two steps, on
        // several threads): the concurrent case would test moto, not the adapter.
        contract::campaign_control_sequential(&campaigns).await;
        item_layout(&d, &campaigns).await;
        other_items_are_not_campaigns(&d, &campaigns).await;
        let missing = DynamoCampaigns::new(d.clone(), "no-such-control");
        let e = missing.get(&["run-1".into()]).await.unwrap_err();
        assert!(e.to_string().contains("no-such-control"), "{e}");
        let q = sqs(&moto.url);
        redrive(&q).await;
    };
    tokio::time::timeout(Duration::from_secs(180), scenarios)
        .await
        .expect("moto scenarios took over 180 s");
}

fn s(item: &HashMap<String, AttributeValue>, k: &str) -> String {
    match item.get(k) {
        Some(AttributeValue::S(v)) => v.clone(),
        other => panic!("{k}: expected S, got {other:?}"),
    }
}

fn n(item: &HashMap<String, AttributeValue>, k: &str) -> u64 {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().unwrap(),
        other => panic!("{k}: expected N, got {other:?}"),
    }
}

/// What the control table holds, attribute by attribute (what operators read with the AWS CLI
/// and the guardrail writes).
async fn item_layout(d: &aws_sdk_dynamodb::Client, c: &DynamoCampaigns) {
    let change = CampaignChange {
        campaign: "layout-1".into(),
        if_version: 0,
        state: CampaignState::AutoPaused {
            reason: "bounce rate 6 % over 5 %".into(),
            since_ms: 1_700,
        },
        updated_by: "guardrail:bounce_rate".into(),
        at_ms: 1_800,
    };
    c.set(&change).await.unwrap();
    let item = common::control_item(d, "campaign#layout-1").await;
    assert_eq!(s(&item, "campaign"), "layout-1");
    assert_eq!(s(&item, "state"), "auto_paused");
    assert_eq!(s(&item, "reason"), "bounce rate 6 % over 5 %");
    assert_eq!(s(&item, "updated_by"), "guardrail:bounce_rate");
    assert_eq!(
        (
            n(&item, "version"),
            n(&item, "since"),
            n(&item, "changed_at")
        ),
        (1, 1_700, 1_800)
    );
    // Back to running: no `since` any more.
    let resume = CampaignChange {
        campaign: "layout-1".into(),
        if_version: 1,
        state: CampaignState::Running,
        updated_by: "cli:alice".into(),
        at_ms: 1_900,
    };
    c.set(&resume).await.unwrap();
    let item = common::control_item(d, "campaign#layout-1").await;
    assert_eq!(
        (s(&item, "state"), n(&item, "version")),
        ("running".into(), 2)
    );
    assert!(!item.contains_key("since"), "{item:?}");
    // A cancelled record: a marker with a TTL attribute, and the counter.
    let failed = c
        .record_cancelled(&[CancelledRecord {
            campaign: "layout-1".into(),
            unique_code: UniqueCode("code-9".into()),
            source_message_id: "m-9".into(),
        }])
        .await;
    assert!(failed.is_empty());
    let marker = common::control_item(d, "cancelled#layout-1#code-9").await;
    assert_eq!(
        (s(&marker, "campaign"), s(&marker, "unique_code")),
        ("layout-1".into(), "code-9".into())
    );
    assert_eq!(s(&marker, "source_message_id"), "m-9");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(n(&marker, "expires_at") > now_s + 13 * 24 * 3600);
    assert_eq!(
        n(
            &common::control_item(d, "campaign#layout-1").await,
            "cancelled"
        ),
        1
    );
}

/// Schedule items share the table; they are not campaigns. Many codes need several
/// transactions and still count once each.
async fn other_items_are_not_campaigns(d: &aws_sdk_dynamodb::Client, c: &DynamoCampaigns) {
    d.put_item()
        .table_name("control")
        .item("pk", AttributeValue::S("schedule#fleet".into()))
        .item("next_slot_us", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let records: Vec<CancelledRecord> = (0..230)
        .map(|i| CancelledRecord {
            campaign: "bulk-cancel".into(),
            unique_code: UniqueCode(format!("code-{}", i % 210)),
            source_message_id: format!("m-{i}"),
        })
        .collect();
    assert!(c.record_cancelled(&records).await.is_empty());
    assert!(c.record_cancelled(&records[..150]).await.is_empty());
    let all = c.get_all().await.unwrap();
    assert!(
        all.iter()
            .all(|e| !e.campaign.starts_with("schedule") && !e.campaign.contains('#')),
        "{all:?}"
    );
    let bulk = all.iter().find(|e| e.campaign == "bulk-cancel").unwrap();
    assert_eq!(
        bulk.cancelled, 210,
        "210 distinct codes over 3 transactions"
    );
}

fn dead_letter(campaign: &str, code: &str) -> String {
    serde_json::json!({
        "from": "sender@example.com", "to": "success@simulator.amazonses.com",
        "template_name": "Missing", "user_id": "1", "unique_code": code,
        "tags": [{"Name": "campaign", "Value": campaign}]
    })
    .to_string()
}

async fn put_dlq(q: &aws_sdk_sqs::Client, url: &str, body: &str, reason: Option<&str>) {
    let mut req = q.send_message().queue_url(url).message_body(body);
    if let Some(r) = reason {
        req = req.message_attributes(
            dlq_attributes::REASON,
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(r)
                .build()
                .unwrap(),
        );
    }
    req.send().await.unwrap();
}

/// Every body on `url` (received and deleted).
async fn drain(q: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..10 {
        let got = q
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            out.push(m.body().unwrap().to_string());
            q.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    out.sort();
    out
}

fn request(dlq: &str, queue: &str, campaign: &str, reason: Option<&str>) -> RedriveRequest {
    RedriveRequest {
        wait_seconds: 1,
        empty_receives: 2,
        ..RedriveRequest::new(dlq, queue, campaign, reason.map(str::to_string))
    }
}

async fn redrive(q: &aws_sdk_sqs::Client) {
    let dlq = create_queue(q, "campaign-dlq").await;
    let src = create_queue(q, "campaign-src").await;
    for i in 0..3 {
        put_dlq(
            q,
            &dlq,
            &dead_letter("run-a", &format!("nf-{i}")),
            Some("ses_not_found"),
        )
        .await;
    }
    for i in 0..2 {
        put_dlq(
            q,
            &dlq,
            &dead_letter("run-a", &format!("uc-{i}")),
            Some("unknown_customer"),
        )
        .await;
    }
    put_dlq(q, &dlq, &dead_letter("run-a", "moved-by-sqs"), None).await;
    for i in 0..2 {
        put_dlq(
            q,
            &dlq,
            &dead_letter("run-b", &format!("b-{i}")),
            Some("ses_not_found"),
        )
        .await;
    }
    put_dlq(q, &dlq, "not json", Some("invalid_json")).await;

    // A dry run counts and moves nothing; everything is visible again afterwards.
    let dry = redrive_campaign(
        q,
        &RedriveRequest {
            dry_run: true,
            ..request(&dlq, &src, "run-a", None)
        },
    )
    .await
    .unwrap();
    let want: BTreeMap<String, u64> = [("", 1), ("ses_not_found", 3), ("unknown_customer", 2)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(
        (dry.received, &dry.matched_by_reason, dry.redriven),
        (9, &want, 0)
    );
    assert_eq!(queue_depth(q, &dlq).await.unwrap().visible, 9);

    // Nowhere to send to: nothing is deleted from the DLQ.
    let lost = redrive_campaign(q, &request(&dlq, &format!("{src}-missing"), "run-a", None))
        .await
        .unwrap();
    assert_eq!((lost.matched(), lost.not_sent, lost.redriven), (6, 6, 0));
    assert_eq!(queue_depth(q, &dlq).await.unwrap().visible, 9);

    // One reason, then the rest of the campaign.
    let one = redrive_campaign(q, &request(&dlq, &src, "run-a", Some("ses_not_found")))
        .await
        .unwrap();
    assert_eq!(
        (one.matched(), one.redriven, one.not_sent, one.not_deleted),
        (3, 3, 0, 0)
    );
    let moved = drain(q, &src).await;
    assert_eq!(
        moved,
        (0..3)
            .map(|i| dead_letter("run-a", &format!("nf-{i}")))
            .collect::<Vec<_>>()
    );
    let rest = redrive_campaign(q, &request(&dlq, &src, "run-a", None))
        .await
        .unwrap();
    assert_eq!(rest.redriven, 3, "{rest:?}");
    assert_eq!(queue_depth(q, &src).await.unwrap().visible, 3);
    let again = redrive_campaign(q, &request(&dlq, &src, "run-a", None))
        .await
        .unwrap();
    assert_eq!((again.matched(), again.redriven), (0, 0), "each once");
    let depth = queue_depth(q, &dlq).await.unwrap();
    assert_eq!(
        depth.total(),
        3,
        "run-b's two and the invalid body stay: {depth:?}"
    );
}
