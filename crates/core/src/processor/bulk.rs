//! Bulk sending (`send_api = bulk`): the emails of a batch that share what one `SendBulkEmail`
//! call must share — sender, template, configuration set — go out together, each entry still
//! kept, claimed, classified and settled on its own.
//!
//! One call's task: a send permit → the regime gate, entry by entry → one **block** of send
//! slots, one per entry, contiguous in the fleet's schedule ([`Pacer::acquire_block`]), due at its
//! last slot → every entry's campaign checked again and every entry claimed in the ledger just
//! before that → the gate and the deadline
//! checked again → one `send_bulk` → every entry's answer on its own: `SUCCESS` records the
//! message id; a refused entry is handled exactly as a single send refused with the same class
//! (throttled, daily quota and paused park; permanent statuses dead-letter with the status in
//! the detail; transient ones retry). A call that fails as a whole is every entry failing as a
//! single send would (a call that may have reached SES keeps every claim: the next attempt of
//! each entry is an ambiguous retry). Nothing here sends an entry twice: a retried entry comes
//! back alone, through the queue and the ledger.
//!
//! **Entries per call.** SES counts a call's entries against its one-second bucket of
//! `MaxSendRate` tokens, so a call never carries more entries than the fleet's rate
//! ([`entries_per_call`]): 50 from 50 emails/s up, 13 at 14/s, 1 in the sandbox.
//!
//! [`Pacer::acquire_block`]: crate::pacer::Pacer::acquire_block

use std::sync::atomic::Ordering;

use futures::future::join_all;
use tokio::time::Instant;

use super::deadline::within;
use super::gate::Admission;
use super::send::{CLAIM_LEAD, ClaimStep, Fate, RecordMeta, TaskResult, suspended};
use super::steps::Step;
use super::{BatchCtx, Inner};
use crate::model::{MessageId, OutgoingEmail, ParkReason, UniqueCode};
use crate::pacer::Slot;
use crate::ports::{
    BulkEntryResult, ClaimToken, Ledger, MAX_BULK_ENTRIES, Mailer, PortError, PortSet, SendFailure,
};

/// The most entries one call carries at a fleet rate of `fleet_rate` emails/s: as many as SES's
/// bucket refills in one second, at least 1, at most [`MAX_BULK_ENTRIES`] (unpaced: 50).
pub fn entries_per_call(fleet_rate: f64) -> usize {
    if !fleet_rate.is_finite() {
        return MAX_BULK_ENTRIES;
    }
    let n = fleet_rate.floor().max(1.0).min(MAX_BULK_ENTRIES as f64);
    n as usize
}

/// The calls of a batch: its emails grouped by (sender, template, configuration set) in order
/// of first appearance, each group split into calls of at most `per_call` entries, as even as
/// possible (60 at 50 a call: two calls of 30).
pub(super) fn calls(
    emails: Vec<(usize, OutgoingEmail)>,
    per_call: usize,
) -> Vec<Vec<(usize, OutgoingEmail)>> {
    let per_call = per_call.clamp(1, MAX_BULK_ENTRIES);
    let mut groups: Vec<Vec<(usize, OutgoingEmail)>> = Vec::new();
    for (i, e) in emails {
        let same = |g: &Vec<(usize, OutgoingEmail)>| {
            let f = &g[0].1;
            f.from == e.from
                && f.template_name == e.template_name
                && f.configuration_set == e.configuration_set
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push((i, e)),
            None => groups.push(vec![(i, e)]),
        }
    }
    let mut out = Vec::new();
    for g in groups {
        let n = g.len().div_ceil(per_call);
        let size = g.len().div_ceil(n);
        let mut it = g.into_iter().peekable();
        while it.peek().is_some() {
            out.push(it.by_ref().take(size).collect());
        }
    }
    out
}

/// One entry the gate admitted.
struct Admitted {
    /// Its position in the call.
    k: usize,
    counted: bool,
    probe: bool,
}

/// One entry claimed for the send.
struct Claimed {
    a: Admitted,
    token: Option<ClaimToken>,
    ambiguous: bool,
}

