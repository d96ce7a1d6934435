//! `sesload campaign list | status | pause | resume | cancel | redrive`: steer a campaign (the
//! value of the requests' `campaign` tag) while it runs, on the local stack or on AWS.
//!
//! Locally it talks to the running `sesload up` through its `/_local/campaigns` endpoints (the
//! stack holds what status needs beside the database — the lake's events, the simulator's
//! `GetAccount`, its send-rate samples — and every write goes through its one database writer;
//! the dashboard uses the same endpoints). With `--aws` it reads and writes the deployment's
//! control table, queue and DLQ directly.

mod aws;
mod local;
mod render;

use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `sesload campaign`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Locally the stack must be running (`sesload up`); point at it with --url or --ready-file. \
On AWS (--aws) the control table, queue and DLQ come from `terraform output -json` in --terraform-dir \
unless given; credentials and region come from the usual AWS chains."
)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Who steers, recorded with the change (default `cli:$USER`).
    #[arg(long, global = true, value_name = "WHO")]
    pub by: Option<String>,
    #[command(subcommand)]
    pub action: Action,
}

/// Where the campaign runs.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// Base URL of the running local stack (`http://127.0.0.1:PORT`).
    #[arg(long, env = "SESLOAD_URL", global = true, conflicts_with = "aws")]
    pub url: Option<String>,
    /// The `--ready-file` `sesload up` wrote (gives the URL and the API key).
    #[arg(
        long,
        env = "SESLOAD_READY_FILE",
        global = true,
        conflicts_with = "aws"
    )]
    pub ready_file: Option<PathBuf>,
    /// The stack's API key (default: the ready file's, else `<data-dir>/api_key`).
    #[arg(long, env = "SESLOAD_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    #[command(flatten)]
    pub local: super::DataDirArgs,
    /// Steer the campaign on the AWS deployment instead of the local stack.
    #[arg(long, global = true)]
    pub aws: bool,
    /// Terraform directory whose outputs name the control table, queue, DLQ and region.
    #[arg(long, value_name = "DIR", default_value = "terraform", global = true)]
    pub terraform_dir: PathBuf,
    /// The control table (default: the `control_table_name` output).
    #[arg(long, value_name = "NAME", global = true)]
    pub control_table: Option<String>,
    /// The source queue (default: the `queue_url` output).
    #[arg(long, value_name = "URL", global = true)]
    pub queue_url: Option<String>,
    /// The DLQ (default: the `dlq_url` output).
    #[arg(long, value_name = "URL", global = true)]
    pub dlq_url: Option<String>,
    /// AWS region (default: the `region` output, else the SDK's region chain).
    #[arg(long, value_name = "REGION", global = true)]
    pub region: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Every campaign: state, who set it, accepted and still queued (locally), records cancelled.
    List,
    /// Progress of one campaign: accepted = sent + DLQ + cancelled + queued at this instant,
    /// SES outcomes, send rate, share of the quota, ETA (AWS: state, queue depths, quota).
    Status(StatusArgs),
    /// Stop sending the campaign's records: the poller parks them until it is resumed (other
    /// campaigns keep sending).
    Pause {
        /// The campaign (the value of the requests' `campaign` tag).
        name: String,
        /// Why, shown by status.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Send a paused (or auto-paused) campaign again.
    Resume {
        /// The campaign (the value of the requests' `campaign` tag).
        name: String,
    },
    /// Stop the campaign for good: its remaining records are acknowledged without sending and
    /// counted as cancelled. A cancelled campaign cannot be resumed.
    Cancel {
        /// The campaign (the value of the requests' `campaign` tag).
        name: String,
    },
    /// Put the campaign's dead letters back on the queue, once each (fix their cause first).
    /// The ledger keeps any already sent from being sent again.
    Redrive {
        /// The campaign (the value of the requests' `campaign` tag).
        name: String,
        /// Only dead letters with this reason (e.g. ses_not_found).
        #[arg(long)]
        reason: Option<String>,
        /// Count what would be redriven; move nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Arguments of `sesload campaign status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The campaign (the value of the requests' `campaign` tag).
    pub name: String,
    /// Refresh a live progress bar (sent / accepted, rate, ETA) until the campaign drains.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub interval: f64,
    /// Give up watching after this many seconds (exit status 1); 0 = never.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub timeout: u64,
}

impl StatusArgs {
    /// The time between refreshes with `--watch`.
    fn every(&self) -> Duration {
        Duration::from_secs_f64(self.interval)
    }
}

impl Action {
    fn campaign(&self) -> Option<&str> {
        match self {
            Action::List => None,
            Action::Status(StatusArgs { name, .. })
            | Action::Pause { name, .. }
            | Action::Resume { name }
            | Action::Cancel { name }
            | Action::Redrive { name, .. } => Some(name),
        }
    }
}

fn default_by() -> String {
    match std::env::var("USER").or_else(|_| std::env::var("USERNAME")) {
        Ok(u) if !u.is_empty() => format!("cli:{u}"),
        _ => "cli".into(),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(name) = args.action.campaign() {
        sesload_core::check_campaign_name(name)?;
    }
    if let Action::Redrive { reason, .. } = &args.action {
        super::dlq::check_reason(reason)?;
    }
    if let Action::Status(StatusArgs { interval, .. }) = &args.action {
        anyhow::ensure!(
            interval.is_finite() && *interval >= 0.1,
            "--interval must be at least 0.1 s, got {interval}"
        );
    }
    let by = args.by.clone().unwrap_or_else(default_by);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ok = rt.block_on(async {
        if args.target.aws {
            aws::run(&args.target, &args.action, &by, args.json).await
        } else {
            local::run(&args.target, &args.action, &by, args.json).await
        }
    })?;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
