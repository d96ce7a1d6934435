//! Campaigns on the local stack: their states ([`SqliteCampaignControl`], the SQLite adapter of
//! the core `CampaignControl` port, on the `campaigns` table that also counts what each campaign
//! had accepted), the records a cancelled campaign's poller acknowledged without sending (the
//! `cancelled` table), the SES events of each campaign from the lake ([`lake`]), their status
//! ([`status`]) and the `/_local/campaigns` endpoints ([`api`]).

pub mod api;
pub mod lake;
pub mod status;

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use sesload_core::{
    CampaignChange, CampaignControl, CampaignEntry, CampaignState, CancelledRecord, PortError,
    SetOutcome,
};

use crate::db::{Db, DbError, add_column, now_ms};

pub use api::CampaignApi;
pub use status::{CampaignStatus, CampaignSummary, QuotaSource};

/// Where campaign status finds what the database does not hold: the event lake (delivered,
/// bounced, complained…) and the account's quota (`GetAccount`). The stack wiring fills both;
/// without them status shows no outcomes and no quota share.
#[derive(Clone, Default)]
pub struct CampaignSources {
    /// The event counts of the lake (`<data-dir>/lake`), shared with the stack's guardrail task.
    pub lake: Option<std::sync::Arc<lake::LakeTally>>,
    pub quota: Option<QuotaSource>,
}

/// The campaign state columns of `campaigns` and the `cancelled` table, added in place to a
/// database created before them (run by `db::open_connection`).
pub(crate) fn migrate(conn: &Connection) -> Result<(), DbError> {
    let columns = [
        ("state", "TEXT NOT NULL DEFAULT 'running'"),
        ("reason", "TEXT NOT NULL DEFAULT ''"),
        ("since", "INTEGER"),
        ("updated_by", "TEXT NOT NULL DEFAULT ''"),
        ("version", "INTEGER NOT NULL DEFAULT 0"),
        ("changed_at", "INTEGER"),
    ];
    for (name, decl) in columns {
        add_column(conn, "campaigns", name, decl)?;
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS cancelled(
            campaign TEXT NOT NULL,
            unique_code TEXT NOT NULL,
            source_message_id TEXT NOT NULL,
            cancelled_at INTEGER NOT NULL,
            PRIMARY KEY (campaign, unique_code)
        ) WITHOUT ROWID;",
    )
    .map_err(DbError::sql("migrate campaigns"))
}

const ENTRY_COLUMNS: &str =
    "c.campaign, c.state, c.reason, c.since, c.updated_by, c.version, c.changed_at,
    (SELECT count(*) FROM cancelled x WHERE x.campaign = c.campaign)";

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CampaignEntry> {
    let campaign: String = r.get(0)?;
    let code: String = r.get(1)?;
    let reason: String = r.get(2)?;
    let since: Option<i64> = r.get(3)?;
    let state = CampaignState::from_parts(&code, &reason, since.unwrap_or_default().max(0) as u64)
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
        })?;
    Ok(CampaignEntry {
        campaign,
        state,
        updated_by: r.get(4)?,
        version: r.get::<_, i64>(5)?.max(0) as u64,
        changed_ms: r.get::<_, Option<i64>>(6)?.map(|v| v.max(0) as u64),
        cancelled: r.get::<_, i64>(7)?.max(0) as u64,
    })
}

/// Entries of every campaign with a stored state or cancelled records, by name.
pub fn list_entries(c: &Connection) -> Result<Vec<CampaignEntry>, DbError> {
    c.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM campaigns c
         WHERE c.version > 0 OR EXISTS (SELECT 1 FROM cancelled x WHERE x.campaign = c.campaign)
         ORDER BY c.campaign"
    ))
    .and_then(|mut s| s.query_map([], entry_row)?.collect())
    .map_err(DbError::sql("campaigns.get_all"))
}

/// The entry of each of `names` (running at version 0 when nothing is stored).
pub fn entries(
    c: &Connection,
    names: &[String],
) -> Result<HashMap<String, CampaignEntry>, DbError> {
    let mut out: HashMap<String, CampaignEntry> = names
        .iter()
        .map(|n| (n.clone(), CampaignEntry::running(n)))
        .collect();
    for chunk in names.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(",");
        let found: Vec<CampaignEntry> = c
            .prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM campaigns c WHERE c.campaign IN ({placeholders})"
            ))
            .and_then(|mut s| {
                s.query_map(params_from_iter(chunk.iter()), entry_row)?
                    .collect()
            })
            .map_err(DbError::sql("campaigns.get"))?;
        for e in found {
            out.insert(e.campaign.clone(), e);
        }
    }
    Ok(out)
}

