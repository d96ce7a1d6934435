//! Event-source emulator: what the Lambda SQS event source mapping does, on the local queue.
//!
//! - `maximum_concurrency` pollers, each receiving up to `batch_size` records and invoking the
//!   handler with one `SqsEvent` at a time — so at most `maximum_concurrency` invocations run
//!   (`ScalingConfig.MaximumConcurrency`).
//! - Batching window: a poller with a partial batch keeps receiving until the batch is full or
//!   `maximum_batching_window` has passed since its first record (`MaximumBatchingWindowInSeconds`).
//!   The invocation payload is capped at 6 MB like Lambda's.
//! - `ReportBatchItemFailures`: records listed in `batchItemFailures` stay in the queue and become
//!   visible again when their visibility timeout expires (or when the handler changed it); all the
//!   others are deleted. An empty or unknown `itemIdentifier`, a handler error or a panic fails the
//!   whole batch: nothing is deleted.
//! - Function timeout (`function_timeout_seconds`): the handler gets the invocation's deadline in
//!   an [`InvocationContext`] (as `lambda_runtime::Context::deadline`). An invocation still running
//!   at its deadline is abandoned as Lambda abandons it: the handler task is aborted, no response
//!   is read, nothing is deleted, so the whole batch becomes visible again when its visibility
//!   timeout expires (receive counts go up at the next receive); the poller's instance is then
//!   built afresh, as Lambda re-initialises an execution environment after a timeout. Counted in
//!   `invocation_timeouts`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use sesload_core::park_attributes;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::queue::{Queue, Received};

/// Fake ARN of the local source queue (in `eventSourceARN`).
pub const LOCAL_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:sesload-local-queue";
/// Fake ARN of the local poller function (in [`InvocationContext::invoked_function_arn`]).
pub const LOCAL_FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:sesload-local-poller";
/// Lambda's synchronous invocation payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// What an invocation carries besides its event, named as in `lambda_runtime::Context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationContext {
    /// A fresh id per invocation (Lambda's `aws_request_id`).
    pub request_id: String,
    /// When the invocation is abandoned, in milliseconds since the Unix epoch
    /// (`Context::deadline`): start of the invocation + the function timeout.
    pub deadline: u64,
    pub invoked_function_arn: String,
}

impl InvocationContext {
    /// The context of an invocation starting now under `function_timeout`.
    pub fn starting_now(function_timeout: Duration) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            request_id: uuid::Uuid::new_v4().to_string(),
            deadline: u64::try_from((now + function_timeout).as_millis()).unwrap_or(u64::MAX),
            invoked_function_arn: LOCAL_FUNCTION_ARN.to_string(),
        }
    }

    /// The deadline as a time (`Context::deadline()`).
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.deadline)
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }
}

/// The function the mapping invokes (the poller's handler).
pub trait BatchHandler: Send + Sync + 'static {
    fn handle(
        &self,
        event: SqsEvent,
        context: InvocationContext,
    ) -> impl Future<Output = Result<SqsBatchResponse, String>> + Send;
}

/// Event source mapping settings (names as the Terraform variables).
#[derive(Debug, Clone, PartialEq)]
pub struct MappingSettings {
    pub batch_size: usize,
    pub maximum_batching_window: Duration,
    pub maximum_concurrency: usize,
    /// The function timeout (`function_timeout_seconds`): an invocation still running after it
    /// is abandoned.
    pub function_timeout: Duration,
    /// Pause between empty receives (SQS long polling returns as soon as something arrives; we
    /// poll the local table instead).
    pub idle_poll: Duration,
}

impl Default for MappingSettings {
    fn default() -> Self {
        Self {
            batch_size: 10,
            maximum_batching_window: Duration::ZERO,
            maximum_concurrency: 2,
            function_timeout: Duration::from_secs(30),
            idle_poll: Duration::from_millis(20),
        }
    }
}

/// A string message attribute as the SQS event carries it (`stringValue` + `dataType`).
fn message_attribute(data_type: &str, value: String) -> SqsMessageAttribute {
    let mut a = SqsMessageAttribute::default();
    a.string_value = Some(value);
    a.data_type = Some(data_type.to_string());
    a
}

