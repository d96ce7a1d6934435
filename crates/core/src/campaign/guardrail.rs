//! Guardrails: a campaign whose bounce or complaint rate crosses its threshold is paused
//! automatically ([`CampaignCommand::AutoPause`], state `auto_paused`) before it puts the
//! account's reputation at risk. SES warns an account at a 5 % bounce rate and 0.1 % complaint
//! rate (and reviews it at 10 % and 0.5 %); those are the default thresholds.
//!
//! **What is measured.** Per campaign, the messages sent in a sliding window of
//! [`GuardrailSettings::window`] (by their send time, in one-minute buckets) and, of those, the
//! ones that hard-bounced or drew a complaint ([`events`]). The rate is events ÷ sends. Counting
//! a bounce in its message's send minute keeps both sides of the division about the same
//! messages; the most recent sends whose outcome has not arrived yet lower the rate a little,
//! so a trip is never early.
//!
//! **When it is judged.** Only once the window holds [`GuardrailSettings::min_sends`] sends
//! (default 100: with 20 % of recipients bouncing, ~20 bounces by then — far over 5 % — while a
//! campaign of a few thousand has sent well under 10 % of itself), and for each rate only once
//! one event is no more than its threshold (1 ÷ threshold sends: 20 for bounces at 5 %, 1,000
//! for complaints at 0.1 %), so a single complaint among a hundred sends pauses nothing.
//!
//! **After a resume.** The window never reaches back before the campaign's last change to
//! `running` ([`window_for`]): an operator who resumes an auto-paused campaign starts it with a
//! clean slate, and it is paused again only if it bounces again.
//!
//! Where the counts come from is the [`GuardCounters`] port: the event lake locally, per-minute
//! counters in the control table on AWS (written by the guard Lambda from SES's events on
//! EventBridge). [`check`] is what both run.

pub mod events;

pub use events::{EventError, Observation, SesEventRecord, parse_timestamp_ms};

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CampaignCommand, CampaignControl, CampaignEntry, SteerError, Steered, steer};
use crate::config::settings::Function;
use crate::config::{ConfigError, Vars};
use crate::ports::PortError;

/// Width of a counting bucket: one minute.
pub const BUCKET_MS: u64 = 60_000;

/// The thresholds and the window (`guardrail_*` settings; environment `GUARDRAIL_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardrailSettings {
    /// Hard bounces ÷ sends above which a campaign is paused (0.05).
    pub bounce_rate: f64,
    /// Complaints ÷ sends above which a campaign is paused (0.001).
    pub complaint_rate: f64,
    /// Sends in the window before the rates are judged (100).
    pub min_sends: u64,
    /// The sliding window, whole minutes (60 min).
    pub window: Duration,
}

impl GuardrailSettings {
    /// From a variable lookup (`GUARDRAIL_BOUNCE_RATE`, `GUARDRAIL_COMPLAINT_RATE`,
    /// `GUARDRAIL_MIN_SENDS`, `GUARDRAIL_WINDOW_MINUTES`) with the settings table's defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars { lookup };
        Ok(Self {
            bounce_rate: vars.fraction("GUARDRAIL_BOUNCE_RATE")?,
            complaint_rate: vars.fraction("GUARDRAIL_COMPLAINT_RATE")?,
            min_sends: vars.int("GUARDRAIL_MIN_SENDS")?,
            window: Duration::from_secs(vars.int("GUARDRAIL_WINDOW_MINUTES")? * 60),
        })
    }

    /// The window in whole minutes (at least 1).
    pub fn window_minutes(&self) -> u64 {
        (self.window.as_secs() / 60).max(1)
    }
}

impl Default for GuardrailSettings {
    /// The settings table's defaults.
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("the settings table's guardrail defaults are valid")
    }
}

/// The guard Lambda's configuration: the control table and metric namespace it shares with the
/// poller, and the thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardConfig {
    pub control_table: String,
    pub metrics_namespace: String,
    pub guardrails: GuardrailSettings,
}

impl GuardConfig {
    /// From a variable lookup, with the settings table's defaults; every required variable the
    /// guard reads is named when missing.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars { lookup: &lookup };
        match vars.missing(Function::Guard).as_slice() {
            [] => {}
            [name] => return Err(ConfigError::Missing { name }),
            names => {
                return Err(ConfigError::MissingSeveral {
                    names: names.to_vec(),
                });
            }
        }
        Ok(Self {
            control_table: vars.text("CONTROL_TABLE")?,
            metrics_namespace: vars.text("METRICS_NAMESPACE")?,
            guardrails: GuardrailSettings::from_lookup(&lookup)?,
        })
    }
}

/// What a guardrail counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    Send,
    Bounce,
    Complaint,
}

