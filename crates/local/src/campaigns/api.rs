//! `/_local/campaigns`: what `sesload campaign` (and the dashboard) calls on a running stack.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /_local/campaigns` | `{"campaigns": [CampaignSummary…]}`: every campaign seen, its state and cheap counts |
//! | `GET /_local/campaigns/{name}` | [`CampaignStatus`]: reconciliation, outcomes, rate, quota share, ETA; 404 for a campaign never seen |
//! | `POST /_local/campaigns/{name}/pause` | body `{"reason", "by", "if_version"}` (all optional) |
//! | `POST /_local/campaigns/{name}/resume` | body `{"by", "if_version"}` |
//! | `POST /_local/campaigns/{name}/cancel` | body `{"by", "if_version"}` |
//! | `POST /_local/campaigns/{name}/redrive` | body `{"dlq_reason"}`: the campaign's dead letters (of that reason) back on the queue, once each |
//!
//! Reads are open like `/_local/stats` (the stack listens on loopback); every POST needs the
//! ingest API key in `x-api-key` (403 otherwise). A state change answers 200
//! `{"changed": bool, "control": CampaignEntry}`; 409 when the campaign changed since
//! `if_version` (or while the change was made: `{"message", "current"}`) or is cancelled (which
//! is final); 400 for a name that is not a tag value.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sesload_core::{
    CampaignCommand, CampaignControl, CampaignError, SendQuota, SteerError, Steered,
    check_campaign_name, steer,
};
use subtle::ConstantTimeEq;

use super::lake::LakeTally;
use super::status::{self, QuotaSource};
use super::{CampaignSources, SqliteCampaignControl, entries};
use crate::db::{Db, now_ms};
use crate::http::AppState;
use crate::metrics::Metrics;
use crate::queue::{DlqFilter, redrive};
use crate::stats::reconcile;

/// How long a `GetAccount` answer is reused (a `--watch` polls every second).
const QUOTA_TTL: Duration = Duration::from_secs(2);

/// What the campaign endpoints read: the database, the lake, `GetAccount`, the metrics.
pub struct CampaignApi {
    control: SqliteCampaignControl,
    db: Db,
    metrics: Arc<Metrics>,
    lake: Option<Arc<LakeTally>>,
    quota: Option<QuotaSource>,
    last_quota: Mutex<Option<(Instant, SendQuota)>>,
}

impl CampaignApi {
    /// Without a lake (outcomes stay 0) and without `GetAccount` (no quota share).
    pub fn new(db: Db, metrics: Arc<Metrics>) -> Self {
        Self {
            control: SqliteCampaignControl::new(db.clone()),
            db,
            metrics,
            lake: None,
            quota: None,
            last_quota: Mutex::new(None),
        }
    }

    /// Count outcomes from the lake and ask for the account's quota where `sources` say.
    pub fn with_sources(mut self, sources: CampaignSources) -> Self {
        self.lake = sources.lake;
        self.quota = sources.quota;
        self
    }

    async fn quota(&self) -> Option<SendQuota> {
        let cached = *self.last_quota.lock().ok()?;
        if let Some((at, q)) = cached
            && at.elapsed() < QUOTA_TTL
        {
            return Some(q);
        }
        let source = self.quota.as_ref()?;
        match tokio::time::timeout(Duration::from_secs(2), source()).await {
            Ok(Ok(q)) => {
                if let Ok(mut l) = self.last_quota.lock() {
                    *l = Some((Instant::now(), q));
                }
                Some(q)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "GetAccount failed; status without quota");
                cached.map(|(_, q)| q)
            }
            Err(_) => cached.map(|(_, q)| q),
        }
    }
}

