//! The processor's campaign step against the in-memory campaign store: paused campaigns park,
//! cancelled ones are recorded and acknowledged, a failed record is retried, resumed ones send,
//! other campaigns are unaffected, and a pause during a batch stops the rest of it.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sesload_core::*;
use tokio::time::Instant;

/// A request without a `campaign` tag.
fn untagged(code: &str) -> InboundRecord {
    let body = json!({
        "from": "sender@example.com",
        "to": "success@simulator.amazonses.com",
        "template_name": "SimpleEmail",
        "user_id": "9",
        "unique_code": code,
    });
    rec(code, body.to_string())
}

fn campaign_body(campaign: &str, user_id: u32, code: &str) -> String {
    json!({
        "from": "sender@example.com",
        "to": "success@simulator.amazonses.com",
        "template_name": "SimpleEmail",
        "user_id": user_id.to_string(),
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": code,
    })
    .to_string()
}

/// `n` records of `campaign`, ids and codes `<campaign>-<i>`.
fn records(campaign: &str, n: u32) -> Vec<InboundRecord> {
    records_from(campaign, 0, n)
}

/// Records `first..first + n` of `campaign`.
fn records_from(campaign: &str, first: u32, n: u32) -> Vec<InboundRecord> {
    (first..first + n)
        .map(|i| {
            let id = format!("{campaign}-{i}");
            rec(&id, campaign_body(campaign, i + 1, &id))
        })
        .collect()
}

async fn command(p: &Proc, campaign: &str, c: CampaignCommand) {
    steer(p.campaigns(), campaign, &c, "test", 1, None)
        .await
        .unwrap();
}

fn pause() -> CampaignCommand {
    CampaignCommand::Pause {
        reason: "wrong list".into(),
    }
}

fn ids_where(out: &BatchOutcome, f: impl Fn(&RecordOutcome) -> bool) -> Vec<String> {
    out.report
        .outcomes
        .iter()
        .filter(|(_, o)| f(o))
        .map(|(id, _)| id.clone())
        .collect()
}

fn with_cache(cache: Duration) -> ProcessorSettings {
    ProcessorSettings {
        campaign_state_cache: cache,
        ..settings()
    }
}

#[tokio::test(start_paused = true)]
async fn a_paused_campaign_is_parked_and_the_others_send() {
    let p = processor(mailer(1), with_cache(Duration::ZERO));
    command(&p, "a", pause()).await;
    let mut batch = records("a", 3);
    batch.extend(records("b", 2));
    batch.push(untagged("none"));
    let gets = p.campaigns().gets();
    let out = p.process(batch, None).await;
    // one read for the batch's campaigns (a and b), none per record beyond the re-check
    assert!(p.campaigns().gets() > gets);
    for i in 0..3 {
        assert_eq!(
            parked(&out, &format!("a-{i}")),
            Some(ParkReason::CampaignPaused)
        );
    }
    assert_eq!(out.report.emails_sent, 3, "b's two and the untagged one");
    assert_eq!(
        out.report.parked_by_reason.get(&ParkReason::CampaignPaused),
        Some(&3)
    );
    assert!(
        out.batch_item_failures.is_empty(),
        "parking spends no receive"
    );
    let parked = p.parking().parked();
    assert_eq!(parked.len(), 3);
    assert!(
        parked
            .iter()
            .all(|r| r.reason == ParkReason::CampaignPaused && r.park_count == 1)
    );
    assert!(
        p.mailer()
            .sent()
            .iter()
            .all(|s| !s.email.unique_code.0.starts_with("a-"))
    );
}

