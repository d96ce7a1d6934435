//! One module per subcommand; each owns its `Args` and `run`.
pub mod athena_args;
pub mod bench;
pub mod campaign;
pub mod dlq;
pub mod plan;
pub mod query;
pub mod range_args;
pub mod report;
pub mod seed;
pub mod sim;
pub mod stats;
pub mod up;
