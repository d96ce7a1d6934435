//! In-memory adapters of every port: for tests, benchmarks and examples.
//!
//! They keep the semantics the processor relies on (the same contracts as the SQLite and
//! AWS adapters, see `contract` behind the `contract-tests` feature), plus knobs the real
//! ones lack: failures on demand, a scriptable mailer, and a record of every call to assert on.
//!
//! Time is `tokio::time`: under a paused runtime (`#[tokio::test(start_paused = true)]`)
//! ledger leases expire and the mailer's latency passes when the test advances the clock.
//!
//! | port | adapter | knobs |
//! |---|---|---|
//! | [`CustomerStore`](crate::CustomerStore) | [`MemoryCustomers`] | seed, make unavailable, count calls |
//! | [`Ledger`](crate::Ledger) | [`MemoryLedger`] | leases on tokio time, seed entries, make unavailable |
//! | [`Mailer`](crate::Mailer) | [`MemoryMailer`] | latency (+ per bulk entry), per-call and per-bulk-call scripts, rules (per email, bulk entries too), known templates, quota answer, records sends and bulk call sizes |
//! | [`DeadLetterSink`](crate::DeadLetterSink) | [`MemoryDeadLetters`] | fail chosen records, make unavailable |
//! | [`VisibilityControl`](crate::VisibilityControl) | [`MemoryVisibility`] | records delays, only issued receipt handles |
//! | [`Parking`](crate::Parking) | [`MemoryParking`] | records parked copies, make unavailable |
//! | [`SendSchedule`](crate::SendSchedule) | [`MemorySchedule`] | one `next_slot` on tokio time (share it with `Arc`), make unavailable |
//! | [`CampaignControl`](crate::CampaignControl) | [`MemoryCampaigns`] | make unavailable, count gets, list cancelled codes |
//! | [`GuardCounters`](crate::campaign::guardrail::GuardCounters) | [`MemoryGuardCounters`] | add to any minute, make unavailable |

mod campaigns;
mod customers;
mod fleet;
mod guard;
mod ledger;
mod mailer;
mod queue;

pub use campaigns::MemoryCampaigns;
pub use customers::MemoryCustomers;
pub use fleet::{MemoryParking, MemorySchedule};
pub use guard::MemoryGuardCounters;
pub use ledger::{LedgerEntry, MemoryLedger};
pub use mailer::{Answer, BulkCall, MemoryMailer, SentEmail};
pub use queue::{MemoryDeadLetters, MemoryVisibility, VisibilityChange};

use std::sync::{Mutex, MutexGuard};

use crate::ports::{Mailer, Ports};

/// Every port in memory but the mailer (the one a test scripts or a bench points at SES).
pub type MemoryPorts<M> = Ports<
    MemoryCustomers,
    MemoryLedger,
    M,
    MemoryDeadLetters,
    MemoryVisibility,
    MemoryParking,
    MemorySchedule,
    MemoryCampaigns,
>;

/// Fresh in-memory ports around `customers` and `mailer`: an empty ledger, dead-letter sink,
/// parking, schedule and campaign store.
pub fn ports<M: Mailer>(customers: MemoryCustomers, mailer: M) -> MemoryPorts<M> {
    Ports {
        customers,
        ledger: MemoryLedger::new(),
        mailer,
        dead_letters: MemoryDeadLetters::new(),
        visibility: MemoryVisibility::new(),
        parking: MemoryParking::new(),
        schedule: MemorySchedule::new(),
        campaigns: MemoryCampaigns::new(),
    }
}

/// A poisoned lock only means a panic elsewhere (the scriptable mailer panics on purpose):
/// the data behind it is plain values, keep using them.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
