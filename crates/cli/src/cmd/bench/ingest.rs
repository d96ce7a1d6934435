//! `sesload bench ingest`: accepted requests/s and latency of the ingest API, with the load
//! generated from a separate process. By default this command starts `sesload up --ingest-only`
//! as a child process (its own data dir, any free port) and drives it from here with
//! `--connections` keep-alive HTTP/1.1 connections (closed loop) for `--duration` seconds.
//! With `--target` it loads an already running stack instead, and `--rate` paces the load
//! (open loop; used by `scripts/demo.sh` when Artillery is not installed).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use sesload_stack::Endpoints;
use sesload_stack::client::{HttpClient, stats_url};

use crate::process::ChildGuard;

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds of measured load (after a 1 s warm-up).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Base URL of a running stack (e.g. http://127.0.0.1:8787); default: start one.
    #[arg(long)]
    pub target: Option<String>,
    /// API key of the running stack (with --target).
    #[arg(long, env = "SESLOAD_API_KEY")]
    pub api_key: Option<String>,
    /// Pace to this many requests/s in total (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Campaign tag of the generated requests.
    #[arg(long)]
    pub campaign: Option<String>,
    /// user_id is drawn from 1..=customers.
    #[arg(long, default_value_t = 10_000)]
    pub customers: u64,
}

/// Result of one load run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadResult {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub seconds: f64,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1]
}

fn body(campaign: &str, conn: usize, seq: u64, customers: u64) -> String {
    // 90 % success, the rest spread over the other simulator mailboxes.
    let to = match seq % 50 {
        0 | 1 => "bounce",
        2 => "complaint",
        3 => "ooto",
        4 => "suppressionlist",
        _ => "success",
    };
    let user = (seq.wrapping_mul(2_654_435_761).wrapping_add(conn as u64)) % customers.max(1) + 1;
    serde_json::json!({
        "from": "sender@example.com",
        "to": format!("{to}+c{conn}@simulator.amazonses.com"),
        "template_name": "SimpleEmail",
        "user_id": user.to_string(),
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": format!("{campaign}-{conn}-{seq}"),
    })
    .to_string()
}

/// What load to generate.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub campaign: String,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// Total requests/s (None = closed loop, as fast as answers come back).
    pub rate: Option<f64>,
    pub customers: u64,
}

/// Drive `base_url` + `/send_messages/events` as `spec` says.
pub async fn load(base_url: &str, api_key: &str, spec: &LoadSpec) -> anyhow::Result<LoadResult> {
    let LoadSpec {
        campaign,
        connections,
        duration,
        warmup,
        rate,
        customers,
    } = spec.clone();
    let campaign = campaign.as_str();
    let url: hyper::Uri = base_url.parse().context("--target is not a URL")?;
    let authority = url
        .authority()
        .context("--target needs host:port")?
        .to_string();
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let per_conn_interval =
        rate.map(|r| Duration::from_secs_f64(connections as f64 / r.max(0.001)));
    let mut tasks = Vec::new();
    for conn in 0..connections {
        let authority = authority.clone();
        let key = api_key.to_string();
        let campaign = campaign.to_string();
        let errors = Arc::clone(&errors);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut ok = 0u64;
            let mut seq = 0u64;
            let stream = match tokio::net::TcpStream::connect(&authority).await {
                Ok(s) => s,
                Err(e) => return Err(anyhow::anyhow!("connect {authority}: {e}")),
            };
            let _ = stream.set_nodelay(true);
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .context("HTTP handshake")?;
            tokio::spawn(connection);
            let mut next = Instant::now() + Duration::from_millis((conn as u64 * 7) % 50);
            while Instant::now() < end {
                if let Some(iv) = per_conn_interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += iv;
                }
                let b = body(&campaign, conn, seq, customers);
                seq += 1;
                let req = Request::post("/send_messages/events")
                    .header("host", &authority)
                    .header("content-type", "application/json")
                    .header("x-api-key", &key)
                    .body(Full::new(Bytes::from(b)))?;
                let t = Instant::now();
                if sender.ready().await.is_err() {
                    errors.fetch_add(1, Relaxed);
                    break;
                }
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let status = resp.status();
                        let _ = resp.into_body().collect().await;
                        let ms = t.elapsed().as_secs_f64() * 1000.0;
                        if status.as_u16() == 200 {
                            if t >= measure_from && t < end {
                                ok += 1;
                                lat.push(ms);
                            }
                        } else {
                            errors.fetch_add(1, Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Relaxed);
                        break;
                    }
                }
            }
            Ok::<_, anyhow::Error>((ok, lat))
        }));
    }
    let mut all = Vec::new();
    let mut ok = 0;
    for t in tasks {
        let (o, l) = t.await??;
        ok += o;
        all.extend(l);
    }
    all.sort_by(|a, b| a.total_cmp(b));
    let secs = duration.as_secs_f64();
    let errors = errors.load(Relaxed);
    Ok(LoadResult {
        requests: ok + errors,
        ok,
        errors,
        seconds: secs,
        requests_per_s: ok as f64 / secs,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        max_ms: all.last().copied().unwrap_or(0.0),
    })
}

