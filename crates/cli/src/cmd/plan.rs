//! `sesload plan`: wiring of the capacity model (`sesload-plan`) to flags, a table, a tfvars
//! snippet, `--check` (settings one already has, against the same rules) and `--verify` (the
//! recommendation run through the local stack).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use sesload_plan::{
    DEADLINE_RESERVE_SECONDS, Inputs, PRICES_SOURCE, Plan, Prices, SendApi, Settings, SettingsCheck,
};

#[path = "plan_verify.rs"]
mod verify;

/// Arguments of `sesload plan`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The account's SES MaxSendRate (emails/s), e.g. from `aws sesv2 get-account`.
    #[arg(long, value_name = "R")]
    pub max_send_rate: f64,
    /// The account's SES Max24HourSend (emails per rolling 24 h; -1 = unlimited). Default: 200
    /// when --max-send-rate is 1 (the SES sandbox), otherwise unlimited.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_24_hour_send: Option<f64>,
    /// Mean SendEmail latency the poller sees (ms); 40-60 ms is typical in-region. Measure yours:
    /// the dashboard's "SES call latency", or ses_send_ms p50.
    #[arg(long, value_name = "L", default_value_t = 50.0)]
    pub ses_latency_ms: f64,
    /// Fraction (0, 1] of MaxSendRate the fleet aims for.
    #[arg(long, default_value_t = 0.98, value_name = "U")]
    pub target_utilisation: f64,
    /// SES calls in flight per poller instance.
    #[arg(long, default_value_t = 32, value_name = "C")]
    pub send_concurrency: u32,
    /// The SES v2 operation the poller sends with.
    #[arg(long, value_enum, default_value_t = SendApiArg::Single, value_name = "API")]
    pub send_api: SendApiArg,
    /// With --send-api bulk: ms each entry adds to a SendBulkEmail call (an assumption until
    /// measured; a call takes --ses-latency-ms + this × entries).
    #[arg(long, default_value_t = 1.0, value_name = "MS")]
    pub bulk_per_entry_ms: f64,
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
    /// Check settings you already have instead of planning: comma-separated KEY=VALUE with the
    /// Terraform variable names batch_size, function_timeout_seconds, maximum_concurrency
    /// (required), maximum_batching_window_in_seconds, visibility_timeout_seconds (checked when
    /// given). Exits 1, naming the values to use, when they do not fit.
    #[arg(long, value_name = "SETTINGS", conflicts_with = "verify", value_parser = parse_settings)]
    pub check: Option<Settings>,
    /// Print the plan (or the --check verdict) as one JSON object.
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

/// `--send-api`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendApiArg {
    /// SendEmail: one recipient per call.
    Single,
    /// SendBulkEmail: up to 50 recipients per call, as many as the instance's pacer holds (about
    /// one second of its rate).
    Bulk,
}

fn parse_settings(s: &str) -> Result<Settings, String> {
    s.parse()
        .map_err(|e: sesload_plan::PlanError| e.to_string())
}

