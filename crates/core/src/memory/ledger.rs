//! [`MemoryLedger`]: the idempotency ledger in a map, leases on tokio time.

use crate::ports::Held;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::lock;
use crate::model::{MessageId, UniqueCode};
use crate::ports::{Claim, ClaimToken, Ledger, PortError, Recorded};

/// One `unique_code`'s ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The SES message id once the send was recorded.
    pub message_id: Option<MessageId>,
    /// Until when the claim's lease holds (irrelevant once sent).
    pub lease_until: Instant,
    /// How many claims took this code (first claim and reclaims).
    pub attempts: u32,
    /// The token of the claim that holds (or last held) the code.
    pub token: ClaimToken,
}

impl LedgerEntry {
    /// A code recorded as sent with `message_id`.
    pub fn sent(message_id: &str) -> Self {
        Self {
            message_id: Some(MessageId(message_id.to_string())),
            lease_until: Instant::now(),
            attempts: 1,
            token: ClaimToken("earlier".into()),
        }
    }

    /// A code claimed and not sent, its lease running until `lease_until` (in the past: an
    /// expired claim, as a crashed attempt leaves behind).
    pub fn leased_until(lease_until: Instant) -> Self {
        Self {
            message_id: None,
            lease_until,
            attempts: 1,
            token: ClaimToken("earlier".into()),
        }
    }
}

/// [`Ledger`] over a map with the same semantics as the SQLite and DynamoDB ledgers: an atomic
/// claim with a lease and a fresh token, `record_sent` that always records (never replacing a
/// recorded message id), `release` that only gives back the caller's own unsent claim.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: Mutex<HashMap<UniqueCode, LedgerEntry>>,
    unavailable: AtomicBool,
    calls: AtomicUsize,
    tokens: AtomicUsize,
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

    /// Number of calls so far (claims, records, releases and extensions).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn token(&self) -> ClaimToken {
        ClaimToken(format!(
            "memory-{}",
            self.tokens.fetch_add(1, Ordering::SeqCst) + 1
        ))
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
                let token = self.token();
                entries.insert(
                    code.clone(),
                    LedgerEntry {
                        message_id: None,
                        lease_until: now + lease,
                        attempts: 1,
                        token: token.clone(),
                    },
                );
                Ok(Claim::Claimed(token))
            }
            Some(LedgerEntry {
                message_id: Some(id),
                ..
            }) => Ok(Claim::AlreadySent(id.clone())),
            Some(e) if e.lease_until > now => Ok(Claim::InFlight {
                lease_left: e.lease_until - now,
            }),
            Some(e) => {
                let token = self.token();
                e.lease_until = now + lease;
                e.attempts += 1;
                e.token = token.clone();
                Ok(Claim::Reclaimed(token))
            }
        }
    }

    async fn record_sent(&self, held: Held<'_>, id: &MessageId) -> Result<Recorded, PortError> {
        let Held { code, token } = held;
        self.call("ledger.record_sent", code)?;
        // Like the other ledgers: a send is recorded even if its claim row vanished, and a
        // message id already recorded stays.
        let now = Instant::now();
        let mut entries = lock(&self.entries);
        let e = entries.entry(code.clone()).or_insert_with(|| LedgerEntry {
            token: token.clone(),
            ..LedgerEntry::leased_until(now)
        });
        let owned = e.token == *token;
        if e.message_id.is_none() {
            e.message_id = Some(id.clone());
        }
        Ok(if owned {
            Recorded::Owned
        } else {
            Recorded::Superseded
        })
    }

    async fn release(&self, held: Held<'_>) -> Result<(), PortError> {
        let Held { code, token } = held;
        self.call("ledger.release", code)?;
        let mut entries = lock(&self.entries);
        if entries
            .get(code)
            .is_some_and(|e| e.message_id.is_none() && e.token == *token)
        {
            entries.remove(code);
        }
        Ok(())
    }

    async fn extend(&self, held: Held<'_>, lease: Duration) -> Result<bool, PortError> {
        let Held { code, token } = held;
        self.call("ledger.extend", code)?;
        let now = Instant::now();
        let mut entries = lock(&self.entries);
        Ok(match entries.get_mut(code) {
            Some(e) if e.message_id.is_none() && e.token == *token => {
                e.lease_until = now + lease;
                true
            }
            _ => false,
        })
    }
}
