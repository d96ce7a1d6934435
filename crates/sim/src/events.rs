//! SES event records and the lake writer.
//!
//! The request path builds each record (a JSON line) and hands it to a dedicated writer thread
//! over a channel, so no request ever waits on file I/O. The writer keeps records that are due
//! later (Delivery, Bounce, Complaint) in a time-ordered heap, appends due records to one open
//! file per `dt=/hour=` partition under a hidden temporary name, and rolls a file (flush, close,
//! atomic rename to `*.json`) when it reaches `roll_bytes` or is `roll_ms` old. A reader that
//! globs `*.json` therefore never sees a half-written line. Shutdown writes every pending record
//! (with its own future timestamp) and rolls every file.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AO};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::EventConfig;
use crate::util::{file_stamp, iso_ms, now_ms, partition};

/// SES event types the simulator publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Send,
    Delivery,
    Bounce,
    Complaint,
    RenderingFailure,
}

impl EventKind {
    /// `eventType` in the record.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Send => "Send",
            Self::Delivery => "Delivery",
            Self::Bounce => "Bounce",
            Self::Complaint => "Complaint",
            Self::RenderingFailure => "Rendering Failure",
        }
    }
    /// The `MatchingEventTypes` value of an event destination.
    pub fn matching_name(self) -> &'static str {
        match self {
            Self::Send => "SEND",
            Self::Delivery => "DELIVERY",
            Self::Bounce => "BOUNCE",
            Self::Complaint => "COMPLAINT",
            Self::RenderingFailure => "RENDERING_FAILURE",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// Counters shared between the writer and `/_sim/stats`.
#[derive(Debug, Default)]
pub struct EventCounters {
    /// Records published per kind (written to the lake, or counted when no lake is set).
    pub published: [AtomicU64; 5],
    /// Records waiting for their due time or for the writer.
    pub pending: AtomicU64,
    /// Lake files completed (renamed to their final name).
    pub files_rolled: AtomicU64,
    /// I/O errors while writing the lake (each also logged).
    pub write_errors: AtomicU64,
}

impl EventCounters {
    pub fn published(&self, k: EventKind) -> u64 {
        self.published[k.index()].load(AO::Relaxed)
    }
    pub fn reset(&self) {
        for c in &self.published {
            c.store(0, AO::Relaxed);
        }
    }
}

/// What `mail` of every record of one message says.
#[derive(Debug, Clone)]
pub struct MailInfo {
    pub timestamp_ms: i64,
    pub message_id: String,
    pub source: String,
    pub source_arn: String,
    pub sending_account_id: String,
    pub destination: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    /// Other headers of the message (`Reply-To`, custom headers), in order.
    pub extra_headers: Vec<(String, String)>,
    pub tags: BTreeMap<String, Vec<String>>,
}

impl MailInfo {
    fn json(&self, outgoing_ip: Option<&str>) -> Value {
        let mut headers = vec![
            json!({"name": "From", "value": self.source}),
            json!({"name": "To", "value": self.to.join(", ")}),
        ];
        if !self.cc.is_empty() {
            headers.push(json!({"name": "Cc", "value": self.cc.join(", ")}));
        }
        for (name, value) in &self.extra_headers {
            headers.push(json!({"name": name, "value": value}));
        }
        headers.push(json!({"name": "Subject", "value": self.subject}));
        headers.push(json!({"name": "MIME-Version", "value": "1.0"}));
        headers.push(json!({"name": "Content-Type", "value": "multipart/alternative; boundary=\"----=_Part_sesload\""}));
        let mut tags = self.tags.clone();
        if let Some(ip) = outgoing_ip {
            tags.insert("ses:outgoing-ip".into(), vec![ip.to_owned()]);
        }
        let mut common = json!({
            "from": [self.source],
            "to": self.to,
            "messageId": self.message_id,
            "subject": self.subject,
        });
        if !self.cc.is_empty() {
            common["cc"] = json!(self.cc);
        }
        json!({
            "timestamp": iso_ms(self.timestamp_ms),
            "source": self.source,
            "sourceArn": self.source_arn,
            "sendingAccountId": self.sending_account_id,
            "messageId": self.message_id,
            "destination": self.destination,
            "headersTruncated": false,
            "headers": headers,
            "commonHeaders": common,
            "tags": tags,
        })
    }
}

/// One record ready for the lake.
#[derive(Debug)]
pub struct Record {
    pub kind: EventKind,
    /// When it is published (also its partition).
    pub due_ms: i64,
    pub line: String,
}

fn record(
    kind: EventKind,
    due_ms: i64,
    mail: &MailInfo,
    detail_key: &str,
    detail: Value,
    outgoing: Option<&str>,
) -> Record {
    let mut v = json!({ "eventType": kind.event_type(), "mail": mail.json(outgoing) });
    v[detail_key] = detail;
    Record {
        kind,
        due_ms,
        line: v.to_string(),
    }
}

pub fn send_record(mail: &MailInfo) -> Record {
    record(
        EventKind::Send,
        mail.timestamp_ms,
        mail,
        "send",
        json!({}),
        None,
    )
}

pub fn delivery_record(
    mail: &MailInfo,
    recipients: &[String],
    delay_ms: u64,
    mta: &str,
    ip: &str,
) -> Record {
    let at = mail.timestamp_ms + delay_ms as i64;
    record(
        EventKind::Delivery,
        at,
        mail,
        "delivery",
        json!({
            "timestamp": iso_ms(at),
            "processingTimeMillis": delay_ms,
            "recipients": recipients,
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": mta,
        }),
        Some(ip),
    )
}

/// `suppressed` = the suppression-list simulator (`Suppressed` subtype) rather than a plain
/// hard bounce (`General`, 550 5.1.1).
pub fn bounce_record(
    mail: &MailInfo,
    recipients: &[String],
    suppressed: bool,
    delay_ms: u64,
    mta: &str,
) -> Record {
    let at = mail.timestamp_ms + delay_ms as i64;
    let (sub, diag) = if suppressed {
        (
            "Suppressed",
            "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address.",
        )
    } else {
        ("General", "smtp; 550 5.1.1 user unknown")
    };
    let bounced: Vec<Value> = recipients
        .iter()
        .map(|r| json!({"emailAddress": r, "action": "failed", "status": "5.1.1", "diagnosticCode": diag}))
        .collect();
    record(
        EventKind::Bounce,
        at,
        mail,
        "bounce",
        json!({
            "bounceType": "Permanent",
            "bounceSubType": sub,
            "bouncedRecipients": bounced,
            "timestamp": iso_ms(at),
            "feedbackId": feedback_id(at),
            "reportingMTA": format!("dsn; {mta}"),
        }),
        None,
    )
}

pub fn complaint_record(mail: &MailInfo, recipients: &[String], delay_ms: u64) -> Record {
    let at = mail.timestamp_ms + delay_ms as i64;
    let complained: Vec<Value> = recipients
        .iter()
        .map(|r| json!({"emailAddress": r}))
        .collect();
    record(
        EventKind::Complaint,
        at,
        mail,
        "complaint",
        json!({
            "complainedRecipients": complained,
            "timestamp": iso_ms(at),
            "feedbackId": feedback_id(at),
            "complaintSubType": null,
            "complaintFeedbackType": "abuse",
            "userAgent": "Amazon SES Mailbox Simulator",
            "arrivalDate": iso_ms(at),
        }),
        None,
    )
}

pub fn rendering_failure_record(mail: &MailInfo, template: &str, message: &str) -> Record {
    record(
        EventKind::RenderingFailure,
        mail.timestamp_ms,
        mail,
        "failure",
        json!({"errorMessage": message, "templateName": template}),
        None,
    )
}

fn feedback_id(ms: i64) -> String {
    format!("0100{:012x}-{}-000000", ms.max(0), uuid::Uuid::new_v4())
}

/// Messages to the writer thread.
pub enum LakeMsg {
    Record(Record),
    /// Write every record due now (and, with `all`, every future one too), roll every file,
    /// then answer.
    Flush {
        all: bool,
        ack: tokio::sync::oneshot::Sender<()>,
    },
    /// Write everything, roll everything, stop.
    Shutdown,
}

/// Handle on the writer thread.
pub struct Lake {
    pub tx: Sender<LakeMsg>,
    pub counters: Arc<EventCounters>,
}

impl Lake {
    pub fn spawn(cfg: EventConfig) -> std::io::Result<Self> {
        if let Some(dir) = &cfg.lake_dir {
            fs::create_dir_all(dir.join("ses_events"))?;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let counters = Arc::new(EventCounters::default());
        let c2 = counters.clone();
        // Detached: it stops on `Shutdown` (sent by `Drop`) or when every sender is gone.
        std::thread::Builder::new()
            .name("sesload-sim-lake".into())
            .spawn(move || Writer::new(cfg, c2).run(rx))?;
        Ok(Self { tx, counters })
    }

    pub fn send(&self, r: Record) {
        self.counters.pending.fetch_add(1, AO::Relaxed);
        if self.tx.send(LakeMsg::Record(r)).is_err() {
            self.counters.pending.fetch_sub(1, AO::Relaxed);
            self.counters.write_errors.fetch_add(1, AO::Relaxed);
            tracing::error!("event lake writer is gone; an event record was lost");
        }
    }
}

impl Drop for Lake {
    fn drop(&mut self) {
        let _ = self.tx.send(LakeMsg::Shutdown);
    }
}

struct Pending {
    seq: u64,
    rec: Record,
}
impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.seq == o.seq
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    // Min-heap on (due, seq).
    fn cmp(&self, o: &Self) -> Ordering {
        (o.rec.due_ms, o.seq).cmp(&(self.rec.due_ms, self.seq))
    }
}

struct OpenFile {
    tmp: PathBuf,
    fin: PathBuf,
    w: BufWriter<File>,
    bytes: u64,
    opened_ms: i64,
}

struct Writer {
    cfg: EventConfig,
    counters: Arc<EventCounters>,
    heap: BinaryHeap<Pending>,
    files: HashMap<(String, String), OpenFile>,
    seq: u64,
    file_seq: u64,
}

impl Writer {
    fn new(cfg: EventConfig, counters: Arc<EventCounters>) -> Self {
        Self {
            cfg,
            counters,
            heap: BinaryHeap::new(),
            files: HashMap::new(),
            seq: 0,
            file_seq: 0,
        }
    }

    fn run(mut self, rx: Receiver<LakeMsg>) {
        loop {
            let now = now_ms();
            self.write_due(now, false);
            self.roll_old(now);
            let mut wake = now + 1000;
            if let Some(p) = self.heap.peek() {
                wake = wake.min(p.rec.due_ms);
            }
            for f in self.files.values() {
                wake = wake.min(f.opened_ms + self.cfg.roll_ms as i64);
            }
            let wait = Duration::from_millis((wake - now).clamp(0, 1000) as u64);
            match rx.recv_timeout(wait) {
                Ok(LakeMsg::Record(r)) => {
                    self.push(r);
                    // Drain whatever else is queued without sleeping in between.
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            LakeMsg::Record(r) => self.push(r),
                            other => {
                                if self.control(other) {
                                    return;
                                }
                            }
                        }
                    }
                }
                Ok(other) => {
                    if self.control(other) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.finish();
                    return;
                }
            }
        }
    }

    /// Returns true when the writer must stop.
    fn control(&mut self, m: LakeMsg) -> bool {
        match m {
            LakeMsg::Record(r) => {
                self.push(r);
                false
            }
            LakeMsg::Flush { all, ack } => {
                self.write_due(now_ms(), all);
                self.roll_all();
                let _ = ack.send(());
                false
            }
            LakeMsg::Shutdown => {
                self.finish();
                true
            }
        }
    }

    fn finish(&mut self) {
        self.write_due(i64::MAX, true);
        self.roll_all();
    }

    fn push(&mut self, rec: Record) {
        self.seq += 1;
        self.heap.push(Pending { seq: self.seq, rec });
    }

    fn write_due(&mut self, now: i64, all: bool) {
        while let Some(p) = self.heap.peek() {
            if !all && p.rec.due_ms > now {
                break;
            }
            let Some(p) = self.heap.pop() else { break };
            self.write(p.rec);
        }
    }

    fn write(&mut self, rec: Record) {
        self.counters.pending.fetch_sub(1, AO::Relaxed);
        self.counters.published[rec.kind.index()].fetch_add(1, AO::Relaxed);
        let Some(root) = self.cfg.lake_dir.clone() else {
            return;
        };
        let key = partition(rec.due_ms);
        if !self.files.contains_key(&key) {
            match self.open(&root, &key) {
                Ok(f) => {
                    self.files.insert(key.clone(), f);
                }
                Err(e) => {
                    self.counters.write_errors.fetch_add(1, AO::Relaxed);
                    tracing::error!(error = %e, dir = %root.display(), "cannot open an event lake file; record lost");
                    return;
                }
            }
        }
        let roll = {
            let Some(f) = self.files.get_mut(&key) else {
                return;
            };
            let res =
                f.w.write_all(rec.line.as_bytes())
                    .and_then(|_| f.w.write_all(b"\n"));
            if let Err(e) = res {
                self.counters.write_errors.fetch_add(1, AO::Relaxed);
                tracing::error!(error = %e, file = %f.tmp.display(), "event lake write failed");
            }
            f.bytes += rec.line.len() as u64 + 1;
            f.bytes >= self.cfg.roll_bytes
        };
        if roll {
            self.roll(&key);
        }
    }

    fn open(
        &mut self,
        root: &std::path::Path,
        key: &(String, String),
    ) -> std::io::Result<OpenFile> {
        let dir = root
            .join("ses_events")
            .join(format!("dt={}", key.0))
            .join(format!("hour={}", key.1));
        fs::create_dir_all(&dir)?;
        self.file_seq += 1;
        let now = now_ms();
        let name = format!(
            "sesload-sim-{}-{}-{:06}.json",
            file_stamp(now),
            std::process::id(),
            self.file_seq
        );
        let tmp = dir.join(format!(".{name}.tmp"));
        let fin = dir.join(&name);
        let f = File::create(&tmp)?;
        Ok(OpenFile {
            tmp,
            fin,
            w: BufWriter::with_capacity(64 * 1024, f),
            bytes: 0,
            opened_ms: now,
        })
    }

    fn roll(&mut self, key: &(String, String)) {
        if let Some(mut f) = self.files.remove(key) {
            let res = f.w.flush().and_then(|_| fs::rename(&f.tmp, &f.fin));
            match res {
                Ok(()) => {
                    self.counters.files_rolled.fetch_add(1, AO::Relaxed);
                }
                Err(e) => {
                    self.counters.write_errors.fetch_add(1, AO::Relaxed);
                    tracing::error!(error = %e, file = %f.tmp.display(), "cannot roll an event lake file");
                }
            }
        }
    }

    fn roll_old(&mut self, now: i64) {
        let old: Vec<_> = self
            .files
            .iter()
            .filter(|(_, f)| now - f.opened_ms >= self.cfg.roll_ms as i64)
            .map(|(k, _)| k.clone())
            .collect();
        for k in old {
            self.roll(&k);
        }
    }

    fn roll_all(&mut self) {
        let keys: Vec<_> = self.files.keys().cloned().collect();
        for k in keys {
            self.roll(&k);
        }
    }
}
