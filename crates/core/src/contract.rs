//! Port contracts: the behaviours every adapter of a port must have, written once as generic
//! async functions and run against every adapter (in memory, SQLite, DynamoDB/SQS via moto,
//! SES via the simulator). Enabled by the `contract-tests` feature, which the adapter crates
//! turn on in their `[dev-dependencies]`.
//!
//! A contract function panics, naming the case and what the adapter answered, at the first
//! behaviour that differs. Keys it writes start with a fresh [`run_prefix`], so a contract can
//! run against a store that outlives the test.
//!
//! | port | contract | what the caller provides |
//! |---|---|---|
//! | [`Ledger`](crate::Ledger) | [`ledger`] | an empty-or-not ledger |
//! | [`CustomerStore`](crate::CustomerStore) | [`customer_store`] | a store seeded with [`customer_fixture`] |
//! | [`Mailer`](crate::Mailer) | [`mailer`] | a template the service has |
//! | [`DeadLetterSink`](crate::DeadLetterSink) | [`dead_letter_sink`], [`unavailable_dead_letter_sink`] | a way to read the letters back |
//! | [`VisibilityControl`](crate::VisibilityControl) | [`visibility_control`] | a [`QueueProbe`] on the same queue |
//! | [`SendSchedule`](crate::SendSchedule) | [`send_schedule`] | a fresh schedule per name |
//! | [`Parking`](crate::Parking) | [`parking`], [`unavailable_parking`] | a [`ParkingProbe`] on the source queue |
//! | [`CampaignControl`](crate::CampaignControl) | [`campaign_control`] | a store whose other keys do not start with the run's prefix |
//! | [`GuardCounters`](crate::campaign::guardrail::GuardCounters) + [`GuardCountsWriter`](crate::campaign::guardrail::GuardCountsWriter) | [`guard_counters`] | counters whose other campaigns do not start with the run's prefix |
//!
//! Real waits are short (lease expiry: [`EXPIRY_WAIT`]; visibility: about a second) and use
//! `tokio::time`, so the in-memory adapters can run them under a paused clock.

mod campaign;
mod customers;
mod guard;
mod ledger;
mod ledger_many;
mod mailer;
mod parking;
mod queue;
mod schedule;

pub use campaign::{campaign_control, campaign_control_sequential};
pub use customers::{customer_fixture, customer_store};
pub use guard::{guard_counters, guard_counters_sequential};
pub use ledger::{
    ClaimKind, EXPIRY_WAIT, LONG_LEASE, SHORT_LEASE, claim_kind, ledger, ledger_sequential,
};
pub use mailer::{MISSING_TEMPLATE, mailer};
pub use parking::{
    ORIGINAL_HIDDEN, PARK_DELAY, PARKED_RECORDS, ParkingProbe, QueuedMessage, parking,
    unavailable_parking,
};
pub use queue::{
    DETAIL_KEPT_CHARS, QueueProbe, dead_letter_fixture, dead_letter_sink,
    unavailable_dead_letter_sink, visibility_control,
};
pub use schedule::{TOLERANCE as SCHEDULE_TOLERANCE, send_schedule, send_schedule_sequential};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A key prefix no other run used: `contract-<port>-<time><counter>`, made of characters every
/// store accepts in a key (`[a-z0-9-]`).
pub fn run_prefix(port: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("contract-{port}-{nanos:x}{n:x}")
}
