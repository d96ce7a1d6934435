//! The poller in the regimes AWS puts it in: the invocation's deadline, parking, the regime gate
//! (daily quota, paused sending, suspension), access denied and `GetAccount` failing. In-memory
//! ports, tokio paused time.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use sesload_core::memory::{Answer, MemoryMailer};
use sesload_core::*;
use tokio::time::Instant;

fn quota(rate: f64, max: Option<f64>, sent: f64, enabled: bool) -> SendQuota {
    SendQuota {
        max_send_rate: rate,
        max_24_hour_send: max,
        sent_last_24_hours: sent,
        sending_enabled: enabled,
    }
}

/// Settings pacing to the account's rate (GetAccount), recipients at example.com allowed.
fn account_settings() -> ProcessorSettings {
    ProcessorSettings {
        rate_source: RateSource::Account,
        policy: Policy::new(["simulator.amazonses.com", "example.com"]),
        ..settings()
    }
}

fn real_recipients(n: usize, prefix: &str) -> Vec<InboundRecord> {
    (0..n)
        .map(|i| {
            rec(
                &format!("{prefix}{i}"),
                body_to(
                    &format!("user{i}@example.com"),
                    i as u32 + 1,
                    &format!("{prefix}-c{i}"),
                ),
            )
        })
        .collect()
}

fn count_parked(o: &BatchOutcome, reason: ParkReason) -> usize {
    o.report
        .parked_by_reason
        .get(&reason)
        .copied()
        .unwrap_or_default()
}

// ---------------------------------------------------------------- deadline

