//! Shared test helpers: start a simulator on a free port, build a real SDK client for it, read
//! the lake, speak raw HTTP.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use sesload_sim::{LatencyConfig, SimConfig, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Unthrottled, no latency, events immediately due, lake in `dir`.
pub fn fast_config(dir: &Path) -> SimConfig {
    let mut c = SimConfig::unthrottled();
    c.latency = LatencyConfig::fixed(0.0);
    c.events.lake_dir = Some(dir.to_path_buf());
    c.events.delivery_delay_ms_min = 0;
    c.events.delivery_delay_ms_max = 0;
    c.events.complaint_delay_ms = 0;
    c
}

pub async fn start(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sesload_sim::start(config, listener).await.unwrap()
}

/// A real aws-sdk-sesv2 client: static test credentials, us-east-1, retries disabled.
pub fn client(sim: &SimHandle) -> Client {
    client_with_timeout(sim, Duration::from_secs(10))
}

pub fn client_with_timeout(sim: &SimHandle, timeout: Duration) -> Client {
    let conf = aws_sdk_sesv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDSIMTEST",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(sim.endpoint_url())
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build())
        .build();
    Client::from_conf(conf)
}

/// Every record of every completed lake file under `dir/ses_events`.
pub fn lake_records(dir: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    walk(&dir.join("ses_events"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.ends_with('\n'),
            "{} does not end with a newline",
            f.display()
        );
        for line in text.lines() {
            out.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad line in {}: {e}: {line}", f.display())),
            );
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "json")
            && !p.file_name().unwrap().to_string_lossy().starts_with('.')
        {
            out.push(p);
        }
    }
}

/// Sends raw bytes as one HTTP/1.1 request; returns (status, x-amzn-errortype, body).
pub async fn raw_http(
    sim: &SimHandle,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, Option<String>, String) {
    let mut s = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before reading a huge body: ignore write errors.
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let etype = head.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype"))
            .map(|(_, v)| v.trim().to_owned())
    });
    (status, etype, body.to_owned())
}

/// The error code of an SDK error, e.g. `TooManyRequestsException`.
pub fn code<E, R>(e: &aws_sdk_sesv2::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sesv2::error::ProvideErrorMetadata,
{
    use aws_sdk_sesv2::error::ProvideErrorMetadata;
    e.code().unwrap_or("<none>").to_owned()
}

/// Code, HTTP status and message of a service error.
pub fn service_error<E>(
    e: &aws_sdk_sesv2::error::SdkError<E, aws_sdk_sesv2::config::http::HttpResponse>,
) -> (String, u16, String)
where
    E: aws_sdk_sesv2::error::ProvideErrorMetadata,
{
    use aws_sdk_sesv2::error::ProvideErrorMetadata;
    (
        code(e),
        e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
        e.message().unwrap_or("").to_owned(),
    )
}