fn json(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn message(status: StatusCode, m: impl Into<String>) -> Response {
    json(status, json!({ "message": m.into() }))
}

/// `GET /_local/campaigns`
pub async fn list(State(state): State<Arc<AppState>>) -> Response {
    match state.campaigns.db.read(status::summaries).await {
        Ok(list) => json(StatusCode::OK, json!({ "campaigns": list })),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /_local/campaigns/{name}`
pub async fn get_status(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let api = &state.campaigns;
    let n = name.clone();
    let read = api
        .db
        .read(move |c| {
            let control = entries(c, std::slice::from_ref(&n))?
                .remove(&n)
                .unwrap_or_else(|| sesload_core::CampaignEntry::running(&n));
            Ok((control, reconcile(c, &n)?))
        })
        .await;
    let (control, rec) = match read {
        Ok(v) => v,
        Err(e) => return message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if rec.accepted == 0 && control.version == 0 && control.cancelled == 0 {
        return message(
            StatusCode::NOT_FOUND,
            format!(
                "no campaign {name:?}: nothing accepted with that campaign tag and no state set"
            ),
        );
    }
    let events = match &api.lake {
        Some(lake) => {
            let (lake, n) = (Arc::clone(lake), name.clone());
            tokio::task::spawn_blocking(move || lake.refresh_and_count(&n))
                .await
                .unwrap_or_default()
        }
        None => Default::default(),
    };
    let quota = api.quota().await;
    let account_rate = status::account_rate(&api.metrics, now_ms());
    let s = status::compose(control, rec, events, account_rate, quota);
    json(
        StatusCode::OK,
        serde_json::to_value(s).unwrap_or(Value::Null),
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    /// Why (pause).
    reason: Option<String>,
    /// Who: stored as `updated_by` (default `api`).
    by: Option<String>,
    /// The version the caller saw: the change applies only if the campaign is still there.
    if_version: Option<u64>,
    /// Only dead letters with this reason (redrive).
    dlq_reason: Option<String>,
}

fn authorised(state: &AppState, headers: &HeaderMap) -> bool {
    let key = headers
        .get("x-api-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    !key.is_empty() && bool::from(key.ct_eq(state.api_key.as_bytes()))
}

/// `POST /_local/campaigns/{name}/{action}`
pub async fn act(
    State(state): State<Arc<AppState>>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&state, &headers) {
        return message(
            StatusCode::FORBIDDEN,
            "Forbidden: missing or invalid x-api-key",
        );
    }
    let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    format!("invalid body for {action}: {e}"),
                );
            }
        }
    };
    if let Err(e) = check_campaign_name(&name) {
        return message(StatusCode::BAD_REQUEST, e.to_string());
    }
    let command = match action.as_str() {
        "pause" => CampaignCommand::Pause {
            reason: body.reason.clone().unwrap_or_default(),
        },
        "resume" => CampaignCommand::Resume,
        "cancel" => CampaignCommand::Cancel,
        "redrive" => return redrive_dead_letters(&state.campaigns, &name, body.dlq_reason).await,
        other => {
            return message(
                StatusCode::NOT_FOUND,
                format!(
                    "no campaign action {other:?} (pause, resume, cancel, redrive are; status is GET /_local/campaigns/{name})"
                ),
            );
        }
    };
    let by = body.by.as_deref().unwrap_or("api");
    let api = &state.campaigns;
    match steer(
        &api.control,
        &name,
        &command,
        by,
        now_ms() as u64,
        body.if_version,
    )
    .await
    {
        Ok(Steered::Changed(e)) => {
            tracing::info!(campaign = %name, state = e.state.code(), by, version = e.version, "campaign steered");
            json(StatusCode::OK, json!({"changed": true, "control": e}))
        }
        Ok(Steered::Unchanged(e)) => json(StatusCode::OK, json!({"changed": false, "control": e})),
        Err(SteerError::Conflict { current }) => {
            let msg = SteerError::Conflict {
                current: current.clone(),
            }
            .to_string();
            json(
                StatusCode::CONFLICT,
                json!({"message": msg, "current": current}),
            )
        }
        Err(SteerError::Refused(e @ CampaignError::Cancelled { .. })) => {
            message(StatusCode::CONFLICT, e.to_string())
        }
        Err(SteerError::Refused(e)) => message(StatusCode::BAD_REQUEST, e.to_string()),
        Err(SteerError::Port(e)) => message(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn redrive_dead_letters(
    api: &CampaignApi,
    campaign: &str,
    reason: Option<String>,
) -> Response {
    if let Some(r) = &reason
        && sesload_core::DlqReason::from_code(r).is_none()
    {
        return message(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown DLQ reason {r:?}; known: {}",
                sesload_core::DlqReason::ALL.map(|r| r.code()).join(", ")
            ),
        );
    }
    match api.control.get(&[campaign.to_string()]).await {
        Ok(m) if m.get(campaign).is_some_and(|e| e.state.is_cancelled()) => {
            return message(
                StatusCode::CONFLICT,
                format!(
                    "campaign {campaign:?} is cancelled: its redriven records would only be cancelled again"
                ),
            );
        }
        Ok(_) => {}
        Err(e) => return message(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
    let filter = DlqFilter {
        reason: reason.clone(),
        campaign: Some(campaign.to_string()),
        limit: None,
    };
    match api.db.write(move |c| redrive(c, &filter, &[])).await {
        Ok(n) => {
            tracing::info!(campaign, dlq_reason = ?reason, redriven = n, "campaign dead letters redriven");
            json(
                StatusCode::OK,
                json!({"campaign": campaign, "dlq_reason": reason, "redriven": n}),
            )
        }
        Err(e) => message(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
