//! The SES v2 REST-JSON operations, independent of the HTTP transport: `SimState::dispatch`
//! takes a method, path, query, headers and body bytes and returns a [`Reply`]. The transport
//! (`server.rs`) only reads the body, applies the reply's delay and writes it out. Tests and the
//! request-parser property test call `dispatch` directly.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering as AO};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::SimError;
use crate::config::SimConfig;
use crate::events::{self, EventKind, Lake, MailInfo};
use crate::render::{TemplateSet, parse_template_data};
use crate::util::{iso_ms, message_id, mix, normal, now_ms, rfc2822, unit};

/// Domain of the SES mailbox simulator.
pub const SIMULATOR_DOMAIN: &str = "simulator.amazonses.com";
/// Most recipients (To + Cc + Bcc) in one message.
pub const MAX_RECIPIENTS: usize = 50;

/// A response, before the transport writes it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// `x-amzn-ErrorType` header value (error code) for errors.
    pub error_type: Option<&'static str>,
    pub body: String,
    /// Latency to apply before answering (latency model + slow faults).
    pub delay: Duration,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            error_type: None,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    fn empty() -> Self {
        Self::ok(json!({}))
    }
    /// An SES error: status, `x-amzn-ErrorType: <code>`, body `{"message": ...}`.
    pub fn error(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            error_type: Some(code),
            body: json!({ "message": message }).to_string(),
            delay: Duration::ZERO,
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::error(400, "BadRequestException", message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::error(404, "NotFoundException", message)
    }
    fn already_exists(message: impl Into<String>) -> Self {
        Self::error(400, "AlreadyExistsException", message)
    }
    fn rejected(message: impl Into<String>) -> Self {
        Self::error(400, "MessageRejected", message)
    }
}

/// Which operation a request was (stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Op {
    SendEmail,
    GetAccount,
    CreateEmailTemplate,
    GetEmailTemplate,
    UpdateEmailTemplate,
    DeleteEmailTemplate,
    ListEmailTemplates,
    TestRenderEmailTemplate,
    CreateConfigurationSet,
    GetConfigurationSet,
    ListConfigurationSets,
    DeleteConfigurationSet,
    CreateConfigurationSetEventDestination,
    GetConfigurationSetEventDestinations,
    Inspection,
    Unknown,
}

const OP_NAMES: [&str; 16] = [
    "SendEmail",
    "GetAccount",
    "CreateEmailTemplate",
    "GetEmailTemplate",
    "UpdateEmailTemplate",
    "DeleteEmailTemplate",
    "ListEmailTemplates",
    "TestRenderEmailTemplate",
    "CreateConfigurationSet",
    "GetConfigurationSet",
    "ListConfigurationSets",
    "DeleteConfigurationSet",
    "CreateConfigurationSetEventDestination",
    "GetConfigurationSetEventDestinations",
    "Inspection",
    "Unknown",
];

/// Counters behind `/_sim/stats`.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: [AtomicU64; 16],
    pub sent_messages: AtomicU64,
    pub sent_recipients: AtomicU64,
    pub throttled: AtomicU64,
    pub daily_quota_exceeded: AtomicU64,
    pub rejected: AtomicU64,
    pub client_errors: AtomicU64,
    pub rendering_failures: AtomicU64,
    pub fault_errors: AtomicU64,
    pub fault_slow: AtomicU64,
    pub fault_throttles: AtomicU64,
    pub in_flight: AtomicU64,
}

/// A snapshot of the simulator's counters (`GET /_sim/stats`, [`crate::SimHandle::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// AWS API requests by operation name (plus `Inspection` and `Unknown`).
    pub requests: BTreeMap<String, u64>,
    /// SendEmail calls accepted (200), including rendering failures.
    pub sent_messages: u64,
    /// Recipients of the accepted SendEmail calls.
    pub sent_recipients: u64,
    /// 429 `TooManyRequestsException` from the MaxSendRate quota.
    pub throttled: u64,
    /// `LimitExceededException` from the Max24HourSend quota.
    pub daily_quota_exceeded: u64,
    /// `MessageRejected` (unverified sender, sandbox recipient).
    pub rejected: u64,
    /// Other 4xx answers.
    pub client_errors: u64,
    /// Accepted templated sends whose rendering failed.
    pub rendering_failures: u64,
    /// Injected 5xx.
    pub fault_errors: u64,
    /// Injected slow responses.
    pub fault_slow: u64,
    /// Injected 429s (beyond the quota).
    pub fault_throttles: u64,
    /// Requests being served right now.
    pub in_flight: u64,
    /// Recipients counted against Max24HourSend in the last 24 h.
    pub sent_last_24_hours: u64,
    /// Event records published, by `eventType`.
    pub events: BTreeMap<String, u64>,
    /// Event records not yet due or not yet written.
    pub events_pending: u64,
    /// Lake files completed.
    pub lake_files: u64,
    /// Lake write errors.
    pub lake_write_errors: u64,
}

/// A message accepted by SendEmail, as `GET /_sim/messages` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    pub message_id: String,
    pub timestamp: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    /// Rendered text part (first 4 KiB).
    pub text: Option<String>,
    /// Rendered HTML part (first 4 KiB).
    pub html: Option<String>,
    /// `Template`, `Simple` or `Raw`.
    pub content_kind: String,
    pub template_name: Option<String>,
    pub configuration_set: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// `sent` or `rendering_failure`.
    pub status: String,
    /// Rendering failure message, if any.
    pub error: Option<String>,
    /// Per recipient: `delivered`, `bounced`, `suppressed`, `complained`, `out_of_office`.
    pub outcomes: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct TemplateEntry {
    set: Arc<TemplateSet>,
    created: f64,
}

#[derive(Debug, Clone)]
struct Destination {
    name: String,
    enabled: bool,
    types: Vec<String>,
    firehose: bool,
    raw: Value,
}

#[derive(Debug, Clone)]
struct ConfigSet {
    raw: Value,
    sending_enabled: bool,
    destinations: Vec<Destination>,
}

impl ConfigSet {
    fn publishes(&self, k: EventKind) -> bool {
        self.destinations
            .iter()
            .any(|d| d.enabled && d.firehose && d.types.iter().any(|t| t == k.matching_name()))
    }
}

struct Quota {
    tokens: f64,
    last: Instant,
    /// (minute since epoch, recipients) for the rolling 24 h window.
    day: VecDeque<(i64, u64)>,
    day_total: u64,
}

