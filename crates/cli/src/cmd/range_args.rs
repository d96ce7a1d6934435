//! `--from` / `--to`: the `dt` partitions `sesload query` and `sesload report` read.

use sesload_analytics::range::{self, CampaignSpan, Date, DtRange};

/// The time range flags (shared by `query` and `report`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RangeArgs {
    /// First day of events to read: the `dt` partition (UTC day the events reached Firehose),
    /// `YYYY-MM-DD` or an RFC 3339 time. Default: the campaign's first day when the counters
    /// know it; otherwise locally the lake's first day, on Athena 6 days before today.
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    pub from: Option<Date>,
    /// Last day of events to read (inclusive). Default: the day after the campaign's last send
    /// when the counters know it (late deliveries, bounces); otherwise locally the lake's last
    /// day, on Athena today. On Athena the range is what a query costs: it reads only these days.
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    pub to: Option<Date>,
}

impl RangeArgs {
    /// The flags, else the campaign's span, else the runner's default.
    pub fn resolve(
        &self,
        span: Option<CampaignSpan>,
        fallback: DtRange,
    ) -> anyhow::Result<DtRange> {
        Ok(range::resolve(self.from, self.to, span, fallback)?)
    }
}

fn parse_day(s: &str) -> Result<Date, String> {
    range::parse_day(s).map_err(|e| e.to_string())
}
