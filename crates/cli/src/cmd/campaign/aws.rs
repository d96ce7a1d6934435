//! `sesload campaign --aws`: the deployment's control table, queue and DLQ, read and written
//! directly with the caller's AWS credentials.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use sesload_aws::athena::settings::{output_value, terraform_outputs};
use sesload_aws::campaigns::redrive::{RedriveRequest, redrive_campaign};
use sesload_aws::campaigns::status::AwsCampaignReader;
use sesload_core::campaign::progress::{self, EtaInput, RATE_WINDOW, drain_rate};
use sesload_core::{CampaignCommand, CampaignControl, Steered, steer};

use super::render::{self, Bar, count, now_ms};
use super::{Action, Target};

/// The Terraform outputs read here.
const OUTPUT_CONTROL_TABLE: &str = "control_table_name";
const OUTPUT_QUEUE: &str = "queue_url";
const OUTPUT_DLQ: &str = "dlq_url";
const OUTPUT_REGION: &str = "region";

/// SQS's approximate counts move in steps: the drain rate is measured over a longer window
/// than the local ledger's.
const DRAIN_WINDOW: Duration = Duration::from_secs(2 * RATE_WINDOW.as_secs());

struct Resources {
    control_table: String,
    queue_url: String,
    dlq_url: String,
    region: Option<String>,
}

/// The flags, completed from `terraform output -json` when one the action needs is missing.
fn resources(t: &Target, action: &Action) -> anyhow::Result<Resources> {
    let needs_queues = matches!(action, Action::Status(_) | Action::Redrive { .. });
    let complete = t.control_table.is_some()
        && (!needs_queues || (t.queue_url.is_some() && t.dlq_url.is_some()));
    let outputs = if complete {
        Value::Null
    } else {
        terraform_outputs(&t.terraform_dir).with_context(|| {
            "give --control-table (and --queue-url, --dlq-url for status and redrive), or a Terraform directory with the deployment's state (--terraform-dir)"
        })?
    };
    let out = |name: &str| output_value(&outputs, name);
    let origin = t.terraform_dir.display();
    let need = |given: &Option<String>, name: &str, flag: &str, needed: bool| match given
        .clone()
        .or_else(|| out(name))
    {
        Some(v) => Ok(v),
        None if !needed => Ok(String::new()),
        None => Err(anyhow::anyhow!(
            "no {flag} and no `{name}` output in `terraform output` of {origin} (is the deployment up to date?)"
        )),
    };
    Ok(Resources {
        control_table: need(
            &t.control_table,
            OUTPUT_CONTROL_TABLE,
            "--control-table",
            true,
        )?,
        queue_url: need(&t.queue_url, OUTPUT_QUEUE, "--queue-url", needs_queues)?,
        dlq_url: need(&t.dlq_url, OUTPUT_DLQ, "--dlq-url", needs_queues)?,
        region: t.region.clone().or_else(|| out(OUTPUT_REGION)),
    })
}

