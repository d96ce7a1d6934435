//! Poller configuration: the validated settings the poller runs with, read from environment
//! variables whose names and defaults come from the settings table ([`settings::SETTINGS`]).
//!
//! The Terraform `poller` module sets exactly these variables on AWS; the local stack passes
//! the same names to the same code (`sesload_local::LocalConfig::poller_env`). A test
//! (`crates/core/tests/settings.rs`) checks the Terraform module against the table.

pub mod settings;

use std::time::Duration;

use settings::{Default, Function, Kind, SETTINGS, Setting};

use crate::processor::{ProcessorSettings, RateSource};
use crate::request::Policy;

/// Validated poller settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PollerConfig {
    pub queue_url: String,
    pub dlq_url: String,
    pub customers_table: String,
    pub ledger_table: String,
    /// The control store's table (fleet send schedule): DynamoDB on AWS.
    pub control_table: String,
    pub ledger_ttl: Duration,
    pub metrics_namespace: String,
    /// How the processor sends (policy, concurrency, pacing, retries, parking).
    pub processor: ProcessorSettings,
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

fn invalid(name: &'static str, value: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.into(),
        why: why.into(),
    }
}

/// Environment variable reads with the table's defaults and rules (the poller's here, the
/// guard's in `campaign::guardrail`).
pub(crate) struct Vars<F> {
    pub(crate) lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn setting(env: &'static str) -> &'static Setting {
        settings::by_env(env).unwrap_or_else(|| panic!("{env} is not in the settings table"))
    }

    /// The value set for `s` (trimmed, non-empty), under its name or its deprecated name.
    fn set(&self, s: &Setting) -> Option<String> {
        let get = |name: &str| {
            (self.lookup)(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let env = s.env?;
        get(env).or_else(|| {
            let old = s.deprecated_env?;
            let v = get(old)?;
            tracing::warn!(
                variable = old,
                replacement = env,
                "{old} is deprecated; set {env} instead"
            );
            Some(v)
        })
    }

    /// The value of `env`, or its default ("" when the default is unset).
    pub(crate) fn text(&self, env: &'static str) -> Result<String, ConfigError> {
        let s = Self::setting(env);
        match (self.set(s), s.default) {
            (Some(v), _) => Ok(v),
            (None, Default::Value(v)) => Ok(v.to_string()),
            (None, Default::Unset) => Ok(String::new()),
            (None, Default::Required) => Err(ConfigError::Missing { name: env }),
        }
    }

    pub(crate) fn int(&self, env: &'static str) -> Result<u64, ConfigError> {
        let v = self.text(env)?;
        let Kind::Int { min, max } = Self::setting(env).kind else {
            panic!("{env} is not a whole number in the settings table");
        };
        match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) => Err(invalid(env, v, format!("must be in {min}..={max}"))),
            Err(e) => Err(invalid(env, v, format!("not a whole number: {e}"))),
        }
    }

    pub(crate) fn secs(&self, env: &'static str) -> Result<Duration, ConfigError> {
        self.int(env).map(Duration::from_secs)
    }

    pub(crate) fn bool(&self, env: &'static str) -> Result<bool, ConfigError> {
        let v = self.text(env)?;
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(env, v, "expected true or false")),
        }
    }

    pub(crate) fn number(&self, env: &'static str, v: String) -> Result<f64, ConfigError> {
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            Ok(_) => Err(invalid(env, v, "must be a finite number")),
            Err(e) => Err(invalid(env, v, e.to_string())),
        }
    }

    /// A number in (0, 1] (a setting of kind `Fraction`).
    pub(crate) fn fraction(&self, env: &'static str) -> Result<f64, ConfigError> {
        let raw = self.text(env)?;
        let v = self.number(env, raw.clone())?;
        if v > 0.0 && v <= 1.0 {
            Ok(v)
        } else {
            Err(invalid(env, raw, "must be in (0, 1]"))
        }
    }

    /// Every required variable of `function` that is not set, in table order.
    pub(crate) fn missing(&self, function: Function) -> Vec<&'static str> {
        SETTINGS
            .iter()
            .filter(|s| {
                s.default == Default::Required
                    && s.read_by_function(function)
                    && self.set(s).is_none()
            })
            .filter_map(|s| s.env)
            .collect()
    }
}

impl PollerConfig {
    /// Build from a variable lookup (e.g. `|k| std::env::var(k).ok()`), applying the defaults
    /// of [`settings::SETTINGS`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars { lookup };
        let missing = vars.missing(Function::Poller);
        match missing.as_slice() {
            [] => {}
            [name] => return Err(ConfigError::Missing { name }),
            _ => return Err(ConfigError::MissingSeveral { names: missing }),
        }

