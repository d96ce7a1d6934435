//! Queue semantics: visibility timeout, receive count, redrive to the DLQ, delay, receipt
//! handles, durability across reopen, the ledger and the event-source emulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use sesload_core::{Claim, Ledger, MessageId, UniqueCode};
use sesload_local::emulator::{BatchOutcome, invoke_once};
use sesload_local::queue::{DlqFilter, dlq_list, redrive};
use sesload_local::{
    BatchHandler, Db, EventSource, MappingSettings, Metrics, NewMessage, Queue, QueueSettings,
    SqliteLedger,
};

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sesload-local-test-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn body(code: &str, campaign: &str) -> String {
    serde_json::json!({
        "from": "sender@example.com", "to": "success@simulator.amazonses.com",
        "template_name": "SimpleEmail", "user_id": "1", "unique_code": code,
        "tags": [{"Name": "campaign", "Value": campaign}]
    })
    .to_string()
}

fn queue(dir: &std::path::Path, vis_ms: u64, max_rc: u32) -> Queue {
    let db = Db::open(dir.join("sesload.db")).unwrap();
    Queue::new(
        db,
        QueueSettings {
            visibility_timeout: Duration::from_millis(vis_ms),
            max_receive_count: max_rc,
        },
    )
}

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
async fn ledger_claim_semantics() {
    let dir = tmpdir("ledger");
    let db = Db::open(dir.join("sesload.db")).unwrap();
    let l = SqliteLedger::new(db, None);
    let code = UniqueCode("u1".into());
    assert_eq!(
        l.claim(&code, Duration::from_millis(200)).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        l.claim(&code, Duration::from_millis(200)).await.unwrap(),
        Claim::InFlight
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        l.claim(&code, Duration::from_secs(60)).await.unwrap(),
        Claim::Reclaimed
    );
    l.record_sent(&code, &MessageId("m-1".into()))
        .await
        .unwrap();
    assert_eq!(
        l.claim(&code, Duration::from_secs(60)).await.unwrap(),
        Claim::AlreadySent(MessageId("m-1".into()))
    );
    // release never drops a sent record
    l.release(&code).await.unwrap();
    assert!(matches!(
        l.claim(&code, Duration::from_secs(1)).await.unwrap(),
        Claim::AlreadySent(_)
    ));
    // release of an unsent claim lets the next attempt claim at once
    let c2 = UniqueCode("u2".into());
    assert_eq!(
        l.claim(&c2, Duration::from_secs(60)).await.unwrap(),
        Claim::Claimed
    );
    l.release(&c2).await.unwrap();
    assert_eq!(
        l.claim(&c2, Duration::from_secs(60)).await.unwrap(),
        Claim::Claimed
    );
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
        if t.await.unwrap() == Claim::Claimed {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1);
}

/// Fails records whose body contains "fail", panics on "panic", errors on "error".
struct Scripted {
    calls: AtomicUsize,
}

impl BatchHandler for Scripted {
    async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut resp = SqsBatchResponse::default();
        for r in &event.records {
            let b = r.body.as_deref().unwrap_or("");
            assert_eq!(
                r.event_source_arn.as_deref(),
                Some(sesload_local::emulator::LOCAL_QUEUE_ARN)
            );
            assert!(r.attributes.contains_key("ApproximateReceiveCount"));
            if b.contains("panic") {
                panic!("scripted panic");
            }
            if b.contains("error") {
                return Err("scripted error".into());
            }
            if b.contains("badid") {
                let mut f = BatchItemFailure::default();
                f.item_identifier = "not-in-batch".into();
                resp.batch_item_failures.push(f);
            }
            if b.contains("fail") {
                let mut f = BatchItemFailure::default();
                f.item_identifier = r.message_id.clone().unwrap();
                resp.batch_item_failures.push(f);
            }
        }
        Ok(resp)
    }
}

