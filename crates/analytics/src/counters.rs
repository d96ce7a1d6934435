//! The local stack's own counters for a campaign: what was accepted, what is in the DLQ (by
//! reason), what is still queued. Their source of truth is the local stack's SQLite database
//! (`sesload_local::stats::reconcile`, also served as the `campaign` object of
//! `GET /_local/stats?campaign=X`); this module reads that JSON shape from a value, a file or the
//! HTTP endpoint, so the analytics crate does not depend on the local stack.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

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
    /// The account's SES MaxSendRate during the run, when known.
    #[serde(default)]
    pub max_send_rate: Option<f64>,
    /// SES SendEmail call latency, when known.
    #[serde(default)]
    pub ses_send_ms: Option<Latency>,
}

impl Counters {
    /// From a `CampaignReconciliation` object, or a whole `/_local/stats` response holding one
    /// under `campaign`.
    pub fn from_value(origin: &str, v: Value) -> Result<Self> {
        let v = match v.get("campaign") {
            Some(inner @ Value::Object(_)) => inner.clone(),
            _ => v,
        };
        let mut c: Counters = serde_json::from_value(v).map_err(|e| Error::Counters {
            origin: origin.to_owned(),
            detail: e.to_string(),
        })?;
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

    /// `GET <base>/_local/stats?campaign=<campaign>` on a local stack (plain HTTP on loopback).
    pub fn from_stats_url(base: &str, campaign: &str) -> Result<Self> {
        crate::params::validate_campaign(campaign)?;
        let url = format!(
            "{}/_local/stats?campaign={campaign}",
            base.trim_end_matches('/')
        );
        let body = http_get(&url).map_err(|detail| Error::Counters {
            origin: url.clone(),
            detail,
        })?;
        let v: Value = serde_json::from_str(&body).map_err(|e| Error::Counters {
            origin: url.clone(),
            detail: e.to_string(),
        })?;
        Self::from_value(&url, v)
    }
}

/// Minimal HTTP/1.1 GET for `http://host:port/path` (the local stack's loopback API).
fn http_get(url: &str) -> std::result::Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported (the local stack listens on loopback)")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut s = TcpStream::connect(hostport).map_err(|e| format!("connect {hostport}: {e}"))?;
    let t = Some(Duration::from_secs(10));
    s.set_read_timeout(t).map_err(|e| e.to_string())?;
    s.set_write_timeout(t).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("HTTP {status}: {:.200}", body));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return dechunk(body);
    }
    Ok(body.to_owned())
}

fn dechunk(mut body: &str) -> std::result::Result<String, String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").ok_or("bad chunk")?;
        let n =
            usize::from_str_radix(size.trim(), 16).map_err(|e| format!("bad chunk size: {e}"))?;
        if n == 0 {
            return Ok(out);
        }
        out.push_str(rest.get(..n).ok_or("short chunk")?);
        body = rest.get(n + 2..).ok_or("short chunk")?;
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

    #[test]
    fn dechunks() {
        assert_eq!(
            dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            "abcde"
        );
    }
}
