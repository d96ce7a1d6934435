//! The campaign step: what the batch's campaigns' states ([`CampaignState`]) do to its records.
//!
//! Once per batch, before the customer lookup, the processor reads the states of the campaigns
//! of its valid records (the value of their `campaign` tag) in one [`CampaignControl::get`]
//! call, through a per-instance cache ([`CampaignStates`], entries kept
//! [`CAMPAIGN_STATE_CACHE`]):
//!
//! | state | the records |
//! |---|---|
//! | `running` (or no `campaign` tag) | sent as usual |
//! | `paused`, `auto_paused` ([`CampaignState::parks`]) | parked, reason `campaign_paused` (acknowledged, a copy queued again with the park delay: no receive budget spent) |
//! | `cancelled` ([`CampaignState::is_cancelled`]) | recorded with [`CampaignControl::record_cancelled`] at the end of the batch, then acknowledged without sending; a record the store could not record is retried (a batch item failure), never dropped |
//!
//! Each record's task checks its campaign again just before it claims its send (after waiting
//! for its send slot), through the same cache: a pause or cancel that arrives while a batch is
//! sending stops the rest of the batch once the cached state is older than the cache time.
//!
//! When the store cannot be read (error, or no answer by the last send start), the last states
//! this instance read are kept, however old, and the store is asked again after the cache time;
//! a record whose campaign's state was never read is retried (batch item failure with the
//! retry delay), so that an unreachable store neither stops sending for good nor lets a paused
//! campaign be sent without anyone having checked it.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::deadline::within;
use super::send::RecordMeta;
use super::steps::{Batch, Step};
use super::{BatchCtx, BatchProcessor, Inner, RetryCause};
use crate::campaign::{CAMPAIGN_TAG, CampaignControl, CampaignState};
use crate::model::{OutgoingEmail, ParkReason, SendRequest, Tag};
use crate::ports::PortSet;

/// How long a campaign state read from the store is used before it is read again: a pause or a
/// cancel takes effect in the poller within this time (plus one send).
pub const CAMPAIGN_STATE_CACHE: Duration = Duration::from_secs(5);

/// A cached state not asked for during this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// The value of the `campaign` tag among `tags`.
pub(super) fn campaign_of(tags: &[Tag]) -> Option<&str> {
    tags.iter()
        .find(|t| t.name == CAMPAIGN_TAG)
        .map(|t| t.value.as_str())
}

#[derive(Debug)]
struct Known {
    state: CampaignState,
    read_at: Instant,
    used_at: Instant,
}

#[derive(Debug, Default)]
struct Cache {
    known: HashMap<String, Known>,
    /// When the last read failed: stale states are kept until `failed_at + ttl`.
    failed_at: Option<Instant>,
}

/// The campaign store behind a per-instance cache. Reads are single-flight: the tasks of a
/// batch that find a state stale wait for one read rather than each making their own.
pub(super) struct CampaignStates<C> {
    control: C,
    ttl: Duration,
    cache: Mutex<Cache>,
}

impl<C: CampaignControl> CampaignStates<C> {
    pub(super) fn new(control: C, ttl: Duration) -> Self {
        Self {
            control,
            ttl,
            cache: Mutex::new(Cache::default()),
        }
    }

    pub(super) fn control(&self) -> &C {
        &self.control
    }

    /// The states of `names`, read from the store in one call for those whose cached state is
    /// older than the cache time (together with the other stale states asked for lately), the
    /// others from the cache. A name absent from the answer has no known state: the store
    /// could not be read and this instance never read it. The read is bounded by `limit`.
    pub(super) async fn states(
        &self,
        names: &[String],
        limit: Option<Instant>,
    ) -> HashMap<String, CampaignState> {
        let Some(mut cache) = within(limit, self.cache.lock()).await else {
            return HashMap::new();
        };
        let now = Instant::now();
        let ttl = self.ttl;
        let stale = |k: &Known| now >= k.read_at + ttl;
        let mut want: Vec<String> = names
            .iter()
            .filter(|n| cache.known.get(n.as_str()).is_none_or(stale))
            .cloned()
            .collect();
        let unknown = want.iter().any(|n| !cache.known.contains_key(n));
        let backing_off = cache.failed_at.is_some_and(|t| now < t + ttl);
        if !want.is_empty() && (unknown || !backing_off) {
            for (n, k) in &cache.known {
                if stale(k) && now < k.used_at + ttl && !want.contains(n) {
                    want.push(n.clone());
                }
            }
            match within(limit, self.control.get(&want)).await {
                Some(Ok(entries)) => {
                    cache.failed_at = None;
                    for (name, e) in entries {
                        let used_at = cache.known.get(&name).map_or(now, |k| k.used_at);
                        cache.known.insert(
                            name,
                            Known {
                                state: e.state,
                                read_at: now,
                                used_at,
                            },
                        );
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, campaigns = ?want,
                        "campaign states could not be read; keeping the last states read, retrying records of campaigns never read");
                    cache.failed_at = Some(now);
                }
                None => {
                    tracing::warn!(campaigns = ?want,
                        "campaign states still being read at the last send start; keeping the last states read");
                    cache.failed_at = Some(now);
                }
            }
        }
        cache.known.retain(|_, k| now < k.used_at + FORGET_AFTER);
        names
            .iter()
            .filter_map(|n| {
                let k = cache.known.get_mut(n)?;
                k.used_at = now;
                Some((n.clone(), k.state.clone()))
            })
            .collect()
    }
}