impl Quota {
    fn new(rate: f64) -> Self {
        Self {
            tokens: rate,
            last: Instant::now(),
            day: VecDeque::new(),
            day_total: 0,
        }
    }
    fn trim(&mut self, now_min: i64) {
        while let Some(&(m, n)) = self.day.front() {
            if now_min - m >= 24 * 60 {
                self.day.pop_front();
                self.day_total -= n;
            } else {
                break;
            }
        }
    }
}

/// The simulator's state. Shared by every request.
pub struct SimState {
    pub config: SimConfig,
    rate: f64,
    daily: i64,
    templates: RwLock<BTreeMap<String, TemplateEntry>>,
    config_sets: RwLock<BTreeMap<String, ConfigSet>>,
    quota: Mutex<Quota>,
    messages: Mutex<VecDeque<SentMessage>>,
    pub counters: Counters,
    pub(crate) lake: Lake,
    seq: AtomicU64,
    verified: Vec<String>,
}

const LATENCY_STREAM: u64 = 0x4C41_5445_4E43_5921;
const EVENT_STREAM: u64 = 0x4556_454E_5453_2121;

/// Parsed request metadata the operations need.
pub struct RequestMeta<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub authorization: Option<&'a str>,
    pub peer: IpAddr,
}

impl SimState {
    pub(crate) fn new(config: SimConfig, lake: Lake) -> Result<Self, SimError> {
        config.validate()?;
        let rate = config.effective_max_send_rate();
        let daily = config.effective_max_24_hour_send();
        let verified = config
            .verified_identities
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let mut templates = BTreeMap::new();
        let created = now_ms() as f64 / 1000.0;
        for t in &config.templates {
            let set = TemplateSet::compile(&t.subject, t.text.as_deref(), t.html.as_deref())
                .map_err(|e| SimError::Config(format!("template {:?}: {e}", t.name)))?;
            templates.insert(
                t.name.clone(),
                TemplateEntry {
                    set: Arc::new(set),
                    created,
                },
            );
        }
        let mut sets = BTreeMap::new();
        for name in &config.configuration_sets {
            sets.insert(
                name.clone(),
                ConfigSet {
                    raw: json!({ "ConfigurationSetName": name }),
                    sending_enabled: true,
                    destinations: vec![Destination {
                        name: "lake".into(),
                        enabled: true,
                        types: ALL_EVENT_TYPES.iter().map(|s| s.to_string()).collect(),
                        firehose: true,
                        raw: json!({
                            "Name": "lake",
                            "Enabled": true,
                            "MatchingEventTypes": ALL_EVENT_TYPES,
                            "KinesisFirehoseDestination": {
                                "IamRoleArn": format!("arn:aws:iam::{}:role/sesload-sim", config.account_id),
                                "DeliveryStreamArn": format!("arn:aws:firehose:{}:{}:deliverystream/sesload-local-lake", config.region, config.account_id),
                            }
                        }),
                    }],
                },
            );
        }
        Ok(Self {
            rate,
            daily,
            templates: RwLock::new(templates),
            config_sets: RwLock::new(sets),
            quota: Mutex::new(Quota::new(rate)),
            messages: Mutex::new(VecDeque::new()),
            counters: Counters::default(),
            lake,
            seq: AtomicU64::new(0),
            verified,
            config,
        })
    }

    /// A state with its own lake writer, for driving [`SimState::dispatch`] without a socket
    /// (property tests of the request parser, embedding in another server).
    pub fn standalone(config: SimConfig) -> Result<Self, SimError> {
        config.validate()?;
        let lake = Lake::spawn(config.events.clone())?;
        Self::new(config, lake)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(AO::Relaxed);
        let mut requests = BTreeMap::new();
        for (i, name) in OP_NAMES.iter().enumerate() {
            let n = l(&c.requests[i]);
            if n > 0 {
                requests.insert((*name).to_owned(), n);
            }
        }
        let mut ev = BTreeMap::new();
        for k in [
            EventKind::Send,
            EventKind::Delivery,
            EventKind::Bounce,
            EventKind::Complaint,
            EventKind::RenderingFailure,
        ] {
            ev.insert(k.event_type().to_owned(), self.lake.counters.published(k));
        }
        let sent_last_24_hours = {
            let mut q = lock(&self.quota);
            q.trim(now_ms() / 60_000);
            q.day_total
        };
        SimStats {
            requests,
            sent_messages: l(&c.sent_messages),
            sent_recipients: l(&c.sent_recipients),
            throttled: l(&c.throttled),
            daily_quota_exceeded: l(&c.daily_quota_exceeded),
            rejected: l(&c.rejected),
            client_errors: l(&c.client_errors),
            rendering_failures: l(&c.rendering_failures),
            fault_errors: l(&c.fault_errors),
            fault_slow: l(&c.fault_slow),
            fault_throttles: l(&c.fault_throttles),
            in_flight: l(&c.in_flight),
            sent_last_24_hours,
            events: ev,
            events_pending: l(&self.lake.counters.pending),
            lake_files: l(&self.lake.counters.files_rolled),
            lake_write_errors: l(&self.lake.counters.write_errors),
        }
    }

    /// Clears the message log, the counters and the quota windows (templates and
    /// configuration sets stay).
    pub fn reset(&self) {
        lock(&self.messages).clear();
        *lock(&self.quota) = Quota::new(self.rate);
        let c = &self.counters;
        for a in &c.requests {
            a.store(0, AO::Relaxed);
        }
        for a in [
            &c.sent_messages,
            &c.sent_recipients,
            &c.throttled,
            &c.daily_quota_exceeded,
            &c.rejected,
            &c.client_errors,
            &c.rendering_failures,
            &c.fault_errors,
            &c.fault_slow,
            &c.fault_throttles,
        ] {
            a.store(0, AO::Relaxed);
        }
        self.lake.counters.reset();
    }

    /// The accepted messages, newest last (at most `limit`).
    pub fn messages(&self, limit: usize) -> Vec<SentMessage> {
        let m = lock(&self.messages);
        let skip = m.len().saturating_sub(limit);
        m.iter().skip(skip).cloned().collect()
    }

    /// Routes and serves one request. Never panics on any input.
    pub fn dispatch(&self, meta: &RequestMeta<'_>, body: &[u8]) -> Reply {
        let (op, reply) = self.route(meta, body);
        self.counters.requests[op as usize].fetch_add(1, AO::Relaxed);
        if reply.status >= 400 && reply.status < 500 {
            match reply.error_type {
                Some("TooManyRequestsException")
                | Some("LimitExceededException")
                | Some("MessageRejected") => {}
                _ => {
                    self.counters.client_errors.fetch_add(1, AO::Relaxed);
                }
            }
        }
        reply
    }

