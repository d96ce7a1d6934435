//! The port contracts (`sesload_core::contract`) against the SQLite adapters, each on a fresh
//! database file: the same behaviours the in-memory and DynamoDB/SQS adapters are held to.

use std::time::Duration;

use sesload_core::contract::{self, ParkingProbe, QueueProbe, QueuedMessage};
use sesload_core::{DeadLetter, DlqReason};
use sesload_local::customers::upsert_customers;
use sesload_local::db::open_connection;
use sesload_local::queue::{DlqFilter, dlq_list};
use sesload_local::{
    Db, LocalDeadLetterSink, LocalParking, LocalVisibility, NewMessage, Queue, QueueSettings,
    SqliteCustomerStore, SqliteLedger, SqliteSchedule,
};

fn db(name: &str) -> Db {
    let dir = std::env::temp_dir().join(format!(
        "sesload-contract-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    Db::open(dir.join("sesload.db")).unwrap()
}

fn queue(db: Db) -> Queue {
    Queue::new(
        db,
        QueueSettings {
            visibility_timeout: Duration::from_secs(30),
            max_receive_count: 5,
        },
    )
}

#[tokio::test]
async fn sqlite_ledger_keeps_the_ledger_contract() {
    contract::ledger(&SqliteLedger::new(db("ledger"), None)).await;
}

#[tokio::test]
async fn sqlite_customers_keep_the_customer_store_contract() {
    let db = db("customers");
    let conn = open_connection(db.path()).unwrap();
    upsert_customers(&conn, &contract::customer_fixture()).unwrap();
    contract::customer_store(&SqliteCustomerStore::new(db, None)).await;
}

async fn dlq_letters(db: &Db) -> Vec<DeadLetter> {
    db.read(|c| dlq_list(c, &DlqFilter::default()))
        .await
        .unwrap()
        .into_iter()
        .map(|r| DeadLetter {
            reason: DlqReason::from_code(&r.reason)
                .unwrap_or_else(|| panic!("unknown reason code {:?} in the dlq table", r.reason)),
            source_message_id: r.source_message_id,
            body: r.body,
            detail: r.detail,
        })
        .collect()
}

#[tokio::test]
async fn local_dead_letters_keep_the_dead_letter_contract() {
    let q = queue(db("dlq"));
    let sink = LocalDeadLetterSink::new(q.clone(), None);
    contract::dead_letter_sink(&sink, || dlq_letters(q.db())).await;

    // A DLQ that cannot be written (its table is gone) reports every letter back.
    let q = queue(db("dlq-down"));
    open_connection(q.db().path())
        .unwrap()
        .execute_batch("DROP TABLE dlq")
        .unwrap();
    contract::unavailable_dead_letter_sink(&LocalDeadLetterSink::new(q, None)).await;
}

struct Probe(Queue);

impl QueueProbe for Probe {
    async fn receive_new(&self, body: &str) -> String {
        self.0.send(NewMessage::from_body(body)).await.unwrap();
        let got = self.0.receive(10, None).await.unwrap();
        got.into_iter()
            .find(|m| m.body == body)
            .unwrap_or_else(|| panic!("{body:?} sent but not received"))
            .receipt_handle
    }

    async fn receive_visible(&self) -> Vec<String> {
        let got = self.0.receive(10, None).await.unwrap();
        got.into_iter().map(|m| m.body).collect()
    }
}

#[tokio::test]
async fn local_visibility_keeps_the_visibility_contract() {
    let q = queue(db("visibility"));
    contract::visibility_control(&LocalVisibility::new(q.clone()), &Probe(q)).await;
}

#[tokio::test]
async fn sqlite_schedule_keeps_the_schedule_contract() {
    let db = db("schedule");
    contract::send_schedule(|name| SqliteSchedule::new(db.clone(), name)).await;
}

/// The local queue as the parking contract sees it.
struct ParkingQueue(Queue);

impl ParkingProbe for ParkingQueue {
    async fn receive_new(&self, bodies: &[String]) -> Vec<(String, String)> {
        let msgs = bodies.iter().map(NewMessage::from_body).collect();
        self.0.send_batch(msgs).await.unwrap();
        let got = self
            .0
            .receive(bodies.len(), Some(contract::ORIGINAL_HIDDEN))
            .await
            .unwrap();
        bodies
            .iter()
            .map(|b| {
                let m = got
                    .iter()
                    .find(|m| m.body == *b)
                    .unwrap_or_else(|| panic!("{b:?} sent but not received"));
                (m.message_id.clone(), m.receipt_handle.clone())
            })
            .collect()
    }

    async fn acknowledge(&self, receipt_handle: &str) {
        self.0
            .delete(vec![receipt_handle.to_string()])
            .await
            .unwrap();
    }

    async fn receive_visible(&self) -> Vec<QueuedMessage> {
        let got = self.0.receive(100, None).await.unwrap();
        got.into_iter()
            .map(|m| QueuedMessage {
                message_id: m.message_id,
                body: m.body,
                park_reason: m.park_reason,
                park_count: m.park_count,
            })
            .collect()
    }
}

#[tokio::test]
async fn local_parking_keeps_the_parking_contract() {
    let q = queue(db("parking"));
    contract::parking(&LocalParking::new(q.clone()), &ParkingQueue(q)).await;

    // The contract's records were received nowhere (made-up receipt handles): reported back.
    // A write that fails is covered in tests/parking.rs (every record reported, nothing moved).
    contract::unavailable_parking(&LocalParking::new(queue(db("parking-down")))).await;
}
