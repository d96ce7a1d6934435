//! One record's task: a send permit, the regime gate, a send slot, its campaign checked again
//! and the claim just before the slot, the send (the claim renewed while it is in flight), then
//! the message id recorded or the claim given back.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::deadline::within;
use super::gate::Admission;
use super::steps::Step;
use super::{BatchCtx, Inner, RetryCause};
use crate::classify::{FailureClass, classify, denied_resource};
use crate::model::{DlqReason, MessageId, OutgoingEmail, ParkReason, UniqueCode};
use crate::pacer::Slot;
use crate::ports::{
    Claim, ClaimToken, Held, Ledger, Mailer, PortError, PortSet, Recorded, SendFailure,
};

/// The claim is taken this long before the send slot, so that the ledger's latency does not
/// move the send off its slot (at 1/s SES's bucket tolerates about 20 ms either way).
pub const CLAIM_LEAD: Duration = Duration::from_millis(250);

/// How often the claim of a send in flight is renewed: a third of the lease (at least 100 ms),
/// so a renewal may fail or be late once before the lease would end.
pub fn heartbeat_every(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(100))
}

/// The queue side of a record that a task needs.
pub(super) struct RecordMeta {
    pub(super) message_id: String,
    pub(super) park_count: u32,
}

/// What one record's task produced.
pub(super) struct TaskResult {
    pub(super) step: Step,
    /// Latency of the `SendEmail` call, if one was made.
    pub(super) ses_ms: Option<f64>,
    pub(super) throttled: bool,
    /// The slot came from the per-instance fallback (schedule unreachable).
    pub(super) schedule_fallback: bool,
}

impl TaskResult {
    pub(super) fn without_send(step: Step) -> Self {
        Self {
            step,
            ses_ms: None,
            throttled: false,
            schedule_fallback: false,
        }
    }
}

/// Whether SES got the email, as far as this attempt knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    NotSent,
    Sent,
    MaybeSent,
}

/// What the claim decided.
pub(super) enum ClaimStep {
    /// This attempt owns the send under `token` (`None` when idempotency is off);
    /// `ambiguous` when it re-took an expired claim.
    Send {
        token: Option<ClaimToken>,
        ambiguous: bool,
    },
    /// Nothing to send: already sent, claimed by another attempt, or the ledger failed.
    Done(Step),
}

/// Whether a failed send keeps its claim (it then expires after the lease) rather than
/// releasing it: when this attempt may have reached SES, and also when it re-took an expired
/// claim, because an earlier attempt may have sent and releasing would make the next attempt
/// a fresh claim that no longer counts as an ambiguous retry. Dead letters release.
fn keeps_claim(failure: &SendFailure, class: FailureClass, ambiguous: bool) -> bool {
    (failure.maybe_sent || ambiguous) && class.is_retryable()
}

/// The step of a record not attempted because SES suspended the account during the batch.
pub(super) fn suspended() -> Step {
    Step::Dead(
        DlqReason::AccountSuspended,
        "not attempted: SES answered AccountSuspendedException to another record of the batch"
            .into(),
    )
}

impl<P: PortSet> Inner<P> {
    pub(super) fn park(
        &self,
        reason: ParkReason,
        meta: &RecordMeta,
        lease_left: Option<Duration>,
    ) -> Step {
        Step::park(reason, self.park_delay(reason, meta.park_count, lease_left))
    }

    /// Permit → gate → slot → claim → send → record or release, for one record.
    pub(super) async fn send_one(
        &self,
        meta: RecordMeta,
        email: OutgoingEmail,
        ctx: &BatchCtx,
    ) -> TaskResult {
        let d = ctx.deadline;
        // Every exit before the pacer's `acquire` tells the pacer this record needs no slot.
        let no_slot = |step: Step| {
            ctx.no_slot_needed();
            TaskResult::without_send(step)
        };
        // The semaphore is never closed.
        let Some(permit) = within(d.last_send_start(), self.semaphore.acquire()).await else {
            return no_slot(self.park(ParkReason::Deadline, &meta, None));
        };
        let _permit = permit.ok();
        if ctx.suspended.load(Ordering::SeqCst) {
            return no_slot(suspended());
        }
        let (counted, probe) = match self.gate.admit(&email) {
            Admission::Park(reason) => return no_slot(self.park(reason, &meta, None)),
            Admission::Send { counted, probe } => (counted, probe),
        };
        let (result, fate) = self.paced_send(&meta, &email, ctx, probe).await;
        match fate {
            Fate::Sent => self.gate.sent(&email, probe),
            Fate::NotSent => self.gate.not_sent(&email, counted, probe),
            Fate::MaybeSent => self.gate.not_sent(&email, false, probe),
        }
        result
    }

