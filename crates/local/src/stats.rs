//! `/_local/stats`: queue, DLQ, ledger and per-campaign reconciliation numbers, straight from
//! the database (so they are right after a restart too).
//!
//! [`CampaignReconciliation`] is the one reconciliation of the local stack: `/_local/stats`
//! serves it, `sesload report` reads it as its counters, and the benchmarks, `plan --verify` and
//! `just demo` take their verdicts and their achieved send rate from it.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sesload_core::campaign::progress::RATE_WINDOW;

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

/// Reconciliation of one campaign, disjoint at every instant: each accepted `unique_code` is
/// counted once, by its most advanced status in one read snapshot — sent (the ledger has its
/// message id) > dead-lettered > cancelled > queued — so that accepted = sent + dlq + cancelled +
/// queued + duplicate_codes (+ unaccounted, which is lost) holds mid-run too: a record sent in a
/// batch that has not finished yet is still in the queue, but it is counted as sent only.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CampaignReconciliation {
    pub campaign: String,
    pub accepted: i64,
    /// Accepted codes the ledger records as sent (one SES message id).
    pub sent: i64,
    /// Accepted codes not sent with a dead letter in the DLQ.
    pub dlq: i64,
    /// `dlq` by the reason of each code's latest dead letter.
    pub dlq_by_reason: serde_json::Map<String, serde_json::Value>,
    /// Accepted codes neither sent nor dead-lettered that the poller acknowledged without
    /// sending because their campaign was cancelled (the `cancelled` table).
    #[serde(default)]
    pub cancelled: i64,
    /// Accepted codes otherwise still in the queue: visible, in flight or delayed (parked copies
    /// waiting out their delay included).
    pub queued: i64,
    /// Of `queued`, the codes whose copy is parked, waiting out its delay.
    #[serde(default)]
    pub parked: i64,
    /// Accepted messages sharing a unique_code with an earlier accepted message (acknowledged
    /// without sending by the ledger).
    pub duplicate_codes: i64,
    /// Accepted codes found nowhere: accepted - sent - dlq - cancelled - queued -
    /// duplicate_codes; 0 when nothing is lost.
    pub unaccounted: i64,
    pub first_accepted_ms: Option<i64>,
    pub last_accepted_ms: Option<i64>,
    pub first_sent_ms: Option<i64>,
    pub last_sent_ms: Option<i64>,
    /// Emails/s from the first to the last send the ledger recorded: [`achieved_send_rate`].
    pub achieved_send_rate: Option<f64>,
    /// When the snapshot was read (epoch ms).
    #[serde(default)]
    pub as_of_ms: i64,
    /// Of `sent`, those recorded in the [`RATE_WINDOW`] before `as_of_ms` (the current rate).
    #[serde(default)]
    pub sent_recently: i64,
}

/// The achieved send rate: `sent - 1` intervals over the time from the first to the last send
/// (a ramp at the start, when requests arrive below the quota, is included). None with fewer
/// than two sends or no time between them.
pub fn achieved_send_rate(sent: i64, first_ms: Option<i64>, last_ms: Option<i64>) -> Option<f64> {
    let span_ms = last_ms? - first_ms?;
    (sent > 1 && span_ms > 0).then(|| (sent - 1) as f64 * 1000.0 / span_ms as f64)
}

