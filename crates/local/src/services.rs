//! The services of the local stack that need neither the simulator nor the poller: database,
//! queue, metrics sampler and the HTTP server (ingest API, stats, dashboard). `sesload-stack`
//! adds the simulator, the poller and the event-source emulator on top.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::db::{Db, DbError, now_ms};
use crate::http::{AppState, router};
use crate::metrics::Metrics;
use crate::queue::{Queue, QueueSettings};
use crate::{CampaignSources, DB_FILE, LocalConfig, stats};

/// Running services.
pub struct Services {
    pub db: Db,
    pub queue: Queue,
    pub metrics: Arc<Metrics>,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Errors starting the services.
#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Other(String),
}

impl Services {
    /// Open `<data_dir>/sesload.db`, start the sampler and serve HTTP on `listener`.
    pub async fn start(
        cfg: &LocalConfig,
        data_dir: &Path,
        api_key: String,
        listener: TcpListener,
        info: serde_json::Value,
        campaigns: CampaignSources,
    ) -> Result<Self, ServicesError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            ServicesError::Other(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        let db = Db::open(data_dir.join(DB_FILE))?;
        let queue = Queue::new(
            db.clone(),
            QueueSettings {
                visibility_timeout: cfg.visibility_timeout(),
                max_receive_count: cfg.max_receive_count,
            },
        );
        let metrics = Arc::new(Metrics::default());
        let state = AppState::new(queue.clone(), api_key, Arc::clone(&metrics), info)
            .map_err(ServicesError::Other)?
            .with_campaign_sources(campaigns);
        let addr = listener
            .local_addr()
            .map_err(|e| ServicesError::Other(e.to_string()))?;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        {
            let mut rx = stop_rx.clone();
            let app = router(Arc::new(state));
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "HTTP server stopped");
                }
            }));
        }
        {
            let mut rx = stop_rx.clone();
            let db = db.clone();
            let metrics = Arc::clone(&metrics);
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = rx.wait_for(|s| *s) => return,
                    }
                    let g = db.read(stats::gauges).await.unwrap_or_default();
                    metrics.sample(now_ms(), g);
                }
            }));
        }
        Ok(Self {
            db,
            queue,
            metrics,
            addr,
            data_dir: data_dir.to_path_buf(),
            stop,
            tasks,
        })
    }

    /// Stop the HTTP server (in-flight requests finish) and the sampler.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(grace, futures::future::join_all(self.tasks)).await;
    }
}
