//! `sesload bench sim`: SendEmail calls/s and latency of the SES simulator from a concurrent
//! Rust SDK client, and the simulator's peak memory.
//!
//! The simulator runs as a child process (`sesload sim --port 0`, this same binary) so its
//! peak RSS (VmHWM in /proc/<pid>/status) is its own, not the client's. Default: latency 0,
//! no quota, 64 calls in flight for 10 s. `--latency-ms 50 --in-flight 5000` holds 5,000
//! calls in flight against a 50 ms simulator and reports the peak RSS and the largest
//! in-flight count the simulator itself saw.
//!
//! On a small machine the SDK client, not the simulator, is the limit: signing, endpoint
//! resolution and the orchestrator cost several times the simulator's work per call, and both
//! share the same cores. So the CPU time of both processes is measured too
//! (`sim_cpu_us_per_call`, `client_cpu_us_per_call`), and `--client raw` replaces the SDK with
//! plain keep-alive HTTP/1.1 connections sending the same SendEmail request (a fixed,
//! unverified `Authorization` header: the simulator does not check signatures), which shows
//! what the simulator serves when the client costs little.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::cpu_seconds;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::process::ChildGuard;

/// Arguments of this scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// SendEmail calls kept in flight by the client.
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    /// Simulator per-call latency in ms (fixed).
    #[arg(long, default_value_t = 0.0)]
    pub latency_ms: f64,
    /// Worker threads of the client's tokio runtime (the simulator child uses its own).
    #[arg(long, default_value_t = 2)]
    pub client_threads: usize,
    /// Simulator binary (default: this executable).
    #[arg(long)]
    pub sesload_bin: Option<std::path::PathBuf>,
    /// `sdk`: the Rust `aws-sdk-sesv2` client (signing and all); `raw`: the same SendEmail
    /// request over plain HTTP/1.1 keep-alive connections, one per call in flight.
    #[arg(long, value_enum, default_value_t = Client::Sdk)]
    pub client: Client,
}

