//! The event-source emulator: partial batch responses, whole-batch failures, batch size,
//! maximum concurrency, the batching window and the function timeout.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use sesload_local::emulator::{BatchOutcome, invoke_once};
use sesload_local::{
    BatchHandler, EventSource, InvocationContext, MappingSettings, Metrics, NewMessage, Queue,
};

mod common;
use common::{body, queue, tmpdir};

/// A function timeout no test handler below reaches unless it means to.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Fails records whose body contains "fail", panics on "panic", errors on "error".
struct Scripted {
    calls: AtomicUsize,
}

impl BatchHandler for Scripted {
    async fn handle(
        &self,
        event: SqsEvent,
        _context: InvocationContext,
    ) -> Result<SqsBatchResponse, String> {
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
    let out = invoke_once(&q, &h, recs, TIMEOUT, None).await;
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
        let out = invoke_once(&q, &h, recs, TIMEOUT, None).await;
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
    async fn handle(
        &self,
        event: SqsEvent,
        _context: InvocationContext,
    ) -> Result<SqsBatchResponse, String> {
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
            function_timeout: TIMEOUT,
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
            function_timeout: TIMEOUT,
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

async fn queued(q: &Queue, campaign: &str) -> i64 {
    let campaign = campaign.to_string();
    q.db()
        .read(move |c| sesload_local::stats::campaign_queued(c, &campaign))
        .await
        .unwrap()
}

/// Sleeps `sleep` per invocation and notes what it was given.
struct Sleepy {
    sleep: Duration,
    finished: AtomicBool,
    receive_counts: Mutex<Vec<String>>,
    remaining_at_start: Mutex<Vec<Duration>>,
}

impl Sleepy {
    fn new(sleep: Duration) -> Self {
        Self {
            sleep,
            finished: AtomicBool::new(false),
            receive_counts: Mutex::new(Vec::new()),
            remaining_at_start: Mutex::new(Vec::new()),
        }
    }
}

impl BatchHandler for Sleepy {
    async fn handle(
        &self,
        event: SqsEvent,
        context: InvocationContext,
    ) -> Result<SqsBatchResponse, String> {
        self.remaining_at_start
            .lock()
            .unwrap()
            .push(context.remaining());
        self.receive_counts.lock().unwrap().extend(
            event
                .records
                .iter()
                .map(|r| r.attributes["ApproximateReceiveCount"].clone()),
        );
        tokio::time::sleep(self.sleep).await;
        self.finished.store(true, Ordering::SeqCst);
        Ok(SqsBatchResponse::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_past_the_function_timeout_is_abandoned_and_its_batch_redelivered() {
    let dir = tmpdir("timeout");
    let q = queue(&dir, 400, 5);
    q.send_batch(
        (0..3)
            .map(|i| NewMessage::from_body(body(&format!("t{i}"), "slow")))
            .collect(),
    )
    .await
    .unwrap();
    let metrics = Metrics::default();
    let slow = Arc::new(Sleepy::new(Duration::from_millis(1_500)));
    let timeout = Duration::from_millis(200);
    let recs = q.receive(10, None).await.unwrap();
    let received_at = Instant::now();
    let out = invoke_once(&q, &slow, recs, timeout, Some(&metrics)).await;
    assert_eq!(out, BatchOutcome::TimedOut { after: timeout });
    let remaining = slow.remaining_at_start.lock().unwrap()[0];
    assert!(
        remaining <= timeout && remaining > Duration::ZERO,
        "the handler sees the invocation's deadline: {remaining:?} left of {timeout:?}"
    );
    assert_eq!(metrics.invocation_timeouts.load(Ordering::SeqCst), 1);
    assert_eq!(metrics.invocation_errors.load(Ordering::SeqCst), 0);
    assert_eq!(metrics.records_processed.load(Ordering::SeqCst), 0);
    assert_eq!(queued(&q, "slow").await, 3, "nothing deleted");
    assert!(
        q.receive(10, None).await.unwrap().is_empty(),
        "hidden until the visibility timeout"
    );
    tokio::time::sleep(Duration::from_millis(400).saturating_sub(received_at.elapsed())).await;
    let again = q.receive(10, None).await.unwrap();
    assert_eq!(again.len(), 3, "the whole batch is redelivered");
    assert!(again.iter().all(|r| r.receive_count == 2), "{again:?}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !slow.finished.load(Ordering::SeqCst),
        "the abandoned handler was aborted, not left running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_source_replaces_a_timed_out_instance_and_the_records_arrive_with_receive_count_2()
 {
    let dir = tmpdir("timeout-esm");
    let q = queue(&dir, 400, 5);
    q.send_batch(
        (0..4)
            .map(|i| NewMessage::from_body(body(&format!("r{i}"), "slow")))
            .collect(),
    )
    .await
    .unwrap();
    // Instance 1 is slower than the timeout; instance 2 (after the reset) is quick.
    let instances = Arc::new(Mutex::new(Vec::<Arc<Sleepy>>::new()));
    let made = Arc::clone(&instances);
    let metrics = Arc::new(Metrics::default());
    let es = EventSource::start_with(
        q.clone(),
        move |_| {
            let mut v = made.lock().unwrap();
            let sleep = if v.is_empty() { 5_000 } else { 1 };
            let h = Arc::new(Sleepy::new(Duration::from_millis(sleep)));
            v.push(Arc::clone(&h));
            h
        },
        MappingSettings {
            batch_size: 10,
            maximum_batching_window: Duration::ZERO,
            maximum_concurrency: 1,
            function_timeout: Duration::from_millis(200),
            idle_poll: Duration::from_millis(5),
        },
        Some(Arc::clone(&metrics)),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while queued(&q, "slow").await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    es.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        queued(&q, "slow").await,
        0,
        "delivered by the fresh instance"
    );
    let instances = instances.lock().unwrap();
    assert_eq!(instances.len(), 2, "one reset after the timeout");
    assert_eq!(*instances[0].receive_counts.lock().unwrap(), vec!["1"; 4]);
    assert_eq!(*instances[1].receive_counts.lock().unwrap(), vec!["2"; 4]);
    assert_eq!(metrics.invocation_timeouts.load(Ordering::SeqCst), 1);
    assert_eq!(metrics.records_processed.load(Ordering::SeqCst), 4);
}
