use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::campaign::{CampaignChange, CampaignState};
use crate::memory::{MemoryCampaigns, MemoryGuardCounters};

fn tally(sends: u64, bounces: u64, complaints: u64) -> Tally {
    Tally {
        sends,
        bounces,
        complaints,
    }
}

fn defaults() -> GuardrailSettings {
    GuardrailSettings::default()
}

#[test]
fn defaults_are_ses_warning_levels_and_settable() {
    let d = defaults();
    assert_eq!(
        (d.bounce_rate, d.complaint_rate, d.min_sends, d.window),
        (0.05, 0.001, 100, Duration::from_secs(3600))
    );
    let env: HashMap<&str, &str> = [
        ("GUARDRAIL_BOUNCE_RATE", "0.08"),
        ("GUARDRAIL_COMPLAINT_RATE", "0.002"),
        ("GUARDRAIL_MIN_SENDS", "500"),
        ("GUARDRAIL_WINDOW_MINUTES", "15"),
    ]
    .into();
    let s = GuardrailSettings::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(
        (
            s.bounce_rate,
            s.complaint_rate,
            s.min_sends,
            s.window_minutes()
        ),
        (0.08, 0.002, 500, 15)
    );
    for (k, v, why) in [
        ("GUARDRAIL_BOUNCE_RATE", "5", "must be in (0, 1]"),
        ("GUARDRAIL_COMPLAINT_RATE", "0", "must be in (0, 1]"),
        ("GUARDRAIL_MIN_SENDS", "0", "must be in 1..=1000000"),
        ("GUARDRAIL_WINDOW_MINUTES", "1441", "must be in 1..=1440"),
    ] {
        let e = GuardrailSettings::from_lookup(|x| (x == k).then(|| v.to_string()))
            .unwrap_err()
            .to_string();
        assert_eq!(e, format!("{k}={v:?} is invalid: {why}"));
    }
}

#[test]
fn the_guard_lambda_needs_the_control_table() {
    let e = GuardConfig::from_lookup(|_| None).unwrap_err();
    assert_eq!(e.to_string(), "CONTROL_TABLE is required but not set");
    let c = GuardConfig::from_lookup(|k| (k == "CONTROL_TABLE").then(|| "ctl".into())).unwrap();
    assert_eq!(c.control_table, "ctl");
    assert_eq!(c.metrics_namespace, "sesload");
    assert_eq!(c.guardrails, defaults());
}

#[test]
fn rates_are_judged_from_the_minimum_number_of_sends() {
    let s = defaults();
    assert_eq!(evaluate(&tally(99, 60, 0), &s), None, "too few sends");
    let t = evaluate(&tally(100, 20, 0), &s).expect("20 % bounces");
    assert_eq!(
        (t.guardrail, t.rate, t.threshold, t.events, t.sends),
        (Guardrail::Bounce, 0.2, 0.05, 20, 100)
    );
    assert_eq!(
        evaluate(&tally(200, 10, 0), &s),
        None,
        "exactly 5 % is not over"
    );
    assert!(evaluate(&tally(200, 11, 0), &s).is_some());
    assert_eq!(evaluate(&tally(0, 0, 0), &s), None);
}

#[test]
fn one_complaint_alone_never_pauses_a_campaign() {
    let s = defaults();
    // 1 in 100 is 1 %, but at 0.1 % a complaint rate means something from 1,000 sends.
    assert_eq!(evaluate(&tally(100, 0, 1), &s), None);
    assert_eq!(evaluate(&tally(999, 0, 3), &s), None);
    assert_eq!(evaluate(&tally(1_000, 0, 1), &s), None, "0.1 % is not over");
    let t = evaluate(&tally(1_000, 0, 2), &s).expect("0.2 % complaints");
    assert_eq!((t.guardrail, t.events), (Guardrail::Complaint, 2));
    // Both over: the bounce guardrail speaks first.
    let t = evaluate(&tally(1_000, 100, 5), &s).unwrap();
    assert_eq!(t.guardrail, Guardrail::Bounce);
}

