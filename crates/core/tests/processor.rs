//! BatchProcessor behaviour with the in-memory adapters of every port (tokio paused time).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::*;
use serde_json::json;
use sesload_core::memory::{Answer, LedgerEntry, MemoryDeadLetters};
use sesload_core::*;
use tokio::time::Instant;

// ---------------------------------------------------------------- tests

#[tokio::test(start_paused = true)]
async fn all_good_records_are_sent_with_personalised_data() {
    let p = processor(mailer(50), settings());
    let out = p.process(successes(20), None).await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(out.report.emails_received, 20);
    assert_eq!(out.report.emails_sent, 20);
    assert_eq!(out.report.ses_send_ms.len(), 20);
    assert!(out.report.ses_send_ms.iter().all(|ms| *ms >= 50.0));
    let sent = p.mailer().sent();
    let email = &sent
        .iter()
        .find(|s| s.email.unique_code.0 == "c3")
        .unwrap()
        .email;
    let data: serde_json::Value = serde_json::from_str(&email.template_data).unwrap();
    assert_eq!(
        data,
        json!({"first_name": "Customer4", "unique_code": "c3"})
    );
    assert!(
        email
            .tags
            .iter()
            .any(|t| t.name == "unique_code" && t.value == "c3")
    );
    assert!(email.tags.iter().any(|t| t.name == "campaign"));
    // every send recorded in the ledger with its message id
    assert_eq!(
        p.ledger().entry("c3").unwrap().message_id,
        p.mailer().message_id_for("c3")
    );
    assert!(p.visibility().changes().is_empty());
}

