//! The [`DeadLetterSink`] and [`VisibilityControl`] contracts.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::run_prefix;
use crate::model::{DeadLetter, DlqReason};
use crate::ports::{DeadLetterSink, VisibilityControl};

/// A dead letter's `detail` is kept at least this long (SQS message attributes are cut there).
pub const DETAIL_KEPT_CHARS: usize = 1024;

/// 23 letters (more than two SQS batches of 10): every reason, bodies that are JSON with
/// accents and emoji, not JSON at all, multi-line, with URL and XML metacharacters, 10 KB
/// long; details up to 2,000 characters. Source ids start with a fresh [`run_prefix`].
pub fn dead_letter_fixture() -> Vec<DeadLetter> {
    let prefix = run_prefix("dlq");
    let bodies = [
        r#"{"from":"sender@example.com","to":"zoë@simulator.amazonses.com","user_id":"7","unique_code":"ü-1"}"#.to_string(),
        "{oops".to_string(),
        "line one\nline two\r\n\ttabbed".to_string(),
        "a & b + c % d <e/> \"quoted\" 'single' 😀".to_string(),
        format!(r#"{{"padding":"{}"}}"#, "x".repeat(10_000)),
    ];
    (0..23)
        .map(|i| DeadLetter {
            source_message_id: format!("{prefix}-{i:02}"),
            body: bodies[i % bodies.len()].clone(),
            reason: DlqReason::ALL[i % DlqReason::ALL.len()],
            detail: match i % 3 {
                0 => format!("recipient domain \"gmail.com\" is not allowed (letter {i})"),
                1 => format!("détail ünïcode {i} — {}", "é".repeat(30)),
                _ => format!("{i}: {}", "long detail ".repeat(170)),
            },
        })
        .collect()
}

/// Run the dead-letter cases: write [`dead_letter_fixture`] (and an empty batch), then call
/// `written` once: it must return every letter the sink holds (nothing else was written to it).
pub async fn dead_letter_sink<S, F, Fut>(sink: &S, written: F)
where
    S: DeadLetterSink,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Vec<DeadLetter>>,
{
    let failed = sink.send_batch(&[]).await;
    assert!(
        failed.is_empty(),
        "dead-letter contract, empty batch: reported {failed:?}"
    );
    let letters = dead_letter_fixture();
    let failed = sink.send_batch(&letters).await;
    assert!(
        failed.is_empty(),
        "dead-letter contract, write 23 letters: reported {failed:?} as not written"
    );
    let got = written().await;
    assert_eq!(
        got.len(),
        letters.len(),
        "dead-letter contract, read back: {:?}",
        got.iter().map(|l| &l.source_message_id).collect::<Vec<_>>()
    );
    for want in &letters {
        let id = &want.source_message_id;
        let l = got
            .iter()
            .find(|l| l.source_message_id == *id)
            .unwrap_or_else(|| panic!("dead-letter contract: letter {id} was not written"));
        assert_eq!(
            l.body, want.body,
            "dead-letter contract, {id}: body changed"
        );
        assert_eq!(
            l.reason, want.reason,
            "dead-letter contract, {id}: reason changed"
        );
        let kept: String = want.detail.chars().take(DETAIL_KEPT_CHARS).collect();
        assert!(
            l.detail.starts_with(&kept) && want.detail.starts_with(&l.detail),
            "dead-letter contract, {id}: detail {:?} is not {:?} (whole, or cut after at least {DETAIL_KEPT_CHARS} characters)",
            l.detail,
            want.detail
        );
    }
}

/// A sink that cannot write reports every letter back (so the records are retried, never
/// dropped).
pub async fn unavailable_dead_letter_sink<S: DeadLetterSink>(sink: &S) {
    let letters = dead_letter_fixture();
    let failed: HashSet<String> = sink.send_batch(&letters).await.into_iter().collect();
    let want: HashSet<String> = letters.into_iter().map(|l| l.source_message_id).collect();
    assert_eq!(
        failed, want,
        "dead-letter contract, unavailable sink: every letter must be reported back"
    );
}

/// The queue behind a [`VisibilityControl`], as the contract needs to see it.
pub trait QueueProbe: Send + Sync {
    /// Put a message with `body` on the queue and receive it (hidden for the queue's
    /// visibility timeout, 30 s or more): its receipt handle.
    fn receive_new(&self, body: &str) -> impl Future<Output = String> + Send;
    /// Receive what is visible now: the bodies.
    fn receive_visible(&self) -> impl Future<Output = Vec<String>> + Send;
}

/// Run the visibility cases: a long delay hides a received message, a short one brings it
/// back after (not before) the delay, and an unknown receipt handle is an error.
pub async fn visibility_control<V: VisibilityControl, Q: QueueProbe>(vis: &V, queue: &Q) {
    let prefix = run_prefix("visibility");

    let hidden = format!("{prefix}-hidden");
    let h = queue.receive_new(&hidden).await;
    vis.delay(&h, Duration::from_secs(600))
        .await
        .unwrap_or_else(|e| panic!("visibility contract, long delay: {e}"));
    assert!(
        !queue.receive_visible().await.contains(&hidden),
        "visibility contract, long delay: the message is visible"
    );

    let back = format!("{prefix}-back");
    let delay = Duration::from_secs(1);
    let h = queue.receive_new(&back).await;
    let t0 = Instant::now();
    vis.delay(&h, delay)
        .await
        .unwrap_or_else(|e| panic!("visibility contract, short delay: {e}"));
    let mut seen = None;
    while t0.elapsed() < delay + Duration::from_secs(4) {
        if queue.receive_visible().await.contains(&back) {
            seen = Some(t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen =
        seen.expect("visibility contract, short delay: not visible again 5 s after a 1 s delay");
    assert!(
        seen >= delay - Duration::from_millis(20),
        "visibility contract, short delay: visible again after {seen:?}, before the {delay:?} delay"
    );
    assert!(
        !queue.receive_visible().await.contains(&hidden),
        "visibility contract, long delay: the message came back within seconds"
    );

    let unknown = format!("{prefix}-no-such-receipt");
    let e = vis.delay(&unknown, delay).await;
    assert!(
        e.is_err(),
        "visibility contract, unknown receipt handle: accepted"
    );
}