#[tokio::test(start_paused = true)]
async fn no_invocation_overruns_its_deadline_in_any_configuration() {
    // (MaxSendRate, batch, function timeout s)
    let configs = [
        (1.0, 20, 5),
        (1.0, 20, 30),
        (2.0, 20, 5),
        (14.0, 20, 5),
        (14.0, 200, 10),
        (200.0, 500, 4),
    ];
    for (rate, batch, timeout) in configs {
        let m = mailer(50);
        m.set_quota(Ok(quota(rate, None, 0.0, true)));
        let p = processor(
            m,
            ProcessorSettings {
                send_concurrency: 32,
                ..account_settings()
            },
        );
        let start = Instant::now();
        let deadline = start + Duration::from_secs(timeout);
        let out = p.process(successes(batch), Some(deadline)).await;
        let case = format!("{rate}/s, batch {batch}, timeout {timeout} s");
        assert!(
            Instant::now() < deadline,
            "{case}: answered after the deadline"
        );
        // no send started within 3 s of the deadline
        for s in p.mailer().sent() {
            let started = s.at - Duration::from_millis(50);
            assert!(
                started <= deadline - DEADLINE_RESERVE,
                "{case}: a send started {:?} before the deadline",
                deadline - started
            );
        }
        let r = &out.report;
        assert_eq!(r.emails_sent + r.deadline_returns, batch, "{case}: {r:?}");
        assert_eq!(r.emails_parked, r.deadline_returns, "{case}");
        assert!(out.batch_item_failures.is_empty(), "{case}");
        // what fits was sent: the fleet rate × the time before the reserve, + the slot due at 0
        let fits = ((timeout as f64 - 3.0) * rate * 0.98).floor() as usize + 1;
        assert!(
            r.emails_sent >= fits.min(batch).saturating_sub(1),
            "{case}: sent {} of about {fits}",
            r.emails_sent
        );
        for (_, o) in &r.outcomes {
            if let RecordOutcome::Parked { reason, delay } = o {
                assert_eq!(*reason, ParkReason::Deadline, "{case}");
                assert!(
                    *delay >= Duration::from_secs(1) && *delay <= Duration::from_secs(2),
                    "{case}: a deadline park waits about a second, not {delay:?}"
                );
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_send_cut_by_the_deadline_may_have_reached_ses_and_keeps_its_claim() {
    // SES hangs for a minute: the call is cut 1 s before the deadline
    let p = processor(mailer(60_000), settings());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(10);
    let out = p
        .process(
            vec![rec("slow", body("success", 1, "slow"))],
            Some(deadline),
        )
        .await;
    assert!(Instant::now() < deadline);
    assert_eq!(
        outcome(&out, "slow"),
        &RecordOutcome::Retry {
            cause: RetryCause::Transient("Timeout".into()),
            delay: match outcome(&out, "slow") {
                RecordOutcome::Retry { delay, .. } => *delay,
                _ => unreachable!(),
            }
        }
    );
    assert!(
        p.ledger().entry("slow").is_some(),
        "a send that may have gone out keeps its claim"
    );
    assert!(out.report.ses_send_ms[0] >= 8_990.0);
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_arrives_too_late_to_send_is_parked_whole() {
    let p = processor(mailer(1), settings());
    let mut records = successes(3);
    records.push(rec("bad", "nope".into()));
    let out = p
        .process(records, Some(Instant::now() + Duration::from_secs(2)))
        .await;
    assert_eq!(out.report.deadline_returns, 3);
    assert_eq!(count_parked(&out, ParkReason::Deadline), 3);
    // an invalid body is still a dead letter
    assert_eq!(out.report.emails_dead_lettered, 1);
    assert_eq!(p.mailer().calls(), 0);
    assert_eq!(p.customers().inner().calls(), 0);
}

// ---------------------------------------------------------------- parking

#[tokio::test(start_paused = true)]
async fn parked_copies_carry_the_body_reason_count_and_a_delay_that_grows_with_the_count() {
    let m = mailer(1);
    m.set_quota(Err(PortError::new("ses.get_account", "down")));
    let p = processor(m, account_settings());
    let mut r = successes(3);
    r[1].park_count = 3;
    r[2].park_count = 12;
    let out = p.process(r.clone(), None).await;
    let parked = p.parking().parked();
    assert_eq!(parked.len(), 3);
    for (copy, original) in parked.iter().zip(&r) {
        assert_eq!(copy.source_message_id, original.message_id);
        assert_eq!(copy.receipt_handle, original.receipt_handle);
        assert_eq!(copy.body, original.body);
        assert_eq!(copy.reason, ParkReason::QuotaUnknown);
        assert_eq!(copy.park_count, original.park_count + 1);
    }
    // park_base_delay (10 s) × 2^park_count, capped at 900 s, within its top quarter
    let within = |d: Duration, lo: u64, hi: u64| {
        d >= Duration::from_millis(lo) && d <= Duration::from_millis(hi)
    };
    assert!(
        within(parked[0].delay, 7_500, 10_000),
        "{:?}",
        parked[0].delay
    );
    assert!(
        within(parked[1].delay, 60_000, 80_000),
        "{:?}",
        parked[1].delay
    );
    assert!(
        within(parked[2].delay, 675_000, 900_000),
        "{:?}",
        parked[2].delay
    );
    assert!(out.batch_item_failures.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_park_that_fails_is_a_batch_item_failure_with_the_park_delay() {
    let m = mailer(1);
    m.set_quota(Err(PortError::new("ses.get_account", "down")));
    let p = processor(m, account_settings());
    p.parking().set_unavailable(true);
    let out = p.process(successes(2), None).await;
    assert_eq!(out.batch_item_failures, vec!["m0", "m1"]);
    match outcome(&out, "m0") {
        RecordOutcome::Retry {
            cause: RetryCause::ParkFailed(ParkReason::QuotaUnknown),
            delay,
        } => assert!(*delay >= Duration::from_millis(7_500)),
        o => panic!("{o:?}"),
    }
    let changes = p.visibility().changes();
    assert_eq!(changes.len(), 2);
    assert!(
        changes
            .iter()
            .all(|c| c.delay >= Duration::from_millis(7_500))
    );
    assert_eq!(out.report.emails_parked, 0);
}

// ---------------------------------------------------------------- GetAccount

#[tokio::test(start_paused = true)]
async fn get_account_is_retried_and_a_batch_without_any_answer_is_parked_not_guessed() {
    let m = mailer(1);
    m.set_quota(Err(PortError::new("ses.get_account", "connection refused")));
    let p = processor(m, account_settings());
    let out = p.process(successes(4), None).await;
    assert_eq!(out.report.quota_fetch_failures, 3, "three attempts");
    assert_eq!(p.mailer().quota_calls(), 3);
    assert_eq!(count_parked(&out, ParkReason::QuotaUnknown), 4);
    assert_eq!(p.mailer().calls(), 0, "no send at a guessed rate");
    // GetAccount answers: the next batch sends at the account's rate
    p.mailer()
        .set_quota(Ok(quota(14.0, Some(50_000.0), 0.0, true)));
    let out = p.process(successes(4), None).await;
    assert_eq!(out.report.emails_sent, 4);
    assert_eq!(out.report.quota_fetch_failures, 0);
    assert_eq!(p.pacer().account_rate(), Some(14.0));
    // failing again once the cache is stale: the last good answer is kept, sending goes on
    p.mailer()
        .set_quota(Err(PortError::new("ses.get_account", "throttled")));
    tokio::time::advance(Duration::from_secs(301)).await;
    let records: Vec<_> = (10..14)
        .map(|i| rec(&format!("n{i}"), body("success", i, &format!("n{i}"))))
        .collect();
    let out = p.process(records, None).await;
    assert_eq!(out.report.quota_fetch_failures, 3);
    assert_eq!(out.report.emails_sent, 4);
    assert_eq!(p.pacer().account_rate(), Some(14.0));
}

#[tokio::test(start_paused = true)]
async fn get_account_retries_stop_at_the_last_send_start() {
    let m = MemoryMailer::new().with_latency(Duration::from_millis(1));
    m.set_quota(Err(PortError::new("ses.get_account", "down")));
    let p = processor(m, account_settings());
    let start = Instant::now();
    // 3.3 s to the deadline: 0.3 s before the last send start, room for two attempts at most
    let out = p
        .process(successes(1), Some(start + Duration::from_millis(3_300)))
        .await;
    assert!(out.report.quota_fetch_failures >= 1 && out.report.quota_fetch_failures <= 2);
    assert!(Instant::now() < start + Duration::from_millis(3_300));
}

// ---------------------------------------------------------------- the regime gate

#[tokio::test(start_paused = true)]
async fn the_daily_quota_stops_sending_at_the_first_answer_and_resumes_after_a_probe() {
    let m = mailer(1).with_rule(|_, _| Answer::error("LimitExceededException", 400));
    m.set_quota(Ok(quota(14.0, None, 0.0, true)));
    let p = processor(
        m,
        ProcessorSettings {
            send_concurrency: 1,
            ..account_settings()
        },
    );
    let out = p.process(real_recipients(10, "a"), None).await;
    assert_eq!(
        p.mailer().calls(),
        1,
        "SES is not called again after the first answer"
    );
    assert_eq!(count_parked(&out, ParkReason::DailyQuota), 10);
    assert!(
        out.batch_item_failures.is_empty(),
        "no receive is spent on waiting"
    );
    assert_eq!(p.account_gate(), Some(ParkReason::DailyQuota));
    // mailbox-simulator recipients park too while the account's gate is closed
    let out = p.process(successes(3), None).await;
    assert_eq!(count_parked(&out, ParkReason::DailyQuota), 3);
    assert_eq!(p.mailer().calls(), 1);
    assert_eq!(
        p.customers().inner().calls(),
        1,
        "no lookup for a closed account"
    );
    // after the probe interval, GetAccount shows room again: sending resumes
    tokio::time::advance(Duration::from_secs(10)).await;
    p.mailer()
        .set_quota(Ok(quota(14.0, Some(1_000.0), 10.0, true)));
    p.mailer().answer_all(Some(Answer::Accept));
    let out = p.process(real_recipients(5, "b"), None).await;
    assert_eq!(out.report.emails_sent, 5);
    assert_eq!(p.account_gate(), None);
}

#[tokio::test(start_paused = true)]
async fn get_account_numbers_close_the_gate_before_ses_says_so() {
    let m = mailer(1);
    // 5 real recipients left in the 24-hour window
    m.set_quota(Ok(quota(14.0, Some(100.0), 95.0, true)));
    let p = processor(m, account_settings());
    let mut records = real_recipients(8, "r");
    // mailbox-simulator recipients do not count against the daily quota
    records.extend(successes(2));
    let out = p.process(records, None).await;
    let sent_real = p
        .mailer()
        .sent_to()
        .iter()
        .filter(|t| t.ends_with("@example.com"))
        .count();
    assert_eq!(sent_real, 5);
    // the three real recipients beyond the quota, and the simulator ones once it closed
    assert_eq!(out.report.emails_sent, 5);
    assert_eq!(count_parked(&out, ParkReason::DailyQuota), 5);
    assert_eq!(
        p.mailer().calls(),
        out.report.emails_sent,
        "SES never answered LimitExceeded"
    );
    assert_eq!(p.account_gate(), Some(ParkReason::DailyQuota));
    // a probe before the interval is not made; after it, still full: stays closed
    tokio::time::advance(Duration::from_secs(10)).await;
    p.mailer()
        .set_quota(Ok(quota(14.0, Some(100.0), 100.0, true)));
    let calls = p.mailer().quota_calls();
    let out = p.process(real_recipients(2, "s"), None).await;
    assert_eq!(p.mailer().quota_calls(), calls + 1);
    assert_eq!(count_parked(&out, ParkReason::DailyQuota), 2);
}

#[tokio::test(start_paused = true)]
async fn an_account_pause_parks_every_record_until_get_account_shows_it_lifted() {
    let m = mailer(1);
    m.set_quota(Ok(quota(14.0, None, 0.0, true)));
    let p = processor(
        m,
        ProcessorSettings {
            send_concurrency: 1,
            ..account_settings()
        },
    );
    assert_eq!(p.process(successes(1), None).await.report.emails_sent, 1);
    // paused mid-run: SES answers SendingPausedException, GetAccount SendingEnabled = false
    p.mailer()
        .answer_all(Some(Answer::error("SendingPausedException", 400)));
    p.mailer().set_quota(Ok(quota(14.0, None, 0.0, false)));
    let records: Vec<_> = (1..7)
        .map(|i| rec(&format!("m{i}"), body("success", i, &format!("c{i}"))))
        .collect();
    let out = p.process(records.clone(), None).await;
    assert_eq!(p.mailer().calls(), 2, "one answer, then no more calls");
    assert_eq!(count_parked(&out, ParkReason::SendingPaused), 6);
    assert_eq!(p.account_gate(), Some(ParkReason::SendingPaused));
    // still paused at the next probe: parked again without any SES call but GetAccount
    tokio::time::advance(Duration::from_secs(10)).await;
    let out = p.process(records.clone(), None).await;
    assert_eq!(count_parked(&out, ParkReason::SendingPaused), 6);
    assert_eq!(p.mailer().calls(), 2);
    // lifted: the next probe reopens the account and the records go out
    tokio::time::advance(Duration::from_secs(10)).await;
    p.mailer().set_quota(Ok(quota(14.0, None, 0.0, true)));
    p.mailer().answer_all(None);
    let out = p.process(records, None).await;
    assert_eq!(p.account_gate(), None);
    assert_eq!(out.report.emails_sent, 6);
}

#[tokio::test(start_paused = true)]
async fn a_paused_configuration_set_parks_only_its_records_and_one_send_probes_it() {
    let m = mailer(1).with_rule(|e, _| {
        if e.configuration_set.as_deref() == Some("paused") {
            Answer::error("SendingPausedException", 400)
        } else {
            Answer::Accept
        }
    });
    m.set_quota(Ok(quota(14.0, None, 0.0, true)));
    let p = processor(
        m,
        ProcessorSettings {
            send_concurrency: 1,
            ..account_settings()
        },
    );
    let with_set = |id: &str, set: &str| {
        let mut v: serde_json::Value =
            serde_json::from_str(&body("success", 1, &format!("{id}-code"))).unwrap();
        v["config_set"] = serde_json::json!(set);
        rec(id, v.to_string())
    };
    let records: Vec<_> = (0..4)
        .flat_map(|i| {
            [
                with_set(&format!("p{i}"), "paused"),
                with_set(&format!("o{i}"), "open"),
            ]
        })
        .collect();
    let out = p.process(records, None).await;
    assert_eq!(out.report.emails_sent, 4);
    assert_eq!(count_parked(&out, ParkReason::SendingPaused), 4);
    let paused_calls = |p: &Proc| p.mailer().calls() - p.mailer().sent().len();
    assert_eq!(
        paused_calls(&p),
        1,
        "one SendingPaused answer closes the set"
    );
    assert_eq!(
        p.account_gate(),
        None,
        "GetAccount showed the account sending"
    );
    // after the interval exactly one record probes the set
    tokio::time::advance(Duration::from_secs(10)).await;
    let records: Vec<_> = (4..8)
        .map(|i| with_set(&format!("p{i}"), "paused"))
        .collect();
    let out = p.process(records, None).await;
    assert_eq!(paused_calls(&p), 2);
    assert_eq!(count_parked(&out, ParkReason::SendingPaused), 4);
}

#[tokio::test(start_paused = true)]
async fn a_suspended_account_dead_letters_the_batch_without_calling_ses_again() {
    let m = mailer(1).with_rule(|_, _| Answer::error("AccountSuspendedException", 400));
    let p = processor(
        m,
        ProcessorSettings {
            send_concurrency: 1,
            ..settings()
        },
    );
    let out = p.process(successes(5), None).await;
    assert_eq!(p.mailer().calls(), 1);
    assert_eq!(
        out.report.dead_lettered_by_reason[&DlqReason::AccountSuspended],
        5
    );
    assert!(out.batch_item_failures.is_empty());
    let letters = p.dead_letters().letters();
    assert!(letters[0].detail.contains("AccountSuspendedException"));
    assert!(
        letters
            .iter()
            .any(|l| l.detail.starts_with("not attempted"))
    );
    // nothing was sent: the claims are released, so a redrive sends them
    assert!(p.ledger().entry("c0").is_none());
}

// ---------------------------------------------------------------- access denied

#[tokio::test(start_paused = true)]
async fn access_denied_is_a_dead_letter_naming_the_resource_never_a_retry() {
    let m = mailer(1).with_rule(|e, _| {
        if e.to.starts_with("denied") {
            Answer::Fail(SendFailure {
                code: "AccessDeniedException".into(),
                message: "User: arn:aws:sts::123456789012:assumed-role/poller/x is not authorized \
                          to perform: ses:SendEmail on resource: \
                          arn:aws:ses:us-east-1:123456789012:template/Promo because no \
                          identity-based policy allows the ses:SendEmail action"
                    .into(),
                status: Some(403),
                maybe_sent: false,
            })
        } else {
            Answer::Accept
        }
    });
    let p = processor(m, settings());
    let mut records = successes(3);
    records.push(rec("d1", body("denied", 1, "d1")));
    records.push(rec("d2", body("denied", 2, "d2")));
    let out = p.process(records, None).await;
    assert_eq!(out.report.emails_sent, 3);
    assert_eq!(out.report.access_denied, 2);
    assert_eq!(
        out.report.dead_lettered_by_reason[&DlqReason::AccessDenied],
        2
    );
    assert!(out.batch_item_failures.is_empty());
    let letters: HashMap<_, _> = p
        .dead_letters()
        .letters()
        .into_iter()
        .map(|l| (l.source_message_id.clone(), l))
        .collect();
    let detail = &letters["d1"].detail;
    assert!(
        detail.contains("on resource arn:aws:ses:us-east-1:123456789012:template/Promo"),
        "{detail}"
    );
    assert_eq!(letters["d1"].reason, DlqReason::AccessDenied);
    assert!(
        p.ledger().entry("d1").is_none(),
        "nothing sent: claim released"
    );
}
