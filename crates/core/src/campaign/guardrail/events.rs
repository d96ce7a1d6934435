//! What the guardrails count of an SES event record.
//!
//! SES publishes one JSON record per event with the same fields wherever it goes: a line of the
//! event lake (Firehose on AWS, the simulator locally), the `detail` of an EventBridge event
//! (`source` `aws.ses`, `detail-type` `Email Sent`, `Email Bounced`, …), an SNS message. The
//! guardrails count, per campaign (the `campaign` tag in `mail.tags`) and per minute of
//! `mail.timestamp` (when the message was sent):
//!
//! - `Send` records;
//! - `Bounce` records but transient (soft) ones — SES's own bounce rate counts hard bounces only;
//! - `Complaint` records.
//!
//! A bounce or complaint is counted in the minute its message was sent, not when it arrived, so
//! a window's rate is the share of the messages sent in it that bounced or drew a complaint.

use std::collections::HashMap;

use serde::Deserialize;

use super::{BUCKET_MS, Counted};
use crate::campaign::CAMPAIGN_TAG;

/// An SES event record: the fields campaign status and the guardrails read.
#[derive(Debug, Clone, Deserialize)]
pub struct SesEventRecord {
    /// `Send`, `Delivery`, `Bounce`, `Complaint`, `Reject`, `Rendering Failure`, …
    #[serde(rename = "eventType")]
    pub event_type: String,
    pub mail: SesMail,
    #[serde(default)]
    pub bounce: Option<SesBounce>,
}

/// The record's `mail` object.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SesMail {
    /// When the message was sent (ISO 8601, `2026-12-01T03:04:05.123Z`).
    #[serde(default)]
    pub timestamp: String,
    /// The message's tags (and SES's own, `ses:configuration-set`, …), each a list of values.
    #[serde(default)]
    pub tags: HashMap<String, Vec<String>>,
}

/// The record's `bounce` object.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SesBounce {
    /// `Permanent`, `Transient` or `Undetermined`.
    #[serde(rename = "bounceType", default)]
    pub bounce_type: String,
}

/// One counted event: of `campaign`, sent in minute `minute` (epoch minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub campaign: String,
    pub minute: u64,
    pub counted: Counted,
}

/// A record the guardrails cannot count; names what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not an SES event record: {0}")]
    NotARecord(String),
    #[error(
        "SES {event_type} record of campaign {campaign:?} without a readable mail.timestamp ({timestamp:?})"
    )]
    Timestamp {
        event_type: String,
        campaign: String,
        timestamp: String,
    },
}

impl SesEventRecord {
    /// Read one record (a lake line, an EventBridge `detail`).
    pub fn from_json(text: &str) -> Result<Self, EventError> {
        serde_json::from_str(text).map_err(|e| EventError::NotARecord(e.to_string()))
    }

