//! [`MemoryMailer`]: a scriptable mailer that records what it sent, one email at a time or in
//! bulk calls.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::lock;
use crate::model::{MessageId, OutgoingEmail, UniqueCode};
use crate::ports::{BulkEntryResult, Mailer, PortError, SendFailure, SendQuota};

/// How the mailer answers one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Accepted: a fresh message id.
    Accept,
    /// Not accepted, with this failure.
    Fail(SendFailure),
    /// The send panics (an adapter bug): the processor must survive it.
    Panic,
}

impl Answer {
    /// SES answered with error `code` and HTTP `status`: certainly not sent.
    pub fn error(code: &str, status: u16) -> Self {
        Answer::Fail(SendFailure {
            code: code.to_string(),
            message: format!("in-memory mailer answered {code}"),
            status: Some(status),
            maybe_sent: false,
        })
    }

    /// `TooManyRequestsException` (429).
    pub fn throttled() -> Self {
        Self::error("TooManyRequestsException", 429)
    }

    /// No answer after the request was written (`Timeout`, no status): SES may have sent it.
    pub fn timeout() -> Self {
        Answer::Fail(SendFailure {
            code: "Timeout".into(),
            message: "in-memory mailer timed out after writing the request".into(),
            status: None,
            maybe_sent: true,
        })
    }
}

impl Answer {
    /// A `SendBulkEmail` entry refused with `status` (e.g. `ACCOUNT_THROTTLED`): the call was
    /// answered, so the entry was certainly not sent.
    pub fn entry_status(status: &str) -> Self {
        Answer::Fail(SendFailure {
            code: status.to_string(),
            message: format!("in-memory mailer answered entry status {status}"),
            status: None,
            maybe_sent: false,
        })
    }
}

/// How the mailer answers one whole `send_bulk` call (before any entry is looked at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkCall {
    /// The call fails as a whole; no entry is sent (e.g. a 5xx, a 429).
    Fail(SendFailure),
    /// Every entry is answered as usual (accepted ones are sent), then the call fails anyway:
    /// a timeout or a dropped connection after SES accepted the entries (`maybe_sent`).
    AcceptThenFail(SendFailure),
}

impl BulkCall {
    /// The whole call answered with error `code` and HTTP `status`.
    pub fn error(code: &str, status: u16) -> Self {
        BulkCall::Fail(SendFailure {
            code: code.to_string(),
            message: format!("in-memory mailer answered the bulk call with {code}"),
            status: Some(status),
            maybe_sent: false,
        })
    }

    /// The entries were accepted, then no answer came back (`Timeout`, `maybe_sent`).
    pub fn timeout_after_accept() -> Self {
        BulkCall::AcceptThenFail(SendFailure {
            code: "Timeout".into(),
            message: "in-memory mailer timed out after accepting the bulk call".into(),
            status: None,
            maybe_sent: true,
        })
    }
}

/// One accepted email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub email: OutgoingEmail,
    pub message_id: MessageId,
    /// When the send returned (tokio time).
    pub at: Instant,
}

type Rule = dyn Fn(&OutgoingEmail, u32) -> Answer + Send + Sync;

/// [`Mailer`] in memory. Every send waits the fixed latency (tokio time), then answers, in this
/// order of precedence: the answer set by [`answer_all`](Self::answer_all); the next answer of the
/// per-call [`script`](Self::script); `NotFoundException` (404) for a template it does not
/// [have](Self::with_templates); the [`rule`](Self::with_rule) for this email and attempt;
/// otherwise [`Answer::Accept`]. `quota` answers the quota last [set](Self::set_quota).
///
/// A `send_bulk` call waits the latency plus [`bulk_per_entry`](Self::with_bulk_per_entry) per
/// entry, then takes the next [`BulkCall`] of its [script](Self::script_bulk) if there is one;
/// otherwise (and for `AcceptThenFail`) each entry is answered on its own as a `send` of that
/// email would be (the same precedence, the script and the rule seeing one email at a time).
pub struct MemoryMailer {
    latency: Duration,
    bulk_per_entry: Duration,
    bulk_script: Mutex<VecDeque<BulkCall>>,
    bulk_calls: Mutex<Vec<usize>>,
    quota: Mutex<Result<SendQuota, PortError>>,
    rule: Option<Box<Rule>>,
    /// `None`: every template exists.
    templates: Option<HashSet<String>>,
    script: Mutex<VecDeque<Answer>>,
    answer_all: Mutex<Option<Answer>>,
    sent: Mutex<Vec<SentEmail>>,
    attempts: Mutex<HashMap<UniqueCode, u32>>,
    calls: AtomicUsize,
    quota_calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    next_id: AtomicU64,
}

