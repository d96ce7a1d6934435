//! Local (SQLite) adapters for the core ports, with the same semantics as the DynamoDB / SQS
//! ones in `sesload-aws`:
//!
//! - [`SqliteCustomerStore`]: `customers(user_id, attributes JSON)`; one `SELECT ... IN (...)`
//!   per batch (the `BatchGetItem`).
//! - [`SqliteLedger`]: `ledger(unique_code PK, message_id, lease_until)`; `claim` is one atomic
//!   conditional write in the writer's transaction (DynamoDB `PutItem` with
//!   `attribute_not_exists(unique_code) OR (attribute_not_exists(message_id) AND lease_until <= :now)`).
//!   `claim_many` / `record_sent_many` (a bulk call's entries) run the same decisions for every
//!   entry in one writer job, so a call costs one write, not one per entry.
//! - [`LocalDeadLetterSink`]: rows in `dlq` with reason/detail (the SQS DLQ with message attributes).
//! - [`LocalVisibility`]: `ChangeMessageVisibility` on the local queue.

use sesload_core::Held;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use sesload_core::{
    Claim, ClaimToken, Customer, DeadLetter, DeadLetterSink, Ledger, MessageId, PortError,
    Recorded, UniqueCode, UserId, VisibilityControl,
};

use crate::db::{Db, DbError, dur_ms, now_ms};
use crate::metrics::Metrics;
use crate::queue::{NewDeadLetter, Queue};

fn port_err(op: &'static str) -> impl FnOnce(DbError) -> PortError {
    move |e| PortError::new(op, e.to_string())
}

/// Customer store on SQLite.
#[derive(Clone)]
pub struct SqliteCustomerStore {
    db: Db,
    metrics: Option<Arc<Metrics>>,
}

impl SqliteCustomerStore {
    pub fn new(db: Db, metrics: Option<Arc<Metrics>>) -> Self {
        Self { db, metrics }
    }
}

impl sesload_core::CustomerStore for SqliteCustomerStore {
    async fn batch_get(&self, ids: &[UserId]) -> Result<HashMap<UserId, Customer>, PortError> {
        if let Some(m) = &self.metrics {
            Metrics::add(&m.customer_lookups, ids.len() as u64);
        }
        let ids: Vec<String> = ids.iter().map(|i| i.0.clone()).collect();
        self.db
            .read(move |c| {
                let mut out = HashMap::new();
                for chunk in ids.chunks(100) {
                    let placeholders = vec!["?"; chunk.len()].join(",");
                    let sql = format!(
                        "SELECT user_id, attributes FROM customers WHERE user_id IN ({placeholders})"
                    );
                    let mut stmt = c.prepare_cached(&sql).map_err(DbError::sql("customers"))?;
                    let rows = stmt
                        .query_map(rusqlite::params_from_iter(chunk.iter()), |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                        })
                        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                        .map_err(DbError::sql("customers"))?;
                    for (id, attrs) in rows {
                        let attributes = serde_json::from_str(&attrs).map_err(|e| DbError::Sqlite {
                            op: "customers",
                            message: format!("customer {id:?} has invalid attributes JSON: {e}"),
                        })?;
                        out.insert(
                            UserId(id.clone()),
                            Customer {
                                user_id: UserId(id),
                                attributes,
                            },
                        );
                    }
                }
                Ok(out)
            })
            .await
            .map_err(port_err("customers.batch_get"))
    }
}

/// Idempotency ledger on SQLite.
#[derive(Clone)]
pub struct SqliteLedger {
    db: Db,
    metrics: Option<Arc<Metrics>>,
}

impl SqliteLedger {
    pub fn new(db: Db, metrics: Option<Arc<Metrics>>) -> Self {
        Self { db, metrics }
    }
}

