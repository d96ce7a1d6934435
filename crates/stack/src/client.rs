//! An HTTP client (hyper) for the loopback APIs of a running stack and simulator:
//! `/_local/stats`, the ingest API, `/_sim/stats`. Plain HTTP only: both listen on loopback.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use sesload_local::CampaignReconciliation;

/// A request that failed; names the URL.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url} is not an http:// URL: {message}")]
    Url { url: String, message: String },
    #[error("{method} {url}: {message}")]
    Transport {
        method: Method,
        url: String,
        message: String,
    },
    #[error("{method} {url} answered HTTP {status}: {body}")]
    Status {
        method: Method,
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} did not answer JSON: {message}")]
    NotJson { url: String, message: String },
}

/// Keep-alive HTTP/1.1 client with a per-request timeout.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    /// Send one request; returns the status and the body.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(u16, Bytes), ClientError> {
        let uri: hyper::Uri =
            url.parse()
                .map_err(|e: hyper::http::uri::InvalidUri| ClientError::Url {
                    url: url.to_string(),
                    message: e.to_string(),
                })?;
        if uri.scheme_str() != Some("http") {
            return Err(ClientError::Url {
                url: url.to_string(),
                message: "only http:// is supported (the local stack listens on loopback)".into(),
            });
        }
        let transport = |message: String| ClientError::Transport {
            method: method.clone(),
            url: url.to_string(),
            message,
        };
        let mut req = Request::builder().method(method.clone()).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| transport(e.to_string()))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| transport(e.to_string()))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| transport(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| transport(format!("no answer within {:?}", self.timeout)))?
    }

    /// `GET url`, expecting 200 and a JSON body.
    pub async fn get_json(&self, url: &str) -> Result<Value, ClientError> {
        let (status, body) = self.request(Method::GET, url, &[], Bytes::new()).await?;
        if status != 200 {
            return Err(ClientError::Status {
                method: Method::GET,
                url: url.to_string(),
                status,
                body: String::from_utf8_lossy(&body).chars().take(300).collect(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::NotJson {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    /// `POST url` with a JSON body; returns the status and the answer (Null when not JSON).
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Result<(u16, Value), ClientError> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let (status, answer) = self
            .request(Method::POST, url, &all, Bytes::from(body.to_string()))
            .await?;
        Ok((
            status,
            serde_json::from_slice(&answer).unwrap_or(Value::Null),
        ))
    }

    /// `GET <base>/_local/stats?campaign=<campaign>`: the whole stats object and the campaign's
    /// reconciliation in it.
    pub async fn campaign_stats(
        &self,
        base: &str,
        campaign: &str,
    ) -> Result<(Value, CampaignReconciliation), ClientError> {
        let url = stats_url(base, Some(campaign));
        let stats = self.get_json(&url).await?;
        let rec = serde_json::from_value(stats["campaign"].clone()).map_err(|e| {
            ClientError::NotJson {
                url: url.clone(),
                message: format!("no campaign reconciliation: {e}"),
            }
        })?;
        Ok((stats, rec))
    }
}

/// `<base>/_local/stats`, with `?campaign=` (percent-encoded) when given.
pub fn stats_url(base: &str, campaign: Option<&str>) -> String {
    let base = base.trim_end_matches('/');
    match campaign {
        Some(c) => {
            let encoded: String = c
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{base}/_local/stats?campaign={encoded}")
        }
        None => format!("{base}/_local/stats"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stats_url_encodes_the_campaign() {
        assert_eq!(
            super::stats_url("http://127.0.0.1:1/", Some("a b&c-1")),
            "http://127.0.0.1:1/_local/stats?campaign=a%20b%26c-1"
        );
        assert_eq!(
            super::stats_url("http://h:2", None),
            "http://h:2/_local/stats"
        );
    }
}
