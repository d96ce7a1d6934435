//! The SES adapter over real HTTP against `sesload sim` (the SES v2 simulator), and the
//! whole BatchProcessor paced against the simulator's MaxSendRate.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sesload_aws::{SesMailer, ses_client_for_endpoint};
use sesload_core::{
    BatchProcessor, Customer, CustomerStore, DeadLetter, DeadLetterSink, DlqReason, FailureClass,
    InboundRecord, Mailer, NoLedger, OutgoingEmail, PortError, ProcessorSettings, RateSource, Tag,
    UniqueCode, UserId, VisibilityControl, classify,
};
use sesload_sim::{LatencyConfig, SimConfig, SimHandle, TemplateSeed};

async fn start(max_send_rate: f64) -> SimHandle {
    let config = SimConfig {
        max_send_rate: Some(max_send_rate),
        latency: LatencyConfig::fixed(0.0),
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

// --- the processor paced against the simulator's quota (in-memory customers and sinks)

struct Customers;
impl CustomerStore for Customers {
    async fn batch_get(&self, ids: &[UserId]) -> Result<HashMap<UserId, Customer>, PortError> {
        Ok(ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    Customer {
                        user_id: id.clone(),
                        attributes: [("first_name".to_string(), format!("N{}", id.0))].into(),
                    },
                )
            })
            .collect())
    }
}
struct Sink;
impl DeadLetterSink for Sink {
    async fn send_batch(&self, letters: &[DeadLetter]) -> Vec<String> {
        panic!("unexpected dead letters: {letters:?}")
    }
}
struct Vis;
impl VisibilityControl for Vis {
    async fn delay(&self, _: &str, _: Duration) -> Result<(), PortError> {
        Ok(())
    }
}

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
    let p = BatchProcessor::new(Customers, NoLedger, mailer, Sink, Vis, settings);
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
    assert_eq!(p.pacer().ceiling(), Some(9.0));
    // 25 sends at 9/s: 24 gaps of 111 ms
    assert!(took >= Duration::from_millis(2600), "{took:?}");
    assert_eq!(sim.stats().throttled, 0);
    sim.shutdown().await.unwrap();
}
