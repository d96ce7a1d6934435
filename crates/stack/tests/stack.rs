//! The whole local stack in this process: ingest API → durable queue → event-source emulator →
//! poller (core processor, SQLite adapters, real SES v2 adapter) → SES simulator → lake, and
//! the reconciliation every command takes its verdict from.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use sesload_stack::backlog::{Backlog, run_backlog, sim_table};
use sesload_stack::client::{HttpClient, stats_url};
use sesload_stack::{LocalConfig, LocalStack, StackMode};

const KEY: &str = "stack-test-key-0123456789";

fn config(dir: &Path) -> LocalConfig {
    LocalConfig {
        port: 0,
        sim_port: 0,
        data_dir: dir.display().to_string(),
        api_key: KEY.into(),
        batch_size: 10,
        maximum_batching_window_in_seconds: 0,
        sim: sim_table(200.0, 5.0, 10.0),
        ..LocalConfig::default()
    }
}

fn request(campaign: &str, n: u64, user_id: &str) -> serde_json::Value {
    json!({
        "from": "sender@example.com",
        "to": format!("success+{n}@simulator.amazonses.com"),
        "template_name": "SimpleEmail",
        "user_id": user_id,
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": format!("{campaign}-{n}"),
    })
}

/// `Send` events of `campaign` in the lake.
fn lake_sends(lake: &Path, campaign: &str) -> usize {
    let mut n = 0;
    let mut dirs = vec![lake.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                for line in std::fs::read_to_string(&p).unwrap_or_default().lines() {
                    let Ok(ev) = serde_json::from_str::<serde_json::Value>(line) else {
                        continue;
                    };
                    if ev["eventType"] == "Send" && ev["mail"]["tags"]["campaign"][0] == campaign {
                        n += 1;
                    }
                }
            }
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_requests_are_sent_dead_lettered_or_skipped_and_the_accounts_balance() {
    let dir = tempfile::tempdir().unwrap();
    let stack = LocalStack::start(config(dir.path()), StackMode::Full)
        .await
        .unwrap();
    sesload_local::customers::seed_customers(stack.queue().db(), 1..51)
        .await
        .unwrap();
    let ep = stack.endpoints();
    assert_eq!(ep.api_key, KEY);
    let http = HttpClient::default();
    let campaign = "stack-it";
    // 40 requests: every 10th names a customer that does not exist; request 3 is sent twice.
    for n in (0..40).chain([3]) {
        let user = if n % 10 == 9 {
            "99999".to_string()
        } else {
            (n % 50 + 1).to_string()
        };
        let (status, answer) = http
            .post_json(
                &ep.ingest_url,
                &[("x-api-key", KEY)],
                &request(campaign, n, &user),
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = http
        .post_json(
            &ep.ingest_url,
            &[("x-api-key", "wrong")],
            &request(campaign, 99, "1"),
        )
        .await
        .unwrap();
    assert_eq!((status, answer["message"].is_string()), (403, true));

    let drained = stack
        .drain(campaign, Duration::from_secs(60))
        .await
        .unwrap();
    let r = &drained.reconciliation;
    assert!(r.drained(), "{r:?}");
    assert_eq!(r.accepted, 41);
    assert_eq!(r.sent, 36);
    assert_eq!(r.dlq, 4);
    assert_eq!(r.dlq_by_reason["unknown_customer"], 4);
    assert_eq!(r.duplicate_codes, 1);
    assert_eq!(r.unaccounted, 0);
    assert!(r.problems().is_empty());
    assert!(r.achieved_send_rate.is_some_and(|x| x > 0.0), "{r:?}");
    assert_eq!(drained.ses_accepted, 36, "every request sent once");
    assert_eq!(drained.duplicate_sends(), 0);

    // `/_local/stats` serves the same reconciliation.
    let (stats, served) = http.campaign_stats(&ep.url, campaign).await.unwrap();
    // The same counts; only the time of the snapshot differs.
    assert_eq!(
        &sesload_stack::CampaignReconciliation {
            as_of_ms: r.as_of_ms,
            ..served
        },
        r
    );
    assert_eq!(stats["metrics"]["invocation_timeouts"], 0);
    assert!(http.get_json(&stats_url(&ep.url, None)).await.unwrap()["campaign"].is_null());

    let lake = dir.path().join("lake");
    stack.stop().await.unwrap();
    assert_eq!(
        lake_sends(&lake, campaign),
        36,
        "one Send event per email sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_drains_below_the_simulated_quota_without_loss_or_duplicates() {
    let mut cfg = LocalConfig {
        batch_size: 50,
        maximum_concurrency: 2,
        ..LocalConfig::default()
    };
    cfg.sim = sim_table(100.0, 5.0, 10.0);
    let backlog = Backlog {
        campaign: "backlog-it".into(),
        messages: 300,
        customers: 100,
    };
    let d = run_backlog(cfg, &backlog, Duration::from_secs(60))
        .await
        .unwrap();
    let r = &d.reconciliation;
    assert!(r.drained(), "{r:?}");
    assert_eq!((r.accepted, r.sent, r.dlq, r.unaccounted), (300, 300, 0, 0));
    assert_eq!(d.duplicate_sends(), 0);
    let rate = r.achieved_send_rate.unwrap();
    assert!(
        rate <= 100.0 * 1.02,
        "paced to the quota (target 98/s): achieved {rate:.1}/s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_timeout_shorter_than_a_batch_needs_never_times_out_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    // A sandbox account (1/s) and a batch of 8 that would need 8 s: an invocation may run 5 s,
    // so it starts no send after 2 s and parks the rest of its batch (`deadline`).
    cfg.sim = sim_table(1.0, 5.0, 10.0);
    cfg.batch_size = 8;
    cfg.function_timeout_seconds = 5;
    cfg.maximum_concurrency = 2;
    let stack = LocalStack::start(cfg, StackMode::Full).await.unwrap();
    sesload_local::customers::seed_customers(stack.queue().db(), 1..11)
        .await
        .unwrap();
    let ep = stack.endpoints();
    let http = HttpClient::default();
    for n in 0..8 {
        let (status, _) = http
            .post_json(
                &ep.ingest_url,
                &[("x-api-key", KEY)],
                &request("deadline", n, "1"),
            )
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    let drained = stack
        .drain("deadline", Duration::from_secs(60))
        .await
        .unwrap();
    let r = &drained.reconciliation;
    assert!(r.drained(), "{r:?}");
    assert_eq!(drained.invocation_timeouts, 0, "{drained:?}");
    assert_eq!((r.sent, r.dlq, r.unaccounted), (8, 0, 0), "{r:?}");
    assert_eq!(drained.duplicate_sends(), 0);
    let (stats, _) = http.campaign_stats(&ep.url, "deadline").await.unwrap();
    assert_eq!(stats["metrics"]["invocation_timeouts"], json!(0));
    let returns = stats["metrics"]["deadline_returns"].as_u64().unwrap();
    assert!(returns >= 1, "the deadline parked some records: {stats}");
    assert!(stats["metrics"]["emails_parked"].as_u64().unwrap() >= returns);
    stack.stop().await.unwrap();
}
