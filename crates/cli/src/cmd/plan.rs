//! `sesload plan`: wiring of the capacity model (`sesload-plan`) to flags, a table, a tfvars
//! snippet, and `--verify` (the recommendation run through the local stack).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use sesload_plan::{Inputs, PRICES_SOURCE, Plan, Prices};

#[path = "plan_verify.rs"]
mod verify;

/// Arguments of `sesload plan`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The account's SES MaxSendRate (emails/s), e.g. from `aws sesv2 get-account`.
    #[arg(long, value_name = "R")]
    pub max_send_rate: f64,
    /// Mean SendEmail latency the poller sees (ms); 40-60 ms is typical in-region.
    #[arg(long, value_name = "L")]
    pub ses_latency_ms: f64,
    /// Fraction (0, 1] of MaxSendRate the fleet aims for.
    #[arg(long, default_value_t = 0.98, value_name = "U")]
    pub target_utilisation: f64,
    /// SendEmail calls in flight per poller instance.
    #[arg(long, default_value_t = 32, value_name = "C")]
    pub send_concurrency: u32,
    /// Monthly volume for the cost estimate.
    #[arg(long, default_value_t = 1_000_000.0, value_name = "N")]
    pub emails_per_month: f64,
    /// Seconds of sending one batch should hold at the paced per-instance rate.
    #[arg(long, default_value_t = 3.0)]
    pub batch_seconds: f64,
    /// Time a send slot spends besides SES per email (ledger writes), ms.
    #[arg(long, default_value_t = 10.0)]
    pub per_email_overhead_ms: f64,
    /// Request body size (bytes): SQS billing chunks and the 6 MB Lambda payload.
    #[arg(long, default_value_t = 400)]
    pub message_bytes: u64,
    /// Fraction of customer lookups served by the warm-instance cache (DynamoDB reads).
    #[arg(long, default_value_t = 0.0)]
    pub cache_hit_ratio: f64,
    /// The idempotency ledger is disabled (no DynamoDB writes per email).
    #[arg(long)]
    pub no_ledger: bool,
    /// JSON file overriding unit prices (keys as in `docs/tuning.md`, e.g. {"ses_per_thousand_emails": 0.10}).
    #[arg(long, value_name = "FILE")]
    pub region_prices: Option<PathBuf>,
    /// Print the plan as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Run the recommendation through the local stack (simulator at R and L) and report achieved vs predicted.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: backlog size in seconds of sending at the target rate.
    #[arg(long, default_value_t = 45.0)]
    pub verify_seconds: f64,
    /// With --verify: fail (exit 1) when achieved and predicted differ by more than this fraction.
    #[arg(long, default_value_t = 0.10)]
    pub verify_tolerance: f64,
}

