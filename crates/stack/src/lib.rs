//! `sesload-stack`: the composition root of the local stack. From one [`LocalConfig`] it builds
//! and runs, in this process:
//!
//! - the services of `sesload-local`: the durable SQLite queue, the ingest API, `/_local/stats`,
//!   the dashboard and the metrics sampler;
//! - the SES simulator (`sesload-sim`) on its own loopback port, and through the real
//!   `aws-sdk-sesv2` client its configuration set, event destination and template;
//! - the event-source emulator driving `maximum_concurrency` poller instances: the core
//!   `BatchProcessor` with the SQLite adapters and the real SES v2 adapter (`sesload-aws`),
//!   entered through the Lambda's own `handle_sqs_event_reported`;
//! - the campaign guardrails ([`guard`]): a task that auto-pauses a campaign whose bounce or
//!   complaint rate in the simulator's events crosses its threshold.
//!
//! [`LocalStack::start`] / [`LocalStack::drain`] / [`LocalStack::stop`] are what `sesload up`,
//! the benchmarks, `plan --verify` and the integration tests call; [`backlog::run_backlog`]
//! measures a pre-filled queue draining. Every verdict comes from the one reconciliation,
//! [`CampaignReconciliation`].

pub mod backlog;
pub mod client;
pub mod guard;
pub mod poller;
pub mod ses;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sesload_core::RateSource;
use sesload_local::campaigns::lake::LakeTally;
use sesload_local::config::LocalConfigError;
use sesload_local::services::ServicesError;
use sesload_local::{
    CampaignSources, DbError, EventSource, MappingSettings, Metrics, Queue, Services,
    SqliteCampaignControl,
};
use sesload_sim::SimHandle;

pub use sesload_local::{CampaignReconciliation, LocalConfig};

use crate::poller::PollerFactory;

/// Region of the simulated SES endpoint.
pub const REGION: &str = "us-east-1";