    /// Slot → claim → send → record or release.
    async fn paced_send(
        &self,
        meta: &RecordMeta,
        email: &OutgoingEmail,
        ctx: &BatchCtx,
        probe: bool,
    ) -> (TaskResult, Fate) {
        let d = ctx.deadline;
        let (slot, schedule_fallback) = match self
            .pacer
            .acquire(&self.schedule, d.last_send_start(), &ctx.unslotted)
            .await
        {
            Slot::At { at, fallback } => (at, fallback),
            Slot::TooLate => {
                return (
                    TaskResult::without_send(self.park(ParkReason::Deadline, meta, None)),
                    Fate::NotSent,
                );
            }
        };
        let not_sent = |step: Step| {
            (
                TaskResult {
                    schedule_fallback,
                    ..TaskResult::without_send(step)
                },
                Fate::NotSent,
            )
        };
        if let Some(early) = slot.checked_sub(CLAIM_LEAD)
            && early > Instant::now()
        {
            tokio::time::sleep_until(early).await;
        }
        if let Some(step) = self.campaign_stop(meta, email, ctx).await {
            self.pacer.give_back(slot);
            return not_sent(step);
        }
        let code = &email.unique_code;
        let (token, ambiguous) = match self.claim(meta, code, ctx).await {
            ClaimStep::Send { token, ambiguous } => (token, ambiguous),
            ClaimStep::Done(step) => {
                self.pacer.give_back(slot);
                return not_sent(step);
            }
        };
        tokio::time::sleep_until(slot).await;
        let closed = if ctx.suspended.load(Ordering::SeqCst) {
            Some(suspended())
        } else if let Some(reason) = self.gate.closed_for(email, probe) {
            Some(self.park(reason, meta, None))
        } else if !d.may_start_send() {
            Some(self.park(ParkReason::Deadline, meta, None))
        } else {
            None
        };
        if let Some(step) = closed {
            // Nothing reached SES: the claim goes back (unless re-taken: see keeps_claim).
            if !ambiguous {
                self.release(meta, code, token.as_ref(), ctx).await;
            }
            return not_sent(step);
        }
        let t0 = Instant::now();
        // While SES has not answered, the claim is renewed: a send slower than the lease must
        // not let another attempt re-take the code and send it again.
        let send = within(d.send_end(), self.mailer.send(email));
        let sent = tokio::select! {
            biased;
            r = send => r,
            never = self.keep_claim(meta, code, token.as_ref()) => match never {},
        }
        .unwrap_or_else(|| {
            Err(SendFailure {
                code: "Timeout".into(),
                message: "SendEmail cut at the invocation's deadline".into(),
                status: None,
                maybe_sent: true,
            })
        });
        let ses_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
        let (step, throttled, fate) = match sent {
            Ok(mid) => (
                self.record_sent(meta, code, token.as_ref(), mid, ambiguous, ctx)
                    .await,
                false,
                Fate::Sent,
            ),
            Err(f) => {
                self.send_failed(meta, email, token.as_ref(), f, ambiguous, ctx)
                    .await
            }
        };
        (
            TaskResult {
                step,
                ses_ms,
                throttled,
                schedule_fallback,
            },
            fate,
        )
    }

    /// Claim `code` in the ledger (always granted when idempotency is disabled), bounded by the
    /// last send start.
    pub(super) async fn claim(
        &self,
        meta: &RecordMeta,
        code: &UniqueCode,
        ctx: &BatchCtx,
    ) -> ClaimStep {
        let s = &self.settings;
        if !s.idempotency_enabled {
            return ClaimStep::Send {
                token: None,
                ambiguous: false,
            };
        }
        let limit = ctx.deadline.last_send_start();
        let answer = within(limit, self.ledger.claim(code, s.claim_lease)).await;
        self.claim_step(meta, code, answer)
    }

