//! `sesload stats`: a running local stack's `/_local/stats`, and with `--campaign` its
//! reconciliation of that campaign; `--wait-drained` waits until nothing of the campaign is
//! queued any more (what `just demo` waits for before it stops the stack).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use sesload_stack::Endpoints;
use sesload_stack::client::{HttpClient, stats_url};

/// Arguments of `sesload stats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Base URL of the stack (`http://127.0.0.1:PORT`).
    #[arg(
        long,
        required_unless_present = "ready_file",
        conflicts_with = "ready_file"
    )]
    pub url: Option<String>,
    /// Read the base URL from the `--ready-file` that `sesload up` wrote.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Campaign to reconcile (value of the `campaign` tag).
    #[arg(long)]
    pub campaign: Option<String>,
    /// Poll until nothing of `--campaign` is queued (sent, dead-lettered or skipped as a
    /// duplicate); exit 1 if that has not happened within `--timeout`.
    #[arg(long, requires = "campaign")]
    pub wait_drained: bool,
    /// Seconds `--wait-drained` waits at most.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Write the (last) stats JSON to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn base_url(args: &Args) -> anyhow::Result<String> {
    if let Some(u) = &args.url {
        return Ok(u.clone());
    }
    let path = args
        .ready_file
        .as_ref()
        .context("--url or --ready-file is required")?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let ep: Endpoints = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a `sesload up` ready file", path.display()))?;
    Ok(ep.url)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let base = base_url(&args)?;
    let http = HttpClient::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let (stats, drained) = rt.block_on(async {
        let Some(campaign) = &args.campaign else {
            return anyhow::Ok((http.get_json(&stats_url(&base, None)).await?, true));
        };
        loop {
            let (stats, rec) = http.campaign_stats(&base, campaign).await?;
            if !args.wait_drained {
                return Ok((stats, rec.drained()));
            }
            let cancelled = if rec.cancelled > 0 {
                format!("  cancelled {}", rec.cancelled)
            } else {
                String::new()
            };
            eprintln!(
                "  accepted {}  sent {}  dlq {}{cancelled}  queued {}  (oldest message {} s)",
                rec.accepted, rec.sent, rec.dlq, rec.queued, stats["queue"]["oldest_message_age_s"]
            );
            if rec.drained() {
                let quota = stats["campaign"]["max_send_rate"].as_f64();
                eprintln!(
                    "  drained: achieved send rate {}{} (ledger, first to last send, warm-up included)",
                    rec.achieved_send_rate
                        .map_or("n/a".into(), |r| format!("{r:.1}/s")),
                    match (rec.achieved_send_rate, quota) {
                        (Some(r), Some(q)) if q > 0.0 =>
                            format!(" of quota {q}/s ({:.0} %)", r / q * 100.0),
                        _ => String::new(),
                    }
                );
                return Ok((stats, true));
            }
            if Instant::now() >= deadline {
                if rec.accepted == 0 {
                    eprintln!(
                        "campaign {campaign}: nothing accepted in {} s",
                        args.timeout
                    );
                } else {
                    eprintln!(
                        "campaign {campaign} did not drain in {} s: {} still queued",
                        args.timeout, rec.queued
                    );
                }
                return Ok((stats, false));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })?;
    let text = serde_json::to_string_pretty(&stats)?;
    match &args.out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => writeln!(std::io::stdout(), "{text}")?,
    }
    if args.wait_drained && !drained {
        std::process::exit(1);
    }
    Ok(())
}