#[test]
fn the_reason_has_the_rate_and_the_threshold() {
    let s = defaults();
    let t = evaluate(&tally(230, 40, 0), &s).unwrap();
    assert_eq!(
        t.reason(),
        "bounce rate 17.39 % (40 of 230 sends in the last 60 min) is over the 5 % threshold"
    );
    let t = evaluate(&tally(4_000, 0, 7), &s).unwrap();
    assert_eq!(
        t.reason(),
        "complaint rate 0.18 % (7 of 4000 sends in the last 60 min) is over the 0.1 % threshold"
    );
    assert_eq!(Guardrail::Complaint.by(), "guardrail:complaint");
    assert_eq!(percent(0.1), "10");
}

#[test]
fn the_window_is_the_last_minutes_but_not_before_the_last_resume() {
    let s = GuardrailSettings {
        window: Duration::from_secs(600),
        ..defaults()
    };
    let now = 1_000 * BUCKET_MS + 30_000; // 30 s into minute 1000
    let running = CampaignEntry::running("c");
    assert_eq!(
        window_for(&running, &s, now),
        Window {
            first_minute: 991,
            last_minute: 1000
        }
    );
    let resumed = CampaignEntry {
        version: 2,
        changed_ms: Some(997 * BUCKET_MS + 5_000),
        ..CampaignEntry::running("c")
    };
    assert_eq!(window_for(&resumed, &s, now).first_minute, 997);
    let long_ago = CampaignEntry {
        changed_ms: Some(10 * BUCKET_MS),
        ..resumed
    };
    assert_eq!(window_for(&long_ago, &s, now).first_minute, 991);
}

async fn set(c: &MemoryCampaigns, name: &str, state: CampaignState, at_ms: u64, version: u64) {
    let change = CampaignChange {
        campaign: name.to_string(),
        if_version: version,
        state,
        updated_by: "cli:test".into(),
        at_ms,
    };
    assert!(matches!(
        c.set(&change).await.unwrap(),
        crate::SetOutcome::Applied(_)
    ));
}

#[tokio::test]
async fn a_bouncing_campaign_is_auto_paused_and_a_clean_one_is_not() {
    let control = MemoryCampaigns::new();
    let counters = MemoryGuardCounters::new();
    let s = defaults();
    let now = 2_000 * BUCKET_MS + 10_000;
    // 150 sends over the last two minutes, a fifth of them bounced; the clean one beside it.
    counters.add("bouncy", 1_999, tally(80, 16, 0));
    counters.add("bouncy", 2_000, tally(70, 6, 0));
    counters.add("clean", 2_000, tally(150, 0, 0));
    // Long before the window: does not count.
    counters.add("clean", 1_000, tally(100, 100, 0));
    let names = vec![
        "bouncy".to_string(),
        "clean".to_string(),
        "quiet".to_string(),
    ];
    let checks = check(&control, &counters, &s, &names, now).await;
    let by: HashMap<&str, &CampaignCheck> =
        checks.iter().map(|c| (c.campaign.as_str(), c)).collect();

    let CheckOutcome::Paused { trip, entry } = &by["bouncy"].outcome else {
        panic!("{:?}", by["bouncy"]);
    };
    assert_eq!(by["bouncy"].tally, Some(tally(150, 22, 0)));
    assert_eq!((trip.events, trip.sends), (22, 150));
    assert_eq!(entry.state.code(), "auto_paused");
    assert_eq!(entry.updated_by, "guardrail:bounce");
    assert_eq!(entry.state.since_ms(), Some(now));
    assert!(
        entry
            .state
            .reason()
            .starts_with("bounce rate 14.67 % (22 of 150 sends")
            && entry.state.reason().ends_with("is over the 5 % threshold"),
        "{}",
        entry.state.reason()
    );
    assert_eq!(by["clean"].outcome, CheckOutcome::Clear);
    assert_eq!(by["clean"].tally, Some(tally(150, 0, 0)));
    assert_eq!(by["quiet"].outcome, CheckOutcome::Clear);
    let stored = control.get(&names).await.unwrap();
    assert_eq!(
        stored["clean"].version, 0,
        "nothing written for a clean campaign"
    );

    // Checked again: an auto-paused campaign is not judged (nor written) again.
    let again = check(&control, &counters, &s, &names[..1], now + 5_000).await;
    assert_eq!(again[0].outcome, CheckOutcome::NotRunning);
    assert_eq!(control.get(&names[..1]).await.unwrap()["bouncy"].version, 1);
}