    fn route(&self, meta: &RequestMeta<'_>, body: &[u8]) -> (Op, Reply) {
        let segs: Vec<String> = meta
            .path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = meta.method;
        match (m, s.as_slice()) {
            ("POST", ["v2", "email", "outbound-emails"]) => (
                Op::SendEmail,
                self.with_latency(Op::SendEmail, |seq| self.send_email(meta, body, seq)),
            ),
            ("GET", ["v2", "email", "account"]) => (
                Op::GetAccount,
                self.with_latency(Op::GetAccount, |_| self.get_account()),
            ),
            ("POST", ["v2", "email", "templates"]) => (
                Op::CreateEmailTemplate,
                self.with_latency(Op::CreateEmailTemplate, |_| self.create_template(body)),
            ),
            ("GET", ["v2", "email", "templates"]) => (
                Op::ListEmailTemplates,
                self.with_latency(Op::ListEmailTemplates, |_| self.list_templates(meta.query)),
            ),
            ("GET", ["v2", "email", "templates", name]) => (
                Op::GetEmailTemplate,
                self.with_latency(Op::GetEmailTemplate, |_| self.get_template(name)),
            ),
            ("PUT", ["v2", "email", "templates", name]) => (
                Op::UpdateEmailTemplate,
                self.with_latency(Op::UpdateEmailTemplate, |_| {
                    self.update_template(name, body)
                }),
            ),
            ("DELETE", ["v2", "email", "templates", name]) => (
                Op::DeleteEmailTemplate,
                self.with_latency(Op::DeleteEmailTemplate, |_| self.delete_template(name)),
            ),
            ("POST", ["v2", "email", "templates", name, "render"]) => (
                Op::TestRenderEmailTemplate,
                self.with_latency(Op::TestRenderEmailTemplate, |_| {
                    self.test_render(name, body)
                }),
            ),
            ("POST", ["v2", "email", "configuration-sets"]) => (
                Op::CreateConfigurationSet,
                self.with_latency(Op::CreateConfigurationSet, |_| self.create_config_set(body)),
            ),
            ("POST", ["v2", "email", "list-configuration-sets"]) => (
                Op::ListConfigurationSets,
                self.with_latency(Op::ListConfigurationSets, |_| {
                    self.list_config_sets_body(body)
                }),
            ),
            ("GET", ["v2", "email", "configuration-sets"]) => (
                Op::ListConfigurationSets,
                self.with_latency(Op::ListConfigurationSets, |_| {
                    let (size, token) = page_query(meta.query);
                    self.list_config_sets(size, token)
                }),
            ),
            ("GET", ["v2", "email", "configuration-sets", name]) => (
                Op::GetConfigurationSet,
                self.with_latency(Op::GetConfigurationSet, |_| self.get_config_set(name)),
            ),
            ("DELETE", ["v2", "email", "configuration-sets", name]) => (
                Op::DeleteConfigurationSet,
                self.with_latency(Op::DeleteConfigurationSet, |_| self.delete_config_set(name)),
            ),
            (
                "POST",
                [
                    "v2",
                    "email",
                    "configuration-sets",
                    name,
                    "event-destinations",
                ],
            ) => (
                Op::CreateConfigurationSetEventDestination,
                self.with_latency(Op::CreateConfigurationSetEventDestination, |_| {
                    self.create_destination(name, body)
                }),
            ),
            (
                "GET",
                [
                    "v2",
                    "email",
                    "configuration-sets",
                    name,
                    "event-destinations",
                ],
            ) => (
                Op::GetConfigurationSetEventDestinations,
                self.with_latency(Op::GetConfigurationSetEventDestinations, |_| {
                    self.get_destinations(name)
                }),
            ),
            ("GET", ["_sim", "messages"]) => {
                let limit = query_param(meta.query, "limit")
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(1000);
                (
                    Op::Inspection,
                    Reply::ok(json!({ "messages": self.messages(limit) })),
                )
            }
            ("GET", ["_sim", "stats"]) => (
                Op::Inspection,
                Reply::ok(serde_json::to_value(self.stats()).unwrap_or(Value::Null)),
            ),
            ("POST", ["_sim", "reset"]) => {
                self.reset();
                (Op::Inspection, Reply::empty())
            }
            _ => (
                Op::Unknown,
                Reply::error(
                    404,
                    "UnknownOperationException",
                    format!("sesload sim does not implement {m} {}", meta.path),
                ),
            ),
        }
    }

    /// Runs an operation and attaches the latency model's delay for this call.
    fn with_latency(&self, op: Op, f: impl FnOnce(u64) -> Reply) -> Reply {
        let seq = self.seq.fetch_add(1, AO::Relaxed);
        let mut r = f(seq);
        let l = &self.config.latency;
        let base = if l.p99_ms <= l.p50_ms || l.p50_ms <= 0.0 {
            l.p50_ms
        } else {
            let sigma = (l.p99_ms / l.p50_ms).ln() / 2.326_347_874;
            l.p50_ms * (sigma * normal(self.config.faults.seed ^ LATENCY_STREAM, seq)).exp()
        };
        // Cap at 100x p99 so a freak draw cannot hang a client.
        let ms = base.clamp(0.0, (l.p99_ms * 100.0).max(0.0));
        r.delay += Duration::from_micros((ms * 1000.0) as u64);
        let _ = op;
        r
    }

    fn get_account(&self) -> Reply {
        let sent = {
            let mut q = lock(&self.quota);
            q.trim(now_ms() / 60_000);
            q.day_total
        };
        Reply::ok(json!({
            "DedicatedIpAutoWarmupEnabled": false,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": !self.config.sandbox,
            "SendingEnabled": true,
            "SendQuota": {
                "Max24HourSend": self.daily as f64,
                "MaxSendRate": self.rate,
                "SentLast24Hours": sent as f64,
            },
            "SuppressionAttributes": { "SuppressedReasons": [] },
        }))
    }

    // ---------------------------------------------------------------- SendEmail

