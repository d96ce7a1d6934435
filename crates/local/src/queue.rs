//! Durable queue with SQS standard-queue semantics, on the stack's SQLite database.
//!
//! | SQS | here |
//! |---|---|
//! | `SendMessage` (+ `DelaySeconds`) | [`Queue::send`] / [`Queue::send_batch`]: row in `messages`, `visible_at = now + delay` |
//! | `ReceiveMessage` (`MaxNumberOfMessages`, `VisibilityTimeout`) | [`Queue::receive`]: oldest visible rows, `receive_count += 1`, new receipt handle, hidden for the visibility timeout |
//! | redrive policy `maxReceiveCount` | a visible message already received `max_receive_count` times is moved to `dlq` (reason `retries_exhausted`) instead of being delivered again |
//! | `DeleteMessage(Batch)` | [`Queue::delete`] by receipt handle (a stale handle deletes nothing) |
//! | `ChangeMessageVisibility` | [`Queue::change_visibility`] |
//! | parking: `DeleteMessage` of the original + `SendMessage` of a copy with `DelaySeconds` and the attributes `sesload_park_reason` / `sesload_park_count` | [`Queue::park`]: both in one transaction, only while the receipt handle is current |
//! | DLQ `SendMessage` with attributes | [`Queue::dead_letter`]: row in `dlq` with `reason`/`detail` |
//! | DLQ redrive (`StartMessageMoveTask`) | [`redrive`]: back to `messages` as new messages |

use std::collections::HashMap;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sesload_core::{DlqReason, ParkedRecord};

use crate::db::{Db, DbError, dur_ms, now_ms};

/// Queue behaviour (the redrive policy and the default visibility timeout).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueSettings {
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(300),
            max_receive_count: 5,
        }
    }
}

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub body: String,
    /// Value of the `campaign` tag ("" when absent).
    pub campaign: String,
    pub unique_code: Option<String>,
    pub delay: Duration,
}

impl NewMessage {
    /// Build from a request body, extracting `campaign` and `unique_code` if the body has them.
    pub fn from_body(body: impl Into<String>) -> Self {
        let body = body.into();
        let (campaign, unique_code) = campaign_and_code(&body);
        Self {
            body,
            campaign,
            unique_code,
            delay: Duration::ZERO,
        }
    }
}

/// `(campaign tag value, unique_code)` of a send-request body (best effort; "" / None).
pub fn campaign_and_code(body: &str) -> (String, Option<String>) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return (String::new(), None);
    };
    let campaign = v
        .get("tags")
        .and_then(|t| t.as_array())
        .and_then(|tags| {
            tags.iter()
                .find(|t| t.get("Name").and_then(|n| n.as_str()) == Some("campaign"))
        })
        .and_then(|t| t.get("Value"))
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let code = v
        .get("unique_code")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    (campaign, code)
}

/// A received message (what `ReceiveMessage` returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub receive_count: u32,
    pub sent_at_ms: i64,
    pub first_receive_at_ms: i64,
    pub campaign: String,
    /// Message attribute `sesload_park_count`: how many times the record was parked before
    /// this copy was made (0: as the ingest queued it).
    pub park_count: u32,
    /// Message attribute `sesload_park_reason` of a parked copy.
    pub park_reason: Option<String>,
}

/// A dead letter to write (from the poller's `DeadLetterSink`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadLetter {
    pub source_message_id: String,
    pub body: String,
    pub reason: String,
    pub detail: String,
    pub receive_count: u32,
}

/// One row of the DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetterRow {
    pub seq: i64,
    pub id: String,
    pub source_message_id: String,
    pub body: String,
    pub campaign: String,
    pub reason: String,
    pub detail: String,
    pub receive_count: u32,
    pub dead_at_ms: i64,
}

/// The durable queue.
#[derive(Clone)]
pub struct Queue {
    db: Db,
    settings: QueueSettings,
}

