//! `/_local/stats`: queue, DLQ, ledger and per-campaign reconciliation numbers, straight from
//! the database (so they are right after a restart too).
//!
//! [`CampaignReconciliation`] is the one reconciliation of the local stack: `/_local/stats`
//! serves it, `sesload report` reads it as its counters, and the benchmarks, `plan --verify` and
//! `just demo` take their verdicts and their achieved send rate from it.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::{DbError, now_ms};
use crate::metrics::QueueGauges;

/// Runs the reads of `f` in one read transaction: in WAL mode that is one snapshot, so counts
/// taken from several tables agree with each other even while the writer commits (outside a
/// transaction every statement sees the latest commit, and a batch recorded as sent between two
/// statements could be counted neither as sent nor as queued).
fn in_snapshot<T>(
    c: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let tx = c
        .unchecked_transaction()
        .map_err(DbError::sql("begin read snapshot"))?;
    // Reads only: dropping the transaction rolls it back.
    f(&tx)
}

/// Queue gauges: visible / in flight / delayed (of which parked) messages, DLQ depth, oldest
/// message age.
pub fn gauges(c: &Connection) -> Result<QueueGauges, DbError> {
    in_snapshot(c, |c| gauges_in(c, now_ms()))
}

fn gauges_in(c: &Connection, now: i64) -> Result<QueueGauges, DbError> {
    let (visible, in_flight, delayed, parked, oldest): (i64, i64, i64, i64, Option<i64>) = c
        .query_row(
            "SELECT
                coalesce(sum(visible_at <= ?1), 0),
                coalesce(sum(visible_at > ?1 AND receive_count > 0), 0),
                coalesce(sum(visible_at > ?1 AND receive_count = 0), 0),
                coalesce(sum(visible_at > ?1 AND receive_count = 0 AND park_count > 0), 0),
                min(sent_at)
             FROM messages",
            params![now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .map_err(DbError::sql("stats"))?;
    let dlq: i64 = c
        .query_row("SELECT count(*) FROM dlq", [], |r| r.get(0))
        .map_err(DbError::sql("stats"))?;
    Ok(QueueGauges {
        visible,
        in_flight,
        delayed,
        parked,
        dlq,
        oldest_age_s: oldest
            .map(|o| (now - o).max(0) as f64 / 1000.0)
            .unwrap_or(0.0),
    })
}

/// Parked copies waiting out their delay at `now` (epoch ms), by park reason.
pub fn parked_by_reason(
    c: &Connection,
    now: i64,
) -> Result<serde_json::Map<String, serde_json::Value>, DbError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT park_reason, count(*) FROM messages
             WHERE visible_at > ?1 AND receive_count = 0 AND park_count > 0
             GROUP BY park_reason ORDER BY park_reason",
        )
        .map_err(DbError::sql("stats"))?;
    let rows = stmt
        .query_map(params![now], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(DbError::sql("stats"))?;
    Ok(rows
        .into_iter()
        .map(|(reason, n)| (reason.unwrap_or_default(), json!(n)))
        .collect())
}

/// Reconciliation of one campaign: accepted = sent + dlq + queued (+ duplicates skipped).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CampaignReconciliation {
    pub campaign: String,
    pub accepted: i64,
    /// Accepted messages whose unique_code the ledger records as sent (one SES message id).
    pub sent: i64,
    pub dlq: i64,
    pub dlq_by_reason: serde_json::Map<String, serde_json::Value>,
    pub queued: i64,
    /// Accepted messages sharing a unique_code with an earlier accepted message (acknowledged
    /// without sending by the ledger).
    pub duplicate_codes: i64,
    /// accepted - sent - dlq - queued - duplicate_codes; 0 when nothing is lost.
    pub unaccounted: i64,
    pub first_accepted_ms: Option<i64>,
    pub last_accepted_ms: Option<i64>,
    pub first_sent_ms: Option<i64>,
    pub last_sent_ms: Option<i64>,
    /// Emails/s from the first to the last send the ledger recorded: [`achieved_send_rate`].
    pub achieved_send_rate: Option<f64>,
}

