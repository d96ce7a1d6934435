//! [`MemoryCampaigns`]: campaign states and cancelled records in a map.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::lock;
use crate::campaign::{
    CampaignChange, CampaignControl, CampaignEntry, CancelledRecord, SetOutcome,
};
use crate::ports::PortError;

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<String, CampaignEntry>,
    cancelled: HashSet<(String, String)>,
}

/// [`CampaignControl`] over a map, with the semantics of the SQLite and DynamoDB adapters
/// (conditional writes on the version, cancelled records counted once per code). It can be
/// made unavailable, and counts `get` calls (what a poller's cache saves).
#[derive(Debug, Default)]
pub struct MemoryCampaigns {
    state: Mutex<State>,
    unavailable: AtomicBool,
    gets: AtomicUsize,
}

impl MemoryCampaigns {
    pub fn new() -> Self {
        Self::default()
    }

    /// While `true`, every call fails (`record_cancelled` reports every record back).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Calls of `get` and `get_all` so far.
    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    /// The `(campaign, unique_code)` pairs recorded as cancelled.
    pub fn cancelled_codes(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = lock(&self.state).cancelled.iter().cloned().collect();
        v.sort();
        v
    }

    fn check(&self, op: &'static str) -> Result<(), PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            Err(PortError::new(op, "in-memory campaigns made unavailable"))
        } else {
            Ok(())
        }
    }
}

fn entry_of(s: &State, name: &str) -> CampaignEntry {
    s.entries
        .get(name)
        .cloned()
        .unwrap_or_else(|| CampaignEntry::running(name))
}

impl CampaignControl for MemoryCampaigns {
    async fn get_all(&self) -> Result<Vec<CampaignEntry>, PortError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.check("campaigns.get_all")?;
        Ok(lock(&self.state).entries.values().cloned().collect())
    }

    async fn get(&self, names: &[String]) -> Result<HashMap<String, CampaignEntry>, PortError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.check("campaigns.get")?;
        let s = lock(&self.state);
        Ok(names.iter().map(|n| (n.clone(), entry_of(&s, n))).collect())
    }

    async fn set(&self, change: &CampaignChange) -> Result<SetOutcome, PortError> {
        let (campaign, if_version) = (change.campaign.as_str(), change.if_version);
        self.check("campaigns.set")?;
        let mut s = lock(&self.state);
        let current = entry_of(&s, campaign);
        if current.version != if_version {
            return Ok(SetOutcome::Conflict(current));
        }
        let next = CampaignEntry {
            state: change.state.clone(),
            updated_by: change.updated_by.clone(),
            version: current.version + 1,
            changed_ms: Some(change.at_ms),
            ..current
        };
        s.entries.insert(campaign.to_string(), next.clone());
        Ok(SetOutcome::Applied(next))
    }

    async fn record_cancelled(&self, records: &[CancelledRecord]) -> Vec<String> {
        if self.check("campaigns.record_cancelled").is_err() {
            return records
                .iter()
                .map(|r| r.source_message_id.clone())
                .collect();
        }
        let mut s = lock(&self.state);
        for r in records {
            if s.cancelled
                .insert((r.campaign.clone(), r.unique_code.0.clone()))
            {
                let e = s
                    .entries
                    .entry(r.campaign.clone())
                    .or_insert_with(|| CampaignEntry::running(&r.campaign));
                e.cancelled += 1;
            }
        }
        Vec::new()
    }
}
