//! `SesMailer::send_bulk` over real HTTP against the SES v2 simulator: the entries of one
//! `SendBulkEmail` call each become their own message with their own data and tags, every entry
//! status comes back classified, and a whole-call failure is read as a single send's is.

use sesload_aws::{SesMailer, ses_client_for_endpoint};
use sesload_core::{DlqReason, FailureClass, Mailer, OutgoingEmail, Tag, UniqueCode, classify};
use sesload_sim::{BulkRefusal, FaultConfig, LatencyConfig, SimConfig, SimHandle, TemplateSeed};

/// A simulator with the template `SimpleEmail`, latency 0, and `config`'s quota and faults.
async fn start(config: SimConfig) -> SimHandle {
    let config = SimConfig {
        latency: LatencyConfig::fixed(0.0),
        templates: vec![TemplateSeed {
            name: "SimpleEmail".into(),
            subject: "Hello {{first_name}}".into(),
            text: Some("code {{unique_code}}".into()),
            html: None,
        }],
        ..config
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sesload_sim::start(config, listener).await.unwrap()
}

fn mailer(sim: &SimHandle) -> SesMailer {
    SesMailer::new(ses_client_for_endpoint(&sim.endpoint_url(), "us-east-1"))
}

fn email(to: &str, name: &str, code: &str) -> OutgoingEmail {
    OutgoingEmail {
        from: "sender@example.com".into(),
        to: to.into(),
        template_name: "SimpleEmail".into(),
        template_data: format!(r#"{{"first_name":"{name}","unique_code":"{code}"}}"#),
        configuration_set: Some("load-test-config".into()),
        tags: vec![
            Tag {
                name: "campaign".into(),
                value: "bulk-test".into(),
            },
            Tag {
                name: "unique_code".into(),
                value: code.into(),
            },
        ],
        unique_code: UniqueCode(code.into()),
    }
}

fn emails(n: usize, prefix: &str) -> Vec<OutgoingEmail> {
    (0..n)
        .map(|i| {
            email(
                &format!("success+{i}@simulator.amazonses.com"),
                &format!("Name{i}"),
                &format!("{prefix}-{i}"),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_entry_is_its_own_message_with_its_own_data_and_tags() {
    let sim = start(SimConfig {
        max_send_rate: None,
        ..SimConfig::default()
    })
    .await;
    let batch = emails(5, "ok");
    let results = mailer(&sim).send_bulk(&batch).await.expect("call answered");
    assert_eq!(results.len(), 5);
    let msgs = sim.messages(100);
    for (e, r) in batch.iter().zip(&results) {
        let id = r.as_ref().expect("entry sent");
        let m = msgs
            .iter()
            .find(|m| m.message_id == id.0)
            .expect("recorded");
        let i = e.unique_code.0.trim_start_matches("ok-");
        assert_eq!(m.subject, format!("Hello Name{i}"), "its own template data");
        assert_eq!(m.template_name.as_deref(), Some("SimpleEmail"));
        assert_eq!(m.configuration_set.as_deref(), Some("load-test-config"));
        assert_eq!(
            m.tags.get("campaign").map(String::as_str),
            Some("bulk-test")
        );
        assert_eq!(
            m.tags.get("unique_code").map(String::as_str),
            Some(e.unique_code.0.as_str()),
            "its own tags"
        );
    }
    let ids: std::collections::HashSet<_> = results.iter().map(|r| r.clone().unwrap()).collect();
    assert_eq!(ids.len(), 5, "distinct message ids");
    let stats = sim.stats();
    assert_eq!(stats.requests.get("SendBulkEmail").copied(), Some(1));
    assert_eq!(stats.requests.get("SendEmail").copied().unwrap_or(0), 0);
    assert_eq!(stats.bulk_entries, 5);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn entry_statuses_are_classified_entry_by_entry() {
    // 3/s, entries throttled per entry (the simulator's default reading)
    let sim = start(SimConfig {
        max_send_rate: Some(3.0),
        bulk_throttle: BulkRefusal::Entries,
        ..SimConfig::default()
    })
    .await;
    let mut batch = emails(6, "mix");
    batch[1].to = "not an address".into();
    let results = mailer(&sim).send_bulk(&batch).await.expect("call answered");
    assert_eq!(results.len(), 6);
    let bad = results[1].as_ref().unwrap_err();
    assert_eq!(bad.code, "INVALID_PARAMETER", "{bad:?}");
    assert!(!bad.maybe_sent);
    assert_eq!(
        classify(bad),
        FailureClass::Permanent(DlqReason::SesBadRequest)
    );
    let sent = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(sent, 3, "a bucket of 3: {results:?}");
    for f in results.iter().filter_map(|r| r.as_ref().err()).skip(1) {
        assert_eq!(f.code, "ACCOUNT_THROTTLED");
        assert!(!f.maybe_sent);
        assert_eq!(classify(f), FailureClass::Throttled);
    }
    assert_eq!(sim.stats().sent_messages, 3);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn transient_entry_faults_are_retried_not_dead_lettered() {
    let sim = start(SimConfig {
        max_send_rate: None,
        faults: FaultConfig {
            entry_transient_failure_rate: 1.0,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let results = mailer(&sim)
        .send_bulk(&emails(3, "tr"))
        .await
        .expect("call answered");
    for r in &results {
        let f = r.as_ref().unwrap_err();
        assert_eq!(f.code, "TRANSIENT_FAILURE");
        assert!(!f.maybe_sent);
        assert_eq!(classify(f), FailureClass::Transient);
    }
    assert_eq!(sim.stats().sent_messages, 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn whole_call_failures_read_as_a_single_sends() {
    // a whole-call throttle (the other reading of the quota)
    let sim = start(SimConfig {
        max_send_rate: Some(2.0),
        bulk_throttle: BulkRefusal::Call,
        ..SimConfig::default()
    })
    .await;
    let m = mailer(&sim);
    // a full bucket lets one call through whole, as it would one message to 5 recipients
    let first = m.send_bulk(&emails(5, "big")).await.expect("full bucket");
    assert!(first.iter().all(Result::is_ok));
    let f = m.send_bulk(&emails(5, "next")).await.unwrap_err();
    assert_eq!(f.code, "TooManyRequestsException", "{f:?}");
    assert_eq!(f.status, Some(429));
    assert!(!f.maybe_sent);
    assert_eq!(classify(&f), FailureClass::Throttled);
    // a template that does not exist: the call is refused
    let mut missing = emails(2, "nt");
    for e in &mut missing {
        e.template_name = "NoSuchTemplate".into();
    }
    let f = m.send_bulk(&missing).await.unwrap_err();
    assert_eq!(f.code, "NotFoundException");
    assert_eq!(
        classify(&f),
        FailureClass::Permanent(DlqReason::SesNotFound)
    );
    sim.shutdown().await.unwrap();

    // accepted, then the connection closed: every entry may have been sent
    let sim = start(SimConfig {
        max_send_rate: None,
        faults: FaultConfig {
            drop_after_accept_rate: 1.0,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let f = mailer(&sim)
        .send_bulk(&emails(4, "drop"))
        .await
        .unwrap_err();
    assert_eq!(f.status, None, "{f:?}");
    assert!(f.maybe_sent, "{f:?}");
    assert_eq!(classify(&f), FailureClass::Transient);
    assert_eq!(sim.stats().sent_messages, 4, "and they were");
    sim.shutdown().await.unwrap();

    // a refused connection: certainly not sent
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let m = SesMailer::new(ses_client_for_endpoint(
        &format!("http://{addr}"),
        "us-east-1",
    ));
    let f = m.send_bulk(&emails(2, "refused")).await.unwrap_err();
    assert_eq!(f.code, "Dispatch", "{f:?}");
    assert!(!f.maybe_sent);
}

// --- the processor in bulk mode against the simulator

mod fleet {
    use std::sync::Arc;

    use sesload_core::memory::{
        MemoryCampaigns, MemoryCustomers, MemoryDeadLetters, MemoryLedger, MemoryParking,
        MemorySchedule, MemoryVisibility,
    };
    use sesload_core::{
        BatchProcessor, InboundRecord, Ports, ProcessorSettings, RateSource, SendApi,
    };

    use super::*;

    fn records(instance: usize, n: usize) -> Vec<InboundRecord> {
        (0..n)
            .map(|i| InboundRecord {
                message_id: format!("m{instance}-{i}"),
                receipt_handle: format!("r{instance}-{i}"),
                body: serde_json::json!({
                    "from": "sender@example.com",
                    "to": format!("success+{instance}-{i}@simulator.amazonses.com"),
                    "template_name": "SimpleEmail", "user_id": i + 1,
                    "tags": [{"Name": "campaign", "Value": "fleet"}],
                    "unique_code": format!("q-{instance}-{i}")
                })
                .to_string(),
                receive_count: 1,
                park_count: 0,
            })
            .collect()
    }

    #[tokio::test]
    async fn two_bulk_instances_on_one_schedule_stay_inside_the_accounts_bucket() {
        // 30/s, entries throttled one by one when the bucket runs dry
        let sim = start(SimConfig {
            max_send_rate: Some(30.0),
            bulk_throttle: BulkRefusal::Entries,
            ..SimConfig::default()
        })
        .await;
        let schedule = Arc::new(MemorySchedule::new());
        let ledger = Arc::new(MemoryLedger::new());
        let settings = ProcessorSettings {
            rate_source: RateSource::Account,
            send_api: SendApi::Bulk,
            default_configuration_set: Some("load-test-config".into()),
            ..ProcessorSettings::default()
        };
        let instance = || {
            BatchProcessor::new(
                Ports {
                    customers: MemoryCustomers::numbered(1..=100),
                    ledger: Arc::clone(&ledger),
                    mailer: mailer(&sim),
                    dead_letters: MemoryDeadLetters::new(),
                    visibility: MemoryVisibility::new(),
                    parking: MemoryParking::new(),
                    schedule: Arc::clone(&schedule),
                    campaigns: MemoryCampaigns::new(),
                },
                settings.clone(),
            )
        };
        let (a, b) = (instance(), instance());
        let (oa, ob) = tokio::join!(
            a.process(records(0, 30), None),
            b.process(records(1, 30), None)
        );
        for out in [&oa, &ob] {
            assert_eq!(out.report.emails_sent, 30, "{:?}", out.report.outcomes);
            assert_eq!(out.report.emails_throttled, 0);
        }
        let stats = sim.stats();
        assert_eq!(stats.sent_messages, 60);
        assert_eq!(stats.requests.get("SendEmail").copied().unwrap_or(0), 0);
        assert_eq!(
            stats
                .bulk_entry_statuses
                .get("ACCOUNT_THROTTLED")
                .copied()
                .unwrap_or(0),
            0,
            "a call asked for more than the bucket held"
        );
        // 29 entries a call at most (30/s × 0.98)
        assert!(stats.requests["SendBulkEmail"] >= 3);
        let msgs = sim.messages(100);
        assert!(
            msgs.iter()
                .all(|m| m.tags.get("campaign").map(String::as_str) == Some("fleet"))
        );
        sim.shutdown().await.unwrap();
    }
}
