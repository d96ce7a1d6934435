//! A campaign's status on the local stack: its reconciliation (disjoint at every instant, from
//! the database), its state, its SES events (from the lake), its current send rate, the share
//! of the account's quota it gets and its ETA (the arithmetic is `sesload_core::campaign::progress`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sesload_core::campaign::progress::{
    self, Eta, EtaInput, QuotaView, RATE_WINDOW, quota_share, window_rate,
};
use sesload_core::{CampaignEntry, PortError, SendQuota};

use super::lake::EventCounts;
use crate::db::DbError;
use crate::metrics::Metrics;
use crate::stats::CampaignReconciliation;

/// Where the account's quota comes from (`GetAccount` against the simulator, in the stack).
pub type QuotaFuture = Pin<Box<dyn Future<Output = Result<SendQuota, PortError>> + Send>>;
/// A `GetAccount` call, boxed so the HTTP server needs no SES client type.
pub type QuotaSource = Arc<dyn Fn() -> QuotaFuture + Send + Sync>;

/// SES event outcomes of a campaign's sent messages (from the lake).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    /// Final status delivered (a Delivery no Complaint followed).
    pub delivered: u64,
    pub bounced: u64,
    pub complained: u64,
    /// SES accepted the send but could not render the template.
    pub rendering_failures: u64,
    pub rejected: u64,
    /// Event records read, by type.
    pub events: EventCounts,
}

impl From<EventCounts> for Outcomes {
    fn from(e: EventCounts) -> Self {
        Self {
            delivered: e.delivered(),
            bounced: e.bounce,
            complained: e.complaint,
            rendering_failures: e.rendering_failure,
            rejected: e.reject,
            events: e,
        }
    }
}

/// Everything `sesload campaign status` shows, as `GET /_local/campaigns/{name}` serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignStatus {
    /// The campaign's state, who set it and how many of its records were cancelled.
    pub control: CampaignEntry,
    /// accepted = sent + dlq + cancelled + queued + duplicate_codes (+ unaccounted), one snapshot.
    pub reconciliation: CampaignReconciliation,
    /// Delivered, bounced, complained… of its sent messages, from the SES events in the lake.
    pub outcomes: Outcomes,
    /// The sliding window the rates are measured over, seconds.
    pub rate_window_seconds: u64,
    /// The campaign's sends per second over the window (ledger `sent_at`).
    pub rate: Option<f64>,
    /// The whole stack's sends per second over the window (every campaign).
    pub account_rate: Option<f64>,
    /// `GetAccount` (None when the simulator did not answer, or without one).
    pub quota: Option<QuotaView>,
    /// `rate / MaxSendRate` (None when unlimited or unknown).
    pub quota_share: Option<f64>,
    pub eta: Eta,
    /// The ETA said in words.
    pub eta_text: String,
}

/// Put a campaign's status together. `account_rate` is the stack's send rate over the window.
pub fn compose(
    control: CampaignEntry,
    reconciliation: CampaignReconciliation,
    events: EventCounts,
    account_rate: Option<f64>,
    quota: Option<SendQuota>,
) -> CampaignStatus {
    let r = &reconciliation;
    let sending_for = r
        .first_sent_ms
        .map(|first| Duration::from_millis((r.as_of_ms - first).max(0) as u64));
    let rate = window_rate(r.sent_recently.max(0) as u64, RATE_WINDOW, sending_for);
    let quota_view = quota.map(QuotaView::from);
    let eta = progress::eta(&EtaInput {
        backlog: r.queued.max(0) as u64,
        running: control.state.sends(),
        rate,
        account_rate,
        daily_remaining: quota_view.and_then(|q| q.daily_remaining),
    });
    CampaignStatus {
        rate_window_seconds: RATE_WINDOW.as_secs(),
        rate,
        account_rate,
        quota_share: quota_view.and_then(|q| quota_share(rate, q.max_send_rate)),
        quota: quota_view,
        eta,
        eta_text: eta.to_string(),
        outcomes: events.into(),
        control,
        reconciliation,
    }
}

