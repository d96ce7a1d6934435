//! The [`Parking`] contract: a parked record comes back on its source queue as a new message,
//! after its delay, with its body unchanged and its park reason and count as message
//! attributes; the original does not come back; a queue that cannot take the copies reports
//! every record back.
//!
//! The case drives the queue as the event source mapping does: it receives the originals
//! (hidden for [`ORIGINAL_HIDDEN`]), parks them, then acknowledges them (deletes them by
//! receipt handle, as a record missing from `batchItemFailures` is deleted). A queue that parks
//! atomically has already deleted them; the acknowledgement then finds nothing.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::run_prefix;
use crate::model::{ParkReason, ParkedRecord};
use crate::ports::Parking;

/// How long the probe hides the originals it receives: shorter than [`PARK_DELAY`], so that an
/// original the park left behind would come back while the case watches.
pub const ORIGINAL_HIDDEN: Duration = Duration::from_secs(2);
/// The parked copies' delay (whole seconds: SQS counts `DelaySeconds`).
pub const PARK_DELAY: Duration = Duration::from_secs(3);
/// Records parked in one call: more than one SQS `SendMessageBatch` of 10.
pub const PARKED_RECORDS: usize = 12;
/// How long after [`PARK_DELAY`] the case waits for every copy.
const GRACE: Duration = Duration::from_secs(4);
/// Slack for a store's clock and whole-second delays, below the delay.
const EARLY: Duration = Duration::from_millis(100);

/// A message received from the queue behind a [`Parking`] adapter, with its park attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub message_id: String,
    pub body: String,
    /// Message attribute `sesload_park_reason` (absent on a message never parked).
    pub park_reason: Option<String>,
    /// Message attribute `sesload_park_count` (0 when absent).
    pub park_count: u32,
}

/// The queue behind a [`Parking`] adapter, as the contract needs to see it. The queue is used
/// by this case alone.
pub trait ParkingProbe: Send + Sync {
    /// Put one message per body on the queue and receive them all, each hidden for
    /// [`ORIGINAL_HIDDEN`]: `(message id, receipt handle)` per body, in order.
    fn receive_new(&self, bodies: &[String]) -> impl Future<Output = Vec<(String, String)>> + Send;
    /// Delete a received message by receipt handle, as the event source does with a record its
    /// handler did not report as failed (a handle that is no longer current deletes nothing).
    fn acknowledge(&self, receipt_handle: &str) -> impl Future<Output = ()> + Send;
    /// Receive what is visible now (hidden afterwards for 30 s or more).
    fn receive_visible(&self) -> impl Future<Output = Vec<QueuedMessage>> + Send;
}

/// Run the parking cases against `parking` and the queue behind it.
pub async fn parking<P: Parking, Q: ParkingProbe>(parking: &P, queue: &Q) {
    let failed = parking.park(&[]).await;
    assert!(
        failed.is_empty(),
        "parking contract, empty call: reported {failed:?}"
    );
    copies_come_back_after_their_delay_and_originals_do_not(parking, queue).await;
}

/// One record per received message: every reason, park counts 1 to 3, the delay
/// [`PARK_DELAY`].
fn records(received: &[(String, String)], bodies: &[String]) -> Vec<ParkedRecord> {
    received
        .iter()
        .zip(bodies)
        .enumerate()
        .map(|(i, ((id, handle), body))| ParkedRecord {
            source_message_id: id.clone(),
            receipt_handle: handle.clone(),
            body: body.clone(),
            reason: ParkReason::ALL[i % ParkReason::ALL.len()],
            delay: PARK_DELAY,
            park_count: (i % 3) as u32 + 1,
        })
        .collect()
}