/// Build the `SqsEvent` Lambda would deliver for these records. A parked copy carries its
/// message attributes `sesload_park_count` (`Number`) and `sesload_park_reason` (`String`), as
/// SQS delivers the attributes the parking adapter sent.
pub fn build_event(records: &[Received]) -> SqsEvent {
    let mut ev = SqsEvent::default();
    ev.records = records
        .iter()
        .map(|r| {
            let mut m = SqsMessage::default();
            m.message_id = Some(r.message_id.clone());
            m.receipt_handle = Some(r.receipt_handle.clone());
            m.body = Some(r.body.clone());
            let mut attrs = HashMap::new();
            attrs.insert(
                "ApproximateReceiveCount".to_string(),
                r.receive_count.to_string(),
            );
            attrs.insert("SentTimestamp".to_string(), r.sent_at_ms.to_string());
            attrs.insert(
                "ApproximateFirstReceiveTimestamp".to_string(),
                r.first_receive_at_ms.to_string(),
            );
            attrs.insert("SenderId".to_string(), "sesload-local".to_string());
            m.attributes = attrs;
            if let Some(reason) = &r.park_reason {
                m.message_attributes = HashMap::from([
                    (
                        park_attributes::COUNT.to_string(),
                        message_attribute("Number", r.park_count.to_string()),
                    ),
                    (
                        park_attributes::REASON.to_string(),
                        message_attribute("String", reason.clone()),
                    ),
                ]);
            }
            m.event_source = Some("aws:sqs".to_string());
            m.event_source_arn = Some(LOCAL_QUEUE_ARN.to_string());
            m.aws_region = Some("us-east-1".to_string());
            m
        })
        .collect();
    ev
}

/// What happened to one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Deleted `deleted` records; `failed` were left for redelivery.
    Partial { deleted: usize, failed: usize },
    /// Handler error, panic or invalid response: nothing deleted.
    WholeBatchFailed { why: String },
    /// Still running at the function timeout: abandoned, nothing deleted.
    TimedOut { after: Duration },
}

/// Invoke the handler once on `records` under `function_timeout` and apply the result to the
/// queue as Lambda does.
pub async fn invoke_once<H: BatchHandler>(
    queue: &Queue,
    handler: &Arc<H>,
    records: Vec<Received>,
    function_timeout: Duration,
    metrics: Option<&Metrics>,
) -> BatchOutcome {
    let event = build_event(&records);
    let context = InvocationContext::starting_now(function_timeout);
    let h = Arc::clone(handler);
    let start = Instant::now();
    if let Some(m) = metrics {
        m.concurrency.fetch_add(1, Relaxed);
        Metrics::add(&m.invocations, 1);
    }
    // A spawned task turns a panic into a JoinError instead of unwinding through us, and can be
    // aborted at the deadline.
    let task = tokio::spawn(async move { h.handle(event, context).await });
    let abort = task.abort_handle();
    let result = tokio::time::timeout(function_timeout, task).await;
    if let Some(m) = metrics {
        m.concurrency.fetch_sub(1, Relaxed);
        m.observe_batch_ms(start.elapsed().as_secs_f64() * 1000.0);
    }
    let Ok(result) = result else {
        abort.abort();
        tracing::warn!(
            timeout_ms = function_timeout.as_millis() as u64,
            records = records.len(),
            "invocation timed out and was abandoned; the whole batch becomes visible again after its visibility timeout"
        );
        if let Some(m) = metrics {
            Metrics::add(&m.invocation_timeouts, 1);
            Metrics::add(&m.emails_retried, records.len() as u64);
        }
        return BatchOutcome::TimedOut {
            after: function_timeout,
        };
    };
    let ids: HashSet<&str> = records.iter().map(|r| r.message_id.as_str()).collect();
    let outcome = match result {
        Err(join) => Err(format!("handler panicked: {join}")),
        Ok(Err(e)) => Err(format!("handler returned an error: {e}")),
        Ok(Ok(resp)) => {
            let mut failed = HashSet::new();
            let mut bad = None;
            for f in &resp.batch_item_failures {
                match Some(f.item_identifier.as_str()) {
                    Some(id) if !id.is_empty() && ids.contains(id) => {
                        failed.insert(id.to_string());
                    }
                    other => {
                        bad = Some(format!(
                            "batchItemFailures has an invalid itemIdentifier {other:?}"
                        ));
                        break;
                    }
                }
            }
            match bad {
                Some(why) => Err(why),
                None => Ok(failed),
            }
        }
    };
    match outcome {
        Err(why) => {
            tracing::warn!(%why, records = records.len(), "invocation failed; the whole batch will be retried");
            if let Some(m) = metrics {
                Metrics::add(&m.invocation_errors, 1);
                Metrics::add(&m.emails_retried, records.len() as u64);
            }
            BatchOutcome::WholeBatchFailed { why }
        }
        Ok(failed) => {
            let receipts: Vec<String> = records
                .iter()
                .filter(|r| !failed.contains(&r.message_id))
                .map(|r| r.receipt_handle.clone())
                .collect();
            let n = receipts.len();
            let deleted = if n == 0 {
                0
            } else {
                match queue.delete(receipts).await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::error!(error = %e, "delete after a successful batch failed; records will be redelivered");
                        0
                    }
                }
            };
            if let Some(m) = metrics {
                Metrics::add(&m.records_processed, deleted as u64);
                Metrics::add(&m.emails_retried, failed.len() as u64);
            }
            BatchOutcome::Partial {
                deleted,
                failed: failed.len(),
            }
        }
    }
}