        let idempotency_enabled = vars.bool("IDEMPOTENCY_ENABLED")?;
        let ledger_table = vars.text("LEDGER_TABLE")?;
        if idempotency_enabled && ledger_table.is_empty() {
            return Err(ConfigError::Missing {
                name: "LEDGER_TABLE",
            });
        }
        let domains_raw = vars.text("ALLOWED_RECIPIENT_DOMAINS")?;
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
        let target_raw = vars.text("TARGET_UTILISATION")?;
        let target_utilisation = vars.number("TARGET_UTILISATION", target_raw.clone())?;
        if !(target_utilisation > 0.0 && target_utilisation <= 1.0) {
            return Err(invalid(
                "TARGET_UTILISATION",
                target_raw,
                "must be in (0, 1]",
            ));
        }
        let override_raw = vars.text("SES_MAX_SEND_RATE_OVERRIDE")?;
        let ses_max_send_rate_override = if override_raw.is_empty() {
            None
        } else {
            let r = vars.number("SES_MAX_SEND_RATE_OVERRIDE", override_raw.clone())?;
            if r <= 0.0 {
                return Err(invalid(
                    "SES_MAX_SEND_RATE_OVERRIDE",
                    override_raw,
                    "must be a positive number of emails per second",
                ));
            }
            Some(r)
        };
        let retry_base_delay = vars.secs("RETRY_BASE_DELAY_SECONDS")?;
        let retry_max_delay = vars.secs("RETRY_MAX_DELAY_SECONDS")?;
        if retry_max_delay < retry_base_delay {
            return Err(invalid(
                "RETRY_MAX_DELAY_SECONDS",
                retry_max_delay.as_secs().to_string(),
                "must be >= RETRY_BASE_DELAY_SECONDS",
            ));
        }
        let park_base_delay = vars.secs("PARK_BASE_DELAY_SECONDS")?;
        let park_max_delay = vars.secs("PARK_MAX_DELAY_SECONDS")?;
        if park_max_delay < park_base_delay {
            return Err(invalid(
                "PARK_MAX_DELAY_SECONDS",
                park_max_delay.as_secs().to_string(),
                "must be >= PARK_BASE_DELAY_SECONDS",
            ));
        }
        let count = |env: &'static str| -> Result<usize, ConfigError> {
            let n = vars.int(env)?;
            usize::try_from(n).map_err(|_| invalid(env, n.to_string(), "too large"))
        };

        let processor = ProcessorSettings {
            policy: Policy::new(&allowed_recipient_domains),
            idempotency_enabled,
            claim_lease: vars.secs("CLAIM_LEASE_SECONDS")?,
            default_configuration_set: Some(vars.text("CONFIGURATION_SET_NAME")?)
                .filter(|s| !s.is_empty()),
            rate_source: match ses_max_send_rate_override {
                Some(r) => RateSource::Fixed(r),
                None => RateSource::Account,
            },
            target_utilisation,
            maximum_concurrency: u32::try_from(vars.int("MAXIMUM_CONCURRENCY")?)
                .expect("the table bounds MAXIMUM_CONCURRENCY"),
            send_concurrency: count("SEND_CONCURRENCY")?,
            send_api: {
                let v = vars.text("SEND_API")?;
                v.parse()
                    .map_err(|why: String| invalid("SEND_API", v, why))?
            },
            quota_cache: vars.secs("QUOTA_CACHE_SECONDS")?,
            customer_cache_capacity: count("CUSTOMER_CACHE_CAPACITY")?,
            customer_cache_ttl: vars.secs("CUSTOMER_CACHE_TTL_SECONDS")?,
            retry_base_delay,
            retry_max_delay,
            park_base_delay,
            park_max_delay,
            campaign_state_cache: crate::processor::CAMPAIGN_STATE_CACHE,
        };
        Ok(Self {
            queue_url: vars.text("QUEUE_URL")?,
            dlq_url: vars.text("DLQ_URL")?,
            customers_table: vars.text("CUSTOMERS_TABLE")?,
            ledger_table,
            control_table: vars.text("CONTROL_TABLE")?,
            ledger_ttl: Duration::from_secs(vars.int("LEDGER_TTL_DAYS")? * 86_400),
            metrics_namespace: vars.text("METRICS_NAMESPACE")?,
            processor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(extra: &[(&str, &str)]) -> Result<PollerConfig, ConfigError> {
        let mut env: HashMap<String, String> = [
            ("QUEUE_URL", "q"),
            ("DLQ_URL", "d"),
            ("CUSTOMERS_TABLE", "c"),
            ("LEDGER_TABLE", "l"),
            ("CONTROL_TABLE", "ctl"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        PollerConfig::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn defaults_come_from_the_table() {
        let c = with(&[]).unwrap();
        assert_eq!(c.control_table, "ctl");
        assert_eq!(c.processor.park_base_delay, Duration::from_secs(10));
        assert_eq!(c.processor.park_max_delay, Duration::from_secs(900));
        assert_eq!(c.processor.claim_lease, Duration::from_secs(120));
        assert_eq!(c.processor.maximum_concurrency, 2);
        assert_eq!(c.processor.default_configuration_set, None);
        assert_eq!(c.metrics_namespace, "sesload");
    }

    #[test]
    fn park_delays_are_bounded_by_sqs() {
        let e = with(&[("PARK_MAX_DELAY_SECONDS", "901")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "PARK_MAX_DELAY_SECONDS=\"901\" is invalid: must be in 1..=900"
        );
        let e = with(&[
            ("PARK_BASE_DELAY_SECONDS", "60"),
            ("PARK_MAX_DELAY_SECONDS", "30"),
        ])
        .unwrap_err();
        assert!(
            e.to_string().contains("must be >= PARK_BASE_DELAY_SECONDS"),
            "{e}"
        );
        let c = with(&[
            ("PARK_BASE_DELAY_SECONDS", "5"),
            ("PARK_MAX_DELAY_SECONDS", "600"),
        ])
        .unwrap();
        assert_eq!(
            (c.processor.park_base_delay, c.processor.park_max_delay),
            (Duration::from_secs(5), Duration::from_secs(600))
        );
    }

    #[test]
    fn configuration_set_name_and_its_former_name() {
        let c = with(&[("CONFIGURATION_SET_NAME", "set-a")]).unwrap();
        assert_eq!(
            c.processor.default_configuration_set.as_deref(),
            Some("set-a")
        );
        let old = with(&[("DEFAULT_CONFIGURATION_SET", "set-b")]).unwrap();
        assert_eq!(
            old.processor.default_configuration_set.as_deref(),
            Some("set-b")
        );
        let both = with(&[
            ("CONFIGURATION_SET_NAME", "new"),
            ("DEFAULT_CONFIGURATION_SET", "old"),
        ])
        .unwrap();
        assert_eq!(
            both.processor.default_configuration_set.as_deref(),
            Some("new")
        );
    }

    #[test]
    fn ranges_name_the_variable_and_value() {
        let e = with(&[("SEND_CONCURRENCY", "0")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SEND_CONCURRENCY=\"0\" is invalid: must be in 1..=1024"
        );
        let e = with(&[("CLAIM_LEASE_SECONDS", "soon")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("CLAIM_LEASE_SECONDS=\"soon\" is invalid: not a whole number"),
            "{e}"
        );
        let e = with(&[("RETRY_MAX_DELAY_SECONDS", "43201")]).unwrap_err();
        assert!(e.to_string().contains("must be in 0..=43200"), "{e}");
        let e = with(&[("TARGET_UTILISATION", "1.5")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TARGET_UTILISATION=\"1.5\" is invalid: must be in (0, 1]"
        );
        let e = with(&[("SES_MAX_SEND_RATE_OVERRIDE", "-3")]).unwrap_err();
        assert!(e.to_string().contains("positive"), "{e}");
        let e = with(&[("SEND_API", "batch")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SEND_API=\"batch\" is invalid: expected single or bulk, got \"batch\""
        );
        assert_eq!(
            with(&[("SEND_API", "bulk")]).unwrap().processor.send_api,
            crate::processor::SendApi::Bulk
        );
        assert_eq!(
            with(&[]).unwrap().processor.send_api,
            crate::processor::SendApi::Single
        );
        let e = with(&[("IDEMPOTENCY_ENABLED", "maybe")]).unwrap_err();
        assert!(e.to_string().contains("expected true or false"), "{e}");
    }

    #[test]
    fn control_table_is_required() {
        let e = PollerConfig::from_lookup(|k| match k {
            "QUEUE_URL" | "DLQ_URL" | "CUSTOMERS_TABLE" | "LEDGER_TABLE" => Some("x".into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(
            e,
            ConfigError::Missing {
                name: "CONTROL_TABLE"
            }
        );
    }
}
