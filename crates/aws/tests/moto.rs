//! DynamoDB and SQS adapters against a real-protocol emulator: moto server (PyPI
//! `moto[server]`, from the project venv) started by this test on a free port and killed at
//! the end. Set `MOTO_SERVER` to use another executable.
//!
//! The port contracts (`sesload_core::contract`, the behaviours the in-memory and SQLite
//! adapters are held to as well) run here, plus what only these adapters have: the seeder,
//! the ledger item's TTL, SQS message attributes, the control table's item layout.

mod common;

use sesload_core::Held;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use common::{create_queue, create_table, dynamo, sqs, start_moto};
use sesload_aws::seed::{customer_item, seed_customers};
use sesload_aws::{
    DynamoCustomers, DynamoLedger, DynamoSchedule, SqsDeadLetters, SqsParking, SqsVisibility,
};
use sesload_core::contract::{self, ParkingProbe, QueueProbe, QueuedMessage};
use sesload_core::{
    Claim, Customer, CustomerStore, DeadLetter, DlqReason, Ledger, MessageId, Reservation,
    SendSchedule, UniqueCode, UserId, dlq_attributes, park_attributes,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_sqs_adapters_against_moto() {
    let moto = start_moto();
    let tokio_deadline = tokio::time::timeout(Duration::from_secs(120), async {
        let d = dynamo(&moto.url);
        create_table(&d, "customers", "user_id").await;
        create_table(&d, "ledger", "unique_code").await;
        seeder_and_customers(&d).await;
        customer_store_contract(&d).await;
        ledger(&d).await;
        create_table(&d, "control", "pk").await;
        schedule(&d).await;
        let q = sqs(&moto.url);
        dead_letters(&q).await;
        visibility(&q).await;
        parking(&q).await;
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

/// Seed the contract's customers into their own table and run the customer-store contract.
async fn customer_store_contract(d: &aws_sdk_dynamodb::Client) {
    create_table(d, "contract-customers", "user_id").await;
    let item = |c: &Customer| {
        let mut item = HashMap::from([(
            "user_id".to_string(),
            AttributeValue::S(c.user_id.0.clone()),
        )]);
        for (k, v) in &c.attributes {
            item.insert(k.clone(), AttributeValue::S(v.clone()));
        }
        item
    };
    for chunk in contract::customer_fixture().chunks(25) {
        let writes = chunk
            .iter()
            .map(|c| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item(c)))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let out = d
            .batch_write_item()
            .request_items("contract-customers", writes)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
    contract::customer_store(&DynamoCustomers::new(d.clone(), "contract-customers")).await;
}

async fn ledger(d: &aws_sdk_dynamodb::Client) {
    let l = DynamoLedger::new(d.clone(), "ledger", Duration::from_secs(7 * 86_400));
    // moto does not serialise conditional writes: the concurrent case runs against the
    // in-memory and SQLite ledgers; DynamoDB's conditional PutItem is atomic.
    contract::ledger_sequential(&l).await;

    // A sent item expires (TTL) a week after the send.
    let code = UniqueCode("code-1".into());
    let claim = l.claim(&code, Duration::from_secs(60)).await.unwrap();
    let Claim::Claimed(token) = claim else {
        panic!("a fresh code answered {claim:?}");
    };
    l.record_sent(
        Held {
            code: &code,
            token: &token,
        },
        &MessageId("ses-1".into()),
    )
    .await
    .unwrap();
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
    assert_eq!(item["message_id"].as_s().unwrap(), "ses-1");
}

/// Receive every message of `url` as the dead letter its attributes describe.
async fn read_dead_letters(q: &aws_sdk_sqs::Client, url: &str, expected: usize) -> Vec<DeadLetter> {
    let mut letters = Vec::new();
    for _ in 0..20 {
        let out = q
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let attrs = m.message_attributes().unwrap();
            let get = |k: &str| {
                attrs
                    .get(k)
                    .and_then(|v| v.string_value())
                    .unwrap_or_else(|| panic!("dead letter without attribute {k}"))
                    .to_string()
            };
            letters.push(DeadLetter {
                source_message_id: get(dlq_attributes::SOURCE_MESSAGE_ID),
                body: m.body().unwrap().to_string(),
                reason: DlqReason::from_code(&get(dlq_attributes::REASON)).unwrap(),
                detail: get(dlq_attributes::DETAIL),
            });
        }
        if letters.len() >= expected {
            break;
        }
    }
    letters
}

async fn dead_letters(q: &aws_sdk_sqs::Client) {
    let url = create_queue(q, "sesload-dlq").await;
    let sink = SqsDeadLetters::new(q.clone(), &url);
    let fixture_len = contract::dead_letter_fixture().len();
    contract::dead_letter_sink(&sink, || read_dead_letters(q, &url, fixture_len)).await;

    // a queue that does not exist: every letter is reported back, none dropped silently
    let bad = SqsDeadLetters::new(q.clone(), format!("{url}-missing"));
    contract::unavailable_dead_letter_sink(&bad).await;
}

/// The source queue as the visibility contract sees it.
struct Probe<'a> {
    q: &'a aws_sdk_sqs::Client,
    url: String,
}

impl Probe<'_> {
    async fn receive(&self) -> Vec<aws_sdk_sqs::types::Message> {
        self.q
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages()
            .to_vec()
    }
}

impl QueueProbe for Probe<'_> {
    async fn receive_new(&self, body: &str) -> String {
        self.q
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
        self.receive()
            .await
            .into_iter()
            .find(|m| m.body() == Some(body))
            .unwrap_or_else(|| panic!("{body:?} sent but not received"))
            .receipt_handle()
            .unwrap()
            .to_string()
    }

    async fn receive_visible(&self) -> Vec<String> {
        self.receive()
            .await
            .into_iter()
            .filter_map(|m| m.body().map(str::to_string))
            .collect()
    }
}