    /// What the ledger's answer to a claim of `code` means for the record (`None`: the claim
    /// was still running at the last send start).
    pub(super) fn claim_step(
        &self,
        meta: &RecordMeta,
        code: &UniqueCode,
        answer: Option<Result<Claim, PortError>>,
    ) -> ClaimStep {
        let message_id = &meta.message_id;
        match answer {
            None => {
                tracing::warn!(%message_id, unique_code = %code, "claim still running at the last send start; parking");
                ClaimStep::Done(self.park(ParkReason::Deadline, meta, None))
            }
            Some(Ok(Claim::Claimed(token))) => ClaimStep::Send {
                token: Some(token),
                ambiguous: false,
            },
            Some(Ok(Claim::Reclaimed(token))) => {
                tracing::warn!(%message_id, unique_code = %code, "claim lease had expired; sending again (ambiguous retry)");
                ClaimStep::Send {
                    token: Some(token),
                    ambiguous: true,
                }
            }
            Some(Ok(Claim::AlreadySent(mid))) => {
                tracing::info!(%message_id, unique_code = %code, ses_message_id = %mid, "already sent; skipping duplicate");
                ClaimStep::Done(Step::Duplicate(mid))
            }
            Some(Ok(Claim::InFlight { lease_left })) => {
                tracing::info!(%message_id, unique_code = %code, lease_left_ms = lease_left.as_millis() as u64,
                    "another attempt holds the claim; parking until its lease ends");
                ClaimStep::Done(self.park(ParkReason::ClaimInFlight, meta, Some(lease_left)))
            }
            Some(Err(e)) => {
                tracing::warn!(%message_id, error = %e, "ledger claim failed");
                ClaimStep::Done(Step::Retry(RetryCause::LedgerFailed))
            }
        }
    }

