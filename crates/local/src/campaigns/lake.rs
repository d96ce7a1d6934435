//! SES events per campaign, counted from the local event lake
//! (`<lake>/ses_events/dt=…/hour=…/*.json`, one SES event record a line, as Firehose writes them
//! on AWS and the simulator here).
//!
//! A lake file is final once it has its `*.json` name (the simulator writes under a hidden
//! temporary name and renames), so [`LakeTally`] reads each file once and keeps counts: a
//! status refresh reads only the files that appeared since the last one. Counts lag the sends
//! by the simulator's delivery delay plus its file roll time (about a second each by default).
//!
//! The same pass keeps what the guardrails count (`sesload_core::campaign::guardrail`): each
//! campaign's sends, hard bounces and complaints per minute of their send time, so
//! [`LakeTally`] is also the local adapter of the `GuardCounters` port.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sesload_core::PortError;
use sesload_core::campaign::guardrail::{self, GuardCounters, SesEventRecord, Window};

/// Event records of one campaign, by SES event type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCounts {
    pub send: u64,
    pub delivery: u64,
    pub bounce: u64,
    pub complaint: u64,
    pub reject: u64,
    pub rendering_failure: u64,
    pub delivery_delay: u64,
}

impl EventCounts {
    /// Messages whose final status is delivered: every Delivery but those a Complaint followed
    /// (the `email_status` view's definition, and the dashboard's).
    pub fn delivered(&self) -> u64 {
        self.delivery.saturating_sub(self.complaint)
    }

    fn add(&mut self, event_type: &str) {
        let counter = match event_type {
            "Send" => &mut self.send,
            "Delivery" => &mut self.delivery,
            "Bounce" => &mut self.bounce,
            "Complaint" => &mut self.complaint,
            "Reject" => &mut self.reject,
            "Rendering Failure" => &mut self.rendering_failure,
            "DeliveryDelay" => &mut self.delivery_delay,
            _ => return,
        };
        *counter += 1;
    }
}

#[derive(Default)]
struct Tally {
    read: HashSet<PathBuf>,
    counts: HashMap<String, EventCounts>,
    /// What the guardrails count: campaign → minute of the send → sends, bounces, complaints.
    minutes: HashMap<String, BTreeMap<u64, guardrail::Tally>>,
    /// Lines that were not SES event records (counted, never fatal).
    unreadable: u64,
}

/// Event counts per campaign over one lake, kept up to date incrementally.
pub struct LakeTally {
    dir: PathBuf,
    tally: Mutex<Tally>,
}

