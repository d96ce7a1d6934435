//! Adapter paths an emulator cannot produce (UnprocessedKeys, throttling answers), with
//! `aws-smithy-mocks` standing in for the HTTP layer of the real SDK clients.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_sesv2::operation::send_email::SendEmailOutput;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
use aws_sdk_sqs::types::BatchResultErrorEntry;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use sesload_aws::{DynamoCustomers, SesMailer, SqsParking};
use sesload_core::{
    CustomerStore, DlqReason, FailureClass, Mailer, OutgoingEmail, ParkReason, ParkedRecord,
    Parking, Tag, UniqueCode, UserId, classify, park_attributes,
};

fn item(id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("user_id".to_string(), AttributeValue::S(id.into())),
        (
            "first_name".to_string(),
            AttributeValue::S(format!("N{id}")),
        ),
        ("visits".to_string(), AttributeValue::N("3".into())),
    ])
}

fn keys(ids: &[&str]) -> KeysAndAttributes {
    KeysAndAttributes::builder()
        .set_keys(Some(
            ids.iter()
                .map(|id| {
                    HashMap::from([("user_id".to_string(), AttributeValue::S(id.to_string()))])
                })
                .collect(),
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn unprocessed_keys_are_retried_until_every_customer_is_read() {
    let rule = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .sequence()
        .output(|| {
            BatchGetItemOutput::builder()
                .responses("customers", vec![item("1")])
                .unprocessed_keys("customers", keys(&["2", "3"]))
                .build()
        })
        .output(|| {
            BatchGetItemOutput::builder()
                .responses("customers", vec![item("2")])
                .unprocessed_keys("customers", keys(&["3"]))
                .build()
        })
        .output(|| {
            BatchGetItemOutput::builder()
                .responses("customers", vec![item("3")])
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoCustomers::new(client, "customers");
    let ids: Vec<UserId> = ["1", "2", "3"]
        .iter()
        .map(|s| UserId(s.to_string()))
        .collect();
    let got = store.batch_get(&ids).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(got.len(), 3);
    let c = &got[&UserId("3".into())];
    assert_eq!(c.attributes["first_name"], "N3");
    assert_eq!(c.attributes["visits"], "3");
    assert!(!c.attributes.contains_key("user_id"));
}

#[tokio::test]
async fn keys_that_stay_unprocessed_become_a_port_error() {
    let rule = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .sequence()
        .output(|| {
            BatchGetItemOutput::builder()
                .unprocessed_keys("customers", keys(&["1"]))
                .build()
        })
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let store = DynamoCustomers::new(client, "customers");
    let err = store.batch_get(&[UserId("1".into())]).await.unwrap_err();
    assert!(err.message.contains("unprocessed"), "{err}");
    assert_eq!(rule.num_calls(), 9);
}

#[tokio::test]
async fn more_than_100_ids_are_split_into_calls_of_100() {
    let rule = mock!(aws_sdk_dynamodb::Client::batch_get_item).then_compute_output(|req| {
        let ka = &req.request_items().unwrap()["customers"];
        assert!(ka.keys().len() <= 100);
        let items = ka
            .keys()
            .iter()
            .map(|k| match &k["user_id"] {
                AttributeValue::S(s) => item(s),
                _ => unreachable!(),
            })
            .collect();
        BatchGetItemOutput::builder()
            .responses("customers", items)
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let store = DynamoCustomers::new(client, "customers");
    let ids: Vec<UserId> = (1..=250).map(|i| UserId(i.to_string())).collect();
    let got = store.batch_get(&ids).await.unwrap();
    assert_eq!(got.len(), 250);
    assert_eq!(rule.num_calls(), 3);
}

fn email() -> OutgoingEmail {
    OutgoingEmail {
        from: "sender@example.com".into(),
        to: "success@simulator.amazonses.com".into(),
        template_name: "SimpleEmail".into(),
        template_data: r#"{"first_name":"Ada"}"#.into(),
        configuration_set: Some("load-test-config".into()),
        tags: vec![Tag {
            name: "campaign".into(),
            value: "c1".into(),
        }],
        unique_code: UniqueCode("u1".into()),
    }
}

fn ses_error(status: u16, code: &'static str) -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_sesv2::Client::send_email)
        .sequence()
        .http_status(
            status,
            Some(format!(
                r#"{{"__type":"{code}","message":"Maximum sending rate exceeded."}}"#
            )),
        )
        .repeatedly()
        .build()
}

#[tokio::test]
async fn ses_errors_keep_their_code_and_are_not_retried_by_the_sdk() {
    for (status, code, want) in [
        (429, "TooManyRequestsException", FailureClass::Throttled),
        (400, "LimitExceededException", FailureClass::DailyQuota),
        (
            400,
            "MessageRejected",
            FailureClass::Permanent(DlqReason::SesRejected),
        ),
        (
            404,
            "NotFoundException",
            FailureClass::Permanent(DlqReason::SesNotFound),
        ),
        (400, "SendingPausedException", FailureClass::SendingPaused),
        (
            400,
            "AccountSuspendedException",
            FailureClass::AccountSuspended,
        ),
        (
            403,
            "AccessDeniedException",
            FailureClass::Permanent(DlqReason::AccessDenied),
        ),
        (500, "InternalFailure", FailureClass::Transient),
    ] {
        let rule = ses_error(status, code);
        let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&rule], |b| {
            sesload_aws::ses::with_poller_policy(b)
        });
        let failure = SesMailer::new(client).send(&email()).await.unwrap_err();
        assert_eq!(failure.code, code);
        assert_eq!(failure.status, Some(status));
        assert!(!failure.maybe_sent);
        assert_eq!(classify(&failure), want, "{code}");
        // the poller owns retries: exactly one HTTP attempt
        assert_eq!(rule.num_calls(), 1, "{code} was retried by the SDK");
    }
}

#[tokio::test]
async fn send_returns_the_message_id_and_sends_template_tags_and_config_set() {
    let rule = mock!(aws_sdk_sesv2::Client::send_email)
        .match_requests(|r| {
            let t = r.content().unwrap().template().unwrap();
            r.from_email_address() == Some("sender@example.com")
                && r.destination().unwrap().to_addresses() == ["success@simulator.amazonses.com"]
                && t.template_name() == Some("SimpleEmail")
                && t.template_data() == Some(r#"{"first_name":"Ada"}"#)
                && r.configuration_set_name() == Some("load-test-config")
                && r.email_tags().len() == 1
                && r.email_tags()[0].name() == "campaign"
        })
        .then_output(|| SendEmailOutput::builder().message_id("msg-1").build());
    let client = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&rule]);
    let id = SesMailer::new(client).send(&email()).await.unwrap();
    assert_eq!(id.0, "msg-1");
}

/// 12 records: two `SendMessageBatch` calls (10 + 2), each entry with its delay rounded up and
/// capped at 900 s and its park attributes; the entries SQS reports as failed (per entry) are
/// the records reported back, and only those.
#[tokio::test]
async fn parking_reports_exactly_the_entries_sqs_refused() {
    let delays = [Duration::from_millis(1_200), Duration::from_secs(3_600)];
    let records: Vec<ParkedRecord> = (0..12)
        .map(|i| ParkedRecord {
            source_message_id: format!("m-{i}"),
            receipt_handle: format!("rh-{i}"),
            body: format!("{{\"unique_code\":\"c-{i}\"}}"),
            reason: ParkReason::DailyQuota,
            delay: delays[i % 2],
            park_count: 2,
        })
        .collect();
    let rule = mock!(aws_sdk_sqs::Client::send_message_batch).then_compute_output(|req| {
        let entries = req.entries();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.id(), i.to_string());
            let n: usize = e
                .message_body()
                .trim_start_matches("{\"unique_code\":\"c-")
                .trim_end_matches("\"}")
                .parse()
                .unwrap();
            // 1.2 s → 2 s (rounded up); 1 h → 900 s (SQS's maximum)
            let want = if n.is_multiple_of(2) { 2 } else { 900 };
            assert_eq!(e.delay_seconds(), Some(want), "record {n}");
            let attrs = e.message_attributes().unwrap();
            let count = &attrs[park_attributes::COUNT];
            assert_eq!(
                (count.data_type(), count.string_value()),
                ("Number", Some("2"))
            );
            let reason = &attrs[park_attributes::REASON];
            assert_eq!(
                (reason.data_type(), reason.string_value()),
                ("String", Some("daily_quota"))
            );
        }
        // the first call refuses its entry "3", the second its entry "1"
        let refused = if entries.len() == 10 { "3" } else { "1" };
        SendMessageBatchOutput::builder()
            .set_successful(Some(Vec::new()))
            .failed(
                BatchResultErrorEntry::builder()
                    .id(refused)
                    .sender_fault(false)
                    .code("InternalError")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    });
    let client = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&rule]);
    let mut failed = SqsParking::new(client, "https://sqs.example/q")
        .park(&records)
        .await;
    failed.sort();
    assert_eq!(failed, vec!["m-11".to_string(), "m-3".to_string()]);
    assert_eq!(rule.num_calls(), 2);
}