    /// The claim's heartbeat while its send is in flight: every [`heartbeat_every`] the lease
    /// is renewed for `claim_lease` from now. Stops renewing (and waits forever, to be
    /// dropped when the send answers) once the ledger says the claim is no longer this
    /// attempt's; a failed renewal is tried again at the next beat.
    async fn keep_claim(
        &self,
        meta: &RecordMeta,
        code: &UniqueCode,
        token: Option<&ClaimToken>,
    ) -> Infallible {
        if let Some(token) = token {
            let lease = self.settings.claim_lease;
            loop {
                tokio::time::sleep(heartbeat_every(lease)).await;
                match self.ledger.extend(Held { code, token }, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(message_id = %meta.message_id, unique_code = %code,
                            "the claim is no longer this attempt's while its send is in flight; not renewing it");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(message_id = %meta.message_id, unique_code = %code, error = %e,
                            "could not renew the claim of a send in flight; trying again at the next beat")
                    }
                }
            }
        }
        std::future::pending().await
    }

    /// Give the claim back, bounded by the batch's finish limit (on failure it expires after
    /// the lease).
    pub(super) async fn release(
        &self,
        meta: &RecordMeta,
        code: &UniqueCode,
        token: Option<&ClaimToken>,
        ctx: &BatchCtx,
    ) {
        let Some(token) = token else { return };
        match within(
            ctx.deadline.finish(),
            self.ledger.release(Held { code, token }),
        )
        .await
        {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                tracing::warn!(message_id = %meta.message_id, unique_code = %code, error = %e, "could not release the claim; it expires after the lease")
            }
            None => {
                tracing::warn!(message_id = %meta.message_id, unique_code = %code, "release still running at the deadline; the claim expires after the lease")
            }
        }
    }

    /// SES accepted the email: record its message id against the claim. A claim another
    /// attempt had re-taken meanwhile makes the send ambiguous (that attempt may send too).
    pub(super) async fn record_sent(
        &self,
        meta: &RecordMeta,
        code: &UniqueCode,
        token: Option<&ClaimToken>,
        mid: MessageId,
        ambiguous: bool,
        ctx: &BatchCtx,
    ) -> Step {
        let answer = match token {
            Some(token) => Some(
                within(
                    ctx.deadline.finish(),
                    self.ledger.record_sent(Held { code, token }, &mid),
                )
                .await,
            ),
            None => None,
        };
        self.recorded_step(meta, code, mid, ambiguous, answer)
    }

    /// The step of a record SES accepted, given what recording it answered (`None`: nothing to
    /// record, idempotency is disabled; `Some(None)`: recording was cut at the deadline).
    pub(super) fn recorded_step(
        &self,
        meta: &RecordMeta,
        code: &UniqueCode,
        mid: MessageId,
        mut ambiguous: bool,
        answer: Option<Option<Result<Recorded, PortError>>>,
    ) -> Step {
        let message_id = &meta.message_id;
        if let Some(answer) = answer {
            match answer {
                Some(Ok(Recorded::Owned)) => {}
                Some(Ok(Recorded::Superseded)) => {
                    tracing::warn!(%message_id, unique_code = %code, ses_message_id = %mid,
                        "sent after the claim's lease expired and another attempt re-took it (ambiguous retry)");
                    ambiguous = true;
                }
                Some(Err(e)) => {
                    tracing::error!(%message_id, unique_code = %code, ses_message_id = %mid, error = %e,
                    "sent, but the ledger did not record it; a redelivery after the lease would be an ambiguous retry")
                }
                None => {
                    tracing::error!(%message_id, unique_code = %code, ses_message_id = %mid,
                    "sent, but recording it was cut at the deadline; a redelivery after the lease would be an ambiguous retry")
                }
            }
        }
        Step::Sent {
            message_id: mid,
            ambiguous,
        }
    }

    /// SES did not accept the email: release the claim unless [`keeps_claim`], act on the
    /// failure's class (pacer, gate, batch), and turn it into the record's step. Also answers
    /// whether SES throttled and whether the email may have gone out.
    pub(super) async fn send_failed(
        &self,
        meta: &RecordMeta,
        email: &OutgoingEmail,
        token: Option<&ClaimToken>,
        f: SendFailure,
        ambiguous: bool,
        ctx: &BatchCtx,
    ) -> (Step, bool, Fate) {
        let message_id = &meta.message_id;
        let code = &email.unique_code;
        let class = classify(&f);
        if !keeps_claim(&f, class, ambiguous) {
            self.release(meta, code, token, ctx).await;
        }
        let fate = if f.maybe_sent {
            Fate::MaybeSent
        } else {
            Fate::NotSent
        };
        let step = match class {
            FailureClass::Throttled => {
                self.pacer.on_throttle();
                tracing::info!(%message_id, code = %f.code, rate = self.pacer.rate(), "throttled by SES; slowing down and parking the record");
                self.park(ParkReason::Throttled, meta, None)
            }
            FailureClass::DailyQuota => {
                self.gate.close_daily();
                self.park(ParkReason::DailyQuota, meta, None)
            }
            FailureClass::SendingPaused => {
                self.gate.close_set(email.configuration_set.as_deref());
                self.check_account(ctx).await;
                self.park(ParkReason::SendingPaused, meta, None)
            }
            FailureClass::AccountSuspended => {
                if !ctx.suspended.swap(true, Ordering::SeqCst) {
                    tracing::error!(%message_id, code = %f.code, error = %f.message,
                        "SES ACCOUNT SUSPENDED: dead-lettering the batch (account_suspended); redrive by reason once AWS lifts the suspension");
                }
                Step::Dead(
                    DlqReason::AccountSuspended,
                    format!("SES {}: {}", f.code, f.message),
                )
            }
            FailureClass::Transient => {
                tracing::warn!(%message_id, code = %f.code, status = ?f.status, maybe_sent = f.maybe_sent, error = %f.message, "transient SES failure");
                Step::Retry(RetryCause::Transient(f.code))
            }
            FailureClass::Permanent(DlqReason::AccessDenied) => {
                let resource = denied_resource(&f.message).unwrap_or("(not named)");
                tracing::error!(%message_id, resource, error = %f.message,
                    "SES ACCESS DENIED: the poller's role may not send with this identity, template or configuration set");
                Step::Dead(
                    DlqReason::AccessDenied,
                    format!("SES {} on resource {resource}: {}", f.code, f.message),
                )
            }
            FailureClass::Permanent(reason) => {
                Step::Dead(reason, format!("SES {}: {}", f.code, f.message))
            }
        };
        (step, class == FailureClass::Throttled, fate)
    }
}
