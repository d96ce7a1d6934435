//! Parking on the local queue beyond the port contract: the park is one transaction (the
//! original is gone the moment the copy exists, a failing write moves nothing), a stale receipt
//! handle parks nothing, a parked copy is the same accepted request for the accounts, the
//! emulator delivers its park attributes as SQS does, existing data directories gain the park
//! columns, and schedules are shared through the database file.

use std::time::Duration;

use futures::future::join_all;
use sesload_core::{ParkReason, ParkedRecord, Parking, Reservation, SendSchedule, park_attributes};
use sesload_local::db::open_connection;
use sesload_local::emulator::build_event;
use sesload_local::{Db, LocalParking, NewMessage, Received, SqliteSchedule, stats};

mod common;
use common::{body, queue, tmpdir};

fn parked(r: &Received, reason: ParkReason, delay: Duration) -> ParkedRecord {
    ParkedRecord {
        source_message_id: r.message_id.clone(),
        receipt_handle: r.receipt_handle.clone(),
        body: r.body.clone(),
        reason,
        delay,
        park_count: r.park_count + 1,
    }
}

/// (id, receive_count, park_count, park_reason, visible_at - now ms) of every message.
fn rows(db: &Db) -> Vec<(String, u32, u32, Option<String>, i64)> {
    let now = sesload_local::db::now_ms();
    let c = open_connection(db.path()).unwrap();
    let mut s = c
        .prepare("SELECT id, receive_count, park_count, park_reason, visible_at FROM messages ORDER BY seq")
        .unwrap();
    s.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get::<_, i64>(4)? - now,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[tokio::test]
async fn a_park_replaces_the_original_by_its_copy_and_keeps_the_accounts() {
    let dir = tmpdir("park");
    let q = queue(&dir, 60_000, 5);
    let ids = q
        .send_batch(vec![
            NewMessage::from_body(body("p1", "camp")),
            NewMessage::from_body(body("p2", "camp")),
            NewMessage::from_body(body("p3", "camp")),
        ])
        .await
        .unwrap();
    let got = q.receive(10, None).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.park_count == 0 && r.park_reason.is_none())
    );
    let parking = LocalParking::new(q.clone());
    let minute = Duration::from_secs(60);
    let failed = parking
        .park(&[
            parked(&got[0], ParkReason::DailyQuota, Duration::from_secs(86_400)),
            parked(&got[1], ParkReason::Deadline, minute),
        ])
        .await;
    assert!(failed.is_empty(), "{failed:?}");

    // Right after the park (before any acknowledgement) the originals are gone and their copies
    // wait: new ids, receive count 0, the park count and reason, visible after the delay.
    let rows = rows(q.db());
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        !rows
            .iter()
            .any(|r| r.0 == got[0].message_id || r.0 == got[1].message_id)
    );
    assert_eq!(rows[0].0, ids[2], "the record not parked stays as it is");
    // A day's delay is capped at SQS's 900 s.
    for (row, (reason, delay_ms)) in rows[1..]
        .iter()
        .zip([("daily_quota", 900_000), ("deadline", 60_000)])
    {
        assert_eq!((row.1, row.2, row.3.as_deref()), (0, 1, Some(reason)));
        assert!(
            (delay_ms - 5_000..=delay_ms).contains(&row.4),
            "{reason}: visible in {} ms",
            row.4
        );
    }
    // The event source's later delete of the originals finds nothing.
    let stale = vec![got[0].receipt_handle.clone(), got[1].receipt_handle.clone()];
    assert_eq!(q.delete(stale).await.unwrap(), 0);

    // Same accepted requests: nothing new accepted, all three still queued, nothing lost.
    let r = q.db().read(|c| stats::reconcile(c, "camp")).await.unwrap();
    assert_eq!((r.accepted, r.queued, r.unaccounted), (3, 3, 0), "{r:?}");
    let s = q.db().read(|c| stats::collect(c, None)).await.unwrap();
    assert_eq!(s["accepted"], 3);
    assert_eq!(s["queue"]["parked"], 2, "{s}");
    assert_eq!(s["queue"]["delayed"], 2, "{s}");
    assert_eq!(s["queue"]["in_flight"], 1, "{s}");
    assert_eq!(
        s["queue"]["parked_by_reason"],
        serde_json::json!({"daily_quota": 1, "deadline": 1})
    );
}

#[tokio::test]
async fn a_stale_receipt_handle_parks_nothing() {
    let dir = tmpdir("park-stale");
    let q = queue(&dir, 60_000, 5);
    q.send(NewMessage::from_body(body("s1", "camp")))
        .await
        .unwrap();
    let first = q
        .receive(1, Some(Duration::from_millis(50)))
        .await
        .unwrap()
        .pop()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let again = q.receive(1, None).await.unwrap().pop().unwrap();
    assert_eq!(again.message_id, first.message_id);

    let parking = LocalParking::new(q.clone());
    let failed = parking
        .park(&[parked(&first, ParkReason::Throttled, Duration::ZERO)])
        .await;
    assert_eq!(failed, vec![first.message_id.clone()]);
    let rows = rows(q.db());
    assert_eq!(rows.len(), 1, "no copy: {rows:?}");
    assert_eq!((rows[0].1, rows[0].2), (2, 0));
    // The current holder still owns it.
    assert_eq!(q.delete(vec![again.receipt_handle]).await.unwrap(), 1);
}

