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

/// `--data-dir`: where the local stack keeps its state, the same flag in every command that
/// reads it.
#[derive(clap::Args, Debug, Clone)]
pub struct DataDirArgs {
    /// The local stack's data directory: its database `<data-dir>/sesload.db`, event lake
    /// `<data-dir>/lake` and generated API key `<data-dir>/api_key`.
    #[arg(
        long,
        env = "SESLOAD_DATA_DIR",
        default_value = ".sesload",
        global = true
    )]
    pub data_dir: std::path::PathBuf,
}
