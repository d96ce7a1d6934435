//! A backlog drained through the whole stack: what `sesload bench e2e`, `sesload bench quota`
//! and `sesload plan --verify` measure. The backlog is written to the durable queue before the
//! stack starts, so the poller fleet meets a full queue and the ingest rate plays no part.

use std::path::Path;
use std::time::Duration;

use sesload_local::{Db, LocalConfig, NewMessage, Queue, QueueSettings};

use crate::{Drained, LocalStack, StackError, StackMode};

/// `messages` requests of one campaign, for customers "1"..=`customers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub campaign: String,
    pub messages: u64,
    pub customers: u64,
}

impl Backlog {
    /// The body of request `n`: a mailbox-simulator success address, a unique code per request.
    pub fn request_body(&self, cfg: &LocalConfig, n: u64) -> String {
        serde_json::json!({
            "from": cfg.sender_address(),
            "to": format!("success+{n}@simulator.amazonses.com"),
            "template_name": cfg.template_name,
            "user_id": ((n % self.customers.max(1)) + 1).to_string(),
            "config_set": cfg.configuration_set_name,
            "tags": [{"Name": "campaign", "Value": self.campaign}],
            "unique_code": format!("{}-{n}", self.campaign),
        })
        .to_string()
    }

    /// Seed the customers and queue every request in the database of `data_dir`.
    pub async fn write(&self, cfg: &LocalConfig, data_dir: &Path) -> Result<(), StackError> {
        let db = Db::open(sesload_local::admin::db_path(data_dir))?;
        sesload_local::customers::seed_customers(&db, 1..self.customers + 1).await?;
        let queue = Queue::new(db, QueueSettings::default());
        let mut n = 0;
        while n < self.messages {
            let hi = (n + 5_000).min(self.messages);
            let batch = (n..hi)
                .map(|i| NewMessage::from_body(self.request_body(cfg, i)))
                .collect();
            queue.send_batch(batch).await?;
            n = hi;
        }
        Ok(())
    }
}

/// The `[sim]` table of a measurement: the simulated account's `MaxSendRate` (0 = unlimited),
/// no daily quota, and a SendEmail latency of `p50_ms` / `p99_ms`.
pub fn sim_table(max_send_rate: f64, p50_ms: f64, p99_ms: f64) -> toml::Table {
    let mut latency = toml::Table::new();
    latency.insert("p50_ms".into(), toml::Value::Float(p50_ms));
    latency.insert("p99_ms".into(), toml::Value::Float(p99_ms));
    let mut sim = toml::Table::new();
    sim.insert("max_send_rate".into(), toml::Value::Float(max_send_rate));
    sim.insert("max_24_hour_send".into(), toml::Value::Integer(-1));
    sim.insert("latency".into(), toml::Value::Table(latency));
    sim
}

/// Write `backlog` into a fresh temporary data directory, start the stack there with `config`
/// (its `data_dir`, ports and API key replaced), wait up to `timeout` for the campaign to drain,
/// stop the stack and delete the directory.
pub async fn run_backlog(
    mut config: LocalConfig,
    backlog: &Backlog,
    timeout: Duration,
) -> Result<Drained, StackError> {
    let dir = tempfile::Builder::new()
        .prefix("sesload-backlog-")
        .tempdir()
        .map_err(|source| StackError::Io {
            what: "creating a temporary data dir in",
            path: std::env::temp_dir(),
            source,
        })?;
    config.data_dir = dir.path().display().to_string();
    config.port = 0;
    config.sim_port = 0;
    config.api_key = "backlog".into();
    backlog.write(&config, dir.path()).await?;
    let stack = LocalStack::start(config, StackMode::Full).await?;
    let drained = stack.drain(&backlog.campaign, timeout).await;
    stack.stop().await?;
    drained
}
