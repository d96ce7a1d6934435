//! A campaign's progress arithmetic, pure: its send rate over a sliding window, the share of
//! the account's send rate it gets, and when it will be done — or that the daily quota will run
//! out first. The reads (ledger, queue, `GetAccount`) are the adapters'.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ports::SendQuota;

/// The sliding window a campaign's current send rate is measured over.
pub const RATE_WINDOW: Duration = Duration::from_secs(30);

/// A rate measured over less than this is not reported (a handful of sends a few milliseconds
/// apart says nothing about the rate).
pub const MIN_RATE_SPAN: Duration = Duration::from_secs(1);

/// The send rate over the last `window`: the `sent_in_window` sends divided by the part of the
/// window the campaign has been sending, i.e. from its first send (`sending_for` ago) when that
/// is later than the window's start. None when it has never sent or has sent for less than
/// [`MIN_RATE_SPAN`]; `Some(0.0)` when it sent before but not within the window.
pub fn window_rate(
    sent_in_window: u64,
    window: Duration,
    sending_for: Option<Duration>,
) -> Option<f64> {
    let span = window.min(sending_for?);
    (span >= MIN_RATE_SPAN).then(|| sent_in_window as f64 / span.as_secs_f64())
}

/// The share of the account's maximum send rate that `rate` is (0.5 = half); None when the
/// account's rate is unlimited (0 or less, as the simulator reports it) or `rate` unknown.
pub fn quota_share(rate: Option<f64>, max_send_rate: f64) -> Option<f64> {
    let rate = rate?;
    (max_send_rate > 0.0).then(|| rate / max_send_rate)
}

/// What is left of the rolling 24-hour quota (`Max24HourSend − SentLast24Hours`, never below
/// 0); None when it is unlimited.
pub fn daily_remaining(quota: &SendQuota) -> Option<f64> {
    quota
        .max_24_hour_send
        .filter(|m| *m >= 0.0)
        .map(|m| (m - quota.sent_last_24_hours).max(0.0))
}

/// The account's quota as `GetAccount` answered, and what is left of the day's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuotaView {
    /// Emails/s; 0 = unlimited.
    pub max_send_rate: f64,
    /// None = unlimited.
    pub max_24_hour_send: Option<f64>,
    pub sent_last_24_hours: f64,
    /// `Max24HourSend − SentLast24Hours` (None = unlimited).
    pub daily_remaining: Option<f64>,
    pub sending_enabled: bool,
}

impl From<SendQuota> for QuotaView {
    fn from(q: SendQuota) -> Self {
        Self {
            max_send_rate: q.max_send_rate,
            max_24_hour_send: q.max_24_hour_send,
            sent_last_24_hours: q.sent_last_24_hours,
            daily_remaining: daily_remaining(&q),
            sending_enabled: q.sending_enabled,
        }
    }
}

/// The rate a backlog shrinks at, from samples `(epoch ms, backlog)` oldest first: the drop
/// from the oldest sample within `window` of the newest to the newest, over the time between
/// them. Net of arrivals (a backlog that grows answers a negative rate). None with less than
/// [`MIN_RATE_SPAN`] between them.
pub fn drain_rate(samples: &[(u64, u64)], window: Duration) -> Option<f64> {
    let &(last_t, last_n) = samples.last()?;
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    let &(first_t, first_n) = samples
        .iter()
        .find(|(t, _)| last_t.saturating_sub(*t) <= window_ms)?;
    let span = Duration::from_millis(last_t.saturating_sub(first_t));
    (span >= MIN_RATE_SPAN).then(|| (first_n as f64 - last_n as f64) / span.as_secs_f64())
}

/// What the ETA is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EtaInput {
    /// The campaign's records still to send (queued, parked).
    pub backlog: u64,
    /// Whether the campaign is running (a paused or cancelled one has no ETA).
    pub running: bool,
    /// The campaign's measured send rate, emails/s ([`window_rate`]).
    pub rate: Option<f64>,
    /// The account's measured send rate, every campaign together: what uses up the daily
    /// quota. None: taken to be the campaign's.
    pub account_rate: Option<f64>,
    /// What is left of the daily quota ([`daily_remaining`]); None: unlimited or unknown.
    pub daily_remaining: Option<f64>,
}

