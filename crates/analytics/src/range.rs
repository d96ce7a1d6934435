//! The time range a report reads: an inclusive range of `dt` partitions.
//!
//! Firehose writes the events under `ses_events/dt=YYYY-MM-DD/hour=HH/` by their **arrival time**
//! at Firehose (UTC), and every saved query filters `dt BETWEEN ? AND ?`. In Athena that filter is
//! what keeps a query cheap: partition projection lists, and Athena reads, only those days.
//!
//! The range comes from, in order: `--from`/`--to`; the campaign's own span when the counters
//! carry it ([`CampaignSpan`], widened by [`LATE_EVENT_DAYS`] for events that arrive after the
//! sends); the runner's default ([`crate::QueryRunner::default_range`]).

use std::fmt;

use serde_json::Value;
pub use time::Date;
use time::{Duration, OffsetDateTime, format_description::FormatItem, macros::format_description};

use crate::{Error, Result};

/// The `dt` format (Glue's `projection.dt.format = yyyy-MM-dd`).
const DT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Days after the campaign's last send that its span's range still reads: deliveries, bounces and
/// complaints arrive after the send, and Firehose buffers up to 15 minutes, so a campaign that
/// sends until 23:59 has events under the next day's `dt`.
pub const LATE_EVENT_DAYS: i64 = 1;

/// Days the Athena runner reads when nothing else gives a range (today and the 6 days before).
pub const DEFAULT_DAYS: i64 = 7;

/// An inclusive range of `dt` partitions (UTC days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtRange {
    pub from: Date,
    pub to: Date,
}

impl DtRange {
    /// `from..=to`; an error when `from` is after `to`.
    pub fn new(from: Date, to: Date) -> Result<Self> {
        if from > to {
            return Err(Error::InvalidRange {
                from: format_day(from),
                to: format_day(to),
            });
        }
        Ok(DtRange { from, to })
    }

    /// The `days` days ending with `today` (at least one).
    pub fn last_days(today: Date, days: i64) -> Self {
        let from = today
            .checked_sub(Duration::days(days.max(1) - 1))
            .unwrap_or(Date::MIN);
        DtRange { from, to: today }
    }

    /// The [`DEFAULT_DAYS`] days ending today (UTC).
    pub fn recent() -> Self {
        Self::last_days(OffsetDateTime::now_utc().date(), DEFAULT_DAYS)
    }

    /// Days in the range, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// The two bounds as `dt` values (`yyyy-MM-dd`).
    pub fn bounds(&self) -> (String, String) {
        (format_day(self.from), format_day(self.to))
    }
}

impl fmt::Display for DtRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, to) = self.bounds();
        write!(f, "{from}..{to}")
    }
}

/// `yyyy-MM-dd`.
pub fn format_day(d: Date) -> String {
    d.format(DT).unwrap_or_else(|_| d.to_string())
}

/// A day given on the command line: `2026-11-27`, or an RFC 3339 time (`2026-11-27T23:30:00+01:00`)
/// whose UTC day is taken (the partitions are UTC days).
pub fn parse_day(s: &str) -> Result<Date> {
    let s = s.trim();
    if let Ok(d) = Date::parse(s, DT) {
        return Ok(d);
    }
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC).date())
        .map_err(|_| Error::InvalidDate {
            value: s.to_owned(),
        })
}

/// When a campaign accepted and sent requests, from the local stack's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignSpan {
    /// Unix milliseconds of its first accepted (or sent) request.
    pub first_ms: i64,
    /// Unix milliseconds of its last sent (or accepted) request.
    pub last_ms: i64,
}

impl CampaignSpan {
    /// From the counters JSON (`sesload_local`'s `CampaignReconciliation`, alone or as the
    /// `campaign` object of `/_local/stats`): `first_accepted_ms`, `first_sent_ms`,
    /// `last_accepted_ms`, `last_sent_ms`. None when it has none of them.
    pub fn from_counters(v: &Value) -> Option<Self> {
        let v = match v.get("campaign") {
            Some(inner @ Value::Object(_)) => inner,
            _ => v,
        };
        let ms = |k: &str| v.get(k).and_then(Value::as_i64);
        let firsts = [ms("first_accepted_ms"), ms("first_sent_ms")];
        let lasts = [ms("last_sent_ms"), ms("last_accepted_ms")];
        let first = firsts.iter().flatten().min().copied();
        let last = lasts.iter().flatten().max().copied();
        match (first, last) {
            (Some(a), Some(b)) => Some(CampaignSpan {
                first_ms: a.min(b),
                last_ms: a.max(b),
            }),
            (Some(t), None) | (None, Some(t)) => Some(CampaignSpan {
                first_ms: t,
                last_ms: t,
            }),
            (None, None) => None,
        }
    }

