//! sesload analytics.
//!
//! - [`catalog`]: the SQL files of `sql/` (embedded at build time, or read from a directory), and
//!   name resolution for `sesload query <name>`.
//! - [`params`]: the one parameter convention: every `?` is the campaign (Athena parameterized
//!   queries); locally each `?` becomes a quoted SQL literal.
//! - [`engine`]: runs a query over the local event lake with the DuckDB CLI as a child process
//!   (DuckDB is not linked into the Rust build), through `sql/local/prelude.sql` and
//!   `sql/local/ses_events.sql`.
//! - [`output`]: table / CSV / JSON rendering of a result set.
//! - [`counters`]: the local stack's own counters (accepted, queued, DLQ by reason).
//! - [`report`]: the reconciliation (accepted = sent + DLQ + queued), the terminal summary and the
//!   HTML report with inline SVG charts.

pub mod catalog;
pub mod counters;
pub mod engine;
pub mod output;
pub mod params;
pub mod report;
mod svg;

pub use catalog::{Catalog, Query};
pub use counters::Counters;
pub use engine::{Engine, ResultSet};
pub use report::{Report, build_report};

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
        "query {query} has a `?` parameter (the campaign) but no campaign was given (--campaign)"
    )]
    MissingCampaign { query: String },
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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
