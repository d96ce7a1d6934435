//! `sesload bench cold-start`: the real poller binary under a local Lambda Runtime API (an axum
//! stand-in serving one invocation), timed from process start to its first
//! `GET /2018-06-01/runtime/invocation/next` (`init_ms`, median of `--runs`), then fed one
//! SQS batch of `--batch-size` records (default 100); `rss_mb` is the process's peak RSS
//! (`VmHWM`) after it answered.
//!
//! Around the poller: the SES simulator (in this process, `AWS_ENDPOINT_URL_SESV2`) and an axum
//! DynamoDB stand-in (`AWS_ENDPOINT_URL_DYNAMODB`: BatchGetItem returns every customer and no
//! campaign state (so the campaign runs), ledger writes succeed, the control table's send
//! schedule has no item yet, so every reservation is due at once). Build the poller first (`cargo build --release -p poller`); the
//! binary is found next to this executable or with `--poller-bin`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sesload_sim::LatencyConfig;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::process::ChildGuard;

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The poller executable (default: `poller` next to this executable).
    #[arg(long, env = "SESLOAD_POLLER_BIN")]
    pub poller_bin: Option<PathBuf>,
    /// Cold starts to time (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Records in the batch fed after init.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
}

// ------------------------------------------------------------------ stand-in servers (axum)

fn json_response(status: StatusCode, content_type: &'static str, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        v.to_string(),
    )
        .into_response()
}

/// Serve `app` on a free loopback port; the task ends when the runtime does or when aborted.
async fn serve(app: Router) -> anyhow::Result<(std::net::SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "stand-in server stopped");
        }
    });
    Ok((addr, task))
}

/// DynamoDB stand-in: every customer exists, no campaign has a stored state, every ledger and
/// schedule write succeeds, a read of the schedule finds no item.
async fn dynamo(headers: HeaderMap, body: Bytes) -> Response {
    const CT: &str = "application/x-amz-json-1.0";
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match target {
        "DynamoDB_20120810.BatchGetItem" => {
            let mut responses = serde_json::Map::new();
            if let Some(items) = body["RequestItems"].as_object() {
                for (table, ka) in items {
                    if table == "control" {
                        // Campaign states (`campaign#<name>`): none stored, every one running.
                        responses.insert(table.clone(), Value::Array(Vec::new()));
                        continue;
                    }
                    let found: Vec<Value> = ka["Keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| {
                            json!({"user_id": k["user_id"], "first_name": {"S": "Ada"},
                                   "city": {"S": "Dublin"}, "plan": {"S": "pro"}})
                        })
                        .collect();
                    responses.insert(table.clone(), Value::Array(found));
                }
            }
            json_response(
                StatusCode::OK,
                CT,
                &json!({"Responses": responses, "UnprocessedKeys": {}}),
            )
        }
        "DynamoDB_20120810.GetItem"
        | "DynamoDB_20120810.PutItem"
        | "DynamoDB_20120810.UpdateItem"
        | "DynamoDB_20120810.DeleteItem" => json_response(StatusCode::OK, CT, &json!({})),
        other => json_response(
            StatusCode::BAD_REQUEST,
            CT,
            &json!({"__type": "UnknownOperationException", "message": other}),
        ),
    }
}

#[derive(Default)]
struct RuntimeState {
    event: Mutex<Option<Vec<u8>>>,
    first_next: Mutex<Option<Instant>>,
    response: Mutex<Option<Result<Vec<u8>, String>>>,
    answered: Notify,
    forever: Notify,
}