    fn send_email(&self, meta: &RequestMeta<'_>, body: &[u8], seq: u64) -> Reply {
        // Faults first: a real service can fail whatever the request.
        let f = &self.config.faults;
        let mut extra = Duration::ZERO;
        if f.error_rate > 0.0 || f.slow_rate > 0.0 || f.throttle_rate > 0.0 {
            let u = unit(f.seed, seq);
            if u < f.error_rate {
                self.counters.fault_errors.fetch_add(1, AO::Relaxed);
                return if u < f.error_rate / 2.0 {
                    Reply::error(
                        500,
                        "InternalFailure",
                        "The request processing has failed because of an unknown error, exception or failure.",
                    )
                } else {
                    Reply::error(
                        503,
                        "ServiceUnavailable",
                        "Service is unavailable. Please try again later.",
                    )
                };
            } else if u < f.error_rate + f.throttle_rate {
                self.counters.fault_throttles.fetch_add(1, AO::Relaxed);
                return Reply::error(
                    429,
                    "TooManyRequestsException",
                    "Maximum sending rate exceeded.",
                );
            } else if u < f.error_rate + f.throttle_rate + f.slow_rate {
                self.counters.fault_slow.fetch_add(1, AO::Relaxed);
                extra = Duration::from_millis(f.slow_ms);
            }
        }
        let mut r = match self.send_email_inner(meta, body, seq) {
            Ok(r) | Err(r) => r,
        };
        r.delay += extra;
        r
    }

    fn send_email_inner(
        &self,
        meta: &RequestMeta<'_>,
        body: &[u8],
        seq: u64,
    ) -> Result<Reply, Reply> {
        let req: SendEmailRequest = parse_body(body)?;
        let content = req
            .content
            .ok_or_else(|| Reply::bad_request("Missing required field Content."))?;
        let kinds = [
            content.simple.is_some(),
            content.raw.is_some(),
            content.template.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if kinds != 1 {
            return Err(Reply::bad_request(
                "Content must contain exactly one of Simple, Raw or Template.",
            ));
        }
        // Raw: recipients and sender may come from the MIME headers.
        let raw_headers = match &content.raw {
            Some(raw) => Some(parse_raw(&raw.data)?),
            None => None,
        };
        let from = req
            .from_email_address
            .clone()
            .or_else(|| raw_headers.as_ref().and_then(|h| h.from.clone()))
            .ok_or_else(|| Reply::bad_request("Missing required field FromEmailAddress."))?;
        let from_addr = bare_address(&from).ok_or_else(|| {
            Reply::bad_request(format!("Illegal address in FromEmailAddress: {from:?}."))
        })?;
        let dest = req.destination.unwrap_or_default();
        let mut to = dest.to_addresses.unwrap_or_default();
        let mut cc = dest.cc_addresses.unwrap_or_default();
        let bcc = dest.bcc_addresses.unwrap_or_default();
        if to.is_empty()
            && cc.is_empty()
            && bcc.is_empty()
            && let Some(h) = &raw_headers
        {
            to = h.to.clone();
            cc = h.cc.clone();
        }
        let all: Vec<String> = to
            .iter()
            .chain(cc.iter())
            .chain(bcc.iter())
            .cloned()
            .collect();
        if all.is_empty() {
            return Err(Reply::bad_request(
                "Missing required field Destination: at least one recipient is required.",
            ));
        }
        if all.len() > MAX_RECIPIENTS {
            return Err(Reply::bad_request(format!(
                "Recipient count exceeds {MAX_RECIPIENTS}: the message has {} recipients.",
                all.len()
            )));
        }
        let mut recipients = Vec::with_capacity(all.len());
        for a in &all {
            let b = bare_address(a)
                .ok_or_else(|| Reply::bad_request(format!("Illegal address: {a:?}.")))?;
            recipients.push(b);
        }
        let tags = req.email_tags.unwrap_or_default();
        validate_tags(&tags)?;

        // Configuration set.
        let set_name = req.configuration_set_name.clone();
        let set = match &set_name {
            Some(n) => {
                let sets = read(&self.config_sets);
                let s = sets.get(n).cloned().ok_or_else(|| {
                    Reply::not_found(format!("Configuration set <{n}> does not exist."))
                })?;
                if !s.sending_enabled {
                    return Err(Reply::error(
                        400,
                        "SendingPausedException",
                        format!("Sending is paused for this configuration set: {n}."),
                    ));
                }
                Some(s)
            }
            None => None,
        };

        // Identities.
        let Some(identity) = self.verified_identity(&from_addr) else {
            self.counters.rejected.fetch_add(1, AO::Relaxed);
            return Err(Reply::rejected(format!(
                "Email address is not verified. The following identities failed the check in region {}: {from_addr}",
                self.config.region.to_ascii_uppercase()
            )));
        };
        if self.config.sandbox {
            let bad: Vec<&str> = recipients
                .iter()
                .filter(|r| !is_simulator(r) && self.verified_identity(r).is_none())
                .map(String::as_str)
                .collect();
            if !bad.is_empty() {
                self.counters.rejected.fetch_add(1, AO::Relaxed);
                return Err(Reply::rejected(format!(
                    "Email address is not verified. The following identities failed the check in region {}: {}",
                    self.config.region.to_ascii_uppercase(),
                    bad.join(", ")
                )));
            }
        }

        // Template resolution and data (before the quota: a bad request costs nothing).
        enum Body {
            Rendered(Result<crate::render::Rendered, String>, Option<String>),
            Simple(String, Option<String>, Option<String>),
            Raw(String, usize),
        }
        let body_kind;
        let content_body = if let Some(t) = &content.template {
            body_kind = "Template";
            let (set, tname) = if let Some(tc) = &t.template_content {
                if t.template_name.is_some() || t.template_arn.is_some() {
                    return Err(Reply::bad_request(
                        "Template must contain exactly one of TemplateName, TemplateArn or TemplateContent.",
                    ));
                }
                let subject = tc.subject.clone().unwrap_or_default();
                let s = TemplateSet::compile(&subject, tc.text.as_deref(), tc.html.as_deref())
                    .map_err(|e| Reply::bad_request(format!("Invalid TemplateContent: {e}")))?;
                (Arc::new(s), None)
            } else {
                let name = match (&t.template_name, &t.template_arn) {
                    (Some(n), None) => n.clone(),
                    (None, Some(arn)) => arn
                        .rsplit_once(":template/")
                        .map(|(_, n)| n.to_owned())
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| {
                            Reply::bad_request(format!("Invalid TemplateArn: {arn:?}."))
                        })?,
                    (Some(n), Some(_)) => n.clone(),
                    (None, None) => {
                        return Err(Reply::bad_request(
                            "Template must contain one of TemplateName, TemplateArn or TemplateContent.",
                        ));
                    }
                };
                let entry = read(&self.templates)
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| Reply::not_found(format!("Template {name} does not exist.")))?;
                (entry.set, Some(name))
            };
            let data = match &t.template_data {
                Some(d) => parse_template_data(d).map_err(Reply::bad_request)?,
                None => return Err(Reply::bad_request("Missing required field TemplateData.")),
            };
            Body::Rendered(set.render(&data), tname)
        } else if let Some(s) = &content.simple {
            body_kind = "Simple";
            let subject = s
                .subject
                .as_ref()
                .map(|c| c.data.clone())
                .ok_or_else(|| Reply::bad_request("Missing required field Subject."))?;
            let b = s
                .body
                .clone()
                .ok_or_else(|| Reply::bad_request("Missing required field Body."))?;
            Body::Simple(subject, b.text.map(|c| c.data), b.html.map(|c| c.data))
        } else {
            body_kind = "Raw";
            let h = raw_headers.clone().unwrap_or_default();
            Body::Raw(h.subject.unwrap_or_default(), h.size)
        };

