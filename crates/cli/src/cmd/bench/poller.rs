//! `sesload bench poller`: emails/s and CPU per email of one poller instance, for each way it
//! can send, in one run.
//!
//! The real [`BatchProcessor`] with the real SES adapter (`aws-sdk-sesv2` over HTTP) sends
//! to the SES simulator (in this process, fixed latency, no quota). Customers, ledger, DLQ,
//! visibility, parking and the send schedule are the in-memory adapters of
//! `sesload_core::memory` (unpaced: the schedule is never asked): this measures the send path,
//! which dominates. The same kind of batches run three times, one after the other: `SendEmail`
//! with `--send-concurrency` (default 32) calls in flight, `SendEmail` one at a time
//! (sequential mode, the original sample's behaviour), and `SendBulkEmail` (`send_api = bulk`,
//! 50 entries a call) with the same concurrency. Keys: `concurrent_emails_per_s` (=
//! `single_emails_per_s`), `sequential_emails_per_s`, `ratio` (concurrent / sequential),
//! `bulk_emails_per_s`, `bulk_ratio` (bulk / single), `single_cpu_us_per_email`,
//! `bulk_cpu_us_per_email` (the process's CPU time during the run / emails; the simulator runs
//! in this process, so its share is included).

use std::time::Instant;

use sesload_aws::{SesMailer, ses_client_for_endpoint};
use sesload_core::memory::{self, MemoryCustomers};
use sesload_core::{BatchProcessor, InboundRecord, ProcessorSettings, RateSource, SendApi};
use sesload_sim::LatencyConfig;

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Records per batch (SQS batch size).
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Simulator latency per SendEmail call, ms (fixed).
    #[arg(long, default_value_t = 50.0)]
    pub latency_ms: f64,
    /// Batches in concurrent and in bulk mode.
    #[arg(long, default_value_t = 50)]
    pub batches: usize,
    /// Batches in sequential mode (each takes batch_size × latency).
    #[arg(long, default_value_t = 2)]
    pub sequential_batches: usize,
    /// SES calls in flight per instance in concurrent and in bulk mode.
    #[arg(long, default_value_t = 32)]
    pub send_concurrency: usize,
    /// Simulator latency per SendBulkEmail entry on top of --latency-ms, ms (the simulator's
    /// `latency.bulk_per_entry_ms`; an assumption, SES publishes no figure).
    #[arg(long, default_value_t = 0.0)]
    pub bulk_per_entry_ms: f64,
}

/// The bench's user ids are 1..=CUSTOMERS.
const CUSTOMERS: u64 = 10_000;

fn batch(run: &str, b: usize, size: usize) -> Vec<InboundRecord> {
    (0..size)
        .map(|i| {
            let n = b * size + i;
            InboundRecord {
                message_id: format!("{run}-{n}"),
                receipt_handle: format!("rh-{run}-{n}"),
                body: serde_json::json!({
                    "from": "sender@example.com",
                    "to": format!("success+{n}@simulator.amazonses.com"),
                    "template_name": "SimpleEmail",
                    "user_id": (n as u64 % CUSTOMERS) + 1,
                    "config_set": "load-test-config",
                    "tags": [{"Name": "campaign", "Value": format!("bench-{run}")}],
                    "unique_code": format!("{run}-{n}"),
                })
                .to_string(),
                receive_count: 1,
                park_count: 0,
            }
        })
        .collect()
}

struct ModeResult {
    emails: usize,
    seconds: f64,
    /// Process CPU time during the run (0 where `/proc` is missing).
    cpu_seconds: f64,
    failures: usize,
    p50_ms: f64,
    p99_ms: f64,
}

