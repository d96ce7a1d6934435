//! `sesload`: the command line. Wiring only: each subcommand lives in `cmd/<name>.rs`.

mod cmd;
mod process;

/// mimalloc instead of glibc malloc: the stack, the simulator and the benchmarks allocate per
/// request on many threads, where glibc's arenas cost about a quarter of the CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sesload",
    version,
    about = "Queue, personalise and send bulk email through Amazon SES at the rate the account allows, and load-test the pipeline: on AWS, or entirely on this machine.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process; boxing the large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on this machine: ingest API, durable queue, poller, SES simulator, event lake, dashboard.
    Up(cmd::up::Args),
    /// Run the SES v2 API simulator alone (point any AWS SDK at it with an endpoint URL).
    Sim(cmd::sim::Args),
    /// Load N test customers (user_id "1".."N") into the local customer store.
    Seed(cmd::seed::Args),
    /// Inspect and redrive the local dead-letter queue.
    Dlq(cmd::dlq::Args),
    /// Steer a campaign while it runs: list, status (--watch), pause, resume, cancel, redrive; local stack or --aws.
    Campaign(cmd::campaign::Args),
    /// Run one of the saved queries in sql/ over the local event lake.
    Query(cmd::query::Args),
    /// Reconcile a campaign (accepted = sent + DLQ + queued) and write an HTML report.
    Report(cmd::report::Args),
    /// A running local stack's stats and campaign reconciliation; --wait-drained waits until the campaign has left the queue.
    Stats(cmd::stats::Args),
    /// Measure throughput, latency and start-up; prints JSON with --json.
    Bench(cmd::bench::Args),
    /// Recommend batch size, concurrency and timeouts for an SES quota, with costs.
    Plan(cmd::plan::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(a) => cmd::up::run(a),
        Command::Sim(a) => cmd::sim::run(a),
        Command::Seed(a) => cmd::seed::run(a),
        Command::Dlq(a) => cmd::dlq::run(a),
        Command::Campaign(a) => cmd::campaign::run(a),
        Command::Query(a) => cmd::query::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Stats(a) => cmd::stats::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Plan(a) => cmd::plan::run(a),
    }
}
