//! Simulator configuration: one struct that is both the `[sim]` section of `sesload.toml`
//! (serde, every field optional with a default) and what `sesload sim` flags fill in.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything the simulator can be told. `SimConfig::default()` is a fresh production account
/// (14 emails/s, 50,000 per 24 h) with ~50 ms p50 latency, no faults, the default configuration
/// set `load-test-config` with a lake destination (the lake itself is off until
/// `events.lake_dir` is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Region the simulator claims to be (ARNs, error texts). Default `us-east-1`.
    pub region: String,
    /// Account id in ARNs and `mail.sendingAccountId`. Default `123456789012`.
    pub account_id: String,
    /// Sandbox mode: only verified identities and mailbox-simulator addresses may receive
    /// mail, and the quota defaults become 1/s and 200 per 24 h. Default false.
    pub sandbox: bool,
    /// Maximum send rate in recipients per second (token bucket, burst = one second's worth).
    /// `0` = unlimited. `None` = 14 (production) or 1 (sandbox).
    pub max_send_rate: Option<f64>,
    /// Maximum recipients per rolling window of `daily_window_seconds` (mailbox-simulator
    /// recipients exempt). `-1` = unlimited (as SES reports it). `None` = 50,000 (production)
    /// or 200 (sandbox).
    pub max_24_hour_send: Option<i64>,
    /// Length of the rolling window `Max24HourSend` and `SentLast24Hours` count over, in
    /// seconds. Default 86,400 (24 h, as SES); a few seconds lets a test exhaust the daily
    /// quota and see it come back. Must be >= 1.
    pub daily_window_seconds: u64,
    /// Whether the account may send at start (`GetAccount.SendingEnabled`); changed at run
    /// time by `PutAccountSendingAttributes` or `POST /_sim/account/sending`. Default true.
    pub account_sending_enabled: bool,
    /// Whether the account starts suspended: every SendEmail answers
    /// `AccountSuspendedException`. Changed at run time by `POST /_sim/account/suspension`.
    /// Default false.
    pub account_suspended: bool,
    /// What the caller's IAM policy allows `ses:SendEmail` on. Default: everything.
    pub permissions: PermissionsConfig,
    /// Verified identities: e-mail addresses (`sender@example.com`) or domains
    /// (`example.com`, which covers every address at that domain). `*` verifies everything.
    /// Default `["example.com"]`. `simulator.amazonses.com` recipients are always allowed.
    pub verified_identities: Vec<String>,
    /// Per-call latency model.
    pub latency: LatencyConfig,
    /// Seeded fault injection (applies to SendEmail and SendBulkEmail only).
    pub faults: FaultConfig,
    /// Event publishing to the local lake.
    pub events: EventConfig,
    /// Configuration sets that exist at start, each with a Firehose-like event destination
    /// named `lake` publishing every event type to the lake. Default `["load-test-config"]`.
    pub configuration_sets: Vec<String>,
    /// Email templates that exist at start.
    pub templates: Vec<TemplateSeed>,
    /// How many accepted messages `GET /_sim/messages` remembers (oldest dropped first).
    /// Default 10,000.
    pub message_log_capacity: usize,
    /// Largest request body accepted, in bytes; larger → 400 `BadRequestException`.
    /// Default 41,943,040 (40 MiB, SES v2's message size limit).
    pub max_body_bytes: usize,
    /// How SendBulkEmail answers a call whose recipients do not all fit the quotas
    /// (MaxSendRate, Max24HourSend): `entries` (default) — the entries are taken in order, one
    /// by one as separate sends would be, and those that do not fit get `ACCOUNT_THROTTLED` /
    /// `ACCOUNT_DAILY_QUOTA_EXCEEDED`; `call` — the whole call is refused with 429
    /// `TooManyRequestsException` / 400 `LimitExceededException` and nothing is sent.
    pub bulk_throttle: BulkRefusal,
    /// How SendBulkEmail answers a refusal that is the same for every entry (account
    /// suspended or paused, configuration set missing, paused or with a missing IP pool,
    /// sender not verified, template missing): `call` (default) — the HTTP error SendEmail
    /// would give; `entries` — a 200 whose every entry carries the matching status.
    pub bulk_shared_errors: BulkRefusal,
}