impl LakeTally {
    /// `lake` is the lake root (`<data-dir>/lake` by default): its `ses_events` is read.
    pub fn new(lake: impl Into<PathBuf>) -> Self {
        Self {
            dir: lake.into().join("ses_events"),
            tally: Mutex::new(Tally::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Read the files that appeared since the last refresh (blocking file I/O), then answer the
    /// counts of `campaign` (the value of its `campaign` tag).
    pub fn refresh_and_count(&self, campaign: &str) -> EventCounts {
        self.refresh();
        self.lock()
            .counts
            .get(campaign)
            .copied()
            .unwrap_or_default()
    }

    /// Read the files that appeared since the last refresh (blocking file I/O).
    pub fn refresh(&self) {
        let mut t = self.lock();
        for file in final_files(&self.dir) {
            if t.read.contains(&file) {
                continue;
            }
            match read_file(&file, &mut t) {
                Ok(()) => {
                    t.read.insert(file);
                }
                // Unreadable now (e.g. removed by a cleanup): try again next time.
                Err(e) => tracing::debug!(file = %file.display(), error = %e, "lake file not read"),
            }
        }
    }

    /// Campaigns with a send counted in a minute from `first_minute` on (epoch minutes), by
    /// name: the ones a guardrail has something to judge in.
    pub fn campaigns_sending_since(&self, first_minute: u64) -> Vec<String> {
        let mut v: Vec<String> = self
            .lock()
            .minutes
            .iter()
            .filter(|(c, m)| !c.is_empty() && m.range(first_minute..).any(|(_, t)| t.sends > 0))
            .map(|(c, _)| c.clone())
            .collect();
        v.sort();
        v
    }

    /// Lines read that were not SES event records.
    pub fn unreadable_lines(&self) -> u64 {
        self.tally.lock().map(|t| t.unreadable).unwrap_or_default()
    }
}

impl GuardCounters for LakeTally {
    /// What the last [`LakeTally::refresh`] read (no file I/O here).
    async fn window_tally(
        &self,
        campaign: &str,
        window: Window,
    ) -> Result<guardrail::Tally, PortError> {
        Ok(self
            .lock()
            .minutes
            .get(campaign)
            .map(|m| m.range(window.minutes()).map(|(_, t)| *t).sum())
            .unwrap_or_default())
    }
}

fn read_file(path: &Path, t: &mut Tally) -> std::io::Result<()> {
    let mut counts: HashMap<String, EventCounts> = HashMap::new();
    let mut minutes: Vec<guardrail::Observation> = Vec::new();
    let mut unreadable = 0;
    for line in BufReader::new(fs::File::open(path)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match SesEventRecord::from_json(&line) {
            Ok(r) => {
                let campaign = r.campaign().unwrap_or_default().to_string();
                counts.entry(campaign).or_default().add(&r.event_type);
                match r.observe() {
                    Ok(Some(o)) => minutes.push(o),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(file = %path.display(), error = %e, "event not counted by the guardrails");
                    }
                }
            }
            Err(_) => unreadable += 1,
        }
    }
    for o in minutes {
        t.minutes
            .entry(o.campaign)
            .or_default()
            .entry(o.minute)
            .or_default()
            .count(o.counted);
    }
    // Merged only once the whole file was read: a failed read counts nothing twice.
    for (campaign, c) in counts {
        let e = t.counts.entry(campaign).or_default();
        e.send += c.send;
        e.delivery += c.delivery;
        e.bounce += c.bounce;
        e.complaint += c.complaint;
        e.reject += c.reject;
        e.rendering_failure += c.rendering_failure;
        e.delivery_delay += c.delivery_delay;
    }
    t.unreadable += unreadable;
    Ok(())
}

/// Every final (`*.json`, not hidden) file under `dir/dt=*/hour=*/`.
fn final_files(dir: &Path) -> Vec<PathBuf> {
    let subdirs = |d: &Path, prefix: &str| -> Vec<PathBuf> {
        fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| e.path())
            .collect()
    };
    let mut out = Vec::new();
    for day in subdirs(dir, "dt=") {
        for hour in subdirs(&day, "hour=") {
            for f in fs::read_dir(&hour).into_iter().flatten().flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if name.ends_with(".json") && !name.starts_with('.') {
                    out.push(f.path());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(event: &str, campaign: Option<&str>) -> String {
        let tags = match campaign {
            Some(c) => serde_json::json!({"campaign": [c], "ses:configuration-set": ["s"]}),
            None => serde_json::json!({}),
        };
        serde_json::json!({"eventType": event, "mail": {"messageId": "m", "tags": tags}})
            .to_string()
    }

    #[test]
    fn counts_follow_new_files_and_ignore_hidden_ones() {
        let root = std::env::temp_dir().join(format!(
            "sesload-lake-tally-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let hour = root.join("ses_events/dt=2026-12-01/hour=03");
        fs::create_dir_all(&hour).unwrap();
        let write = |name: &str, lines: &[String]| {
            fs::write(hour.join(name), lines.join("\n") + "\n").unwrap();
        };
        write(
            "a.json",
            &[
                line("Send", Some("run-1")),
                line("Delivery", Some("run-1")),
                line("Send", Some("run-1")),
                line("Bounce", Some("run-1")),
                line("Send", Some("run-2")),
                "not json".into(),
            ],
        );
        // Being written: not read until it has its final name.
        write(".b.json.tmp", &[line("Send", Some("run-1"))]);
        let tally = LakeTally::new(&root);
        let c = tally.refresh_and_count("run-1");
        assert_eq!((c.send, c.delivery, c.bounce), (2, 1, 1));
        assert_eq!(tally.unreadable_lines(), 1);
        // A file read once is not counted again; a new one is.
        write(
            "b.json",
            &[
                line("Send", Some("run-1")),
                line("Delivery", Some("run-1")),
                line("Complaint", Some("run-1")),
                line("Rendering Failure", Some("run-1")),
                line("Send", None),
            ],
        );
        let c = tally.refresh_and_count("run-1");
        assert_eq!(
            (
                c.send,
                c.delivery,
                c.complaint,
                c.rendering_failure,
                c.delivered()
            ),
            (3, 2, 1, 1, 1)
        );
        assert_eq!(tally.refresh_and_count("run-2").send, 1);
        assert_eq!(tally.refresh_and_count("").send, 1, "untagged messages");
        assert_eq!(tally.refresh_and_count("run-9"), EventCounts::default());
        fs::remove_dir_all(&root).unwrap();
    }

    fn timed(event: &str, campaign: &str, sent: &str, bounce_type: Option<&str>) -> String {
        let mut v = serde_json::json!({"eventType": event,
            "mail": {"messageId": "m", "timestamp": sent, "tags": {"campaign": [campaign]}}});
        if let Some(b) = bounce_type {
            v["bounce"] = serde_json::json!({"bounceType": b});
        }
        v.to_string()
    }

    #[tokio::test]
    async fn the_guardrails_counts_are_per_minute_of_the_send() {
        let root = std::env::temp_dir().join(format!(
            "sesload-lake-guard-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let hour = root.join("ses_events/dt=2026-12-01/hour=03");
        fs::create_dir_all(&hour).unwrap();
        let (m4, m5) = ("2026-12-01T03:04:59.999Z", "2026-12-01T03:05:00.000Z");
        let lines = [
            timed("Send", "run-1", m4, None),
            timed("Send", "run-1", m5, None),
            timed("Send", "run-1", m5, None),
            // A bounce counts in its message's send minute, whenever it arrives.
            timed("Bounce", "run-1", m4, Some("Permanent")),
            timed("Bounce", "run-1", m5, Some("Transient")),
            timed("Complaint", "run-1", m5, None),
            timed("Delivery", "run-1", m5, None),
            timed("Send", "run-2", m4, None),
        ];
        fs::write(hour.join("a.json"), lines.join("\n") + "\n").unwrap();
        let tally = LakeTally::new(&root);
        tally.refresh();
        let minute4 = guardrail::parse_timestamp_ms(m4).unwrap() / guardrail::BUCKET_MS;
        let both = Window {
            first_minute: minute4,
            last_minute: minute4 + 1,
        };
        let t = tally.window_tally("run-1", both).await.unwrap();
        assert_eq!((t.sends, t.bounces, t.complaints), (3, 1, 1));
        let later = Window {
            first_minute: minute4 + 1,
            ..both
        };
        let t = tally.window_tally("run-1", later).await.unwrap();
        assert_eq!((t.sends, t.bounces, t.complaints), (2, 0, 1));
        assert_eq!(tally.campaigns_sending_since(minute4), ["run-1", "run-2"]);
        assert_eq!(tally.campaigns_sending_since(minute4 + 1), ["run-1"]);
        assert_eq!(
            tally.window_tally("run-9", both).await.unwrap(),
            guardrail::Tally::default()
        );
        // Status counts every event of the same file.
        assert_eq!(tally.refresh_and_count("run-1").bounce, 2);
        fs::remove_dir_all(&root).unwrap();
    }
}