/// Running event source mapping; stop it with [`EventSource::shutdown`].
pub struct EventSource {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl EventSource {
    /// Start `maximum_concurrency` pollers sharing one handler.
    pub fn start<H: BatchHandler>(
        queue: Queue,
        handler: Arc<H>,
        settings: MappingSettings,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        Self::start_with(queue, move |_| Arc::clone(&handler), settings, metrics)
    }

    /// Start `maximum_concurrency` pollers, poller `i` invoking `handler(i)`: one warm Lambda
    /// instance per concurrent invocation, each with its own state (pacer, caches), as on AWS
    /// where every instance paces to its share of the quota. After a timed-out invocation the
    /// poller calls `handler(i)` again: a fresh instance, as Lambda re-initialises the execution
    /// environment.
    pub fn start_with<H: BatchHandler>(
        queue: Queue,
        handler: impl Fn(usize) -> Arc<H> + Send + Sync + 'static,
        settings: MappingSettings,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let factory = Arc::new(handler);
        let tasks = (0..settings.maximum_concurrency.max(1))
            .map(|i| {
                tokio::spawn(poller(
                    queue.clone(),
                    i,
                    Arc::clone(&factory),
                    settings.clone(),
                    metrics.clone(),
                    stop_rx.clone(),
                ))
            })
            .collect();
        Self { stop, tasks }
    }

    /// Stop polling; running invocations finish (bounded by `grace`).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures::future::join_all(self.tasks);
        let _ = tokio::time::timeout(grace, all).await;
    }
}

async fn poller<H: BatchHandler, F: Fn(usize) -> Arc<H>>(
    queue: Queue,
    instance: usize,
    factory: Arc<F>,
    s: MappingSettings,
    metrics: Option<Arc<Metrics>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut handler = factory(instance);
    let mut idle = s.idle_poll;
    loop {
        if *stop.borrow() {
            return;
        }
        let batch = match gather(&queue, &s, &mut stop).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "receive failed");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = stop.changed() => {}
            }
            idle = (idle * 2).min(s.idle_poll * 5);
            continue;
        }
        idle = s.idle_poll;
        let outcome = invoke_once(
            &queue,
            &handler,
            batch,
            s.function_timeout,
            metrics.as_deref(),
        )
        .await;
        if let BatchOutcome::TimedOut { .. } = outcome {
            handler = factory(instance);
        }
    }
}

async fn gather(
    queue: &Queue,
    s: &MappingSettings,
    stop: &mut watch::Receiver<bool>,
) -> Result<Vec<Received>, crate::db::DbError> {
    let mut batch = queue.receive(s.batch_size, None).await?;
    if batch.is_empty() || s.maximum_batching_window.is_zero() {
        return Ok(cap_payload(queue, batch).await);
    }
    let deadline = Instant::now() + s.maximum_batching_window;
    while batch.len() < s.batch_size && Instant::now() < deadline && !*stop.borrow() {
        let more = queue.receive(s.batch_size - batch.len(), None).await?;
        if more.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(left.min(s.idle_poll)).await;
        }
        batch.extend(more);
    }
    Ok(cap_payload(queue, batch).await)
}

/// Keep the batch under Lambda's 6 MB payload; records beyond it are made visible again.
async fn cap_payload(queue: &Queue, mut batch: Vec<Received>) -> Vec<Received> {
    let mut total = 0usize;
    let mut cut = batch.len();
    for (i, r) in batch.iter().enumerate() {
        total += r.body.len() + 512;
        if total > MAX_PAYLOAD_BYTES && i > 0 {
            cut = i;
            break;
        }
    }
    for r in batch.split_off(cut) {
        let _ = queue
            .change_visibility(r.receipt_handle, Duration::ZERO)
            .await;
    }
    batch
}