#[tokio::test]
async fn batch_item_failures_are_retried_others_deleted_and_errors_fail_the_whole_batch() {
    let dir = tmpdir("emu");
    let q = queue(&dir, 200, 10);
    let h = Arc::new(Scripted {
        calls: AtomicUsize::new(0),
    });
    q.send_batch(vec![
        NewMessage::from_body(body("ok1", "k")),
        NewMessage::from_body(body("fail1", "k")),
        NewMessage::from_body(body("ok2", "k")),
    ])
    .await
    .unwrap();
    let recs = q.receive(10, None).await.unwrap();
    let out = invoke_once(&q, &h, recs, None).await;
    assert_eq!(
        out,
        BatchOutcome::Partial {
            deleted: 2,
            failed: 1
        }
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let left = q.receive(10, None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].body.contains("fail1"));
    q.delete(vec![left[0].receipt_handle.clone()])
        .await
        .unwrap();

    for poison in ["panic", "error", "badid"] {
        q.send_batch(vec![
            NewMessage::from_body(body("okA", "k")),
            NewMessage::from_body(body(poison, "k")),
        ])
        .await
        .unwrap();
        let recs = q.receive(10, None).await.unwrap();
        assert_eq!(recs.len(), 2);
        let out = invoke_once(&q, &h, recs, None).await;
        assert!(
            matches!(out, BatchOutcome::WholeBatchFailed { .. }),
            "{poison}: {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let again = q.receive(10, None).await.unwrap();
        assert_eq!(again.len(), 2, "{poison}: nothing deleted");
        q.delete(again.iter().map(|r| r.receipt_handle.clone()).collect())
            .await
            .unwrap();
    }
}

/// Counts concurrent invocations and batch sizes.
struct Slow {
    running: AtomicUsize,
    peak: AtomicUsize,
    max_batch: AtomicUsize,
    seen: AtomicUsize,
}

impl BatchHandler for Slow {
    async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.max_batch
            .fetch_max(event.records.len(), Ordering::SeqCst);
        self.seen.fetch_add(event.records.len(), Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(SqsBatchResponse::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_source_honours_batch_size_and_maximum_concurrency() {
    let dir = tmpdir("esm");
    let q = queue(&dir, 30_000, 5);
    let ms: Vec<_> = (0..200)
        .map(|i| NewMessage::from_body(body(&format!("e{i}"), "k")))
        .collect();
    q.send_batch(ms).await.unwrap();
    let h = Arc::new(Slow {
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        max_batch: AtomicUsize::new(0),
        seen: AtomicUsize::new(0),
    });
    let metrics = Arc::new(Metrics::default());
    let es = EventSource::start(
        q.clone(),
        Arc::clone(&h),
        MappingSettings {
            batch_size: 7,
            maximum_batching_window: Duration::ZERO,
            maximum_concurrency: 3,
            idle_poll: Duration::from_millis(5),
        },
        Some(Arc::clone(&metrics)),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while h.seen.load(Ordering::SeqCst) < 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    es.shutdown(Duration::from_secs(5)).await;
    assert_eq!(h.seen.load(Ordering::SeqCst), 200);
    assert_eq!(h.max_batch.load(Ordering::SeqCst), 7);
    assert_eq!(
        h.peak.load(Ordering::SeqCst),
        3,
        "maximum_concurrency reached, not exceeded"
    );
    assert_eq!(metrics.records_processed.load(Ordering::SeqCst), 200);
    assert!(q.receive(10, None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batching_window_fills_batches() {
    let dir = tmpdir("window");
    let q = queue(&dir, 30_000, 5);
    let h = Arc::new(Slow {
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        max_batch: AtomicUsize::new(0),
        seen: AtomicUsize::new(0),
    });
    let es = EventSource::start(
        q.clone(),
        Arc::clone(&h),
        MappingSettings {
            batch_size: 20,
            maximum_batching_window: Duration::from_millis(800),
            maximum_concurrency: 1,
            idle_poll: Duration::from_millis(5),
        },
        None,
    );
    // Trickle 20 messages over ~400 ms: with the window they arrive as one batch.
    for i in 0..20 {
        q.send(NewMessage::from_body(body(&format!("w{i}"), "k")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.seen.load(Ordering::SeqCst) < 20 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    es.shutdown(Duration::from_secs(5)).await;
    assert_eq!(h.seen.load(Ordering::SeqCst), 20);
    assert_eq!(h.max_batch.load(Ordering::SeqCst), 20);
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
    assert_eq!(
        ledger
            .claim(&a_code, Duration::from_secs(60))
            .await
            .unwrap(),
        Claim::Claimed
    );
    ledger
        .record_sent(&a_code, &MessageId("ses-a".into()))
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