impl CampaignReconciliation {
    /// Every accepted request has left the queue (sent, dead-lettered, cancelled or skipped as a
    /// duplicate).
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
                "{} accepted request(s) are neither sent, in the DLQ, cancelled nor queued (lost)",
                self.unaccounted
            ));
        } else if self.unaccounted < 0 {
            p.push(format!(
                "{} more request(s) sent, dead-lettered, cancelled or queued than accepted",
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

/// Reconcile a campaign from the accepted log, the ledger, the DLQ, the cancelled records and
/// the queue, in one read snapshot.
pub fn reconcile(c: &Connection, campaign: &str) -> Result<CampaignReconciliation, DbError> {
    in_snapshot(c, |c| reconcile_in(c, campaign, now_ms()))
}

/// Each accepted code's status, the most advanced first: sent > dlq > cancelled > queued. A
/// request without a `unique_code` (only bodies written to the queue past the ingest checks) is
/// keyed by its message id. Rows: status, DLQ reason (for `dlq`), codes, accepted messages,
/// codes sent since ?2, first and last send, queued codes whose copy is parked at ?3.
const STATUS_BY_CODE: &str = "
WITH acc AS (
    SELECT coalesce(unique_code, 'message:' || message_id) AS code, count(*) AS n
    FROM accepted WHERE campaign = ?1 GROUP BY 1
),
dead AS (
    SELECT code, reason FROM (
        SELECT code, reason, row_number() OVER (PARTITION BY code ORDER BY seq DESC) AS latest
        FROM (
            SELECT seq, reason, coalesce(
                CASE WHEN json_valid(body) AND json_type(body, '$.unique_code') = 'text'
                     THEN json_extract(body, '$.unique_code') END,
                'message:' || source_message_id) AS code
            FROM dlq WHERE campaign = ?1))
    WHERE latest = 1
),
gone AS (SELECT unique_code AS code FROM cancelled WHERE campaign = ?1),
waiting AS (
    SELECT coalesce(unique_code, 'message:' || id) AS code,
           max(park_count > 0 AND receive_count = 0 AND visible_at > ?3) AS parked
    FROM messages WHERE campaign = ?1 GROUP BY 1
),
status AS (
    SELECT a.code, a.n, l.sent_at, w.parked,
        CASE WHEN l.message_id IS NOT NULL THEN 'sent'
             WHEN d.code IS NOT NULL THEN 'dlq'
             WHEN g.code IS NOT NULL THEN 'cancelled'
             WHEN w.code IS NOT NULL THEN 'queued'
             ELSE 'unaccounted' END AS status,
        d.reason
    FROM acc a
    LEFT JOIN ledger l ON l.unique_code = a.code
    LEFT JOIN dead d ON d.code = a.code
    LEFT JOIN gone g ON g.code = a.code
    LEFT JOIN waiting w ON w.code = a.code
)
SELECT status, CASE WHEN status = 'dlq' THEN reason END, count(*), sum(n),
       coalesce(sum(status = 'sent' AND sent_at >= ?2), 0),
       min(CASE WHEN status = 'sent' THEN sent_at END), max(CASE WHEN status = 'sent' THEN sent_at END),
       coalesce(sum(status = 'queued' AND parked), 0)
FROM status GROUP BY 1, 2 ORDER BY 1, 2";

/// status, reason, codes, accepted, sent since, first sent, last sent, parked
type StatusRow = (
    String,
    Option<String>,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
);

fn reconcile_in(
    c: &Connection,
    campaign: &str,
    now: i64,
) -> Result<CampaignReconciliation, DbError> {
    let window_start = now - i64::try_from(RATE_WINDOW.as_millis()).unwrap_or(i64::MAX);
    let rows: Vec<StatusRow> = c
        .prepare_cached(STATUS_BY_CODE)
        .and_then(|mut s| {
            s.query_map(params![campaign, window_start, now], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect()
        })
        .map_err(DbError::sql("reconcile"))?;
    let mut r = CampaignReconciliation {
        campaign: campaign.to_string(),
        as_of_ms: now,
        ..Default::default()
    };
    for (status, reason, codes, accepted, recent, first, last, parked) in rows {
        r.accepted += accepted;
        r.duplicate_codes += accepted - codes;
        match status.as_str() {
            "sent" => {
                r.sent += codes;
                r.sent_recently += recent;
                r.first_sent_ms = first;
                r.last_sent_ms = last;
            }
            "dlq" => {
                r.dlq += codes;
                r.dlq_by_reason
                    .insert(reason.unwrap_or_default(), json!(codes));
            }
            "cancelled" => r.cancelled += codes,
            "queued" => {
                r.queued += codes;
                r.parked += parked;
            }
            _ => r.unaccounted += codes,
        }
    }
    (r.first_accepted_ms, r.last_accepted_ms) = c
        .query_row(
            "SELECT first_accepted_at, last_accepted_at FROM campaigns WHERE campaign = ?1",
            params![campaign],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap_or((None, None));
    r.achieved_send_rate = achieved_send_rate(r.sent, r.first_sent_ms, r.last_sent_ms);
    Ok(r)
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
        out["campaign"] =
            serde_json::to_value(reconcile_in(c, name, now_ms())?).unwrap_or_default();
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
