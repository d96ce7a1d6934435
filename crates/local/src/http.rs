//! The stack's HTTP server: ingest API (`POST /send_messages/events`, as API Gateway serves it),
//! OpenAPI document, health, stats, campaigns (`/_local/campaigns`, see
//! [`campaigns::api`](crate::campaigns::api)), dashboard and Prometheus metrics.
//!
//! Ingest checks, in API Gateway's order: route (404/405) → API key (403) → content type (415) →
//! size (413, 256 KB like an SQS message) → JSON (400) → JSON Schema draft-04 (400). Every error
//! is JSON `{"message": "..."}`; nothing is enqueued unless every check passed, and the 200
//! `{"messageId": "..."}` is sent after the durable commit.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::campaigns::{self, CampaignApi, CampaignSources};
use crate::metrics::Metrics;
use crate::queue::{NewMessage, Queue};
use crate::stats;

/// The send-request schema (the same file API Gateway's model uses).
pub const SEND_REQUEST_SCHEMA: &str = include_str!("../../../schemas/send-request.schema.json");
/// The OpenAPI document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../openapi/send-request.openapi.json");
/// The dashboard page.
pub const DASHBOARD_HTML: &str = include_str!("dashboard.html");
/// Maximum request body (SQS message size limit).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Path of the ingest endpoint (stage `send_messages`, resource `events`, as in the seed).
pub const INGEST_PATH: &str = "/send_messages/events";

/// Shared state of the server.
pub struct AppState {
    pub queue: Queue,
    pub api_key: String,
    pub validator: jsonschema::Validator,
    pub metrics: Arc<Metrics>,
    /// Extra information merged into `/_local/stats` (URLs, config) by the wiring.
    pub info: serde_json::Value,
    /// What `/_local/campaigns` reads and writes.
    pub campaigns: CampaignApi,
}

impl AppState {
    pub fn new(
        queue: Queue,
        api_key: String,
        metrics: Arc<Metrics>,
        info: serde_json::Value,
    ) -> Result<Self, String> {
        Ok(Self {
            campaigns: CampaignApi::new(queue.db().clone(), Arc::clone(&metrics)),
            queue,
            api_key,
            validator: compile_schema()?,
            metrics,
            info,
        })
    }

    /// Campaign status with outcomes from the lake and the quota from `GetAccount`.
    pub fn with_campaign_sources(mut self, sources: CampaignSources) -> Self {
        self.campaigns = self.campaigns.with_sources(sources);
        self
    }
}

/// Compile the send-request schema (draft-04) once.
pub fn compile_schema() -> Result<jsonschema::Validator, String> {
    let schema: serde_json::Value = serde_json::from_str(SEND_REQUEST_SCHEMA)
        .map_err(|e| format!("schemas/send-request.schema.json is not JSON: {e}"))?;
    jsonschema::draft4::new(&schema)
        .map_err(|e| format!("schemas/send-request.schema.json does not compile: {e}"))
}

/// Build the router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(INGEST_PATH, any(ingest))
        .route("/openapi.json", get(openapi))
        .route(
            "/healthz",
            get(|| async { Json200(json!({"status": "ok"})) }),
        )
        .route("/_local/stats", get(stats_handler))
        .route("/_local/series", get(series_handler))
        .route("/_local/campaigns", get(campaigns::api::list))
        .route("/_local/campaigns/{name}", get(campaigns::api::get_status))
        .route(
            "/_local/campaigns/{name}/{action}",
            post(campaigns::api::act),
        )
        .route("/metrics", get(metrics_handler))
        .route("/dashboard", get(dashboard))
        .route(
            "/",
            get(|| async { axum::response::Redirect::temporary("/dashboard") }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

struct Json200(serde_json::Value);
impl IntoResponse for Json200 {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, self.0)
    }
}

fn json_response(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, json!({ "message": message.into() }))
}

