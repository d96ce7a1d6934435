//! sesload on one machine: the durable SQLite queue with SQS semantics, the SQLite adapters
//! of the core ports, the event-source emulator that drives the poller handler like Lambda's
//! SQS event source mapping, the ingest API, `/_local/stats`, the live dashboard and
//! Prometheus metrics. The `sesload up` command wires these to the SES simulator and the
//! poller (see `crates/cli/src/cmd/up.rs`); `docs/local.md` maps every semantic to AWS.

pub mod adapters;
pub mod config;
pub mod db;
pub mod emulator;
pub mod http;
pub mod metrics;
pub mod queue;
pub mod stack;
pub mod stats;

pub use adapters::{
    LocalDeadLetterSink, LocalVisibility, MeteredMailer, SqliteCustomerStore, SqliteLedger,
};
pub use config::LocalConfig;
pub use db::{Db, DbError};
pub use emulator::{BatchHandler, EventSource, MappingSettings};
pub use metrics::Metrics;
pub use queue::{NewMessage, Queue, QueueSettings, Received};

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "sesload.db";
