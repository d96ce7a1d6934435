//! `send_api = bulk`: the processor over a fake bulk mailer whose calls and entries fail in every
//! mix. Each entry ends sent once, retried, parked or in the DLQ with its reason, and one
//! entry's failure never re-sends another (tokio paused time).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use sesload_core::memory::{Answer, BulkCall, MemoryMailer};
use sesload_core::*;
use tokio::time::Instant;

/// A bulk mailer: a recipient `entry-<STATUS>@…` is refused with that entry status on its first
/// attempt and accepted after; anything else is accepted. 50 ms a call.
fn bulk_mailer() -> MemoryMailer {
    MemoryMailer::new()
        .with_latency(Duration::from_millis(50))
        .with_rule(|email, attempt| {
            let local = email.to.split('@').next().unwrap_or_default();
            match local.strip_prefix("entry-") {
                Some(status) if attempt == 1 => Answer::entry_status(status),
                _ => Answer::Accept,
            }
        })
}

fn bulk(s: ProcessorSettings) -> ProcessorSettings {
    ProcessorSettings {
        send_api: SendApi::Bulk,
        send_concurrency: 4,
        ..s
    }
}

/// How often each unique code was accepted by the mailer.
fn sends_per_code(p: &Proc) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for s in p.mailer().sent() {
        *m.entry(s.email.unique_code.0).or_default() += 1;
    }
    m
}