#[tokio::test(start_paused = true)]
async fn an_auto_paused_campaign_parks_too_and_a_resumed_one_sends() {
    let p = processor(mailer(1), with_cache(Duration::ZERO));
    command(
        &p,
        "a",
        CampaignCommand::AutoPause {
            reason: "bounce rate 7 % > 5 %".into(),
        },
    )
    .await;
    let out = p.process(records("a", 2), None).await;
    assert_eq!(out.report.emails_parked, 2);
    assert_eq!(out.report.emails_sent, 0);
    command(&p, "a", CampaignCommand::Resume).await;
    let out = p.process(records("a", 2), None).await;
    assert_eq!(out.report.emails_sent, 2);
    assert_eq!(out.report.emails_parked, 0);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_campaign_is_recorded_and_acknowledged_without_sending() {
    let p = processor(mailer(1), with_cache(Duration::ZERO));
    command(&p, "a", CampaignCommand::Cancel).await;
    let mut batch = records("a", 3);
    batch.extend(records("b", 1));
    let out = p.process(batch, None).await;
    assert_eq!(out.report.emails_cancelled, 3);
    assert_eq!(out.report.emails_sent, 1);
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(
        ids_where(
            &out,
            |o| matches!(o, RecordOutcome::Cancelled { campaign } if campaign == "a")
        ),
        vec!["a-0", "a-1", "a-2"]
    );
    assert_eq!(
        p.campaigns().cancelled_codes(),
        vec![
            ("a".to_string(), "a-0".to_string()),
            ("a".into(), "a-1".into()),
            ("a".into(), "a-2".into())
        ]
    );
    let e = p.campaigns().get(&["a".into()]).await.unwrap();
    assert_eq!(e["a"].cancelled, 3);
    assert!(
        p.mailer()
            .sent()
            .iter()
            .all(|s| s.email.unique_code.0 == "b-0")
    );
    // the same records again (a redelivery): acknowledged again, counted once
    let out = p.process(records("a", 3), None).await;
    assert_eq!(out.report.emails_cancelled, 3);
    let e = p.campaigns().get(&["a".into()]).await.unwrap();
    assert_eq!(e["a"].cancelled, 3);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_record_the_store_did_not_record_is_retried_and_last_states_are_kept() {
    let p = processor(mailer(1), with_cache(Duration::ZERO));
    command(&p, "a", CampaignCommand::Cancel).await;
    // the state is read once...
    let out = p.process(records("a", 1), None).await;
    assert_eq!(out.report.emails_cancelled, 1);
    // ...then the store fails: the last state read (cancelled) is kept, recording fails
    p.campaigns().set_unavailable(true);
    let mut batch = records("a", 3);
    batch.remove(0);
    let out = p.process(batch, None).await;
    assert_eq!(out.report.emails_cancelled, 0);
    assert_eq!(
        out.report.emails_sent, 0,
        "a cancelled campaign is never sent"
    );
    assert_eq!(out.batch_item_failures, vec!["a-1", "a-2"]);
    assert!(matches!(
        outcome(&out, "a-1"),
        RecordOutcome::Retry {
            cause: RetryCause::CancelRecordFailed,
            ..
        }
    ));
    p.campaigns().set_unavailable(false);
    let out = p.process(records("a", 3), None).await;
    assert_eq!(out.report.emails_cancelled, 3);
    assert!(out.batch_item_failures.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_campaign_whose_state_was_never_read_is_retried_not_sent() {
    let p = processor(mailer(1), with_cache(Duration::from_secs(5)));
    p.campaigns().set_unavailable(true);
    let mut batch = records("a", 2);
    batch.push(untagged("none"));
    let out = p.process(batch, None).await;
    assert_eq!(out.report.emails_sent, 1, "records without a campaign send");
    assert_eq!(out.batch_item_failures, vec!["a-0", "a-1"]);
    assert!(matches!(
        outcome(&out, "a-0"),
        RecordOutcome::Retry {
            cause: RetryCause::CampaignStateUnknown,
            ..
        }
    ));
    // the next batch asks again (nothing known) and sends once the store answers
    p.campaigns().set_unavailable(false);
    let out = p.process(records("a", 2), None).await;
    assert_eq!(out.report.emails_sent, 2);
}

#[tokio::test(start_paused = true)]
async fn states_are_cached_between_batches() {
    let p = processor(mailer(1), with_cache(Duration::from_secs(5)));
    let out = p.process(records("a", 2), None).await;
    assert_eq!(out.report.emails_sent, 2);
    let gets = p.campaigns().gets();
    command(&p, "a", pause()).await; // steer reads once
    let gets = gets + 1;
    // within the cache time the old state (running) is used: no read
    let out = p.process(records_from("a", 2, 1), None).await;
    assert_eq!(out.report.emails_sent, 1);
    assert_eq!(p.campaigns().gets(), gets);
    tokio::time::advance(Duration::from_secs(5)).await;
    let out = p.process(records_from("a", 3, 1), None).await;
    assert_eq!(out.report.emails_parked, 1);
    assert_eq!(p.campaigns().gets(), gets + 1, "one read for the batch");
}

#[tokio::test(start_paused = true)]
async fn a_pause_during_a_batch_stops_the_rest_of_it_within_the_cache_time() {
    let cache = Duration::from_secs(1);
    let p = processor(
        mailer(1),
        ProcessorSettings {
            rate_source: RateSource::Fixed(4.0),
            target_utilisation: 1.0,
            ..with_cache(cache)
        },
    );
    let mut batch = records("a", 20);
    batch.extend(records("b", 20));
    let run = tokio::spawn({
        let p = p.clone();
        async move { p.process(batch, None).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let paused_at = Instant::now();
    command(&p, "a", pause()).await;
    let out = run.await.unwrap();
    assert_a_paused_mid_batch(p.mailer(), &out, paused_at, cache);
}