impl Args {
    fn inputs(&self) -> Inputs {
        let mut i = Inputs::new(self.max_send_rate, self.ses_latency_ms);
        if let Some(q) = self.max_24_hour_send {
            // `GetAccount` says -1 for unlimited.
            i.max_24_hour_send = (q != -1.0).then_some(q);
        }
        i.target_utilisation = self.target_utilisation;
        i.send_concurrency = self.send_concurrency;
        i.send_api = match self.send_api {
            SendApiArg::Single => SendApi::Single,
            SendApiArg::Bulk => SendApi::Bulk,
        };
        i.bulk_per_entry_ms = self.bulk_per_entry_ms;
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
    if let Some(settings) = &args.check {
        return check(&args, settings);
    }
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
        print!(
            "{}",
            render(&plan, &prices, args.max_24_hour_send.is_none())
        );
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

/// `--check`: the verdict on settings one already has; an error (exit 1) when they do not fit.
fn check(args: &Args, settings: &Settings) -> anyhow::Result<()> {
    let inputs = args.inputs();
    let c = sesload_plan::check_settings(&inputs, settings)?;
    if args.json {
        let v = serde_json::json!({ "check": c, "fits": c.fits(), "inputs": inputs });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", render_check(&c, &inputs));
    }
    anyhow::ensure!(
        c.fits(),
        "these settings do not fit: {}",
        c.problems
            .iter()
            .map(|p| format!("{} = {}: {}", p.setting, p.value, p.fix))
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(())
}

/// The human-readable `--check` verdict.
pub fn render_check(c: &SettingsCheck, i: &Inputs) -> String {
    let st = &c.settings;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Check for MaxSendRate {} emails/s, target utilisation {}: fleet rate {:.2} emails/s",
        i.max_send_rate,
        i.target_utilisation,
        i.max_send_rate * i.target_utilisation
    );
    let _ = writeln!(
        s,
        "  per-instance rate {:.4} emails/s (fleet rate / maximum_concurrency {})",
        c.per_instance_rate,
        st.maximum_concurrency.clamp(
            sesload_plan::MIN_MAXIMUM_CONCURRENCY,
            sesload_plan::MAX_MAXIMUM_CONCURRENCY
        )
    );
    let _ = writeln!(
        s,
        "  batch_size {} drains in {:.1} s; + {DEADLINE_RESERVE_SECONDS} s deadline reserve = {:.1} s \
         (function_timeout_seconds {})",
        st.batch_size,
        c.drain_seconds,
        c.drain_seconds + f64::from(DEADLINE_RESERVE_SECONDS),
        st.function_timeout_seconds
    );
    let _ = writeln!(
        s,
        "  largest batch for function_timeout_seconds {}: {}; smallest timeout for batch_size {}: {} s",
        st.function_timeout_seconds,
        c.max_batch_for_timeout,
        st.batch_size,
        c.min_timeout_for_batch
    );
    for (kind, list) in [("problem", &c.problems), ("warning", &c.warnings)] {
        for p in list {
            let _ = writeln!(s, "{kind}: {} = {}: {}", p.setting, p.value, p.rule);
            let _ = writeln!(s, "  fix: {}", p.fix);
        }
    }
    if c.fits() {
        let _ = writeln!(s, "fits: every batch drains before the deadline reserve.");
    } else {
        let _ = writeln!(
            s,
            "does not fit: invocations would park the tail of each batch (deadline) and send \
             below the quota, or AWS would refuse the settings."
        );
    }
    s
}

/// A rate in emails/s: two decimals below 10/s (the sandbox's 0.49 must not read 0.5).
fn fmt_rate(rate: f64) -> String {
    if rate < 10.0 {
        format!("{rate:.2}")
    } else {
        format!("{rate:.1}")
    }
}

fn fmt_duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7_200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1} h", seconds / 3_600.0)
    } else {
        format!("{:.1} days", seconds / 86_400.0)
    }
}