fn records(local: &[&str]) -> Vec<InboundRecord> {
    local
        .iter()
        .enumerate()
        .map(|(i, l)| rec(&format!("m{i}"), body(l, i as u32 + 1, &format!("c{i}"))))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_batch_goes_out_in_calls_that_share_sender_template_and_set() {
    let p = processor(bulk_mailer(), bulk(settings()));
    let mut recs = successes(100);
    // five of them with another template: a call of their own
    for r in recs.iter_mut().take(5) {
        r.body = r.body.replace("SimpleEmail", "Promo");
    }
    let out = p.process(recs, None).await;
    assert_eq!(out.report.emails_sent, 100);
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(p.mailer().calls(), 0, "no SendEmail in bulk mode");
    let mut calls = p.mailer().bulk_calls();
    calls.sort_unstable();
    assert_eq!(calls, vec![5, 47, 48]);
    let sent = p.mailer().sent();
    for s in &sent {
        let promo = s.email.template_name == "Promo";
        let n: usize = s.email.unique_code.0[1..].parse().unwrap();
        assert_eq!(promo, n < 5);
        let data: serde_json::Value = serde_json::from_str(&s.email.template_data).unwrap();
        assert_eq!(data["unique_code"], s.email.unique_code.0, "its own data");
    }
    assert!(sends_per_code(&p).values().all(|&n| n == 1));
    // one latency per call, not per entry
    assert_eq!(out.report.ses_send_ms.len(), 3);
    // every code recorded with its own message id
    for (id, o) in &out.report.outcomes {
        let RecordOutcome::Sent { message_id, .. } = o else {
            panic!("{id}: {o:?}")
        };
        let code = format!("c{}", &id[1..]);
        assert_eq!(
            p.ledger().entry(&code).unwrap().message_id.as_ref(),
            Some(message_id)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_entry_of_one_call_is_classified_on_its_own() {
    let p = processor(bulk_mailer(), bulk(settings()));
    let batch = records(&[
        "success",
        "entry-ACCOUNT_THROTTLED",
        "entry-MESSAGE_REJECTED",
        "entry-TRANSIENT_FAILURE",
        "success",
        "entry-INVALID_PARAMETER",
        "entry-FAILED",
    ]);
    let out = p.process(batch.clone(), None).await;
    assert_eq!(p.mailer().bulk_calls(), vec![7], "one call");
    assert!(matches!(outcome(&out, "m0"), RecordOutcome::Sent { .. }));
    assert!(matches!(outcome(&out, "m4"), RecordOutcome::Sent { .. }));
    assert_eq!(parked(&out, "m1"), Some(ParkReason::Throttled));
    assert_eq!(out.report.emails_throttled, 1);
    match outcome(&out, "m2") {
        RecordOutcome::DeadLettered { reason, detail } => {
            assert_eq!(*reason, DlqReason::SesRejected);
            assert!(detail.contains("MESSAGE_REJECTED"), "{detail}");
        }
        o => panic!("{o:?}"),
    }
    match outcome(&out, "m5") {
        RecordOutcome::DeadLettered { reason, detail } => {
            assert_eq!(*reason, DlqReason::SesBadRequest);
            assert!(detail.contains("INVALID_PARAMETER"), "{detail}");
        }
        o => panic!("{o:?}"),
    }
    assert!(matches!(outcome(&out, "m3"), RecordOutcome::Retry { .. }));
    assert!(matches!(outcome(&out, "m6"), RecordOutcome::Retry { .. }));
    let mut failures = out.batch_item_failures.clone();
    failures.sort();
    assert_eq!(failures, vec!["m3", "m6"]);
    // the letters carry the original bodies
    let letters = p.dead_letters().letters();
    assert_eq!(letters.len(), 2);
    assert!(letters.iter().any(|l| l.body == batch[2].body));
    // certainly-not-sent entries gave their claims back; sent ones are recorded
    for code in ["c1", "c2", "c3", "c5", "c6"] {
        assert!(p.ledger().entry(code).is_none(), "{code} released");
    }
    assert!(p.ledger().entry("c0").unwrap().message_id.is_some());
    // the parked and retried entries come back (alone, through the queue): sent once each; the
    // entries already sent are duplicates, not sends
    tokio::time::advance(Duration::from_secs(5)).await;
    let again: Vec<InboundRecord> = batch
        .iter()
        .filter(|r| ["m0", "m1", "m3", "m4", "m6"].contains(&r.message_id.as_str()))
        .cloned()
        .collect();
    let out = p.process(again, None).await;
    assert_eq!(out.report.emails_sent, 3);
    assert_eq!(out.report.duplicates_skipped, 2);
    assert_eq!(out.report.ambiguous_retries, 0);
    let sends = sends_per_code(&p);
    for code in ["c0", "c1", "c3", "c4", "c6"] {
        assert_eq!(sends.get(code), Some(&1), "{code} sent exactly once");
    }
    assert_eq!(sends.get("c2"), None);
    assert_eq!(sends.get("c5"), None);
}

#[tokio::test(start_paused = true)]
async fn a_whole_call_5xx_retries_every_entry_with_its_claim_released() {
    let p = processor(bulk_mailer(), bulk(settings()));
    p.mailer()
        .script_bulk([BulkCall::error("InternalFailure", 500)]);
    let batch = successes(6);
    let out = p.process(batch.clone(), None).await;
    assert_eq!(out.batch_item_failures.len(), 6);
    assert_eq!(out.report.emails_sent, 0);
    for i in 0..6 {
        assert!(p.ledger().entry(&format!("c{i}")).is_none());
    }
    let out = p.process(batch, None).await;
    assert_eq!(out.report.emails_sent, 6);
    assert_eq!(out.report.ambiguous_retries, 0);
    assert!(sends_per_code(&p).values().all(|&n| n == 1));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_after_acceptance_keeps_every_claim_and_the_resend_is_counted_ambiguous() {
    let p = processor(bulk_mailer(), bulk(settings()));
    p.mailer().script_bulk([BulkCall::timeout_after_accept()]);
    let batch = successes(4);
    let out = p.process(batch.clone(), None).await;
    assert_eq!(out.batch_item_failures.len(), 4, "every entry retried");
    for i in 0..4 {
        let e = p.ledger().entry(&format!("c{i}")).expect("claim kept");
        assert!(e.message_id.is_none());
    }
    // redelivered while the leases are live: parked, not sent
    let out = p.process(batch.clone(), None).await;
    assert_eq!(out.report.parked_by_reason[&ParkReason::ClaimInFlight], 4);
    assert_eq!(p.mailer().bulk_calls().len(), 1);
    // after the lease: sent again, every one of them counted as an ambiguous retry
    tokio::time::advance(Duration::from_secs(121)).await;
    let out = p.process(batch, None).await;
    assert_eq!(out.report.emails_sent, 4);
    assert_eq!(out.report.ambiguous_retries, 4);
}

#[tokio::test(start_paused = true)]
async fn whole_call_refusals_act_as_a_single_sends_would() {
    // 429 for the call: every entry parked `throttled`, the pacer slowed
    let s = bulk(ProcessorSettings {
        rate_source: RateSource::Fixed(100.0),
        target_utilisation: 1.0,
        ..settings()
    });
    let p = processor(bulk_mailer(), s.clone());
    p.mailer()
        .script_bulk([BulkCall::error("TooManyRequestsException", 429)]);
    let out = p.process(successes(5), None).await;
    assert_eq!(out.report.parked_by_reason[&ParkReason::Throttled], 5);
    assert_eq!(out.report.emails_throttled, 5);
    assert!(p.pacer().rate() < 100.0);

    // the account suspended: every entry to the DLQ with its reason
    let p = processor(bulk_mailer(), s.clone());
    p.mailer()
        .script_bulk([BulkCall::error("AccountSuspendedException", 400)]);
    let out = p.process(successes(3), None).await;
    assert_eq!(
        out.report.dead_lettered_by_reason[&DlqReason::AccountSuspended],
        3
    );

    // the daily quota as entry statuses: parked, and the gate closes for the rest
    let p = processor(bulk_mailer(), s);
    let out = p
        .process(
            records(&[
                "entry-ACCOUNT_DAILY_QUOTA_EXCEEDED",
                "entry-ACCOUNT_DAILY_QUOTA_EXCEEDED",
            ]),
            None,
        )
        .await;
    assert_eq!(out.report.parked_by_reason[&ParkReason::DailyQuota], 2);
    assert_eq!(p.account_gate(), Some(ParkReason::DailyQuota));
    let out = p.process(successes(3), None).await;
    assert_eq!(out.report.parked_by_reason[&ParkReason::DailyQuota], 3);
    assert_eq!(p.mailer().bulk_calls().len(), 1, "no call while closed");
}

#[tokio::test(start_paused = true)]
async fn calls_never_ask_for_more_than_ses_bucket_holds() {
    // 14/s at 0.98: 13 entries a call, each call due at the end of its block of slots
    let s = bulk(ProcessorSettings {
        rate_source: RateSource::Account,
        target_utilisation: 0.98,
        ..settings()
    });
    let p = processor(bulk_mailer(), s);
    let t0 = Instant::now();
    let out = p.process(successes(60), None).await;
    assert_eq!(out.report.emails_sent, 60);
    let calls = p.mailer().bulk_calls();
    assert!(calls.iter().all(|&n| n <= 13), "{calls:?}");
    // SES's bucket: 14 tokens, refilled at 14/s; every call takes one per entry
    let mut sends: Vec<Instant> = p.mailer().sent().iter().map(|s| s.at).collect();
    sends.sort();
    let (mut tokens, mut last) = (14.0_f64, t0);
    for at in sends {
        tokens = (tokens + (at - last).as_secs_f64() * 14.0).min(14.0);
        last = at;
        tokens -= 1.0;
        assert!(tokens > -1e-6, "SES would throttle at {:?}", at - t0);
    }
    // and the whole batch still goes at the paced rate (60 at 13.72/s: about 4.3 s)
    let span = p.mailer().sent().last().unwrap().at - t0;
    assert!(span < Duration::from_millis(4_600), "{span:?}");
}

#[tokio::test(start_paused = true)]
async fn nothing_is_sent_past_the_deadline_and_the_rest_is_parked() {
    // 5/s: 4 entries a call; deadline 8 s away, so no send starts after 5 s
    let s = bulk(ProcessorSettings {
        rate_source: RateSource::Fixed(5.0),
        target_utilisation: 0.98,
        ..settings()
    });
    let p = processor(bulk_mailer(), s);
    let t0 = Instant::now();
    let out = p
        .process(successes(60), Some(t0 + Duration::from_secs(8)))
        .await;
    let sent = out.report.emails_sent;
    let deadline = out.report.parked_by_reason[&ParkReason::Deadline];
    assert_eq!(sent + deadline, 60, "{:?}", out.report);
    assert!((20..=28).contains(&sent), "{sent}");
    assert!(
        p.mailer()
            .sent()
            .iter()
            .all(|s| s.at <= t0 + Duration::from_millis(5_050)),
        "a call started after the last send start"
    );
    assert!(out.batch_item_failures.is_empty());
    // parked entries hold no claim
    let parked_codes = out
        .report
        .outcomes
        .iter()
        .filter(|(_, o)| matches!(o, RecordOutcome::Parked { .. }))
        .count();
    assert_eq!(parked_codes, deadline);
}

#[tokio::test(start_paused = true)]
async fn a_campaign_paused_during_a_batch_stops_its_entries_not_the_others_in_the_same_calls() {
    let cache = Duration::from_secs(1);
    let p = processor(
        bulk_mailer(),
        bulk(ProcessorSettings {
            rate_source: RateSource::Fixed(4.0),
            target_utilisation: 1.0,
            campaign_state_cache: cache,
            ..settings()
        }),
    );
    // a and b alternate, so every call (4 entries at 4/s) carries both
    let body = |campaign: &str, i: u32| {
        serde_json::json!({
            "from": "sender@example.com", "to": "success@simulator.amazonses.com",
            "template_name": "SimpleEmail", "user_id": (i + 1).to_string(),
            "tags": [{"Name": "campaign", "Value": campaign}],
            "unique_code": format!("{campaign}-{i}"),
        })
        .to_string()
    };
    let batch: Vec<InboundRecord> = (0..20)
        .flat_map(|i| ["a", "b"].map(|c| rec(&format!("{c}-{i}"), body(c, i))))
        .collect();
    let run = tokio::spawn({
        let p = p.clone();
        async move { p.process(batch, None).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let paused_at = Instant::now();
    steer(
        p.campaigns(),
        "a",
        &CampaignCommand::Pause {
            reason: "wrong list".into(),
        },
        "test",
        1,
        None,
    )
    .await
    .unwrap();
    let out = run.await.unwrap();
    assert!(p.mailer().bulk_calls().iter().all(|&n| n <= 4));
    assert_a_paused_mid_batch(p.mailer(), &out, paused_at, cache);
}