/// Whether a SendBulkEmail refusal fails the whole call or is reported per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkRefusal {
    /// The whole call gets the HTTP error (nothing is sent).
    Call,
    /// The call is answered 200 and each entry concerned carries the refusal as its status.
    Entries,
}

impl BulkRefusal {
    /// `call` or `entries`, as in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Entries => "entries",
        }
    }
}

impl std::str::FromStr for BulkRefusal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "call" => Ok(Self::Call),
            "entries" => Ok(Self::Entries),
            _ => Err(format!("expected `call` or `entries`, got {s:?}")),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            sandbox: false,
            max_send_rate: None,
            max_24_hour_send: None,
            daily_window_seconds: 86_400,
            account_sending_enabled: true,
            account_suspended: false,
            permissions: PermissionsConfig::default(),
            verified_identities: vec!["example.com".into()],
            latency: LatencyConfig::default(),
            faults: FaultConfig::default(),
            events: EventConfig::default(),
            configuration_sets: vec!["load-test-config".into()],
            templates: Vec::new(),
            message_log_capacity: 10_000,
            max_body_bytes: 40 * 1024 * 1024,
            bulk_throttle: BulkRefusal::Entries,
            bulk_shared_errors: BulkRefusal::Call,
        }
    }
}

impl SimConfig {
    /// The effective `MaxSendRate` (0 = unlimited).
    pub fn effective_max_send_rate(&self) -> f64 {
        self.max_send_rate
            .unwrap_or(if self.sandbox { 1.0 } else { 14.0 })
    }

    /// The effective `Max24HourSend` (-1 = unlimited).
    pub fn effective_max_24_hour_send(&self) -> i64 {
        self.max_24_hour_send
            .unwrap_or(if self.sandbox { 200 } else { 50_000 })
    }

    /// A configuration for benchmarks and functional tests: no latency, no quota, no faults.
    pub fn unthrottled() -> Self {
        Self {
            max_send_rate: Some(0.0),
            max_24_hour_send: Some(-1),
            latency: LatencyConfig::fixed(0.0),
            ..Self::default()
        }
    }