        // Quotas: rate counts every recipient, the daily quota only non-simulator ones.
        let n = recipients.len() as u64;
        let counted = recipients.iter().filter(|r| !is_simulator(r)).count() as u64;
        {
            let mut q = lock(&self.quota);
            if self.rate > 0.0 {
                let now = Instant::now();
                let dt = now.duration_since(q.last).as_secs_f64();
                q.last = now;
                q.tokens = (q.tokens + dt * self.rate).min(self.rate);
                // A message bigger than the bucket goes through when the bucket is full.
                let need = (n as f64).min(self.rate);
                if q.tokens + 1e-9 < need {
                    self.counters.throttled.fetch_add(1, AO::Relaxed);
                    return Err(Reply::error(
                        429,
                        "TooManyRequestsException",
                        "Maximum sending rate exceeded.",
                    ));
                }
                if self.daily >= 0 {
                    let now_min = now_ms() / 60_000;
                    q.trim(now_min);
                    if q.day_total + counted > self.daily as u64 {
                        self.counters.daily_quota_exceeded.fetch_add(1, AO::Relaxed);
                        return Err(Reply::error(
                            400,
                            "LimitExceededException",
                            "Daily message quota exceeded.",
                        ));
                    }
                }
                q.tokens -= n as f64;
            } else if self.daily >= 0 {
                let now_min = now_ms() / 60_000;
                q.trim(now_min);
                if q.day_total + counted > self.daily as u64 {
                    self.counters.daily_quota_exceeded.fetch_add(1, AO::Relaxed);
                    return Err(Reply::error(
                        400,
                        "LimitExceededException",
                        "Daily message quota exceeded.",
                    ));
                }
            }
            if counted > 0 {
                let now_min = now_ms() / 60_000;
                match q.day.back_mut() {
                    Some((m, c)) if *m == now_min => *c += counted,
                    _ => q.day.push_back((now_min, counted)),
                }
                q.day_total += counted;
            }
        }

        // Accepted.
        let ts = now_ms();
        let id = message_id(ts);
        self.counters.sent_messages.fetch_add(1, AO::Relaxed);
        self.counters.sent_recipients.fetch_add(n, AO::Relaxed);

        let (subject, text, html, failure, tname) = match content_body {
            Body::Rendered(Ok(r), tn) => (r.subject, r.text, r.html, None, tn),
            Body::Rendered(Err(e), tn) => (String::new(), None, None, Some(e), tn),
            Body::Simple(s, t, h) => (s, t, h, None, None),
            Body::Raw(s, size) => (
                s,
                Some(format!("[raw message, {size} bytes]")),
                None,
                None,
                None,
            ),
        };
        let from_domain = from_addr
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let mut mail_tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(n) = &set_name {
            mail_tags.insert("ses:configuration-set".into(), vec![n.clone()]);
        }
        mail_tags.insert("ses:source-ip".into(), vec![meta.peer.to_string()]);
        mail_tags.insert("ses:from-domain".into(), vec![from_domain]);
        mail_tags.insert(
            "ses:caller-identity".into(),
            vec![caller_identity(meta.authorization)],
        );
        let mut plain_tags = BTreeMap::new();
        for t in &tags {
            mail_tags
                .entry(t.name.clone())
                .or_default()
                .push(t.value.clone());
            plain_tags.insert(t.name.clone(), t.value.clone());
        }
        let mail = MailInfo {
            timestamp_ms: ts,
            message_id: id.clone(),
            source: from.clone(),
            source_arn: format!(
                "arn:aws:ses:{}:{}:identity/{identity}",
                self.config.region, self.config.account_id
            ),
            sending_account_id: self.config.account_id.clone(),
            destination: all.clone(),
            to: to.clone(),
            cc: cc.clone(),
            subject: subject.clone(),
            tags: mail_tags,
        };

        let mut outcomes = BTreeMap::new();
        let status;
        if let Some(err) = &failure {
            self.counters.rendering_failures.fetch_add(1, AO::Relaxed);
            status = "rendering_failure";
            if set
                .as_ref()
                .is_some_and(|s| s.publishes(EventKind::RenderingFailure))
            {
                self.lake.send(events::rendering_failure_record(
                    &mail,
                    tname.as_deref().unwrap_or(""),
                    err,
                ));
            }
        } else {
            status = "sent";
            let mut delivered = Vec::new();
            let mut bounced = Vec::new();
            let mut suppressed = Vec::new();
            let mut complained = Vec::new();
            for (orig, bare) in all.iter().zip(&recipients) {
                let o = simulator_outcome(bare);
                match o {
                    Outcome::Bounce => bounced.push(orig.clone()),
                    Outcome::Suppressed => suppressed.push(orig.clone()),
                    Outcome::Complaint => {
                        delivered.push(orig.clone());
                        complained.push(orig.clone());
                    }
                    Outcome::Delivered | Outcome::OutOfOffice => delivered.push(orig.clone()),
                }
                outcomes.insert(orig.clone(), o.name().to_owned());
            }
            if let Some(set) = &set {
                let e = &self.config.events;
                let span = e.delivery_delay_ms_max - e.delivery_delay_ms_min;
                let delay = e.delivery_delay_ms_min
                    + if span == 0 {
                        0
                    } else {
                        mix(self.config.faults.seed ^ EVENT_STREAM, seq) % (span + 1)
                    };
                let mta = format!("a8-{}.smtp-out.amazonses.com", 10 + seq % 90);
                let ip = format!("54.240.8.{}", 10 + seq % 240);
                if set.publishes(EventKind::Send) {
                    self.lake.send(events::send_record(&mail));
                }
                if !delivered.is_empty() && set.publishes(EventKind::Delivery) {
                    self.lake
                        .send(events::delivery_record(&mail, &delivered, delay, &mta, &ip));
                }
                if !bounced.is_empty() && set.publishes(EventKind::Bounce) {
                    self.lake
                        .send(events::bounce_record(&mail, &bounced, false, delay, &mta));
                }
                if !suppressed.is_empty() && set.publishes(EventKind::Bounce) {
                    self.lake
                        .send(events::bounce_record(&mail, &suppressed, true, delay, &mta));
                }
                if !complained.is_empty() && set.publishes(EventKind::Complaint) {
                    self.lake.send(events::complaint_record(
                        &mail,
                        &complained,
                        delay + e.complaint_delay_ms,
                    ));
                }
            }
        }