fn entry(c: &Connection, name: &str) -> Result<CampaignEntry, DbError> {
    Ok(entries(c, &[name.to_string()])?
        .remove(name)
        .unwrap_or_else(|| CampaignEntry::running(name)))
}

/// [`CampaignControl`] on the stack's database: the state columns of `campaigns` (one row per
/// campaign, which ingest creates to count what it accepted) and the `cancelled` table. Writes
/// go through the stack's writer (one transaction each, so a conditional `set` is atomic); reads
/// use a read connection.
#[derive(Clone)]
pub struct SqliteCampaignControl {
    db: Db,
}

impl SqliteCampaignControl {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn port_err(op: &'static str) -> impl FnOnce(DbError) -> PortError {
    move |e| PortError::new(op, e.to_string())
}

impl CampaignControl for SqliteCampaignControl {
    async fn get_all(&self) -> Result<Vec<CampaignEntry>, PortError> {
        self.db
            .read(list_entries)
            .await
            .map_err(port_err("campaigns.get_all"))
    }

    async fn get(&self, names: &[String]) -> Result<HashMap<String, CampaignEntry>, PortError> {
        let names = names.to_vec();
        self.db
            .read(move |c| entries(c, &names))
            .await
            .map_err(port_err("campaigns.get"))
    }

    async fn set(&self, change: &CampaignChange) -> Result<SetOutcome, PortError> {
        let (campaign, if_version) = (change.campaign.as_str(), change.if_version);
        let campaign = campaign.to_string();
        let change = change.clone();
        self.db
            .write(move |c| {
                let version: i64 = c
                    .query_row(
                        "SELECT version FROM campaigns WHERE campaign = ?1",
                        params![campaign],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(DbError::sql("campaigns.set"))?
                    .unwrap_or(0);
                if version.max(0) as u64 != if_version {
                    return Ok(SetOutcome::Conflict(entry(c, &campaign)?));
                }
                let s = &change.state;
                c.prepare_cached(
                    "INSERT INTO campaigns(campaign, accepted, state, reason, since, updated_by, version, changed_at)
                     VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(campaign) DO UPDATE SET state = excluded.state, reason = excluded.reason,
                        since = excluded.since, updated_by = excluded.updated_by,
                        version = excluded.version, changed_at = excluded.changed_at",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        campaign,
                        s.code(),
                        s.reason(),
                        s.since_ms().map(|v| v as i64),
                        change.updated_by,
                        version + 1,
                        change.at_ms as i64,
                    ])
                })
                .map_err(DbError::sql("campaigns.set"))?;
                Ok(SetOutcome::Applied(entry(c, &campaign)?))
            })
            .await
            .map_err(port_err("campaigns.set"))
    }

    async fn record_cancelled(&self, records: &[CancelledRecord]) -> Vec<String> {
        if records.is_empty() {
            return Vec::new();
        }
        let rows: Vec<(String, String, String)> = records
            .iter()
            .map(|r| {
                (
                    r.campaign.clone(),
                    r.unique_code.0.clone(),
                    r.source_message_id.clone(),
                )
            })
            .collect();
        let res = self
            .db
            .write(move |c| {
                let now = now_ms();
                let mut ins = c
                    .prepare_cached(
                        "INSERT OR IGNORE INTO cancelled(campaign, unique_code, source_message_id, cancelled_at)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(DbError::sql("campaigns.record_cancelled"))?;
                let mut row = c
                    .prepare_cached("INSERT OR IGNORE INTO campaigns(campaign) VALUES (?1)")
                    .map_err(DbError::sql("campaigns.record_cancelled"))?;
                for (campaign, code, source) in &rows {
                    ins.execute(params![campaign, code, source, now])
                        .and_then(|_| row.execute(params![campaign]))
                        .map_err(DbError::sql("campaigns.record_cancelled"))?;
                }
                Ok(())
            })
            .await;
        match res {
            Ok(()) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, records = records.len(), "cancelled records not written");
                records
                    .iter()
                    .map(|r| r.source_message_id.clone())
                    .collect()
            }
        }
    }
}
