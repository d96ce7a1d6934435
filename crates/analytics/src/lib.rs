//! sesload analytics.
//!
//! - [`catalog`]: the SQL files of `sql/` (embedded at build time, or read from a directory), and
//!   name resolution for `sesload query <name>`.
//! - [`params`]: the one parameter convention: three positional `?`, the campaign then the first
//!   and last `dt` partition, bound as parameters by every runner.
//! - [`range`]: the `dt` range a report reads (`--from`/`--to`, the campaign's span, a default).
//! - [`runner`]: the [`QueryRunner`] port (and [`ResultSet`]): what the report is written against.
//! - [`engine`]: the local [`QueryRunner`]: the DuckDB CLI as a child process over the local event
//!   lake (DuckDB is not linked into the Rust build), through `sql/local/prelude.sql` and
//!   `sql/local/ses_events.sql`. Athena's runner lives in the AWS adapter crate, so this crate
//!   stays free of AWS SDKs.
//! - [`output`]: table / CSV / JSON rendering of a result set.
//! - [`counters`]: the local stack's own counters (accepted, queued, DLQ by reason).
//! - [`report`]: the reconciliation (accepted = sent + DLQ + queued), the terminal summary and the
//!   HTML report with inline SVG charts.

pub mod catalog;
pub mod counters;
pub mod engine;
pub mod output;
pub mod params;
pub mod range;
pub mod report;
pub mod runner;
mod svg;

pub use catalog::{Catalog, Query};
pub use counters::Counters;
pub use engine::Engine;
pub use params::QueryParams;
pub use range::{CampaignSpan, DtRange};
pub use report::{Report, build_report};
pub use runner::{QueryRunner, ResultSet};

use std::path::PathBuf;

/// Everything that can go wrong in analytics, each naming the bad value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown query {spec:?}; saved queries: {available}")]
    UnknownQuery { spec: String, available: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid campaign {value:?}: {reason}")]
    InvalidCampaign { value: String, reason: &'static str },
    #[error(
        "query {query} has `?` parameters (the campaign and a dt range) but no campaign was given (--campaign)"
    )]
    MissingCampaign { query: String },
    #[error(
        "query {query} has {found} `?` placeholder(s); a saved query has none or exactly 3, in this order: the campaign, then the first and last dt (`... = ? AND dt BETWEEN ? AND ?`)"
    )]
    Placeholders { query: String, found: usize },
    #[error("invalid day {value:?}: expected YYYY-MM-DD (a UTC day) or an RFC 3339 time")]
    InvalidDate { value: String },
    #[error("invalid dt range: {from} is after {to}")]
    InvalidRange { from: String, to: String },
    #[error("query {query} must be one SQL statement, found a `;` before its end")]
    MultipleStatements { query: String },
    #[error("query {query}: unterminated {what}")]
    Unterminated { query: String, what: &'static str },
    #[error(
        "DuckDB CLI not found: set SESLOAD_DUCKDB, or install it with `.venv/bin/pip install duckdb-cli` (looked in: {looked})"
    )]
    DuckdbMissing { looked: String },
    #[error("no SES events under {lake}: expected {lake}/ses_events/dt=YYYY-MM-DD/hour=HH/*.json")]
    EmptyLake { lake: PathBuf },
    #[error("failed to start {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("DuckDB failed running {query}: {stderr}")]
    Engine { query: String, stderr: String },
    #[error("cannot parse DuckDB output for {query}: {detail}")]
    Output { query: String, detail: String },
    #[error("invalid counters from {origin}: {detail}")]
    Counters { origin: String, detail: String },
    /// A runner outside this crate failed (e.g. Athena: the query, its state and Athena's reason).
    #[error(transparent)]
    Runner(Box<dyn std::error::Error + Send + Sync + 'static>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
