//! DynamoDB and SQS adapters against a real-protocol emulator: moto server (PyPI
//! `moto[server]`, from the project venv) started by this test on a free port and killed at
//! the end. Set `MOTO_SERVER` to use another executable.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use sesload_aws::seed::{customer_item, seed_customers};
use sesload_aws::{DynamoCustomers, DynamoLedger, SqsDeadLetters, SqsVisibility};
use sesload_core::{
    Claim, CustomerStore, DeadLetter, DeadLetterSink, DlqReason, Ledger, MessageId, UniqueCode,
    UserId, VisibilityControl,
};

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_executable() -> PathBuf {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    assert!(
        p.exists(),
        "moto server not found at {} (run `just setup`, or set MOTO_SERVER)",
        p.display()
    );
    p
}

fn start_moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(moto_executable())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

fn creds() -> aws_sdk_dynamodb::config::Credentials {
    aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "test")
}

fn dynamo(url: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(creds())
            .endpoint_url(url)
            .build(),
    )
}

fn sqs(url: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .endpoint_url(url)
            .build(),
    )
}

async fn create_table(c: &aws_sdk_dynamodb::Client, name: &str, key: &str) {
    c.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_sqs_adapters_against_moto() {
    let moto = start_moto();
    let tokio_deadline = tokio::time::timeout(Duration::from_secs(120), async {
        let d = dynamo(&moto.url);
        create_table(&d, "customers", "user_id").await;
        create_table(&d, "ledger", "unique_code").await;
        seeder_and_customers(&d).await;
        ledger(&d).await;
        let q = sqs(&moto.url);
        dead_letters(&q).await;
        visibility(&q).await;
    });
    tokio_deadline
        .await
        .expect("moto scenarios took over 120 s");
}

async fn seeder_and_customers(d: &aws_sdk_dynamodb::Client) {
    let report = seed_customers(d, "customers", 260).await.unwrap();
    assert_eq!(report.written, 260);
    assert_eq!(report.last_user_id, "260");
    assert!(report.batch_write_calls >= 11);
    // idempotent: seeding again rewrites the same items
    seed_customers(d, "customers", 260).await.unwrap();
    let count = d
        .scan()
        .table_name("customers")
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count();
    assert_eq!(count, 260);

    let store = DynamoCustomers::new(d.clone(), "customers");
    let mut ids: Vec<UserId> = (1..=250).map(|i| UserId(i.to_string())).collect();
    ids.push(UserId("999999".into()));
    ids.push(UserId("7".into()));
    let got = store.batch_get(&ids).await.unwrap();
    assert_eq!(got.len(), 250, "unknown ids are absent, duplicates once");
    let c = &got[&UserId("42".into())];
    let expected = customer_item(42);
    assert_eq!(
        c.attributes["first_name"],
        expected["first_name"].as_s().unwrap().as_str()
    );
    assert_eq!(c.attributes["favorite_number"], "42");
    assert!(!got.contains_key(&UserId("999999".into())));

    let missing = DynamoCustomers::new(d.clone(), "no-such-table")
        .batch_get(&ids[..1])
        .await
        .unwrap_err();
    assert!(missing.message.contains("no-such-table"), "{missing}");
}

async fn ledger(d: &aws_sdk_dynamodb::Client) {
    let l = DynamoLedger::new(d.clone(), "ledger", Duration::from_secs(7 * 86_400));
    let code = UniqueCode("code-1".into());
    let lease = Duration::from_secs(60);
    assert_eq!(l.claim(&code, lease).await.unwrap(), Claim::Claimed);
    assert_eq!(l.claim(&code, lease).await.unwrap(), Claim::InFlight);
    l.record_sent(&code, &MessageId("ses-1".into()))
        .await
        .unwrap();
    assert_eq!(
        l.claim(&code, lease).await.unwrap(),
        Claim::AlreadySent(MessageId("ses-1".into()))
    );
    // releasing a sent code changes nothing
    l.release(&code).await.unwrap();
    assert_eq!(
        l.claim(&code, lease).await.unwrap(),
        Claim::AlreadySent(MessageId("ses-1".into()))
    );
    let item = d
        .get_item()
        .table_name("ledger")
        .key("unique_code", AttributeValue::S("code-1".into()))
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .unwrap();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert!(
        exp > now_s + 6 * 86_400 && exp <= now_s + 7 * 86_400 + 5,
        "{exp}"
    );
    assert_eq!(item["status"].as_s().unwrap(), "sent");

    // an expired lease is reclaimed (ambiguous retry)
    let code2 = UniqueCode("code-2".into());
    assert_eq!(
        l.claim(&code2, Duration::from_millis(1)).await.unwrap(),
        Claim::Claimed
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(l.claim(&code2, lease).await.unwrap(), Claim::Reclaimed);
    // a released claim can be claimed again at once
    l.release(&code2).await.unwrap();
    assert_eq!(l.claim(&code2, lease).await.unwrap(), Claim::Claimed);
}

async fn create_queue(q: &aws_sdk_sqs::Client, name: &str) -> String {
    q.create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

async fn dead_letters(q: &aws_sdk_sqs::Client) {
    let url = create_queue(q, "sesload-dlq").await;
    let sink = SqsDeadLetters::new(q.clone(), &url);
    let letters: Vec<DeadLetter> = (0..12)
        .map(|i| DeadLetter {
            source_message_id: format!("src-{i}"),
            body: format!("{{\"n\": {i}, \"text\": \"a & b + c %\"}}"),
            reason: if i % 2 == 0 {
                DlqReason::InvalidJson
            } else {
                DlqReason::UnknownCustomer
            },
            detail: format!("detail {i}"),
        })
        .collect();
    let failed = sink.send_batch(&letters).await;
    assert!(failed.is_empty(), "{failed:?}");
    let mut seen = Vec::new();
    for _ in 0..10 {
        let out = q
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let attrs = m.message_attributes().unwrap();
            let get = |k: &str| attrs[k].string_value().unwrap().to_string();
            seen.push((
                get("sesload_source_message_id"),
                get("sesload_reason"),
                get("sesload_detail"),
                m.body().unwrap().to_string(),
            ));
        }
        if seen.len() >= 12 {
            break;
        }
    }
    assert_eq!(seen.len(), 12);
    let (src, reason, detail, body) = seen.iter().find(|s| s.0 == "src-3").unwrap();
    assert_eq!(src, "src-3");
    assert_eq!(reason, "unknown_customer");
    assert_eq!(detail, "detail 3");
    assert_eq!(body, &letters[3].body);

    // a queue that does not exist: every letter is reported back, none dropped silently
    let bad = SqsDeadLetters::new(q.clone(), format!("{url}-missing"));
    let mut failed = bad.send_batch(&letters[..3]).await;
    failed.sort();
    assert_eq!(failed, vec!["src-0", "src-1", "src-2"]);
}

async fn visibility(q: &aws_sdk_sqs::Client) {
    let url = create_queue(q, "sesload-src").await;
    q.send_message()
        .queue_url(&url)
        .message_body("hello")
        .send()
        .await
        .unwrap();
    let receive = || async {
        q.receive_message()
            .queue_url(&url)
            .max_number_of_messages(1)
            .send()
            .await
            .unwrap()
            .messages()
            .to_vec()
    };
    let m = receive().await;
    assert_eq!(m.len(), 1);
    let handle = m[0].receipt_handle().unwrap().to_string();
    let vis = SqsVisibility::new(q.clone(), &url);
    // visible again almost at once
    vis.delay(&handle, Duration::from_millis(400))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let m = receive().await;
    assert_eq!(m.len(), 1, "message should be visible after its 1 s delay");
    // hidden for a long delay
    let handle = m[0].receipt_handle().unwrap().to_string();
    vis.delay(&handle, Duration::from_secs(120)).await.unwrap();
    assert!(receive().await.is_empty());
    // bad receipt handle: an error, not a panic
    assert!(vis.delay("nonsense", Duration::from_secs(1)).await.is_err());
}
