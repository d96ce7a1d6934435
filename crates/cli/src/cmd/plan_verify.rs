//! `sesload plan --verify`: run a recommendation through the local stack.
//!
//! Starts `sesload up` (this same binary) in a temporary data directory with the plan's settings
//! and a simulator at the plan's MaxSendRate and latency, seeds customers, queues a backlog of
//! `verify_seconds` of sending in the durable queue *before* the stack starts (so the fleet meets
//! a full queue, as the plan assumes, and the ingest rate plays no part), waits until every
//! message is sent or dead-lettered, and measures the achieved send rate from the ledger's first
//! and last send times (`/_local/stats?campaign=...`).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;
use serde_json::Value;
use sesload_plan::Plan;

/// What `--verify` measured.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub predicted_rate: f64,
    pub achieved_rate: f64,
    pub messages: u64,
    pub sent: i64,
    pub dlq: i64,
    pub duplicates: i64,
    pub lost: i64,
    pub throttled: i64,
    pub drain_seconds: f64,
    pub campaign: String,
}

impl VerifyReport {
    pub fn relative_difference(&self) -> f64 {
        (self.achieved_rate - self.predicted_rate).abs() / self.predicted_rate
    }

    pub fn render(&self) -> String {
        format!(
            "\nVerify (local stack, simulator at the plan's MaxSendRate and latency):\n  \
             {} messages, sent {}, dlq {}, duplicates {}, lost {}, throttled {}\n  \
             achieved {:.1} emails/s vs predicted {:.1} emails/s ({:+.1} %), drained in {:.1} s\n",
            self.messages,
            self.sent,
            self.dlq,
            self.duplicates,
            self.lost,
            self.throttled,
            self.achieved_rate,
            self.predicted_rate,
            (self.achieved_rate / self.predicted_rate - 1.0) * 100.0,
            self.drain_seconds,
        )
    }
}

