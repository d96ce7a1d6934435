//! `sesload dlq list|show|redrive`: the local dead-letter queue, with reasons.

use std::path::PathBuf;

use anyhow::Context;
use sesload_local::queue::{DlqFilter, dlq_get, dlq_list, redrive};

/// Arguments of `sesload dlq`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory of the local stack.
    #[arg(
        long,
        env = "SESLOAD_DATA_DIR",
        default_value = ".sesload",
        global = true
    )]
    pub data_dir: PathBuf,
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

fn check_reason(reason: &Option<String>) -> anyhow::Result<()> {
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
    let path = args.data_dir.join(sesload_local::DB_FILE);
    anyhow::ensure!(
        path.exists(),
        "no local stack database at {} (run `sesload up` first, or pass --data-dir)",
        path.display()
    );
    let conn = sesload_local::db::open_connection(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match args.action {
        Action::List {
            reason,
            campaign,
            limit,
            json,
        } => {
            check_reason(&reason)?;
            let mut stmt = conn.prepare(
                "SELECT reason, count(*) FROM dlq WHERE (?1 IS NULL OR campaign = ?1) GROUP BY reason ORDER BY 2 DESC",
            )?;
            let counts: Vec<(String, i64)> = stmt
                .query_map([&campaign], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let rows = dlq_list(
                &conn,
                &DlqFilter {
                    reason,
                    campaign,
                    limit: Some(limit),
                },
            )?;
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
        Action::Show { id } => match dlq_get(&conn, &id)? {
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
            let tx = conn.unchecked_transaction()?;
            let n = redrive(
                &tx,
                &DlqFilter {
                    reason,
                    campaign,
                    limit: None,
                },
                &ids,
            )?;
            tx.commit()?;
            println!("redrove {n} dead letters back to the queue");
        }
    }
    Ok(())
}
