//! `sesload.toml`: the local stack's configuration. Keys are the Terraform variable names;
//! the `[sim]` table is handed to the SES simulator unchanged.
//!
//! Precedence: built-in defaults < file < environment (`SESLOAD_<KEY>`, e.g.
//! `SESLOAD_BATCH_SIZE=50`, `SESLOAD_SIM__MAX_SEND_RATE=200` for `[sim] max_send_rate`) <
//! command-line `--set key=value` flags.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The local stack configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// Records per invocation (event source mapping `batch_size`).
    pub batch_size: usize,
    /// `maximum_batching_window_in_seconds` of the mapping.
    pub maximum_batching_window_in_seconds: u64,
    /// `scaling_config.maximum_concurrency` of the mapping: concurrent invocations.
    pub maximum_concurrency: usize,
    /// The poller function's timeout: the event-source emulator abandons an invocation still
    /// running after it.
    pub function_timeout_seconds: u64,
    /// Queue visibility timeout.
    pub visibility_timeout_seconds: u64,
    /// Redrive policy `maxReceiveCount`.
    pub max_receive_count: u32,
    /// Fraction of the SES MaxSendRate the poller fleet aims for.
    pub target_utilisation: f64,
    /// Emails/s to pace to instead of asking SES `GetAccount` (0 / absent = ask).
    pub ses_max_send_rate_override: Option<f64>,
    /// Recipient domains the poller may send to.
    pub allowed_recipient_domains: Vec<String>,
    /// Claim each unique_code in the ledger before sending.
    pub idempotency_enabled: bool,
    /// Maximum SendEmail calls in flight per invocation.
    pub send_concurrency: usize,
    /// Ledger claim lease.
    pub claim_lease_seconds: u64,
    /// Base of the jittered retry delay for throttled/transient records.
    pub retry_base_delay_seconds: u64,
    /// Default SES configuration set (events → local lake).
    pub configuration_set_name: String,
    /// The template created at start (`SimpleEmail`).
    pub template_name: String,
    /// API key required in `x-api-key` ("" = generate one at start and print it).
    pub api_key: String,
    /// Verified sender identity.
    pub sender: String,
    /// Host and port of the HTTP server (port 0 = any free port).
    pub host: String,
    pub port: u16,
    /// Port of the simulator's listener (0 = any free port).
    pub sim_port: u16,
    /// Data directory (`.sesload`).
    pub data_dir: String,
    /// SES simulator settings, passed to `sesload-sim` as they are.
    pub sim: toml::Table,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            batch_size: 20,
            maximum_batching_window_in_seconds: 1,
            maximum_concurrency: 2,
            function_timeout_seconds: 30,
            visibility_timeout_seconds: 300,
            max_receive_count: 5,
            target_utilisation: 0.98,
            ses_max_send_rate_override: None,
            allowed_recipient_domains: vec!["simulator.amazonses.com".into()],
            idempotency_enabled: true,
            send_concurrency: 32,
            claim_lease_seconds: 120,
            retry_base_delay_seconds: 2,
            configuration_set_name: "load-test-config".into(),
            template_name: "SimpleEmail".into(),
            api_key: String::new(),
            sender: "sender@example.com".into(),
            host: "127.0.0.1".into(),
            port: 8787,
            sim_port: 0,
            data_dir: ".sesload".into(),
            sim: toml::Table::new(),
        }
    }
}