    /// The partitions that hold the campaign's events: the day of its first request through
    /// [`LATE_EVENT_DAYS`] after the day of its last.
    pub fn dt_range(&self) -> DtRange {
        let day = |ms: i64| {
            OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
                .map(|t| t.date())
                .unwrap_or(Date::MIN)
        };
        let from = day(self.first_ms);
        let last = day(self.last_ms);
        let to = last
            .checked_add(Duration::days(LATE_EVENT_DAYS))
            .unwrap_or(last);
        DtRange { from, to }
    }
}

/// The range to read: `from`/`to` when given, each missing end taken from the campaign's span
/// when known, else from `fallback` (the runner's default).
pub fn resolve(
    from: Option<Date>,
    to: Option<Date>,
    span: Option<CampaignSpan>,
    fallback: DtRange,
) -> Result<DtRange> {
    let default = span.map(|s| s.dt_range()).unwrap_or(fallback);
    DtRange::new(from.unwrap_or(default.from), to.unwrap_or(default.to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    #[test]
    fn parses_days_and_rfc3339_times_as_utc_days() {
        assert_eq!(parse_day("2026-11-27").unwrap(), date!(2026 - 11 - 27));
        assert_eq!(
            parse_day("2026-11-27T23:30:00-02:00").unwrap(),
            date!(2026 - 11 - 28)
        );
        for bad in ["27/11/2026", "2026-13-01", "", "yesterday"] {
            let err = parse_day(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn a_range_cannot_end_before_it_starts() {
        let err = DtRange::new(date!(2026 - 11 - 28), date!(2026 - 11 - 27))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2026-11-28") && err.contains("2026-11-27"),
            "{err}"
        );
        let r = DtRange::new(date!(2026 - 11 - 27), date!(2026 - 11 - 27)).unwrap();
        assert_eq!(r.days(), 1);
        assert_eq!(r.to_string(), "2026-11-27..2026-11-27");
    }

    #[test]
    fn last_days_ends_today() {
        let r = DtRange::last_days(date!(2026 - 12 - 01), 7);
        assert_eq!(r.bounds(), ("2026-11-25".into(), "2026-12-01".into()));
        assert_eq!(r.days(), 7);
    }

    #[test]
    fn the_campaign_span_reads_one_more_day_for_late_events() {
        // 2026-11-27T23:50:00Z .. 2026-11-28T00:10:00Z
        let v = json!({"accepted": 3, "first_accepted_ms": 1_795_823_400_000_i64,
                       "last_accepted_ms": 1_795_823_700_000_i64, "last_sent_ms": 1_795_824_600_000_i64});
        let s = CampaignSpan::from_counters(&v).unwrap();
        assert_eq!(
            s.dt_range().bounds(),
            ("2026-11-27".into(), "2026-11-29".into())
        );
        // The same under `campaign` (a whole /_local/stats response).
        let wrapped = json!({"metrics": {}, "campaign": v});
        assert_eq!(CampaignSpan::from_counters(&wrapped), Some(s));
        assert_eq!(CampaignSpan::from_counters(&json!({"accepted": 3})), None);
    }

    #[test]
    fn flags_override_the_span_which_overrides_the_fallback() {
        let fallback = DtRange::last_days(date!(2026 - 12 - 01), 7);
        let span = CampaignSpan {
            first_ms: 1_795_823_400_000,
            last_ms: 1_795_823_400_000,
        };
        assert_eq!(resolve(None, None, None, fallback).unwrap(), fallback);
        assert_eq!(
            resolve(None, None, Some(span), fallback).unwrap(),
            span.dt_range()
        );
        let r = resolve(Some(date!(2026 - 11 - 20)), None, Some(span), fallback).unwrap();
        assert_eq!(r.bounds(), ("2026-11-20".into(), "2026-11-28".into()));
        assert!(resolve(Some(date!(2026 - 12 - 05)), None, None, fallback).is_err());
    }
}
