//! How `sesload campaign` prints: states, statuses and the live progress bar.

use std::fmt::Write as _;

use sesload_analytics::report::dlq_by_reason_line;
use sesload_aws::campaigns::status::{AwsCampaignStatus, QueueDepth};
use sesload_core::campaign::progress::{Eta, QuotaView, human_duration};
use sesload_core::{CampaignEntry, CampaignState};
use sesload_local::campaigns::CampaignStatus;

/// Epoch milliseconds now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `12,345`.
pub fn count(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn ago(since_ms: u64, now: u64) -> String {
    format!(
        "{} ago",
        human_duration(now.saturating_sub(since_ms) as f64 / 1000.0)
    )
}

/// `paused 2 min 05 s ago by cli:alice: wrong list`.
pub fn state(e: &CampaignEntry, now: u64) -> String {
    let by = if e.updated_by.is_empty() {
        String::new()
    } else {
        format!(" by {}", e.updated_by)
    };
    let why = |r: &str| {
        if r.is_empty() {
            String::new()
        } else {
            format!(": {r}")
        }
    };
    match &e.state {
        CampaignState::Running if e.version == 0 => "running".into(),
        CampaignState::Running => format!(
            "running (resumed {}{by})",
            e.changed_ms.map_or("-".into(), |t| ago(t, now))
        ),
        CampaignState::Paused { reason, since_ms } => {
            format!("PAUSED {}{by}{}", ago(*since_ms, now), why(reason))
        }
        CampaignState::AutoPaused { reason, since_ms } => {
            format!("AUTO-PAUSED {}{by}{}", ago(*since_ms, now), why(reason))
        }
        CampaignState::Cancelled { since_ms } => {
            format!("CANCELLED {}{by}", ago(*since_ms, now))
        }
    }
}

fn percent(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

fn quota_lines(s: &mut String, q: &QuotaView) {
    let rate = if q.max_send_rate > 0.0 {
        format!("{}/s", q.max_send_rate)
    } else {
        "unlimited".into()
    };
    let day = match (q.max_24_hour_send, q.daily_remaining) {
        (Some(max), Some(left)) => format!(
            "{} of {} used in the last 24 h, {} left",
            count(q.sent_last_24_hours as i64),
            count(max as i64),
            count(left as i64)
        ),
        _ => "unlimited per 24 h".into(),
    };
    let enabled = if q.sending_enabled {
        ""
    } else {
        "  SENDING PAUSED FOR THE ACCOUNT"
    };
    let _ = writeln!(s, "  account quota {rate}; {day}{enabled}");
}

/// The local status, as text.
pub fn local_status(st: &CampaignStatus, now: u64) -> String {
    let r = &st.reconciliation;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "campaign {}: {}",
        st.control.campaign,
        state(&st.control, now)
    );
    let parked = if r.parked > 0 {
        format!(" (parked {})", count(r.parked))
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "  accepted {} = sent {} + dlq {} + cancelled {} + queued {}{parked} + duplicates {}   lost {}",
        count(r.accepted),
        count(r.sent),
        count(r.dlq),
        count(r.cancelled),
        count(r.queued),
        count(r.duplicate_codes),
        count(r.unaccounted),
    );
    s.push_str(&dlq_by_reason_line(&r.dlq_by_reason));
    let o = &st.outcomes;
    let _ = writeln!(
        s,
        "  SES events: delivered {}, bounced {}, complained {}, rendering failures {}, rejected {}",
        count(o.delivered as i64),
        count(o.bounced as i64),
        count(o.complained as i64),
        count(o.rendering_failures as i64),
        count(o.rejected as i64),
    );
    let rate = st.rate.map_or("n/a".into(), |r| format!("{r:.1}/s"));
    let account = st
        .account_rate
        .map_or(String::new(), |a| format!(" (all campaigns {a:.1}/s)"));
    let share = st.quota_share.map_or(String::new(), |q| {
        format!(", {} of the account's max send rate", percent(q))
    });
    let _ = writeln!(
        s,
        "  send rate {rate} over the last {} s{account}{share}",
        st.rate_window_seconds
    );
    if let Some(q) = &st.quota {
        quota_lines(&mut s, q);
    }
    let _ = writeln!(s, "  ETA: {}", st.eta_text);
    for p in r.problems() {
        let _ = writeln!(s, "  PROBLEM: {p}");
    }
    s
}

fn depth(d: &QueueDepth) -> String {
    format!(
        "{} (visible {}, in flight {}, delayed {})",
        count(d.total() as i64),
        count(d.visible as i64),
        count(d.in_flight as i64),
        count(d.delayed as i64)
    )
}

/// The AWS status, as text. `drain` is the queue's measured drain rate and `eta` what it gives.
pub fn aws_status(st: &AwsCampaignStatus, drain: Option<(f64, Eta)>, now: u64) -> String {
    let mut s = String::new();
    let c = &st.control;
    let _ = writeln!(s, "campaign {}: {}", c.campaign, state(c, now));
    if c.cancelled > 0 {
        let _ = writeln!(
            s,
            "  records cancelled (acknowledged without sending): {}",
            count(c.cancelled as i64)
        );
    }
    let _ = writeln!(s, "  queue (every campaign): {}", depth(&st.queue));
    let _ = writeln!(s, "  DLQ (every campaign):   {}", depth(&st.dlq));
    if let Some(q) = &st.quota {
        quota_lines(&mut s, q);
    }
    match drain {
        Some((rate, eta)) => {
            let _ = writeln!(
                s,
                "  queue drains at {rate:.1}/s (net of arrivals); ETA of the whole queue: {eta}"
            );
        }
        None => {
            let _ = writeln!(s, "  drain rate: needs two readings (--watch measures it)");
        }
    }
    let _ = writeln!(
        s,
        "  per-campaign sent / delivered / bounced: `sesload report --athena --campaign {}`; its dead letters: `sesload campaign redrive {} --aws --dry-run`",
        c.campaign, c.campaign
    );
    s
}

/// The live bar of `--watch`: position / length and a message.
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    pub fn new(json: bool) -> Self {
        let bar = if json {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(0)
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:40.cyan/blue}] {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Self(bar)
    }

    pub fn update(&self, prefix: String, pos: u64, len: u64, msg: String) {
        self.0.set_prefix(prefix);
        self.0.set_length(len);
        self.0.set_position(pos.min(len));
        self.0.set_message(msg);
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(3_763), "3,763");
        assert_eq!(count(12), "12");
        assert_eq!(count(-1_000_000), "-1,000,000");
    }

    #[test]
    fn states_say_who_why_and_since_when() {
        let e = CampaignEntry {
            state: CampaignState::Paused {
                reason: "wrong list".into(),
                since_ms: 1_000,
            },
            updated_by: "cli:alice".into(),
            version: 1,
            changed_ms: Some(1_000),
            ..CampaignEntry::running("run-1")
        };
        assert_eq!(
            state(&e, 126_000),
            "PAUSED 2 min 05 s ago by cli:alice: wrong list"
        );
        assert_eq!(state(&CampaignEntry::running("x"), 0), "running");
    }
}
