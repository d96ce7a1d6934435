//! `sesload up`: the whole pipeline on this machine, in the foreground.
//!
//! Wiring only (the logic lives in `sesload-local`, `sesload-sim`, `sesload-aws`, `sesload-core`):
//! ingest API + durable queue + dashboard (`sesload_local::stack::Services`), the SES simulator
//! on its own listener, set up through the real SDK (configuration set `load-test-config` with an
//! event destination into `<data-dir>/lake`, template `SimpleEmail`), the core `BatchProcessor`
//! with the real SES v2 adapter pointed at the simulator and the SQLite adapters, driven by the
//! event-source emulator through `sesload_aws::sqs_event::handle_sqs_event_reported` — the same
//! entry point as the Lambda.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use sesload_aws::ses::{SesMailer, ses_client_for_endpoint};
use sesload_core::{BatchProcessor, ProcessorSettings, RateSource};
use sesload_local::emulator::BatchHandler;
use sesload_local::stack::Services;
use sesload_local::{
    EventSource, LocalConfig, LocalDeadLetterSink, LocalVisibility, MappingSettings, Metrics,
    SqliteCustomerStore, SqliteLedger,
};

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
    if let Some(p) = args.port {
        overrides.push(("port".into(), p.to_string()));
    }
    if let Some(p) = args.sim_port {
        overrides.push(("sim_port".into(), p.to_string()));
    }
    if let Some(d) = &args.data_dir {
        overrides.push(("data_dir".into(), format!("{:?}", d.display().to_string())));
    }
    if let Some(k) = &args.api_key {
        overrides.push(("api_key".into(), format!("{k:?}")));
    }
    let file = (args.config != Path::new("none")).then_some(args.config.as_path());
    Ok(LocalConfig::load(
        file,
        required,
        |k| std::env::var(k).ok(),
        &overrides,
    )?)
}

type LocalProcessor = BatchProcessor<
    SqliteCustomerStore,
    SqliteLedger,
    SesMailer,
    LocalDeadLetterSink,
    LocalVisibility,
>;

/// The poller handler as the event source mapping sees it.
pub struct PollerHandler {
    processor: LocalProcessor,
    metrics: Arc<Metrics>,
}

impl BatchHandler for PollerHandler {
    async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        let (resp, report) =
            sesload_aws::sqs_event::handle_sqs_event_reported(&self.processor, event).await;
        let m = &self.metrics;
        Metrics::add(&m.emails_sent, report.emails_sent as u64);
        Metrics::add(&m.emails_throttled, report.emails_throttled as u64);
        Metrics::add(&m.emails_dead_lettered, report.emails_dead_lettered as u64);
        Metrics::add(&m.duplicates_skipped, report.duplicates_skipped as u64);
        Metrics::add(&m.ambiguous_retries, report.ambiguous_retries as u64);
        for ms in &report.ses_send_ms {
            m.observe_ses_send_ms(*ms);
        }
        Ok(resp)
    }
}

