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

/// The options of the backlog scenarios (`e2e`, `quota`).
#[derive(clap::Args, Debug)]
pub struct BacklogArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The SES operation the poller sends with: `single` (SendEmail) or `bulk`
    /// (SendBulkEmail).
    #[arg(long, default_value = "single", value_name = "API")]
    pub send_api: sesload_core::SendApi,
}

/// The runtime of a bench: two worker threads (the poller's Lambda shape at 1,769 MB).
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// A simulator with no quota (no MaxSendRate, no daily cap) holding the `SimpleEmail`
/// template the poller benches send, answering after `latency`.
pub(crate) async fn unlimited_sim(
    latency: sesload_sim::LatencyConfig,
) -> anyhow::Result<sesload_sim::SimHandle> {
    let config = sesload_sim::SimConfig {
        max_send_rate: Some(0.0),
        max_24_hour_send: Some(-1),
        latency,
        templates: vec![sesload_sim::TemplateSeed {
            name: "SimpleEmail".into(),
            subject: "Hello {{first_name}}".into(),
            text: Some("Your code is {{unique_code}}".into()),
            html: None,
        }],
        ..sesload_sim::SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    Ok(sesload_sim::start(config, listener).await?)
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