async fn run_mode(
    endpoint: &str,
    run: &str,
    (send_api, concurrency): (SendApi, usize),
    batches: usize,
    size: usize,
) -> anyhow::Result<ModeResult> {
    let mailer = SesMailer::new(ses_client_for_endpoint(endpoint, "us-east-1"));
    let settings = ProcessorSettings {
        rate_source: RateSource::Unlimited,
        send_concurrency: concurrency,
        send_api,
        default_configuration_set: Some("load-test-config".into()),
        ..ProcessorSettings::default()
    };
    let p = BatchProcessor::new(
        memory::ports(MemoryCustomers::numbered(1..=CUSTOMERS), mailer),
        settings,
    );
    // warm the connection pool outside the measurement
    let warm = p
        .process(batch(&format!("{run}-warm"), 0, size.min(4)), None)
        .await;
    anyhow::ensure!(
        warm.batch_item_failures.is_empty(),
        "warm-up batch failed: {:?}",
        warm.report.outcomes
    );
    let mut latencies = Vec::new();
    let (mut emails, mut failures) = (0, 0);
    let cpu0 = super::cpu_seconds("/proc/self/stat");
    let t0 = Instant::now();
    for b in 0..batches {
        let out = p.process(batch(run, b, size), None).await;
        emails += out.report.emails_sent;
        failures += out.batch_item_failures.len()
            + out.report.emails_dead_lettered
            + out.report.emails_parked;
        latencies.extend(out.report.ses_send_ms);
    }
    let seconds = t0.elapsed().as_secs_f64();
    let cpu_seconds = match (cpu0, super::cpu_seconds("/proc/self/stat")) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(ModeResult {
        emails,
        seconds,
        cpu_seconds,
        failures,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.batch_size >= 1,
        "--batch-size must be >= 1, got {}",
        args.batch_size
    );
    anyhow::ensure!(
        args.batches >= 1 && args.sequential_batches >= 1,
        "batch counts must be >= 1"
    );
    anyhow::ensure!(
        args.send_concurrency >= 1,
        "--send-concurrency must be >= 1"
    );
    anyhow::ensure!(
        args.latency_ms.is_finite() && args.latency_ms >= 0.0,
        "--latency-ms must be >= 0, got {}",
        args.latency_ms
    );
    anyhow::ensure!(
        args.bulk_per_entry_ms.is_finite() && args.bulk_per_entry_ms >= 0.0,
        "--bulk-per-entry-ms must be >= 0, got {}",
        args.bulk_per_entry_ms
    );
    let rt = super::runtime()?;
    rt.block_on(async {
        let sim = super::unlimited_sim(LatencyConfig {
            bulk_per_entry_ms: args.bulk_per_entry_ms,
            ..LatencyConfig::fixed(args.latency_ms)
        })
        .await?;
        let endpoint = sim.endpoint_url();
        let conc = run_mode(&endpoint, "c", (SendApi::Single, args.send_concurrency), args.batches, args.batch_size).await?;
        let seq = run_mode(&endpoint, "s", (SendApi::Single, 1), args.sequential_batches, args.batch_size).await?;
        let bulk = run_mode(&endpoint, "b", (SendApi::Bulk, args.send_concurrency), args.batches, args.batch_size).await?;
        sim.shutdown().await?;
        anyhow::ensure!(
            conc.failures == 0 && seq.failures == 0 && bulk.failures == 0,
            "sends failed during the benchmark (concurrent {}, sequential {}, bulk {})",
            conc.failures,
            seq.failures,
            bulk.failures
        );
        let c_rate = conc.emails as f64 / conc.seconds;
        let s_rate = seq.emails as f64 / seq.seconds;
        let b_rate = bulk.emails as f64 / bulk.seconds;
        let ratio = c_rate / s_rate;
        let bulk_ratio = b_rate / c_rate;
        let cpu_us = |m: &ModeResult| (m.cpu_seconds * 1e6 / m.emails.max(1) as f64 * 10.0).round() / 10.0;
        let r1 = |v: f64| (v * 10.0).round() / 10.0;
        let out = serde_json::json!({
            "concurrent_emails_per_s": r1(c_rate),
            "sequential_emails_per_s": r1(s_rate),
            "ratio": (ratio * 100.0).round() / 100.0,
            "single_emails_per_s": r1(c_rate),
            "bulk_emails_per_s": r1(b_rate),
            "bulk_ratio": (bulk_ratio * 100.0).round() / 100.0,
            "single_cpu_us_per_email": cpu_us(&conc),
            "bulk_cpu_us_per_email": cpu_us(&bulk),
            "batch_size": args.batch_size,
            "latency_ms": args.latency_ms,
            "bulk_per_entry_ms": args.bulk_per_entry_ms,
            "send_concurrency": args.send_concurrency,
            "concurrent_emails": conc.emails,
            "sequential_emails": seq.emails,
            "bulk_emails": bulk.emails,
            "concurrent_ses_p50_ms": r1(conc.p50_ms),
            "concurrent_ses_p99_ms": r1(conc.p99_ms),
            "sequential_ses_p50_ms": r1(seq.p50_ms),
            "bulk_ses_p50_ms": r1(bulk.p50_ms),
            "bulk_ses_p99_ms": r1(bulk.p99_ms),
        });
        // bulk CPU per email as a share of single's (target <= 1/3); absent without /proc
        let mut out = out;
        if conc.cpu_seconds > 0.0 && bulk.cpu_seconds > 0.0 {
            let share = (bulk.cpu_seconds / bulk.emails.max(1) as f64)
                / (conc.cpu_seconds / conc.emails.max(1) as f64);
            out["bulk_cpu_share"] = serde_json::json!((share * 1000.0).round() / 1000.0);
        }
        if args.json {
            println!("{out}");
        } else {
            println!("poller, batch {} at {} ms SES latency", args.batch_size, args.latency_ms);
            println!("  concurrent ({:>2} in flight): {:>8.1} emails/s  (SES p50 {:.1} ms, p99 {:.1} ms)",
                args.send_concurrency, c_rate, conc.p50_ms, conc.p99_ms);
            println!("  sequential (1 in flight):  {:>8.1} emails/s", s_rate);
            println!("  ratio: {ratio:.1}x (targets: >= 300 emails/s, >= 15x)");
            println!("  bulk       ({:>2} in flight): {:>8.1} emails/s  (SES p50 {:.1} ms per call)",
                args.send_concurrency, b_rate, bulk.p50_ms);
            println!("  bulk / single: {bulk_ratio:.1}x; CPU per email: single {:.1} µs, bulk {:.1} µs (targets: bulk >= 1,500 emails/s, >= 4x, CPU <= 1/3)",
                cpu_us(&conc), cpu_us(&bulk));
        }
        Ok(())
    })
}