/// When a campaign will be done.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Eta {
    /// Nothing of it is left to send.
    Drained,
    /// Paused or cancelled: it will not finish until resumed.
    NotRunning,
    /// No send in the rate window yet: no rate to extrapolate from.
    Unknown,
    /// At the measured rate the backlog is sent in `seconds`.
    Drains { seconds: f64 },
    /// The daily quota runs out first, in `seconds`, after `sendable` more of the campaign's
    /// records; `left` of them then wait until the rolling 24-hour window frees quota.
    DailyQuotaFirst {
        seconds: f64,
        sendable: u64,
        left: u64,
    },
}

/// The ETA of a campaign: its backlog over its measured rate, unless the daily quota (used up
/// at the account's rate) runs out before that.
pub fn eta(input: &EtaInput) -> Eta {
    if input.backlog == 0 {
        return Eta::Drained;
    }
    if !input.running {
        return Eta::NotRunning;
    }
    let Some(rate) = input.rate.filter(|r| *r > 0.0) else {
        return Eta::Unknown;
    };
    let backlog = input.backlog as f64;
    let drains_in = backlog / rate;
    if let Some(remaining) = input.daily_remaining {
        let consumption = input.account_rate.unwrap_or(rate).max(rate);
        let runs_out_in = remaining / consumption;
        if runs_out_in < drains_in {
            let sendable = ((rate * runs_out_in).floor() as u64).min(input.backlog);
            return Eta::DailyQuotaFirst {
                seconds: runs_out_in,
                sendable,
                left: input.backlog - sendable,
            };
        }
    }
    Eta::Drains { seconds: drains_in }
}

impl Eta {
    /// Seconds until the campaign is done, when the measured rate says so.
    pub fn seconds(&self) -> Option<f64> {
        match self {
            Eta::Drained => Some(0.0),
            Eta::Drains { seconds } => Some(*seconds),
            Eta::NotRunning | Eta::Unknown | Eta::DailyQuotaFirst { .. } => None,
        }
    }
}

impl fmt::Display for Eta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Eta::Drained => f.write_str("done"),
            Eta::NotRunning => f.write_str("none while it is not running"),
            Eta::Unknown => write!(
                f,
                "unknown (no send in the last {} s)",
                RATE_WINDOW.as_secs()
            ),
            Eta::Drains { seconds } => {
                write!(f, "{} at the current rate", human_duration(*seconds))
            }
            Eta::DailyQuotaFirst {
                seconds,
                sendable,
                left,
            } => write!(
                f,
                "the daily quota runs out first, in {}: {sendable} more sent, then {left} wait for the 24-hour window",
                human_duration(*seconds)
            ),
        }
    }
}

