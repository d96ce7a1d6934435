//! `sesload bench e2e`: emails/s from the local queue to the SES simulator (latency 0, no
//! quota), through the whole poller path: event-source emulator → `handle_sqs_event` →
//! SQLite customer lookup and ledger claims → real `aws-sdk-sesv2` SendEmail → simulator (events
//! into the lake) → deletes. The backlog is written to the queue before the stack starts, so
//! the figure is the drain rate, not the ingest rate.

use std::time::{Duration, Instant};

use anyhow::Context;
use sesload_local::adapters::{seed_customer, upsert_customers};
use sesload_local::{LocalConfig, NewMessage};

use crate::cmd::up::Stack;

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Messages in the backlog.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 4)]
    pub maximum_concurrency: usize,
    #[arg(long, default_value_t = 64)]
    pub send_concurrency: usize,
}

/// What a backlog drain measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Drain {
    pub messages: usize,
    pub seconds: f64,
    /// Distinct unique_codes the ledger records as sent.
    pub sent: i64,
    pub dlq: i64,
    pub queued: i64,
    /// SendEmail calls the simulator accepted.
    pub sim_accepted: u64,
    pub sim_throttled: u64,
    /// first → last ledger send, seconds.
    pub send_span_s: f64,
}

fn backlog_body(campaign: &str, i: usize, customers: usize) -> String {
    serde_json::json!({
        "from": "sender@example.com",
        "to": "success@simulator.amazonses.com",
        "template_name": "SimpleEmail",
        "user_id": ((i % customers) + 1).to_string(),
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": format!("{campaign}-{i}"),
    })
    .to_string()
}

/// Fill a fresh data dir with `n` messages and customers, start the stack, wait for the drain.
pub fn drain_backlog(mut cfg: LocalConfig, n: usize, timeout: Duration) -> anyhow::Result<Drain> {
    // Errors of the stack (e.g. a ledger write that failed) are printed, not swallowed.
    crate::cmd::up::init_logging(false);
    let dir = std::env::temp_dir().join(format!("sesload-bench-{}", uuid::Uuid::new_v4().simple()));
    cfg.data_dir = dir.display().to_string();
    cfg.port = 0;
    cfg.sim_port = 0;
    cfg.api_key = "bench".into();
    let customers = 10_000usize;
    let campaign = "bench";
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(async {
        {
            let conn = sesload_local::db::open_connection(&dir.join(sesload_local::DB_FILE))?;
            let all: Vec<_> = (1..=customers as u64).map(seed_customer).collect();
            upsert_customers(&conn, &all)?;
            let db = sesload_local::Db::open(dir.join(sesload_local::DB_FILE))?;
            let q = sesload_local::Queue::new(db, Default::default());
            for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
                let msgs = chunk
                    .iter()
                    .map(|i| NewMessage::from_body(backlog_body(campaign, *i, customers)))
                    .collect();
                q.send_batch(msgs).await?;
            }
        }
        let stack = Stack::start(cfg, false)
            .await
            .context("starting the stack")?;
        let t0 = Instant::now();
        let deadline = t0 + timeout;
        let db = stack.services.db.clone();
        // Poll a cheap count while draining (a full reconciliation scans the whole campaign and
        // would take CPU from the stack it measures), reconcile once at the end.
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let left: i64 = db
                .read(|c| {
                    c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
                        .map_err(sesload_local::db::DbError::sql("bench drain poll"))
                })
                .await?;
            if left == 0 || Instant::now() > deadline {
                break;
            }
        }
        let seconds = t0.elapsed().as_secs_f64();
        let r = db
            .read(|c| sesload_local::stats::reconcile(c, "bench"))
            .await?;
        let sim = stack.sim.as_ref().map(|s| s.stats());
        stack.stop().await?;
        Ok::<_, anyhow::Error>(Drain {
            messages: n,
            seconds,
            sent: r.sent,
            dlq: r.dlq,
            queued: r.queued,
            sim_accepted: sim.as_ref().map(|s| s.sent_messages).unwrap_or(0),
            sim_throttled: sim.as_ref().map(|s| s.throttled).unwrap_or(0),
            send_span_s: match (r.first_sent_ms, r.last_sent_ms) {
                (Some(a), Some(b)) => (b - a) as f64 / 1000.0,
                _ => 0.0,
            },
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut cfg = LocalConfig {
        batch_size: args.batch_size,
        maximum_concurrency: args.maximum_concurrency,
        send_concurrency: args.send_concurrency,
        ..LocalConfig::default()
    };
    let sim: toml::Table = toml::from_str(
        "max_send_rate = 0\nmax_24_hour_send = -1\n[latency]\np50_ms = 0.0\np99_ms = 0.0\n",
    )?;
    cfg.sim = sim;
    let d = drain_backlog(cfg, args.messages, Duration::from_secs(300))?;
    let emails_per_s = d.sent as f64 / d.seconds;
    let out = serde_json::json!({
        "scenario": "e2e",
        "emails_per_s": emails_per_s.round(),
        "messages": d.messages,
        "sent": d.sent,
        "dlq": d.dlq,
        "queued": d.queued,
        "seconds": (d.seconds * 100.0).round() / 100.0,
        "sim_accepted": d.sim_accepted,
        "batch_size": args.batch_size,
        "maximum_concurrency": args.maximum_concurrency,
        "send_concurrency": args.send_concurrency,
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "e2e: {:.0} emails/s queue → simulator ({} sent of {} in {:.2} s; dlq {}, queued {}; batch {} × concurrency {})",
            emails_per_s,
            d.sent,
            d.messages,
            d.seconds,
            d.dlq,
            d.queued,
            args.batch_size,
            args.maximum_concurrency
        );
    }
    Ok(())
}