impl Args {
    fn inputs(&self) -> Inputs {
        let mut i = Inputs::new(self.max_send_rate, self.ses_latency_ms);
        i.target_utilisation = self.target_utilisation;
        i.send_concurrency = self.send_concurrency;
        i.emails_per_month = self.emails_per_month;
        i.batch_seconds = self.batch_seconds;
        i.per_email_overhead_ms = self.per_email_overhead_ms;
        i.message_bytes = self.message_bytes;
        i.customer_cache_hit_ratio = self.cache_hit_ratio;
        i.ledger_enabled = !self.no_ledger;
        i
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let prices = match &args.region_prices {
        None => Prices::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --region-prices {}", path.display()))?;
            Prices::from_json_overrides(&text)
                .with_context(|| format!("--region-prices {}", path.display()))?
        }
    };
    let plan = sesload_plan::plan(&args.inputs(), &prices)?;
    let verified = if args.verify {
        Some(verify::run(&plan, args.verify_seconds)?)
    } else {
        None
    };
    if args.json {
        let mut v = serde_json::json!({ "plan": plan, "tfvars": plan.tfvars(), "prices": prices });
        if let Some(r) = &verified {
            v["verify"] = serde_json::to_value(r)?;
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", render(&plan, &prices));
        if let Some(r) = &verified {
            print!("{}", r.render());
        }
    }
    if let Some(r) = verified {
        let diff = r.relative_difference();
        anyhow::ensure!(
            diff <= args.verify_tolerance,
            "achieved {:.1}/s vs predicted {:.1}/s: {:.1} % apart, more than the {:.0} % tolerance",
            r.achieved_rate,
            r.predicted_rate,
            diff * 100.0,
            args.verify_tolerance * 100.0
        );
        anyhow::ensure!(
            r.lost == 0 && r.duplicates == 0 && r.dlq == 0,
            "verify run was not clean: lost {}, duplicates {}, dlq {}",
            r.lost,
            r.duplicates,
            r.dlq
        );
    }
    Ok(())
}

/// The human-readable plan.
pub fn render(p: &Plan, prices: &Prices) -> String {
    let i = &p.inputs;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Plan for MaxSendRate {} emails/s, SendEmail latency {} ms, target utilisation {}",
        i.max_send_rate, i.ses_latency_ms, i.target_utilisation
    );
    let _ = writeln!(s);
    let rows: Vec<(&str, String, String)> = vec![
        (
            "target fleet rate",
            format!("{:.1} emails/s", p.target_rate),
            "MaxSendRate × target utilisation".into(),
        ),
        (
            "instance capacity",
            format!("{:.1} emails/s", p.instance_capacity),
            format!(
                "{} in flight / ({} + {} ms); plan on {:.0} %",
                i.send_concurrency,
                i.ses_latency_ms,
                i.per_email_overhead_ms,
                i.capacity_headroom * 100.0
            ),
        ),
        (
            "maximum_concurrency",
            p.maximum_concurrency.to_string(),
            "poller instances (ESM scaling config, ≥ 2)".into(),
        ),
        (
            "per-instance rate",
            format!("{:.1} emails/s", p.per_instance_rate),
            format!(
                "paced share; {:.1} sends in flight on average",
                p.in_flight_per_instance
            ),
        ),
        (
            "batch_size",
            p.batch_size.to_string(),
            format!("{:.2} s of sending per invocation", p.batch_duration_s),
        ),
        (
            "maximum_batching_window_in_seconds",
            p.maximum_batching_window_in_seconds.to_string(),
            "≥ 1 needed for batches above 10".into(),
        ),
        (
            "function_timeout_seconds",
            p.function_timeout_seconds.to_string(),
            format!(
                "batch × {} + {} s init",
                i.timeout_safety_factor, i.init_seconds
            ),
        ),
        (
            "visibility_timeout_seconds",
            p.visibility_timeout_seconds.to_string(),
            "6 × function timeout + batching window".into(),
        ),
        (
            "function_memory_mb",
            p.function_memory_mb.to_string(),
            format!(
                "CPU share for {:.0} emails/s at {} µs each",
                p.per_instance_rate, i.cpu_us_per_email
            ),
        ),
        (
            "predicted send rate",
            format!("{:.1} emails/s", p.predicted_rate),
            format!(
                "with a backlog; {:.1} % of each slot's time sending",
                p.batch_efficiency * 100.0
            ),
        ),
    ];
    table(&mut s, &["setting", "value", "why"], &rows);
    for n in &p.notes {
        let _ = writeln!(s, "note: {n}");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Cost per million emails (USD):");
    let cost_rows: Vec<(&str, String, String)> = p
        .cost_per_million
        .iter()
        .map(|c| {
            (
                c.service,
                format!("{} — {}", c.item, fmt_qty(c.quantity, c.unit)),
                format!("{:.4}", c.usd),
            )
        })
        .collect();
    table(&mut s, &["service", "item", "usd"], &cost_rows);
    let _ = writeln!(
        s,
        "total {:.2} USD per million emails; {:.2} USD per month for {} emails",
        p.cost_per_million_usd, p.monthly_cost_usd, i.emails_per_month
    );
    let without_ses = p.cost_per_million_usd - 1000.0 * prices.ses_per_thousand_emails;
    let _ = writeln!(
        s,
        "(pipeline without SES: {without_ses:.2} USD per million). Prices: {PRICES_SOURCE}."
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "# terraform.tfvars");
    s.push_str(&p.tfvars());
    s
}

fn fmt_qty(q: f64, unit: &str) -> String {
    if q >= 100.0 {
        format!("{q:.0} {unit}")
    } else if q >= 1.0 {
        format!("{q:.2} {unit}")
    } else {
        format!("{q:.4} {unit}")
    }
}

fn table(s: &mut String, header: &[&str; 3], rows: &[(&str, String, String)]) {
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .chain([header[0].len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .chain([header[1].len()])
        .max()
        .unwrap_or(0);
    let pad = |t: &str, w: usize| format!("{t}{}", " ".repeat(w.saturating_sub(t.chars().count())));
    let _ = writeln!(
        s,
        "  {}  {}  {}",
        pad(header[0], w0),
        pad(header[1], w1),
        header[2]
    );
    for r in rows {
        let _ = writeln!(s, "  {}  {}  {}", pad(r.0, w0), pad(&r.1, w1), r.2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn flag_defaults_are_the_models_defaults() {
        use clap::Parser as _;
        let cli = Cli::parse_from(["plan", "--max-send-rate", "200", "--ses-latency-ms", "50"]);
        assert_eq!(cli.args.inputs(), Inputs::new(200.0, 50.0));
    }

    #[test]
    fn render_shows_settings_costs_and_tfvars() {
        let p = sesload_plan::plan(&Inputs::new(200.0, 50.0), &Prices::default()).unwrap();
        let out = render(&p, &Prices::default());
        for needle in [
            "maximum_concurrency",
            "batch_size                         = 294",
            "visibility_timeout_seconds         = 79",
            "SES",
            "Firehose",
            "DynamoDB",
            "total ",
        ] {
            assert!(out.contains(needle), "{needle} missing in\n{out}");
        }
    }
}
