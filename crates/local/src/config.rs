//! `sesload.toml`: the local stack's configuration. Its keys and defaults are the rows of the
//! settings table (`sesload_core::config::settings::SETTINGS`) that have a `sesload.toml` key:
//! the same names as the Terraform variables, the same defaults except the documented local
//! overrides. The `[sim]` table is handed to the SES simulator (its `verified_identities` default to
//! `[sender_identity]`).
//!
//! Precedence: the table's defaults < file < environment (`SESLOAD_<KEY>`, e.g.
//! `SESLOAD_BATCH_SIZE=50`, `SESLOAD_SIM__MAX_SEND_RATE=200` for `[sim] max_send_rate`) <
//! command-line `--set key=value` flags.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sesload_core::campaign::guardrail::GuardrailSettings;
use sesload_core::config::settings::{
    Default as SettingDefault, Function, Kind, Local, SETTINGS, Setting,
};

/// The local stack configuration. Every field but `sim` is a `sesload.toml` key of the settings
/// table, documented there (and in `docs/configuration.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    pub batch_size: usize,
    pub maximum_batching_window_in_seconds: u64,
    pub maximum_concurrency: usize,
    /// The event-source emulator abandons an invocation still running after it.
    pub function_timeout_seconds: u64,
    pub visibility_timeout_seconds: u64,
    pub max_receive_count: u32,
    pub target_utilisation: f64,
    /// Emails/s to pace to instead of asking SES `GetAccount` (0 / absent = ask).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses_max_send_rate_override: Option<f64>,
    pub send_concurrency: usize,
    /// `single` (SendEmail) or `bulk` (SendBulkEmail).
    pub send_api: sesload_core::SendApi,
    pub quota_cache_seconds: u64,
    pub allowed_recipient_domains: Vec<String>,
    /// The SES configuration set the stack creates (events → local lake); the poller's default.
    pub configuration_set_name: String,
    /// The template created at start.
    pub template_name: String,
    /// The identity the simulator verifies and the stack's generators send from.
    pub sender_identity: String,
    pub idempotency_enabled: bool,
    pub claim_lease_seconds: u64,
    pub retry_base_delay_seconds: u64,
    pub retry_max_delay_seconds: u64,
    pub park_base_delay_seconds: u64,
    pub park_max_delay_seconds: u64,
    pub customer_cache_capacity: usize,
    pub customer_cache_ttl_seconds: u64,
    /// Run the bounce and complaint guardrails (a background task of the stack).
    pub guardrail_enabled: bool,
    pub guardrail_bounce_rate: f64,
    pub guardrail_complaint_rate: f64,
    pub guardrail_min_sends: u64,
    pub guardrail_window_minutes: u64,
    /// API key required in `x-api-key` ("" = generate one at start and print it).
    pub api_key: String,
    /// Host and port of the HTTP server (port 0 = any free port).
    pub host: String,
    pub port: u16,
    /// Port of the simulator's listener (0 = any free port).
    pub sim_port: u16,
    /// Data directory (`.sesload`).
    pub data_dir: String,
    /// SES simulator settings, passed to `sesload-sim` as they are.
    #[serde(default)]
    pub sim: toml::Table,
}

/// A default of the settings table as the TOML value of its key (`None` = unset).
fn toml_value(kind: Kind, d: SettingDefault) -> Option<toml::Value> {
    let SettingDefault::Value(v) = d else {
        return None;
    };
    fn parse<T: std::str::FromStr>(v: &str, kind: Kind) -> T {
        v.parse()
            .unwrap_or_else(|_| panic!("settings table: default {v:?} does not fit {kind:?}"))
    }
    Some(match kind {
        Kind::Bool => toml::Value::Boolean(parse(v, kind)),
        Kind::Int { .. } => toml::Value::Integer(parse(v, kind)),
        Kind::Fraction | Kind::Rate => toml::Value::Float(parse(v, kind)),
        Kind::Text | Kind::Choice(_) => toml::Value::String(v.to_string()),
        Kind::Domains => toml::Value::Array(
            v.split(',')
                .map(|d| toml::Value::String(d.to_string()))
                .collect(),
        ),
    })
}

/// The local defaults of every `sesload.toml` key, from the settings table.
pub fn defaults_table() -> toml::Table {
    SETTINGS
        .iter()
        .filter(|s| s.toml_key().is_some())
        .filter_map(|s| Some((s.name.to_string(), toml_value(s.kind, s.local_default())?)))
        .collect()
}

