//! `sesload report`: reconcile a campaign and write the HTML report.

use std::path::PathBuf;

use anyhow::Context;
use sesload_analytics::{
    CampaignSpan, Counters, Engine, QueryRunner, build_report, engine::locate_duckdb,
};
use sesload_local::Admin;

/// Arguments of `sesload report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Campaign (value of the `campaign` tag).
    #[arg(long)]
    pub campaign: String,
    #[command(flatten)]
    pub local: super::DataDirArgs,
    /// Event lake directory (overrides `<data-dir>/lake`).
    #[arg(long, env = "SESLOAD_LAKE")]
    pub lake: Option<PathBuf>,
    /// HTML output file (default `reports/<campaign>.html`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Counters as JSON (the `campaign` object of `/_local/stats`) instead of `<data-dir>/sesload.db`.
    #[arg(long, conflicts_with = "stats_url")]
    pub counters: Option<PathBuf>,
    /// Read counters from a running local stack (`http://127.0.0.1:PORT`; GET /_local/stats).
    #[arg(long)]
    pub stats_url: Option<String>,
    /// SES MaxSendRate of the run (emails/s), for the quota line and utilisation.
    #[arg(long)]
    pub quota: Option<f64>,
    /// Print the reconciliation as JSON instead of the text summary.
    #[arg(long)]
    pub json: bool,
    /// Read the SQL from this `sql/` directory instead of the copy built into the binary.
    #[arg(long, env = "SESLOAD_SQL_DIR")]
    pub sql_dir: Option<PathBuf>,
    /// The `dt` range the queries read.
    #[command(flatten)]
    pub range: super::range_args::RangeArgs,
    #[command(flatten)]
    pub athena: super::athena_args::AthenaArgs,
}

/// The counters, and the campaign's span when they carry it (the default `dt` range).
fn counters(args: &Args) -> anyhow::Result<(Option<Counters>, Option<CampaignSpan>)> {
    let Some((origin, v)) = counters_json(args)? else {
        return Ok((None, None));
    };
    let span = CampaignSpan::from_counters(&v);
    Ok((Some(Counters::from_value(&origin, v)?), span))
}

fn counters_json(args: &Args) -> anyhow::Result<Option<(String, serde_json::Value)>> {
    if let Some(p) = &args.counters {
        let text = std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?;
        let v = serde_json::from_str(&text).with_context(|| format!("parse {}", p.display()))?;
        return Ok(Some((p.display().to_string(), v)));
    }
    if let Some(base) = &args.stats_url {
        let url = sesload_stack::client::stats_url(base, Some(&args.campaign));
        let stats = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(sesload_stack::client::HttpClient::default().get_json(&url))?;
        return Ok(Some((url, stats)));
    }
    // The local stack's database says nothing about a run on AWS.
    if args.athena.athena || !sesload_local::admin::db_path(&args.local.data_dir).is_file() {
        return Ok(None);
    }
    let db = Admin::open_existing(&args.local.data_dir)?;
    let rec = db.reconcile(&args.campaign).with_context(|| {
        format!(
            "read counters of campaign {:?} from {}",
            args.campaign,
            db.path().display()
        )
    })?;
    Ok(Some((
        db.path().display().to_string(),
        serde_json::to_value(rec)?,
    )))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    sesload_analytics::params::validate_campaign(&args.campaign)?;
    let catalog = super::query::catalog(args.sql_dir.as_ref())?;
    let lake = args
        .lake
        .clone()
        .unwrap_or_else(|| args.local.data_dir.join("lake"));
    let (counters, span) = counters(&args)?;
    let runner: Box<dyn QueryRunner> = if args.athena.athena {
        Box::new(args.athena.runner()?)
    } else {
        Box::new(Engine::new(locate_duckdb()?, lake, catalog.clone()))
    };
    let range = args.range.resolve(span, runner.default_range())?;
    let report = build_report(
        runner.as_ref(),
        &catalog,
        &args.campaign,
        range,
        counters,
        args.quota,
    )?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(format!("{}.html", args.campaign)));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, report.html()).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("write {}", out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.reconciliation)?);
    } else {
        print!("{}", report.terminal_summary());
        println!("  report: {}", out.display());
    }
    if !report.reconciliation.ok() {
        // Non-zero exit: something was lost or sent twice.
        std::process::exit(1);
    }
    Ok(())
}
