//! Poller configuration: one struct, one list of environment variable names.
//!
//! The same names are set by the Terraform `poller` module and by the local stack
//! (`sesload.toml` keys are the lower-case Terraform variable names). A test checks that
//! the Terraform module sets exactly [`ENV_VARS`].

use std::time::Duration;

/// Every environment variable the poller reads, with its default (`None` = required).
pub const ENV_VARS: &[(&str, Option<&str>, &str)] = &[
    (
        "QUEUE_URL",
        None,
        "URL of the source queue (for ChangeMessageVisibility).",
    ),
    (
        "DLQ_URL",
        None,
        "URL of the dead-letter queue permanent failures are written to.",
    ),
    (
        "CUSTOMERS_TABLE",
        None,
        "DynamoDB table with customer attributes, key `user_id` (S).",
    ),
    (
        "LEDGER_TABLE",
        Some(""),
        "DynamoDB idempotency ledger, key `unique_code` (S); required when IDEMPOTENCY_ENABLED.",
    ),
    (
        "IDEMPOTENCY_ENABLED",
        Some("true"),
        "Claim each unique_code before sending; skip codes already sent.",
    ),
    (
        "CLAIM_LEASE_SECONDS",
        Some("120"),
        "How long a claim protects an in-flight send before another attempt may take it.",
    ),
    (
        "LEDGER_TTL_DAYS",
        Some("7"),
        "Ledger items expire (DynamoDB TTL) this many days after the send.",
    ),
    (
        "ALLOWED_RECIPIENT_DOMAINS",
        Some("simulator.amazonses.com"),
        "Comma-separated recipient domains the poller may send to.",
    ),
    (
        "DEFAULT_CONFIGURATION_SET",
        Some(""),
        "Configuration set used when a request has no config_set.",
    ),
    (
        "TARGET_UTILISATION",
        Some("0.98"),
        "Fraction (0,1] of the account's MaxSendRate the whole fleet aims for.",
    ),
    (
        "SES_MAX_SEND_RATE_OVERRIDE",
        Some(""),
        "Emails/s to pace to instead of GetAccount's MaxSendRate (empty = ask SES).",
    ),
    (
        "MAXIMUM_CONCURRENCY",
        Some("2"),
        "The event source mapping's maximum concurrency; each instance paces to its share.",
    ),
    (
        "SEND_CONCURRENCY",
        Some("32"),
        "Maximum SendEmail calls in flight per instance.",
    ),
    (
        "QUOTA_CACHE_SECONDS",
        Some("300"),
        "How long a GetAccount answer is reused.",
    ),
    (
        "CUSTOMER_CACHE_CAPACITY",
        Some("20000"),
        "Customers kept in memory across invocations of a warm instance.",
    ),
    (
        "CUSTOMER_CACHE_TTL_SECONDS",
        Some("300"),
        "How long a cached customer is trusted.",
    ),
    (
        "RETRY_BASE_DELAY_SECONDS",
        Some("2"),
        "Base of the jittered visibility delay for throttled or transient records.",
    ),
    (
        "RETRY_MAX_DELAY_SECONDS",
        Some("300"),
        "Cap of that delay (long-backoff errors such as SendingPaused use the cap).",
    ),
    (
        "METRICS_NAMESPACE",
        Some("sesload"),
        "CloudWatch namespace of the Embedded Metric Format lines.",
    ),
];

/// Validated poller settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PollerConfig {
    pub queue_url: String,
    pub dlq_url: String,
    pub customers_table: String,
    pub ledger_table: String,
    pub idempotency_enabled: bool,
    pub claim_lease: Duration,
    pub ledger_ttl: Duration,
    pub allowed_recipient_domains: Vec<String>,
    pub default_configuration_set: Option<String>,
    pub target_utilisation: f64,
    pub ses_max_send_rate_override: Option<f64>,
    pub maximum_concurrency: u32,
    pub send_concurrency: usize,
    pub quota_cache: Duration,
    pub customer_cache_capacity: usize,
    pub customer_cache_ttl: Duration,
    pub retry_base_delay: Duration,
    pub retry_max_delay: Duration,
    pub metrics_namespace: String,
}