#[tokio::test]
async fn an_operator_is_never_overruled_and_a_resume_starts_a_clean_window() {
    let control = MemoryCampaigns::new();
    let counters = MemoryGuardCounters::new();
    let s = defaults();
    let now = 3_000 * BUCKET_MS + 50_000;
    counters.add("c", 2_999, tally(200, 60, 0));
    let paused = CampaignState::Paused {
        reason: "checking the list".into(),
        since_ms: now - 1,
    };
    set(&control, "c", paused.clone(), now - 1, 0).await;
    let r = check(&control, &counters, &s, &["c".to_string()], now).await;
    assert_eq!(r[0].outcome, CheckOutcome::NotRunning);
    assert_eq!(control.get(&["c".into()]).await.unwrap()["c"].state, paused);

    // Resumed in minute 3000: minute 2999's bounces are history.
    set(&control, "c", CampaignState::Running, now, 1).await;
    counters.add("c", 3_000, tally(120, 2, 0));
    let r = check(&control, &counters, &s, &["c".to_string()], now + 1_000).await;
    assert_eq!(r[0].outcome, CheckOutcome::Clear);
    assert_eq!(r[0].tally, Some(tally(120, 2, 0)));
    // It bounces again after the resume: paused again.
    counters.add("c", 3_001, tally(100, 30, 0));
    let r = check(
        &control,
        &counters,
        &s,
        &["c".to_string()],
        3_001 * BUCKET_MS + 1,
    )
    .await;
    assert!(
        matches!(r[0].outcome, CheckOutcome::Paused { .. }),
        "{:?}",
        r[0]
    );
}

#[tokio::test]
async fn failures_are_reported_per_campaign() {
    let control = MemoryCampaigns::new();
    let counters = MemoryGuardCounters::new();
    let s = defaults();
    let names = vec!["a".to_string(), "b".to_string()];
    counters.set_unavailable(true);
    let r = check(&control, &counters, &s, &names, 1).await;
    assert!(
        r.iter()
            .all(|c| matches!(&c.outcome, CheckOutcome::Failed(m) if m.contains("unavailable")))
    );
    counters.set_unavailable(false);
    control.set_unavailable(true);
    let r = check(&control, &counters, &s, &names, 1).await;
    assert_eq!(r.len(), 2);
    assert!(
        r.iter()
            .all(|c| matches!(c.outcome, CheckOutcome::Failed(_)))
    );
}

/// The scenario with the defaults, in simulated time: a campaign of 2,000 whose every
/// fifth recipient hard-bounces, sent at 20 emails/s (its share of a 40/s account beside a clean
/// campaign); its events reach the counters 3 s after the send (delivery delay plus the lake's
/// file roll), and the guard checks every 2 s. It is paused before 10 % of it is sent.
#[tokio::test]
async fn a_fifth_of_bounces_pauses_a_campaign_before_a_tenth_is_sent() {
    let control = MemoryCampaigns::new();
    let counters = MemoryGuardCounters::new();
    let s = defaults();
    let (total, rate_per_s, lag_ms, every_ms) = (2_000u64, 20u64, 3_000u64, 2_000u64);
    let start = 5_000 * BUCKET_MS + 40_000; // crosses a minute boundary on the way
    let sent_at = |i: u64| start + i * 1000 / rate_per_s;
    let mut visible = 0u64; // sends whose events have reached the counters
    let mut now = start;
    let paused_at_sent = loop {
        now += every_ms;
        while visible < total && sent_at(visible) + lag_ms <= now {
            let mut t = tally(1, 0, 0);
            if visible % 5 == 4 {
                t.bounces = 1;
            }
            counters.add("bouncy", sent_at(visible) / BUCKET_MS, t);
            visible += 1;
        }
        let r = check(&control, &counters, &s, &["bouncy".to_string()], now).await;
        if matches!(r[0].outcome, CheckOutcome::Paused { .. }) {
            // Sent by the time of the pause (what the poller had sent, events or not).
            break (0..total).take_while(|i| sent_at(*i) <= now).count() as u64;
        }
        assert!(now < start + 120_000, "never paused");
    };
    assert!(
        paused_at_sent < total / 10,
        "paused after {paused_at_sent} of {total} sent"
    );
}