    /// The value of its `campaign` tag.
    pub fn campaign(&self) -> Option<&str> {
        self.mail
            .tags
            .get(CAMPAIGN_TAG)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// What the guardrails count it as (None: not counted).
    pub fn counted(&self) -> Option<Counted> {
        match self.event_type.as_str() {
            "Send" => Some(Counted::Send),
            "Bounce"
                if !self
                    .bounce
                    .as_ref()
                    .is_some_and(|b| b.bounce_type.eq_ignore_ascii_case("Transient")) =>
            {
                Some(Counted::Bounce)
            }
            "Complaint" => Some(Counted::Complaint),
            _ => None,
        }
    }

    /// What to count, if anything: None for an event type not counted or a message without a
    /// campaign tag; an error for a counted record whose send time cannot be read.
    pub fn observe(&self) -> Result<Option<Observation>, EventError> {
        let (Some(counted), Some(campaign)) = (self.counted(), self.campaign()) else {
            return Ok(None);
        };
        let sent_ms =
            parse_timestamp_ms(&self.mail.timestamp).ok_or_else(|| EventError::Timestamp {
                event_type: self.event_type.clone(),
                campaign: campaign.to_string(),
                timestamp: self.mail.timestamp.clone(),
            })?;
        Ok(Some(Observation {
            campaign: campaign.to_string(),
            minute: sent_ms / BUCKET_MS,
            counted,
        }))
    }
}

fn digits(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 timestamp as SES writes them (`2026-12-01T03:04:05.123Z`; a fraction of any
/// length or none, `Z` or an offset `±HH:MM`) in epoch milliseconds; None if it is not one or is
/// before 1970.
pub fn parse_timestamp_ms(s: &str) -> Option<u64> {
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, mo, da) = (digits(d.next()?)?, digits(d.next()?)?, digits(d.next()?)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return None;
    }
    let (clock, offset_s): (&str, i64) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        let (oh, om) = (digits(oh)?, digits(om)?);
        (c, sign * (oh * 3600 + om * 60) as i64)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let mut t = hms.splitn(3, ':');
    let (h, mi, sec) = (digits(t.next()?)?, digits(t.next()?)?, digits(t.next()?)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) => {
            let first3: String = f.chars().chain("000".chars()).take(3).collect();
            digits(f)?;
            digits(&first3)?
        }
    };
    let days = days_from_civil(y as i64, mo, da);
    let secs = days * 86_400 + (h * 3600 + mi * 60 + sec) as i64 - offset_s;
    u64::try_from(secs).ok().map(|s| s * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(event: &str, extra: serde_json::Value) -> SesEventRecord {
        let mut v = json!({
            "eventType": event,
            "mail": {
                "timestamp": "2026-12-01T03:04:05.678Z",
                "messageId": "m-1",
                "tags": {"campaign": ["run-1"], "ses:configuration-set": ["cfg"]}
            }
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        SesEventRecord::from_json(&v.to_string()).unwrap()
    }

    #[test]
    fn timestamps_read_as_ses_writes_them() {
        // 2026-12-01T03:04:05Z = 1796094245 s (date -u -d 2026-12-01T03:04:05Z +%s).
        assert_eq!(
            parse_timestamp_ms("2026-12-01T03:04:05.678Z"),
            Some(1_796_094_245_678)
        );
        assert_eq!(
            parse_timestamp_ms("2026-12-01T03:04:05Z"),
            Some(1_796_094_245_000)
        );
        assert_eq!(
            parse_timestamp_ms("2026-12-01T04:04:05.6+01:00"),
            Some(1_796_094_245_600)
        );
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_timestamp_ms("2024-02-29T12:00:00Z"),
            Some(1_709_208_000_000),
            "leap day"
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-01T25:00:00Z",
            "2026-12-01T03:04:05",
            "2026-12-01T03:04:05.x1Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sends_hard_bounces_and_complaints_count_in_their_send_minute() {
        let minute = 1_796_094_245_678 / BUCKET_MS;
        let send = record("Send", json!({"send": {}})).observe().unwrap();
        assert_eq!(
            send,
            Some(Observation {
                campaign: "run-1".into(),
                minute,
                counted: Counted::Send
            })
        );
        let hard = record("Bounce", json!({"bounce": {"bounceType": "Permanent"}}));
        assert_eq!(hard.observe().unwrap().unwrap().counted, Counted::Bounce);
        let undetermined = record("Bounce", json!({"bounce": {"bounceType": "Undetermined"}}));
        assert_eq!(undetermined.counted(), Some(Counted::Bounce));
        let soft = record("Bounce", json!({"bounce": {"bounceType": "Transient"}}));
        assert_eq!(
            soft.observe().unwrap(),
            None,
            "soft bounces are not counted"
        );
        let complaint = record("Complaint", json!({"complaint": {}}));
        assert_eq!(
            complaint.observe().unwrap().unwrap().counted,
            Counted::Complaint
        );
        for other in ["Delivery", "Reject", "Rendering Failure", "Open"] {
            assert_eq!(record(other, json!({})).observe().unwrap(), None, "{other}");
        }
    }

    #[test]
    fn untagged_or_unreadable_records_are_told_apart() {
        let untagged = SesEventRecord::from_json(
            r#"{"eventType":"Bounce","mail":{"timestamp":"2026-12-01T03:04:05Z","tags":{}}}"#,
        )
        .unwrap();
        assert_eq!(untagged.observe().unwrap(), None);
        let no_time = SesEventRecord::from_json(
            r#"{"eventType":"Send","mail":{"tags":{"campaign":["run-9"]}}}"#,
        )
        .unwrap();
        let e = no_time.observe().unwrap_err().to_string();
        assert!(
            e.contains("\"run-9\"") && e.contains("mail.timestamp"),
            "{e}"
        );
        let e = SesEventRecord::from_json("{\"detail\": 1}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("not an SES event record"), "{e}");
    }
}