async fn not_found(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no resource at {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Check a request and turn it into a queue message, or the error response.
pub fn check_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<NewMessage, (StatusCode, String)> {
    let key = headers
        .get("x-api-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let ok: bool = key.ct_eq(state.api_key.as_bytes()).into();
    if key.is_empty() || !ok {
        return Err((
            StatusCode::FORBIDDEN,
            "Forbidden: missing or invalid x-api-key".into(),
        ));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json"))
    {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported Media Type: content-type {ct:?}; expected application/json"),
        ));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body of {} bytes exceeds the limit of {MAX_BODY_BYTES} bytes",
                body.len()
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("Invalid request body: malformed JSON: {e}"),
        )
    })?;
    if let Err(e) = state.validator.validate(&value) {
        let path = e.instance_path().to_string();
        let at = if path.is_empty() {
            String::new()
        } else {
            format!(" (at {path})")
        };
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "Invalid request body: {}{at}",
                truncate(&e.to_string(), 300)
            ),
        ));
    }
    // Store the body as received: it is valid JSON and the poller re-validates it.
    let campaign = value["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["Name"] == "campaign"))
        .and_then(|t| t["Value"].as_str())
        .unwrap_or("")
        .to_string();
    Ok(NewMessage {
        body: String::from_utf8_lossy(body).into_owned(),
        campaign,
        unique_code: value["unique_code"].as_str().map(str::to_string),
        delay: std::time::Duration::ZERO,
    })
}

async fn ingest(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} is not allowed on {INGEST_PATH}; use POST"),
        );
    }
    let reject = |state: &AppState, status: StatusCode, msg: String| {
        Metrics::add(&state.metrics.ingest_rejected, 1);
        error(status, msg)
    };
    // Fail fast on a declared oversize body, before reading it.
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > MAX_BODY_BYTES
    {
        // Still check the key first: an unauthenticated caller learns nothing else.
        if let Err((s, m)) = check_request(&state, &headers, b"{}")
            && s == StatusCode::FORBIDDEN
        {
            return reject(&state, s, m);
        }
        return reject(
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body of {len} bytes exceeds the limit of {MAX_BODY_BYTES} bytes"),
        );
    }
    let bytes = match to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => {
            return reject(
                &state,
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
            );
        }
    };
    let msg = match check_request(&state, &headers, &bytes) {
        Ok(m) => m,
        Err((s, m)) => return reject(&state, s, m),
    };
    match state.queue.send(msg).await {
        Ok(id) => {
            Metrics::add(&state.metrics.emails_received, 1);
            json_response(StatusCode::OK, json!({ "messageId": id }))
        }
        Err(e) => {
            tracing::error!(error = %e, "enqueue failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the queue could not store the message: {e}"),
            )
        }
    }
}

async fn openapi() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

async fn dashboard() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DASHBOARD_HTML,
    )
        .into_response()
}

#[derive(Deserialize)]
struct StatsQuery {
    campaign: Option<String>,
}

async fn stats_handler(
    State(state): State<Arc<AppState>>,
    Query(q): Query<StatsQuery>,
) -> Response {
    let campaign = q.campaign.clone();
    let r = state
        .queue
        .db()
        .read(move |c| stats::collect(c, campaign.as_deref()))
        .await;
    match r {
        Ok(mut s) => {
            let counters: serde_json::Map<String, serde_json::Value> = state
                .metrics
                .counters()
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            s["metrics"] = serde_json::Value::Object(counters);
            let (commits, jobs) = state.queue.db().commit_stats();
            s["db"] = json!({"commits": commits, "jobs": jobs});
            if let Some((p50, p99, n)) = state.metrics.ses_send_percentiles() {
                let lat = json!({"p50": p50, "p99": p99, "count": n});
                s["ses_send_ms"] = lat.clone();
                if s.get("campaign").is_some() {
                    s["campaign"]["ses_send_ms"] = lat;
                }
            }
            let cfg = &state.info["config"];
            let rate = cfg["ses_max_send_rate_override"]
                .as_f64()
                .or_else(|| cfg["sim"]["max_send_rate"].as_f64())
                .filter(|r| *r > 0.0);
            if let (Some(r), Some(_)) = (rate, s.get("campaign")) {
                s["campaign"]["max_send_rate"] = json!(r);
            }
            s["info"] = state.info.clone();
            json_response(StatusCode::OK, s)
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
struct SeriesQuery {
    n: Option<usize>,
}

async fn series_handler(
    State(state): State<Arc<AppState>>,
    Query(q): Query<SeriesQuery>,
) -> Response {
    let samples = state.metrics.series(q.n.unwrap_or(300).min(900));
    json_response(StatusCode::OK, json!({ "samples": samples }))
}

async fn metrics_handler(State(state): State<Arc<AppState>>) -> Response {
    let gauges = state.queue.db().read(stats::gauges).await.ok();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.prometheus(gauges),
    )
        .into_response()
}