impl fmt::Debug for MemoryMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryMailer")
            .field("latency", &self.latency)
            .field("calls", &self.calls())
            .field("sent", &lock(&self.sent).len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryMailer {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryMailer {
    /// Accepts everything at once; quota 14 emails/s, 50,000 a day (a fresh production account).
    pub fn new() -> Self {
        Self {
            latency: Duration::ZERO,
            bulk_per_entry: Duration::ZERO,
            bulk_script: Mutex::new(VecDeque::new()),
            bulk_calls: Mutex::new(Vec::new()),
            quota: Mutex::new(Ok(SendQuota {
                max_send_rate: 14.0,
                max_24_hour_send: Some(50_000.0),
                sent_last_24_hours: 0.0,
                sending_enabled: true,
            })),
            rule: None,
            templates: None,
            script: Mutex::new(VecDeque::new()),
            answer_all: Mutex::new(None),
            sent: Mutex::new(Vec::new()),
            attempts: Mutex::new(HashMap::new()),
            calls: AtomicUsize::new(0),
            quota_calls: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// Every send takes `latency` (tokio time) before it answers.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Every `send_bulk` call takes `per_entry` more per entry (SES composes each entry).
    pub fn with_bulk_per_entry(mut self, per_entry: Duration) -> Self {
        self.bulk_per_entry = per_entry;
        self
    }

    /// Queue whole-call answers for the next `send_bulk` calls, one per call, in call order.
    pub fn script_bulk(&self, calls: impl IntoIterator<Item = BulkCall>) {
        lock(&self.bulk_script).extend(calls);
    }

    /// The number of entries of every `send_bulk` call so far, in call order.
    pub fn bulk_calls(&self) -> Vec<usize> {
        lock(&self.bulk_calls).clone()
    }

    /// Answer sends by a rule: `rule(email, attempt)`, where `attempt` counts the sends of the
    /// email's `unique_code` so far, this one included (1 on the first).
    pub fn with_rule(
        mut self,
        rule: impl Fn(&OutgoingEmail, u32) -> Answer + Send + Sync + 'static,
    ) -> Self {
        self.rule = Some(Box::new(rule));
        self
    }

    /// Only these templates exist; a send with another one fails as SES does
    /// (`NotFoundException`, 404).
    pub fn with_templates(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.templates = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// What `quota` answers from now on (an `Err`: `GetAccount` fails).
    pub fn set_quota(&self, quota: Result<SendQuota, PortError>) {
        *lock(&self.quota) = quota;
    }

    /// Queue answers for the next sends, one per call, in call order (before the rule).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.script).extend(answers);
    }

    /// Answer every send with `answer` until called with `None` (e.g. a throttling storm).
    pub fn answer_all(&self, answer: Option<Answer>) {
        *lock(&self.answer_all) = answer;
    }

    /// Every accepted email, in the order the sends returned.
    pub fn sent(&self) -> Vec<SentEmail> {
        lock(&self.sent).clone()
    }

    /// Recipients of the accepted emails, in order.
    pub fn sent_to(&self) -> Vec<String> {
        lock(&self.sent)
            .iter()
            .map(|s| s.email.to.clone())
            .collect()
    }

    /// The message id of the last accepted send of `unique_code`.
    pub fn message_id_for(&self, unique_code: &str) -> Option<MessageId> {
        lock(&self.sent)
            .iter()
            .rev()
            .find(|s| s.email.unique_code.0 == unique_code)
            .map(|s| s.message_id.clone())
    }

    /// `send` calls so far (accepted or not); a `send_bulk` call is not one.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// `quota` calls so far.
    pub fn quota_calls(&self) -> usize {
        self.quota_calls.load(Ordering::SeqCst)
    }

    /// The most sends that were ever waiting for their answer at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    fn answer(&self, email: &OutgoingEmail) -> Answer {
        let attempt = {
            let mut a = lock(&self.attempts);
            let n = a.entry(email.unique_code.clone()).or_default();
            *n += 1;
            *n
        };
        if let Some(a) = lock(&self.answer_all).clone() {
            return a;
        }
        if let Some(a) = lock(&self.script).pop_front() {
            return a;
        }
        if self
            .templates
            .as_ref()
            .is_some_and(|t| !t.contains(&email.template_name))
        {
            return Answer::error("NotFoundException", 404);
        }
        match &self.rule {
            Some(rule) => rule(email, attempt),
            None => Answer::Accept,
        }
    }
}

impl MemoryMailer {
    /// Wait `latency` as one call in flight.
    async fn in_flight_for(&self, latency: Duration) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Answer one email (of a single or a bulk call) and record it if accepted.
    fn answer_and_record(&self, email: &OutgoingEmail) -> Result<MessageId, SendFailure> {
        match self.answer(email) {
            Answer::Accept => {
                let n = self.next_id.fetch_add(1, Ordering::SeqCst);
                let message_id = MessageId(format!("memory-{n:012}"));
                lock(&self.sent).push(SentEmail {
                    email: email.clone(),
                    message_id: message_id.clone(),
                    at: Instant::now(),
                });
                Ok(message_id)
            }
            Answer::Fail(f) => Err(f),
            Answer::Panic => panic!(
                "in-memory mailer scripted to panic sending {}",
                email.unique_code
            ),
        }
    }
}

impl Mailer for MemoryMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<MessageId, SendFailure> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.in_flight_for(self.latency).await;
        self.answer_and_record(email)
    }

    async fn send_bulk(
        &self,
        emails: &[OutgoingEmail],
    ) -> Result<Vec<BulkEntryResult>, SendFailure> {
        lock(&self.bulk_calls).push(emails.len());
        let per_entry = self
            .bulk_per_entry
            .saturating_mul(u32::try_from(emails.len()).unwrap_or(u32::MAX));
        self.in_flight_for(self.latency + per_entry).await;
        let call = lock(&self.bulk_script).pop_front();
        match call {
            Some(BulkCall::Fail(f)) => Err(f),
            Some(BulkCall::AcceptThenFail(f)) => {
                for e in emails {
                    let _ = self.answer_and_record(e);
                }
                Err(f)
            }
            None => Ok(emails.iter().map(|e| self.answer_and_record(e)).collect()),
        }
    }

    async fn quota(&self) -> Result<SendQuota, PortError> {
        self.quota_calls.fetch_add(1, Ordering::SeqCst);
        lock(&self.quota).clone()
    }
}