/// Sends, hard bounces and complaints of one campaign (in one bucket, or summed over a window).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub sends: u64,
    pub bounces: u64,
    pub complaints: u64,
}

impl Tally {
    /// Count one event.
    pub fn count(&mut self, what: Counted) {
        match what {
            Counted::Send => self.sends += 1,
            Counted::Bounce => self.bounces += 1,
            Counted::Complaint => self.complaints += 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.sends += o.sends;
        self.bounces += o.bounces;
        self.complaints += o.complaints;
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Tally>>(iter: I) -> Self {
        iter.fold(Tally::default(), |mut a, t| {
            a += t;
            a
        })
    }
}

/// The buckets (epoch minutes, both ends included) a window covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub first_minute: u64,
    pub last_minute: u64,
}

impl Window {
    /// Its minutes, oldest first.
    pub fn minutes(&self) -> std::ops::RangeInclusive<u64> {
        self.first_minute..=self.last_minute
    }

    pub fn contains(&self, minute: u64) -> bool {
        self.minutes().contains(&minute)
    }
}

/// When the campaign was last resumed (changed to running), if ever.
pub fn resumed_ms(entry: &CampaignEntry) -> Option<u64> {
    (entry.state.sends() && entry.version > 0)
        .then_some(entry.changed_ms)
        .flatten()
}

/// The window of a campaign at `now_ms`: the last `window` minutes, this one included, but not
/// from before the minute of its last resume.
pub fn window_for(entry: &CampaignEntry, settings: &GuardrailSettings, now_ms: u64) -> Window {
    let last = now_ms / BUCKET_MS;
    let mut first = (last + 1).saturating_sub(settings.window_minutes());
    if let Some(resumed) = resumed_ms(entry) {
        first = first.max(resumed / BUCKET_MS);
    }
    Window {
        first_minute: first.min(last),
        last_minute: last,
    }
}

/// Which guardrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guardrail {
    Bounce,
    Complaint,
}

impl Guardrail {
    /// `bounce`, `complaint`.
    pub fn code(self) -> &'static str {
        match self {
            Guardrail::Bounce => "bounce",
            Guardrail::Complaint => "complaint",
        }
    }

    /// Who made the change, as the campaign entry records it: `guardrail:bounce`.
    pub fn by(self) -> String {
        format!("guardrail:{}", self.code())
    }
}

/// A crossed threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    pub guardrail: Guardrail,
    /// Bounces (or complaints) ÷ sends in the window.
    pub rate: f64,
    pub threshold: f64,
    /// Bounces (or complaints) in the window.
    pub events: u64,
    pub sends: u64,
    pub window_minutes: u64,
}

