//! SES events per campaign, counted from the local event lake
//! (`<lake>/ses_events/dt=…/hour=…/*.json`, one SES event record a line, as Firehose writes them
//! on AWS and the simulator here).
//!
//! A lake file is final once it has its `*.json` name (the simulator writes under a hidden
//! temporary name and renames), so [`LakeTally`] reads each file once and keeps counts: a
//! status refresh reads only the files that appeared since the last one. Counts lag the sends
//! by the simulator's delivery delay plus its file roll time (about a second each by default).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

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

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventType")]
    event_type: String,
    mail: Mail,
}

#[derive(Deserialize)]
struct Mail {
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Default)]
struct Tally {
    read: HashSet<PathBuf>,
    counts: HashMap<String, EventCounts>,
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

    /// Read the files that appeared since the last refresh (blocking file I/O), then answer the
    /// counts of `campaign` (the value of its `campaign` tag).
    pub fn refresh_and_count(&self, campaign: &str) -> EventCounts {
        let mut t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
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
        t.counts.get(campaign).copied().unwrap_or_default()
    }

    /// Lines read that were not SES event records.
    pub fn unreadable_lines(&self) -> u64 {
        self.tally.lock().map(|t| t.unreadable).unwrap_or_default()
    }
}

fn read_file(path: &Path, t: &mut Tally) -> std::io::Result<()> {
    let mut counts: HashMap<String, EventCounts> = HashMap::new();
    let mut unreadable = 0;
    for line in BufReader::new(fs::File::open(path)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(r) => {
                let campaign = r
                    .mail
                    .tags
                    .get(sesload_core::campaign::CAMPAIGN_TAG)
                    .and_then(|v| v.first())
                    .cloned()
                    .unwrap_or_default();
                counts.entry(campaign).or_default().add(&r.event_type);
            }
            Err(_) => unreadable += 1,
        }
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
}
