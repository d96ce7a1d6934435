//! `sesload dlq list|show|redrive`: the local dead-letter queue, with reasons.

use sesload_local::Admin;
use sesload_local::queue::DlqFilter;

/// Arguments of `sesload dlq`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub local: super::DataDirArgs,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Count dead letters by reason and list them (oldest first).
    List {
        /// Only this reason (e.g. unknown_customer, retries_exhausted).
        #[arg(long)]
        reason: Option<String>,
        /// Only this campaign tag value.
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one dead letter (by its DLQ id or the source message id): reason, detail, body.
    Show { id: String },
    /// Move dead letters back to the queue (all matching the filters, or the given ids).
    Redrive {
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
        /// Specific DLQ ids or source message ids.
        #[arg(long = "id")]
        ids: Vec<String>,
        /// Required when no filter and no id is given: redrive everything.
        #[arg(long)]
        all: bool,
    },
}

/// An error naming the known reasons unless `reason` is a `DlqReason` code.
pub fn check_reason(reason: &Option<String>) -> anyhow::Result<()> {
    if let Some(r) = reason {
        anyhow::ensure!(
            sesload_core::DlqReason::from_code(r).is_some(),
            "unknown reason {r:?}; known: {}",
            sesload_core::DlqReason::ALL.map(|r| r.code()).join(", ")
        );
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let db = Admin::open_existing(&args.local.data_dir)?;
    match args.action {
        Action::List {
            reason,
            campaign,
            limit,
            json,
        } => {
            check_reason(&reason)?;
            let counts = db.dlq_counts(campaign.as_deref())?;
            let rows = db.dlq_list(&DlqFilter {
                reason,
                campaign,
                limit: Some(limit),
            })?;
            if json {
                for r in rows {
                    println!("{}", serde_json::to_string(&r)?);
                }
                return Ok(());
            }
            let total: i64 = counts.iter().map(|c| c.1).sum();
            println!("{total} dead letters");
            for (reason, n) in &counts {
                println!("  {reason:<24} {n}");
            }
            if !rows.is_empty() {
                println!();
                println!(
                    "{:<38} {:<22} {:<16} {:>3}  detail",
                    "id", "reason", "campaign", "rc"
                );
                for r in rows {
                    let mut detail = r.detail.clone();
                    if detail.len() > 70 {
                        let mut end = 70;
                        while !detail.is_char_boundary(end) {
                            end -= 1;
                        }
                        detail.truncate(end);
                        detail.push('…');
                    }
                    println!(
                        "{:<38} {:<22} {:<16} {:>3}  {}",
                        r.id, r.reason, r.campaign, r.receive_count, detail
                    );
                }
            }
        }
        Action::Show { id } => match db.dlq_get(&id)? {
            Some(r) => println!("{}", serde_json::to_string_pretty(&r)?),
            None => anyhow::bail!("no dead letter with id or source message id {id:?}"),
        },
        Action::Redrive {
            reason,
            campaign,
            ids,
            all,
        } => {
            check_reason(&reason)?;
            anyhow::ensure!(
                all || reason.is_some() || campaign.is_some() || !ids.is_empty(),
                "say what to redrive: --reason, --campaign, --id, or --all"
            );
            let n = db.redrive(
                &DlqFilter {
                    reason,
                    campaign,
                    limit: None,
                },
                &ids,
            )?;
            println!("redrove {n} dead letters back to the queue");
        }
    }
    Ok(())
}