/// `0.05` → `5`, `0.001` → `0.1`, `0.17391` → `17.39`: a share as a percentage, two decimals
/// at most.
pub fn percent(share: f64) -> String {
    let s = format!("{:.2}", share * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Trip {
    /// The reason the campaign entry records, with the rate and the threshold:
    /// `bounce rate 17.39 % (40 of 230 sends in the last 60 min) is over the 5 % threshold`.
    pub fn reason(&self) -> String {
        format!(
            "{} rate {} % ({} of {} sends in the last {} min) is over the {} % threshold",
            self.guardrail.code(),
            percent(self.rate),
            self.events,
            self.sends,
            self.window_minutes,
            percent(self.threshold)
        )
    }
}

/// The first threshold the window's tally crosses (bounces before complaints), if any.
pub fn evaluate(tally: &Tally, settings: &GuardrailSettings) -> Option<Trip> {
    if tally.sends == 0 || tally.sends < settings.min_sends {
        return None;
    }
    let sends = tally.sends as f64;
    [
        (Guardrail::Bounce, tally.bounces, settings.bounce_rate),
        (
            Guardrail::Complaint,
            tally.complaints,
            settings.complaint_rate,
        ),
    ]
    .into_iter()
    // One event must not be over the threshold on its own: judged from 1 / threshold sends.
    .filter(|(_, _, threshold)| sends * threshold >= 1.0 - 1e-9)
    .map(|(guardrail, events, threshold)| Trip {
        guardrail,
        rate: events as f64 / sends,
        threshold,
        events,
        sends: tally.sends,
        window_minutes: settings.window_minutes(),
    })
    .find(|t| t.rate > t.threshold)
}

/// Where a campaign's counts per minute are kept: the event lake locally, the control table on
/// AWS. Adapters: `sesload_local::campaigns::lake::LakeTally`, `sesload_aws::DynamoGuardCounters`,
/// [`crate::memory::MemoryGuardCounters`].
pub trait GuardCounters: Send + Sync {
    /// The sum of `campaign`'s buckets over `window`.
    fn window_tally(
        &self,
        campaign: &str,
        window: Window,
    ) -> impl Future<Output = Result<Tally, PortError>> + Send;
}

/// Where the guard Lambda adds what it counted: one atomic increment of a campaign's minute
/// bucket (concurrent adds are all counted). Adapters: `sesload_aws::DynamoGuardCounters`,
/// [`crate::memory::MemoryGuardCounters`]. Locally the lake is counted instead.
pub trait GuardCountsWriter: Send + Sync {
    /// Add `tally` to `campaign`'s bucket of `minute` (epoch minutes).
    fn add_counts(
        &self,
        campaign: &str,
        minute: u64,
        tally: Tally,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Observations summed per campaign and minute: what one batch of events adds, one increment
/// per bucket rather than one per event.
pub fn aggregate(
    observations: impl IntoIterator<Item = Observation>,
) -> std::collections::BTreeMap<(String, u64), Tally> {
    let mut buckets = std::collections::BTreeMap::<(String, u64), Tally>::new();
    for o in observations {
        buckets
            .entry((o.campaign, o.minute))
            .or_default()
            .count(o.counted);
    }
    buckets
}

/// What [`check`] found for one campaign.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckOutcome {
    /// Under every threshold (or too few sends to judge).
    Clear,
    /// A threshold was crossed and the campaign is now auto-paused (the entry as written).
    Paused { trip: Trip, entry: CampaignEntry },
    /// Not running (paused, auto-paused, cancelled): not judged.
    NotRunning,
    /// A threshold was crossed but the campaign changed meanwhile (an operator, another
    /// guard): nothing written; the next check judges it again.
    Raced { trip: Trip, current: CampaignEntry },
    /// The counts or the state could not be read or written.
    Failed(String),
}

/// One campaign's check.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignCheck {
    pub campaign: String,
    /// The window's tally (None when not read).
    pub tally: Option<Tally>,
    pub outcome: CheckOutcome,
}

/// Check `campaigns` at `now_ms`: read their states in one round trip, then for each running
/// one its window's tally, and auto-pause (conditionally on the version read) those that cross
/// a threshold. Campaigns are checked concurrently; one failing does not stop the others.
pub async fn check<C: CampaignControl, W: GuardCounters>(
    control: &C,
    counters: &W,
    settings: &GuardrailSettings,
    campaigns: &[String],
    now_ms: u64,
) -> Vec<CampaignCheck> {
    let entries = match control.get(campaigns).await {
        Ok(e) => e,
        Err(e) => {
            return campaigns
                .iter()
                .map(|c| CampaignCheck {
                    campaign: c.clone(),
                    tally: None,
                    outcome: CheckOutcome::Failed(e.to_string()),
                })
                .collect();
        }
    };
    futures::future::join_all(campaigns.iter().map(|campaign| {
        let entry = entries
            .get(campaign)
            .cloned()
            .unwrap_or_else(|| CampaignEntry::running(campaign));
        check_one(control, counters, settings, campaign, entry, now_ms)
    }))
    .await
}

async fn check_one<C: CampaignControl, W: GuardCounters>(
    control: &C,
    counters: &W,
    settings: &GuardrailSettings,
    campaign: &str,
    entry: CampaignEntry,
    now_ms: u64,
) -> CampaignCheck {
    let done = |tally, outcome| CampaignCheck {
        campaign: campaign.to_string(),
        tally,
        outcome,
    };
    if !entry.state.sends() {
        return done(None, CheckOutcome::NotRunning);
    }
    let window = window_for(&entry, settings, now_ms);
    let tally = match counters.window_tally(campaign, window).await {
        Ok(t) => t,
        Err(e) => return done(None, CheckOutcome::Failed(e.to_string())),
    };
    let Some(trip) = evaluate(&tally, settings) else {
        return done(Some(tally), CheckOutcome::Clear);
    };
    let command = CampaignCommand::AutoPause {
        reason: trip.reason(),
    };
    let by = trip.guardrail.by();
    let outcome = match steer(
        control,
        campaign,
        &command,
        &by,
        now_ms,
        Some(entry.version),
    )
    .await
    {
        Ok(Steered::Changed(entry)) => {
            tracing::warn!(
                campaign,
                guardrail = trip.guardrail.code(),
                rate = trip.rate,
                threshold = trip.threshold,
                sends = trip.sends,
                events = trip.events,
                "campaign auto-paused by a guardrail"
            );
            CheckOutcome::Paused { trip, entry }
        }
        Ok(Steered::Unchanged(_)) => CheckOutcome::NotRunning,
        Err(SteerError::Conflict { current }) => CheckOutcome::Raced {
            trip,
            current: *current,
        },
        Err(e) => CheckOutcome::Failed(e.to_string()),
    };
    done(Some(tally), outcome)
}

#[cfg(test)]
mod tests;
