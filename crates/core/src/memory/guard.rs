//! [`MemoryGuardCounters`]: a guardrail's per-minute counts in a map.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::lock;
use crate::campaign::guardrail::{GuardCounters, GuardCountsWriter, Tally, Window};
use crate::ports::PortError;

/// [`GuardCounters`] over a map of campaign → minute → tally, filled with [`Self::add`]. It
/// can be made unavailable.
#[derive(Debug, Default)]
pub struct MemoryGuardCounters {
    buckets: Mutex<HashMap<String, BTreeMap<u64, Tally>>>,
    unavailable: AtomicBool,
}

impl MemoryGuardCounters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `tally` to `campaign`'s bucket of `minute` (epoch minutes).
    pub fn add(&self, campaign: &str, minute: u64, tally: Tally) {
        *lock(&self.buckets)
            .entry(campaign.to_string())
            .or_default()
            .entry(minute)
            .or_default() += tally;
    }

    /// While `true`, every read fails.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }
}

impl GuardCounters for MemoryGuardCounters {
    async fn window_tally(&self, campaign: &str, window: Window) -> Result<Tally, PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "guard.window_tally",
                "in-memory guard counters made unavailable",
            ));
        }
        Ok(lock(&self.buckets)
            .get(campaign)
            .map(|b| b.range(window.minutes()).map(|(_, t)| *t).sum())
            .unwrap_or_default())
    }
}

impl GuardCountsWriter for MemoryGuardCounters {
    async fn add_counts(&self, campaign: &str, minute: u64, tally: Tally) -> Result<(), PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "guard.add_counts",
                "in-memory guard counters made unavailable",
            ));
        }
        self.add(campaign, minute, tally);
        Ok(())
    }
}