/// A child process killed (TERM, then KILL) when dropped.
struct Stack {
    child: Child,
    dir: PathBuf,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const API_KEY: &str = "plan-verify-key-0123456789";
const CUSTOMERS: u32 = 1_000;

fn config_toml(plan: &Plan, data_dir: &Path) -> String {
    let i = &plan.inputs;
    format!(
        "batch_size = {batch}\n\
         maximum_batching_window_in_seconds = {window}\n\
         maximum_concurrency = {mc}\n\
         visibility_timeout_seconds = {vis}\n\
         target_utilisation = {u:?}\n\
         send_concurrency = {sc}\n\
         idempotency_enabled = {ledger}\n\
         api_key = \"{API_KEY}\"\n\
         port = 0\n\
         data_dir = {dir:?}\n\
         \n\
         [sim]\n\
         max_send_rate = {rate:?}\n\
         max_24_hour_send = -1\n\
         \n\
         [sim.latency]\n\
         p50_ms = {lat:?}\n\
         p99_ms = {lat:?}\n",
        batch = plan.batch_size,
        window = plan.maximum_batching_window_in_seconds,
        mc = plan.maximum_concurrency,
        vis = plan.visibility_timeout_seconds,
        u = i.target_utilisation,
        sc = i.send_concurrency,
        ledger = i.ledger_enabled,
        dir = data_dir.display().to_string(),
        rate = i.max_send_rate,
        lat = i.ses_latency_ms,
    )
}

pub fn run(plan: &Plan, seconds: f64) -> anyhow::Result<VerifyReport> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--verify-seconds {seconds} must be > 0"
    );
    let bin = std::env::current_exe().context("cannot find the sesload binary")?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("sesload-verify-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config = dir.join("sesload.toml");
    std::fs::write(&config, config_toml(plan, &dir))?;
    let ready = dir.join("ready.json");

    let status = Command::new(&bin)
        .args(["seed", "--quiet", "--count", &CUSTOMERS.to_string()])
        .arg("--data-dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .context("cannot run `sesload seed`")?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        bail!("`sesload seed` failed ({status})");
    }

    let messages = (plan.target_rate * seconds).ceil().max(1.0) as u64;
    let campaign = format!("plan-verify-{stamp}");
    prefill(&dir, &campaign, messages)?;

    let child = Command::new(&bin)
        .arg("up")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&dir)
        .args(["--port", "0", "--ready-file"])
        .arg(&ready)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start `sesload up`")?;
    let stack = Stack {
        child,
        dir: dir.clone(),
    };
    let base = wait_ready(&ready, Duration::from_secs(60))?;
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();

    let expect_s = messages as f64 / plan.predicted_rate;
    let deadline = Instant::now() + Duration::from_secs_f64(expect_s * 3.0 + 60.0);
    let started = Instant::now();
    let stats = loop {
        let s = get_json(&addr, &format!("/_local/stats?campaign={campaign}"))?;
        let c = &s["campaign"];
        let done = c["sent"].as_i64().unwrap_or(0)
            + c["dlq"].as_i64().unwrap_or(0)
            + c["duplicate_codes"].as_i64().unwrap_or(0);
        if c["accepted"].as_i64() == Some(messages as i64) && done >= messages as i64 {
            break s;
        }
        if Instant::now() > deadline {
            bail!(
                "the backlog did not drain in time: {}",
                serde_json::to_string(c).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let c = &stats["campaign"];
    let sent = c["sent"].as_i64().unwrap_or(0);
    let first = c["first_sent_ms"].as_i64().unwrap_or(0);
    let last = c["last_sent_ms"].as_i64().unwrap_or(0);
    let span_s = (last - first) as f64 / 1000.0;
    anyhow::ensure!(
        sent > 1 && span_s > 0.0,
        "too few sends to measure a rate: sent {sent} over {span_s} s"
    );
    let report = VerifyReport {
        predicted_rate: plan.predicted_rate,
        achieved_rate: (sent - 1) as f64 / span_s,
        messages,
        sent,
        dlq: c["dlq"].as_i64().unwrap_or(0),
        duplicates: c["duplicate_codes"].as_i64().unwrap_or(0),
        lost: c["unaccounted"].as_i64().unwrap_or(0),
        throttled: stats["metrics"]["emails_throttled"].as_i64().unwrap_or(0),
        drain_seconds: started.elapsed().as_secs_f64(),
        campaign,
    };
    drop(stack);
    Ok(report)
}

/// Wait for `sesload up`'s ready file; returns the base URL (`http://127.0.0.1:PORT`).
fn wait_ready(path: &Path, timeout: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            let text = text.trim();
            if !text.is_empty() {
                if let Ok(v) = serde_json::from_str::<Value>(text) {
                    for key in ["url", "base_url", "ingest_base_url"] {
                        if let Some(u) = v[key].as_str() {
                            return Ok(u.to_string());
                        }
                    }
                    if let Some(p) = v["port"].as_u64() {
                        return Ok(format!("http://127.0.0.1:{p}"));
                    }
                } else if text.starts_with("http://") {
                    return Ok(text.to_string());
                }
            }
        }
        if Instant::now() > deadline {
            bail!(
                "`sesload up` did not write {} in {timeout:?}",
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn body(campaign: &str, n: u64) -> String {
    serde_json::json!({
        "from": "sender@example.com",
        "to": format!("success+{n}@simulator.amazonses.com"),
        "template_name": "SimpleEmail",
        "user_id": ((n % u64::from(CUSTOMERS)) + 1).to_string(),
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": format!("{campaign}-{n}"),
    })
    .to_string()
}

/// Queue `count` requests in the stack's durable queue (the same `Queue::send_batch` the ingest
/// API uses), before the stack runs.
fn prefill(dir: &Path, campaign: &str, count: u64) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let db = sesload_local::Db::open(dir.join(sesload_local::DB_FILE))?;
        let queue = sesload_local::Queue::new(db, sesload_local::QueueSettings::default());
        let mut n = 0;
        while n < count {
            let hi = (n + 2_000).min(count);
            let batch = (n..hi)
                .map(|i| sesload_local::NewMessage::from_body(body(campaign, i)))
                .collect();
            queue.send_batch(batch).await?;
            n = hi;
        }
        anyhow::Ok(())
    })
}

fn get_json(addr: &str, path: &str) -> anyhow::Result<Value> {
    let (status, text) = Conn::open(addr)?.request("GET", path, &[], b"")?;
    anyhow::ensure!(status == 200, "GET {path} answered {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("GET {path}: not JSON: {text}"))
}

/// A minimal HTTP/1.1 keep-alive client for loopback (Content-Length bodies only).
struct Conn {
    reader: BufReader<TcpStream>,
    addr: String,
}

impl Conn {
    fn open(addr: &str) -> anyhow::Result<Self> {
        let s = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            reader: BufReader::new(s),
            addr: addr.to_string(),
        })
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<(u16, String)> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let s = self.reader.get_mut();
        s.write_all(req.as_bytes())?;
        s.write_all(body)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| anyhow!("bad HTTP status line {line:?} from {}", self.addr))?;
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().context("bad content-length")?;
            }
        }
        let mut buf = vec![0; len];
        self.reader.read_exact(&mut buf)?;
        Ok((status, String::from_utf8_lossy(&buf).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_config_carries_the_plan() {
        let plan = sesload_plan::plan(
            &sesload_plan::Inputs::new(200.0, 50.0),
            &sesload_plan::Prices::default(),
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("sesload-verify-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sesload.toml");
        std::fs::write(&path, config_toml(&plan, &dir)).unwrap();
        let cfg = sesload_local::LocalConfig::load(Some(&path), true, |_| None, &[]).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(cfg.batch_size, plan.batch_size as usize);
        assert_eq!(cfg.maximum_concurrency, plan.maximum_concurrency as usize);
        assert_eq!(
            cfg.maximum_batching_window_in_seconds,
            u64::from(plan.maximum_batching_window_in_seconds)
        );
        assert_eq!(
            cfg.visibility_timeout_seconds,
            u64::from(plan.visibility_timeout_seconds)
        );
        assert_eq!(cfg.send_concurrency, 32);
        assert_eq!(cfg.api_key, API_KEY);
        assert_eq!(cfg.sim["max_send_rate"].as_float(), Some(200.0));
        assert_eq!(cfg.sim["latency"]["p50_ms"].as_float(), Some(50.0));
    }
}
