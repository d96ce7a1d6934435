//! `sesload plan --verify`: run a recommendation through the local stack, in this process.
//!
//! Builds a `LocalConfig` with the plan's settings and a simulator at the plan's MaxSendRate and
//! latency, and drains a backlog of `verify_seconds` of sending through it
//! (`sesload_stack::backlog::run_backlog`: written to the durable queue before the stack starts,
//! so the fleet meets a full queue as the plan assumes and the ingest rate plays no part). The
//! achieved rate and the losses come from the stack's reconciliation of the campaign.

use std::time::Duration;

use anyhow::bail;
use serde::Serialize;
use sesload_plan::Plan;
use sesload_stack::backlog::{Backlog, run_backlog, sim_table};
use sesload_stack::{Drained, LocalConfig};

/// What `--verify` measured.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub predicted_rate: f64,
    pub achieved_rate: f64,
    pub messages: u64,
    pub sent: i64,
    pub dlq: i64,
    /// Emails sent more than once (SES accepted more calls than the ledger records sends).
    pub duplicates: i64,
    pub lost: i64,
    pub throttled: u64,
    pub invocation_timeouts: u64,
    pub drain_seconds: f64,
    pub campaign: String,
}

impl VerifyReport {
    pub fn relative_difference(&self) -> f64 {
        (self.achieved_rate - self.predicted_rate).abs() / self.predicted_rate
    }

    pub fn render(&self) -> String {
        format!(
            "\nVerify (local stack, simulator at the plan's MaxSendRate and latency):\n  \
             {} messages, sent {}, dlq {}, duplicates {}, lost {}, throttled {}, invocation timeouts {}\n  \
             achieved {:.1} emails/s vs predicted {:.1} emails/s ({:+.1} %), drained in {:.1} s\n",
            self.messages,
            self.sent,
            self.dlq,
            self.duplicates,
            self.lost,
            self.throttled,
            self.invocation_timeouts,
            self.achieved_rate,
            self.predicted_rate,
            (self.achieved_rate / self.predicted_rate - 1.0) * 100.0,
            self.drain_seconds,
        )
    }
}

const CUSTOMERS: u64 = 1_000;

/// The local stack configuration that runs `plan`.
fn stack_config(plan: &Plan) -> LocalConfig {
    let i = &plan.inputs;
    LocalConfig {
        batch_size: plan.batch_size as usize,
        maximum_batching_window_in_seconds: u64::from(plan.maximum_batching_window_in_seconds),
        maximum_concurrency: plan.maximum_concurrency as usize,
        function_timeout_seconds: u64::from(plan.function_timeout_seconds),
        visibility_timeout_seconds: u64::from(plan.visibility_timeout_seconds),
        target_utilisation: i.target_utilisation,
        send_concurrency: i.send_concurrency as usize,
        send_api: i.send_api,
        idempotency_enabled: i.ledger_enabled,
        sim: sim_table(i.max_send_rate, i.ses_latency_ms, i.ses_latency_ms),
        ..LocalConfig::default()
    }
}

fn report(
    plan: &Plan,
    messages: u64,
    campaign: String,
    d: &Drained,
) -> anyhow::Result<VerifyReport> {
    let r = &d.reconciliation;
    if !r.drained() {
        bail!(
            "the backlog did not drain in time: {}",
            serde_json::to_string(r).unwrap_or_default()
        );
    }
    let Some(achieved_rate) = r.achieved_send_rate else {
        bail!(
            "too few sends to measure a rate: sent {} over {} s",
            r.sent,
            r.send_span_seconds()
        );
    };
    Ok(VerifyReport {
        predicted_rate: plan.predicted_rate,
        achieved_rate,
        messages,
        sent: r.sent,
        dlq: r.dlq,
        duplicates: i64::try_from(d.duplicate_sends()).unwrap_or(i64::MAX),
        lost: r.unaccounted,
        throttled: d.emails_throttled,
        invocation_timeouts: d.invocation_timeouts,
        drain_seconds: d.waited.as_secs_f64(),
        campaign,
    })
}

pub fn run(plan: &Plan, seconds: f64) -> anyhow::Result<VerifyReport> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--verify-seconds {seconds} must be > 0"
    );
    let messages = (plan.target_rate * seconds).ceil().max(1.0) as u64;
    let campaign = format!("plan-verify-{}", uuid::Uuid::new_v4().simple());
    let backlog = Backlog {
        campaign: campaign.clone(),
        messages,
        customers: CUSTOMERS,
    };
    let expect_s = messages as f64 / plan.predicted_rate;
    let timeout = Duration::from_secs_f64(expect_s * 3.0 + 60.0);
    let drained = tokio::runtime::Runtime::new()?.block_on(run_backlog(
        stack_config(plan),
        &backlog,
        timeout,
    ))?;
    report(plan, messages, campaign, &drained)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_config_carries_the_plan() {
        let plan = sesload_plan::plan(
            &sesload_plan::Inputs::new(200.0, 50.0),
            &sesload_plan::Prices::default(),
        )
        .unwrap();
        let cfg = stack_config(&plan);
        cfg.validate().unwrap();
        assert_eq!(cfg.batch_size, plan.batch_size as usize);
        assert_eq!(cfg.maximum_concurrency, plan.maximum_concurrency as usize);
        assert_eq!(
            cfg.maximum_batching_window_in_seconds,
            u64::from(plan.maximum_batching_window_in_seconds)
        );
        assert_eq!(
            cfg.function_timeout_seconds,
            u64::from(plan.function_timeout_seconds)
        );
        assert_eq!(
            cfg.visibility_timeout_seconds,
            u64::from(plan.visibility_timeout_seconds)
        );
        assert_eq!(cfg.send_concurrency, 32);
        assert_eq!(cfg.sim["max_send_rate"].as_float(), Some(200.0));
        assert_eq!(cfg.sim["latency"]["p50_ms"].as_float(), Some(50.0));
        let sim = sesload_stack::ses::sim_config(&cfg, std::path::Path::new("/tmp")).unwrap();
        assert_eq!(sim.effective_max_send_rate(), 200.0);
    }
}