/// The load generator of `sesload bench sim`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Sdk,
    Raw,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.in_flight >= 1,
        "--in-flight must be >= 1, got {}",
        args.in_flight
    );
    anyhow::ensure!(
        args.seconds >= 1,
        "--seconds must be >= 1, got {}",
        args.seconds
    );
    let bin = match &args.sesload_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("locating the sesload binary")?,
    };
    let mut child = Command::new(&bin)
        .args([
            "sim",
            "--port",
            "0",
            "--no-lake",
            "--no-quota",
            "--log-format",
            "json",
        ])
        .args(["--latency-ms", &args.latency_ms.to_string()])
        .args(["--configuration-set", "", "--message-log-capacity", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} sim", bin.display()))?;
    let stdout = child
        .stdout
        .take()
        .context("no stdout from the simulator")?;
    let pid = child.id();
    let guard = ChildGuard::new(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the simulator's ready line")?;
    let ready: serde_json::Value = serde_json::from_str(line.trim())
        .with_context(|| format!("simulator ready line is not JSON: {line:?}"))?;
    let endpoint = ready["endpoint"]
        .as_str()
        .context("ready line has no endpoint")?
        .to_owned();
    let rss_before = vm_kib(pid, "VmRSS:");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()?;
    let sim_cpu0 = cpu_seconds(&format!("/proc/{pid}/stat"));
    let own_cpu0 = cpu_seconds("/proc/self/stat");
    let r = match args.client {
        Client::Sdk => rt.block_on(drive(&args, &endpoint))?,
        Client::Raw => rt.block_on(drive_raw(&args, &endpoint))?,
    };
    let sim_cpu = cpu_seconds(&format!("/proc/{pid}/stat"))
        .zip(sim_cpu0)
        .map(|(b, a)| b - a);
    let own_cpu = cpu_seconds("/proc/self/stat")
        .zip(own_cpu0)
        .map(|(b, a)| b - a);
    let per_call = |cpu: Option<f64>| {
        cpu.filter(|_| r.calls > 0)
            .map(|c| (c * 1e6 / r.calls as f64 * 10.0).round() / 10.0)
    };
    let peak_rss_kib = vm_kib(pid, "VmHWM:");
    drop(guard);

    let out = serde_json::json!({
        "client": format!("{:?}", args.client).to_lowercase(),
        "calls_per_s": r.calls_per_s,
        "sim_cpu_s": sim_cpu,
        "client_cpu_s": own_cpu,
        "sim_cpu_us_per_call": per_call(sim_cpu),
        "client_cpu_us_per_call": per_call(own_cpu),
        "p50_ms": r.p50_ms,
        "p99_ms": r.p99_ms,
        "calls": r.calls,
        "errors": r.errors,
        "seconds": args.seconds,
        "in_flight": args.in_flight,
        "latency_ms": args.latency_ms,
        "sim_peak_in_flight": r.peak_in_flight,
        "sim_rss_start_mb": rss_before.map(|k| k as f64 / 1024.0),
        "sim_peak_rss_mb": peak_rss_kib.map(|k| k as f64 / 1024.0),
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "SES simulator benchmark ({} s, {} in flight, latency {} ms)",
            args.seconds, args.in_flight, args.latency_ms
        );
        println!("  calls/s            {:.0}", r.calls_per_s);
        println!("  p50 / p99 ms       {:.2} / {:.2}", r.p50_ms, r.p99_ms);
        println!("  calls / errors     {} / {}", r.calls, r.errors);
        println!("  sim peak in flight {}", r.peak_in_flight);
        if let (Some(s), Some(c)) = (per_call(sim_cpu), per_call(own_cpu)) {
            println!("  CPU µs per call    simulator {s:.1}, client {c:.1}");
        }
        if let Some(k) = peak_rss_kib {
            println!("  sim peak RSS       {:.1} MB", k as f64 / 1024.0);
        }
    }
    Ok(())
}

struct Result {
    calls_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    calls: u64,
    errors: u64,
    peak_in_flight: u64,
}

async fn drive(args: &Args, endpoint: &str) -> anyhow::Result<Result> {
    let conf = aws_sdk_sesv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .build();
    let client = aws_sdk_sesv2::Client::from_conf(conf);
    let content = EmailContent::builder()
        .simple(
            Message::builder()
                .subject(Content::builder().data("bench").build()?)
                .body(
                    Body::builder()
                        .text(Content::builder().data("hello").build()?)
                        .build(),
                )
                .build(),
        )
        .build();
    let dest = Destination::builder()
        .to_addresses("success@simulator.amazonses.com")
        .build();
    // Warm up: one call (connection, signing setup).
    client
        .send_email()
        .from_email_address("sender@example.com")
        .destination(dest.clone())
        .content(content.clone())
        .send()
        .await
        .context("first SendEmail against the simulator failed")?;

    drive_load(args, endpoint, move |deadline, errors| {
        let c = client.clone();
        let content = content.clone();
        let dest = dest.clone();
        async move {
            let mut lat = Vec::with_capacity(1024);
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = c
                    .send_email()
                    .from_email_address("sender@example.com")
                    .destination(dest.clone())
                    .content(content.clone())
                    .send()
                    .await;
                match r {
                    Ok(_) => lat.push(t.elapsed().as_micros() as u32),
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(lat)
        }
    })
    .await
}

/// The `--client raw` load: `in_flight` keep-alive connections, each sending the SendEmail
/// request of the SDK scenario (same JSON body and path) as soon as the previous answer came.
async fn drive_raw(args: &Args, endpoint: &str) -> anyhow::Result<Result> {
    use http_body_util::{BodyExt, Full};
    let authority = endpoint.trim_start_matches("http://").to_owned();
    let body = bytes::Bytes::from_static(
        br#"{"FromEmailAddress":"sender@example.com","Destination":{"ToAddresses":["success@simulator.amazonses.com"]},"Content":{"Simple":{"Subject":{"Data":"bench"},"Body":{"Text":{"Data":"hello"}}}}}"#,
    );
    drive_load(args, endpoint, move |deadline, errors| {
        let authority = authority.clone();
        let body = body.clone();
        async move {
            let mut lat = Vec::with_capacity(1024);
            let stream = tokio::net::TcpStream::connect(&authority)
                .await
                .with_context(|| format!("connecting to {authority}"))?;
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .context("HTTP handshake with the simulator")?;
            tokio::spawn(conn);
            while Instant::now() < deadline {
                let req = hyper::Request::post("/v2/email/outbound-emails")
                    .header("host", &authority)
                    .header("content-type", "application/json")
                    .header(
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0",
                    )
                    .body(Full::new(body.clone()))?;
                let t = Instant::now();
                if sender.ready().await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let _ = resp.into_body().collect().await;
                        if ok {
                            lat.push(t.elapsed().as_micros() as u32);
                        } else {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            Ok(lat)
        }
    })
    .await
}

/// Runs `args.in_flight` connections, each the future `connection(deadline, errors)` makes,
/// until `args.seconds` are over, while watching the simulator's in-flight peak; the
/// connections' latencies (µs) are summarised together.
async fn drive_load<F, Fut>(args: &Args, endpoint: &str, connection: F) -> anyhow::Result<Result>
where
    F: Fn(Instant, Arc<AtomicU64>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<u32>>> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let poller = watch_in_flight(endpoint, &stop, &peak);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.in_flight)
        .map(|_| tokio::spawn(connection(deadline, errors.clone())))
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = poller.await;
    Ok(summarise(all, elapsed, &errors, &peak))
}

fn summarise(mut all: Vec<u32>, elapsed: f64, errors: &AtomicU64, peak: &AtomicU64) -> Result {
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[i] as f64 / 1000.0
    };
    Result {
        calls_per_s: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        calls: all.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        peak_in_flight: peak.load(Ordering::Relaxed),
    }
}

/// Polls the simulator's in-flight count (`GET /_sim/stats`, not counted as SES traffic) every
/// 20 ms into `peak` until `stop` is set.
fn watch_in_flight(
    endpoint: &str,
    stop: &Arc<AtomicBool>,
    peak: &Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let url = format!("{}/_sim/stats", endpoint.trim_end_matches('/'));
    let (stop, peak) = (stop.clone(), peak.clone());
    let http = sesload_stack::client::HttpClient::new(Duration::from_secs(2));
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            // The stats request itself is in flight too.
            if let Some(n) = http
                .get_json(&url)
                .await
                .ok()
                .and_then(|v| v["in_flight"].as_u64())
            {
                peak.fetch_max(n.saturating_sub(1), Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// A `Vm*:` line of /proc/<pid>/status in KiB.
fn vm_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
