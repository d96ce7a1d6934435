//! The local stack's guardrails: a background task that, every [`GUARD_INTERVAL`], reads the
//! event files the simulator wrote since the last pass ([`LakeTally::refresh`]) and checks every
//! campaign that sent in the guardrail window (`sesload_core::campaign::guardrail::check`): one
//! whose bounce or complaint rate is over its threshold is auto-paused in the stack's database,
//! with the rate and the threshold in the reason, and counted in `guardrail_pauses`
//! (`/_local/stats`, `/metrics`).
//!
//! It is the local counterpart of the guard Lambda on AWS, on the same core logic: there the
//! counts come from SES's events on EventBridge and live in the control table; here they come
//! from the lake, which the simulator writes a couple of seconds after each send.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use sesload_core::campaign::guardrail::{BUCKET_MS, CheckOutcome, GuardrailSettings, check};
use sesload_local::campaigns::lake::LakeTally;
use sesload_local::{Metrics, SqliteCampaignControl};

/// How often the campaigns are checked.
pub const GUARD_INTERVAL: Duration = Duration::from_secs(2);

/// One pass: read the new lake files, check the campaigns that sent in the window; the number
/// of campaigns auto-paused.
pub async fn check_once(
    lake: &Arc<LakeTally>,
    control: &SqliteCampaignControl,
    settings: &GuardrailSettings,
    metrics: &Metrics,
) -> usize {
    let l = Arc::clone(lake);
    if let Err(e) = tokio::task::spawn_blocking(move || l.refresh()).await {
        tracing::warn!(error = %e, "reading the event lake failed; guardrails checked on what was read before");
    }
    let now = u64::try_from(sesload_local::db::now_ms()).unwrap_or_default();
    let first_minute = (now / BUCKET_MS + 1).saturating_sub(settings.window_minutes());
    let campaigns = lake.campaigns_sending_since(first_minute);
    if campaigns.is_empty() {
        return 0;
    }
    let mut paused = 0;
    for c in check(control, lake.as_ref(), settings, &campaigns, now).await {
        match c.outcome {
            CheckOutcome::Paused { trip, .. } => {
                paused += 1;
                metrics.guardrail_pauses.fetch_add(1, Relaxed);
                tracing::warn!(campaign = %c.campaign, reason = %trip.reason(), "guardrail paused a campaign");
            }
            CheckOutcome::Raced { current, .. } => {
                tracing::info!(campaign = %c.campaign, state = current.state.code(), "campaign changed while a guardrail tripped; checked again next pass");
            }
            CheckOutcome::Failed(e) => {
                tracing::warn!(campaign = %c.campaign, error = %e, "guardrail check failed");
            }
            CheckOutcome::Clear | CheckOutcome::NotRunning => {}
        }
    }
    paused
}

/// Run [`check_once`] every [`GUARD_INTERVAL`] until the task is aborted.
pub fn spawn(
    lake: Arc<LakeTally>,
    control: SqliteCampaignControl,
    settings: GuardrailSettings,
    metrics: Arc<Metrics>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(GUARD_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            check_once(&lake, &control, &settings, &metrics).await;
        }
    })
}