/// [`PARKED_RECORDS`] bodies containing `prefix`: JSON with accents, several lines, markup and
/// emoji, 4 KB.
fn bodies(prefix: &str) -> Vec<String> {
    (0..PARKED_RECORDS)
        .map(|i| match i % 4 {
            0 => format!(
                r#"{{"to":"zoë@simulator.amazonses.com","user_id":"7","unique_code":"{prefix}-{i}"}}"#
            ),
            1 => format!("{prefix}-{i} line one\nline two\r\n\ttabbed"),
            2 => format!("{prefix}-{i} a & b + c % d <e/> \"quoted\" 😀"),
            _ => format!(r#"{{"unique_code":"{prefix}-{i}","padding":"{}"}}"#, "x".repeat(4_000)),
        })
        .collect()
}

async fn copies_come_back_after_their_delay_and_originals_do_not<P: Parking, Q: ParkingProbe>(
    parking: &P,
    queue: &Q,
) {
    let case = "copies_come_back_after_their_delay_and_originals_do_not";
    let prefix = run_prefix("parking");
    let bodies = bodies(&prefix);
    let received = queue.receive_new(&bodies).await;
    assert_eq!(
        received.len(),
        bodies.len(),
        "parking contract, {case}: the probe received {} of {} originals",
        received.len(),
        bodies.len()
    );
    let records = records(&received, &bodies);
    let t0 = Instant::now();
    let failed = parking.park(&records).await;
    assert!(
        failed.is_empty(),
        "parking contract, {case}: reported {failed:?} as not parked"
    );
    for (_, handle) in &received {
        queue.acknowledge(handle).await;
    }
    let ours = |m: &QueuedMessage| m.body.contains(&prefix);
    let early: Vec<QueuedMessage> = queue
        .receive_visible()
        .await
        .into_iter()
        .filter(ours)
        .collect();
    assert!(
        early.is_empty() || t0.elapsed() >= PARK_DELAY - EARLY,
        "parking contract, {case}: visible right after the park, before the {PARK_DELAY:?} delay: {early:?}"
    );

    let mut seen: HashMap<String, Vec<(QueuedMessage, Duration)>> = HashMap::new();
    for m in early {
        seen.entry(m.body.clone())
            .or_default()
            .push((m, t0.elapsed()));
    }
    // Watch until every copy came back and then some more: past ORIGINAL_HIDDEN and
    // PARK_DELAY, so a left-behind original or a second copy would show.
    let mut complete_at = None;
    while t0.elapsed() < PARK_DELAY + GRACE {
        for m in queue.receive_visible().await.into_iter().filter(ours) {
            let at = t0.elapsed();
            seen.entry(m.body.clone()).or_default().push((m, at));
        }
        if complete_at.is_none() && seen.len() == records.len() {
            complete_at = Some(t0.elapsed());
        }
        if complete_at.is_some_and(|c| t0.elapsed() >= c + Duration::from_secs(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for r in &records {
        let label = &r.source_message_id;
        let copies = seen.get(&r.body).map(Vec::as_slice).unwrap_or_default();
        let [(copy, at)] = copies else {
            panic!(
                "parking contract, {case}: record {label} came back {} times within {:?} (want exactly once: the copy, not the original): {copies:?}",
                copies.len(),
                PARK_DELAY + GRACE
            );
        };
        assert!(
            *at >= PARK_DELAY - EARLY,
            "parking contract, {case}: record {label} came back after {at:?}, before its {PARK_DELAY:?} delay"
        );
        assert_ne!(
            copy.message_id, r.source_message_id,
            "parking contract, {case}: the copy of {label} must be a new message"
        );
        assert_eq!(
            copy.park_reason.as_deref(),
            Some(r.reason.code()),
            "parking contract, {case}: park reason of the copy of {label}"
        );
        assert_eq!(
            copy.park_count, r.park_count,
            "parking contract, {case}: park count of the copy of {label}"
        );
    }
    assert_eq!(
        seen.len(),
        records.len(),
        "parking contract, {case}: messages that were never parked came back"
    );
}

/// A queue that cannot take the copies reports every record back (they are then retried as
/// batch item failures, never dropped). The receipt handles are made up: nothing was received.
pub async fn unavailable_parking<P: Parking>(parking: &P) {
    let prefix = run_prefix("parking-down");
    let received: Vec<(String, String)> = (0..PARKED_RECORDS)
        .map(|i| (format!("{prefix}-id-{i}"), format!("{prefix}-handle-{i}")))
        .collect();
    let records = records(&received, &bodies(&prefix));
    let mut failed = parking.park(&records).await;
    failed.sort();
    let mut want: Vec<String> = records.into_iter().map(|r| r.source_message_id).collect();
    want.sort();
    assert_eq!(
        failed, want,
        "parking contract, unavailable queue: every record must be reported back, once"
    );
}