        let cap = self.config.message_log_capacity;
        if cap > 0 {
            let msg = SentMessage {
                message_id: id.clone(),
                timestamp: iso_ms(ts),
                from,
                to,
                cc,
                bcc,
                subject,
                text: text.map(|t| truncate(t, 4096)),
                html: html.map(|t| truncate(t, 4096)),
                content_kind: body_kind.to_owned(),
                template_name: tname,
                configuration_set: set_name,
                tags: plain_tags,
                status: status.to_owned(),
                error: failure,
                outcomes,
            };
            let mut m = lock(&self.messages);
            while m.len() >= cap {
                m.pop_front();
            }
            m.push_back(msg);
        }
        Ok(Reply::ok(json!({ "MessageId": id })))
    }

    /// The identity (address or domain) that verifies `addr`, if any.
    fn verified_identity(&self, addr: &str) -> Option<String> {
        let a = addr.to_ascii_lowercase();
        let domain = a.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        for v in &self.verified {
            if v == "*" {
                return Some(domain.to_owned());
            }
            if *v == a || (!v.contains('@') && v == domain) {
                return Some(v.clone());
            }
        }
        None
    }

    // ---------------------------------------------------------------- templates

    fn create_template(&self, body: &[u8]) -> Reply {
        let req: CreateTemplateRequest = match parse_body(body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let Some(name) = req.template_name else {
            return Reply::bad_request("Missing required field TemplateName.");
        };
        if let Err(e) = validate_name("TemplateName", &name) {
            return e;
        }
        let Some(content) = req.template_content else {
            return Reply::bad_request("Missing required field TemplateContent.");
        };
        let set = match compile_content(&content) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let mut t = write(&self.templates);
        if t.contains_key(&name) {
            return Reply::already_exists(format!("Template {name} already exists."));
        }
        t.insert(
            name,
            TemplateEntry {
                set: Arc::new(set),
                created: now_ms() as f64 / 1000.0,
            },
        );
        Reply::empty()
    }

    fn update_template(&self, name: &str, body: &[u8]) -> Reply {
        let req: CreateTemplateRequest = match parse_body(body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let Some(content) = req.template_content else {
            return Reply::bad_request("Missing required field TemplateContent.");
        };
        let set = match compile_content(&content) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let mut t = write(&self.templates);
        match t.get_mut(name) {
            Some(e) => {
                e.set = Arc::new(set);
                Reply::empty()
            }
            None => Reply::not_found(format!("Template {name} does not exist.")),
        }
    }

    fn get_template(&self, name: &str) -> Reply {
        match read(&self.templates).get(name) {
            Some(e) => {
                let mut c = json!({ "Subject": e.set.subject });
                if let Some(t) = &e.set.text {
                    c["Text"] = json!(t);
                }
                if let Some(h) = &e.set.html {
                    c["Html"] = json!(h);
                }
                Reply::ok(json!({ "TemplateName": name, "TemplateContent": c, "Tags": [] }))
            }
            None => Reply::not_found(format!("Template {name} does not exist.")),
        }
    }

    fn delete_template(&self, name: &str) -> Reply {
        match write(&self.templates).remove(name) {
            Some(_) => Reply::empty(),
            None => Reply::not_found(format!("Template {name} does not exist.")),
        }
    }

    fn list_templates(&self, query: &str) -> Reply {
        let (size, token) = page_query(query);
        let size = match size {
            Ok(s) => s,
            Err(e) => return e,
        };
        let t = read(&self.templates);
        let mut items = Vec::new();
        let mut next = None;
        for (name, e) in t.range::<String, _>((
            match &token {
                Some(tok) => std::ops::Bound::Excluded(tok.clone()),
                None => std::ops::Bound::Unbounded,
            },
            std::ops::Bound::Unbounded,
        )) {
            if items.len() == size {
                next = items
                    .last()
                    .and_then(|v: &Value| v["TemplateName"].as_str().map(str::to_owned));
                break;
            }
            items.push(json!({ "TemplateName": name, "CreatedTimestamp": e.created }));
        }
        let mut out = json!({ "TemplatesMetadata": items });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Reply::ok(out)
    }

    fn test_render(&self, name: &str, body: &[u8]) -> Reply {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Req {
            template_data: Option<String>,
        }
        let req: Req = match parse_body(body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let Some(data) = req.template_data else {
            return Reply::bad_request("Missing required field TemplateData.");
        };
        let data = match parse_template_data(&data) {
            Ok(d) => d,
            Err(e) => return Reply::bad_request(e),
        };
        let Some(e) = read(&self.templates).get(name).cloned() else {
            return Reply::not_found(format!("Template {name} does not exist."));
        };
        match e.set.render(&data) {
            Ok(r) => {
                let ms = now_ms();
                let mut mime = format!(
                    "Date: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; \r\n\tboundary=\"----=_Part_sesload\"\r\n\r\n",
                    rfc2822(ms),
                    r.subject
                );
                if let Some(t) = r.text {
                    mime.push_str(&format!(
                        "------=_Part_sesload\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{t}\r\n"
                    ));
                }
                if let Some(h) = r.html {
                    mime.push_str(&format!(
                        "------=_Part_sesload\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{h}\r\n"
                    ));
                }
                mime.push_str("------=_Part_sesload--\r\n");
                Reply::ok(json!({ "RenderedTemplate": mime }))
            }
            Err(msg) => Reply::bad_request(msg),
        }
    }

    // ---------------------------------------------------------------- configuration sets

    fn create_config_set(&self, body: &[u8]) -> Reply {
        let raw: Value = match parse_body(body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some(obj) = raw.as_object() else {
            return Reply::bad_request("The request body must be a JSON object.");
        };
        let Some(name) = obj
            .get("ConfigurationSetName")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Reply::bad_request("Missing required field ConfigurationSetName.");
        };
        if let Err(e) = validate_name("ConfigurationSetName", &name) {
            return e;
        }
        let sending_enabled = match obj
            .get("SendingOptions")
            .and_then(|s| s.get("SendingEnabled"))
        {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Reply::bad_request(format!(
                    "SendingOptions.SendingEnabled must be a boolean, got {other}."
                ));
            }
        };
        let mut sets = write(&self.config_sets);
        if sets.contains_key(&name) {
            return Reply::already_exists(format!("Configuration set <{name}> already exists."));
        }
        let mut stored = raw.clone();
        if let Some(o) = stored.as_object_mut() {
            o.remove("Tags");
        }
        sets.insert(
            name,
            ConfigSet {
                raw: stored,
                sending_enabled,
                destinations: Vec::new(),
            },
        );
        Reply::empty()
    }

    fn get_config_set(&self, name: &str) -> Reply {
        match read(&self.config_sets).get(name) {
            Some(s) => {
                let mut out = s.raw.clone();
                out["ConfigurationSetName"] = json!(name);
                out["SendingOptions"] = json!({ "SendingEnabled": s.sending_enabled });
                out["Tags"] = json!([]);
                Reply::ok(out)
            }
            None => Reply::not_found(format!("Configuration set <{name}> does not exist.")),
        }
    }

    fn delete_config_set(&self, name: &str) -> Reply {
        match write(&self.config_sets).remove(name) {
            Some(_) => Reply::empty(),
            None => Reply::not_found(format!("Configuration set <{name}> does not exist.")),
        }
    }

    fn list_config_sets_body(&self, body: &[u8]) -> Reply {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "PascalCase")]
        struct Req {
            next_token: Option<String>,
            page_size: Option<i64>,
        }
        let req: Req = if body.iter().all(u8::is_ascii_whitespace) {
            Req::default()
        } else {
            match parse_body(body) {
                Ok(r) => r,
                Err(e) => return e,
            }
        };
        let size = match req.page_size {
            None => Ok(1000),
            Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
            Some(n) => Err(Reply::bad_request(format!(
                "PageSize must be between 1 and 1000, got {n}."
            ))),
        };
        self.list_config_sets(size, req.next_token)
    }

    fn list_config_sets(&self, size: Result<usize, Reply>, token: Option<String>) -> Reply {
        let size = match size {
            Ok(s) => s,
            Err(e) => return e,
        };
        let sets = read(&self.config_sets);
        let names: Vec<&String> = sets
            .keys()
            .filter(|k| token.as_ref().is_none_or(|t| *k > t))
            .take(size + 1)
            .collect();
        let more = names.len() > size;
        let page: Vec<&String> = names.into_iter().take(size).collect();
        let mut out = json!({ "ConfigurationSets": page });
        if more && let Some(last) = page.last() {
            out["NextToken"] = json!(last);
        }
        Reply::ok(out)
    }

    fn create_destination(&self, set: &str, body: &[u8]) -> Reply {
        let raw: Value = match parse_body(body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some(name) = raw
            .get("EventDestinationName")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Reply::bad_request("Missing required field EventDestinationName.");
        };
        if let Err(e) = validate_name("EventDestinationName", &name) {
            return e;
        }
        let Some(def) = raw.get("EventDestination").filter(|d| d.is_object()) else {
            return Reply::bad_request("Missing required field EventDestination.");
        };
        let enabled = match def.get("Enabled") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Reply::bad_request(format!("Enabled must be a boolean, got {other}."));
            }
        };
        let mut types = Vec::new();
        match def.get("MatchingEventTypes") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for t in a {
                    match t.as_str() {
                        Some(s) if VALID_EVENT_TYPES.contains(&s) => types.push(s.to_owned()),
                        _ => {
                            return Reply::bad_request(format!(
                                "Invalid MatchingEventTypes value {t}: expected one of {}.",
                                VALID_EVENT_TYPES.join(", ")
                            ));
                        }
                    }
                }
            }
            Some(other) => {
                return Reply::bad_request(format!(
                    "MatchingEventTypes must be a list, got {other}."
                ));
            }
        }
        if types.is_empty() {
            return Reply::bad_request("MatchingEventTypes must contain at least one event type.");
        }
        let firehose = match def.get("KinesisFirehoseDestination") {
            None | Some(Value::Null) => false,
            Some(f) => {
                for k in ["IamRoleArn", "DeliveryStreamArn"] {
                    if f.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                        return Reply::bad_request(format!(
                            "Missing required field KinesisFirehoseDestination.{k}."
                        ));
                    }
                }
                true
            }
        };
        let mut d = def.clone();
        d["Name"] = json!(name);
        d["Enabled"] = json!(enabled);
        let mut sets = write(&self.config_sets);
        let Some(s) = sets.get_mut(set) else {
            return Reply::not_found(format!("Configuration set <{set}> does not exist."));
        };
        if s.destinations.iter().any(|x| x.name == name) {
            return Reply::already_exists(format!(
                "Event destination {name} already exists in configuration set <{set}>."
            ));
        }
        s.destinations.push(Destination {
            name,
            enabled,
            types,
            firehose,
            raw: d,
        });
        Reply::empty()
    }

    fn get_destinations(&self, set: &str) -> Reply {
        match read(&self.config_sets).get(set) {
            Some(s) => {
                let d: Vec<&Value> = s.destinations.iter().map(|d| &d.raw).collect();
                Reply::ok(json!({ "EventDestinations": d }))
            }
            None => Reply::not_found(format!("Configuration set <{set}> does not exist.")),
        }
    }
}