/// The achieved send rate: `sent - 1` intervals over the time from the first to the last send
/// (a ramp at the start, when requests arrive below the quota, is included). None with fewer
/// than two sends or no time between them.
pub fn achieved_send_rate(sent: i64, first_ms: Option<i64>, last_ms: Option<i64>) -> Option<f64> {
    let span_ms = last_ms? - first_ms?;
    (sent > 1 && span_ms > 0).then(|| (sent - 1) as f64 * 1000.0 / span_ms as f64)
}

impl CampaignReconciliation {
    /// Every accepted request has left the queue (sent, dead-lettered or skipped as a duplicate).
    pub fn drained(&self) -> bool {
        self.accepted > 0 && self.queued == 0
    }

    /// Seconds from the first to the last send (0 with fewer than two).
    pub fn send_span_seconds(&self) -> f64 {
        match (self.first_sent_ms, self.last_sent_ms) {
            (Some(a), Some(b)) => (b - a).max(0) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// What is wrong with the campaign's accounts (empty = nothing lost).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.unaccounted > 0 {
            p.push(format!(
                "{} accepted request(s) are neither sent, in the DLQ nor queued (lost)",
                self.unaccounted
            ));
        } else if self.unaccounted < 0 {
            p.push(format!(
                "{} more request(s) sent, dead-lettered or queued than accepted",
                -self.unaccounted
            ));
        }
        p
    }
}

/// Messages of `campaign` still in the queue (visible, in flight or delayed): the cheap check a
/// drain polls, where a full [`reconcile`] would scan the whole campaign each time.
pub fn campaign_queued(c: &Connection, campaign: &str) -> Result<i64, DbError> {
    c.query_row(
        "SELECT count(*) FROM messages WHERE campaign = ?1",
        params![campaign],
        |r| r.get(0),
    )
    .map_err(DbError::sql("campaign queued"))
}

/// Reconcile a campaign from the accepted log, the ledger, the DLQ and the queue.
pub fn reconcile(c: &Connection, campaign: &str) -> Result<CampaignReconciliation, DbError> {
    in_snapshot(c, |c| reconcile_in(c, campaign))
}

