//! The queue-side ports in memory: [`MemoryDeadLetters`] and [`MemoryVisibility`].

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::lock;
use crate::model::DeadLetter;
use crate::ports::{DeadLetterSink, PortError, VisibilityControl};

/// [`DeadLetterSink`] keeping every letter. It can refuse chosen records, or all of them,
/// and then reports them back like the real sinks do.
#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<Vec<DeadLetter>>,
    refused: Mutex<HashSet<String>>,
    unavailable: AtomicBool,
}

impl MemoryDeadLetters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuse to write the letters of these source message ids.
    pub fn refuse(&self, source_message_ids: impl IntoIterator<Item = impl Into<String>>) {
        lock(&self.refused).extend(source_message_ids.into_iter().map(Into::into));
    }

    /// While `true`, every write fails.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Every letter written, in order.
    pub fn letters(&self) -> Vec<DeadLetter> {
        lock(&self.letters).clone()
    }
}

impl DeadLetterSink for MemoryDeadLetters {
    async fn send_batch(&self, letters: &[DeadLetter]) -> Vec<String> {
        let unavailable = self.unavailable.load(Ordering::SeqCst);
        let refused = lock(&self.refused);
        let mut written = lock(&self.letters);
        let mut failed = Vec::new();
        for l in letters {
            if unavailable || refused.contains(&l.source_message_id) {
                failed.push(l.source_message_id.clone());
            } else {
                written.push(l.clone());
            }
        }
        failed
    }
}

/// One `delay` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityChange {
    pub receipt_handle: String,
    pub delay: Duration,
    /// When the call was made (tokio time).
    pub at: Instant,
}

/// [`VisibilityControl`] recording every change. By default every receipt handle is current;
/// [`issued_only`](Self::issued_only) makes it accept only the handles given to
/// [`issue`](Self::issue), like a queue that knows which receives it handed out.
#[derive(Debug, Default)]
pub struct MemoryVisibility {
    changes: Mutex<Vec<VisibilityChange>>,
    /// `None`: every handle is current.
    issued: Mutex<Option<HashSet<String>>>,
    hidden_until: Mutex<HashMap<String, Instant>>,
    unavailable: AtomicBool,
}

impl MemoryVisibility {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept only handles passed to [`issue`](Self::issue).
    pub fn issued_only() -> Self {
        let v = Self::default();
        *lock(&v.issued) = Some(HashSet::new());
        v
    }

    /// Make `receipt_handle` current (what a receive does).
    pub fn issue(&self, receipt_handle: &str) {
        if let Some(issued) = lock(&self.issued).as_mut() {
            issued.insert(receipt_handle.to_string());
        }
    }

    /// While `true`, every call fails.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Every accepted change, in order.
    pub fn changes(&self) -> Vec<VisibilityChange> {
        lock(&self.changes).clone()
    }

    /// Until when the last change hides the message of `receipt_handle`.
    pub fn hidden_until(&self, receipt_handle: &str) -> Option<Instant> {
        lock(&self.hidden_until).get(receipt_handle).copied()
    }
}

impl VisibilityControl for MemoryVisibility {
    async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "queue.change_visibility",
                format!("receipt handle {receipt_handle:?}: in-memory queue made unavailable"),
            ));
        }
        if lock(&self.issued)
            .as_ref()
            .is_some_and(|issued| !issued.contains(receipt_handle))
        {
            return Err(PortError::new(
                "queue.change_visibility",
                format!("receipt handle {receipt_handle:?} was never issued by this queue"),
            ));
        }
        let at = Instant::now();
        lock(&self.hidden_until).insert(receipt_handle.to_string(), at + delay);
        lock(&self.changes).push(VisibilityChange {
            receipt_handle: receipt_handle.to_string(),
            delay,
            at,
        });
        Ok(())
    }
}
