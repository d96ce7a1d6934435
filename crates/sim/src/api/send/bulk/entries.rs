//! Steps 4-6 of SendBulkEmail: each entry on its own — sandbox recipients, the entry's fault
//! draw, rendering with its merged data — then the quotas (per entry or for the call, as
//! `bulk_throttle` says), then accepting, publishing and logging each admitted entry as its
//! own message.

use super::super::accept::Accepted;
use super::super::content::Body;
use super::super::parse::SendRequest;
use super::super::quota_cost;
use super::super::refusal::Refusal;
use super::parse::{BulkRequest, Entry};
use super::{EntryResult, Shared};
use crate::api::shapes::EmailContent;
use crate::api::wire::{Reply, lock};
use crate::api::{MAX_BULK_ENTRIES, RequestMeta, SimState};
use crate::config::BulkRefusal;

/// An entry that passed every check but the quotas.
struct Pending {
    index: usize,
    entry: Entry,
    body: Body,
}

/// Position of entry `i` of call `seq` in the per-entry streams (fault and event draws).
fn entry_seq(seq: u64, i: usize) -> u64 {
    seq.wrapping_mul(MAX_BULK_ENTRIES as u64)
        .wrapping_add(i as u64)
}

impl SimState {
    /// Sends the entries of `req`; `Err` is the whole call refused by a quota
    /// (`bulk_throttle = "call"`).
    pub(super) fn send_entries(
        &self,
        meta: &RequestMeta<'_>,
        req: BulkRequest,
        shared: Shared,
        seq: u64,
    ) -> Result<Vec<EntryResult>, Reply> {
        let BulkRequest {
            from,
            from_addr,
            set_name,
            entries,
            ..
        } = req;
        let region = &self.config.region;
        let mut results: Vec<Option<EntryResult>> = entries.iter().map(|_| None).collect();
        let mut pending = Vec::new();
        for (index, e) in entries.into_iter().enumerate() {
            let entry = match e {
                Ok(entry) => entry,
                Err(invalid) => {
                    results[index] = Some(EntryResult::failed(
                        super::BulkStatus::InvalidParameter,
                        invalid,
                    ));
                    continue;
                }
            };
            if let Err(r) = self.check_sandbox(&entry.rcpt.bare) {
                results[index] = Some(EntryResult::failed(r.status(), r.message(region)));
                continue;
            }
            if let Some((status, message)) = self.draw_entry_fault(entry_seq(seq, index)) {
                results[index] = Some(EntryResult::failed(status, message));
                continue;
            }
            let rendered = shared.template.render(&entry.data);
            let body = Body::Rendered(rendered, shared.template_name.clone());
            pending.push(Pending { index, entry, body });
        }
        let admitted = self.take_bulk_quota(&pending)?;
        for (p, quota) in pending.into_iter().zip(admitted) {
            if let Err(r) = quota {
                results[p.index] = Some(EntryResult::failed(r.status(), r.message(region)));
                continue;
            }
            let e = p.entry;
            let send = SendRequest {
                from: from.clone(),
                from_addr: from_addr.clone(),
                rcpt: e.rcpt,
                tags: e.tags,
                set_name: set_name.clone(),
                content: EmailContent {
                    simple: None,
                    raw: None,
                    template: None,
                },
                raw_headers: None,
                extra_headers: e.headers,
            };
            let accepted: Accepted = self.accept(meta, send, &shared.identity, p.body);
            let outcomes =
                self.publish_events(&accepted, shared.set.as_ref(), entry_seq(seq, p.index));
            let id = accepted.message_id().to_owned();
            self.record(accepted, outcomes);
            results[p.index] = Some(EntryResult::sent(id));
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Step 5. `entries`: each pending entry in order takes its recipients from the rate bucket
    /// and the daily quota as a SendEmail of its own would, and is refused on its own.
    /// `call`: the pending entries together take them as one message would, or the call is
    /// refused (429 / `LimitExceededException`) and nothing is taken.
    fn take_bulk_quota(&self, pending: &[Pending]) -> Result<Vec<Result<(), Refusal>>, Reply> {
        let mut q = lock(&self.quota);
        match self.config.bulk_throttle {
            BulkRefusal::Entries => Ok(pending
                .iter()
                .map(|p| {
                    let (n, counted) = quota_cost(&p.entry.rcpt.bare);
                    q.take(self.rate, self.daily, n, counted)
                })
                .collect()),
            BulkRefusal::Call => {
                let (n, counted) = pending
                    .iter()
                    .map(|p| quota_cost(&p.entry.rcpt.bare))
                    .fold((0, 0), |(a, b), (n, c)| (a + n, b + c));
                if n > 0
                    && let Err(r) = q.take(self.rate, self.daily, n, counted)
                {
                    drop(q);
                    return Err(self.refuse(r));
                }
                Ok(pending.iter().map(|_| Ok(())).collect())
            }
        }
    }
}