#[tokio::test(start_paused = true)]
async fn default_configuration_set_applies_when_request_has_none() {
    let s = ProcessorSettings {
        default_configuration_set: Some("load-test-config".into()),
        ..settings()
    };
    let p = processor(mailer(1), s);
    let mut with_cs: serde_json::Value = serde_json::from_str(&body("success", 1, "a")).unwrap();
    with_cs["config_set"] = json!("other");
    p.process(
        vec![
            rec("m1", body("success", 1, "b")),
            rec("m2", with_cs.to_string()),
        ],
        None,
    )
    .await;
    let cs: HashMap<_, _> = p
        .mailer()
        .sent()
        .into_iter()
        .map(|s| (s.email.unique_code.0, s.email.configuration_set))
        .collect();
    assert_eq!(cs["b"].as_deref(), Some("load-test-config"));
    assert_eq!(cs["a"].as_deref(), Some("other"));
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_and_sequential_mode_is_one_at_a_time() {
    let p = processor(mailer(50), settings());
    let t0 = Instant::now();
    p.process(successes(64), None).await;
    assert_eq!(p.mailer().max_in_flight(), 8);
    // 64 sends, 8 at a time, 50 ms each
    assert_eq!(t0.elapsed(), Duration::from_millis(400));

    let p = processor(mailer(50), settings().sequential());
    let t0 = Instant::now();
    let out = p.process(successes(10), None).await;
    assert_eq!(out.report.emails_sent, 10);
    assert_eq!(p.mailer().max_in_flight(), 1);
    assert_eq!(t0.elapsed(), Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn pacing_follows_the_account_quota_and_caches_get_account() {
    // 14/s × 0.5 = 7 emails/s for the whole fleet (one schedule), whatever the concurrency
    let s = ProcessorSettings {
        rate_source: RateSource::Account,
        target_utilisation: 0.5,
        maximum_concurrency: 4,
        quota_cache: Duration::from_secs(60),
        send_concurrency: 32,
        ..settings()
    };
    let p = processor(mailer(1), s);
    let out = p.process(successes(15), None).await;
    assert_eq!(out.report.emails_sent, 15);
    assert_eq!(p.pacer().fleet_rate(), 7.0);
    let times: Vec<Instant> = p.mailer().sent().iter().map(|s| s.at).collect();
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    // 15 sends at 7/s: 14 gaps of 1/7 s = 2 s
    assert!(
        span >= Duration::from_millis(1990) && span <= Duration::from_millis(2010),
        "{span:?}"
    );
    // GetAccount is cached between batches ...
    p.process(successes(2), None).await;
    assert_eq!(p.mailer().quota_calls(), 1);
    // ... until the cache expires
    tokio::time::advance(Duration::from_secs(61)).await;
    p.process(successes(1), None).await;
    assert_eq!(p.mailer().quota_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_fixed_rate_override_is_the_fleet_rate_without_get_account() {
    let s = ProcessorSettings {
        rate_source: RateSource::Fixed(10.0),
        target_utilisation: 1.0,
        maximum_concurrency: 4,
        ..settings()
    };
    let p = processor(mailer(1), s);
    let t0 = Instant::now();
    p.process(successes(11), None).await;
    assert_eq!(p.mailer().quota_calls(), 0);
    // 10/s for the fleet: 11 sends need 1 s
    assert!(
        t0.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        t0.elapsed()
    );
    assert!(
        t0.elapsed() < Duration::from_millis(1100),
        "{:?}",
        t0.elapsed()
    );
    // one reservation per slot at 10/s (blocks of 50 ms hold less than one)
    assert_eq!(p.schedule().reservations(), 11);
}

#[tokio::test(start_paused = true)]
async fn throttling_backs_off_multiplicatively_and_parks_records_briefly() {
    let s = ProcessorSettings {
        rate_source: RateSource::Fixed(20.0),
        target_utilisation: 1.0,
        maximum_concurrency: 1,
        retry_base_delay: Duration::from_secs(2),
        ..settings()
    };
    let p = processor(mailer(1), s);
    assert_eq!(p.pacer().rate(), 20.0);
    let mut records = successes(4);
    records.push(rec("t1", body("throttle-1", 1, "tc1")));
    records.push(rec("t2", body("throttle-1", 2, "tc2")));
    let out = p.process(records, None).await;
    assert_eq!(out.report.emails_throttled, 2);
    assert_eq!(out.report.emails_sent, 4);
    // waiting for the account's rate spends no receive: parked, not a batch item failure
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(out.report.emails_parked, 2);
    assert_eq!(out.report.parked_by_reason[&ParkReason::Throttled], 2);
    // two throttles in the same window: one halving
    assert!(
        p.pacer().rate() < 10.5 && p.pacer().rate() >= 10.0,
        "{}",
        p.pacer().rate()
    );
    for id in ["t1", "t2"] {
        match outcome(&out, id) {
            RecordOutcome::Parked {
                reason: ParkReason::Throttled,
                delay,
            } => assert!(*delay >= Duration::from_secs(1) && *delay <= Duration::from_secs(2)),
            o => panic!("{o:?}"),
        }
    }
    let parked = p.parking().parked();
    let handles: HashSet<_> = parked.iter().map(|c| c.receipt_handle.as_str()).collect();
    assert_eq!(handles, HashSet::from(["rh-t1", "rh-t2"]));
    assert!(
        parked
            .iter()
            .all(|r| r.park_count == 1 && r.body.contains("throttle-1"))
    );
    assert!(p.visibility().changes().is_empty());
    // the claim was released: the redelivery sends
    assert!(p.ledger().entry("tc1").is_none());
    // slow additive recovery
    tokio::time::advance(Duration::from_secs(5)).await;
    let r = p.pacer().rate();
    assert!(r > 14.0 && r < 15.5, "{r}");
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(p.pacer().rate(), 20.0);
    let again = p
        .process(vec![rec("t1", body("throttle-1", 1, "tc1"))], None)
        .await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(again.report.emails_sent, 1);
}

#[tokio::test(start_paused = true)]
async fn retry_delay_grows_with_receive_count_and_is_capped() {
    let s = ProcessorSettings {
        retry_base_delay: Duration::from_secs(2),
        retry_max_delay: Duration::from_secs(300),
        ..settings()
    };
    assert_eq!(s.retry_delay(1, 1.0), Duration::from_secs(2));
    assert_eq!(s.retry_delay(1, 0.0), Duration::from_secs(1));
    assert_eq!(s.retry_delay(4, 1.0), Duration::from_secs(16));
    assert_eq!(s.retry_delay(100, 1.0), Duration::from_secs(300));
    let p = processor(mailer(1), s);
    let mut r = rec("t", body("fail-InternalFailure-500", 1, "x"));
    r.receive_count = 3;
    let out = p.process(vec![r], None).await;
    match outcome(&out, "t") {
        RecordOutcome::Retry {
            cause: RetryCause::Transient(code),
            delay,
        } => {
            assert_eq!(code, "InternalFailure");
            assert!(*delay >= Duration::from_secs(4) && *delay <= Duration::from_secs(8));
        }
        o => panic!("{o:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn classification_drives_outcomes() {
    // The answers about one record; those about the account (daily quota, pause, suspension)
    // close the gate and are in tests/regimes.rs.
    let p = processor(mailer(1), settings());
    #[derive(Debug, PartialEq)]
    enum Want {
        Dead(DlqReason),
        Park(ParkReason),
        Retry,
    }
    let cases = [
        ("MessageRejected", 400, Want::Dead(DlqReason::SesRejected)),
        (
            "MailFromDomainNotVerifiedException",
            400,
            Want::Dead(DlqReason::SenderNotVerified),
        ),
        ("NotFoundException", 404, Want::Dead(DlqReason::SesNotFound)),
        (
            "BadRequestException",
            400,
            Want::Dead(DlqReason::SesBadRequest),
        ),
        (
            "AccessDeniedException",
            403,
            Want::Dead(DlqReason::AccessDenied),
        ),
        (
            "TooManyRequestsException",
            429,
            Want::Park(ParkReason::Throttled),
        ),
        ("InternalFailure", 500, Want::Retry),
        ("ServiceUnavailable", 503, Want::Retry),
        ("SomethingNew", 400, Want::Retry),
    ];
    let records: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, (code, status, _))| {
            rec(
                code,
                body(
                    &format!("fail-{code}-{status}"),
                    i as u32 + 1,
                    &format!("k{i}"),
                ),
            )
        })
        .collect();
    let out = p.process(records, None).await;
    let retried: HashSet<_> = out.batch_item_failures.iter().cloned().collect();
    for (code, _, want) in cases {
        match (want, outcome(&out, code)) {
            (Want::Dead(want), RecordOutcome::DeadLettered { reason, detail }) => {
                assert_eq!(*reason, want, "{code}");
                assert!(detail.contains(code), "{detail}");
                assert!(!retried.contains(code));
            }
            (Want::Park(want), RecordOutcome::Parked { reason, .. }) => {
                assert_eq!(*reason, want, "{code}");
                assert!(!retried.contains(code));
            }
            (
                Want::Retry,
                RecordOutcome::Retry {
                    cause: RetryCause::Transient(c),
                    ..
                },
            ) => {
                assert_eq!(c, code);
                assert!(retried.contains(code));
            }
            (want, got) => panic!("{code}: want {want:?}, got {got:?}"),
        }
    }
    assert_eq!(out.report.emails_dead_lettered, 5);
    assert_eq!(out.report.access_denied, 1);
    assert_eq!(out.report.emails_parked, 1);
    assert_eq!(out.report.emails_retried, 3);
    assert_eq!(out.report.emails_throttled, 1);
    // permanent SES failures release the claim (nothing was sent)
    assert!(p.ledger().entry("k0").is_none());
}

#[tokio::test(start_paused = true)]
async fn every_permanent_reason_reaches_the_dlq_with_its_reason_and_the_original_body() {
    let p = processor(mailer(1), settings());
    let mut bad_tag: serde_json::Value = serde_json::from_str(&body("success", 1, "bt")).unwrap();
    bad_tag["tags"] = json!([{"Name": "campaign", "Value": "has spaces"}]);
    let mut schema: serde_json::Value = serde_json::from_str(&body("success", 1, "sv")).unwrap();
    schema.as_object_mut().unwrap().remove("template_name");
    let cases = vec![
        (rec("json", "{oops".into()), DlqReason::InvalidJson),
        (
            rec("schema", schema.to_string()),
            DlqReason::SchemaViolation,
        ),
        (
            rec(
                "recipient",
                body("x", 1, "r").replace("simulator.amazonses.com", "gmail.com"),
            ),
            DlqReason::RecipientNotAllowed,
        ),
        (
            rec("customer", body("success", 5000, "uc")),
            DlqReason::UnknownCustomer,
        ),
        (rec("tag", bad_tag.to_string()), DlqReason::InvalidTag),
        (
            rec("rejected", body("fail-MessageRejected-400", 1, "a")),
            DlqReason::SesRejected,
        ),
        (
            rec(
                "sender",
                body("fail-MailFromDomainNotVerifiedException-400", 1, "b"),
            ),
            DlqReason::SenderNotVerified,
        ),
        (
            rec("notfound", body("fail-NotFoundException-404", 1, "c")),
            DlqReason::SesNotFound,
        ),
        (
            rec("badreq", body("fail-BadRequestException-400", 1, "d")),
            DlqReason::SesBadRequest,
        ),
    ];
    let records: Vec<_> = cases.iter().map(|(r, _)| r.clone()).collect();
    let mut records_with_good = records.clone();
    records_with_good.push(rec("good", body("success", 2, "g")));
    let out = p.process(records_with_good, None).await;
    assert!(
        out.batch_item_failures.is_empty(),
        "{:?}",
        out.batch_item_failures
    );
    assert_eq!(out.report.emails_sent, 1);
    let letters = p.dead_letters().letters();
    assert_eq!(letters.len(), cases.len());
    for (r, reason) in &cases {
        let l = letters
            .iter()
            .find(|l| l.source_message_id == r.message_id)
            .unwrap_or_else(|| panic!("{} not dead-lettered", r.message_id));
        assert_eq!(l.reason, *reason, "{}", r.message_id);
        assert_eq!(l.body, r.body);
        assert!(!l.detail.is_empty());
        assert_eq!(out.report.dead_lettered_by_reason[reason], 1);
    }
    assert_eq!(out.report.emails_dead_lettered, cases.len());
    // unknown customer names the id
    let l = letters
        .iter()
        .find(|l| l.source_message_id == "customer")
        .unwrap();
    assert!(l.detail.contains("5000"), "{}", l.detail);
    // permanent failures are never sent
    assert_eq!(
        p.mailer().sent_to(),
        vec!["success@simulator.amazonses.com"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_dead_letter_write_is_retried_not_dropped() {
    let dlq = MemoryDeadLetters::new();
    dlq.refuse(["bad2"]);
    let p = BatchProcessor::new(
        Ports {
            dead_letters: dlq,
            ..ports(mailer(1))
        },
        settings(),
    );
    let out = p
        .process(
            vec![
                rec("bad1", "nope".into()),
                rec("bad2", "nope".into()),
                rec("ok", body("success", 1, "o")),
            ],
            None,
        )
        .await;
    assert_eq!(out.batch_item_failures, vec!["bad2"]);
    assert_eq!(
        outcome(&out, "bad2"),
        &RecordOutcome::Retry {
            cause: RetryCause::DeadLetterWriteFailed(DlqReason::InvalidJson),
            delay: match outcome(&out, "bad2") {
                RecordOutcome::Retry { delay, .. } => *delay,
                _ => unreachable!(),
            }
        }
    );
    assert_eq!(out.report.emails_dead_lettered, 1);
    assert_eq!(out.report.emails_sent, 1);
}

#[tokio::test(start_paused = true)]
async fn partial_batch_response_lists_exactly_the_retryable_records() {
    let p = processor(mailer(5), settings());
    let records = vec![
        rec("s1", body("success", 1, "a1")),
        rec("d1", "not json".into()),
        rec("r1", body("fail-ServiceUnavailable-503", 2, "a2")),
        rec("s2", body("success", 3, "a3")),
        rec("r2", body("throttle-5", 4, "a4")),
        rec("d2", body("fail-MessageRejected-400", 5, "a5")),
        rec("r3", body("fail-InternalFailure-500", 6, "a6")),
    ];
    let out = p.process(records, None).await;
    // real failures only: the throttled record is parked, not returned
    assert_eq!(out.batch_item_failures, vec!["r1", "r3"]);
    assert_eq!(parked(&out, "r2"), Some(ParkReason::Throttled));
    assert_eq!(out.report.outcomes.len(), 7);
    assert_eq!(
        out.report
            .outcomes
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>(),
        vec!["s1", "d1", "r1", "s2", "r2", "d2", "r3"]
    );
    assert_eq!(
        out.report.emails_sent
            + out.report.emails_dead_lettered
            + out.report.emails_retried
            + out.report.emails_parked,
        7
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_one_record_does_not_lose_the_batch() {
    let p = processor(mailer(10), settings());
    let mut records = successes(5);
    records.push(rec("boom", body("panic", 1, "p1")));
    let out = p.process(records, None).await;
    assert_eq!(out.batch_item_failures, vec!["boom"]);
    assert!(matches!(
        outcome(&out, "boom"),
        RecordOutcome::Retry {
            cause: RetryCause::Panicked,
            ..
        }
    ));
    assert_eq!(out.report.emails_sent, 5);
    // the processor keeps working afterwards (and the ledger knows the first five)
    let again = p.process(successes(8), None).await;
    assert_eq!(again.report.emails_sent, 3);
    assert_eq!(again.report.duplicates_skipped, 5);
}

#[tokio::test(start_paused = true)]
async fn ledger_already_sent_is_acknowledged_without_sending() {
    let p = processor(mailer(1), settings());
    p.ledger().insert("dup", LedgerEntry::sent("ses-earlier"));
    let out = p
        .process(vec![rec("m", body("success", 1, "dup"))], None)
        .await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(out.report.duplicates_skipped, 1);
    assert_eq!(out.report.emails_sent, 0);
    assert_eq!(
        outcome(&out, "m"),
        &RecordOutcome::DuplicateSkipped {
            message_id: MessageId("ses-earlier".into())
        }
    );
    assert!(p.mailer().sent_to().is_empty());
}

#[tokio::test(start_paused = true)]
async fn redelivery_of_a_sent_record_is_not_sent_twice() {
    let p = processor(mailer(1), settings());
    let r = vec![rec("m", body("success", 1, "once"))];
    assert_eq!(p.process(r.clone(), None).await.report.emails_sent, 1);
    let second = p.process(r, None).await;
    assert_eq!(second.report.duplicates_skipped, 1);
    assert_eq!(p.mailer().sent_to().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_live_claim_is_parked_for_its_lease_and_an_expired_one_is_sent_as_ambiguous() {
    let p = processor(mailer(1), settings());
    p.ledger().insert(
        "live",
        LedgerEntry::leased_until(Instant::now() + Duration::from_secs(60)),
    );
    p.ledger().insert(
        "expired",
        LedgerEntry::leased_until(Instant::now() - Duration::from_secs(1)),
    );
    let out = p
        .process(
            vec![
                rec("l", body("success", 1, "live")),
                rec("e", body("success", 2, "expired")),
            ],
            None,
        )
        .await;
    assert!(out.batch_item_failures.is_empty());
    // parked until the other attempt's lease ends (60 s + up to 1 s), not retried
    match outcome(&out, "l") {
        RecordOutcome::Parked {
            reason: ParkReason::ClaimInFlight,
            delay,
        } => assert!(
            *delay >= Duration::from_secs(60) && *delay <= Duration::from_secs(61),
            "{delay:?}"
        ),
        o => panic!("{o:?}"),
    }
    assert_eq!(
        outcome(&out, "e"),
        &RecordOutcome::Sent {
            message_id: p.mailer().message_id_for("expired").unwrap(),
            ambiguous: true
        }
    );
    assert_eq!(out.report.ambiguous_retries, 1);
    assert_eq!(p.mailer().sent_to().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_reclaimed_attempt_that_fails_keeps_the_claim_so_the_next_one_is_still_ambiguous() {
    let p = processor(mailer(1), settings());
    p.ledger().insert(
        "amb",
        LedgerEntry::leased_until(Instant::now() - Duration::from_secs(1)),
    );
    // The re-taken claim's attempt gets a 5xx: SES certainly did not send THIS attempt, but the
    // earlier one (whose lease expired) may have.
    let out = p
        .process(
            vec![rec("a", body("fail-InternalFailure-500", 1, "amb"))],
            None,
        )
        .await;
    assert_eq!(out.batch_item_failures, vec!["a"]);
    let e = p
        .ledger()
        .entry("amb")
        .expect("claim kept after an ambiguous attempt failed");
    assert!(e.message_id.is_none());
    // Once that lease expires too, the next attempt is again a reclaim: counted as ambiguous.
    tokio::time::advance(settings().claim_lease + Duration::from_secs(1)).await;
    let out = p
        .process(vec![rec("a2", body("success", 1, "amb"))], None)
        .await;
    assert_eq!(out.report.ambiguous_retries, 1);
    assert_eq!(out.report.emails_sent, 1);
}

#[tokio::test(start_paused = true)]
async fn duplicate_codes_in_one_batch_send_once() {
    let p = processor(mailer(20), settings());
    let out = p
        .process(
            vec![
                rec("a", body("success", 1, "same")),
                rec("b", body("success", 1, "same")),
            ],
            None,
        )
        .await;
    assert_eq!(out.report.emails_sent, 1);
    // the second finds the first's claim in flight: parked for its lease
    assert_eq!(out.report.parked_by_reason[&ParkReason::ClaimInFlight], 1);
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(p.mailer().sent_to().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_that_may_have_sent_keeps_the_claim() {
    let p = processor(mailer(1), settings());
    let out = p
        .process(vec![rec("t", body("timeout", 1, "maybe"))], None)
        .await;
    assert_eq!(out.batch_item_failures, vec!["t"]);
    let e = p.ledger().entry("maybe").expect("claim kept");
    assert!(e.message_id.is_none());
    // redelivered while the lease is live: not sent again yet, parked for the lease left
    let out = p
        .process(vec![rec("t", body("success", 1, "maybe"))], None)
        .await;
    assert_eq!(parked(&out, "t"), Some(ParkReason::ClaimInFlight));
    // after the lease: sent, counted as ambiguous
    tokio::time::advance(Duration::from_secs(121)).await;
    let out = p
        .process(vec![rec("t", body("success", 1, "maybe"))], None)
        .await;
    assert_eq!(out.report.ambiguous_retries, 1);
    assert_eq!(out.report.emails_sent, 1);
}

#[tokio::test(start_paused = true)]
async fn ledger_outage_retries_without_sending() {
    let p = processor(mailer(1), settings());
    p.ledger().set_unavailable(true);
    let out = p.process(successes(3), None).await;
    assert_eq!(out.batch_item_failures.len(), 3);
    assert!(p.mailer().sent_to().is_empty());
}

#[tokio::test(start_paused = true)]
async fn idempotency_can_be_disabled() {
    let s = ProcessorSettings {
        idempotency_enabled: false,
        ..settings()
    };
    let p = processor(mailer(1), s);
    let r = vec![rec("m", body("success", 1, "x"))];
    p.process(r.clone(), None).await;
    p.process(r, None).await;
    assert_eq!(p.ledger().calls(), 0);
    assert_eq!(p.mailer().sent_to().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn customer_lookup_is_one_call_per_batch_and_cached_across_batches() {
    let p = processor(mailer(1), settings());
    let out = p.process(successes(50), None).await;
    assert_eq!(p.customers().inner().calls(), 1);
    assert_eq!(out.report.customer_cache_misses, 50);
    assert_eq!(out.report.customer_cache_hits, 0);
    let recs: Vec<_> = (0..10)
        .map(|i| rec(&format!("n{i}"), body("success", i + 1, &format!("n{i}"))))
        .collect();
    let out = p.process(recs, None).await;
    assert_eq!(out.report.customer_cache_hits, 10);
    assert_eq!(p.customers().inner().calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn customer_outage_retries_valid_records_and_still_dead_letters_invalid_ones() {
    let p = processor(mailer(1), settings());
    p.customers().inner().set_unavailable(true);
    let mut records = successes(2);
    records.push(rec("bad", "[]".into()));
    let out = p.process(records, None).await;
    assert_eq!(out.batch_item_failures, vec!["m0", "m1"]);
    assert_eq!(out.report.emails_dead_lettered, 1);
}

#[tokio::test(start_paused = true)]
async fn report_counters_use_the_shared_metric_names() {
    let p = processor(mailer(1), settings());
    let out = p.process(successes(3), None).await;
    let c: HashMap<_, _> = out.report.counters().into_iter().collect();
    assert_eq!(c["emails_sent"], 3.0);
    assert_eq!(c["emails_received"], 3.0);
    for name in [
        "emails_parked",
        "deadline_returns",
        "access_denied",
        "quota_fetch_failures",
        "ambiguous_retries",
    ] {
        assert_eq!(c[name], 0.0, "{name}");
    }
    for name in c.keys() {
        assert!(sesload_core::metrics::ALL.contains(name));
    }
}

#[tokio::test(start_paused = true)]
async fn throttle_storm_keeps_slowing_the_pacer() {
    let s = ProcessorSettings {
        rate_source: RateSource::Fixed(16.0),
        target_utilisation: 1.0,
        maximum_concurrency: 1,
        ..settings()
    };
    let p = processor(mailer(1), s);
    p.mailer().answer_all(Some(Answer::throttled()));
    let mut last = p.pacer().rate();
    for _ in 0..4 {
        let out = p.process(successes(4), None).await;
        assert_eq!(out.report.emails_parked, 4);
        assert_eq!(out.report.emails_throttled, 4);
        let r = p.pacer().rate();
        assert!(r < last, "rate {r} after {last}");
        assert!(r >= 16.0 / 20.0, "{r}");
        last = r;
        tokio::time::advance(Duration::from_millis(1001)).await;
    }
    assert!(last < 4.0, "{last}");
}