/// A `sesload up` child process (killed on drop) and where it answers.
pub struct UpChild {
    _child: ChildGuard,
    pub endpoints: Endpoints,
}

/// Start `sesload up` (this executable) with extra args; wait for its ready file.
pub fn spawn_up(extra: &[&str], data_dir: Option<PathBuf>) -> anyhow::Result<UpChild> {
    let data_dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sesload-bench-{}", uuid::Uuid::new_v4().simple()))
    });
    std::fs::create_dir_all(&data_dir)?;
    let ready = data_dir.join("ready.json");
    let _ = std::fs::remove_file(&ready);
    let exe = std::env::current_exe()?;
    let log = std::fs::File::create(data_dir.join("up.log"))?;
    let mut child = ChildGuard::new(
        std::process::Command::new(exe)
            .arg("up")
            .args(["--config", "none"])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--port", "0", "--ready-file"])
            .arg(&ready)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting sesload up")?,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&ready)
            && let Ok(endpoints) = serde_json::from_str::<Endpoints>(&text)
        {
            return Ok(UpChild {
                _child: child,
                endpoints,
            });
        }
        if let Some(status) = child.child_mut().try_wait()? {
            let log = std::fs::read_to_string(data_dir.join("up.log")).unwrap_or_default();
            anyhow::bail!("sesload up exited with {status}: {log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!("sesload up was not ready after 60 s")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let campaign = args.campaign.clone().unwrap_or_else(|| {
        format!(
            "bench-ingest-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    });
    let (child, target, key) = match &args.target {
        Some(t) => (
            None,
            t.trim_end_matches('/').to_string(),
            args.api_key
                .clone()
                .context("--api-key is required with --target")?,
        ),
        None => {
            let c = spawn_up(&["--ingest-only", "--api-key", "bench-key"], None)?;
            let url = c.endpoints.url.clone();
            (Some(c), url, "bench-key".to_string())
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let warmup = if args.rate.is_some() {
        Duration::ZERO
    } else {
        Duration::from_secs(1)
    };
    let spec = LoadSpec {
        campaign: campaign.clone(),
        connections: args.connections,
        duration: Duration::from_secs(args.duration),
        warmup,
        rate: args.rate,
        customers: args.customers,
    };
    let r = rt.block_on(load(&target, &key, &spec))?;
    let stats = rt
        .block_on(HttpClient::default().get_json(&stats_url(&target, None)))
        .unwrap_or_default();
    drop(child);
    let commits = stats["db"]["commits"].as_f64().unwrap_or(0.0);
    let jobs = stats["db"]["jobs"].as_f64().unwrap_or(0.0);
    let out = serde_json::json!({
        "scenario": "ingest",
        "requests_per_s": (r.requests_per_s * 10.0).round() / 10.0,
        "p50_ms": (r.p50_ms * 100.0).round() / 100.0,
        "p99_ms": (r.p99_ms * 100.0).round() / 100.0,
        "max_ms": (r.max_ms * 100.0).round() / 100.0,
        "accepted": r.ok,
        "errors": r.errors,
        "seconds": r.seconds,
        "connections": args.connections,
        "rate": args.rate,
        "campaign": campaign,
        "jobs_per_commit": if commits > 0.0 { (jobs / commits * 10.0).round() / 10.0 } else { 0.0 },
        "durability": "WAL, synchronous=FULL, group commit",
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "ingest: {:.0} accepted requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms ({} ok, {} errors, {} connections, {:.1} jobs per commit)",
            r.requests_per_s,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.ok,
            r.errors,
            args.connections,
            out["jobs_per_commit"].as_f64().unwrap_or(0.0)
        );
    }
    anyhow::ensure!(
        r.errors == 0 || args.rate.is_some(),
        "{} requests failed",
        r.errors
    );
    Ok(())
}