/// The stack's send rate over the window, from the metrics sampled once a second: the mean of
/// the samples from the first one that saw a send (an idle start does not dilute it).
pub fn account_rate(metrics: &Metrics, now_ms: i64) -> Option<f64> {
    let since = now_ms - i64::try_from(RATE_WINDOW.as_millis()).unwrap_or(i64::MAX);
    let recent: Vec<f64> = metrics
        .series(RATE_WINDOW.as_secs() as usize + 1)
        .into_iter()
        .filter(|s| s.t > since)
        .map(|s| s.emails_sent)
        .skip_while(|sent| *sent <= 0.0)
        .collect();
    (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
}

/// One line of `GET /_local/campaigns`: cheap counts of every campaign the stack has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub control: CampaignEntry,
    pub accepted: i64,
    /// Messages of the campaign in the queue now (visible, in flight, delayed).
    pub queued_messages: i64,
    /// Dead letters of the campaign in the DLQ now.
    pub dlq_messages: i64,
    pub last_accepted_ms: Option<i64>,
}

/// Every campaign the stack has accepted requests for or that has a state, most recent first.
pub fn summaries(c: &Connection) -> Result<Vec<CampaignSummary>, DbError> {
    let tx = c
        .unchecked_transaction()
        .map_err(DbError::sql("begin read snapshot"))?;
    let rows: Vec<(String, i64, i64, i64, Option<i64>)> = tx
        .prepare(
            "SELECT c.campaign, c.accepted,
                    (SELECT count(*) FROM messages m WHERE m.campaign = c.campaign),
                    (SELECT count(*) FROM dlq d WHERE d.campaign = c.campaign),
                    c.last_accepted_at
             FROM campaigns c ORDER BY c.last_accepted_at DESC NULLS LAST, c.campaign",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect()
        })
        .map_err(DbError::sql("campaign list"))?;
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut entries = super::entries(&tx, &names)?;
    Ok(rows
        .into_iter()
        .map(|(name, accepted, queued, dlq, last)| CampaignSummary {
            control: entries
                .remove(&name)
                .unwrap_or_else(|| CampaignEntry::running(&name)),
            accepted,
            queued_messages: queued,
            dlq_messages: dlq,
            last_accepted_ms: last,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesload_core::CampaignState;

    fn rec(queued: i64, sent_recently: i64, first_sent_s_ago: i64) -> CampaignReconciliation {
        CampaignReconciliation {
            campaign: "run-1".into(),
            accepted: 2_000,
            sent: 2_000 - queued,
            queued,
            as_of_ms: 1_000_000,
            sent_recently,
            first_sent_ms: Some(1_000_000 - first_sent_s_ago * 1000),
            ..Default::default()
        }
    }

    fn quota(max_rate: f64, day: Option<f64>, sent_day: f64) -> SendQuota {
        SendQuota {
            max_send_rate: max_rate,
            max_24_hour_send: day,
            sent_last_24_hours: sent_day,
            sending_enabled: true,
        }
    }

    #[test]
    fn the_status_measures_the_rate_its_share_and_the_eta() {
        // 500 sent in the 25 s since the first send, 1,500 to go, quota 40/s.
        let s = compose(
            CampaignEntry::running("run-1"),
            rec(1_500, 500, 25),
            EventCounts::default(),
            Some(20.0),
            Some(quota(40.0, None, 0.0)),
        );
        assert_eq!(s.rate, Some(20.0));
        assert_eq!(s.quota_share, Some(0.5));
        assert_eq!(s.eta, Eta::Drains { seconds: 75.0 });
        assert_eq!(s.eta_text, "1 min 15 s at the current rate");
    }

    #[test]
    fn a_paused_campaign_or_a_short_daily_quota_is_said() {
        let paused = CampaignEntry {
            state: CampaignState::Paused {
                reason: "r".into(),
                since_ms: 1,
            },
            version: 1,
            ..CampaignEntry::running("run-1")
        };
        let s = compose(
            paused,
            rec(1_500, 0, 60),
            EventCounts::default(),
            None,
            None,
        );
        assert_eq!((s.rate, s.eta), (Some(0.0), Eta::NotRunning));
        let s = compose(
            CampaignEntry::running("run-1"),
            rec(1_500, 600, 120),
            EventCounts::default(),
            Some(20.0),
            Some(quota(40.0, Some(1_000.0), 800.0)),
        );
        assert_eq!(
            s.eta,
            Eta::DailyQuotaFirst {
                seconds: 10.0,
                sendable: 200,
                left: 1_300
            }
        );
    }
}
