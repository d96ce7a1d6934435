//! The local stack's own counters for a campaign: what was accepted, what is in the DLQ (by
//! reason), what is still queued. Their source of truth is the local stack's reconciliation
//! (`sesload_local::stats::CampaignReconciliation`, from its SQLite database, also served as the
//! `campaign` object of `GET /_local/stats?campaign=X`); this module reads that JSON shape from a
//! value or a file (the caller fetches it), so the analytics crate depends neither on the local
//! stack nor on an HTTP client.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::{Error, Result};

/// SES API call latency as the local stack measured it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
}

/// Counters of one campaign (the `CampaignReconciliation` JSON of `sesload-local`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Counters {
    #[serde(default)]
    pub campaign: Option<String>,
    /// Requests the ingest API accepted (200) for the campaign.
    pub accepted: u64,
    /// Requests the ledger records as sent (informational; the report counts sends from events).
    #[serde(default)]
    pub sent: Option<u64>,
    /// Requests in the DLQ.
    #[serde(default)]
    pub dlq: u64,
    #[serde(default)]
    pub dlq_by_reason: BTreeMap<String, u64>,
    /// Requests still in the queue (visible, in flight or delayed).
    #[serde(default)]
    pub queued: u64,
    /// Accepted requests that repeated an earlier request's unique_code (acknowledged without a send).
    #[serde(default)]
    pub duplicate_codes: u64,
    /// Requests of a cancelled campaign, acknowledged without a send.
    #[serde(default)]
    pub cancelled: u64,
    /// The account's SES MaxSendRate during the run, when known.
    #[serde(default)]
    pub max_send_rate: Option<f64>,
    /// SES SendEmail call latency, when known.
    #[serde(default)]
    pub ses_send_ms: Option<Latency>,
    /// Poller invocations the stack abandoned at the function timeout (the stack's
    /// `metrics.invocation_timeouts`; known when the counters come from `/_local/stats`).
    #[serde(default)]
    pub invocation_timeouts: Option<u64>,
}

impl Counters {
    /// From a `CampaignReconciliation` object, or a whole `/_local/stats` response holding one
    /// under `campaign` (and the stack's counters under `metrics`).
    pub fn from_value(origin: &str, v: Value) -> Result<Self> {
        let timeouts = v["metrics"]["invocation_timeouts"].as_u64();
        let v = match v.get("campaign") {
            Some(inner @ Value::Object(_)) => inner.clone(),
            _ => v,
        };
        let mut c: Counters = serde_json::from_value(v).map_err(|e| Error::Counters {
            origin: origin.to_owned(),
            detail: e.to_string(),
        })?;
        c.invocation_timeouts = c.invocation_timeouts.or(timeouts);
        let by_reason: u64 = c.dlq_by_reason.values().sum();
        if c.dlq == 0 {
            c.dlq = by_reason;
        } else if !c.dlq_by_reason.is_empty() && by_reason != c.dlq {
            return Err(Error::Counters {
                origin: origin.to_owned(),
                detail: format!("dlq = {} but dlq_by_reason adds up to {by_reason}", c.dlq),
            });
        }
        Ok(c)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| Error::Counters {
            origin: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::from_value(&path.display().to_string(), v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_local_stats_shape() {
        let v = json!({"accepted": 10, "queue": {}, "campaign": {
            "campaign": "c1", "accepted": 10, "sent": 7, "dlq": 2,
            "dlq_by_reason": {"unknown_customer": 2}, "queued": 1, "duplicate_codes": 0,
            "unaccounted": 0}});
        let c = Counters::from_value("test", v).unwrap();
        assert_eq!((c.accepted, c.dlq, c.queued), (10, 2, 1));
        assert_eq!(c.dlq_by_reason["unknown_customer"], 2);
        assert_eq!(c.invocation_timeouts, None);
        let v = json!({"metrics": {"invocation_timeouts": 3}, "campaign": {"accepted": 1}});
        let c = Counters::from_value("test", v).unwrap();
        assert_eq!(c.invocation_timeouts, Some(3));
    }

    #[test]
    fn inconsistent_dlq_is_an_error() {
        let v = json!({"accepted": 3, "dlq": 2, "dlq_by_reason": {"x": 1}});
        let err = Counters::from_value("f.json", v).unwrap_err().to_string();
        assert!(err.contains("f.json") && err.contains("dlq = 2"), "{err}");
    }

    #[test]
    fn missing_accepted_is_an_error() {
        assert!(Counters::from_value("f", json!({"dlq": 1})).is_err());
    }
}