/// The running stack.
pub struct Stack {
    pub services: Services,
    pub sim: Option<Arc<sesload_sim::SimHandle>>,
    pub event_source: Option<EventSource>,
    pub api_key: String,
    pub data_dir: PathBuf,
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// URLs and paths of a running stack (the `--ready-file` content).
pub fn ready_info(stack: &Stack) -> serde_json::Value {
    let base = format!("http://{}", stack.services.addr);
    serde_json::json!({
        "url": base,
        "ingest_url": format!("{base}{}", sesload_local::http::INGEST_PATH),
        "target": format!("{base}/send_messages"),
        "dashboard_url": format!("{base}/dashboard"),
        "stats_url": format!("{base}/_local/stats"),
        "metrics_url": format!("{base}/metrics"),
        "openapi_url": format!("{base}/openapi.json"),
        "sim_url": stack.sim.as_ref().map(|s| s.endpoint_url()),
        "api_key": stack.api_key,
        "data_dir": stack.data_dir.display().to_string(),
        "db": stack.data_dir.join(sesload_local::DB_FILE).display().to_string(),
        "lake": stack.data_dir.join("lake").display().to_string(),
        "pid": std::process::id(),
    })
}

fn resolve_api_key(cfg: &LocalConfig, data_dir: &Path) -> anyhow::Result<String> {
    if !cfg.api_key.is_empty() {
        return Ok(cfg.api_key.clone());
    }
    let path = data_dir.join("api_key");
    if let Ok(k) = std::fs::read_to_string(&path)
        && !k.trim().is_empty()
    {
        return Ok(k.trim().to_string());
    }
    let key = format!("local-{}", uuid::Uuid::new_v4().simple());
    std::fs::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// Build the simulator configuration from `[sim]`, with the lake under the data dir and no
/// pre-made configuration sets (the stack creates its own through the SDK).
fn sim_config(cfg: &LocalConfig, data_dir: &Path) -> anyhow::Result<sesload_sim::SimConfig> {
    let mut table = cfg.sim.clone();
    if !table.contains_key("configuration_sets") {
        table.insert("configuration_sets".into(), toml::Value::Array(Vec::new()));
    }
    let mut sc: sesload_sim::SimConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("invalid [sim] section: {e}"))?;
    if sc.events.lake_dir.is_none() {
        sc.events.lake_dir = Some(data_dir.join("lake"));
    }
    Ok(sc)
}

/// Create the configuration set, its event destination and the template through the SDK.
async fn setup_ses(client: &aws_sdk_sesv2::Client, cfg: &LocalConfig) -> anyhow::Result<()> {
    use aws_sdk_sesv2::types::{
        EmailTemplateContent, EventDestinationDefinition, EventType, KinesisFirehoseDestination,
    };
    let exists = |code: Option<&str>| code == Some("AlreadyExistsException");
    let set = &cfg.configuration_set_name;
    if let Err(e) = client
        .create_configuration_set()
        .configuration_set_name(set)
        .send()
        .await
    {
        let e = e.into_service_error();
        anyhow::ensure!(
            exists(aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e)),
            "CreateConfigurationSet {set}: {e}"
        );
    }
    let dest = EventDestinationDefinition::builder()
        .enabled(true)
        .set_matching_event_types(Some(vec![
            EventType::Send,
            EventType::Delivery,
            EventType::Bounce,
            EventType::Complaint,
            EventType::Reject,
            EventType::RenderingFailure,
            EventType::DeliveryDelay,
        ]))
        .kinesis_firehose_destination(
            KinesisFirehoseDestination::builder()
                .iam_role_arn("arn:aws:iam::123456789012:role/sesload-local-firehose")
                .delivery_stream_arn(
                    "arn:aws:firehose:us-east-1:123456789012:deliverystream/sesload-local-lake",
                )
                .build()
                .context("firehose destination")?,
        )
        .build();
    if let Err(e) = client
        .create_configuration_set_event_destination()
        .configuration_set_name(set)
        .event_destination_name("lake")
        .event_destination(dest)
        .send()
        .await
    {
        let e = e.into_service_error();
        anyhow::ensure!(
            exists(aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e)),
            "CreateConfigurationSetEventDestination {set}/lake: {e}"
        );
    }
    let content = EmailTemplateContent::builder()
        .subject("Hello {{first_name}}, your code is {{unique_code}}")
        .text("Dear {{first_name}},\n\nthis is a load test email. Your unique code is {{unique_code}}.\n")
        .html("<p>Dear {{first_name}},</p><p>this is a load test email. Your unique code is <b>{{unique_code}}</b>.</p>")
        .build();
    if let Err(e) = client
        .create_email_template()
        .template_name(&cfg.template_name)
        .template_content(content)
        .send()
        .await
    {
        let e = e.into_service_error();
        anyhow::ensure!(
            exists(aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e)),
            "CreateEmailTemplate {}: {e}",
            cfg.template_name
        );
    }
    Ok(())
}

