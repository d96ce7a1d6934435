//! The load-test report: the saved queries' results plus the local stack's counters, reconciled
//! (accepted = sent + DLQ + queued + duplicates acknowledged without sending), as a terminal summary
//! and an HTML page with inline SVG charts.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::Result;
use crate::catalog::Catalog;
use crate::counters::Counters;
use crate::output::cell;
use crate::params::QueryParams;
use crate::range::DtRange;
use crate::runner::{QueryRunner, ResultSet};
use crate::svg::{Series, bar_chart, esc, hbar_chart, line_chart};

mod html;

/// The numbers a person reads first.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reconciliation {
    pub campaign: String,
    /// First and last `dt` partition the queries read (yyyy-MM-dd).
    pub dt_from: String,
    pub dt_to: String,
    /// From the local stack (None without counters).
    pub accepted: Option<u64>,
    /// Requests SES accepted, from the event lake (distinct unique_codes with an SES message id).
    pub sent: u64,
    pub dlq: Option<u64>,
    pub dlq_by_reason: BTreeMap<String, u64>,
    pub queued: Option<u64>,
    /// Accepted requests that repeated a unique_code and were acknowledged without a send.
    pub duplicates_skipped: Option<u64>,
    /// Requests of a cancelled campaign acknowledged without a send.
    pub cancelled: Option<u64>,
    /// accepted - (sent + dlq + queued + duplicates_skipped + cancelled), when positive.
    pub lost: Option<u64>,
    /// (sent + dlq + queued + duplicates_skipped + cancelled) - accepted, when positive: sends the
    /// stack did not account for.
    pub surplus: Option<u64>,
    /// unique_codes sent as more than one SES message (query 02 / 06). Must be 0.
    pub duplicates: u64,
    /// Extra SES messages beyond the first per unique_code.
    pub duplicate_sends: u64,
    /// Message ids whose Send event was stored more than once (event-level, not a second email).
    pub duplicate_send_events: u64,
    pub delivered: u64,
    pub bounced: u64,
    pub complained: u64,
    pub rendering_failed: u64,
    pub rejected: u64,
    pub delayed: u64,
    pub pending: u64,
    pub achieved_send_rate: Option<f64>,
    pub max_send_rate: Option<f64>,
    /// achieved_send_rate / max_send_rate.
    pub utilisation: Option<f64>,
    pub ses_send_p50_ms: Option<f64>,
    pub ses_send_p99_ms: Option<f64>,
    pub delivery_p50_ms: Option<f64>,
    pub delivery_p99_ms: Option<f64>,
    /// Poller invocations the local stack abandoned at the function timeout (from the counters).
    pub invocation_timeouts: Option<u64>,
    /// Why the run failed (empty = passed).
    pub problems: Vec<String>,
}