impl Default for LocalConfig {
    fn default() -> Self {
        toml::Value::Table(defaults_table())
            .try_into()
            .expect("the settings table's local defaults make a LocalConfig")
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

/// Top-level keys (for env lookup and error messages), in the settings table's order.
pub fn keys() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().filter_map(Setting::toml_key)
}

/// A TOML value as the poller's environment variable holds it (lists comma-separated).
fn env_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

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
    if !keys().any(|k| k == key) {
        return Err(LocalConfigError::Invalid(format!(
            "unknown key {key:?}; known keys: {}, sim.<key>",
            keys().collect::<Vec<_>>().join(", ")
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
        let mut table = defaults_table();
        if let Some(p) = file {
            match std::fs::read_to_string(p) {
                Ok(text) => {
                    let from_file = text
                        .parse::<toml::Table>()
                        .map_err(|e| LocalConfigError::Invalid(format!("{}: {e}", p.display())))?;
                    table.extend(from_file);
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
        for key in keys() {
            if let Some(v) = env(&format!("SESLOAD_{}", key.to_ascii_uppercase())) {
                set_path(&mut table, key, &v)?;
            }
        }
        for (k, v) in overrides {
            set_path(&mut table, k, v)?;
        }
        let mut cfg: LocalConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| LocalConfigError::Invalid(e.to_string()))?;
        if cfg.ses_max_send_rate_override == Some(0.0) {
            cfg.ses_max_send_rate_override = None;
        }
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

    /// Check every key against the settings table's rule (ranges, fractions, lists), and the
    /// pairs that must be ordered.
    pub fn validate(&self) -> Result<(), LocalConfigError> {
        let table = toml::Table::try_from(self)
            .map_err(|e| LocalConfigError::Invalid(format!("cannot serialise: {e}")))?;
        for s in SETTINGS {
            let (Some(key), Some(v)) = (s.toml_key(), table.get(s.name)) else {
                continue;
            };
            check(s, key, v).map_err(LocalConfigError::Invalid)?;
        }
        for (base, max) in [
            ("retry_base_delay_seconds", "retry_max_delay_seconds"),
            ("park_base_delay_seconds", "park_max_delay_seconds"),
        ] {
            let (b, m) = (table[base].as_integer(), table[max].as_integer());
            if m < b {
                return Err(LocalConfigError::Invalid(format!(
                    "{max} = {} must be >= {base} = {}",
                    m.unwrap_or_default(),
                    b.unwrap_or_default()
                )));
            }
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
        if let Some(verified) = self
            .sim
            .get("verified_identities")
            .and_then(|v| v.as_array())
        {
            let identity = self.sender_identity.to_ascii_lowercase();
            let domain = identity.rsplit('@').next().unwrap_or_default();
            let covered = verified.iter().filter_map(|v| v.as_str()).any(|v| {
                let v = v.to_ascii_lowercase();
                v == identity || v == domain
            });
            if !covered {
                w.push(format!(
                    "sender_identity = {:?} is not in [sim] verified_identities: the simulator rejects the stack's own sends from {}",
                    self.sender_identity,
                    self.sender_address()
                ));
            }
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

    /// The simulator's settings: `[sim]`, with `verified_identities` defaulting to
    /// `[sender_identity]`.
    pub fn sim_table(&self) -> toml::Table {
        let mut sim = self.sim.clone();
        sim.entry("verified_identities").or_insert_with(|| {
            toml::Value::Array(vec![toml::Value::String(self.sender_identity.clone())])
        });
        sim
    }

    /// The address the stack's own generators (backlogs, demos) send from: `sender_identity`
    /// when it is an address, else `sender@<sender_identity>`.
    pub fn sender_address(&self) -> String {
        if self.sender_identity.contains('@') {
            self.sender_identity.clone()
        } else {
            format!("sender@{}", self.sender_identity)
        }
    }

    /// The poller's environment for this stack: every variable of the settings table the local
    /// stack sets (its own queue and tables, and the `sesload.toml` keys the poller reads).
    pub fn poller_env(&self) -> HashMap<String, String> {
        self.function_env(Function::Poller)
    }

    /// The environment `function` would get from this stack (see [`Self::poller_env`]).
    pub fn function_env(&self, function: Function) -> HashMap<String, String> {
        let table = toml::Table::try_from(self).expect("a LocalConfig serialises");
        SETTINGS
            .iter()
            .filter(|s| s.read_by_function(function))
            .filter_map(|s| {
                let env = s.env?;
                let value = match s.local {
                    Local::Absent => return None,
                    Local::Wired(v) => v.to_string(),
                    Local::Key | Local::Override { .. } => {
                        table.get(s.name).map(env_value).unwrap_or_default()
                    }
                };
                Some((env.to_string(), value))
            })
            .collect()
    }

    /// The guardrails' thresholds and window for this stack (the guard function's settings,
    /// which the stack's guardrail task applies).
    pub fn guardrail_settings(&self) -> Result<GuardrailSettings, sesload_core::ConfigError> {
        let env = self.function_env(Function::Guard);
        GuardrailSettings::from_lookup(|k| env.get(k).cloned())
    }

    /// The validated poller configuration for this stack.
    pub fn poller_config(&self) -> Result<sesload_core::PollerConfig, sesload_core::ConfigError> {
        let env = self.poller_env();
        sesload_core::PollerConfig::from_lookup(|k| env.get(k).cloned())
    }
}

/// One key's value against its setting's rule; the message names the key and the value.
fn check(s: &Setting, key: &str, v: &toml::Value) -> Result<(), String> {
    let number = v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    match s.kind {
        Kind::Int { min, max } => {
            let n = v.as_integer().unwrap_or(-1);
            if n < 0 || !(min..=max).contains(&n.unsigned_abs()) {
                return Err(format!("{key} = {v} must be in {min}..={max}"));
            }
        }
        Kind::Fraction => {
            if !number.is_some_and(|f| f > 0.0 && f <= 1.0) {
                return Err(format!("{key} = {v} must be in (0, 1]"));
            }
        }
        Kind::Rate => {
            // 0 means unset locally.
            if !number.is_some_and(|f| f >= 0.0 && f.is_finite()) {
                return Err(format!(
                    "{key} = {v} must be >= 0 (0 or absent = ask GetAccount)"
                ));
            }
        }
        Kind::Domains => {
            if v.as_array().is_none_or(|a| a.is_empty()) {
                return Err(format!("{key} must name at least one domain"));
            }
        }
        Kind::Choice(words) => {
            if !v.as_str().is_some_and(|s| words.contains(&s)) {
                return Err(format!("{key} = {v} must be one of {}", words.join(", ")));
            }
        }
        Kind::Bool | Kind::Text => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
