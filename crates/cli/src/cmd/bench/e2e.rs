//! `sesload bench e2e`: emails/s from the local queue to the SES simulator (latency 0, no
//! quota), through the whole poller path: event-source emulator → `handle_sqs_event_reported` →
//! SQLite customer lookup and ledger claims → real `aws-sdk-sesv2` SendEmail → simulator (events
//! into the lake) → deletes. The backlog is written to the queue before the stack starts
//! (`sesload_stack::backlog`), so the figure is the drain rate, not the ingest rate.

use std::time::Duration;

use sesload_core::SendApi;
use sesload_stack::LocalConfig;
use sesload_stack::backlog::{Backlog, run_backlog, sim_table};

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: super::BacklogArgs,
    /// Messages in the backlog.
    #[arg(long, default_value_t = 20_000)]
    pub messages: u64,
    /// Records per invocation [default: 100 with `single`, 500 with `bulk`: a batch of 100 is
    /// only two 50-entry calls, so a bulk instance would have two calls in flight against 64
    /// single sends; bulk wants larger batches (see docs/tuning.md)].
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long, default_value_t = 4)]
    pub maximum_concurrency: usize,
    #[arg(long, default_value_t = 64)]
    pub send_concurrency: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let batch_size = args.batch_size.unwrap_or(match args.common.send_api {
        SendApi::Single => 100,
        SendApi::Bulk => 500,
    });
    // Errors of the stack (e.g. a ledger write that failed) are printed, not swallowed.
    crate::process::init_logging(false);
    let cfg = LocalConfig {
        batch_size,
        maximum_concurrency: args.maximum_concurrency,
        send_api: args.common.send_api,
        send_concurrency: args.send_concurrency,
        sim: sim_table(0.0, 0.0, 0.0),
        ..LocalConfig::default()
    };
    let backlog = Backlog {
        campaign: "bench-e2e".into(),
        messages: args.messages,
        customers: 10_000,
    };
    let d = tokio::runtime::Runtime::new()?.block_on(run_backlog(
        cfg,
        &backlog,
        Duration::from_secs(300),
    ))?;
    let r = &d.reconciliation;
    let seconds = d.waited.as_secs_f64();
    let emails_per_s = r.sent as f64 / seconds;
    let out = serde_json::json!({
        "scenario": "e2e",
        "send_api": args.common.send_api.as_str(),
        "emails_per_s": emails_per_s.round(),
        "messages": args.messages,
        "sent": r.sent,
        "dlq": r.dlq,
        "queued": r.queued,
        "lost": r.unaccounted,
        "duplicates": d.duplicate_sends(),
        "seconds": (seconds * 100.0).round() / 100.0,
        "sim_accepted": d.ses_accepted,
        "batch_size": batch_size,
        "maximum_concurrency": args.maximum_concurrency,
        "send_concurrency": args.send_concurrency,
    });
    if args.common.json {
        println!("{out}");
    } else {
        println!(
            "e2e: {:.0} emails/s queue → simulator ({} sent of {} in {:.2} s; dlq {}, queued {}; batch {} × concurrency {})",
            emails_per_s,
            r.sent,
            args.messages,
            seconds,
            r.dlq,
            r.queued,
            batch_size,
            args.maximum_concurrency
        );
    }
    Ok(())
}
