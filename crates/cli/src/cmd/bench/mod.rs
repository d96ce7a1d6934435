//! `sesload bench <scenario>`: measurements that print numbers (JSON with `--json`).
//! One file per scenario; each owns its `Args` and returns its result as a JSON object.

pub mod cold_start;
pub mod e2e;
pub mod ingest;
pub mod poller;
pub mod quota;
pub mod sim;

/// Arguments of `sesload bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(clap::Subcommand, Debug)]
enum Scenario {
    /// SES simulator: SendEmail calls/s from a concurrent Rust SDK client.
    Sim(sim::Args),
    /// Poller: emails/s and CPU per email of one instance: SendEmail concurrent vs sequential,
    /// and SendBulkEmail, in one run.
    Poller(poller::Args),
    /// Poller cold start (process start -> ready) and peak RSS at batch 100.
    ColdStart(cold_start::Args),
    /// Ingest API: accepted requests/s and latency, load from a separate process.
    Ingest(ingest::Args),
    /// Queue -> simulator emails/s with simulator latency 0.
    E2e(e2e::Args),
    /// Backlog drained against a MaxSendRate quota: achieved rate, throttling, losses.
    Quota(quota::Args),
}

/// utime + stime of a `/proc/<pid>/stat` file, in seconds.
pub(crate) fn cpu_seconds(stat_path: &str) -> Option<f64> {
    let s = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ (the unit of these fields) is 100 on every Linux target.
    Some(ticks / 100.0)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.scenario {
        Scenario::Sim(a) => sim::run(a),
        Scenario::Poller(a) => poller::run(a),
        Scenario::ColdStart(a) => cold_start::run(a),
        Scenario::Ingest(a) => ingest::run(a),
        Scenario::E2e(a) => e2e::run(a),
        Scenario::Quota(a) => quota::run(a),
    }
}