/// The claim decision, in one transaction (the writer's). Public for tests and tools.
/// `token` is the fencing token a claim that takes the code stores.
pub fn claim_tx(
    c: &rusqlite::Connection,
    code: &str,
    token: &str,
    lease_ms: i64,
    now: i64,
) -> Result<Claim, DbError> {
    let row: Option<(Option<String>, i64)> = c
        .prepare_cached("SELECT message_id, lease_until FROM ledger WHERE unique_code = ?1")
        .and_then(|mut s| {
            s.query_row(params![code], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(DbError::sql("ledger claim"))?;
    let token_out = || ClaimToken(token.to_string());
    match row {
        None => {
            c.prepare_cached(
                "INSERT INTO ledger(unique_code, lease_until, attempts, claimed_at, token) VALUES (?1, ?2, 1, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![code, now + lease_ms, now, token]))
            .map_err(DbError::sql("ledger claim"))?;
            Ok(Claim::Claimed(token_out()))
        }
        Some((Some(mid), _)) => Ok(Claim::AlreadySent(MessageId(mid))),
        Some((None, lease_until)) if lease_until > now => Ok(Claim::InFlight {
            lease_left: Duration::from_millis((lease_until - now) as u64),
        }),
        Some((None, _)) => {
            c.prepare_cached(
                "UPDATE ledger SET lease_until = ?2, attempts = attempts + 1, claimed_at = ?3, token = ?4 WHERE unique_code = ?1",
            )
            .and_then(|mut s| s.execute(params![code, now + lease_ms, now, token]))
            .map_err(DbError::sql("ledger claim"))?;
            Ok(Claim::Reclaimed(token_out()))
        }
    }
}

/// The record decision, in one transaction (the writer's): an upsert, so that a send is never
/// lost even if the claim row vanished; a message id already recorded stays (the first send
/// recorded wins). `Superseded` when another token holds the claim.
fn record_tx(
    c: &rusqlite::Connection,
    code: &str,
    token: &str,
    mid: &str,
    now: i64,
) -> Result<Recorded, DbError> {
    let held: Option<String> = c
        .prepare_cached("SELECT token FROM ledger WHERE unique_code = ?1")
        .and_then(|mut s| s.query_row(params![code], |r| r.get(0)).optional())
        .map_err(DbError::sql("ledger record_sent"))?;
    c.prepare_cached(
        "INSERT INTO ledger(unique_code, message_id, lease_until, attempts, claimed_at, sent_at, token)
         VALUES (?1, ?2, 0, 1, ?3, ?3, ?4)
         ON CONFLICT(unique_code) DO UPDATE SET
           message_id = coalesce(message_id, excluded.message_id),
           sent_at = coalesce(sent_at, excluded.sent_at)",
    )
    .and_then(|mut s| s.execute(params![code, mid, now, token]))
    .map_err(DbError::sql("ledger record_sent"))?;
    Ok(match held {
        Some(t) if t != token => Recorded::Superseded,
        _ => Recorded::Owned,
    })
}

impl Ledger for SqliteLedger {
    async fn claim(&self, code: &UniqueCode, lease: Duration) -> Result<Claim, PortError> {
        let code = code.0.clone();
        let lease_ms = dur_ms(lease);
        let token = uuid::Uuid::new_v4().simple().to_string();
        let claim = self
            .db
            .write(move |c| claim_tx(c, &code, &token, lease_ms, now_ms()))
            .await
            .map_err(port_err("ledger.claim"))?;
        if let Some(m) = &self.metrics {
            match claim {
                Claim::AlreadySent(_) => Metrics::add(&m.duplicates_skipped, 1),
                Claim::Reclaimed(_) => Metrics::add(&m.ambiguous_retries, 1),
                _ => {}
            }
        }
        Ok(claim)
    }

    async fn record_sent(&self, held: Held<'_>, id: &MessageId) -> Result<Recorded, PortError> {
        let Held { code, token } = held;
        let code = code.0.clone();
        let token = token.0.clone();
        let mid = id.0.clone();
        self.db
            .write(move |c| record_tx(c, &code, &token, &mid, now_ms()))
            .await
            .map_err(port_err("ledger.record_sent"))
    }

    /// Every code claimed in ONE job of the writer (one savepoint in its group commit), each
    /// with [`claim_tx`]'s decision: a bulk call's entries cost one write, not one each. A
    /// failing statement rolls the job back, so every code answers that error and none is
    /// claimed.
    async fn claim_many(
        &self,
        codes: &[UniqueCode],
        lease: Duration,
    ) -> Vec<Result<Claim, PortError>> {
        let n = codes.len();
        let rows: Vec<(String, String)> = codes
            .iter()
            .map(|c| (c.0.clone(), uuid::Uuid::new_v4().simple().to_string()))
            .collect();
        let lease_ms = dur_ms(lease);
        let claims = self
            .db
            .write(move |c| {
                let now = now_ms();
                rows.iter()
                    .map(|(code, token)| claim_tx(c, code, token, lease_ms, now))
                    .collect::<Result<Vec<Claim>, DbError>>()
            })
            .await
            .map_err(port_err("ledger.claim_many"));
        match claims {
            Ok(claims) => {
                if let Some(m) = &self.metrics {
                    for claim in &claims {
                        match claim {
                            Claim::AlreadySent(_) => Metrics::add(&m.duplicates_skipped, 1),
                            Claim::Reclaimed(_) => Metrics::add(&m.ambiguous_retries, 1),
                            _ => {}
                        }
                    }
                }
                claims.into_iter().map(Ok).collect()
            }
            Err(e) => vec![Err(e); n],
        }
    }

    /// Every send recorded in ONE job of the writer, each with [`record_tx`]'s semantics; a
    /// failing statement rolls the job back and every entry answers that error.
    async fn record_sent_many(
        &self,
        sent: &[(UniqueCode, ClaimToken, MessageId)],
    ) -> Vec<Result<Recorded, PortError>> {
        let n = sent.len();
        let rows: Vec<(String, String, String)> = sent
            .iter()
            .map(|(code, token, mid)| (code.0.clone(), token.0.clone(), mid.0.clone()))
            .collect();
        let recorded = self
            .db
            .write(move |c| {
                let now = now_ms();
                rows.iter()
                    .map(|(code, token, mid)| record_tx(c, code, token, mid, now))
                    .collect::<Result<Vec<Recorded>, DbError>>()
            })
            .await
            .map_err(port_err("ledger.record_sent_many"));
        match recorded {
            Ok(r) => r.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e); n],
        }
    }

    async fn release(&self, held: Held<'_>) -> Result<(), PortError> {
        let Held { code, token } = held;
        let code = code.0.clone();
        let token = token.0.clone();
        self.db
            .write(move |c| {
                c.prepare_cached(
                    "DELETE FROM ledger WHERE unique_code = ?1 AND token = ?2 AND message_id IS NULL",
                )
                .and_then(|mut s| s.execute(params![code, token]))
                .map_err(DbError::sql("ledger release"))?;
                Ok(())
            })
            .await
            .map_err(port_err("ledger.release"))
    }

    async fn extend(&self, held: Held<'_>, lease: Duration) -> Result<bool, PortError> {
        let Held { code, token } = held;
        let code = code.0.clone();
        let token = token.0.clone();
        let lease_ms = dur_ms(lease);
        self.db
            .write(move |c| {
                c.prepare_cached(
                    "UPDATE ledger SET lease_until = ?3 WHERE unique_code = ?1 AND token = ?2 AND message_id IS NULL",
                )
                .and_then(|mut s| s.execute(params![code, token, now_ms() + lease_ms]))
                .map(|changed| changed == 1)
                .map_err(DbError::sql("ledger extend"))
            })
            .await
            .map_err(port_err("ledger.extend"))
    }
}

/// Dead-letter sink writing to the local DLQ table.
#[derive(Clone)]
pub struct LocalDeadLetterSink {
    queue: Queue,
    metrics: Option<Arc<Metrics>>,
}

impl LocalDeadLetterSink {
    pub fn new(queue: Queue, metrics: Option<Arc<Metrics>>) -> Self {
        Self { queue, metrics }
    }
}

impl DeadLetterSink for LocalDeadLetterSink {
    async fn send_batch(&self, letters: &[DeadLetter]) -> Vec<String> {
        if letters.is_empty() {
            return Vec::new();
        }
        let rows: Vec<NewDeadLetter> = letters
            .iter()
            .map(|l| NewDeadLetter {
                source_message_id: l.source_message_id.clone(),
                body: l.body.clone(),
                reason: l.reason.code().to_string(),
                detail: l.detail.clone(),
                receive_count: 0,
            })
            .collect();
        match self.queue.dead_letter(rows).await {
            Ok(()) => {
                if let Some(m) = &self.metrics {
                    Metrics::add(&m.emails_dead_lettered, letters.len() as u64);
                }
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, count = letters.len(), "DLQ write failed; records will be retried");
                letters
                    .iter()
                    .map(|l| l.source_message_id.clone())
                    .collect()
            }
        }
    }
}

/// Visibility control over the local queue.
#[derive(Clone)]
pub struct LocalVisibility {
    queue: Queue,
}

impl LocalVisibility {
    pub fn new(queue: Queue) -> Self {
        Self { queue }
    }
}

impl VisibilityControl for LocalVisibility {
    async fn delay(&self, receipt_handle: &str, delay: Duration) -> Result<(), PortError> {
        let changed = self
            .queue
            .change_visibility(receipt_handle.to_string(), delay)
            .await
            .map_err(port_err("queue.change_visibility"))?;
        if changed {
            Ok(())
        } else {
            Err(PortError::new(
                "queue.change_visibility",
                format!(
                    "receipt handle {receipt_handle:?} is not current (message deleted or received again)"
                ),
            ))
        }
    }
}