const ALL_EVENT_TYPES: [&str; 5] = [
    "SEND",
    "DELIVERY",
    "BOUNCE",
    "COMPLAINT",
    "RENDERING_FAILURE",
];
const VALID_EVENT_TYPES: [&str; 10] = [
    "SEND",
    "REJECT",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "OPEN",
    "CLICK",
    "RENDERING_FAILURE",
    "DELIVERY_DELAY",
    "SUBSCRIPTION",
];

// -------------------------------------------------------------------- request shapes

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendEmailRequest {
    from_email_address: Option<String>,
    destination: Option<DestinationIn>,
    content: Option<EmailContent>,
    email_tags: Option<Vec<MessageTag>>,
    configuration_set_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationIn {
    to_addresses: Option<Vec<String>>,
    cc_addresses: Option<Vec<String>>,
    bcc_addresses: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EmailContent {
    simple: Option<SimpleMessage>,
    raw: Option<RawMessage>,
    template: Option<TemplateIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SimpleMessage {
    subject: Option<ContentIn>,
    body: Option<BodyIn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BodyIn {
    text: Option<ContentIn>,
    html: Option<ContentIn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContentIn {
    data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMessage {
    /// Base64 (a blob in REST-JSON).
    data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateIn {
    template_name: Option<String>,
    template_arn: Option<String>,
    template_content: Option<TemplateContentIn>,
    template_data: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateContentIn {
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageTag {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTemplateRequest {
    template_name: Option<String>,
    template_content: Option<TemplateContentIn>,
}

// -------------------------------------------------------------------- helpers

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

/// Parses a JSON body into `T`; an empty body is `{}`. Errors are `BadRequestException`s that
/// say what was wrong (serde's message names the field and the expected type).
fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Reply::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(Reply::bad_request(
            "The request body must be a JSON object.",
        ));
    }
    serde_json::from_value(v).map_err(|e| Reply::bad_request(format!("Invalid request: {e}")))
}

fn compile_content(c: &TemplateContentIn) -> Result<TemplateSet, Reply> {
    let Some(subject) = &c.subject else {
        return Err(Reply::bad_request(
            "Missing required field TemplateContent.Subject.",
        ));
    };
    if c.text.is_none() && c.html.is_none() {
        return Err(Reply::bad_request(
            "TemplateContent must contain Text or Html.",
        ));
    }
    TemplateSet::compile(subject, c.text.as_deref(), c.html.as_deref())
        .map_err(|e| Reply::bad_request(format!("Template syntax error: {e}")))
}

/// Names of templates, configuration sets and event destinations: 1-64 ASCII letters, digits,
/// `_` and `-`.
fn validate_name(field: &str, name: &str) -> Result<(), Reply> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Reply::bad_request(format!(
            "Invalid {field} {name:?}: use 1 to 64 ASCII letters, numbers, underscores or dashes."
        )));
    }
    Ok(())
}

fn validate_tags(tags: &[MessageTag]) -> Result<(), Reply> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    for t in tags {
        if !ok(&t.name) {
            return Err(Reply::bad_request(format!(
                "Invalid tag name <{}>: only ASCII letters, numbers, underscores or dashes are allowed, at most 256 characters.",
                t.name
            )));
        }
        if !ok(&t.value) {
            return Err(Reply::bad_request(format!(
                "Invalid tag value <{}> of tag {}: only ASCII letters, numbers, underscores or dashes are allowed, at most 256 characters.",
                t.value, t.name
            )));
        }
        if t.name.to_ascii_lowercase().starts_with("ses:") {
            return Err(Reply::bad_request(format!(
                "Tag name <{}> is reserved.",
                t.name
            )));
        }
    }
    Ok(())
}

/// `Name <a@b.c>` or `a@b.c` → `a@b.c`, if it looks like an address.
fn bare_address(s: &str) -> Option<String> {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let (local, domain) = addr.rsplit_once('@')?;
    let bad = |p: &str| {
        p.is_empty()
            || p.chars()
                .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',' || c.is_control())
    };
    if bad(local)
        || bad(domain)
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || local.len() > 64
        || addr.len() > 320
    {
        return None;
    }
    Some(addr.to_owned())
}

fn is_simulator(addr: &str) -> bool {
    addr.rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(SIMULATOR_DOMAIN))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Bounce,
    OutOfOffice,
    Complaint,
    Suppressed,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Bounce => "bounced",
            Self::OutOfOffice => "out_of_office",
            Self::Complaint => "complained",
            Self::Suppressed => "suppressed",
        }
    }
}