impl Reconciliation {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct Report {
    pub campaign: String,
    /// Where the queries ran ([`QueryRunner::describe`]).
    pub source: String,
    /// The `dt` partitions they read.
    pub range: DtRange,
    pub summary: ResultSet,
    pub duplicates: ResultSet,
    pub timeline: ResultSet,
    pub latency: ResultSet,
    pub bounces: ResultSet,
    pub reconciliation_inputs: ResultSet,
    pub segments: ResultSet,
    pub histogram: ResultSet,
    pub counters: Option<Counters>,
    pub reconciliation: Reconciliation,
}

/// Run the saved queries for `campaign` over the `range` partitions and reconcile them with the
/// counters. The same code whichever runner executes the SQL.
pub fn build_report(
    runner: &dyn QueryRunner,
    catalog: &Catalog,
    campaign: &str,
    range: DtRange,
    counters: Option<Counters>,
    quota: Option<f64>,
) -> Result<Report> {
    const NAMES: [&str; 8] = [
        "01_campaign_summary",
        "02_duplicates",
        "03_throughput",
        "04_latency",
        "05_bounces_complaints",
        "06_reconciliation",
        "07_throughput_segments",
        "08_latency_histogram",
    ];
    let queries = NAMES
        .iter()
        .map(|n| catalog.query(n))
        .collect::<Result<Vec<_>>>()?;
    // One call: DuckDB reads the lake once, Athena runs the queries side by side.
    let params = QueryParams::new(Some(campaign), range);
    let mut results = runner.run_many(&queries, &params)?.into_iter();
    let mut next = || results.next().unwrap_or_default();
    let (summary, duplicates, timeline, latency) = (next(), next(), next(), next());
    let (bounces, reconciliation_inputs, segments, histogram) = (next(), next(), next(), next());
    let mut reconciliation = reconcile(
        campaign,
        &reconciliation_inputs,
        &latency,
        counters.as_ref(),
        quota,
    );
    (reconciliation.dt_from, reconciliation.dt_to) = range.bounds();
    let source = match runner.usage() {
        Some(usage) => format!("{}; {usage}", runner.describe()),
        None => runner.describe(),
    };
    Ok(Report {
        campaign: campaign.to_owned(),
        source,
        range,
        summary,
        duplicates,
        timeline,
        latency,
        bounces,
        reconciliation_inputs,
        segments,
        histogram,
        counters,
        reconciliation,
    })
}

/// The reconciliation from query 06 (and 04) and the counters.
pub fn reconcile(
    campaign: &str,
    inputs: &ResultSet,
    latency: &ResultSet,
    counters: Option<&Counters>,
    quota: Option<f64>,
) -> Reconciliation {
    let u = |c: &str| inputs.u64(0, c);
    let mut r = Reconciliation {
        campaign: campaign.to_owned(),
        sent: u("sent_requests"),
        duplicates: u("duplicate_unique_codes"),
        duplicate_sends: u("duplicate_sends"),
        duplicate_send_events: u("duplicate_send_events"),
        delivered: u("delivered"),
        bounced: u("bounced"),
        complained: u("complained"),
        rendering_failed: u("rendering_failed"),
        rejected: u("rejected"),
        delayed: u("delivery_delayed"),
        pending: u("pending"),
        achieved_send_rate: inputs.f64(0, "achieved_send_rate"),
        ..Default::default()
    };
    for row in 0..latency.rows.len() {
        if latency.str(row, "metric") == Some("processing_time_ms") {
            r.delivery_p50_ms = latency.f64(row, "p50_ms");
            r.delivery_p99_ms = latency.f64(row, "p99_ms");
        }
    }
    r.max_send_rate = quota.or(counters.and_then(|c| c.max_send_rate));
    if let (Some(a), Some(q)) = (r.achieved_send_rate, r.max_send_rate)
        && q > 0.0
    {
        r.utilisation = Some(a / q);
    }
    if let Some(c) = counters {
        r.accepted = Some(c.accepted);
        r.dlq = Some(c.dlq);
        r.dlq_by_reason = c.dlq_by_reason.clone();
        r.queued = Some(c.queued);
        r.duplicates_skipped = Some(c.duplicate_codes);
        r.cancelled = Some(c.cancelled);
        r.ses_send_p50_ms = c.ses_send_ms.map(|l| l.p50);
        r.ses_send_p99_ms = c.ses_send_ms.map(|l| l.p99);
        r.invocation_timeouts = c.invocation_timeouts;
        let accounted = r.sent + c.dlq + c.queued + c.duplicate_codes + c.cancelled;
        r.lost = Some(c.accepted.saturating_sub(accounted));
        r.surplus = Some(accounted.saturating_sub(c.accepted));
        if let Some(lost) = r.lost.filter(|l| *l > 0) {
            r.problems.push(format!(
                "{lost} accepted request(s) are neither sent, in the DLQ, cancelled nor queued (lost)"
            ));
        }
    }
    if r.duplicates > 0 {
        r.problems.push(format!(
            "{} unique_code(s) were sent more than once ({} extra email(s))",
            r.duplicates, r.duplicate_sends
        ));
    }
    r
}

/// `  dlq by reason: unknown_customer 3, access_denied 1` and a newline; empty without dead
/// letters.
pub fn dlq_by_reason_line<K, V>(by_reason: impl IntoIterator<Item = (K, V)>) -> String
where
    K: std::fmt::Display,
    V: std::fmt::Display,
{
    let reasons: Vec<String> = by_reason
        .into_iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if reasons.is_empty() {
        return String::new();
    }
    format!("  dlq by reason: {}\n", reasons.join(", "))
}

fn opt_u(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "n/a".into())
}

fn opt_f(v: Option<f64>, unit: &str) -> String {
    v.map(|x| format!("{x:.1}{unit}"))
        .unwrap_or_else(|| "n/a".into())
}

impl Report {
    /// A note when the campaign's events reach the last day read: a later `--to` may find more.
    pub fn range_note(&self) -> Option<String> {
        let last = self.summary.str(0, "last_event_at")?;
        let (_, to) = self.range.bounds();
        last.starts_with(&to).then(|| {
            format!(
                "events reach the last day read ({to}): a later --to may find more (late deliveries, bounces, complaints)"
            )
        })
    }

