//! `sesload bench cold-start`: the real poller binary under a minimal local Lambda Runtime
//! API (implemented here), timed from process start to its first
//! `GET /2018-06-01/runtime/invocation/next` (`init_ms`, median of `--runs`), then fed one
//! SQS batch of `--batch-size` records (default 100); `rss_mb` is the process's peak RSS
//! (`VmHWM`) after it answered.
//!
//! Around the poller: the SES simulator (in this process, `AWS_ENDPOINT_URL_SESV2`) and a
//! tiny DynamoDB stand-in (`AWS_ENDPOINT_URL_DYNAMODB`: BatchGetItem returns every customer,
//! ledger writes succeed). Build the poller first (`cargo build --release -p poller`); the
//! binary is found next to this executable or with `--poller-bin`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use sesload_sim::{LatencyConfig, SimConfig, TemplateSeed};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

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

// ------------------------------------------------------------------ minimal HTTP/1.1 server

struct Req {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/x-amz-json-1.0".into())],
            body: v.to_string().into_bytes(),
        }
    }
}

type Handler = Arc<
    dyn Fn(Req) -> std::pin::Pin<Box<dyn std::future::Future<Output = Resp> + Send>> + Send + Sync,
>;

async fn read_request(r: &mut BufReader<TcpStream>) -> anyhow::Result<Option<Req>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = headers.get("content-length") {
        body.resize(n.parse()?, 0);
        r.read_exact(&mut body).await?;
    }
    Ok(Some(Req {
        method,
        path,
        headers,
        body,
    }))
}

async fn serve_conn(stream: TcpStream, handler: Handler) -> anyhow::Result<()> {
    let mut r = BufReader::new(stream);
    while let Some(req) = read_request(&mut r).await? {
        let resp = handler(req).await;
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            resp.status,
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut buf = head.into_bytes();
        buf.extend_from_slice(&resp.body);
        let w = r.get_mut();
        w.write_all(&buf).await?;
        w.flush().await?;
    }
    Ok(())
}

async fn serve(handler: Handler) -> anyhow::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let h = handler.clone();
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let _ = serve_conn(s, h).await;
            });
        }
    });
    Ok(addr)
}

// ------------------------------------------------------------------ fakes

/// DynamoDB stand-in: every customer exists, every ledger write succeeds.
fn dynamo_handler() -> Handler {
    Arc::new(|req: Req| {
        Box::pin(async move {
            let target = req.headers.get("x-amz-target").cloned().unwrap_or_default();
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            match target.as_str() {
                "DynamoDB_20120810.BatchGetItem" => {
                    let mut responses = serde_json::Map::new();
                    if let Some(items) = body["RequestItems"].as_object() {
                        for (table, ka) in items {
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
                    Resp::json(200, &json!({"Responses": responses, "UnprocessedKeys": {}}))
                }
                "DynamoDB_20120810.PutItem"
                | "DynamoDB_20120810.UpdateItem"
                | "DynamoDB_20120810.DeleteItem" => Resp::json(200, &json!({})),
                other => Resp::json(
                    400,
                    &json!({"__type": "UnknownOperationException", "message": other}),
                ),
            }
        })
    })
}

#[derive(Default)]
struct RuntimeState {
    event: Mutex<Option<Vec<u8>>>,
    first_next: Mutex<Option<Instant>>,
    response: Mutex<Option<Result<Vec<u8>, String>>>,
    answered: Notify,
    forever: Notify,
}

/// The Lambda Runtime API: the first `next` gets the event, later ones wait.
fn runtime_handler(state: Arc<RuntimeState>) -> Handler {
    Arc::new(move |req: Req| {
        let state = state.clone();
        Box::pin(async move {
            let p = req.path.as_str();
            if req.method == "GET" && p == "/2018-06-01/runtime/invocation/next" {
                state
                    .first_next
                    .lock()
                    .unwrap()
                    .get_or_insert_with(Instant::now);
                let event = state.event.lock().unwrap().take();
                match event {
                    Some(body) => {
                        let deadline = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default()
                            .as_millis()
                            + 60_000;
                        return Resp {
                            status: 200,
                            headers: vec![
                                ("content-type".into(), "application/json".into()),
                                ("lambda-runtime-aws-request-id".into(), "req-1".into()),
                                ("lambda-runtime-deadline-ms".into(), deadline.to_string()),
                                (
                                    "lambda-runtime-invoked-function-arn".into(),
                                    "arn:aws:lambda:us-east-1:123456789012:function:poller".into(),
                                ),
                                ("lambda-runtime-trace-id".into(), "Root=1-0-0".into()),
                            ],
                            body,
                        };
                    }
                    None => {
                        state.forever.notified().await;
                        return Resp::json(500, &json!({}));
                    }
                }
            }
            let outcome = if p.ends_with("/response") {
                Some(Ok(req.body))
            } else if p.ends_with("/error") {
                Some(Err(String::from_utf8_lossy(&req.body).into_owned()))
            } else {
                None
            };
            if let Some(o) = outcome {
                *state.response.lock().unwrap() = Some(o);
                state.answered.notify_one();
                return Resp::json(202, &json!({"status": "OK"}));
            }
            Resp::json(404, &json!({"errorMessage": format!("unknown path {p}")}))
        })
    })
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

struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    let api = serve(runtime_handler(state.clone())).await?;
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
    let child = Guard(
        cmd.spawn()
            .with_context(|| format!("starting {}", bin.display()))?,
    );
    let pid = child.0.id();
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let config = SimConfig {
            max_send_rate: Some(0.0),
            max_24_hour_send: Some(-1),
            latency: LatencyConfig::fixed(5.0),
            templates: vec![TemplateSeed {
                name: "SimpleEmail".into(),
                subject: "Hello {{first_name}}".into(),
                text: Some("code {{unique_code}}".into()),
                html: None,
            }],
            ..SimConfig::default()
        };
        let sim = sesload_sim::start(config, TcpListener::bind("127.0.0.1:0").await?).await?;
        let dynamo = serve(dynamo_handler()).await?;
        let mut runs = Vec::new();
        for _ in 0..args.runs {
            runs.push(one_run(&bin, &sim.endpoint_url(), &format!("http://{dynamo}"), args.batch_size).await?);
        }
        let sent = sim.stats().sent_messages;
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
