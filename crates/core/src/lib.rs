//! sesload domain core.
//!
//! Knows no AWS SDK, no SQLite and no HTTP: everything outside is reached through the
//! [`ports`]. Adapters live in `sesload-aws` (Lambda on AWS) and `sesload-local` (one machine);
//! [`memory`] holds in-memory ones for tests and benchmarks, and `contract` (feature
//! `contract-tests`) the behaviours every adapter must have.

pub mod cache;
pub mod campaign;
pub mod classify;
pub mod clock;
pub mod config;
#[cfg(feature = "contract-tests")]
pub mod contract;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod pacer;
pub mod ports;
pub mod processor;
pub mod request;

pub use cache::{CacheStats, CachedCustomerStore};
pub use campaign::{
    CampaignChange, CampaignCommand, CampaignControl, CampaignEntry, CampaignError, CampaignState,
    CancelledRecord, SetOutcome, SteerError, Steered, campaign_of_body, check_campaign_name, steer,
};
pub use classify::{FailureClass, classify};
pub use config::{ConfigError, PollerConfig};
pub use model::*;
pub use pacer::{Pacer, Slot};
pub use ports::*;
pub use processor::{
    BatchOutcome, BatchProcessor, BatchReport, DEADLINE_RESERVE, Deadline, NoLedger,
    ProcessorSettings, RateSource, RecordOutcome, RetryCause, SendApi, compose,
    deadline_from_epoch_ms,
};
pub use request::{Policy, Rejection, is_mailbox_simulator, is_valid_tag_text};