/// What the mailbox simulator does with `addr` (`name+label@` works); other recipients are
/// delivered.
fn simulator_outcome(addr: &str) -> Outcome {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Outcome::Delivered;
    };
    if !domain.eq_ignore_ascii_case(SIMULATOR_DOMAIN) {
        return Outcome::Delivered;
    }
    let base = local.split('+').next().unwrap_or("").to_ascii_lowercase();
    match base.as_str() {
        "bounce" => Outcome::Bounce,
        "ooto" => Outcome::OutOfOffice,
        "complaint" => Outcome::Complaint,
        "suppressionlist" => Outcome::Suppressed,
        _ => Outcome::Delivered,
    }
}

fn caller_identity(auth: Option<&str>) -> String {
    auth.and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| "anonymous".to_owned())
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[derive(Debug, Clone, Default)]
struct RawHeaders {
    from: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: Option<String>,
    size: usize,
}

/// Decodes the base64 raw message and reads its From/To/Cc/Subject headers.
fn parse_raw(b64: &str) -> Result<RawHeaders, Reply> {
    let bytes =
        base64_decode(b64).ok_or_else(|| Reply::bad_request("Raw.Data is not valid base64."))?;
    if bytes.is_empty() {
        return Err(Reply::bad_request("Raw.Data is empty."));
    }
    let text = String::from_utf8_lossy(&bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let head = head.split("\n\n").next().unwrap_or("");
    let mut h = RawHeaders {
        size: bytes.len(),
        ..Default::default()
    };
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        let list = || {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "from" => h.from = Some(v.to_owned()),
            "to" => h.to = list(),
            "cc" => h.cc = list(),
            "subject" => h.subject = Some(v.to_owned()),
            _ => {}
        }
    }
    Ok(h)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == key).then(|| percent_decode(&v.replace('+', " ")))
    })
}

fn page_query(query: &str) -> (Result<usize, Reply>, Option<String>) {
    let size = match query_param(query, "PageSize") {
        None => Ok(10),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n as usize),
            _ => Err(Reply::bad_request(format!(
                "PageSize must be an integer between 1 and 100, got {v:?}."
            ))),
        },
    };
    (
        size,
        query_param(query, "NextToken").filter(|t| !t.is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            bare_address("Sender <s@example.com>").as_deref(),
            Some("s@example.com")
        );
        assert_eq!(
            bare_address("s@example.com").as_deref(),
            Some("s@example.com")
        );
        assert!(bare_address("nope").is_none());
        assert!(bare_address("a b@example.com").is_none());
        assert!(bare_address("a@localhost").is_none());
        assert_eq!(
            simulator_outcome("bounce+x1@simulator.amazonses.com"),
            Outcome::Bounce
        );
        assert_eq!(
            simulator_outcome("Complaint@SIMULATOR.amazonses.com"),
            Outcome::Complaint
        );
        assert_eq!(simulator_outcome("bounce@example.com"), Outcome::Delivered);
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%2Fb%zz%"), "a/b%zz%");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert!(base64_decode("a*").is_none());
        assert_eq!(
            query_param("PageSize=5&NextToken=a%20b", "NextToken").as_deref(),
            Some("a b")
        );
        assert_eq!(
            caller_identity(Some(
                "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/ses/aws4_request, SignedHeaders=host"
            )),
            "AKIDTEST"
        );
    }
}
