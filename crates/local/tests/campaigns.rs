//! Campaigns on SQLite: the `CampaignControl` contract, the in-place migration of an older
//! database, and a reconciliation that stays disjoint while batches are in flight.

use sesload_core::Held;
use std::time::Duration;

use rusqlite::Connection;
use sesload_core::{
    CampaignControl, CampaignEntry, CancelledRecord, DeadLetter, DeadLetterSink, DlqReason, Ledger,
    MessageId, ParkReason, ParkedRecord, Parking, UniqueCode, contract,
};
use sesload_local::stats::reconcile;
use sesload_local::{
    Db, LocalDeadLetterSink, LocalParking, NewMessage, SqliteCampaignControl, SqliteLedger,
};

mod common;
use common::{body, queue, tmpdir};

#[tokio::test]
async fn sqlite_campaigns_keep_the_campaign_control_contract() {
    let db = Db::open(tmpdir("campaign-contract").join("sesload.db")).unwrap();
    contract::campaign_control(&SqliteCampaignControl::new(db)).await;
}

#[tokio::test]
async fn an_older_database_gets_the_campaign_columns_in_place() {
    let dir = tmpdir("campaign-migrate");
    let path = dir.join("sesload.db");
    {
        // The `campaigns` table as databases made before campaign states have it.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE campaigns(campaign TEXT PRIMARY KEY, accepted INTEGER NOT NULL DEFAULT 0,
                                    first_accepted_at INTEGER, last_accepted_at INTEGER);
             INSERT INTO campaigns VALUES ('run-old', 42, 1, 2);",
        )
        .unwrap();
    }
    let db = Db::open(&path).unwrap();
    let control = SqliteCampaignControl::new(db.clone());
    let e = control.get(&["run-old".into()]).await.unwrap();
    assert_eq!(e["run-old"], CampaignEntry::running("run-old"));
    let accepted: i64 = db
        .read(|c| {
            c.query_row(
                "SELECT accepted FROM campaigns WHERE campaign = 'run-old'",
                [],
                |r| r.get(0),
            )
            .map_err(sesload_local::DbError::sql("test"))
        })
        .await
        .unwrap();
    assert_eq!(accepted, 42, "the row is kept");
    // Opening again (columns present) changes nothing.
    drop(Db::open(&path).unwrap());
}

/// The demo's mid-run state: records sent in a batch that has not finished are still in the
/// queue, a dead letter was written but its record not yet deleted, a cancelled record not yet
/// acknowledged. Each code counts once, by its most advanced status.
#[tokio::test]
async fn the_reconciliation_is_disjoint_while_a_batch_is_in_flight() {
    let dir = tmpdir("campaign-disjoint");
    let q = queue(&dir, 60_000, 5);
    let ledger = SqliteLedger::new(q.db().clone(), None);
    let sink = LocalDeadLetterSink::new(q.clone(), None);
    let control = SqliteCampaignControl::new(q.db().clone());
    let mut msgs: Vec<NewMessage> = (0..10)
        .map(|i| NewMessage::from_body(body(&format!("c{i}"), "run-1")))
        .collect();
    msgs.push(NewMessage::from_body(body("c0", "run-1"))); // same code again
    msgs.push(NewMessage::from_body(body("x", "other")));
    q.send_batch(msgs).await.unwrap();
    let batch = q.receive(8, None).await.unwrap();
    assert_eq!(batch.len(), 8);
    // c0..c3 sent (recorded in the ledger; the batch is still running, nothing deleted).
    for i in 0..4 {
        let code = UniqueCode(format!("c{i}"));
        let claim = ledger.claim(&code, Duration::from_secs(60)).await.unwrap();
        ledger
            .record_sent(
                Held {
                    code: &code,
                    token: claim.token().unwrap(),
                },
                &MessageId(format!("ses-{i}")),
            )
            .await
            .unwrap();
    }
    // c4 dead-lettered, c3 too (it was sent: sent wins), both still in the queue.
    let letter = |code: &str, reason| {
        let r = batch
            .iter()
            .find(|r| r.body.contains(&format!("\"{code}\"")))
            .unwrap();
        DeadLetter {
            source_message_id: r.message_id.clone(),
            body: r.body.clone(),
            reason,
            detail: "test".into(),
        }
    };
    let failed = sink
        .send_batch(&[
            letter("c4", DlqReason::SesNotFound),
            letter("c3", DlqReason::UnknownCustomer),
        ])
        .await;
    assert!(failed.is_empty());
    // c5 recorded cancelled (twice, as a redelivered batch would), still in the queue.
    let cancelled = CancelledRecord {
        campaign: "run-1".into(),
        unique_code: UniqueCode("c5".into()),
        source_message_id: "m-c5".into(),
    };
    assert!(
        control
            .record_cancelled(&[cancelled.clone(), cancelled])
            .await
            .is_empty()
    );

    // c6 parked: its copy waits out a delay, still queued.
    let c6 = batch.iter().find(|r| r.body.contains("\"c6\"")).unwrap();
    let not_parked = LocalParking::new(q.clone())
        .park(&[ParkedRecord {
            source_message_id: c6.message_id.clone(),
            receipt_handle: c6.receipt_handle.clone(),
            body: c6.body.clone(),
            reason: ParkReason::CampaignPaused,
            delay: Duration::from_secs(60),
            park_count: 1,
        }])
        .await;
    assert!(not_parked.is_empty());

    let r = q.db().read(|c| reconcile(c, "run-1")).await.unwrap();
    assert_eq!(r.accepted, 11);
    assert_eq!(r.sent, 4, "{r:?}");
    assert_eq!(r.sent_recently, 4, "all sent within the rate window");
    assert_eq!(
        (r.dlq, r.dlq_by_reason["ses_not_found"].as_i64()),
        (1, Some(1)),
        "c3's dead letter does not count: it was sent ({r:?})"
    );
    assert_eq!(r.cancelled, 1);
    assert_eq!((r.queued, r.parked), (4, 1), "c6..c9, of which c6 parked");
    assert_eq!(r.duplicate_codes, 1);
    assert_eq!(r.unaccounted, 0);
    assert_eq!(
        r.sent + r.dlq + r.cancelled + r.queued + r.duplicate_codes,
        r.accepted
    );
    assert!(r.problems().is_empty());
    assert!(r.first_sent_ms.is_some() && r.first_sent_ms <= r.last_sent_ms);

    // The batch finishes: the records handled are deleted (c6 and c7 are left to be retried).
    // Nothing moves between columns.
    let receipts = batch
        .iter()
        .filter(|r| !r.body.contains("\"c6\"") && !r.body.contains("\"c7\""))
        .map(|r| r.receipt_handle.clone())
        .collect();
    q.delete(receipts).await.unwrap();
    let after = q.db().read(|c| reconcile(c, "run-1")).await.unwrap();
    assert_eq!(
        (after.sent, after.dlq, after.cancelled, after.queued),
        (4, 1, 1, 4)
    );
    // A record deleted without any trace is lost, and said so.
    let rest = q.receive(10, None).await.unwrap();
    let lost = rest
        .iter()
        .find(|r| r.body.contains("\"c8\""))
        .unwrap()
        .receipt_handle
        .clone();
    q.delete(vec![lost]).await.unwrap();
    let r = q.db().read(|c| reconcile(c, "run-1")).await.unwrap();
    assert_eq!((r.queued, r.unaccounted), (3, 1));
    assert_eq!(r.problems().len(), 1);
    let other = q.db().read(|c| reconcile(c, "other")).await.unwrap();
    assert_eq!(
        (other.accepted, other.queued),
        (1, 1),
        "untouched: {other:?}"
    );
}