impl<P: PortSet> Inner<P> {
    /// One `SendBulkEmail` call's task: a [`TaskResult`] per email, in the order given.
    pub(super) async fn send_call(
        &self,
        metas: Vec<RecordMeta>,
        emails: Vec<OutgoingEmail>,
        ctx: &BatchCtx,
    ) -> Vec<TaskResult> {
        let d = ctx.deadline;
        // A call takes a block of slots, never the per-send pool.
        for _ in &emails {
            ctx.no_slot_needed();
        }
        let mut out: Vec<Option<TaskResult>> = emails.iter().map(|_| None).collect();
        let settle = |out: &mut Vec<Option<TaskResult>>, k: usize, step: Step| {
            out[k] = Some(TaskResult::without_send(step));
        };
        // The semaphore is never closed.
        let Some(permit) = within(d.last_send_start(), self.semaphore.acquire()).await else {
            for (k, m) in metas.iter().enumerate() {
                settle(&mut out, k, self.park(ParkReason::Deadline, m, None));
            }
            return finish(out);
        };
        let _permit = permit.ok();
        let mut admitted = Vec::with_capacity(emails.len());
        for (k, e) in emails.iter().enumerate() {
            if ctx.suspended.load(Ordering::SeqCst) {
                settle(&mut out, k, suspended());
                continue;
            }
            match self.gate.admit(e) {
                Admission::Park(reason) => settle(&mut out, k, self.park(reason, &metas[k], None)),
                Admission::Send { counted, probe } => admitted.push(Admitted { k, counted, probe }),
            }
        }
        if admitted.is_empty() {
            return finish(out);
        }
        let tokens = u32::try_from(admitted.len()).unwrap_or(u32::MAX);
        let (slot, fallback) = match self
            .pacer
            .acquire_block(&self.schedule, tokens, d.last_send_start())
            .await
        {
            Slot::At { at, fallback } => (at, fallback),
            Slot::TooLate => {
                for a in admitted {
                    self.gate.not_sent(&emails[a.k], a.counted, a.probe);
                    settle(
                        &mut out,
                        a.k,
                        self.park(ParkReason::Deadline, &metas[a.k], None),
                    );
                }
                return finish(out);
            }
        };
        if let Some(early) = slot.checked_sub(CLAIM_LEAD)
            && early > Instant::now()
        {
            tokio::time::sleep_until(early).await;
        }
        // A campaign paused or cancelled since the batch started stops its entries here, as it
        // stops a single send before its claim.
        let stops = join_all(
            admitted
                .iter()
                .map(|a| self.campaign_stop(&metas[a.k], &emails[a.k], ctx)),
        )
        .await;
        let mut admitted_now = Vec::with_capacity(admitted.len());
        for (a, stop) in admitted.into_iter().zip(stops) {
            match stop {
                Some(step) => {
                    self.gate.not_sent(&emails[a.k], a.counted, a.probe);
                    settle(&mut out, a.k, step);
                }
                None => admitted_now.push(a),
            }
        }
        let admitted = admitted_now;
        let claims = self
            .claim_entries(
                admitted
                    .iter()
                    .map(|a| (&metas[a.k], &emails[a.k].unique_code))
                    .collect(),
                ctx,
            )
            .await;
        let mut claimed = Vec::with_capacity(admitted.len());
        for (a, c) in admitted.into_iter().zip(claims) {
            match c {
                ClaimStep::Send { token, ambiguous } => claimed.push(Claimed {
                    a,
                    token,
                    ambiguous,
                }),
                ClaimStep::Done(step) => {
                    self.gate.not_sent(&emails[a.k], a.counted, a.probe);
                    settle(&mut out, a.k, step);
                }
            }
        }
        tokio::time::sleep_until(slot).await;
        // Whatever closed while waiting: nothing reached SES, the claim goes back (unless
        // re-taken: an earlier attempt may have sent).
        let mut sending = Vec::with_capacity(claimed.len());
        for c in claimed {
            let (k, e) = (c.a.k, &emails[c.a.k]);
            let closed = if ctx.suspended.load(Ordering::SeqCst) {
                Some(suspended())
            } else if let Some(reason) = self.gate.closed_for(e, c.a.probe) {
                Some(self.park(reason, &metas[k], None))
            } else if !d.may_start_send() {
                Some(self.park(ParkReason::Deadline, &metas[k], None))
            } else {
                None
            };
            match closed {
                Some(step) => {
                    if !c.ambiguous {
                        self.release(&metas[k], &e.unique_code, c.token.as_ref(), ctx)
                            .await;
                    }
                    self.gate.not_sent(e, c.a.counted, c.a.probe);
                    settle(&mut out, k, step);
                }
                None => sending.push(c),
            }
        }
        if sending.is_empty() {
            return finish(out);
        }
        let call: Vec<OutgoingEmail> = sending.iter().map(|c| emails[c.a.k].clone()).collect();
        let t0 = Instant::now();
        let answer = within(d.send_end(), self.mailer.send_bulk(&call))
            .await
            .unwrap_or_else(|| {
                Err(SendFailure {
                    code: "Timeout".into(),
                    message: "SendBulkEmail cut at the invocation's deadline".into(),
                    status: None,
                    maybe_sent: true,
                })
            });
        let ses_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let answers: Vec<BulkEntryResult> = match answer {
            Ok(mut entries) => {
                if entries.len() != sending.len() {
                    tracing::error!(
                        entries = sending.len(),
                        answers = entries.len(),
                        "SendBulkEmail answered another number of entries; the unanswered ones may have been sent"
                    );
                }
                entries.resize_with(sending.len(), || {
                    Err(SendFailure {
                        code: "ResponseError".into(),
                        message: "no answer for this SendBulkEmail entry".into(),
                        status: Some(200),
                        maybe_sent: true,
                    })
                });
                entries.truncate(sending.len());
                entries
            }
            Err(f) => {
                tracing::warn!(entries = sending.len(), code = %f.code, status = ?f.status, maybe_sent = f.maybe_sent,
                    error = %f.message, "SendBulkEmail failed as a whole; handling every entry as that failure");
                vec![Err(f); sending.len()]
            }
        };
        // SUCCESS entries are recorded together (one ledger call); refused ones are handled
        // entry by entry, as single sends refused the same way.
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for (n, r) in answers.into_iter().enumerate() {
            match r {
                Ok(mid) => accepted.push((n, mid)),
                Err(f) => refused.push((n, f)),
            }
        }
        let (metas, emails, sending) = (&metas, &emails, &sending);
        let accepted_n: Vec<usize> = accepted.iter().map(|(n, _)| *n).collect();
        let record = self.record_entries(
            accepted
                .into_iter()
                .map(|(n, mid)| {
                    let c = &sending[n];
                    let (meta, e) = (&metas[c.a.k], &emails[c.a.k]);
                    (meta, &e.unique_code, c.token.as_ref(), mid, c.ambiguous)
                })
                .collect(),
            ctx,
        );
        let fail = join_all(refused.into_iter().map(|(n, f)| async move {
            let c = &sending[n];
            let (k, e) = (c.a.k, &emails[c.a.k]);
            let (step, throttled, fate) = self
                .send_failed(&metas[k], e, c.token.as_ref(), f, c.ambiguous, ctx)
                .await;
            (n, step, throttled, fate)
        }));
        let (recorded, failed) = futures::join!(record, fail);
        let mut settled: Vec<(usize, Step, bool, Fate)> = accepted_n
            .into_iter()
            .zip(recorded)
            .map(|(n, step)| (n, step, false, Fate::Sent))
            .chain(failed)
            .collect();
        settled.sort_by_key(|(n, ..)| *n);
        let settled: Vec<(usize, Step, bool)> = settled
            .into_iter()
            .map(|(n, step, throttled, fate)| {
                let c = &sending[n];
                let e = &emails[c.a.k];
                match fate {
                    Fate::Sent => self.gate.sent(e, c.a.probe),
                    Fate::NotSent => self.gate.not_sent(e, c.a.counted, c.a.probe),
                    Fate::MaybeSent => self.gate.not_sent(e, false, c.a.probe),
                }
                (c.a.k, step, throttled)
            })
            .collect();
        for (n, (k, step, throttled)) in settled.into_iter().enumerate() {
            out[k] = Some(TaskResult {
                step,
                // one latency per call
                ses_ms: (n == 0).then_some(ses_ms),
                throttled,
                schedule_fallback: fallback,
            });
        }
        finish(out)
    }
}