#[tokio::test]
async fn a_park_that_cannot_write_its_copies_moves_nothing() {
    let dir = tmpdir("park-fail");
    let q = queue(&dir, 60_000, 5);
    q.send_batch(vec![
        NewMessage::from_body(body("f1", "camp")),
        NewMessage::from_body(body("f2", "camp")),
    ])
    .await
    .unwrap();
    let got = q.receive(10, None).await.unwrap();
    open_connection(q.db().path())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse_copies BEFORE INSERT ON messages
             BEGIN SELECT RAISE(ABORT, 'queue refuses new messages'); END;",
        )
        .unwrap();
    let records: Vec<ParkedRecord> = got
        .iter()
        .map(|r| parked(r, ParkReason::SendingPaused, Duration::from_secs(5)))
        .collect();
    let mut failed = LocalParking::new(q.clone()).park(&records).await;
    failed.sort();
    let mut want: Vec<String> = got.iter().map(|r| r.message_id.clone()).collect();
    want.sort();
    assert_eq!(failed, want);
    // Rolled back: the originals are still there under their receipt handles.
    let handles = got.iter().map(|r| r.receipt_handle.clone()).collect();
    assert_eq!(q.delete(handles).await.unwrap(), 2);
}

#[tokio::test]
async fn the_emulator_delivers_park_attributes_as_sqs_message_attributes() {
    let dir = tmpdir("park-event");
    let q = queue(&dir, 60_000, 5);
    q.send(NewMessage::from_body(body("e1", "camp")))
        .await
        .unwrap();
    let original = q.receive(1, None).await.unwrap().pop().unwrap();
    let mut record = parked(&original, ParkReason::ClaimInFlight, Duration::ZERO);
    record.park_count = 3;
    assert!(
        LocalParking::new(q.clone())
            .park(&[record])
            .await
            .is_empty()
    );
    let copy = q.receive(1, None).await.unwrap().pop().unwrap();
    assert_eq!(copy.body, original.body);
    assert_eq!((copy.receive_count, copy.park_count), (1, 3));

    let event = serde_json::to_value(build_event(&[copy, original])).unwrap();
    let attrs = &event["Records"][0]["messageAttributes"];
    assert_eq!(attrs[park_attributes::COUNT]["stringValue"], "3");
    assert_eq!(attrs[park_attributes::COUNT]["dataType"], "Number");
    assert_eq!(
        attrs[park_attributes::REASON]["stringValue"],
        "claim_in_flight"
    );
    assert_eq!(attrs[park_attributes::REASON]["dataType"], "String");
    assert_eq!(
        event["Records"][0]["attributes"]["ApproximateReceiveCount"],
        "1"
    );
    assert_eq!(
        event["Records"][1]["messageAttributes"],
        serde_json::json!({}),
        "a record never parked has no park attributes"
    );
}

#[tokio::test]
async fn a_data_dir_from_before_parking_gains_the_park_columns() {
    let dir = tmpdir("park-migrate");
    let path = dir.join("sesload.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE messages(
                seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
                campaign TEXT NOT NULL DEFAULT '', unique_code TEXT, sent_at INTEGER NOT NULL,
                visible_at INTEGER NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0,
                first_receive_at INTEGER, receipt TEXT);
             INSERT INTO messages(id, body, sent_at, visible_at) VALUES ('old-1', '{}', 0, 0);",
        )
        .unwrap();
    let q = sesload_local::Queue::new(Db::open(&path).unwrap(), Default::default());
    let got = q.receive(10, None).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].park_count, got[0].park_reason.clone()), (0, None));
    let failed = LocalParking::new(q.clone())
        .park(&[parked(&got[0], ParkReason::QuotaUnknown, Duration::ZERO)])
        .await;
    assert!(failed.is_empty());
    let copy = q.receive(10, None).await.unwrap().pop().unwrap();
    assert_eq!(copy.park_reason.as_deref(), Some("quota_unknown"));
}

/// Two processes' worth of handles (each its own writer on the same file) share one schedule:
/// the slots they are given, sorted, are an interval apart.
#[tokio::test]
async fn instances_on_one_database_file_share_a_schedule() {
    let dir = tmpdir("schedule-shared");
    let path = dir.join("sesload.db");
    let a = SqliteSchedule::new(Db::open(&path).unwrap(), "fleet");
    let b = SqliteSchedule::new(Db::open(&path).unwrap(), "fleet");
    let other = SqliteSchedule::new(Db::open(&path).unwrap(), "another");
    let interval = Duration::from_millis(100);
    let long = Duration::from_secs(10);
    let reserve = |s: &SqliteSchedule| {
        let s = s.clone();
        async move {
            let request = Reservation {
                tokens: 1,
                interval,
                burst: Duration::ZERO,
                max_wait: long,
            };
            s.reserve(request).await.unwrap().unwrap()
        }
    };
    let mut waits = join_all((0..10).map(|i| reserve(if i % 2 == 0 { &a } else { &b }))).await;
    waits.sort();
    for pair in waits.windows(2) {
        assert!(
            pair[1].saturating_sub(pair[0]) + Duration::from_millis(40) >= interval,
            "slots closer than {interval:?}: {waits:?}"
        );
    }
    assert!(
        waits[9] >= interval * 9 - Duration::from_millis(100),
        "{waits:?}"
    );
    // Another name is another schedule: due now.
    assert!(reserve(&other).await <= Duration::from_millis(5));
}