    /// Checks values that serde cannot (ranges, probabilities). Error names the bad value.
    pub fn validate(&self) -> Result<(), crate::SimError> {
        let bad = |m: String| Err(crate::SimError::Config(m));
        let rate = self.effective_max_send_rate();
        if !(rate.is_finite() && rate >= 0.0) {
            return bad(format!(
                "max_send_rate must be >= 0 (0 = unlimited), got {rate}"
            ));
        }
        let day = self.effective_max_24_hour_send();
        if day < -1 {
            return bad(format!(
                "max_24_hour_send must be >= -1 (-1 = unlimited), got {day}"
            ));
        }
        if self.daily_window_seconds == 0 {
            return bad("daily_window_seconds must be >= 1, got 0".into());
        }
        let l = &self.latency;
        if !(l.p50_ms.is_finite() && l.p50_ms >= 0.0 && l.p99_ms.is_finite() && l.p99_ms >= 0.0) {
            return bad(format!(
                "latency must be >= 0 ms, got p50={} p99={}",
                l.p50_ms, l.p99_ms
            ));
        }
        if !(l.bulk_per_entry_ms.is_finite() && (0.0..=10_000.0).contains(&l.bulk_per_entry_ms)) {
            return bad(format!(
                "latency.bulk_per_entry_ms must be in [0, 10000] ms, got {}",
                l.bulk_per_entry_ms
            ));
        }
        if l.p99_ms < l.p50_ms {
            return bad(format!(
                "latency p99 ({}) must be >= p50 ({})",
                l.p99_ms, l.p50_ms
            ));
        }
        let f = &self.faults;
        for (name, p) in [
            ("faults.error_rate", f.error_rate),
            ("faults.slow_rate", f.slow_rate),
            ("faults.throttle_rate", f.throttle_rate),
            ("faults.drop_after_accept_rate", f.drop_after_accept_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("{name} must be a probability in [0, 1], got {p}"));
            }
        }
        let sum = f.error_rate + f.slow_rate + f.throttle_rate + f.drop_after_accept_rate;
        if sum > 1.0 {
            return bad(format!(
                "faults.error_rate + slow_rate + throttle_rate + drop_after_accept_rate must be <= 1, got {sum}"
            ));
        }
        for (name, p) in [
            (
                "faults.entry_transient_failure_rate",
                f.entry_transient_failure_rate,
            ),
            ("faults.entry_failure_rate", f.entry_failure_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("{name} must be a probability in [0, 1], got {p}"));
            }
        }
        let sum = f.entry_transient_failure_rate + f.entry_failure_rate;
        if sum > 1.0 {
            return bad(format!(
                "faults.entry_transient_failure_rate + entry_failure_rate must be <= 1, got {sum}"
            ));
        }
        let e = &self.events;
        if e.delivery_delay_ms_max < e.delivery_delay_ms_min {
            return bad(format!(
                "events.delivery_delay_ms_max ({}) must be >= delivery_delay_ms_min ({})",
                e.delivery_delay_ms_max, e.delivery_delay_ms_min
            ));
        }
        if e.roll_bytes == 0 {
            return bad("events.roll_bytes must be > 0".into());
        }
        if self.message_log_capacity > 10_000_000 {
            return bad(format!(
                "message_log_capacity must be <= 10000000, got {}",
                self.message_log_capacity
            ));
        }
        for t in &self.templates {
            crate::render::TemplateSet::compile(&t.subject, t.text.as_deref(), t.html.as_deref())
                .map_err(|e| crate::SimError::Config(format!("template {:?}: {e}", t.name)))?;
        }
        Ok(())
    }
}

/// Latency added to every AWS API call (not to `/_sim/*`), with `tokio::time::sleep`, so a
/// slow call never holds up another one. `p50_ms == p99_ms` → fixed latency; otherwise a
/// log-normal distribution with that median and 99th percentile. A SendBulkEmail answered 200
/// also waits `bulk_per_entry_ms` for each of its entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatencyConfig {
    /// Median latency in milliseconds. Default 50.
    pub p50_ms: f64,
    /// 99th percentile latency in milliseconds. Default 120.
    pub p99_ms: f64,
    /// Extra latency per entry of a SendBulkEmail, in milliseconds (SES composes, renders and
    /// queues each entry as its own message). Default 1, the same assumption as
    /// `sesload plan --bulk-per-entry-ms`.
    pub bulk_per_entry_ms: f64,
}

impl LatencyConfig {
    /// A fixed latency per call, whatever the call (no per-entry cost).
    pub fn fixed(ms: f64) -> Self {
        Self {
            p50_ms: ms,
            p99_ms: ms,
            bulk_per_entry_ms: 0.0,
        }
    }
}

impl Default for LatencyConfig {
    fn default() -> Self {
        Self {
            p50_ms: 50.0,
            p99_ms: 120.0,
            bulk_per_entry_ms: 1.0,
        }
    }
}

