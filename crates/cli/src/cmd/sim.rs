//! `sesload sim`: run the SES v2 API simulator alone. Wiring only: the simulator is
//! `sesload-sim`; this builds its `SimConfig` from defaults < `[sim]` of `sesload.toml` < flags.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::{init_logging, shutdown_signal};
use sesload_sim::{BulkRefusal, SimConfig};

/// Arguments of `sesload sim`. Every simulator knob is a flag; unset flags keep the value from
/// `[sim]` in the config file, or the default.
#[derive(clap::Args, Debug, Default)]
#[command(
    after_help = "Point an SDK at it: AWS_ENDPOINT_URL_SES=http://127.0.0.1:PORT (boto3 >= 1.28, AWS CLI v2, Rust SDK), \
any access key, region us-east-1. Inspection: GET /_sim/messages, GET /_sim/stats, POST /_sim/reset, POST /_sim/flush. \
Run-time switches: POST /_sim/account/sending {\"enabled\": bool}, POST /_sim/account/suspension {\"suspended\": bool}, \
POST /_sim/configuration-sets/NAME/sending {\"enabled\": bool} (or the SES operations PutAccountSendingAttributes and \
PutConfigurationSetSendingOptions). See docs/simulator.md."
)]
pub struct Args {
    /// Configuration file whose `[sim]` table configures the simulator (keys as in
    /// docs/simulator.md). Default: ./sesload.toml if it exists.
    #[arg(long, env = "SESLOAD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 = any free port (the bound address is printed).
    #[arg(long, default_value_t = 8788)]
    pub port: u16,
    /// Write `{"endpoint": "...", "port": N}` to this file once listening (for scripts/tests).
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Local data directory; events go to <data-dir>/lake/ses_events/dt=.../hour=.../*.json.
    #[arg(long, default_value = ".sesload")]
    pub data_dir: PathBuf,
    /// Do not write the event lake (events are still counted in /_sim/stats).
    #[arg(long)]
    pub no_lake: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub log_format: LogFormat,

    /// Sandbox account: only verified identities and the mailbox simulator may receive mail;
    /// quota defaults become 1/s and 200 per 24 h.
    #[arg(long)]
    pub sandbox: bool,
    /// MaxSendRate in recipients per second (token bucket; 0 = unlimited). Default 14 (sandbox 1).
    #[arg(long)]
    pub max_send_rate: Option<f64>,
    /// Max24HourSend in recipients per rolling 24 h, simulator recipients exempt (-1 = unlimited).
    /// Default 50000 (sandbox 200).
    #[arg(long, allow_hyphen_values = true)]
    pub max_24_hour_send: Option<i64>,
    /// Length in seconds of the rolling window Max24HourSend and SentLast24Hours count over.
    /// Default 86400 (24 h); a few seconds lets a test exhaust the daily quota and regain it.
    #[arg(long, value_name = "SECONDS")]
    pub daily_window_seconds: Option<u64>,
    /// No quota at all (MaxSendRate 0, Max24HourSend -1).
    #[arg(long)]
    pub no_quota: bool,
    /// Start with the account's sending paused: SendEmail answers 400 SendingPausedException
    /// until PutAccountSendingAttributes or POST /_sim/account/sending resumes it.
    #[arg(long)]
    pub account_sending_paused: bool,
    /// Start with the account suspended: SendEmail answers 400 AccountSuspendedException until
    /// POST /_sim/account/suspension {"suspended": false}.
    #[arg(long)]
    pub account_suspended: bool,
    /// Allow ses:SendEmail only on these sending identities (names such as example.com or
    /// ARNs; * and ? are wildcards). Repeatable; replaces [sim.permissions] identities;
    /// `--allow-identity ''` allows none. Others get 403 AccessDeniedException.
    #[arg(long = "allow-identity", value_name = "NAME_OR_ARN")]
    pub allow_identities: Vec<String>,
    /// Allow ses:SendEmail only with these stored templates (names or ARNs, wildcards).
    /// Repeatable; `--allow-template ''` allows none.
    #[arg(long = "allow-template", value_name = "NAME_OR_ARN")]
    pub allow_templates: Vec<String>,
    /// Allow ses:SendEmail only with these configuration sets (names or ARNs, wildcards).
    /// Repeatable; `--allow-configuration-set ''` allows none.
    #[arg(long = "allow-configuration-set", value_name = "NAME_OR_ARN")]
    pub allow_configuration_sets: Vec<String>,
    /// A verified identity: an address or a domain; `*` verifies everything. Repeatable;
    /// replaces the default (example.com).
    #[arg(long = "verified-identity", value_name = "IDENTITY")]
    pub verified_identities: Vec<String>,
    /// A configuration set that exists at start with a lake event destination. Repeatable;
    /// replaces the default (load-test-config). `--configuration-set ''` = none.
    #[arg(long = "configuration-set", value_name = "NAME")]
    pub configuration_sets: Vec<String>,
    /// Region the simulator claims to be.
    #[arg(long)]
    pub region: Option<String>,
    /// Account id in ARNs and event records.
    #[arg(long)]
    pub account_id: Option<String>,

    /// Fixed per-call latency in ms (sets p50 = p99).
    #[arg(long, conflicts_with_all = ["latency_p50_ms", "latency_p99_ms"])]
    pub latency_ms: Option<f64>,
    /// Median per-call latency in ms (log-normal with --latency-p99-ms). Default 50.
    #[arg(long)]
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile per-call latency in ms. Default 120.
    #[arg(long)]
    pub latency_p99_ms: Option<f64>,
    /// Extra latency of a SendBulkEmail per entry, in ms. Default 1.
    #[arg(long, value_name = "MS")]
    pub bulk_per_entry_ms: Option<f64>,

    /// SendBulkEmail over MaxSendRate or Max24HourSend: `entries` (default) refuses the
    /// entries that do not fit, in order, with ACCOUNT_THROTTLED / ACCOUNT_DAILY_QUOTA_EXCEEDED;
    /// `call` refuses the whole call with 429 TooManyRequestsException / LimitExceededException.
    #[arg(long, value_name = "entries|call")]
    pub bulk_throttle: Option<BulkRefusal>,
    /// SendBulkEmail refused for a reason every entry shares (suspended, paused, configuration
    /// set, sender, template): `call` (default) answers the HTTP error SendEmail would;
    /// `entries` answers 200 with that status (ACCOUNT_SUSPENDED, ...) for every entry.
    #[arg(long, value_name = "call|entries")]
    pub bulk_shared_errors: Option<BulkRefusal>,

    /// Seed of fault injection, latency draws and event delays (same seed + same call
    /// sequence = same faults).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Probability of a 5xx on SendEmail (half InternalFailure 500, half ServiceUnavailable 503).
    #[arg(long)]
    pub fault_error_rate: Option<f64>,
    /// Probability of a slow SendEmail (adds --fault-slow-ms; looks like a timeout to clients).
    #[arg(long)]
    pub fault_slow_rate: Option<f64>,
    /// Extra latency of a slow response in ms. Default 10000.
    #[arg(long)]
    pub fault_slow_ms: Option<u64>,
    /// Probability of an extra 429 TooManyRequestsException on SendEmail beyond the quota.
    #[arg(long)]
    pub fault_throttle_rate: Option<f64>,
    /// Probability that an accepted SendEmail is recorded in full (message log, quota,
    /// events) and then its connection is closed without an answer: the client cannot tell
    /// whether the email went out.
    #[arg(long)]
    pub fault_drop_after_accept_rate: Option<f64>,
    /// Probability that a SendBulkEmail entry fails with TRANSIENT_FAILURE (not sent).
    #[arg(long)]
    pub fault_entry_transient_failure_rate: Option<f64>,
    /// Probability that a SendBulkEmail entry fails with FAILED (not sent).
    #[arg(long)]
    pub fault_entry_failure_rate: Option<f64>,

    /// Delivery/Bounce follow the send after a delay uniform in [min, max] ms. Default 300.
    #[arg(long)]
    pub delivery_delay_ms_min: Option<u64>,
    /// See --delivery-delay-ms-min. Default 1500.
    #[arg(long)]
    pub delivery_delay_ms_max: Option<u64>,
    /// A Complaint follows its Delivery after this many ms. Default 1000.
    #[arg(long)]
    pub complaint_delay_ms: Option<u64>,
    /// Roll a lake file at this many bytes. Default 8 MiB.
    #[arg(long)]
    pub roll_bytes: Option<u64>,
    /// Roll a lake file this many ms after its first record. Default 1000.
    #[arg(long)]
    pub roll_ms: Option<u64>,
    /// How many accepted messages GET /_sim/messages keeps. Default 10000.
    #[arg(long)]
    pub message_log_capacity: Option<usize>,
    /// Largest request body in bytes. Default 40 MiB.
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
}

/// Log output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Reads `[sim]` from a config file (missing table = defaults).
pub fn load_config_file(path: &Path) -> anyhow::Result<SimConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    match table.get("sim") {
        None => Ok(SimConfig::default()),
        Some(v) => v
            .clone()
            .try_into()
            .with_context(|| format!("invalid [sim] section in {}", path.display())),
    }
}

/// defaults < `[sim]` < flags.
pub fn build_config(args: &Args) -> anyhow::Result<SimConfig> {
    let mut c = match &args.config {
        Some(p) => load_config_file(p)?,
        None if Path::new("sesload.toml").exists() => load_config_file(Path::new("sesload.toml"))?,
        None => SimConfig::default(),
    };
    if args.sandbox {
        c.sandbox = true;
    }
    if args.no_quota {
        c.max_send_rate = Some(0.0);
        c.max_24_hour_send = Some(-1);
    }
    if let Some(v) = args.max_send_rate {
        c.max_send_rate = Some(v);
    }
    if let Some(v) = args.max_24_hour_send {
        c.max_24_hour_send = Some(v);
    }
    if let Some(v) = args.daily_window_seconds {
        c.daily_window_seconds = v;
    }
    if args.account_sending_paused {
        c.account_sending_enabled = false;
    }
    if args.account_suspended {
        c.account_suspended = true;
    }
    let list = |v: &[String]| v.iter().filter(|s| !s.is_empty()).cloned().collect();
    if !args.allow_identities.is_empty() {
        c.permissions.identities = Some(list(&args.allow_identities));
    }
    if !args.allow_templates.is_empty() {
        c.permissions.templates = Some(list(&args.allow_templates));
    }
    if !args.allow_configuration_sets.is_empty() {
        c.permissions.configuration_sets = Some(list(&args.allow_configuration_sets));
    }
    if !args.verified_identities.is_empty() {
        c.verified_identities = args.verified_identities.clone();
    }
    if !args.configuration_sets.is_empty() {
        c.configuration_sets = list(&args.configuration_sets);
    }
    if let Some(v) = &args.region {
        c.region = v.clone();
    }
    if let Some(v) = &args.account_id {
        c.account_id = v.clone();
    }
    if let Some(v) = args.latency_ms {
        c.latency.p50_ms = v;
        c.latency.p99_ms = v;
    }
    if let Some(v) = args.latency_p50_ms {
        c.latency.p50_ms = v;
    }
    if let Some(v) = args.latency_p99_ms {
        c.latency.p99_ms = v;
    }
    if let Some(v) = args.bulk_per_entry_ms {
        c.latency.bulk_per_entry_ms = v;
    }
    if let Some(v) = args.bulk_throttle {
        c.bulk_throttle = v;
    }
    if let Some(v) = args.bulk_shared_errors {
        c.bulk_shared_errors = v;
    }
    let f = &mut c.faults;
    if let Some(v) = args.seed {
        f.seed = v;
    }
    if let Some(v) = args.fault_error_rate {
        f.error_rate = v;
    }
    if let Some(v) = args.fault_slow_rate {
        f.slow_rate = v;
    }
    if let Some(v) = args.fault_slow_ms {
        f.slow_ms = v;
    }
    if let Some(v) = args.fault_throttle_rate {
        f.throttle_rate = v;
    }
    if let Some(v) = args.fault_drop_after_accept_rate {
        f.drop_after_accept_rate = v;
    }
    if let Some(v) = args.fault_entry_transient_failure_rate {
        f.entry_transient_failure_rate = v;
    }
    if let Some(v) = args.fault_entry_failure_rate {
        f.entry_failure_rate = v;
    }
    let e = &mut c.events;
    if let Some(v) = args.delivery_delay_ms_min {
        e.delivery_delay_ms_min = v;
    }
    if let Some(v) = args.delivery_delay_ms_max {
        e.delivery_delay_ms_max = v;
    }
    if let Some(v) = args.complaint_delay_ms {
        e.complaint_delay_ms = v;
    }
    if let Some(v) = args.roll_bytes {
        e.roll_bytes = v;
    }
    if let Some(v) = args.roll_ms {
        e.roll_ms = v;
    }
    if args.no_lake {
        e.lake_dir = None;
    } else if e.lake_dir.is_none() {
        e.lake_dir = Some(args.data_dir.join("lake"));
    }
    if let Some(v) = args.message_log_capacity {
        c.message_log_capacity = v;
    }
    if let Some(v) = args.max_body_bytes {
        c.max_body_bytes = v;
    }
    c.validate()?;
    Ok(c)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    init_logging(matches!(args.log_format, LogFormat::Json));
    let config = build_config(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(args, config))
}

async fn serve(args: Args, config: SimConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    let lake = config.events.lake_dir.clone();
    let summary = format!(
        "MaxSendRate {}/s, Max24HourSend {} per {} s, sandbox {}, sending {}, latency p50 {} ms / p99 {} ms (+{} ms per bulk entry), faults: error {} slow {} throttle {} drop-after-accept {} entry transient {} entry failed {} (seed {}), bulk: throttle per {}, shared errors per {}, permissions: {}",
        fmt_rate(config.effective_max_send_rate()),
        fmt_day(config.effective_max_24_hour_send()),
        config.daily_window_seconds,
        config.sandbox,
        if config.account_suspended {
            "suspended"
        } else if config.account_sending_enabled {
            "enabled"
        } else {
            "paused"
        },
        config.latency.p50_ms,
        config.latency.p99_ms,
        config.latency.bulk_per_entry_ms,
        config.faults.error_rate,
        config.faults.slow_rate,
        config.faults.throttle_rate,
        config.faults.drop_after_accept_rate,
        config.faults.entry_transient_failure_rate,
        config.faults.entry_failure_rate,
        config.faults.seed,
        config.bulk_throttle.as_str(),
        config.bulk_shared_errors.as_str(),
        fmt_permissions(&config.permissions),
    );
    let sim = sesload_sim::start(config, listener).await?;
    let endpoint = sim.endpoint_url();
    let port = sim.local_addr().port();
    let lake_text = lake
        .as_ref()
        .map(|p| p.join("ses_events").display().to_string());
    eprintln!(
        "sesload sim: SES v2 simulator listening on {endpoint}\n  {summary}\n  event lake: {}\n  point an SDK at it:\n    export AWS_ENDPOINT_URL_SES={endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1\n    aws sesv2 get-account --endpoint-url {endpoint}\n  inspect: {endpoint}/_sim/messages  {endpoint}/_sim/stats  (POST {endpoint}/_sim/reset)\n  Ctrl-C stops it (pending events are written first).",
        lake_text.as_deref().unwrap_or("off (--no-lake)")
    );
    // One machine-readable line on stdout.
    let ready = serde_json::json!({ "event": "ready", "endpoint": endpoint, "port": port, "lake": lake_text });
    println!("{ready}");
    if let Some(p) = &args.ready_file {
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, ready.to_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, p).with_context(|| format!("writing {}", p.display()))?;
    }
    shutdown_signal().await;
    tracing::info!("stopping: writing pending events");
    let stats = sim.stats();
    sim.shutdown().await?;
    tracing::info!(
        sent = stats.sent_messages,
        throttled = stats.throttled,
        events_pending_flushed = stats.events_pending,
        "SES simulator stopped"
    );
    Ok(())
}

fn fmt_rate(r: f64) -> String {
    if r == 0.0 {
        "unlimited".into()
    } else {
        r.to_string()
    }
}

fn fmt_permissions(p: &sesload_sim::PermissionsConfig) -> String {
    let lists = [
        ("identities", &p.identities),
        ("templates", &p.templates),
        ("configuration_sets", &p.configuration_sets),
    ];
    let scoped: Vec<String> = lists
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v:?}")))
        .collect();
    if scoped.is_empty() {
        "allow all".into()
    } else {
        scoped.join(", ")
    }
}

fn fmt_day(d: i64) -> String {
    if d < 0 {
        "unlimited".into()
    } else {
        d.to_string()
    }
}

#[cfg(test)]
mod tests;