impl Stack {
    /// Start everything. `ingest_only`: no simulator, no poller.
    pub async fn start(cfg: LocalConfig, ingest_only: bool) -> anyhow::Result<Self> {
        let data_dir = PathBuf::from(&cfg.data_dir);
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating data dir {}", data_dir.display()))?;
        let api_key = resolve_api_key(&cfg, &data_dir)?;

        let mut sim = None;
        if !ingest_only {
            let sc = sim_config(&cfg, &data_dir)?;
            let l = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.sim_port))
                .await
                .with_context(|| {
                    format!("binding the simulator on {}:{}", cfg.host, cfg.sim_port)
                })?;
            sim = Some(
                sesload_sim::start(sc, l)
                    .await
                    .context("starting the SES simulator")?,
            );
        }
        let listener = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port))
            .await
            .with_context(|| format!("binding the HTTP server on {}:{}", cfg.host, cfg.port))?;
        let info = serde_json::json!({
            "config": &cfg,
            "sim_url": sim.as_ref().map(|s| s.endpoint_url()),
        });
        let services = Services::start(&cfg, &data_dir, api_key.clone(), listener, info).await?;

        let mut event_source = None;
        let mut background = Vec::new();
        if let Some(sim) = &sim {
            let region = "us-east-1";
            let client = ses_client_for_endpoint(&sim.endpoint_url(), region);
            setup_ses(&client, &cfg).await?;
            let poller_cfg = cfg
                .poller_config()
                .map_err(|e| anyhow::anyhow!("poller configuration: {e}"))?;
            let mut settings = ProcessorSettings::from_config(&poller_cfg);
            let sim_rate = sim_config(&cfg, &data_dir)?.effective_max_send_rate();
            if poller_cfg.ses_max_send_rate_override.is_none() && sim_rate <= 0.0 {
                settings.rate_source = RateSource::Unlimited;
            }
            let db = services.db.clone();
            let queue = services.queue.clone();
            let metrics = Arc::clone(&services.metrics);
            // One processor per concurrent invocation: a warm Lambda instance each, with its
            // own pacer at its share of the quota and its own customer cache.
            let make_handler = |_: usize| {
                Arc::new(PollerHandler {
                    processor: BatchProcessor::new(
                        SqliteCustomerStore::new(db.clone(), Some(Arc::clone(&metrics))),
                        SqliteLedger::new(db.clone(), None),
                        SesMailer::new(client.clone()),
                        LocalDeadLetterSink::new(queue.clone(), None),
                        LocalVisibility::new(queue.clone()),
                        settings.clone(),
                    ),
                    metrics: Arc::clone(&metrics),
                })
            };
            event_source = Some(EventSource::start_with(
                queue.clone(),
                make_handler,
                MappingSettings {
                    batch_size: cfg.batch_size,
                    maximum_batching_window: Duration::from_secs(
                        cfg.maximum_batching_window_in_seconds,
                    ),
                    maximum_concurrency: cfg.maximum_concurrency,
                    idle_poll: Duration::from_millis(20),
                },
                Some(Arc::clone(&services.metrics)),
            ));
        }
        let sim = sim.map(Arc::new);
        if let Some(sim) = &sim {
            // Deliveries as the simulator publishes them (the "delivered" line).
            let metrics = Arc::clone(&services.metrics);
            let sim = Arc::clone(sim);
            background.push(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let s = sim.stats();
                    let delivered = s.events.get("Delivery").copied().unwrap_or(0);
                    metrics.emails_delivered.store(delivered, Relaxed);
                }
            }));
        }
        Ok(Self {
            services,
            sim,
            event_source,
            api_key,
            data_dir,
            background,
        })
    }

    /// Stop in order: poller (running batches finish), HTTP, simulator (pending events written).
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(es) = self.event_source {
            es.shutdown(Duration::from_secs(30)).await;
        }
        for b in self.background {
            b.abort();
            let _ = b.await;
        }
        self.services.shutdown(Duration::from_secs(10)).await;
        if let Some(sim) = self.sim {
            match Arc::try_unwrap(sim) {
                Ok(sim) => sim.shutdown().await.context("stopping the simulator")?,
                Err(_) => tracing::warn!("simulator still shared at shutdown; dropping it"),
            }
        }
        Ok(())
    }
}

fn banner(info: &serde_json::Value, cfg: &LocalConfig) -> String {
    let s = |k: &str| info[k].as_str().unwrap_or("-").to_string();
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
         batch_size={bs} maximum_concurrency={mc} window={w}s visibility={v}s max_receive_count={mrc}\n\n  \
         Ctrl-C to stop.\n",
        ingest = s("ingest_url"),
        key = s("api_key"),
        dash = s("dashboard_url"),
        stats = s("stats_url"),
        metrics = s("metrics_url"),
        openapi = s("openapi_url"),
        sim = s("sim_url"),
        set = cfg.configuration_set_name,
        tpl = cfg.template_name,
        db = s("db"),
        lake = s("lake"),
        bs = cfg.batch_size,
        mc = cfg.maximum_concurrency,
        w = cfg.maximum_batching_window_in_seconds,
        v = cfg.visibility_timeout_seconds,
        mrc = cfg.max_receive_count,
    )
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

pub fn run(args: Args) -> anyhow::Result<()> {
    init_logging(args.json_logs);
    let cfg = load_config(&args)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let stack = Stack::start(cfg.clone(), args.ingest_only).await?;
        let info = ready_info(&stack);
        eprintln!("{}", banner(&info, &cfg));
        if let Some(p) = &args.ready_file {
            write_atomic(p, &serde_json::to_string_pretty(&info)?)?;
        }
        wait_for_signal().await;
        eprintln!("stopping: letting running batches finish, writing pending events…");
        if let Some(p) = &args.ready_file {
            let _ = std::fs::remove_file(p);
        }
        stack.stop().await?;
        eprintln!("stopped.");
        Ok(())
    })
}