async fn visibility(q: &aws_sdk_sqs::Client) {
    let url = create_queue(q, "sesload-src").await;
    let vis = SqsVisibility::new(q.clone(), &url);
    contract::visibility_control(&vis, &Probe { q, url }).await;
}

async fn schedule(d: &aws_sdk_dynamodb::Client) {
    // As for the ledger: the concurrent case needs atomic conditional writes, which moto lacks.
    contract::send_schedule_sequential(|name| DynamoSchedule::new(d.clone(), "control", name))
        .await;

    // The item: pk = schedule#<name>, next_slot_us = the next free slot in epoch µs.
    let s = DynamoSchedule::new(d.clone(), "control", "fleet");
    let interval = Duration::from_millis(250);
    let before_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let wait = s
        .reserve(Reservation {
            tokens: 4,
            interval,
            burst: Duration::ZERO,
            max_wait: Duration::from_secs(5),
        })
        .await
        .unwrap();
    assert!(
        wait.is_some_and(|w| w < Duration::from_millis(50)),
        "{wait:?}"
    );
    let item = common::control_item(d, "schedule#fleet").await;
    let next: i64 = item["next_slot_us"].as_n().unwrap().parse().unwrap();
    let ahead = next - before_us;
    assert!(
        (1_000_000..1_200_000).contains(&ahead),
        "4 slots of 250 ms end about 1 s after the first: {ahead} µs"
    );
    assert_eq!(item.len(), 2, "no other attribute (no TTL): {item:?}");

    // A table that does not exist is an error naming it, not a reservation.
    let e = DynamoSchedule::new(d.clone(), "no-such-control", "fleet")
        .reserve(Reservation {
            tokens: 1,
            interval,
            burst: Duration::ZERO,
            max_wait: Duration::from_secs(1),
        })
        .await
        .unwrap_err();
    assert!(e.message.contains("no-such-control"), "{e}");
}

/// The source queue as the parking contract sees it.
struct ParkingQueue<'a> {
    q: &'a aws_sdk_sqs::Client,
    url: String,
}

impl ParkingProbe for ParkingQueue<'_> {
    async fn receive_new(&self, bodies: &[String]) -> Vec<(String, String)> {
        for b in bodies {
            self.q
                .send_message()
                .queue_url(&self.url)
                .message_body(b)
                .send()
                .await
                .unwrap();
        }
        let hidden = contract::ORIGINAL_HIDDEN.as_secs() as i32;
        let mut got: HashMap<String, (String, String)> = HashMap::new();
        for _ in 0..20 {
            if got.len() == bodies.len() {
                break;
            }
            let out = self
                .q
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .visibility_timeout(hidden)
                .send()
                .await
                .unwrap();
            for m in out.messages() {
                got.insert(
                    m.body().unwrap().to_string(),
                    (
                        m.message_id().unwrap().to_string(),
                        m.receipt_handle().unwrap().to_string(),
                    ),
                );
            }
        }
        bodies
            .iter()
            .map(|b| {
                got.remove(b)
                    .unwrap_or_else(|| panic!("{b:?} sent but not received"))
            })
            .collect()
    }

    async fn acknowledge(&self, receipt_handle: &str) {
        self.q
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .unwrap();
    }

    async fn receive_visible(&self) -> Vec<QueuedMessage> {
        let mut out = Vec::new();
        for _ in 0..5 {
            let got = self
                .q
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .unwrap();
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                let attr = |k: &str| {
                    m.message_attributes().and_then(|a| a.get(k)).map(|v| {
                        (
                            v.data_type().to_string(),
                            v.string_value().unwrap_or_default().to_string(),
                        )
                    })
                };
                let count = attr(park_attributes::COUNT);
                if let Some((data_type, _)) = &count {
                    assert_eq!(data_type, "Number", "{} data type", park_attributes::COUNT);
                }
                out.push(QueuedMessage {
                    message_id: m.message_id().unwrap().to_string(),
                    body: m.body().unwrap().to_string(),
                    park_reason: attr(park_attributes::REASON).map(|(_, v)| v),
                    park_count: count.map(|(_, v)| v.parse().unwrap()).unwrap_or(0),
                });
            }
        }
        out
    }
}

async fn parking(q: &aws_sdk_sqs::Client) {
    let url = create_queue(q, "sesload-park-src").await;
    let parking = SqsParking::new(q.clone(), &url);
    contract::parking(
        &parking,
        &ParkingQueue {
            q,
            url: url.clone(),
        },
    )
    .await;

    // A queue that does not exist: every record is reported back, none dropped silently.
    contract::unavailable_parking(&SqsParking::new(q.clone(), format!("{url}-missing"))).await;
}