impl Queue {
    pub fn new(db: Db, settings: QueueSettings) -> Self {
        Self { db, settings }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn settings(&self) -> QueueSettings {
        self.settings
    }

    /// Enqueue one message; resolves with its message id once durably committed.
    pub async fn send(&self, msg: NewMessage) -> Result<String, DbError> {
        let mut ids = self.send_batch(vec![msg]).await?;
        Ok(ids.pop().unwrap_or_default())
    }

    /// Enqueue several messages in one transaction.
    pub async fn send_batch(&self, msgs: Vec<NewMessage>) -> Result<Vec<String>, DbError> {
        self.db.write(move |c| insert_messages(c, &msgs)).await
    }

    /// Receive up to `max` visible messages, hiding them for `visibility` (default: the
    /// queue's). Messages past `max_receive_count` are moved to the DLQ instead.
    pub async fn receive(
        &self,
        max: usize,
        visibility: Option<Duration>,
    ) -> Result<Vec<Received>, DbError> {
        let vis = dur_ms(visibility.unwrap_or(self.settings.visibility_timeout));
        let max_rc = self.settings.max_receive_count;
        self.db
            .write(move |c| receive_tx(c, max, vis, max_rc, now_ms()))
            .await
    }

    /// Delete messages by receipt handle; returns how many were deleted.
    pub async fn delete(&self, receipts: Vec<String>) -> Result<usize, DbError> {
        self.db
            .write(move |c| {
                let mut stmt = c
                    .prepare_cached("DELETE FROM messages WHERE seq = ?1 AND receipt = ?2")
                    .map_err(DbError::sql("delete"))?;
                let mut n = 0;
                for r in &receipts {
                    if let Some(seq) = receipt_seq(r) {
                        n += stmt
                            .execute(params![seq, r])
                            .map_err(DbError::sql("delete"))?;
                    }
                }
                Ok(n)
            })
            .await
    }

    /// `ChangeMessageVisibility`: the message becomes visible `timeout` from now. Returns
    /// false when the receipt handle is not the current one (message deleted or re-received).
    pub async fn change_visibility(
        &self,
        receipt: String,
        timeout: Duration,
    ) -> Result<bool, DbError> {
        let Some(seq) = receipt_seq(&receipt) else {
            return Ok(false);
        };
        let t = dur_ms(timeout);
        self.db
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "UPDATE messages SET visible_at = ?1 WHERE seq = ?2 AND receipt = ?3",
                    )
                    .and_then(|mut s| s.execute(params![now_ms() + t, seq, receipt]))
                    .map_err(DbError::sql("change_visibility"))?;
                Ok(n == 1)
            })
            .await
    }

    /// Park records: in ONE transaction, delete each original by its receipt handle and insert
    /// its copy (a new message id, receive count 0, visible after the record's delay capped at
    /// [`MAX_PARK_DELAY`] as SQS caps `DelaySeconds`, the same
    /// body, campaign and unique_code, `park_count` / `park_reason` set). The copy is the same
    /// accepted request: the `accepted` log and the campaign counters do not change. A record
    /// whose receipt handle is no longer current (deleted, or received again by another
    /// poller) is not copied; its source message id is returned.
    pub async fn park(&self, records: Vec<ParkedRecord>) -> Result<Vec<String>, DbError> {
        self.db
            .write(move |c| {
                let now = now_ms();
                let mut not_parked = Vec::new();
                for r in &records {
                    if !park_one(c, r, now)? {
                        not_parked.push(r.source_message_id.clone());
                    }
                }
                Ok(not_parked)
            })
            .await
    }

    /// Write dead letters (reason + detail). All or nothing.
    pub async fn dead_letter(&self, letters: Vec<NewDeadLetter>) -> Result<(), DbError> {
        self.db
            .write(move |c| {
                let now = now_ms();
                for l in &letters {
                    insert_dead_letter(c, l, now)?;
                }
                Ok(())
            })
            .await
    }
}

fn receipt_seq(receipt: &str) -> Option<i64> {
    receipt.split_once('.').and_then(|(s, _)| s.parse().ok())
}

/// A message id: a UUID like SQS's, but version 7 (time-ordered) rather than random, so the
/// unique index on `messages.id` and the `accepted` and `dlq` keys grow at their right edge
/// and a group commit writes a few pages instead of one random page per message.
pub fn new_message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The longest a parked copy waits, as SQS caps `DelaySeconds` (15 min).
pub const MAX_PARK_DELAY: Duration = Duration::from_secs(900);

/// Delete the original of `r` by receipt handle and insert its copy; false (nothing written)
/// when the handle is not current.
fn park_one(c: &Connection, r: &ParkedRecord, now: i64) -> Result<bool, DbError> {
    let Some(seq) = receipt_seq(&r.receipt_handle) else {
        return Ok(false);
    };
    let original: Option<(String, Option<String>)> = c
        .prepare_cached(
            "DELETE FROM messages WHERE seq = ?1 AND receipt = ?2 RETURNING campaign, unique_code",
        )
        .and_then(|mut s| {
            s.query_row(params![seq, r.receipt_handle], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(DbError::sql("park"))?;
    let Some((campaign, unique_code)) = original else {
        return Ok(false);
    };
    c.prepare_cached(
        "INSERT INTO messages(id, body, campaign, unique_code, sent_at, visible_at, park_count, park_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            new_message_id(),
            r.body,
            campaign,
            unique_code,
            now,
            now + dur_ms(r.delay.min(MAX_PARK_DELAY)),
            r.park_count,
            r.reason.code()
        ])
    })
    .map_err(DbError::sql("park"))?;
    Ok(true)
}

