//! Counters and the [`SimStats`] snapshot behind `GET /_sim/stats`; `POST /_sim/reset`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering as AO};

use serde::{Deserialize, Serialize};

use super::SimState;
use super::quota::Quota;
use super::route::{OP_COUNT, OP_NAMES};
use super::send::BULK_STATUSES;
use super::wire::lock;
use crate::events::EventKind;

/// Counters behind `/_sim/stats`.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: [AtomicU64; OP_COUNT],
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
    pub access_denied: AtomicU64,
    pub sending_paused: AtomicU64,
    pub account_suspended: AtomicU64,
    pub dropped_after_accept: AtomicU64,
    pub bulk_calls: AtomicU64,
    pub bulk_entries: AtomicU64,
    /// Per entry status, indexed as `BULK_STATUSES`.
    pub bulk_statuses: [AtomicU64; BULK_STATUS_COUNT],
    pub in_flight: AtomicU64,
}

/// Number of SendBulkEmail entry statuses.
pub const BULK_STATUS_COUNT: usize = BULK_STATUSES.len();

impl Counters {
    /// Every counter that `reset` zeroes (all but `in_flight`, which is live).
    fn resettable(&self) -> impl Iterator<Item = &AtomicU64> {
        self.requests
            .iter()
            .chain([
                &self.sent_messages,
                &self.sent_recipients,
                &self.throttled,
                &self.daily_quota_exceeded,
                &self.rejected,
                &self.client_errors,
                &self.rendering_failures,
                &self.fault_errors,
                &self.fault_slow,
                &self.fault_throttles,
                &self.access_denied,
                &self.sending_paused,
                &self.account_suspended,
                &self.dropped_after_accept,
                &self.bulk_calls,
                &self.bulk_entries,
            ])
            .chain(self.bulk_statuses.iter())
    }
}

/// A snapshot of the simulator's counters (`GET /_sim/stats`, [`crate::SimHandle::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimStats {
    /// AWS API requests by operation name (plus `Inspection` and `Unknown`).
    pub requests: BTreeMap<String, u64>,
    /// Messages accepted — SendEmail calls answered 200 and SendBulkEmail entries with status
    /// `SUCCESS` — including rendering failures.
    pub sent_messages: u64,
    /// Recipients of the accepted messages.
    pub sent_recipients: u64,
    /// 429 `TooManyRequestsException` from the MaxSendRate quota.
    pub throttled: u64,
    /// `LimitExceededException` from the Max24HourSend quota.
    pub daily_quota_exceeded: u64,
    /// `MessageRejected` (unverified sender, sandbox recipient).
    pub rejected: u64,
    /// HTTP 403 `AccessDeniedException`: a SendEmail naming an identity, template or
    /// configuration set outside `[sim.permissions]`.
    pub access_denied: u64,
    /// `SendingPausedException`: the account's or the configuration set's sending is paused.
    pub sending_paused: u64,
    /// `AccountSuspendedException`.
    pub account_suspended: u64,
    /// Sends accepted (in the message log, counted against the quota, events published) whose
    /// connection was then closed without an answer (`faults.drop_after_accept_rate`).
    pub dropped_after_accept: u64,
    /// SendBulkEmail calls answered 200 (with one result per entry).
    pub bulk_calls: u64,
    /// Entries of those calls (the sum of `bulk_entry_statuses`).
    pub bulk_entries: u64,
    /// Those entries by `Status` (`SUCCESS`, `ACCOUNT_THROTTLED`, ...; every status listed).
    /// Accepted entries are also in `sent_messages` and `sent_recipients`.
    pub bulk_entry_statuses: BTreeMap<String, u64>,
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
    /// Recipients counted against Max24HourSend in the rolling window
    /// (`daily_window_seconds`, 24 h by default); `SentLast24Hours` of GetAccount.
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

impl SimState {
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
        let bulk_entry_statuses = BULK_STATUSES
            .iter()
            .map(|st| (st.as_str().to_owned(), l(&c.bulk_statuses[st.index()])))
            .collect();
        SimStats {
            requests,
            sent_messages: l(&c.sent_messages),
            sent_recipients: l(&c.sent_recipients),
            throttled: l(&c.throttled),
            daily_quota_exceeded: l(&c.daily_quota_exceeded),
            rejected: l(&c.rejected),
            access_denied: l(&c.access_denied),
            sending_paused: l(&c.sending_paused),
            account_suspended: l(&c.account_suspended),
            dropped_after_accept: l(&c.dropped_after_accept),
            bulk_calls: l(&c.bulk_calls),
            bulk_entries: l(&c.bulk_entries),
            bulk_entry_statuses,
            client_errors: l(&c.client_errors),
            rendering_failures: l(&c.rendering_failures),
            fault_errors: l(&c.fault_errors),
            fault_slow: l(&c.fault_slow),
            fault_throttles: l(&c.fault_throttles),
            in_flight: l(&c.in_flight),
            sent_last_24_hours: self.sent_in_window(),
            events: ev,
            events_pending: l(&self.lake.counters.pending),
            lake_files: l(&self.lake.counters.files_rolled),
            lake_write_errors: l(&self.lake.counters.write_errors),
        }
    }

    /// Clears the message log, the counters and the quota windows, and puts the account's
    /// sending and suspension back to their configured values (templates and configuration
    /// sets, with their sending options, stay).
    pub fn reset(&self) {
        lock(&self.messages).clear();
        *lock(&self.quota) = Quota::new(self.rate, self.config.daily_window_seconds);
        self.reset_account();
        for a in self.counters.resettable() {
            a.store(0, AO::Relaxed);
        }
        self.lake.counters.reset();
    }
}