/// Run `action` on AWS; false when the command did not get what it waited for.
pub async fn run(t: &Target, action: &Action, by: &str, json: bool) -> anyhow::Result<bool> {
    let r = resources(t, action)?;
    let aws =
        AwsCampaignReader::from_env(r.region, &r.control_table, &r.queue_url, &r.dlq_url).await;
    match action {
        Action::List => {
            let all = aws.campaigns.get_all().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                println!("no campaign has been steered in {}", r.control_table);
            } else {
                let now = now_ms();
                println!("{:<24} {:>10}  state", "campaign", "cancelled");
                for e in &all {
                    println!(
                        "{:<24} {:>10}  {}",
                        e.campaign,
                        count(e.cancelled as i64),
                        render::state(e, now)
                    );
                }
                println!("(campaigns never steered are running and not listed)");
            }
        }
        Action::Status(st) => {
            if st.watch {
                return watch_status(&aws, &st.name, st.every(), st.timeout, json).await;
            }
            let st = aws.status(&st.name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                print!("{}", render::aws_status(&st, None, now_ms()));
            }
        }
        Action::Pause { name, reason } => {
            let cmd = CampaignCommand::Pause {
                reason: reason.clone(),
            };
            steer_and_print(&aws, name, &cmd, by, json).await?;
        }
        Action::Resume { name } => {
            steer_and_print(&aws, name, &CampaignCommand::Resume, by, json).await?;
        }
        Action::Cancel { name } => {
            steer_and_print(&aws, name, &CampaignCommand::Cancel, by, json).await?;
        }
        Action::Redrive {
            name,
            reason,
            dry_run,
        } => {
            let entry = aws.campaigns.get(std::slice::from_ref(name)).await?;
            if !dry_run && entry.get(name).is_some_and(|e| e.state.is_cancelled()) {
                bail!(
                    "campaign {name:?} is cancelled: its redriven records would only be cancelled again"
                );
            }
            let req = RedriveRequest {
                dry_run: *dry_run,
                ..RedriveRequest::new(&r.dlq_url, &r.queue_url, name, reason.clone())
            };
            let report = redrive_campaign(&aws.sqs, &req).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let by_reason: Vec<String> = report
                    .matched_by_reason
                    .iter()
                    .map(|(r, n)| {
                        let r = if r.is_empty() {
                            "(moved by SQS, no reason)"
                        } else {
                            r
                        };
                        format!("{r} {n}")
                    })
                    .collect();
                println!(
                    "{} DLQ messages looked at; {} of {name}{}: {}",
                    count(report.received as i64),
                    count(report.matched() as i64),
                    reason
                        .as_ref()
                        .map_or(String::new(), |r| format!(" with reason {r}")),
                    if by_reason.is_empty() {
                        "none".into()
                    } else {
                        by_reason.join(", ")
                    }
                );
                if !dry_run {
                    println!(
                        "redrove {} to the queue{}",
                        count(report.redriven as i64),
                        if report.not_sent + report.not_deleted > 0 {
                            format!(
                                "; {} could not be sent (still in the DLQ), {} sent but not deleted (on both: the ledger keeps them from being sent twice)",
                                report.not_sent, report.not_deleted
                            )
                        } else {
                            String::new()
                        }
                    );
                }
            }
            return Ok(report.not_sent == 0);
        }
    }
    Ok(true)
}

async fn steer_and_print(
    aws: &AwsCampaignReader,
    name: &str,
    cmd: &CampaignCommand,
    by: &str,
    json: bool,
) -> anyhow::Result<()> {
    let (changed, entry) = match steer(&aws.campaigns, name, cmd, by, now_ms(), None).await? {
        Steered::Changed(e) => (true, e),
        Steered::Unchanged(e) => (false, e),
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"changed": changed, "control": entry})
        );
    } else {
        println!(
            "campaign {name} is {} {} (the pollers see it within their cache time)",
            if changed { "now" } else { "already" },
            render::state(&entry, now_ms())
        );
    }
    Ok(())
}

async fn watch_status(
    aws: &AwsCampaignReader,
    name: &str,
    every: Duration,
    timeout: u64,
    json: bool,
) -> anyhow::Result<bool> {
    let bar = Bar::new(json);
    let started = Instant::now();
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut most = 0;
    loop {
        let st = aws.status(name).await?;
        let backlog = st.queue.total();
        let now = now_ms();
        samples.push((now, backlog));
        let keep_from = now.saturating_sub(2 * DRAIN_WINDOW.as_millis() as u64);
        samples.retain(|(t, _)| *t >= keep_from);
        most = most.max(backlog);
        let drain = drain_rate(&samples, DRAIN_WINDOW).map(|rate| {
            let eta = progress::eta(&EtaInput {
                backlog,
                running: true,
                rate: Some(rate),
                account_rate: Some(rate),
                daily_remaining: st.quota.and_then(|q| q.daily_remaining),
            });
            (rate, eta)
        });
        if json {
            println!(
                "{}",
                serde_json::json!({"status": st, "drain_rate": drain.map(|d| d.0), "eta": drain.map(|d| d.1)})
            );
        }
        bar.update(
            format!("{name} {} | queue", st.control.state.code()),
            most - backlog,
            most,
            format!(
                "drained | {} left | {}",
                count(backlog as i64),
                drain.map_or("measuring the drain rate…".into(), |(r, e)| format!(
                    "{r:.1}/s, ETA {e}"
                ))
            ),
        );
        if backlog == 0 {
            bar.finish();
            if !json {
                print!("{}", render::aws_status(&st, drain, now));
            }
            return Ok(true);
        }
        if timeout > 0 && started.elapsed().as_secs() >= timeout {
            bar.finish();
            eprintln!(
                "the queue did not drain in {timeout} s: {} messages left",
                count(backlog as i64)
            );
            return Ok(false);
        }
        tokio::time::sleep(every).await;
    }
}
