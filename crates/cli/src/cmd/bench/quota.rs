//! `sesload bench quota`: a backlog drained through the local stack against the simulator's
//! MaxSendRate. Reports the achieved send rate (first → last send), the utilisation of the
//! quota, the share of SendEmail calls the simulator throttled, and the losses: messages in the
//! DLQ, sent twice (simulator accepted more SendEmail calls than the ledger has distinct codes)
//! or unaccounted for.

use std::time::Duration;

use sesload_local::LocalConfig;

use super::e2e::drain_backlog;

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The simulated account's MaxSendRate (emails/s).
    #[arg(long, default_value_t = 200.0)]
    pub max_send_rate: f64,
    /// Messages in the backlog.
    #[arg(long, default_value_t = 12_000)]
    pub messages: usize,
    /// Records per invocation. Each instance idles for about one SES latency plus a few
    /// commits between batches, so the batch must last many seconds at the instance's share
    /// of the quota for the utilisation to approach `target_utilisation`.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 2)]
    pub maximum_concurrency: usize,
    #[arg(long, default_value_t = 0.98)]
    pub target_utilisation: f64,
    /// Simulator latency p50 (ms); p99 is twice that.
    #[arg(long, default_value_t = 50.0)]
    pub latency_ms: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut cfg = LocalConfig {
        batch_size: args.batch_size,
        maximum_concurrency: args.maximum_concurrency,
        target_utilisation: args.target_utilisation,
        ..LocalConfig::default()
    };
    cfg.sim = toml::from_str(&format!(
        "max_send_rate = {}\nmax_24_hour_send = -1\n[latency]\np50_ms = {:.1}\np99_ms = {:.1}\n",
        args.max_send_rate,
        args.latency_ms,
        args.latency_ms * 2.0
    ))?;
    let expected = args.messages as f64 / args.max_send_rate;
    let d = drain_backlog(
        cfg,
        args.messages,
        Duration::from_secs_f64(expected * 3.0 + 60.0),
    )?;
    let achieved = if d.send_span_s > 0.0 {
        (d.sent as f64 - 1.0) / d.send_span_s
    } else {
        0.0
    };
    let calls = d.sim_accepted + d.sim_throttled;
    let throttled_ratio = if calls > 0 {
        d.sim_throttled as f64 / calls as f64
    } else {
        0.0
    };
    let duplicates = d.sim_accepted.saturating_sub(d.sent.max(0) as u64);
    let lost = d.messages as i64 - d.sent - d.dlq - d.queued;
    let out = serde_json::json!({
        "scenario": "quota",
        "max_send_rate": args.max_send_rate,
        "achieved_rate": (achieved * 10.0).round() / 10.0,
        "utilisation": (achieved / args.max_send_rate * 1000.0).round() / 1000.0,
        "throttled_ratio": (throttled_ratio * 10000.0).round() / 10000.0,
        "throttled": d.sim_throttled,
        "dlq": d.dlq,
        "duplicates": duplicates,
        "lost": lost,
        "still_queued": d.queued,
        "messages": d.messages,
        "seconds": (d.seconds * 100.0).round() / 100.0,
        "batch_size": args.batch_size,
        "maximum_concurrency": args.maximum_concurrency,
        "target_utilisation": args.target_utilisation,
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "quota: {:.1} emails/s of {} ({:.1} %), throttled {:.2} % of calls, dlq {}, duplicates {}, lost {} ({} messages in {:.1} s)",
            achieved,
            args.max_send_rate,
            achieved / args.max_send_rate * 100.0,
            throttled_ratio * 100.0,
            d.dlq,
            duplicates,
            lost,
            d.messages,
            d.seconds
        );
    }
    Ok(())
}