fn reconcile_in(c: &Connection, campaign: &str) -> Result<CampaignReconciliation, DbError> {
    let e = DbError::sql("reconcile");
    let accepted: i64 = c
        .query_row(
            "SELECT count(*) FROM accepted WHERE campaign = ?1",
            params![campaign],
            |r| r.get(0),
        )
        .map_err(DbError::sql("reconcile"))?;
    let distinct: i64 = c
        .query_row(
            "SELECT count(DISTINCT unique_code) FROM accepted WHERE campaign = ?1",
            params![campaign],
            |r| r.get(0),
        )
        .map_err(DbError::sql("reconcile"))?;
    let (sent, first_sent, last_sent): (i64, Option<i64>, Option<i64>) = c
        .query_row(
            "SELECT count(*), min(l.sent_at), max(l.sent_at) FROM ledger l
             WHERE l.message_id IS NOT NULL
               AND l.unique_code IN (SELECT unique_code FROM accepted WHERE campaign = ?1)",
            params![campaign],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(DbError::sql("reconcile"))?;
    let mut dlq_by_reason = serde_json::Map::new();
    let mut dlq = 0;
    {
        let mut stmt = c
            .prepare("SELECT reason, count(*) FROM dlq WHERE campaign = ?1 GROUP BY reason ORDER BY reason")
            .map_err(DbError::sql("reconcile"))?;
        let rows = stmt
            .query_map(params![campaign], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(e)?;
        for (reason, n) in rows {
            dlq += n;
            dlq_by_reason.insert(reason, json!(n));
        }
    }
    let queued = campaign_queued(c, campaign)?;
    let (first_acc, last_acc): (Option<i64>, Option<i64>) = c
        .query_row(
            "SELECT first_accepted_at, last_accepted_at FROM campaigns WHERE campaign = ?1",
            params![campaign],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((None, None));
    let duplicate_codes = accepted - distinct;
    Ok(CampaignReconciliation {
        campaign: campaign.to_string(),
        accepted,
        sent,
        dlq,
        dlq_by_reason,
        queued,
        duplicate_codes,
        unaccounted: accepted - sent - dlq - queued - duplicate_codes,
        first_accepted_ms: first_acc,
        last_accepted_ms: last_acc,
        first_sent_ms: first_sent,
        last_sent_ms: last_sent,
        achieved_send_rate: achieved_send_rate(sent, first_sent, last_sent),
    })
}

/// Everything `/_local/stats` reports.
pub fn collect(c: &Connection, campaign: Option<&str>) -> Result<serde_json::Value, DbError> {
    in_snapshot(c, |c| collect_in(c, campaign))
}

fn collect_in(c: &Connection, campaign: Option<&str>) -> Result<serde_json::Value, DbError> {
    let now = now_ms();
    let g = gauges_in(c, now)?;
    let accepted: i64 = c
        .query_row(
            "SELECT coalesce(sum(accepted), 0) FROM campaigns",
            [],
            |r| r.get(0),
        )
        .map_err(DbError::sql("stats"))?;
    let mut by_reason = serde_json::Map::new();
    {
        let mut stmt = c
            .prepare("SELECT reason, count(*) FROM dlq GROUP BY reason ORDER BY reason")
            .map_err(DbError::sql("stats"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(DbError::sql("stats"))?;
        for (reason, n) in rows {
            by_reason.insert(reason, json!(n));
        }
    }
    let (sent, in_lease): (i64, i64) = c
        .query_row(
            "SELECT coalesce(sum(message_id IS NOT NULL), 0), coalesce(sum(message_id IS NULL), 0) FROM ledger",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(DbError::sql("stats"))?;
    let customers: i64 = c
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .map_err(DbError::sql("stats"))?;
    let mut campaigns = Vec::new();
    {
        let mut stmt = c
            .prepare(
                "SELECT campaign, accepted FROM campaigns ORDER BY last_accepted_at DESC LIMIT 50",
            )
            .map_err(DbError::sql("stats"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(DbError::sql("stats"))?;
        for (name, n) in rows {
            campaigns.push(json!({"campaign": name, "accepted": n}));
        }
    }
    let mut out = json!({
        "accepted": accepted,
        "queue": {
            "visible": g.visible,
            "in_flight": g.in_flight,
            "delayed": g.delayed,
            "parked": g.parked,
            "parked_by_reason": parked_by_reason(c, now)?,
            "total": g.visible + g.in_flight + g.delayed,
            "oldest_message_age_s": g.oldest_age_s,
        },
        "dlq": { "total": g.dlq, "by_reason": by_reason },
        "ledger": { "sent": sent, "claimed_not_sent": in_lease },
        "customers": customers,
        "campaigns": campaigns,
    });
    if let Some(name) = campaign {
        out["campaign"] = serde_json::to_value(reconcile_in(c, name)?).unwrap_or_default();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn achieved_send_rate_counts_intervals_between_the_first_and_last_send() {
        assert_eq!(achieved_send_rate(11, Some(1_000), Some(3_000)), Some(5.0));
        assert_eq!(achieved_send_rate(1, Some(1_000), Some(1_000)), None);
        assert_eq!(achieved_send_rate(5, Some(1_000), Some(1_000)), None);
        assert_eq!(achieved_send_rate(5, None, Some(1_000)), None);
    }

    #[test]
    fn a_campaign_is_drained_when_nothing_of_it_is_queued() {
        let mut r = CampaignReconciliation {
            accepted: 3,
            sent: 2,
            queued: 1,
            ..Default::default()
        };
        assert!(!r.drained());
        r.queued = 0;
        r.dlq = 1;
        assert!(r.drained() && r.problems().is_empty());
        r.dlq = 0;
        r.unaccounted = 1;
        assert_eq!(r.problems().len(), 1);
        assert!(
            !CampaignReconciliation::default().drained(),
            "nothing accepted yet"
        );
    }
}
