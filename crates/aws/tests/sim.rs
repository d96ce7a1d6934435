//! The SES adapter over real HTTP against `sesload sim` (the SES v2 simulator): the mailer
//! contract, error mapping, and the whole BatchProcessor paced against the simulator's
//! MaxSendRate.

use std::time::{Duration, Instant};

use sesload_aws::{SesMailer, ses_client_for_endpoint};
use sesload_core::memory::{MemoryCustomers, MemoryDeadLetters, MemoryVisibility};
use sesload_core::{
    BatchProcessor, DlqReason, FailureClass, InboundRecord, Mailer, NoLedger, OutgoingEmail,
    ProcessorSettings, RateSource, Tag, UniqueCode, classify, contract,
};
use sesload_sim::{LatencyConfig, SimConfig, SimHandle, TemplateSeed};

async fn start(max_send_rate: f64) -> SimHandle {
    start_with(Some(max_send_rate), sesload_sim::FaultConfig::default()).await
}

/// A simulator with one template, latency 0, the given quota (None: the default) and faults.
async fn start_with(max_send_rate: Option<f64>, faults: sesload_sim::FaultConfig) -> SimHandle {
    let config = SimConfig {
        max_send_rate,
        latency: LatencyConfig::fixed(0.0),
        faults,
        templates: vec![TemplateSeed {
            name: "SimpleEmail".into(),
            subject: "Hello {{first_name}}".into(),
            text: Some("code {{unique_code}}".into()),
            html: None,
        }],
        ..SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sesload_sim::start(config, listener).await.unwrap()
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

// --- the processor paced against the simulator's quota (in-memory customers and sinks)

#[tokio::test]
async fn processor_paces_to_the_quota_it_reads_from_get_account_without_throttles() {
    let sim = start(10.0).await;
    let mailer = SesMailer::new(ses_client_for_endpoint(&sim.endpoint_url(), "us-east-1"));
    let settings = ProcessorSettings {
        rate_source: RateSource::Account,
        target_utilisation: 0.9,
        maximum_concurrency: 1,
        idempotency_enabled: false,
        send_concurrency: 16,
        ..ProcessorSettings::default()
    };
    let p = BatchProcessor::new(
        MemoryCustomers::numbered(1..=25),
        NoLedger,
        mailer,
        MemoryDeadLetters::new(),
        MemoryVisibility::new(),
        settings,
    );
    let records: Vec<InboundRecord> = (0..25)
        .map(|i| InboundRecord {
            message_id: format!("m{i}"),
            receipt_handle: format!("r{i}"),
            body: serde_json::json!({
                "from": "sender@example.com", "to": "success@simulator.amazonses.com",
                "template_name": "SimpleEmail", "user_id": i + 1, "unique_code": format!("q-{i}")
            })
            .to_string(),
            receive_count: 1,
            park_count: 0,
        })
        .collect();
    let t0 = Instant::now();
    let out = p.process(records).await;
    let took = t0.elapsed();
    assert!(
        out.batch_item_failures.is_empty(),
        "{:?}",
        out.report.outcomes
    );
    assert_eq!(out.report.emails_sent, 25);
    assert!(p.dead_letters().letters().is_empty());
    assert!(p.visibility().changes().is_empty());
    assert_eq!(p.pacer().ceiling(), Some(9.0));
    // 25 sends at 9/s: 24 gaps of 111 ms
    assert!(took >= Duration::from_millis(2600), "{took:?}");
    assert_eq!(sim.stats().throttled, 0);
    sim.shutdown().await.unwrap();
}
