//! CloudWatch Embedded Metric Format: the batch report as JSON lines on stdout.
//!
//! One line per invocation with every counter, `batch_duration_ms` and the SES latencies
//! (dimension `FunctionName`). CloudWatch takes at most 100 values per metric per line, so a
//! batch with more than 100 sends adds continuation lines that carry only further
//! `ses_send_ms` values. Dead letters and parked records by reason are extra lines with
//! dimensions `[FunctionName, Reason]` and the metric `emails_dead_lettered` or
//! `emails_parked` (one line per reason present), so each total and its breakdown share one
//! metric name.

use serde_json::{Map, Value, json};
use sesload_core::BatchReport;
use sesload_core::metrics as m;

/// CloudWatch's limit of values per metric in one EMF line.
pub const MAX_VALUES_PER_LINE: usize = 100;

/// The `_aws` member of an EMF line: `metrics` (name, unit) with the dimension set `dims`.
pub(crate) fn directive(
    namespace: &str,
    ts_ms: u64,
    dims: &[&str],
    metrics: &[(&str, &str)],
) -> Value {
    json!({
        "Timestamp": ts_ms,
        "CloudWatchMetrics": [{
            "Namespace": namespace,
            "Dimensions": [dims],
            "Metrics": metrics.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
        }]
    })
}

/// Render the EMF lines of one invocation.
pub fn emf_lines(
    report: &BatchReport,
    namespace: &str,
    function_name: &str,
    ts_ms: u64,
) -> Vec<String> {
    // One EMF object: the directive for `dims` and `metrics`, the function's dimension set.
    let line = |dims: &[&str], metrics: &[(&str, &str)]| {
        let mut line = Map::new();
        line.insert("_aws".into(), directive(namespace, ts_ms, dims, metrics));
        line.insert(m::DIMENSION.into(), json!(function_name));
        line
    };
    let mut lines = Vec::new();
    let counters = report.counters();
    let mut metrics: Vec<(&str, &str)> = counters.iter().map(|(n, _)| (*n, "Count")).collect();
    metrics.push((m::BATCH_DURATION_MS, "Milliseconds"));
    let mut chunks = report.ses_send_ms.chunks(MAX_VALUES_PER_LINE);
    let first_latencies = chunks.next();
    if first_latencies.is_some() {
        metrics.push((m::SES_SEND_MS, "Milliseconds"));
    }
    let mut main = line(&[m::DIMENSION], &metrics);
    for (name, v) in &counters {
        main.insert((*name).into(), json!(v));
    }
    main.insert(
        m::BATCH_DURATION_MS.into(),
        json!(round(report.batch_duration_ms)),
    );
    if let Some(values) = first_latencies {
        main.insert(m::SES_SEND_MS.into(), latencies(values));
    }
    lines.push(Value::Object(main).to_string());

    for values in chunks {
        let mut more = line(&[m::DIMENSION], &[(m::SES_SEND_MS, "Milliseconds")]);
        more.insert(m::SES_SEND_MS.into(), latencies(values));
        lines.push(Value::Object(more).to_string());
    }

    let by_reason = report
        .dead_lettered_by_reason
        .iter()
        .map(|(r, n)| (m::EMAILS_DEAD_LETTERED, r.code(), n))
        .chain(
            report
                .parked_by_reason
                .iter()
                .map(|(r, n)| (m::EMAILS_PARKED, r.code(), n)),
        );
    for (metric, reason, count) in by_reason {
        let mut per_reason = line(&[m::DIMENSION, "Reason"], &[(metric, "Count")]);
        per_reason.insert("Reason".into(), json!(reason));
        per_reason.insert(metric.into(), json!(count));
        lines.push(Value::Object(per_reason).to_string());
    }
    lines
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn latencies(values: &[f64]) -> Value {
    Value::Array(values.iter().map(|v| json!(round(*v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesload_core::{DlqReason, ParkReason};

    #[test]
    fn one_line_per_invocation_with_every_metric() {
        let mut r = BatchReport {
            emails_received: 3,
            emails_sent: 2,
            ses_send_ms: vec![41.234, 50.0],
            batch_duration_ms: 120.5,
            ..Default::default()
        };
        r.emails_dead_lettered = 1;
        r.deadline_returns = 4;
        r.access_denied = 1;
        r.quota_fetch_failures = 2;
        let lines = emf_lines(&r, "sesload", "poller", 1_700_000_000_000);
        assert_eq!(lines.len(), 1);
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "sesload");
        assert_eq!(cw["Dimensions"], json!([["FunctionName"]]));
        let names: Vec<&str> = cw["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in m::ALL {
            assert!(names.contains(&name), "{name} missing");
            assert!(v.get(name).is_some(), "{name} value missing");
        }
        assert_eq!(v["FunctionName"], "poller");
        assert_eq!(v["emails_sent"], 2.0);
        assert_eq!(v["deadline_returns"], 4.0);
        assert_eq!(v["access_denied"], 1.0);
        assert_eq!(v["quota_fetch_failures"], 2.0);
        assert_eq!(v["ses_send_ms"], json!([41.23, 50.0]));
    }

    #[test]
    fn more_than_100_latencies_continue_on_further_lines_and_reasons_get_their_own() {
        let mut r = BatchReport {
            ses_send_ms: (0..250).map(f64::from).collect(),
            ..Default::default()
        };
        r.dead_lettered_by_reason.insert(DlqReason::InvalidJson, 2);
        r.dead_lettered_by_reason
            .insert(DlqReason::UnknownCustomer, 1);
        r.parked_by_reason.insert(ParkReason::DailyQuota, 7);
        r.parked_by_reason.insert(ParkReason::CampaignPaused, 4);
        let lines = emf_lines(&r, "ns", "f", 1);
        assert_eq!(lines.len(), 3 + 2 + 2);
        let parsed: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let total: usize = parsed
            .iter()
            .filter_map(|v| v["ses_send_ms"].as_array())
            .map(|a| {
                assert!(a.len() <= MAX_VALUES_PER_LINE);
                a.len()
            })
            .sum();
        assert_eq!(total, 250);
        let reasons: Vec<_> = parsed
            .iter()
            .filter(|v| v.get("Reason").is_some())
            .collect();
        assert_eq!(reasons[0]["Reason"], "invalid_json");
        assert_eq!(reasons[0]["emails_dead_lettered"], 2);
        assert_eq!(
            reasons[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "Reason"]])
        );
        assert_eq!(reasons[2]["Reason"], "daily_quota");
        assert_eq!(reasons[2]["emails_parked"], 7);
        assert!(reasons[2].get("emails_dead_lettered").is_none());
        assert_eq!(reasons[3]["Reason"], "campaign_paused");
        assert_eq!(reasons[3]["emails_parked"], 4);
    }
}