/// Why the stack could not start or answer; every variant names the value at fault.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Config(#[from] LocalConfigError),
    #[error("invalid [sim] section: {0}")]
    SimConfig(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot bind the {what} on {host}:{port}: {source}")]
    Bind {
        what: &'static str,
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the SES simulator: {0}")]
    Sim(#[from] sesload_sim::SimError),
    #[error("{operation} {name} against the simulator: {message}")]
    SesSetup {
        operation: &'static str,
        name: String,
        message: String,
    },
    #[error("poller configuration: {0}")]
    Poller(#[from] sesload_core::ConfigError),
    #[error("guardrail configuration: {0}")]
    Guardrails(sesload_core::ConfigError),
    #[error(transparent)]
    Services(#[from] ServicesError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StackMode {
    /// Everything.
    #[default]
    Full,
    /// Only the ingest API and the queue (no simulator, no poller): ingest benchmarks.
    IngestOnly,
}

/// Where a running stack answers: the `--ready-file` of `sesload up`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Base URL of the HTTP server (`http://127.0.0.1:PORT`).
    pub url: String,
    pub ingest_url: String,
    /// The Artillery target (`<url>/send_messages`).
    pub target: String,
    pub dashboard_url: String,
    pub stats_url: String,
    pub metrics_url: String,
    pub openapi_url: String,
    /// The SES simulator's endpoint (None with `StackMode::IngestOnly`).
    pub sim_url: Option<String>,
    pub api_key: String,
    pub data_dir: String,
    pub db: String,
    pub lake: String,
    pub pid: u32,
}

/// What [`LocalStack::drain`] saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Drained {
    /// The campaign's reconciliation once drained (or when the wait gave up).
    pub reconciliation: CampaignReconciliation,
    /// Time spent waiting.
    pub waited: Duration,
    /// SendEmail calls the simulator accepted and throttled since the stack started.
    pub ses_accepted: u64,
    pub ses_throttled: u64,
    /// Throttles the poller instances saw (`emails_throttled`).
    pub emails_throttled: u64,
    /// Invocations abandoned at the function timeout (`invocation_timeouts`).
    pub invocation_timeouts: u64,
}

impl Drained {
    /// Emails SES accepted beyond one per request the ledger records as sent: sent twice.
    /// Meaningful when the stack sent nothing but this campaign (a backlog run).
    pub fn duplicate_sends(&self) -> u64 {
        self.ses_accepted
            .saturating_sub(u64::try_from(self.reconciliation.sent).unwrap_or(0))
    }

    /// Share of send attempts the simulator throttled (a `SendEmail` call or a `SendBulkEmail`
    /// entry each count one).
    pub fn throttled_ratio(&self) -> f64 {
        let calls = self.ses_accepted + self.ses_throttled;
        if calls == 0 {
            0.0
        } else {
            self.ses_throttled as f64 / calls as f64
        }
    }
}

/// The running local stack.
pub struct LocalStack {
    config: LocalConfig,
    services: Services,
    sim: Option<Arc<SimHandle>>,
    event_source: Option<EventSource>,
    api_key: String,
    data_dir: PathBuf,
    background: Vec<tokio::task::JoinHandle<()>>,
}

fn resolve_api_key(cfg: &LocalConfig, data_dir: &Path) -> Result<String, StackError> {
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
    std::fs::write(&path, &key).map_err(|source| StackError::Io {
        what: "writing the API key to",
        path,
        source,
    })?;
    Ok(key)
}

async fn bind(
    what: &'static str,
    host: &str,
    port: u16,
) -> Result<tokio::net::TcpListener, StackError> {
    tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|source| StackError::Bind {
            what,
            host: host.to_string(),
            port,
            source,
        })
}

impl LocalStack {
    /// Start everything `mode` asks for, in order: data dir, simulator, HTTP server (ingest,
    /// stats, dashboard), SES resources through the SDK, poller instances.
    pub async fn start(config: LocalConfig, mode: StackMode) -> Result<Self, StackError> {
        config.validate()?;
        for w in config.warnings() {
            tracing::warn!("{w}");
        }
        let data_dir = PathBuf::from(&config.data_dir);
        std::fs::create_dir_all(&data_dir).map_err(|source| StackError::Io {
            what: "creating the data dir",
            path: data_dir.clone(),
            source,
        })?;
        let api_key = resolve_api_key(&config, &data_dir)?;
        let sim_config = ses::sim_config(&config, &data_dir)?;
        let sim = match mode {
            StackMode::IngestOnly => None,
            StackMode::Full => {
                let l = bind("SES simulator", &config.host, config.sim_port).await?;
                Some(Arc::new(sesload_sim::start(sim_config.clone(), l).await?))
            }
        };
        let listener = bind("HTTP server", &config.host, config.port).await?;
        let info = serde_json::json!({
            "config": &config,
            "sim_url": sim.as_ref().map(|s| s.endpoint_url()),
        });
        let lake = sim_config
            .events
            .lake_dir
            .as_ref()
            .map(|d| Arc::new(LakeTally::new(d)));
        let campaigns = match &sim {
            Some(sim) => campaign_sources(sim, lake.clone()),
            None => CampaignSources::default(),
        };
        let guardrails = config
            .guardrail_settings()
            .map_err(StackError::Guardrails)?;
        let services = Services::start(
            &config,
            &data_dir,
            api_key.clone(),
            listener,
            info,
            campaigns,
        )
        .await?;
        let mut stack = Self {
            config,
            services,
            sim: None,
            event_source: None,
            api_key,
            data_dir,
            background: Vec::new(),
        };
        if let Some(sim) = sim {
            stack
                .start_poller(&sim, sim_config.effective_max_send_rate())
                .await?;
            stack.background.push(track_deliveries(
                Arc::clone(&sim),
                Arc::clone(&stack.services.metrics),
            ));
            if let (Some(lake), true) = (lake, stack.config.guardrail_enabled) {
                stack.background.push(guard::spawn(
                    lake,
                    SqliteCampaignControl::new(stack.services.db.clone()),
                    guardrails,
                    Arc::clone(&stack.services.metrics),
                ));
            }
            stack.sim = Some(sim);
        }
        Ok(stack)
    }

    /// Create the SES resources, then start the event-source emulator with one poller
    /// instance per concurrent invocation.
    async fn start_poller(&mut self, sim: &SimHandle, sim_rate: f64) -> Result<(), StackError> {
        let cfg = &self.config;
        let ses = sesload_aws::ses::ses_client_for_endpoint(&sim.endpoint_url(), REGION);
        ses::setup_ses(&ses, cfg).await?;
        let poller_cfg = cfg.poller_config()?;
        let mut settings = poller_cfg.processor;
        if settings.rate_source == RateSource::Account && sim_rate <= 0.0 {
            settings.rate_source = RateSource::Unlimited;
        }
        let factory = PollerFactory {
            db: self.services.db.clone(),
            queue: self.services.queue.clone(),
            ses,
            settings,
            metrics: Arc::clone(&self.services.metrics),
        };
        self.event_source = Some(EventSource::start_with(
            self.services.queue.clone(),
            move |_| factory.instance(),
            MappingSettings {
                batch_size: cfg.batch_size,
                maximum_batching_window: Duration::from_secs(
                    cfg.maximum_batching_window_in_seconds,
                ),
                maximum_concurrency: cfg.maximum_concurrency,
                function_timeout: cfg.function_timeout(),
                idle_poll: Duration::from_millis(20),
            },
            Some(Arc::clone(&self.services.metrics)),
        ));
        Ok(())
    }

    pub fn config(&self) -> &LocalConfig {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Address of the HTTP server (ingest API, stats, dashboard).
    pub fn addr(&self) -> SocketAddr {
        self.services.addr
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub fn queue(&self) -> &Queue {
        &self.services.queue
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.services.metrics
    }

    /// The SES simulator (None with `StackMode::IngestOnly`).
    pub fn sim(&self) -> Option<&SimHandle> {
        self.sim.as_deref()
    }

    /// URLs and paths of this stack.
    pub fn endpoints(&self) -> Endpoints {
        let base = format!("http://{}", self.services.addr);
        Endpoints {
            ingest_url: format!("{base}{}", sesload_local::http::INGEST_PATH),
            target: format!("{base}/send_messages"),
            dashboard_url: format!("{base}/dashboard"),
            stats_url: client::stats_url(&base, None),
            metrics_url: format!("{base}/metrics"),
            openapi_url: format!("{base}/openapi.json"),
            sim_url: self.sim.as_ref().map(|s| s.endpoint_url()),
            api_key: self.api_key.clone(),
            data_dir: self.data_dir.display().to_string(),
            db: sesload_local::admin::db_path(&self.data_dir)
                .display()
                .to_string(),
            lake: self.data_dir.join("lake").display().to_string(),
            pid: std::process::id(),
            url: base,
        }
    }

    /// The reconciliation of `campaign` now.
    pub async fn reconcile(&self, campaign: &str) -> Result<CampaignReconciliation, StackError> {
        let campaign = campaign.to_string();
        Ok(self
            .services
            .db
            .read(move |c| sesload_local::stats::reconcile(c, &campaign))
            .await?)
    }

    /// Wait until nothing of `campaign` is queued any more (or `timeout` passed), then
    /// reconcile it. Polls a cheap count every 50 ms so the wait costs the stack it measures
    /// little.
    pub async fn drain(&self, campaign: &str, timeout: Duration) -> Result<Drained, StackError> {
        let start = Instant::now();
        loop {
            let c = campaign.to_string();
            let queued = self
                .services
                .db
                .read(move |conn| sesload_local::stats::campaign_queued(conn, &c))
                .await?;
            if queued == 0 || start.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let waited = start.elapsed();
        let reconciliation = self.reconcile(campaign).await?;
        let sim = self.sim.as_ref().map(|s| s.stats());
        let m = &self.services.metrics;
        Ok(Drained {
            reconciliation,
            waited,
            ses_accepted: sim.as_ref().map_or(0, |s| s.sent_messages),
            // whole calls refused 429, and SendBulkEmail entries refused ACCOUNT_THROTTLED
            ses_throttled: sim.as_ref().map_or(0, |s| {
                s.throttled
                    + s.bulk_entry_statuses
                        .get("ACCOUNT_THROTTLED")
                        .copied()
                        .unwrap_or(0)
            }),
            emails_throttled: m.emails_throttled.load(Relaxed),
            invocation_timeouts: m.invocation_timeouts.load(Relaxed),
        })
    }

    /// Stop in order: the poller instances (running invocations finish, at most the function
    /// timeout), the HTTP server (in-flight requests finish), the simulator (every pending
    /// event written to the lake). What is still queued stays for the next start.
    pub async fn stop(self) -> Result<(), StackError> {
        if let Some(es) = self.event_source {
            es.shutdown(self.config.function_timeout() + Duration::from_secs(1))
                .await;
        }
        for b in self.background {
            b.abort();
            let _ = b.await;
        }
        self.services.shutdown(Duration::from_secs(10)).await;
        if let Some(sim) = self.sim {
            match Arc::try_unwrap(sim) {
                Ok(sim) => sim.shutdown().await?,
                Err(_) => tracing::warn!("simulator still shared at shutdown; dropping it"),
            }
        }
        Ok(())
    }
}

/// What campaign status reads beside the database: the simulator's lake, and its `GetAccount`
/// through the real SES v2 adapter.
fn campaign_sources(sim: &SimHandle, lake: Option<Arc<LakeTally>>) -> CampaignSources {
    use sesload_core::Mailer as _;
    let mailer = sesload_aws::SesMailer::new(sesload_aws::ses::ses_client_for_endpoint(
        &sim.endpoint_url(),
        REGION,
    ));
    CampaignSources {
        lake,
        quota: Some(Arc::new(move || {
            let mailer = mailer.clone();
            Box::pin(async move { mailer.quota().await })
        })),
    }
}

/// Keep `emails_delivered` (the dashboard's "delivered" line) up to date from the simulator.
fn track_deliveries(sim: Arc<SimHandle>, metrics: Arc<Metrics>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            metrics
                .emails_delivered
                .store(ses::delivered(&sim.stats()), Relaxed);
        }
    })
}