/// A configuration that cannot be used; names the key and the value.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LocalConfigError {
    #[error("cannot read config file {path}: {message}")]
    Read { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Top-level keys (for env lookup and error messages).
pub const KEYS: &[&str] = &[
    "batch_size",
    "maximum_batching_window_in_seconds",
    "maximum_concurrency",
    "function_timeout_seconds",
    "visibility_timeout_seconds",
    "max_receive_count",
    "target_utilisation",
    "ses_max_send_rate_override",
    "allowed_recipient_domains",
    "idempotency_enabled",
    "send_concurrency",
    "claim_lease_seconds",
    "retry_base_delay_seconds",
    "configuration_set_name",
    "template_name",
    "api_key",
    "sender",
    "host",
    "port",
    "sim_port",
    "data_dir",
];

fn parse_scalar(key: &str, raw: &str) -> toml::Value {
    if key == "allowed_recipient_domains" {
        return toml::Value::Array(
            raw.split(',')
                .map(|d| d.trim())
                .filter(|d| !d.is_empty())
                .map(|d| toml::Value::String(d.to_string()))
                .collect(),
        );
    }
    // Try TOML scalar syntax (numbers, booleans); fall back to a plain string.
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, key: &str, raw: &str) -> Result<(), LocalConfigError> {
    if let Some(sub) = key.strip_prefix("sim.") {
        // Nested: sim.latency.p50_ms → [sim.latency] p50_ms.
        let mut parts: Vec<&str> = sub.split('.').collect();
        let leaf = parts.pop().filter(|l| !l.is_empty()).ok_or_else(|| {
            LocalConfigError::Invalid(format!("{key:?} does not name a simulator setting"))
        })?;
        let mut cur = table;
        for part in std::iter::once("sim").chain(parts) {
            let next = cur
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(t) = next else {
                return Err(LocalConfigError::Invalid(format!(
                    "cannot set {key:?}: {part:?} is not a table"
                )));
            };
            cur = t;
        }
        cur.insert(leaf.to_string(), parse_scalar(leaf, raw));
        return Ok(());
    }
    if !KEYS.contains(&key) {
        return Err(LocalConfigError::Invalid(format!(
            "unknown key {key:?}; known keys: {}, sim.<key>",
            KEYS.join(", ")
        )));
    }
    table.insert(key.to_string(), parse_scalar(key, raw));
    Ok(())
}

impl LocalConfig {
    /// Load: defaults < `file` (if it exists, or must exist when `required`) < env < overrides.
    pub fn load(
        file: Option<&Path>,
        required: bool,
        env: impl Fn(&str) -> Option<String>,
        overrides: &[(String, String)],
    ) -> Result<Self, LocalConfigError> {
        let mut table = toml::Table::new();
        if let Some(p) = file {
            match std::fs::read_to_string(p) {
                Ok(text) => {
                    table = text
                        .parse::<toml::Table>()
                        .map_err(|e| LocalConfigError::Invalid(format!("{}: {e}", p.display())))?;
                }
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(LocalConfigError::Read {
                        path: p.display().to_string(),
                        message: e.to_string(),
                    });
                }
            }
        }
        for key in KEYS {
            if let Some(v) = env(&format!("SESLOAD_{}", key.to_ascii_uppercase())) {
                set_path(&mut table, key, &v)?;
            }
        }
        for (k, v) in overrides {
            set_path(&mut table, k, v)?;
        }
        let cfg: LocalConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| LocalConfigError::Invalid(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Environment-style sim overrides: `SESLOAD_SIM__MAX_SEND_RATE=200` → `sim.max_send_rate`,
    /// `SESLOAD_SIM__LATENCY__P50_MS=10` → `sim.latency.p50_ms`.
    pub fn sim_env_overrides(
        vars: impl Iterator<Item = (String, String)>,
    ) -> Vec<(String, String)> {
        vars.filter_map(|(k, v)| {
            k.strip_prefix("SESLOAD_SIM__").map(|s| {
                (
                    format!("sim.{}", s.to_ascii_lowercase().replace("__", ".")),
                    v,
                )
            })
        })
        .collect()
    }

    pub fn validate(&self) -> Result<(), LocalConfigError> {
        let bad = |m: String| Err(LocalConfigError::Invalid(m));
        if !(1..=10_000).contains(&self.batch_size) {
            return bad(format!(
                "batch_size = {} must be in 1..=10000",
                self.batch_size
            ));
        }
        if self.maximum_batching_window_in_seconds > 300 {
            return bad(format!(
                "maximum_batching_window_in_seconds = {} must be in 0..=300",
                self.maximum_batching_window_in_seconds
            ));
        }
        if !(1..=1000).contains(&self.maximum_concurrency) {
            return bad(format!(
                "maximum_concurrency = {} must be in 1..=1000",
                self.maximum_concurrency
            ));
        }
        if !(1..=900).contains(&self.function_timeout_seconds) {
            return bad(format!(
                "function_timeout_seconds = {} must be in 1..=900",
                self.function_timeout_seconds
            ));
        }
        if self.visibility_timeout_seconds > 43_200 {
            return bad(format!(
                "visibility_timeout_seconds = {} must be at most 43200",
                self.visibility_timeout_seconds
            ));
        }
        if !(1..=1000).contains(&self.max_receive_count) {
            return bad(format!(
                "max_receive_count = {} must be in 1..=1000",
                self.max_receive_count
            ));
        }
        if !(self.target_utilisation > 0.0 && self.target_utilisation <= 1.0) {
            return bad(format!(
                "target_utilisation = {} must be in (0, 1]",
                self.target_utilisation
            ));
        }
        if let Some(r) = self.ses_max_send_rate_override
            && !(r >= 0.0 && r.is_finite())
        {
            return bad(format!("ses_max_send_rate_override = {r} must be >= 0"));
        }
        if self.allowed_recipient_domains.is_empty() {
            return bad("allowed_recipient_domains must name at least one domain".into());
        }
        if self.send_concurrency == 0 {
            return bad("send_concurrency must be at least 1".into());
        }
        Ok(())
    }

    /// Settings AWS would refuse that the local stack runs anyway (short visibility timeouts
    /// and small windows are useful to watch redelivery), each said in one sentence.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.batch_size > 10 && self.maximum_batching_window_in_seconds == 0 {
            w.push(format!(
                "batch_size = {}: AWS requires maximum_batching_window_in_seconds >= 1 when batch_size > 10",
                self.batch_size
            ));
        }
        let rule = 6 * self.function_timeout_seconds + self.maximum_batching_window_in_seconds;
        if self.visibility_timeout_seconds < rule {
            w.push(format!(
                "visibility_timeout_seconds = {} is below 6 x function_timeout_seconds + maximum_batching_window_in_seconds = {rule}, which AWS requires: a batch still running can be received again",
                self.visibility_timeout_seconds
            ));
        }
        w
    }

    pub fn visibility_timeout(&self) -> Duration {
        Duration::from_secs(self.visibility_timeout_seconds)
    }

    pub fn function_timeout(&self) -> Duration {
        Duration::from_secs(self.function_timeout_seconds)
    }

    /// The poller's environment (names of `sesload_core::config::ENV_VARS`) for this stack.
    pub fn poller_env(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put("QUEUE_URL", "sqlite://local/queue".into());
        put("DLQ_URL", "sqlite://local/dlq".into());
        put("CUSTOMERS_TABLE", "customers".into());
        put("LEDGER_TABLE", "ledger".into());
        put("IDEMPOTENCY_ENABLED", self.idempotency_enabled.to_string());
        put("CLAIM_LEASE_SECONDS", self.claim_lease_seconds.to_string());
        put(
            "ALLOWED_RECIPIENT_DOMAINS",
            self.allowed_recipient_domains.join(","),
        );
        put(
            "DEFAULT_CONFIGURATION_SET",
            self.configuration_set_name.clone(),
        );
        put("TARGET_UTILISATION", self.target_utilisation.to_string());
        put(
            "SES_MAX_SEND_RATE_OVERRIDE",
            self.ses_max_send_rate_override
                .filter(|r| *r > 0.0)
                .map(|r| r.to_string())
                .unwrap_or_default(),
        );
        put("MAXIMUM_CONCURRENCY", self.maximum_concurrency.to_string());
        put("SEND_CONCURRENCY", self.send_concurrency.to_string());
        put(
            "RETRY_BASE_DELAY_SECONDS",
            self.retry_base_delay_seconds.to_string(),
        );
        m
    }

    /// The validated poller configuration for this stack.
    pub fn poller_config(&self) -> Result<sesload_core::PollerConfig, sesload_core::ConfigError> {
        let env = self.poller_env();
        sesload_core::PollerConfig::from_lookup(|k| env.get(k).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_file_env_flags() {
        let dir = std::env::temp_dir().join(format!("sesload-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("sesload.toml");
        std::fs::write(
            &p,
            "batch_size = 50\nmaximum_concurrency = 4\n[sim]\nmax_send_rate = 14\n",
        )
        .unwrap();
        let env = |k: &str| (k == "SESLOAD_MAXIMUM_CONCURRENCY").then(|| "8".to_string());
        let cfg = LocalConfig::load(
            Some(&p),
            true,
            env,
            &[
                ("sim.max_send_rate".into(), "200".into()),
                ("sim.latency.p50_ms".into(), "10.5".into()),
                ("allowed_recipient_domains".into(), "a.com, b.org".into()),
            ],
        )
        .unwrap();
        assert_eq!(cfg.batch_size, 50);
        assert_eq!(cfg.maximum_concurrency, 8);
        assert_eq!(
            cfg.sim.get("max_send_rate").unwrap().as_integer(),
            Some(200)
        );
        assert_eq!(cfg.allowed_recipient_domains, vec!["a.com", "b.org"]);
        let lat = cfg.sim.get("latency").and_then(|l| l.as_table()).unwrap();
        assert_eq!(lat.get("p50_ms").unwrap().as_float(), Some(10.5));
        assert_eq!(
            LocalConfig::sim_env_overrides(
                [("SESLOAD_SIM__LATENCY__P50_MS".to_string(), "3".to_string())].into_iter()
            ),
            vec![("sim.latency.p50_ms".to_string(), "3".to_string())]
        );
        let pc = cfg.poller_config().unwrap();
        assert_eq!(pc.maximum_concurrency, 8);
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = LocalConfig::load(None, false, |_| None, &[("batch_size".into(), "0".into())])
            .unwrap_err();
        assert!(err.to_string().contains("batch_size = 0"), "{err}");
        let err = LocalConfig::load(None, false, |_| None, &[("batchsize".into(), "3".into())])
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown key \"batchsize\""),
            "{err}"
        );
        let err = LocalConfig::load(
            None,
            false,
            |_| None,
            &[("maximum_concurrency".into(), "lots".into())],
        )
        .unwrap_err();
        assert!(err.to_string().contains("maximum_concurrency"), "{err}");
        let short = LocalConfig {
            visibility_timeout_seconds: 10,
            ..LocalConfig::default()
        };
        assert!(short.validate().is_ok());
        assert!(short.warnings()[0].contains("visibility_timeout_seconds = 10"));
        assert!(LocalConfig::default().warnings().is_empty());
        let err = LocalConfig::load(
            None,
            false,
            |_| None,
            &[("function_timeout_seconds".into(), "0".into())],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("function_timeout_seconds = 0"),
            "{err}"
        );
    }
}