/// The human-readable plan. `quota_assumed`: Max24HourSend was not given (the sandbox's 200 is
/// assumed at MaxSendRate 1).
pub fn render(p: &Plan, prices: &Prices, quota_assumed: bool) -> String {
    let i = &p.inputs;
    let bulk = i.send_api == SendApi::Bulk;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Plan for MaxSendRate {} emails/s, {} latency {} ms, target utilisation {}",
        i.max_send_rate,
        if bulk { "SendBulkEmail" } else { "SendEmail" },
        i.ses_latency_ms,
        i.target_utilisation
    );
    let _ = writeln!(s);
    let capacity_why = if bulk {
        format!(
            "{} calls of {} in flight / ({} + {} × {} + {} ms); plan on {:.0} %",
            i.send_concurrency,
            p.entries_per_call,
            i.ses_latency_ms,
            i.bulk_per_entry_ms,
            p.entries_per_call,
            i.per_email_overhead_ms,
            i.capacity_headroom * 100.0
        )
    } else {
        format!(
            "{} in flight / ({} + {} ms); plan on {:.0} %",
            i.send_concurrency,
            i.ses_latency_ms,
            i.per_email_overhead_ms,
            i.capacity_headroom * 100.0
        )
    };
    let mut rows: Vec<(&str, String, String)> = vec![
        (
            "target fleet rate",
            format!("{} emails/s", fmt_rate(p.target_rate)),
            "MaxSendRate × target utilisation".into(),
        ),
        (
            "instance capacity",
            format!("{:.1} emails/s", p.instance_capacity),
            capacity_why,
        ),
        (
            "maximum_concurrency",
            p.maximum_concurrency.to_string(),
            "poller instances (ESM scaling config, ≥ 2)".into(),
        ),
        (
            "per-instance rate",
            format!("{} emails/s", fmt_rate(p.per_instance_rate)),
            format!(
                "steady share of the fleet's schedule; {:.1} calls in flight on average",
                p.in_flight_per_instance
            ),
        ),
        (
            "SES calls",
            format!("{:.1} calls/s", p.ses_calls_per_second),
            if bulk {
                format!(
                    "SendBulkEmail, {} entries per call (the pacer holds ~1 s: 1-50); {:.0} ms each",
                    p.entries_per_call, p.ses_call_ms
                )
            } else {
                format!("SendEmail, one per email; {:.0} ms each", p.ses_call_ms)
            },
        ),
        (
            "batch_size",
            p.batch_size.to_string(),
            format!(
                "drains in {:.2} s; at most {} fit the timeout (floor((timeout − {DEADLINE_RESERVE_SECONDS}) × rate))",
                p.batch_duration_s, p.max_batch_for_timeout
            ),
        ),
        (
            "maximum_batching_window_in_seconds",
            p.maximum_batching_window_in_seconds.to_string(),
            if bulk && p.entries_per_call > 1 {
                "one batch's sending time: gathers full calls below the quota".into()
            } else {
                "≥ 1 needed for batches above 10".into()
            },
        ),
        (
            "function_timeout_seconds",
            p.function_timeout_seconds.to_string(),
            format!(
                "drain × {} + {} s init covers throttling (≥ {} s); the deadline needs ≥ {} s (drain + {DEADLINE_RESERVE_SECONDS} s reserve)",
                i.timeout_safety_factor,
                i.init_seconds,
                i.min_function_timeout_s,
                p.min_timeout_for_batch
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
                "CPU share for {} emails/s at {:.0} µs each",
                fmt_rate(p.per_instance_rate),
                p.cpu_us_per_email
            ),
        ),
        (
            "predicted send rate",
            format!("{} emails/s", fmt_rate(p.predicted_rate)),
            format!(
                "with a backlog; {:.1} % of each slot's time sending",
                p.batch_efficiency * 100.0
            ),
        ),
    ];
    if let Some(q) = &p.daily_quota {
        let assumed = if quota_assumed {
            " (assumed: the SES sandbox's; pass --max-24-hour-send)"
        } else {
            ""
        };
        let why = if q.binds {
            format!(
                "bounds a run: lasts {} at {:.2} emails/s, then sending parks (daily_quota) until \
                 the rolling 24 h window frees room{assumed}",
                fmt_duration(q.lasts_seconds),
                p.predicted_rate
            )
        } else {
            format!(
                "not reached: {:.0} emails in 24 h at {:.2} emails/s{assumed}",
                p.predicted_rate * 86_400.0,
                p.predicted_rate
            )
        };
        rows.push((
            "daily quota",
            format!("{} emails / 24 h", q.max_24_hour_send),
            why,
        ));
    }
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
        let cli = Cli::parse_from(["plan", "--max-send-rate", "1"]);
        assert_eq!(cli.args.inputs(), Inputs::new(1.0, 50.0));
    }

    #[test]
    fn daily_quota_flag_sets_or_lifts_the_quota() {
        use clap::Parser as _;
        let parse = |extra: &[&str]| {
            let mut argv = vec!["plan", "--max-send-rate", "1"];
            argv.extend_from_slice(extra);
            Cli::parse_from(argv).args.inputs().max_24_hour_send
        };
        assert_eq!(parse(&[]), Some(200.0));
        assert_eq!(parse(&["--max-24-hour-send", "1000"]), Some(1000.0));
        assert_eq!(parse(&["--max-24-hour-send", "-1"]), None);
    }

    #[test]
    fn render_shows_settings_costs_and_tfvars() {
        let p = sesload_plan::plan(&Inputs::new(200.0, 50.0), &Prices::default()).unwrap();
        let out = render(&p, &Prices::default(), false);
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