    /// Lines for the terminal.
    pub fn terminal_summary(&self) -> String {
        let r = &self.reconciliation;
        let mut s = String::new();
        let _ = writeln!(s, "campaign {}", r.campaign);
        let _ = writeln!(s, "  events read: dt {} ({})", self.range, self.source);
        if let Some(note) = self.range_note() {
            let _ = writeln!(s, "  note: {note}");
        }
        let cancelled = match r.cancelled {
            Some(n) if n > 0 => format!(" + cancelled {n}"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  accepted {}  = sent {} + dlq {} + queued {} + duplicates skipped {}{cancelled}   lost {}",
            opt_u(r.accepted),
            r.sent,
            opt_u(r.dlq),
            opt_u(r.queued),
            opt_u(r.duplicates_skipped),
            opt_u(r.lost)
        );
        s.push_str(&dlq_by_reason_line(&r.dlq_by_reason));
        if let Some(x) = r.surplus.filter(|x| *x > 0) {
            let _ = writeln!(s, "  warning: {x} send(s) more than the stack accounts for");
        }
        let _ = writeln!(
            s,
            "  delivered {}  bounced {}  complained {}  rendering failures {}  rejected {}  delayed {}  no outcome yet {}",
            r.delivered,
            r.bounced,
            r.complained,
            r.rendering_failed,
            r.rejected,
            r.delayed,
            r.pending
        );
        let _ = writeln!(
            s,
            "  duplicates {} (extra emails {}; duplicate Send events {})",
            r.duplicates, r.duplicate_sends, r.duplicate_send_events
        );
        let _ = writeln!(
            s,
            "  send rate {} vs quota {}{}",
            opt_f(r.achieved_send_rate, "/s"),
            opt_f(r.max_send_rate, "/s"),
            r.utilisation
                .map(|u| format!(" ({:.0} %)", u * 100.0))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "  SES call latency p50 {} p99 {}   delivery latency p50 {} p99 {}",
            opt_f(r.ses_send_p50_ms, " ms"),
            opt_f(r.ses_send_p99_ms, " ms"),
            opt_f(r.delivery_p50_ms, " ms"),
            opt_f(r.delivery_p99_ms, " ms")
        );
        if let Some(n) = r.invocation_timeouts {
            let _ = writeln!(s, "  invocation timeouts {n}");
        }
        if self.counters.is_none() {
            let _ = writeln!(
                s,
                "  note: no local-stack counters (accepted / DLQ / queued unknown): lost cannot be checked"
            );
        }
        if r.ok() {
            let _ = writeln!(s, "  PASS");
        } else {
            for p in &r.problems {
                let _ = writeln!(s, "  FAIL: {p}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn inputs(sent: u64, dup: u64) -> ResultSet {
        let cols = [
            ("sent_requests", sent),
            ("duplicate_unique_codes", dup),
            ("duplicate_sends", dup),
            ("delivered", sent),
        ];
        ResultSet {
            columns: cols.iter().map(|c| c.0.to_string()).collect(),
            types: vec!["BIGINT".into(); cols.len()],
            rows: vec![cols.iter().map(|c| Value::from(c.1)).collect()],
        }
    }

    fn counters(accepted: u64, dlq: u64, queued: u64) -> Counters {
        Counters::from_value(
            "t",
            serde_json::json!({"accepted": accepted, "dlq_by_reason": {"unknown_customer": dlq}, "queued": queued}),
        )
        .unwrap()
    }

    #[test]
    fn balanced_run_passes() {
        let r = reconcile(
            "c",
            &inputs(90, 0),
            &ResultSet::default(),
            Some(&counters(100, 6, 4)),
            Some(14.0),
        );
        assert_eq!(r.lost, Some(0));
        assert!(r.ok(), "{:?}", r.problems);
    }

    #[test]
    fn lost_and_duplicates_fail() {
        let r = reconcile(
            "c",
            &inputs(89, 1),
            &ResultSet::default(),
            Some(&counters(100, 6, 4)),
            None,
        );
        assert_eq!(r.lost, Some(1));
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    }

    #[test]
    fn cancelled_requests_are_accounted_for() {
        let c = Counters::from_value(
            "t",
            serde_json::json!({"accepted": 100, "dlq_by_reason": {"unknown_customer": 6}, "queued": 0, "cancelled": 4}),
        )
        .unwrap();
        let r = reconcile("c", &inputs(90, 0), &ResultSet::default(), Some(&c), None);
        assert_eq!((r.lost, r.cancelled), (Some(0), Some(4)));
        assert!(r.ok(), "{:?}", r.problems);
    }

    #[test]
    fn without_counters_only_duplicates_are_checked() {
        let r = reconcile("c", &inputs(89, 0), &ResultSet::default(), None, None);
        assert_eq!(r.lost, None);
        assert!(r.ok());
    }
}
