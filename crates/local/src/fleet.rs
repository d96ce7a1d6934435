//! The local adapters of the second-wave ports, on the stack's SQLite database:
//!
//! - [`LocalParking`] ([`Parking`]): [`Queue::park`], the original deleted by receipt handle and
//!   its delayed copy inserted in one transaction (SQS: `SendMessage` of the copy with
//!   `DelaySeconds`, the original acknowledged by the event source).
//! - [`SqliteSchedule`] ([`SendSchedule`]): one row of `schedule(name PK, next_slot_us)` per
//!   schedule, read and moved in one write transaction per reservation (DynamoDB: a conditional
//!   write on the control table's `schedule#<name>` item).

use sesload_core::clock::unix_us;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use sesload_core::{ParkedRecord, Parking, PortError, Reservation, SendSchedule};

use crate::db::{Db, DbError};
use crate::queue::Queue;

/// [`Parking`] over the local queue: atomic, so a parked record is never both waiting and
/// lost, nor copied twice. A record whose receipt handle is no longer current (the record was
/// received again by another poller) is not copied and is reported as not parked.
#[derive(Clone)]
pub struct LocalParking {
    queue: Queue,
}

impl LocalParking {
    pub fn new(queue: Queue) -> Self {
        Self { queue }
    }
}

impl Parking for LocalParking {
    async fn park(&self, records: &[ParkedRecord]) -> Vec<String> {
        if records.is_empty() {
            return Vec::new();
        }
        match self.queue.park(records.to_vec()).await {
            Ok(stale) => {
                if !stale.is_empty() {
                    tracing::warn!(
                        records = ?stale,
                        "not parked: receipt handle no longer current (record received again)"
                    );
                }
                stale
            }
            Err(e) => {
                tracing::error!(error = %e, count = records.len(), "park failed; records will be retried");
                records
                    .iter()
                    .map(|r| r.source_message_id.clone())
                    .collect()
            }
        }
    }
}

/// [`SendSchedule`] on the `schedule` table: every instance handed a `SqliteSchedule` of the
/// same name (on the same database file) shares one `next_slot_us` (epoch microseconds).
/// A schedule without a row is due now.
#[derive(Clone)]
pub struct SqliteSchedule {
    db: Db,
    name: String,
}

impl SqliteSchedule {
    pub fn new(db: Db, name: impl Into<String>) -> Self {
        Self {
            db,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The reservation in the writer's transaction: the first slot (epoch µs), or `None` when
/// nothing was reserved (nothing written then).
fn reserve_tx(
    c: &Connection,
    name: &str,
    request: Reservation,
    now_us: i64,
) -> Result<Option<i64>, DbError> {
    let next: Option<i64> = c
        .prepare_cached("SELECT next_slot_us FROM schedule WHERE name = ?1")
        .and_then(|mut s| s.query_row(params![name], |r| r.get(0)).optional())
        .map_err(DbError::sql("schedule reserve"))?;
    let Some(placed) = request.place(next, now_us) else {
        return Ok(None);
    };
    c.prepare_cached(
        "INSERT INTO schedule(name, next_slot_us) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET next_slot_us = excluded.next_slot_us",
    )
    .and_then(|mut s| s.execute(params![name, placed.next_free_us]))
    .map_err(DbError::sql("schedule reserve"))?;
    Ok(Some(placed.first_us))
}

impl SendSchedule for SqliteSchedule {
    async fn reserve(&self, request: Reservation) -> Result<Option<Duration>, PortError> {
        let name = self.name.clone();
        let first = self
            .db
            .write(move |c| reserve_tx(c, &name, request, unix_us()))
            .await
            .map_err(|e| PortError::new("schedule.reserve", format!("{:?}: {e}", self.name)))?;
        // The wait counts from the answer (after the commit), not from the transaction.
        Ok(first.map(|f| Duration::from_micros(u64::try_from(f - unix_us()).unwrap_or(0))))
    }
}
