//! The SES v2 REST-JSON operations, independent of the HTTP transport: `SimState::dispatch`
//! takes a method, path, query, headers and body bytes and returns a [`Reply`]. The transport
//! (`server.rs`) only reads the body, applies the reply's delay and writes it out. Tests and the
//! request-parser property test call `dispatch` directly.
//!
//! Layout: this module holds the shared state ([`SimState`]); [`route`] maps requests to
//! operations; [`send`] holds the SendEmail and SendBulkEmail pipelines; [`templates`],
//! [`config_sets`] and [`account`] the other operations; [`quota`] the sending quotas;
//! [`stats`] the counters; [`shapes`] the request bodies; [`wire`] replies and decoding helpers.

mod account;
mod config_sets;
mod permissions;
mod quota;
mod route;
mod send;
mod shapes;
mod stats;
mod templates;
mod wire;

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::config::SimConfig;
use crate::events::Lake;
use crate::render::TemplateSet;

use config_sets::ConfigSet;
use permissions::Permissions;
use quota::Quota;
pub use stats::{Counters, SimStats};
use templates::TemplateEntry;
pub use wire::Reply;
use wire::lock;

/// Domain of the SES mailbox simulator.
pub const SIMULATOR_DOMAIN: &str = "simulator.amazonses.com";
/// Most recipients (To + Cc + Bcc) in one message (SES quotas page: "50 recipients per
/// message"). A SendBulkEmail entry is one message.
pub const MAX_RECIPIENTS: usize = 50;
/// Most entries in one SendBulkEmail call. The SES v2 service model sets no maximum on
/// `BulkEmailEntries`; 50 is the limit SES documents for the operation it replaces, SES v1
/// SendBulkTemplatedEmail ("You can specify up to 50 Destination objects within a Destinations
/// array", `SendBulkTemplatedEmailRequest.Destinations` in the AWS SDK for JavaScript v3
/// reference), and the limit SES users report for SendBulkEmail.
pub const MAX_BULK_ENTRIES: usize = 50;

/// Stream of the seeded generator that draws latencies.
const LATENCY_STREAM: u64 = 0x4C41_5445_4E43_5921;
/// Stream of the seeded generator that draws event delays.
const EVENT_STREAM: u64 = 0x4556_454E_5453_2121;

/// A message accepted by SendEmail (or one SendBulkEmail entry), as `GET /_sim/messages`
/// shows it.
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

/// The simulator's state. Shared by every request.
pub struct SimState {
    pub config: SimConfig,
    /// Effective MaxSendRate (0 = unlimited).
    rate: f64,
    /// Effective Max24HourSend (-1 = unlimited).
    daily: i64,
    templates: RwLock<BTreeMap<String, TemplateEntry>>,
    config_sets: RwLock<BTreeMap<String, ConfigSet>>,
    quota: Mutex<Quota>,
    messages: Mutex<VecDeque<SentMessage>>,
    pub counters: Counters,
    pub(crate) lake: Lake,
    /// Call counter of AWS operations: the position in the seeded streams.
    seq: AtomicU64,
    /// `verified_identities`, lower-cased.
    verified: Vec<String>,
    /// `[sim.permissions]`.
    permissions: Permissions,
    /// Account-level sending (`GetAccount.SendingEnabled`).
    account_sending: AtomicBool,
    /// The account is suspended: SendEmail answers `AccountSuspendedException`.
    suspended: AtomicBool,
}

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
        for t in &config.templates {
            let set = TemplateSet::compile(&t.subject, t.text.as_deref(), t.html.as_deref())
                .map_err(|e| SimError::Config(format!("template {:?}: {e}", t.name)))?;
            templates.insert(t.name.clone(), TemplateEntry::new(set));
        }
        let sets = config
            .configuration_sets
            .iter()
            .map(|name| {
                let set = ConfigSet::with_lake(name, &config.region, &config.account_id);
                (name.clone(), set)
            })
            .collect();
        Ok(Self {
            rate,
            daily,
            templates: RwLock::new(templates),
            config_sets: RwLock::new(sets),
            quota: Mutex::new(Quota::new(rate, config.daily_window_seconds)),
            messages: Mutex::new(VecDeque::new()),
            counters: Counters::default(),
            lake,
            seq: AtomicU64::new(0),
            verified,
            permissions: Permissions::new(&config.permissions),
            account_sending: AtomicBool::new(config.account_sending_enabled),
            suspended: AtomicBool::new(config.account_suspended),
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

    /// The accepted messages, newest last (at most `limit`).
    pub fn messages(&self, limit: usize) -> Vec<SentMessage> {
        let m = lock(&self.messages);
        let skip = m.len().saturating_sub(limit);
        m.iter().skip(skip).cloned().collect()
    }

    /// Puts the account-level switches back to their configured values.
    fn reset_account(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.config;
        self.account_sending
            .store(c.account_sending_enabled, Relaxed);
        self.suspended.store(c.account_suspended, Relaxed);
    }

    /// `arn:aws:ses:REGION:ACCOUNT:<kind>/<name>` of this simulated account.
    fn arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:ses:{}:{}:{kind}/{name}",
            self.config.region, self.config.account_id
        )
    }
}