/// `1 h 02 min`, `3 min 05 s`, `42 s`.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "never".into();
    }
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(backlog: u64, rate: Option<f64>) -> EtaInput {
        EtaInput {
            backlog,
            running: true,
            rate,
            account_rate: None,
            daily_remaining: None,
        }
    }

    #[test]
    fn the_rate_counts_only_the_time_the_campaign_has_been_sending() {
        let w = Duration::from_secs(30);
        // 500 sends since the first one 25 s ago: 20/s, not 500/30.
        assert_eq!(
            window_rate(500, w, Some(Duration::from_secs(25))),
            Some(20.0)
        );
        // Sending for an hour: the window is the last 30 s.
        assert_eq!(
            window_rate(600, w, Some(Duration::from_secs(3600))),
            Some(20.0)
        );
        assert_eq!(
            window_rate(0, w, Some(Duration::from_secs(90))),
            Some(0.0),
            "sent before, not lately"
        );
        assert_eq!(window_rate(0, w, None), None, "never sent");
        assert_eq!(
            window_rate(3, w, Some(Duration::from_millis(5))),
            None,
            "too short to tell"
        );
    }

    #[test]
    fn the_quota_share_and_the_daily_remainder_follow_get_account() {
        assert_eq!(quota_share(Some(7.0), 14.0), Some(0.5));
        assert_eq!(quota_share(Some(7.0), 0.0), None, "unlimited");
        assert_eq!(quota_share(None, 14.0), None);
        let q = SendQuota {
            max_send_rate: 14.0,
            max_24_hour_send: Some(50_000.0),
            sent_last_24_hours: 49_000.0,
            sending_enabled: true,
        };
        assert_eq!(daily_remaining(&q), Some(1_000.0));
        let over = SendQuota {
            sent_last_24_hours: 50_100.0,
            ..q
        };
        assert_eq!(daily_remaining(&over), Some(0.0));
        let unlimited = SendQuota {
            max_24_hour_send: None,
            ..q
        };
        assert_eq!(daily_remaining(&unlimited), None);
    }

    #[test]
    fn the_eta_is_the_backlog_over_the_measured_rate() {
        let e = eta(&input(1_500, Some(20.0)));
        assert_eq!(e, Eta::Drains { seconds: 75.0 });
        assert_eq!(e.seconds(), Some(75.0));
        assert_eq!(e.to_string(), "1 min 15 s at the current rate");
        assert_eq!(eta(&input(0, None)), Eta::Drained);
        assert_eq!(eta(&input(10, None)), Eta::Unknown);
        assert_eq!(eta(&input(10, Some(0.0))), Eta::Unknown);
        let paused = EtaInput {
            running: false,
            ..input(10, Some(20.0))
        };
        assert_eq!(eta(&paused), Eta::NotRunning);
    }

    #[test]
    fn the_daily_quota_running_out_first_is_said() {
        // 2,000 to send at 10/s, but only 600 left of the daily quota, used by the whole account
        // at 20/s: it runs out in 30 s, after 300 of this campaign's.
        let e = eta(&EtaInput {
            account_rate: Some(20.0),
            daily_remaining: Some(600.0),
            ..input(2_000, Some(10.0))
        });
        assert_eq!(
            e,
            Eta::DailyQuotaFirst {
                seconds: 30.0,
                sendable: 300,
                left: 1_700
            }
        );
        assert!(
            e.to_string()
                .contains("daily quota runs out first, in 30 s")
        );
        assert_eq!(e.seconds(), None);
        // Enough quota left: the backlog drains first.
        let e = eta(&EtaInput {
            daily_remaining: Some(5_000.0),
            ..input(2_000, Some(10.0))
        });
        assert_eq!(e, Eta::Drains { seconds: 200.0 });
        // An account rate below the campaign's is a stale measurement: the campaign's counts.
        let e = eta(&EtaInput {
            account_rate: Some(1.0),
            daily_remaining: Some(100.0),
            ..input(2_000, Some(10.0))
        });
        assert_eq!(
            e,
            Eta::DailyQuotaFirst {
                seconds: 10.0,
                sendable: 100,
                left: 1_900
            }
        );
        // Quota already used up.
        let e = eta(&EtaInput {
            daily_remaining: Some(0.0),
            ..input(5, Some(10.0))
        });
        assert_eq!(
            e,
            Eta::DailyQuotaFirst {
                seconds: 0.0,
                sendable: 0,
                left: 5
            }
        );
    }

    #[test]
    fn a_backlog_drains_at_the_rate_its_samples_fall() {
        let w = Duration::from_secs(30);
        // 100 s of samples: only the last 30 s count (300 gone in 30 s).
        let samples: Vec<(u64, u64)> = (0..=100).map(|s| (s * 1000, 2_000 - s * 10)).collect();
        assert_eq!(drain_rate(&samples, w), Some(10.0));
        assert_eq!(drain_rate(&samples[..1], w), None, "one sample");
        assert_eq!(drain_rate(&[(0, 5), (500, 4)], w), None, "under a second");
        assert_eq!(drain_rate(&[(0, 5), (2_000, 9)], w), Some(-2.0), "growing");
        assert_eq!(drain_rate(&[], w), None);
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(42.4), "42 s");
        assert_eq!(human_duration(185.0), "3 min 05 s");
        assert_eq!(human_duration(3_720.0), "1 h 02 min");
        assert_eq!(human_duration(f64::INFINITY), "never");
    }
}
