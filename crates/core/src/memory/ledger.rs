//! [`MemoryLedger`]: the idempotency ledger in a map, leases on tokio time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::lock;
use crate::model::{MessageId, UniqueCode};
use crate::ports::{Claim, Ledger, PortError};

/// One `unique_code`'s ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The SES message id once the send was recorded.
    pub message_id: Option<MessageId>,
    /// Until when the claim's lease holds (irrelevant once sent).
    pub lease_until: Instant,
    /// How many claims took this code (first claim and reclaims).
    pub attempts: u32,
}

impl LedgerEntry {
    /// A code recorded as sent with `message_id`.
    pub fn sent(message_id: &str) -> Self {
        Self {
            message_id: Some(MessageId(message_id.to_string())),
            lease_until: Instant::now(),
            attempts: 1,
        }
    }

    /// A code claimed and not sent, its lease running until `lease_until` (in the past: an
    /// expired claim, as a crashed attempt leaves behind).
    pub fn leased_until(lease_until: Instant) -> Self {
        Self {
            message_id: None,
            lease_until,
            attempts: 1,
        }
    }
}

/// [`Ledger`] over a map with the same semantics as the SQLite and DynamoDB ledgers: an atomic
/// claim with a lease, `record_sent` that always records, `release` that never undoes a send.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: Mutex<HashMap<UniqueCode, LedgerEntry>>,
    unavailable: AtomicBool,
    calls: AtomicUsize,
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry of `code`, if any.
    pub fn entry(&self, code: &str) -> Option<LedgerEntry> {
        lock(&self.entries)
            .get(&UniqueCode(code.to_string()))
            .cloned()
    }

    /// Put an entry as an earlier attempt would have left it.
    pub fn insert(&self, code: &str, entry: LedgerEntry) {
        lock(&self.entries).insert(UniqueCode(code.to_string()), entry);
    }

    /// While `true`, every call fails (a ledger that cannot be reached).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Number of calls so far (claims, records and releases).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn call(&self, operation: &'static str, code: &UniqueCode) -> Result<(), PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new(
                operation,
                format!("{code}: in-memory ledger made unavailable"),
            ));
        }
        Ok(())
    }
}

impl Ledger for MemoryLedger {
    async fn claim(&self, code: &UniqueCode, lease: Duration) -> Result<Claim, PortError> {
        self.call("ledger.claim", code)?;
        let now = Instant::now();
        let mut entries = lock(&self.entries);
        match entries.get_mut(code) {
            None => {
                entries.insert(
                    code.clone(),
                    LedgerEntry {
                        message_id: None,
                        lease_until: now + lease,
                        attempts: 1,
                    },
                );
                Ok(Claim::Claimed)
            }
            Some(LedgerEntry {
                message_id: Some(id),
                ..
            }) => Ok(Claim::AlreadySent(id.clone())),
            Some(e) if e.lease_until > now => Ok(Claim::InFlight),
            Some(e) => {
                e.lease_until = now + lease;
                e.attempts += 1;
                Ok(Claim::Reclaimed)
            }
        }
    }

    async fn record_sent(
        &self,
        code: &UniqueCode,
        message_id: &MessageId,
    ) -> Result<(), PortError> {
        self.call("ledger.record_sent", code)?;
        // Like the other ledgers: a send is recorded even if its claim row vanished.
        let now = Instant::now();
        lock(&self.entries)
            .entry(code.clone())
            .or_insert_with(|| LedgerEntry::leased_until(now))
            .message_id = Some(message_id.clone());
        Ok(())
    }

    async fn release(&self, code: &UniqueCode) -> Result<(), PortError> {
        self.call("ledger.release", code)?;
        let mut entries = lock(&self.entries);
        if entries.get(code).is_some_and(|e| e.message_id.is_none()) {
            entries.remove(code);
        }
        Ok(())
    }
}
