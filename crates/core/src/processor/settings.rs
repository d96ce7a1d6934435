//! Processor settings: where the fleet's rate comes from, concurrency, caches, retry and park
//! delays.

use std::time::Duration;

use crate::request::Policy;

/// Where the fleet's send rate comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateSource {
    /// The account's `MaxSendRate` from `GetAccount` (cached for `quota_cache`). Until it has
    /// answered once, records are parked (`quota_unknown`) rather than paced at a guess.
    Account,
    /// A fixed account-wide rate in emails per second (`SES_MAX_SEND_RATE_OVERRIDE`).
    Fixed(f64),
    /// No pacing at all (benchmarks, simulators without a quota).
    Unlimited,
}

/// Which SES operation the poller sends with (`SEND_API`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendApi {
    /// One `SendEmail` call per email.
    #[default]
    Single,
    /// `SendBulkEmail`: the emails of a batch that share a sender, a template and a
    /// configuration set go out together, up to 50 per call (fewer at low rates: a call never
    /// asks for more tokens than SES's one-second bucket holds).
    Bulk,
}

impl SendApi {
    /// Every value, as written in `SEND_API`, `send_api` and the Terraform variable.
    pub const NAMES: [&'static str; 2] = ["single", "bulk"];

    pub fn as_str(self) -> &'static str {
        match self {
            SendApi::Single => "single",
            SendApi::Bulk => "bulk",
        }
    }
}

impl std::fmt::Display for SendApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SendApi {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "single" => Ok(SendApi::Single),
            "bulk" => Ok(SendApi::Bulk),
            _ => Err(format!("expected single or bulk, got {s:?}")),
        }
    }
}

/// Processor settings (usually [`PollerConfig::processor`](crate::config::PollerConfig::processor)).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessorSettings {
    pub policy: Policy,
    /// When false the ledger is never called.
    pub idempotency_enabled: bool,
    pub claim_lease: Duration,
    /// SES send calls in flight at most (1 = sequential mode).
    pub send_concurrency: usize,
    /// `SendEmail` per email, or `SendBulkEmail` per group of emails.
    pub send_api: SendApi,
    pub default_configuration_set: Option<String>,
    pub rate_source: RateSource,
    /// Fraction of the account's `MaxSendRate` the whole fleet sends at (one shared schedule).
    pub target_utilisation: f64,
    /// The event source mapping's maximum concurrency: the share an instance paces at alone
    /// while the shared schedule cannot be reached.
    pub maximum_concurrency: u32,
    pub quota_cache: Duration,
    pub customer_cache_capacity: usize,
    pub customer_cache_ttl: Duration,
    pub retry_base_delay: Duration,
    pub retry_max_delay: Duration,
    /// First delay of a record parked because SES cannot send (daily quota, sending paused,
    /// quota unknown): `park_base_delay × 2^park_count`, capped at `park_max_delay`. Also how
    /// often a closed regime gate is probed again.
    pub park_base_delay: Duration,
    /// Cap of the park delay (SQS `DelaySeconds` allows at most 900 s).
    pub park_max_delay: Duration,
    /// How long a campaign's state read from the campaign store is used before it is read
    /// again ([`CAMPAIGN_STATE_CACHE`](super::CAMPAIGN_STATE_CACHE) by default), so that a
    /// pause or a cancel takes effect within this time plus one send.
    pub campaign_state_cache: Duration,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            idempotency_enabled: true,
            claim_lease: Duration::from_secs(120),
            send_concurrency: 32,
            send_api: SendApi::Single,
            default_configuration_set: None,
            rate_source: RateSource::Account,
            target_utilisation: 0.98,
            maximum_concurrency: 2,
            quota_cache: Duration::from_secs(300),
            customer_cache_capacity: 20_000,
            customer_cache_ttl: Duration::from_secs(300),
            retry_base_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(300),
            park_base_delay: Duration::from_secs(10),
            park_max_delay: Duration::from_secs(900),
            campaign_state_cache: super::CAMPAIGN_STATE_CACHE,
        }
    }
}

impl ProcessorSettings {
    /// The same settings with one send at a time (the benchmark's baseline).
    pub fn sequential(mut self) -> Self {
        self.send_concurrency = 1;
        self
    }

    /// The fleet's rate for an account's `MaxSendRate`: `MaxSendRate × target_utilisation`.
    pub fn fleet_rate(&self, account_rate: f64) -> f64 {
        account_rate * self.target_utilisation
    }

    /// Visibility delay of a retried record: exponential in its receive count
    /// (`base × 2^(n-1)`, capped), with "equal jitter" (uniform in [d/2, d]) so that a
    /// burst of throttled records does not come back at the same instant.
    pub fn retry_delay(&self, receive_count: u32, jitter: f64) -> Duration {
        let exp = receive_count.saturating_sub(1).min(30);
        let d = self
            .retry_base_delay
            .saturating_mul(1u32 << exp)
            .min(self.retry_max_delay);
        d.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// Delay of a record parked because SES cannot send now, on its `park_count`-th park:
    /// `park_base_delay × 2^park_count`, capped at `park_max_delay`, spread over its top quarter
    /// (`[0.75 d, d]`) by `jitter` ∈ [0, 1].
    pub fn park_delay(&self, park_count: u32, jitter: f64) -> Duration {
        let max = self.park_max_delay.min(Duration::from_secs(900));
        let d = self
            .park_base_delay
            .saturating_mul(1u32 << park_count.min(30))
            .min(max);
        d.mul_f64(0.75 + 0.25 * jitter.clamp(0.0, 1.0))
    }
}
