//! `sesload bench quota`: a backlog drained through the local stack against the simulator's
//! MaxSendRate. Reports the achieved send rate and the losses from the stack's reconciliation
//! (`sesload_stack::backlog`): the utilisation of the quota, the share of send attempts
//! (`SendEmail` calls, or `SendBulkEmail` entries with `--send-api bulk`) the simulator throttled, messages in the DLQ, sent twice (the simulator accepted more SendEmail
//! calls than the ledger has sends) or unaccounted for, and the invocations abandoned at the
//! function timeout.

use std::time::Duration;

use sesload_stack::LocalConfig;
use sesload_stack::backlog::{Backlog, run_backlog, sim_table};

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: super::BacklogArgs,
    /// The simulated account's MaxSendRate (emails/s).
    #[arg(long, default_value_t = 200.0)]
    pub max_send_rate: f64,
    /// Messages in the backlog.
    #[arg(long, default_value_t = 12_000)]
    pub messages: u64,
    /// Records per invocation. Each instance idles for about one SES latency plus a few
    /// commits between batches, so the batch must last many seconds at the instance's share
    /// of the quota for the utilisation to approach `target_utilisation`.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Concurrent poller instances (the event source mapping's maximum concurrency); they
    /// share one send schedule.
    #[arg(long, default_value_t = 2)]
    pub maximum_concurrency: usize,
    #[arg(long, default_value_t = 0.98)]
    pub target_utilisation: f64,
    /// Simulator latency p50 (ms); p99 is twice that.
    #[arg(long, default_value_t = 50.0)]
    pub latency_ms: f64,
    /// The poller's function timeout in seconds (`function_timeout_seconds`); default: the
    /// local stack's.
    #[arg(long)]
    pub function_timeout_seconds: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    crate::process::init_logging(false);
    let cfg = LocalConfig {
        batch_size: args.batch_size,
        maximum_concurrency: args.maximum_concurrency,
        send_api: args.common.send_api,
        target_utilisation: args.target_utilisation,
        sim: sim_table(args.max_send_rate, args.latency_ms, args.latency_ms * 2.0),
        ..LocalConfig::default()
    };
    let cfg = LocalConfig {
        function_timeout_seconds: args
            .function_timeout_seconds
            .unwrap_or(cfg.function_timeout_seconds),
        ..cfg
    };
    let function_timeout_seconds = cfg.function_timeout_seconds;
    let backlog = Backlog {
        campaign: "bench-quota".into(),
        messages: args.messages,
        customers: 10_000,
    };
    let expected = args.messages as f64 / args.max_send_rate;
    let d = tokio::runtime::Runtime::new()?.block_on(run_backlog(
        cfg,
        &backlog,
        Duration::from_secs_f64(expected * 3.0 + 60.0),
    ))?;
    let r = &d.reconciliation;
    let achieved = r.achieved_send_rate.unwrap_or(0.0);
    let throttled_ratio = d.throttled_ratio();
    let duplicates = d.duplicate_sends();
    let out = serde_json::json!({
        "scenario": "quota",
        "send_api": args.common.send_api.as_str(),
        "max_send_rate": args.max_send_rate,
        "achieved_rate": (achieved * 10.0).round() / 10.0,
        "utilisation": (achieved / args.max_send_rate * 1000.0).round() / 1000.0,
        "throttled_ratio": (throttled_ratio * 10000.0).round() / 10000.0,
        "throttled": d.ses_throttled,
        "dlq": r.dlq,
        "duplicates": duplicates,
        "lost": r.unaccounted,
        "still_queued": r.queued,
        "invocation_timeouts": d.invocation_timeouts,
        "function_timeout_seconds": function_timeout_seconds,
        "messages": args.messages,
        "seconds": (d.waited.as_secs_f64() * 100.0).round() / 100.0,
        "batch_size": args.batch_size,
        "maximum_concurrency": args.maximum_concurrency,
        "target_utilisation": args.target_utilisation,
    });
    if args.common.json {
        println!("{out}");
    } else {
        println!(
            "quota: {:.1} emails/s of {} ({:.1} %), throttled {:.2} % of calls, dlq {}, duplicates {}, lost {}, invocation timeouts {} ({} messages in {:.1} s)",
            achieved,
            args.max_send_rate,
            achieved / args.max_send_rate * 100.0,
            throttled_ratio * 100.0,
            r.dlq,
            duplicates,
            r.unaccounted,
            d.invocation_timeouts,
            args.messages,
            d.waited.as_secs_f64()
        );
    }
    Ok(())
}
