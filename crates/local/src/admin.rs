//! The stack's database from a command (`sesload seed`, `sesload dlq`, `sesload report`),
//! whether or not `sesload up` is running: its own connection, every write in one transaction,
//! waiting for the stack's writer like any second SQLite process (`busy_timeout`).

use std::ops::Range;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use sesload_core::Customer;

use crate::customers::{seed_customer, upsert_customers};
use crate::db::{DbError, open_connection};
use crate::queue::{DeadLetterRow, DlqFilter, dlq_get, dlq_list, redrive};
use crate::stats::{CampaignReconciliation, reconcile};

/// Path of the stack's database inside `data_dir`.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::DB_FILE)
}

/// An open connection to `<data-dir>/sesload.db`.
pub struct Admin {
    conn: Connection,
    path: PathBuf,
}

impl Admin {
    /// Open the database of `data_dir`, creating it (and its schema) if needed.
    pub fn open(data_dir: &Path) -> Result<Self, DbError> {
        let path = db_path(data_dir);
        Ok(Self {
            conn: open_connection(&path)?,
            path,
        })
    }

    /// Open the database of `data_dir`; an error naming the path when there is none.
    pub fn open_existing(data_dir: &Path) -> Result<Self, DbError> {
        let path = db_path(data_dir);
        if !path.is_file() {
            return Err(DbError::Open {
                path: path.display().to_string(),
                message:
                    "no local stack database here (run `sesload up` first, or pass --data-dir)"
                        .into(),
            });
        }
        Self::open(data_dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn in_transaction<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(DbError::sql(op))?;
        let v = f(&tx)?;
        tx.commit().map_err(DbError::sql(op))?;
        Ok(v)
    }

    /// Insert or replace the seeded customers `ids` (one transaction).
    pub fn seed_customers(&self, ids: Range<u64>) -> Result<usize, DbError> {
        let batch: Vec<Customer> = ids.map(seed_customer).collect();
        self.in_transaction("seed", |c| upsert_customers(c, &batch))
    }

    /// Customers in the store.
    pub fn customer_count(&self) -> Result<i64, DbError> {
        self.conn
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
            .map_err(DbError::sql("customer count"))
    }

    /// Dead letters per reason (most first), of one campaign or all.
    pub fn dlq_counts(&self, campaign: Option<&str>) -> Result<Vec<(String, i64)>, DbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT reason, count(*) FROM dlq WHERE (?1 IS NULL OR campaign = ?1)
                 GROUP BY reason ORDER BY 2 DESC, 1",
            )
            .map_err(DbError::sql("dlq counts"))?;
        stmt.query_map(params![campaign], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|it| it.collect())
            .map_err(DbError::sql("dlq counts"))
    }

    /// Dead letters matching `filter`, oldest first.
    pub fn dlq_list(&self, filter: &DlqFilter) -> Result<Vec<DeadLetterRow>, DbError> {
        dlq_list(&self.conn, filter)
    }

    /// One dead letter by its DLQ id or its source message id.
    pub fn dlq_get(&self, id: &str) -> Result<Option<DeadLetterRow>, DbError> {
        dlq_get(&self.conn, id)
    }

    /// Move dead letters (matching `filter`, or exactly `ids`) back to the queue, atomically.
    pub fn redrive(&self, filter: &DlqFilter, ids: &[String]) -> Result<usize, DbError> {
        self.in_transaction("dlq redrive", |c| redrive(c, filter, ids))
    }

    /// The reconciliation of `campaign` (what `/_local/stats?campaign=` serves).
    pub fn reconcile(&self, campaign: &str) -> Result<CampaignReconciliation, DbError> {
        reconcile(&self.conn, campaign)
    }
}
