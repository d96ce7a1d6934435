//! sesload on one machine: the durable SQLite queue with SQS semantics, the SQLite adapters
//! of the core ports, the event-source emulator that drives the poller handler like Lambda's
//! SQS event source mapping, the ingest API, `/_local/stats` with the campaign reconciliation,
//! the live dashboard and Prometheus metrics. The `sesload-stack` crate composes these with the
//! SES simulator and the poller into the running stack; `docs/local.md` maps every semantic to
//! AWS.

pub mod adapters;
pub mod admin;
pub mod campaigns;
pub mod config;
pub mod customers;
pub mod db;
pub mod emulator;
pub mod fleet;
pub mod http;
pub mod metrics;
pub mod queue;
pub mod services;
pub mod stats;

pub use adapters::{LocalDeadLetterSink, LocalVisibility, SqliteCustomerStore, SqliteLedger};
pub use admin::Admin;
pub use campaigns::{CampaignSources, SqliteCampaignControl};
pub use config::LocalConfig;
pub use db::{Db, DbError};
pub use emulator::{BatchHandler, EventSource, InvocationContext, MappingSettings};
pub use fleet::{LocalParking, SqliteSchedule};
pub use metrics::Metrics;
pub use queue::{NewMessage, Queue, QueueSettings, Received};
pub use services::Services;
pub use stats::CampaignReconciliation;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "sesload.db";