pub(crate) fn insert_messages(c: &Connection, msgs: &[NewMessage]) -> Result<Vec<String>, DbError> {
    let now = now_ms();
    let mut ins = c
        .prepare_cached(
            "INSERT INTO messages(id, body, campaign, unique_code, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(DbError::sql("send"))?;
    let mut acc = c
        .prepare_cached(
            "INSERT OR IGNORE INTO accepted(message_id, unique_code, campaign, accepted_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(DbError::sql("send"))?;
    let mut ids = Vec::with_capacity(msgs.len());
    let mut per_campaign: HashMap<&str, i64> = HashMap::new();
    for m in msgs {
        let id = new_message_id();
        ins.execute(params![
            id,
            m.body,
            m.campaign,
            m.unique_code,
            now,
            now + dur_ms(m.delay)
        ])
        .map_err(DbError::sql("send"))?;
        acc.execute(params![id, m.unique_code, m.campaign, now])
            .map_err(DbError::sql("send"))?;
        *per_campaign.entry(m.campaign.as_str()).or_default() += 1;
        ids.push(id);
    }
    let mut up = c
        .prepare_cached(
            "INSERT INTO campaigns(campaign, accepted, first_accepted_at, last_accepted_at) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(campaign) DO UPDATE SET accepted = accepted + excluded.accepted, last_accepted_at = excluded.last_accepted_at",
        )
        .map_err(DbError::sql("send"))?;
    for (campaign, n) in per_campaign {
        up.execute(params![campaign, n, now])
            .map_err(DbError::sql("send"))?;
    }
    Ok(ids)
}

/// A visible row `receive` may deliver.
struct CandidateRow {
    seq: i64,
    id: String,
    body: String,
    receive_count: u32,
    sent_at: i64,
    first_receive_at: Option<i64>,
    campaign: String,
    park_count: u32,
    park_reason: Option<String>,
}

fn receive_tx(
    c: &Connection,
    max: usize,
    vis_ms: i64,
    max_receive_count: u32,
    now: i64,
) -> Result<Vec<Received>, DbError> {
    let mut out = Vec::with_capacity(max);
    // Loop because messages past maxReceiveCount are moved instead of returned.
    for _ in 0..8 {
        if out.len() >= max {
            break;
        }
        let want = (max - out.len()) as i64;
        let rows: Vec<CandidateRow> = {
            let mut sel = c
                .prepare_cached(
                    "SELECT seq, id, body, receive_count, sent_at, first_receive_at, campaign, park_count, park_reason
                     FROM messages WHERE visible_at <= ?1 ORDER BY visible_at, seq LIMIT ?2",
                )
                .map_err(DbError::sql("receive"))?;
            sel.query_map(params![now, want], |r| {
                Ok(CandidateRow {
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    body: r.get(2)?,
                    receive_count: r.get(3)?,
                    sent_at: r.get(4)?,
                    first_receive_at: r.get(5)?,
                    campaign: r.get(6)?,
                    park_count: r.get(7)?,
                    park_reason: r.get(8)?,
                })
            })
            .and_then(|it| it.collect())
            .map_err(DbError::sql("receive"))?
        };
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let seq = row.seq;
            if row.receive_count >= max_receive_count {
                move_to_dlq(c, seq, now, max_receive_count)?;
                continue;
            }
            let receipt = format!("{seq}.{}", uuid::Uuid::new_v4().simple());
            let first = row.first_receive_at.unwrap_or(now);
            c.prepare_cached(
                "UPDATE messages SET receive_count = receive_count + 1, visible_at = ?1, receipt = ?2, first_receive_at = ?3 WHERE seq = ?4",
            )
            .and_then(|mut s| s.execute(params![now + vis_ms, receipt, first, seq]))
            .map_err(DbError::sql("receive"))?;
            out.push(Received {
                message_id: row.id,
                receipt_handle: receipt,
                body: row.body,
                receive_count: row.receive_count + 1,
                sent_at_ms: row.sent_at,
                first_receive_at_ms: first,
                campaign: row.campaign,
                park_count: row.park_count,
                park_reason: row.park_reason,
            });
        }
    }
    Ok(out)
}

fn move_to_dlq(c: &Connection, seq: i64, now: i64, max_rc: u32) -> Result<(), DbError> {
    let row: Option<(String, String, u32)> = c
        .prepare_cached("DELETE FROM messages WHERE seq = ?1 RETURNING id, body, receive_count")
        .and_then(|mut s| {
            s.query_row(params![seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(DbError::sql("redrive to dlq"))?;
    if let Some((id, body, rc)) = row {
        insert_dead_letter(
            c,
            &NewDeadLetter {
                source_message_id: id,
                body,
                reason: DlqReason::RetriesExhausted.code().to_string(),
                detail: format!(
                    "received {rc} times without being deleted (maxReceiveCount {max_rc})"
                ),
                receive_count: rc,
            },
            now,
        )?;
    }
    Ok(())
}

fn insert_dead_letter(c: &Connection, l: &NewDeadLetter, now: i64) -> Result<(), DbError> {
    let (campaign, _) = campaign_and_code(&l.body);
    c.prepare_cached(
        "INSERT INTO dlq(id, source_message_id, body, campaign, reason, detail, receive_count, dead_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            new_message_id(),
            l.source_message_id,
            l.body,
            campaign,
            l.reason,
            l.detail,
            l.receive_count,
            now
        ])
    })
    .map_err(DbError::sql("dead letter"))?;
    Ok(())
}

/// Filter for DLQ listing and redrive.
#[derive(Debug, Clone, Default)]
pub struct DlqFilter {
    pub reason: Option<String>,
    pub campaign: Option<String>,
    pub limit: Option<usize>,
}

/// List dead letters (oldest first).
pub fn dlq_list(c: &Connection, f: &DlqFilter) -> Result<Vec<DeadLetterRow>, DbError> {
    let mut stmt = c
        .prepare(
            "SELECT seq, id, source_message_id, body, campaign, reason, detail, receive_count, dead_at FROM dlq
             WHERE (?1 IS NULL OR reason = ?1) AND (?2 IS NULL OR campaign = ?2) ORDER BY seq LIMIT ?3",
        )
        .map_err(DbError::sql("dlq list"))?;
    let limit = f.limit.map(|l| l as i64).unwrap_or(-1);
    stmt.query_map(params![f.reason, f.campaign, limit], dlq_row)
        .and_then(|it| it.collect())
        .map_err(DbError::sql("dlq list"))
}

/// One dead letter by its DLQ id or its source message id.
pub fn dlq_get(c: &Connection, id: &str) -> Result<Option<DeadLetterRow>, DbError> {
    c.query_row(
        "SELECT seq, id, source_message_id, body, campaign, reason, detail, receive_count, dead_at FROM dlq
         WHERE id = ?1 OR source_message_id = ?1 ORDER BY seq LIMIT 1",
        params![id],
        dlq_row,
    )
    .optional()
    .map_err(DbError::sql("dlq show"))
}

fn dlq_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeadLetterRow> {
    Ok(DeadLetterRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        source_message_id: r.get(2)?,
        body: r.get(3)?,
        campaign: r.get(4)?,
        reason: r.get(5)?,
        detail: r.get(6)?,
        receive_count: r.get(7)?,
        dead_at_ms: r.get(8)?,
    })
}

/// Move dead letters matching `f` (or exactly `ids`) back to the source queue as new messages
/// (receive count 0). Runs in the caller's transaction; returns how many were moved.
pub fn redrive(c: &Connection, f: &DlqFilter, ids: &[String]) -> Result<usize, DbError> {
    let rows: Vec<DeadLetterRow> = if ids.is_empty() {
        dlq_list(c, f)?
    } else {
        let mut v = Vec::new();
        for id in ids {
            match dlq_get(c, id)? {
                Some(r) => v.push(r),
                None => {
                    return Err(DbError::Sqlite {
                        op: "dlq redrive",
                        message: format!("no dead letter with id {id:?}"),
                    });
                }
            }
        }
        v
    };
    let now = now_ms();
    for r in &rows {
        let (_, code) = campaign_and_code(&r.body);
        c.execute(
            "INSERT INTO messages(id, body, campaign, unique_code, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![new_message_id(), r.body, r.campaign, code, now],
        )
        .map_err(DbError::sql("dlq redrive"))?;
        c.execute("DELETE FROM dlq WHERE seq = ?1", params![r.seq])
            .map_err(DbError::sql("dlq redrive"))?;
    }
    Ok(rows.len())
}
