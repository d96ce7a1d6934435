//! sesload domain core.
//!
//! Knows no AWS SDK, no SQLite and no HTTP: everything outside is reached through the
//! [`ports`]. Adapters live in `sesload-aws` (Lambda on AWS) and `sesload-local` (one machine).

pub mod config;
pub mod model;
pub mod ports;

pub use config::{ConfigError, PollerConfig};
pub use model::*;
pub use ports::*;
