//! The SES adapter over real HTTP against `sesload sim` (the SES v2 simulator): the mailer
//! contract, error mapping, and the whole BatchProcessor paced against the simulator's
//! MaxSendRate.

use std::time::{Duration, Instant};

use sesload_aws::{SesMailer, ses_client_for_endpoint};
use sesload_core::memory::{
    MemoryCampaigns, MemoryCustomers, MemoryDeadLetters, MemoryParking, MemorySchedule,
    MemoryVisibility,
};
use sesload_core::{
    BatchOutcome, BatchProcessor, DlqReason, FailureClass, InboundRecord, Mailer, NoLedger,
    OutgoingEmail, ParkReason, Ports, ProcessorSettings, RateSource, Tag, UniqueCode, classify,
    contract,
};
use sesload_sim::{LatencyConfig, SimConfig, SimHandle, TemplateSeed};

async fn start(max_send_rate: f64) -> SimHandle {
    start_with(Some(max_send_rate), sesload_sim::FaultConfig::default()).await
}

/// A simulator with one template, latency 0, the given quota (None: the default) and faults.
async fn start_with(max_send_rate: Option<f64>, faults: sesload_sim::FaultConfig) -> SimHandle {
    start_config(SimConfig {
        max_send_rate,
        faults,
        ..SimConfig::default()
    })
    .await
}