impl<P: PortSet> BatchProcessor<P> {
    /// Step 4: the states of the valid records' campaigns (one read, cached); the records of
    /// paused campaigns are parked, those of cancelled ones set aside to be recorded, those of
    /// campaigns whose state is unknown retried. Returns the records still to send.
    pub(super) async fn steer_campaigns(
        &self,
        valid: Vec<(usize, SendRequest)>,
        ctx: &BatchCtx,
        batch: &mut Batch<'_>,
    ) -> Vec<(usize, SendRequest)> {
        let mut names: Vec<String> = valid
            .iter()
            .filter_map(|(_, r)| campaign_of(&r.tags).map(str::to_string))
            .collect();
        if names.is_empty() {
            return valid;
        }
        names.sort_unstable();
        names.dedup();
        let inner = &self.inner;
        let states = inner
            .campaigns
            .states(&names, ctx.deadline.last_send_start())
            .await;
        let mut keep = Vec::with_capacity(valid.len());
        for (i, r) in valid {
            let Some(name) = campaign_of(&r.tags) else {
                keep.push((i, r));
                continue;
            };
            match states.get(name) {
                None => batch.decide(i, Step::Retry(RetryCause::CampaignStateUnknown)),
                Some(s) if s.parks() => {
                    let delay = inner.park_delay(
                        ParkReason::CampaignPaused,
                        batch.records[i].park_count,
                        None,
                    );
                    batch.decide(i, Step::park(ParkReason::CampaignPaused, delay));
                }
                Some(s) if s.is_cancelled() => batch.decide(
                    i,
                    Step::Cancelled {
                        campaign: name.to_string(),
                        unique_code: r.unique_code.clone(),
                    },
                ),
                Some(_) => keep.push((i, r)),
            }
        }
        keep
    }

    /// Step 8 (first part): record the records of cancelled campaigns in one call, bounded by
    /// `limit`; those the store did not record are retried.
    pub(super) async fn write_cancelled(&self, batch: &mut Batch<'_>, limit: Option<Instant>) {
        let records = batch.cancelled();
        if records.is_empty() {
            return;
        }
        let control = self.inner.campaigns.control();
        let failed = within(limit, control.record_cancelled(&records))
            .await
            .unwrap_or_else(|| {
                records
                    .iter()
                    .map(|r| r.source_message_id.clone())
                    .collect()
            });
        if !failed.is_empty() {
            tracing::warn!(
                count = failed.len(),
                "cancelled records not recorded; returning them as batch item failures"
            );
        }
        batch.cancel_writes_failed(&failed);
    }
}

impl<P: PortSet> Inner<P> {
    /// Just before a record's claim: the step that replaces its send if its campaign was paused
    /// or cancelled since the batch started (the cached state, read again once stale). An
    /// unknown state changes nothing: the batch's step read it.
    pub(super) async fn campaign_stop(
        &self,
        meta: &RecordMeta,
        email: &OutgoingEmail,
        ctx: &BatchCtx,
    ) -> Option<Step> {
        let name = campaign_of(&email.tags)?;
        let states = self
            .campaigns
            .states(&[name.to_string()], ctx.deadline.last_send_start())
            .await;
        match states.get(name) {
            Some(s) if s.parks() => {
                tracing::info!(message_id = %meta.message_id, campaign = name, "campaign paused during the batch; parking the record");
                let delay = self.park_delay(ParkReason::CampaignPaused, meta.park_count, None);
                Some(Step::park(ParkReason::CampaignPaused, delay))
            }
            Some(s) if s.is_cancelled() => Some(Step::Cancelled {
                campaign: name.to_string(),
                unique_code: email.unique_code.clone(),
            }),
            _ => None,
        }
    }
}
