//! Queue semantics: visibility timeout, receive count, redrive to the DLQ, delay, receipt
//! handles, durability across reopen, the ledger and the reconciliation.

use sesload_core::Held;
use std::sync::Arc;
use std::time::Duration;

use sesload_core::{Claim, Ledger, MessageId, UniqueCode};
use sesload_local::queue::{DlqFilter, dlq_list, redrive};
use sesload_local::{Db, NewMessage, SqliteLedger};

mod common;
use common::{body, queue, tmpdir};

#[tokio::test]
async fn received_message_is_hidden_until_visibility_timeout_then_redelivered_with_higher_count() {
    let dir = tmpdir("vis");
    let q = queue(&dir, 300, 5);
    let id = q
        .send(NewMessage::from_body(body("c1", "k")))
        .await
        .unwrap();
    let got = q.receive(10, None).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message_id, id);
    assert_eq!(got[0].receive_count, 1);
    assert_eq!(got[0].campaign, "k");
    assert!(
        q.receive(10, None).await.unwrap().is_empty(),
        "in flight must be hidden"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let again = q.receive(10, None).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt_handle, got[0].receipt_handle);
    // The stale receipt handle deletes nothing; the current one deletes.
    assert_eq!(
        q.delete(vec![got[0].receipt_handle.clone()]).await.unwrap(),
        0
    );
    assert_eq!(
        q.delete(vec![again[0].receipt_handle.clone()])
            .await
            .unwrap(),
        1
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(q.receive(10, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn batch_receive_respects_max_and_order() {
    let dir = tmpdir("batch");
    let q = queue(&dir, 10_000, 5);
    let msgs: Vec<_> = (0..25)
        .map(|i| NewMessage::from_body(body(&format!("c{i}"), "k")))
        .collect();
    let ids = q.send_batch(msgs).await.unwrap();
    let a = q.receive(10, None).await.unwrap();
    let b = q.receive(10, None).await.unwrap();
    let c = q.receive(10, None).await.unwrap();
    assert_eq!((a.len(), b.len(), c.len()), (10, 10, 5));
    let got: Vec<_> = a
        .iter()
        .chain(&b)
        .chain(&c)
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(got, ids, "FIFO-ish order for equal visibility");
}

#[tokio::test]
async fn delay_hides_message_until_due() {
    let dir = tmpdir("delay");
    let q = queue(&dir, 10_000, 5);
    let mut m = NewMessage::from_body(body("d1", "k"));
    m.delay = Duration::from_millis(300);
    q.send(m).await.unwrap();
    assert!(q.receive(10, None).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(q.receive(10, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn change_visibility_makes_message_visible_early_or_later() {
    let dir = tmpdir("chvis");
    let q = queue(&dir, 60_000, 5);
    q.send(NewMessage::from_body(body("v1", "k")))
        .await
        .unwrap();
    let r = q.receive(1, None).await.unwrap().remove(0);
    assert!(
        q.change_visibility(r.receipt_handle.clone(), Duration::ZERO)
            .await
            .unwrap()
    );
    let r2 = q.receive(1, None).await.unwrap().remove(0);
    assert_eq!(r2.receive_count, 2);
    // The old handle is no longer current.
    assert!(
        !q.change_visibility(r.receipt_handle, Duration::ZERO)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn redrive_to_dlq_after_max_receive_count_with_reason_and_back() {
    let dir = tmpdir("redrive");
    let q = queue(&dir, 50, 3);
    q.send(NewMessage::from_body(body("r1", "camp")))
        .await
        .unwrap();
    for n in 1..=3 {
        let got = q.receive(1, None).await.unwrap();
        assert_eq!(got.len(), 1, "delivery {n}");
        assert_eq!(got[0].receive_count, n);
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    // Fourth receive: moved to the DLQ instead of being delivered.
    assert!(q.receive(1, None).await.unwrap().is_empty());
    let dl = q
        .db()
        .read(|c| dlq_list(c, &DlqFilter::default()))
        .await
        .unwrap();
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0].reason, "retries_exhausted");
    assert_eq!(dl[0].campaign, "camp");
    assert_eq!(dl[0].receive_count, 3);
    assert!(
        dl[0].detail.contains("maxReceiveCount 3"),
        "{}",
        dl[0].detail
    );
    // Redrive back: a fresh message with receive count 0.
    let moved = q
        .db()
        .write(|c| redrive(c, &DlqFilter::default(), &[]))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let back = q.receive(1, None).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].receive_count, 1);
    assert_eq!(back[0].body, dl[0].body);
}

#[tokio::test]
async fn messages_survive_reopen() {
    let dir = tmpdir("reopen");
    {
        let q = queue(&dir, 60_000, 5);
        let ms: Vec<_> = (0..100)
            .map(|i| NewMessage::from_body(body(&format!("p{i}"), "k")))
            .collect();
        q.send_batch(ms).await.unwrap();
        let r = q.receive(10, None).await.unwrap();
        q.delete(r.iter().map(|r| r.receipt_handle.clone()).collect())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let q = queue(&dir, 60_000, 5);
    let mut n = 0;
    loop {
        let r = q.receive(50, None).await.unwrap();
        if r.is_empty() {
            break;
        }
        n += r.len();
    }
    assert_eq!(n, 90);
}

#[tokio::test]
async fn concurrent_claims_of_one_code_have_exactly_one_winner() {
    let dir = tmpdir("ledger-race");
    let db = Db::open(dir.join("sesload.db")).unwrap();
    let l = Arc::new(SqliteLedger::new(db, None));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let l = Arc::clone(&l);
            tokio::spawn(async move {
                l.claim(&UniqueCode("race".into()), Duration::from_secs(60))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Claim::Claimed(_)) {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1);
}

#[tokio::test]
async fn reconcile_accounts_for_sent_dead_lettered_queued_and_duplicate_codes() {
    use sesload_core::{DeadLetter, DeadLetterSink, DlqReason};
    let dir = tmpdir("reconcile");
    let q = queue(&dir, 60_000, 5);
    let ledger = SqliteLedger::new(q.db().clone(), None);
    let sink = sesload_local::LocalDeadLetterSink::new(q.clone(), None);
    q.send_batch(vec![
        NewMessage::from_body(body("a", "camp")),
        NewMessage::from_body(body("a", "camp")), // same unique_code again
        NewMessage::from_body(body("b", "camp")),
        NewMessage::from_body(body("c", "camp")),
        NewMessage::from_body(body("z", "other")),
    ])
    .await
    .unwrap();
    let got = q.receive(3, None).await.unwrap();
    // a (twice): sent once, the copy skipped by the ledger; b: dead-lettered; c stays queued.
    let a_code = UniqueCode("a".into());
    let claim = ledger
        .claim(&a_code, Duration::from_secs(60))
        .await
        .unwrap();
    let token = claim.token().expect("a fresh code is claimed");
    ledger
        .record_sent(
            Held {
                code: &a_code,
                token,
            },
            &MessageId("ses-a".into()),
        )
        .await
        .unwrap();
    let b = got.iter().find(|r| r.body.contains("\"b\"")).unwrap();
    let failed = sink
        .send_batch(&[DeadLetter {
            source_message_id: b.message_id.clone(),
            body: b.body.clone(),
            reason: DlqReason::UnknownCustomer,
            detail: "no customer with user_id \"1\"".into(),
        }])
        .await;
    assert!(failed.is_empty());
    let done: Vec<String> = got
        .iter()
        .filter(|r| !r.body.contains("\"c\""))
        .map(|r| r.receipt_handle.clone())
        .collect();
    q.delete(done).await.unwrap();
    let r = q
        .db()
        .read(|c| sesload_local::stats::reconcile(c, "camp"))
        .await
        .unwrap();
    assert_eq!(r.accepted, 4);
    assert_eq!(r.sent, 1);
    assert_eq!(r.dlq, 1);
    assert_eq!(r.dlq_by_reason["unknown_customer"], 1);
    assert_eq!(r.duplicate_codes, 1);
    assert_eq!(r.queued, 1, "c and, if not received, nothing else");
    assert_eq!(r.unaccounted, 0, "{r:?}");
    let other = q
        .db()
        .read(|c| sesload_local::stats::reconcile(c, "other"))
        .await
        .unwrap();
    assert_eq!((other.accepted, other.queued, other.unaccounted), (1, 1, 0));
}