impl<P: PortSet> Inner<P> {
    /// [`claim`](Inner::claim) for a call's entries in one ledger call (`claim_many`), bounded
    /// by the last send start; each entry's answer is classified on its own.
    async fn claim_entries(
        &self,
        entries: Vec<(&RecordMeta, &UniqueCode)>,
        ctx: &BatchCtx,
    ) -> Vec<ClaimStep> {
        let s = &self.settings;
        if !s.idempotency_enabled || entries.is_empty() {
            return entries
                .iter()
                .map(|_| ClaimStep::Send {
                    token: None,
                    ambiguous: false,
                })
                .collect();
        }
        let codes: Vec<UniqueCode> = entries.iter().map(|(_, c)| (*c).clone()).collect();
        let limit = ctx.deadline.last_send_start();
        let mut answers = within(limit, self.ledger.claim_many(&codes, s.claim_lease))
            .await
            .map(Vec::into_iter);
        entries
            .into_iter()
            .map(|(meta, code)| {
                let answer = answers.as_mut().map(|it| {
                    it.next()
                        .unwrap_or_else(|| Err(unanswered("ledger.claim_many")))
                });
                self.claim_step(meta, code, answer)
            })
            .collect()
    }

    /// [`record_sent`](Inner::record_sent) for a call's accepted entries in one ledger call
    /// (`record_sent_many`), bounded by the batch's finish; each entry's answer is read on its
    /// own.
    async fn record_entries(
        &self,
        entries: Vec<(
            &RecordMeta,
            &UniqueCode,
            Option<&ClaimToken>,
            MessageId,
            bool,
        )>,
        ctx: &BatchCtx,
    ) -> Vec<Step> {
        let fenced: Vec<(UniqueCode, ClaimToken, MessageId)> = entries
            .iter()
            .filter_map(|(_, code, token, mid, _)| {
                token.map(|t| ((*code).clone(), t.clone(), mid.clone()))
            })
            .collect();
        let mut answers = if fenced.is_empty() {
            Some(Vec::new().into_iter())
        } else {
            within(ctx.deadline.finish(), self.ledger.record_sent_many(&fenced))
                .await
                .map(Vec::into_iter)
        };
        entries
            .into_iter()
            .map(|(meta, code, token, mid, ambiguous)| {
                let answer = token.map(|_| {
                    answers.as_mut().map(|it| {
                        it.next()
                            .unwrap_or_else(|| Err(unanswered("ledger.record_sent_many")))
                    })
                });
                self.recorded_step(meta, code, mid, ambiguous, answer)
            })
            .collect()
    }
}