/// Fault injection on `SendEmail` and `SendBulkEmail`. Each call draws one number from a
/// generator seeded with `seed` and the call's sequence number, so the same sequence of calls
/// with the same seed gets the same faults. Probabilities are exclusive slices of one draw.
/// Each SendBulkEmail entry draws once more (from the call's number and its position) for the
/// entry-level faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the fault and latency generator. Default 0.
    pub seed: u64,
    /// Probability of a 5xx: half `InternalFailure` (500), half `ServiceUnavailable` (503).
    pub error_rate: f64,
    /// Probability of a slow response: `slow_ms` extra latency (clients with a shorter
    /// timeout see a timeout). The call still succeeds if the client waits.
    pub slow_rate: f64,
    /// Extra latency of a slow response in milliseconds. Default 10,000.
    pub slow_ms: u64,
    /// Probability of an extra `TooManyRequestsException` (429) regardless of the quota.
    pub throttle_rate: f64,
    /// Probability that an accepted send is processed in full (message log, quota, events)
    /// and then the connection is closed without an answer: the client cannot tell whether
    /// the email went out. Calls that would be refused are answered as usual.
    pub drop_after_accept_rate: f64,
    /// Probability that a SendBulkEmail entry fails with `TRANSIENT_FAILURE` (not sent, no
    /// quota used; a retry may succeed).
    pub entry_transient_failure_rate: f64,
    /// Probability that a SendBulkEmail entry fails with `FAILED` (not sent, no quota used).
    pub entry_failure_rate: f64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            error_rate: 0.0,
            slow_rate: 0.0,
            slow_ms: 10_000,
            throttle_rate: 0.0,
            drop_after_accept_rate: 0.0,
            entry_transient_failure_rate: 0.0,
            entry_failure_rate: 0.0,
        }
    }
}

/// What `ses:SendEmail` is allowed on, as an IAM policy scopes a caller's role. Each list holds
/// names (`example.com`, `MyTemplate`) or ARNs (`arn:aws:ses:us-east-1:123456789012:template/My*`);
/// `*` and `?` are wildcards as in IAM. An absent list allows every resource of that kind; an
/// empty list allows none. A SendEmail naming a resource outside its list answers HTTP 403
/// `AccessDeniedException`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PermissionsConfig {
    /// Sending identities (the verified address or domain the sender sends as).
    pub identities: Option<Vec<String>>,
    /// Stored templates named by `TemplateName` or `TemplateArn`.
    pub templates: Option<Vec<String>>,
    /// Configuration sets named by `ConfigurationSetName`.
    pub configuration_sets: Option<Vec<String>>,
    /// The caller named in denials. Default
    /// `arn:aws:sts::ACCOUNT:assumed-role/sesload-sim/<access key id of the call>`.
    pub principal: Option<String>,
}

/// Event publishing: SES event records as JSON lines under
/// `<lake_dir>/ses_events/dt=YYYY-MM-DD/hour=HH/*.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventConfig {
    /// Lake root (`<data-dir>/lake`). `None` (the default) = publish nowhere (events are still
    /// counted); `sesload sim` sets it to `<data-dir>/lake` unless given.
    pub lake_dir: Option<PathBuf>,
    /// Delivery / Bounce arrive this long after the send: uniform in [min, max] ms,
    /// reported as `processingTimeMillis`. Default 300..1500.
    pub delivery_delay_ms_min: u64,
    /// See `delivery_delay_ms_min`.
    pub delivery_delay_ms_max: u64,
    /// A Complaint follows its Delivery after this many ms. Default 1000.
    pub complaint_delay_ms: u64,
    /// Roll (close and atomically rename) a lake file at this size. Default 8 MiB.
    pub roll_bytes: u64,
    /// Roll a lake file this long after its first record. Default 1000 ms.
    pub roll_ms: u64,
}

impl Default for EventConfig {
    fn default() -> Self {
        Self {
            lake_dir: None,
            delivery_delay_ms_min: 300,
            delivery_delay_ms_max: 1500,
            complaint_delay_ms: 1000,
            roll_bytes: 8 * 1024 * 1024,
            roll_ms: 1000,
        }
    }
}

/// A template created at start (as if by `CreateEmailTemplate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSeed {
    pub name: String,
    pub subject: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
}