/// A simulator from `config`, with latency 0 and the templates `SimpleEmail` and `Promo`.
async fn start_config(config: SimConfig) -> SimHandle {
    let template = |name: &str| TemplateSeed {
        name: name.into(),
        subject: "Hello {{first_name}}".into(),
        text: Some("code {{unique_code}}".into()),
        html: None,
    };
    let config = SimConfig {
        latency: LatencyConfig::fixed(0.0),
        templates: vec![template("SimpleEmail"), template("Promo")],
        ..config
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sesload_sim::start(config, listener).await.unwrap()
}

type SimPorts = Ports<
    MemoryCustomers,
    NoLedger,
    SesMailer,
    MemoryDeadLetters,
    MemoryVisibility,
    MemoryParking,
    MemorySchedule,
    MemoryCampaigns,
>;

/// The processor over the simulator's SES, the rest in memory.
fn sim_processor(sim: &SimHandle, settings: ProcessorSettings) -> BatchProcessor<SimPorts> {
    BatchProcessor::new(
        Ports {
            customers: MemoryCustomers::numbered(1..=100),
            ledger: NoLedger,
            mailer: SesMailer::new(ses_client_for_endpoint(&sim.endpoint_url(), "us-east-1")),
            dead_letters: MemoryDeadLetters::new(),
            visibility: MemoryVisibility::new(),
            parking: MemoryParking::new(),
            schedule: MemorySchedule::new(),
            campaigns: MemoryCampaigns::new(),
        },
        settings,
    )
}

/// `n` requests from `first`, to `to`, with `template`.
fn requests(first: usize, n: usize, to: &str, template: &str) -> Vec<InboundRecord> {
    (first..first + n)
        .map(|i| InboundRecord {
            message_id: format!("m{i}"),
            receipt_handle: format!("r{i}"),
            body: serde_json::json!({
                "from": "sender@example.com", "to": to,
                "template_name": template, "user_id": i + 1, "unique_code": format!("q-{i}")
            })
            .to_string(),
            receive_count: 1,
            park_count: 0,
        })
        .collect()
}

fn parked(out: &BatchOutcome, reason: ParkReason) -> usize {
    out.report
        .parked_by_reason
        .get(&reason)
        .copied()
        .unwrap_or_default()
}

fn email(to: &str, template: &str, code: &str) -> OutgoingEmail {
    OutgoingEmail {
        from: "sender@example.com".into(),
        to: to.into(),
        template_name: template.into(),
        template_data: format!(r#"{{"first_name":"Ada","unique_code":"{code}"}}"#),
        configuration_set: Some("load-test-config".into()),
        tags: vec![
            Tag {
                name: "campaign".into(),
                value: "sim-test".into(),
            },
            Tag {
                name: "unique_code".into(),
                value: code.into(),
            },
        ],
        unique_code: UniqueCode(code.into()),
    }
}

#[tokio::test]
async fn ses_adapter_keeps_the_mailer_contract() {
    let sim = start(14.0).await;
    let mailer = SesMailer::new(ses_client_for_endpoint(&sim.endpoint_url(), "us-east-1"));
    contract::mailer(&mailer, "SimpleEmail").await;
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn ses_adapter_sends_reads_the_quota_and_classifies_errors() {
    let sim = start(14.0).await;
    let mailer = SesMailer::new(ses_client_for_endpoint(&sim.endpoint_url(), "us-east-1"));

    let q = mailer.quota().await.unwrap();
    assert_eq!(q.max_send_rate, 14.0);
    assert_eq!(q.max_24_hour_send, Some(50_000.0));

    let id = mailer
        .send(&email(
            "success@simulator.amazonses.com",
            "SimpleEmail",
            "u-1",
        ))
        .await
        .unwrap();
    let msgs = sim.messages(10);
    let m = msgs
        .iter()
        .find(|m| m.message_id == id.0)
        .expect("recorded");
    assert_eq!(m.subject, "Hello Ada");
    assert_eq!(m.template_name.as_deref(), Some("SimpleEmail"));
    assert_eq!(m.configuration_set.as_deref(), Some("load-test-config"));
    assert_eq!(m.tags.get("campaign").map(String::as_str), Some("sim-test"));
    assert_eq!(m.tags.get("unique_code").map(String::as_str), Some("u-1"));

    let f = mailer
        .send(&email(
            "success@simulator.amazonses.com",
            "NoSuchTemplate",
            "u-2",
        ))
        .await
        .unwrap_err();
    assert_eq!(f.code, "NotFoundException");
    assert_eq!(
        classify(&f),
        FailureClass::Permanent(DlqReason::SesNotFound)
    );

    let mut unverified = email("success@simulator.amazonses.com", "SimpleEmail", "u-3");
    unverified.from = "someone@not-verified.example".into();
    let f = mailer.send(&unverified).await.unwrap_err();
    assert_eq!(f.code, "MessageRejected");
    assert_eq!(
        classify(&f),
        FailureClass::Permanent(DlqReason::SesRejected)
    );

    // a burst far above 14/s: the simulator throttles, each call is ONE HTTP attempt
    let before = sim.stats().requests.get("SendEmail").copied().unwrap_or(0);
    let results = futures::future::join_all((0..60).map(|i| {
        let mailer = mailer.clone();
        async move {
            mailer
                .send(&email(
                    "success@simulator.amazonses.com",
                    "SimpleEmail",
                    &format!("b-{i}"),
                ))
                .await
        }
    }))
    .await;
    let throttled: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        !throttled.is_empty(),
        "no throttling at 60 calls against 14/s"
    );
    for f in &throttled {
        assert_eq!(f.code, "TooManyRequestsException");
        assert_eq!(f.status, Some(429));
        assert_eq!(classify(f), FailureClass::Throttled);
    }
    let after = sim.stats().requests.get("SendEmail").copied().unwrap_or(0);
    assert_eq!(
        after - before,
        60,
        "the SDK retried behind the poller's back"
    );
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn ses_adapter_maps_5xx_answers_to_transient_not_sent() {
    let sim = start_with(
        None,
        sesload_sim::FaultConfig {
            error_rate: 1.0,
            ..Default::default()
        },
    )
    .await;
    let mailer = SesMailer::new(ses_client_for_endpoint(&sim.endpoint_url(), "us-east-1"));
    for i in 0..6 {
        let f = mailer
            .send(&email(
                "success@simulator.amazonses.com",
                "SimpleEmail",
                &format!("e-{i}"),
            ))
            .await
            .expect_err("every call fails at error_rate 1.0");
        assert!(
            matches!(
                (f.code.as_str(), f.status),
                ("InternalFailure", Some(500)) | ("ServiceUnavailable", Some(503))
            ),
            "{f:?}"
        );
        // SES answered with an error: certainly not sent, the claim can be released.
        assert!(!f.maybe_sent, "{f:?}");
        assert_eq!(classify(&f), FailureClass::Transient);
    }
    assert_eq!(sim.stats().sent_messages, 0);
    // one HTTP attempt per call: the SDK does not retry 5xx behind the poller's back
    assert_eq!(sim.stats().requests.get("SendEmail").copied(), Some(6));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn ses_adapter_maps_a_timeout_to_maybe_sent() {
    // Every response takes 2 s; the client gives an attempt 300 ms. The simulator still
    // accepts the email, exactly the case where the poller must keep its ledger claim.
    let sim = start_with(
        None,
        sesload_sim::FaultConfig {
            slow_rate: 1.0,
            slow_ms: 2_000,
            ..Default::default()
        },
    )
    .await;
    let conf = aws_sdk_sesv2::config::Builder::new()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .endpoint_url(sim.endpoint_url())
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_sesv2::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(300))
                .build(),
        )
        .build();
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::from_conf(conf));
    let t = Instant::now();
    let f = mailer
        .send(&email(
            "success@simulator.amazonses.com",
            "SimpleEmail",
            "slow-1",
        ))
        .await
        .expect_err("the attempt times out");
    assert!(
        t.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(f.status, None, "{f:?}");
    assert!(
        f.maybe_sent,
        "a timed-out send may have been accepted: {f:?}"
    );
    assert_eq!(classify(&f), FailureClass::Transient);
    // ... and it was: the simulator finishes the call after the client gave up.
    sim.flush_events(true).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.stats().sent_messages == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sim.stats().sent_messages, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_closed_after_the_request_was_accepted_is_maybe_sent() {
    // The simulator accepts the email, then closes the connection without an answer.
    let sim = start_with(
        None,
        sesload_sim::FaultConfig {
            drop_after_accept_rate: 1.0,
            ..Default::default()
        },
    )
    .await;
    let mailer = SesMailer::new(ses_client_for_endpoint(&sim.endpoint_url(), "us-east-1"));
    let f = mailer
        .send(&email(
            "success@simulator.amazonses.com",
            "SimpleEmail",
            "dropped-1",
        ))
        .await
        .expect_err("no answer");
    assert_eq!(f.status, None, "{f:?}");
    assert!(
        f.maybe_sent,
        "a connection lost after the request was written may have sent: {f:?}"
    );
    assert_eq!(classify(&f), FailureClass::Transient);
    assert_eq!(sim.stats().sent_messages, 1, "and it did");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refused_connection_is_certainly_not_sent() {
    // A port nothing listens on: the request is never written.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mailer = SesMailer::new(ses_client_for_endpoint(
        &format!("http://{addr}"),
        "us-east-1",
    ));
    let f = mailer
        .send(&email(
            "success@simulator.amazonses.com",
            "SimpleEmail",
            "refused-1",
        ))
        .await
        .expect_err("connection refused");
    assert_eq!(f.code, "Dispatch", "{f:?}");
    assert!(!f.maybe_sent, "nothing was written: {f:?}");
    assert_eq!(classify(&f), FailureClass::Transient);
}

// --- the regimes, through the processor against the simulator

#[tokio::test]
async fn a_denied_template_is_dead_lettered_as_access_denied_naming_it() {
    let sim = start_config(SimConfig {
        permissions: sesload_sim::PermissionsConfig {
            templates: Some(vec!["SimpleEmail".into()]),
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await;
    let p = sim_processor(&sim, ProcessorSettings::default());
    let mut records = requests(0, 3, "success@simulator.amazonses.com", "SimpleEmail");
    records.extend(requests(3, 2, "success@simulator.amazonses.com", "Promo"));
    let out = p.process(records, None).await;
    assert_eq!(out.report.emails_sent, 3);
    assert_eq!(out.report.access_denied, 2);
    assert!(out.batch_item_failures.is_empty());
    for l in p.dead_letters().letters() {
        assert_eq!(l.reason, DlqReason::AccessDenied);
        assert!(
            l.detail
                .contains("on resource arn:aws:ses:us-east-1:123456789012:template/Promo"),
            "{}",
            l.detail
        );
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_daily_quota_parks_what_it_cannot_send() {
    let sim = start_config(SimConfig {
        max_24_hour_send: Some(3),
        ..SimConfig::default()
    })
    .await;
    let p = sim_processor(
        &sim,
        ProcessorSettings {
            policy: sesload_core::Policy::new(["example.com"]),
            ..ProcessorSettings::default()
        },
    );
    let out = p
        .process(requests(0, 6, "user@example.com", "SimpleEmail"), None)
        .await;
    assert_eq!(out.report.emails_sent, 3);
    assert_eq!(parked(&out, ParkReason::DailyQuota), 3);
    assert!(out.batch_item_failures.is_empty());
    // GetAccount's numbers closed the gate: SES never had to refuse
    assert_eq!(sim.stats().sent_messages, 3);
    assert_eq!(p.account_gate(), Some(ParkReason::DailyQuota));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_paused_account_parks_and_a_suspended_one_dead_letters() {
    let sim = start_config(SimConfig {
        account_sending_enabled: false,
        ..SimConfig::default()
    })
    .await;
    let p = sim_processor(&sim, ProcessorSettings::default());
    let out = p
        .process(
            requests(0, 4, "success@simulator.amazonses.com", "SimpleEmail"),
            None,
        )
        .await;
    assert_eq!(parked(&out, ParkReason::SendingPaused), 4);
    assert_eq!(sim.stats().sent_messages, 0);
    sim.shutdown().await.unwrap();

    let sim = start_config(SimConfig {
        account_suspended: true,
        ..SimConfig::default()
    })
    .await;
    let p = sim_processor(
        &sim,
        ProcessorSettings {
            send_concurrency: 1,
            ..ProcessorSettings::default()
        },
    );
    let out = p
        .process(
            requests(0, 4, "success@simulator.amazonses.com", "SimpleEmail"),
            None,
        )
        .await;
    assert_eq!(
        out.report.dead_lettered_by_reason[&DlqReason::AccountSuspended],
        4
    );
    assert_eq!(sim.stats().requests.get("SendEmail").copied(), Some(1));
    sim.shutdown().await.unwrap();
}

// --- the processor paced against the simulator's quota (in-memory customers and sinks)

#[tokio::test]
async fn processor_paces_to_the_quota_it_reads_from_get_account_without_throttles() {
    let sim = start(10.0).await;
    let settings = ProcessorSettings {
        rate_source: RateSource::Account,
        target_utilisation: 0.9,
        maximum_concurrency: 1,
        idempotency_enabled: false,
        send_concurrency: 16,
        ..ProcessorSettings::default()
    };
    let p = sim_processor(&sim, settings);
    let records = requests(0, 25, "success@simulator.amazonses.com", "SimpleEmail");
    let t0 = Instant::now();
    let out = p.process(records, None).await;
    let took = t0.elapsed();
    assert!(
        out.batch_item_failures.is_empty(),
        "{:?}",
        out.report.outcomes
    );
    assert_eq!(out.report.emails_sent, 25);
    assert!(p.dead_letters().letters().is_empty());
    assert!(p.visibility().changes().is_empty());
    assert_eq!(p.pacer().fleet_rate(), 9.0);
    // 25 sends at 9/s: 24 gaps of 111 ms
    assert!(took >= Duration::from_millis(2600), "{took:?}");
    assert_eq!(sim.stats().throttled, 0);
    sim.shutdown().await.unwrap();
}