/// A batch ledger call that answered fewer entries than it was given (an adapter's bug): the
/// entries left are failures of that call, handled as any ledger failure.
fn unanswered(operation: &'static str) -> PortError {
    PortError::new(
        operation,
        "the ledger answered fewer entries than it was given",
    )
}

/// Every entry has its result by now; one that has none (a bug) is retried, never dropped.
fn finish(out: Vec<Option<TaskResult>>) -> Vec<TaskResult> {
    out.into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                TaskResult::without_send(Step::Retry(super::RetryCause::Unfinished))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(from: &str, template: &str, set: Option<&str>, n: usize) -> (usize, OutgoingEmail) {
        (
            n,
            OutgoingEmail {
                from: from.into(),
                to: format!("u{n}@example.com"),
                template_name: template.into(),
                template_data: "{}".into(),
                configuration_set: set.map(str::to_string),
                tags: vec![],
                unique_code: UniqueCode(format!("c{n}")),
            },
        )
    }

    #[test]
    fn entries_per_call_follow_the_rate() {
        assert_eq!(entries_per_call(f64::INFINITY), 50);
        assert_eq!(entries_per_call(196.0), 50);
        assert_eq!(entries_per_call(13.72), 13);
        assert_eq!(entries_per_call(0.98), 1);
        assert_eq!(entries_per_call(0.0), 1);
    }

    #[test]
    fn calls_share_sender_template_and_set_and_split_evenly() {
        let mut emails: Vec<_> = (0..60)
            .map(|n| email("a@x.com", "T", Some("s"), n))
            .collect();
        emails.push(email("b@x.com", "T", Some("s"), 60));
        emails.push(email("a@x.com", "U", Some("s"), 61));
        emails.push(email("a@x.com", "T", None, 62));
        emails.push(email("a@x.com", "T", Some("s"), 63));
        let calls = calls(emails, 50);
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![31, 30, 1, 1, 1]);
        for c in &calls {
            let f = &c[0].1;
            assert!(c.iter().all(|(_, e)| e.from == f.from
                && e.template_name == f.template_name
                && e.configuration_set == f.configuration_set));
        }
        let mut all: Vec<usize> = calls.iter().flatten().map(|(i, _)| *i).collect();
        all.sort_unstable();
        assert_eq!(all, (0..64).collect::<Vec<_>>(), "every email exactly once");
        let small = super::calls((0..5).map(|n| email("a", "T", None, n)).collect(), 2);
        assert_eq!(
            small.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
    }
}