/// The Lambda Runtime API: the first `next` gets the event, later ones wait until the run ends.
async fn runtime_api(
    State(state): State<Arc<RuntimeState>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    const CT: &str = "application/json";
    let p = uri.path();
    if method == Method::GET && p == "/2018-06-01/runtime/invocation/next" {
        state
            .first_next
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
        let event = state.event.lock().unwrap().take();
        let Some(event) = event else {
            state.forever.notified().await;
            return json_response(StatusCode::GONE, CT, &json!({"errorMessage": "run over"}));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 60_000;
        return (
            StatusCode::OK,
            [
                ("content-type", CT.to_string()),
                ("lambda-runtime-aws-request-id", "req-1".to_string()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:poller".to_string(),
                ),
                ("lambda-runtime-trace-id", "Root=1-0-0".to_string()),
            ],
            event,
        )
            .into_response();
    }
    let outcome = if method != Method::POST {
        None
    } else if p.ends_with("/response") {
        Some(Ok(body.to_vec()))
    } else if p.ends_with("/error") {
        Some(Err(String::from_utf8_lossy(&body).into_owned()))
    } else {
        None
    };
    if let Some(o) = outcome {
        *state.response.lock().unwrap() = Some(o);
        state.answered.notify_one();
        return json_response(StatusCode::ACCEPTED, CT, &json!({"status": "OK"}));
    }
    json_response(
        StatusCode::NOT_FOUND,
        CT,
        &json!({"errorMessage": format!("unknown path {p}")}),
    )
}

fn sqs_event(n: usize) -> Value {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let body = json!({
                "from": "sender@example.com",
                "to": format!("success+{i}@simulator.amazonses.com"),
                "template_name": "SimpleEmail",
                "user_id": (i + 1).to_string(),
                "config_set": "load-test-config",
                "tags": [{"Name": "campaign", "Value": "cold-start"}],
                "unique_code": format!("cold-{i}"),
            });
            json!({
                "messageId": format!("m-{i}"),
                "receiptHandle": format!("rh-{i}"),
                "body": body.to_string(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sesload-requests",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({"Records": records})
}

fn vm_hwm_kb(pid: u32) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

fn find_poller(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let p = match arg {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("executable has no directory")?
            .join("poller"),
    };
    anyhow::ensure!(
        p.exists(),
        "poller binary not found at {} (build it: cargo build --release -p poller, or pass --poller-bin)",
        p.display()
    );
    Ok(p)
}

struct RunResult {
    init_ms: f64,
    rss_mb: f64,
    invoke_ms: f64,
}

async fn one_run(
    bin: &PathBuf,
    ses_url: &str,
    dynamo_url: &str,
    batch: usize,
) -> anyhow::Result<RunResult> {
    let state = Arc::new(RuntimeState::default());
    *state.event.lock().unwrap() = Some(sqs_event(batch).to_string().into_bytes());
    let (api, api_task) = serve(
        Router::new()
            .fallback(runtime_api)
            .with_state(Arc::clone(&state)),
    )
    .await?;
    let envs = [
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "poller".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/poller".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "bench".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench".into()),
        ("AWS_ENDPOINT_URL_SESV2", ses_url.into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamo_url.into()),
        ("AWS_ENDPOINT_URL_SQS", dynamo_url.into()),
        (
            "QUEUE_URL",
            "http://127.0.0.1:1/123456789012/sesload-requests".into(),
        ),
        (
            "DLQ_URL",
            "http://127.0.0.1:1/123456789012/sesload-dlq".into(),
        ),
        ("CUSTOMERS_TABLE", "customers".into()),
        ("LEDGER_TABLE", "ledger".into()),
        ("CONTROL_TABLE", "control".into()),
        ("SES_MAX_SEND_RATE_OVERRIDE", "100000".into()),
        ("MAXIMUM_CONCURRENCY", "1".into()),
        (
            "RUST_LOG",
            std::env::var("SESLOAD_BENCH_POLLER_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ];
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(if std::env::var_os("SESLOAD_BENCH_POLLER_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit());
    let t0 = Instant::now();
    let child = ChildGuard::new(
        cmd.spawn()
            .with_context(|| format!("starting {}", bin.display()))?,
    );
    let pid = child.id();
    tokio::time::timeout(Duration::from_secs(30), state.answered.notified())
        .await
        .context("the poller did not answer its first invocation within 30 s")?;
    let invoke_done = Instant::now();
    let first_next = state
        .first_next
        .lock()
        .unwrap()
        .context("no `next` request was seen")?;
    let response = state
        .response
        .lock()
        .unwrap()
        .take()
        .context("no response")?;
    let body = response.map_err(|e| anyhow::anyhow!("the poller reported an error: {e}"))?;
    let v: Value = serde_json::from_slice(&body)?;
    anyhow::ensure!(
        v["batchItemFailures"]
            .as_array()
            .is_some_and(|a| a.is_empty()),
        "unexpected batch response {v}"
    );
    // let the process settle on its next `next` before reading its peak RSS
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rss_mb = vm_hwm_kb(pid)? as f64 / 1024.0;
    drop(child);
    state.forever.notify_waiters();
    api_task.abort();
    Ok(RunResult {
        init_ms: (first_next - t0).as_secs_f64() * 1000.0,
        rss_mb,
        invoke_ms: (invoke_done - first_next).as_secs_f64() * 1000.0,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs >= 1, "--runs must be >= 1, got {}", args.runs);
    anyhow::ensure!(
        (1..=10_000).contains(&args.batch_size),
        "--batch-size must be 1..=10000, got {}",
        args.batch_size
    );
    let bin = find_poller(args.poller_bin.clone())?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let sim = super::unlimited_sim(LatencyConfig::fixed(5.0)).await?;
        let (dynamo, dynamo_task) = serve(Router::new().fallback(dynamo)).await?;
        let mut runs = Vec::new();
        for _ in 0..args.runs {
            runs.push(one_run(&bin, &sim.endpoint_url(), &format!("http://{dynamo}"), args.batch_size).await?);
        }
        let sent = sim.stats().sent_messages;
        dynamo_task.abort();
        sim.shutdown().await?;
        anyhow::ensure!(
            sent as usize == args.runs * args.batch_size,
            "the simulator accepted {sent} emails, expected {}",
            args.runs * args.batch_size
        );
        let mut init: Vec<f64> = runs.iter().map(|r| r.init_ms).collect();
        init.sort_by(f64::total_cmp);
        let median = init[init.len() / 2];
        let rss = runs.iter().map(|r| r.rss_mb).fold(0.0, f64::max);
        let invoke = runs.iter().map(|r| r.invoke_ms).sum::<f64>() / runs.len() as f64;
        let size = std::fs::metadata(&bin)?.len() as f64 / 1_048_576.0;
        let out = json!({
            "init_ms": (median * 100.0).round() / 100.0,
            "rss_mb": (rss * 10.0).round() / 10.0,
            "init_ms_min": (init[0] * 100.0).round() / 100.0,
            "init_ms_max": (init[init.len() - 1] * 100.0).round() / 100.0,
            "runs": args.runs,
            "batch_size": args.batch_size,
            "first_invoke_ms": (invoke * 10.0).round() / 10.0,
            "binary": bin.display().to_string(),
            "binary_mb": (size * 10.0).round() / 10.0,
        });
        if args.json {
            println!("{out}");
        } else {
            println!("poller cold start ({} runs, {})", args.runs, bin.display());
            println!("  init (start -> first next): median {median:.2} ms (min {:.2}, max {:.2}); target <= 20 ms", init[0], init[init.len() - 1]);
            println!("  peak RSS at batch {}: {rss:.1} MB; target <= 32 MB", args.batch_size);
            println!("  first invocation: {invoke:.1} ms");
        }
        Ok(())
    })
}