/// A configuration value that cannot be used; names the variable and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required but not set")]
    Missing { name: &'static str },
    /// Several required variables are missing: all are named, so one deploy fixes them all.
    #[error("{} are required but not set", names.join(", "))]
    MissingSeveral { names: Vec<&'static str> },
    #[error("{name}={value:?} is invalid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

impl PollerConfig {
    /// Build from a variable lookup (e.g. `|k| std::env::var(k).ok()`), applying defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| -> Result<String, ConfigError> {
            let default = ENV_VARS
                .iter()
                .find(|(n, _, _)| *n == name)
                .and_then(|(_, d, _)| *d);
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                Some(v) => Ok(v.trim().to_string()),
                None => default
                    .map(str::to_string)
                    .ok_or(ConfigError::Missing { name }),
            }
        };
        fn parse<T: std::str::FromStr>(name: &'static str, v: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse::<T>().map_err(|e| ConfigError::Invalid {
                name,
                why: e.to_string(),
                value: v,
            })
        }
        let invalid = |name: &'static str, value: String, why: &str| ConfigError::Invalid {
            name,
            value,
            why: why.to_string(),
        };
        let bool_var = |name: &'static str| -> Result<bool, ConfigError> {
            let v = get(name)?;
            match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(invalid(name, v, "expected true or false")),
            }
        };
        let secs = |name: &'static str| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(parse::<u64>(name, get(name)?)?))
        };

        let missing: Vec<&'static str> = ENV_VARS
            .iter()
            .filter(|(name, default, _)| {
                default.is_none() && lookup(name).filter(|v| !v.trim().is_empty()).is_none()
            })
            .map(|(name, _, _)| *name)
            .collect();
        match missing.as_slice() {
            [] => {}
            [name] => return Err(ConfigError::Missing { name }),
            _ => return Err(ConfigError::MissingSeveral { names: missing }),
        }
        let idempotency_enabled = bool_var("IDEMPOTENCY_ENABLED")?;
        let ledger_table = get("LEDGER_TABLE")?;
        if idempotency_enabled && ledger_table.is_empty() {
            return Err(ConfigError::Missing {
                name: "LEDGER_TABLE",
            });
        }
        let domains_raw = get("ALLOWED_RECIPIENT_DOMAINS")?;
        let allowed_recipient_domains: Vec<String> = domains_raw
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        if allowed_recipient_domains.is_empty() {
            return Err(invalid(
                "ALLOWED_RECIPIENT_DOMAINS",
                domains_raw,
                "at least one domain is required",
            ));
        }
        let target_raw = get("TARGET_UTILISATION")?;
        let target_utilisation: f64 = parse("TARGET_UTILISATION", target_raw.clone())?;
        if !(target_utilisation > 0.0 && target_utilisation <= 1.0) {
            return Err(invalid(
                "TARGET_UTILISATION",
                target_raw,
                "must be in (0, 1]",
            ));
        }
        let override_raw = get("SES_MAX_SEND_RATE_OVERRIDE")?;
        let ses_max_send_rate_override = if override_raw.is_empty() {
            None
        } else {
            let r: f64 = parse("SES_MAX_SEND_RATE_OVERRIDE", override_raw.clone())?;
            if !(r > 0.0 && r.is_finite()) {
                return Err(invalid(
                    "SES_MAX_SEND_RATE_OVERRIDE",
                    override_raw,
                    "must be a positive number of emails per second",
                ));
            }
            Some(r)
        };
        let maximum_concurrency: u32 = parse("MAXIMUM_CONCURRENCY", get("MAXIMUM_CONCURRENCY")?)?;
        if maximum_concurrency == 0 {
            return Err(invalid(
                "MAXIMUM_CONCURRENCY",
                "0".into(),
                "must be at least 1",
            ));
        }
        let send_concurrency: usize = parse("SEND_CONCURRENCY", get("SEND_CONCURRENCY")?)?;
        if send_concurrency == 0 {
            return Err(invalid(
                "SEND_CONCURRENCY",
                "0".into(),
                "must be at least 1",
            ));
        }
        let default_configuration_set =
            Some(get("DEFAULT_CONFIGURATION_SET")?).filter(|s| !s.is_empty());
        let ledger_ttl_days: u64 = parse("LEDGER_TTL_DAYS", get("LEDGER_TTL_DAYS")?)?;
        let retry_base_delay = secs("RETRY_BASE_DELAY_SECONDS")?;
        let retry_max_delay = secs("RETRY_MAX_DELAY_SECONDS")?;
        if retry_max_delay < retry_base_delay || retry_max_delay > Duration::from_secs(43_200) {
            return Err(invalid(
                "RETRY_MAX_DELAY_SECONDS",
                retry_max_delay.as_secs().to_string(),
                "must be >= RETRY_BASE_DELAY_SECONDS and <= 43200 (the SQS visibility limit)",
            ));
        }

        Ok(Self {
            queue_url: get("QUEUE_URL")?,
            dlq_url: get("DLQ_URL")?,
            customers_table: get("CUSTOMERS_TABLE")?,
            ledger_table,
            idempotency_enabled,
            claim_lease: secs("CLAIM_LEASE_SECONDS")?,
            ledger_ttl: Duration::from_secs(ledger_ttl_days * 86_400),
            allowed_recipient_domains,
            default_configuration_set,
            target_utilisation,
            ses_max_send_rate_override,
            maximum_concurrency,
            send_concurrency,
            quota_cache: secs("QUOTA_CACHE_SECONDS")?,
            customer_cache_capacity: parse(
                "CUSTOMER_CACHE_CAPACITY",
                get("CUSTOMER_CACHE_CAPACITY")?,
            )?,
            customer_cache_ttl: secs("CUSTOMER_CACHE_TTL_SECONDS")?,
            retry_base_delay,
            retry_max_delay,
            metrics_namespace: get("METRICS_NAMESPACE")?,
        })
    }
}

/// The environment-variable reference table of `docs/configuration.md` (Markdown), generated
/// from [`ENV_VARS`]; a test keeps the document and this list identical.
pub fn env_var_reference_markdown() -> String {
    let mut s = String::from("| Variable | Default | Meaning |\n|---|---|---|\n");
    for (name, default, doc) in ENV_VARS {
        let d = match default {
            None => "*required*".to_string(),
            Some("") => "*(empty)*".to_string(),
            Some(v) => format!("`{v}`"),
        };
        s.push_str(&format!("| `{name}` | {d} | {doc} |\n"));
    }
    s
}
