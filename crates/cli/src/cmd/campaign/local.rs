//! `sesload campaign` against the running local stack, through `/_local/campaigns`.

use std::time::Instant;

use anyhow::{Context, bail};
use bytes::Bytes;
use hyper::Method;
use serde_json::{Value, json};
use sesload_local::campaigns::{CampaignStatus, CampaignSummary};
use sesload_stack::Endpoints;
use sesload_stack::client::HttpClient;

use super::render::{self, Bar, count, now_ms};
use super::{Action, Target};

struct Stack {
    base: String,
    api_key: Option<String>,
    http: HttpClient,
}

fn connect(t: &Target) -> anyhow::Result<Stack> {
    let mut api_key = t.api_key.clone();
    let base = match (&t.url, &t.ready_file) {
        (Some(u), _) => u.trim_end_matches('/').to_string(),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the ready file {}", path.display()))?;
            let ep: Endpoints = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a `sesload up` ready file", path.display()))?;
            api_key = api_key.or(Some(ep.api_key));
            ep.url
        }
        (None, None) => bail!(
            "which stack? give --url http://127.0.0.1:PORT or --ready-file FILE (`sesload up --ready-file FILE` writes one), or --aws"
        ),
    };
    if api_key.is_none() {
        api_key = std::fs::read_to_string(t.local.data_dir.join("api_key"))
            .ok()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty());
    }
    Ok(Stack {
        base,
        api_key,
        http: HttpClient::default(),
    })
}

impl Stack {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut headers = vec![("content-type", "application/json")];
        if let Some(k) = &self.api_key {
            headers.push(("x-api-key", k.as_str()));
        }
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let (status, answer) = self
            .http
            .request(method.clone(), &url, &headers, body)
            .await
            .with_context(|| "is `sesload up` running there?")?;
        let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let msg = v["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&answer).into_owned());
            let hint = if status == 403 {
                " (give the stack's key with --api-key, SESLOAD_API_KEY or --ready-file)"
            } else {
                ""
            };
            bail!("{method} {url}: HTTP {status}: {msg}{hint}");
        }
        Ok(v)
    }

    async fn status(&self, name: &str) -> anyhow::Result<CampaignStatus> {
        let v = self
            .call(Method::GET, &format!("/_local/campaigns/{name}"), None)
            .await?;
        serde_json::from_value(v)
            .context("the stack's campaign status is not what this build reads")
    }
}

/// Run `action`; false when the command did not get what it waited for.
pub async fn run(t: &Target, action: &Action, by: &str, json: bool) -> anyhow::Result<bool> {
    let stack = connect(t)?;
    match action {
        Action::List => {
            let v = stack.call(Method::GET, "/_local/campaigns", None).await?;
            let list: Vec<CampaignSummary> = serde_json::from_value(v["campaigns"].clone())
                .context("the stack's campaign list is not what this build reads")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print_list(&list);
            }
        }
        Action::Status(st) => {
            if st.watch {
                return watch_status(&stack, &st.name, st.every(), st.timeout, json).await;
            }
            let st = stack.status(&st.name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                print!("{}", render::local_status(&st, now_ms()));
            }
        }
        Action::Pause { name, reason } => {
            steer(
                &stack,
                name,
                "pause",
                json!({"reason": reason, "by": by}),
                json,
            )
            .await?;
        }
        Action::Resume { name } => {
            steer(&stack, name, "resume", json!({"by": by}), json).await?;
        }
        Action::Cancel { name } => {
            steer(&stack, name, "cancel", json!({"by": by}), json).await?;
        }
        Action::Redrive {
            name,
            reason,
            dry_run,
        } => {
            if *dry_run {
                let st = stack.status(name).await?;
                let by_reason: serde_json::Map<String, Value> = st
                    .reconciliation
                    .dlq_by_reason
                    .into_iter()
                    .filter(|(r, _)| reason.as_ref().is_none_or(|want| want == r))
                    .collect();
                let n: i64 = by_reason.values().filter_map(Value::as_i64).sum();
                if json {
                    println!(
                        "{}",
                        json!({"campaign": name, "would_redrive": n, "by_reason": by_reason})
                    );
                } else {
                    println!(
                        "would redrive {} dead letters of {name}: {}",
                        count(n),
                        Value::Object(by_reason)
                    );
                }
                return Ok(true);
            }
            let v = stack
                .call(
                    Method::POST,
                    &format!("/_local/campaigns/{name}/redrive"),
                    Some(json!({"dlq_reason": reason})),
                )
                .await?;
            if json {
                println!("{v}");
            } else {
                println!(
                    "redrove {} dead letters of {name}{} back to the queue",
                    count(v["redriven"].as_i64().unwrap_or(0)),
                    reason
                        .as_ref()
                        .map_or(String::new(), |r| format!(" (reason {r})"))
                );
            }
        }
    }
    Ok(true)
}

fn print_list(list: &[CampaignSummary]) {
    if list.is_empty() {
        println!("no campaigns yet");
        return;
    }
    let now = now_ms();
    println!(
        "{:<24} {:>10} {:>10} {:>8} {:>10}  state",
        "campaign", "accepted", "queued", "dlq", "cancelled"
    );
    for c in list {
        let name = if c.control.campaign.is_empty() {
            "(no campaign tag)"
        } else {
            c.control.campaign.as_str()
        };
        println!(
            "{:<24} {:>10} {:>10} {:>8} {:>10}  {}",
            name,
            count(c.accepted),
            count(c.queued_messages),
            count(c.dlq_messages),
            count(c.control.cancelled as i64),
            render::state(&c.control, now)
        );
    }
}

async fn steer(
    stack: &Stack,
    name: &str,
    action: &str,
    body: Value,
    json: bool,
) -> anyhow::Result<()> {
    let v = stack
        .call(
            Method::POST,
            &format!("/_local/campaigns/{name}/{action}"),
            Some(body),
        )
        .await?;
    if json {
        println!("{v}");
        return Ok(());
    }
    let entry: sesload_core::CampaignEntry = serde_json::from_value(v["control"].clone())
        .context("the stack's answer is not what this build reads")?;
    let what = if v["changed"].as_bool() == Some(true) {
        "now"
    } else {
        "already"
    };
    println!(
        "campaign {name} is {what} {}",
        render::state(&entry, now_ms())
    );
    Ok(())
}

async fn watch_status(
    stack: &Stack,
    name: &str,
    every: std::time::Duration,
    timeout: u64,
    json: bool,
) -> anyhow::Result<bool> {
    let bar = Bar::new(json);
    let started = Instant::now();
    loop {
        let st = stack.status(name).await?;
        let r = &st.reconciliation;
        if json {
            println!("{}", serde_json::to_string(&st)?);
        }
        bar.update(
            format!("{name} {}", st.control.state.code()),
            r.sent.max(0) as u64,
            r.accepted.max(0) as u64,
            format!(
                "sent | {} queued, {} dlq, {} cancelled | {} | ETA {}",
                count(r.queued),
                count(r.dlq),
                count(r.cancelled),
                st.rate.map_or("rate n/a".into(), |x| format!("{x:.1}/s")),
                st.eta_text
            ),
        );
        if r.drained() {
            bar.finish();
            if !json {
                print!("{}", render::local_status(&st, now_ms()));
            }
            return Ok(true);
        }
        if timeout > 0 && started.elapsed().as_secs() >= timeout {
            bar.finish();
            eprintln!(
                "campaign {name} did not drain in {timeout} s: {} still queued",
                r.queued
            );
            return Ok(false);
        }
        tokio::time::sleep(every).await;
    }
}
