//! `sesload up`: the whole pipeline on this machine, in the foreground.
//!
//! Wiring only: flags and `sesload.toml` → `LocalConfig` → `sesload_stack::LocalStack` (which
//! builds the ingest API, durable queue, dashboard, SES simulator, event-source emulator and
//! poller instances) → banner and `--ready-file` → wait for Ctrl-C / SIGTERM → stop.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sesload_stack::{Endpoints, LocalConfig, LocalStack, StackMode};

use crate::process::{init_logging, shutdown_signal};

/// Arguments of `sesload up`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Configuration file (keys = the Terraform variable names; `[sim]` = simulator settings);
    /// `none` = built-in defaults only.
    #[arg(long, env = "SESLOAD_CONFIG", default_value = "sesload.toml")]
    pub config: PathBuf,
    /// Data directory (database, event lake).
    #[arg(long, env = "SESLOAD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTTP port of the ingest API and dashboard (0 = any free port).
    #[arg(long, env = "SESLOAD_PORT")]
    pub port: Option<u16>,
    /// Port of the SES simulator (0 = any free port).
    #[arg(long, env = "SESLOAD_SIM_PORT")]
    pub sim_port: Option<u16>,
    /// API key for x-api-key (default: config `api_key`, else a generated one kept in the data dir).
    #[arg(long, env = "SESLOAD_API_KEY")]
    pub api_key: Option<String>,
    /// Override any config key: `--set batch_size=50 --set sim.max_send_rate=200`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub set: Vec<(String, String)>,
    /// Write a JSON file with the bound URLs once everything is ready.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Serve only the ingest API and queue (no simulator, no poller): ingest benchmarks.
    #[arg(long, hide = true)]
    pub ingest_only: bool,
    /// Log as JSON lines.
    #[arg(long)]
    pub json_logs: bool,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// Resolve the configuration of `up` from file, env and flags.
pub fn load_config(args: &Args) -> anyhow::Result<LocalConfig> {
    let required =
        std::env::var_os("SESLOAD_CONFIG").is_some() || args.config != Path::new("sesload.toml");
    let mut overrides = LocalConfig::sim_env_overrides(std::env::vars());
    overrides.extend(args.set.iter().cloned());
    let file = (args.config != Path::new("none")).then_some(args.config.as_path());
    let mut cfg = LocalConfig::load(file, required, |k| std::env::var(k).ok(), &overrides)?;
    // The typed flags win over everything (they are the most specific).
    if let Some(p) = args.port {
        cfg.port = p;
    }
    if let Some(p) = args.sim_port {
        cfg.sim_port = p;
    }
    if let Some(d) = &args.data_dir {
        cfg.data_dir = d.display().to_string();
    }
    if let Some(k) = &args.api_key {
        cfg.api_key = k.clone();
    }
    Ok(cfg)
}

fn banner(ep: &Endpoints, cfg: &LocalConfig) -> String {
    format!(
        "\n  sesload local stack is up\n\n  \
         ingest     POST {ingest}   (x-api-key: {key})\n  \
         dashboard  {dash}\n  \
         stats      {stats}\n  \
         metrics    {metrics}\n  \
         openapi    {openapi}\n  \
         SES sim    {sim}   (configuration set {set}, template {tpl})\n  \
         data       {db}\n  \
         lake       {lake}\n\n  \
         batch_size={bs} maximum_concurrency={mc} window={w}s function_timeout={ft}s visibility={v}s max_receive_count={mrc}\n  \
         send_api={api} ({api_call})\n\n  \
         Ctrl-C to stop.\n",
        ingest = ep.ingest_url,
        key = ep.api_key,
        dash = ep.dashboard_url,
        stats = ep.stats_url,
        metrics = ep.metrics_url,
        openapi = ep.openapi_url,
        sim = ep.sim_url.as_deref().unwrap_or("-"),
        set = cfg.configuration_set_name,
        tpl = cfg.template_name,
        db = ep.db,
        lake = ep.lake,
        bs = cfg.batch_size,
        mc = cfg.maximum_concurrency,
        w = cfg.maximum_batching_window_in_seconds,
        ft = cfg.function_timeout_seconds,
        v = cfg.visibility_timeout_seconds,
        mrc = cfg.max_receive_count,
        api = cfg.send_api,
        api_call = match cfg.send_api {
            sesload_core::SendApi::Single => "SES SendEmail, one email per call",
            sesload_core::SendApi::Bulk => "SES SendBulkEmail, up to 50 emails per call",
        },
    )
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    init_logging(args.json_logs);
    let cfg = load_config(&args)?;
    let mode = if args.ingest_only {
        StackMode::IngestOnly
    } else {
        StackMode::Full
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let stack = LocalStack::start(cfg.clone(), mode).await?;
        let endpoints = stack.endpoints();
        eprintln!("{}", banner(&endpoints, &cfg));
        if let Some(p) = &args.ready_file {
            write_atomic(p, &serde_json::to_string_pretty(&endpoints)?)?;
        }
        shutdown_signal().await;
        eprintln!("stopping: letting running batches finish, writing pending events…");
        if let Some(p) = &args.ready_file {
            let _ = std::fs::remove_file(p);
        }
        stack.stop().await?;
        eprintln!("stopped.");
        Ok(())
    })
}
