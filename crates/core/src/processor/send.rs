//! One record's task: claim its `unique_code`, wait for a send slot, send, then record the
//! message id or give the claim back.

use tokio::time::Instant;

use super::steps::Step;
use super::{Inner, RetryCause};
use crate::classify::{FailureClass, classify};
use crate::model::{MessageId, OutgoingEmail, UniqueCode};
use crate::ports::{Claim, ClaimToken, Ledger, Mailer, Recorded, SendFailure};

/// What one record's task produced.
pub(super) struct TaskResult {
    pub(super) step: Step,
    /// Latency of the `SendEmail` call, if one was made.
    pub(super) ses_ms: Option<f64>,
    pub(super) throttled: bool,
}

impl TaskResult {
    fn without_send(step: Step) -> Self {
        Self {
            step,
            ses_ms: None,
            throttled: false,
        }
    }
}

/// What the claim decided.
enum ClaimStep {
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
/// a fresh claim that no longer counts as an ambiguous retry. Permanent failures release.
fn keeps_claim(failure: &SendFailure, class: FailureClass, ambiguous: bool) -> bool {
    (failure.maybe_sent || ambiguous) && class.is_retryable()
}

impl<C, L: Ledger, M: Mailer, D, V> Inner<C, L, M, D, V> {
    /// Claim → pace → send → record or release, for one record.
    pub(super) async fn send_one(&self, message_id: String, email: OutgoingEmail) -> TaskResult {
        // The semaphore is never closed.
        let _permit = self.semaphore.acquire().await.ok();
        let code = &email.unique_code;
        let (token, ambiguous) = match self.claim(&message_id, code).await {
            ClaimStep::Send { token, ambiguous } => (token, ambiguous),
            ClaimStep::Done(step) => return TaskResult::without_send(step),
        };
        self.pacer.acquire().await;
        let t0 = Instant::now();
        let sent = self.mailer.send(&email).await;
        let ses_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
        let (step, throttled) = match sent {
            Ok(mid) => (
                self.record_sent(&message_id, code, token.as_ref(), mid, ambiguous)
                    .await,
                false,
            ),
            Err(f) => {
                self.send_failed(&message_id, code, token.as_ref(), f, ambiguous)
                    .await
            }
        };
        TaskResult {
            step,
            ses_ms,
            throttled,
        }
    }

    /// Claim `code` in the ledger (always granted when idempotency is disabled).
    async fn claim(&self, message_id: &str, code: &UniqueCode) -> ClaimStep {
        let s = &self.settings;
        if !s.idempotency_enabled {
            return ClaimStep::Send {
                token: None,
                ambiguous: false,
            };
        }
        match self.ledger.claim(code, s.claim_lease).await {
            Ok(Claim::Claimed(token)) => ClaimStep::Send {
                token: Some(token),
                ambiguous: false,
            },
            Ok(Claim::Reclaimed(token)) => {
                tracing::warn!(%message_id, unique_code = %code, "claim lease had expired; sending again (ambiguous retry)");
                ClaimStep::Send {
                    token: Some(token),
                    ambiguous: true,
                }
            }
            Ok(Claim::AlreadySent(mid)) => {
                tracing::info!(%message_id, unique_code = %code, ses_message_id = %mid, "already sent; skipping duplicate");
                ClaimStep::Done(Step::Duplicate(mid))
            }
            Ok(Claim::InFlight { .. }) => ClaimStep::Done(Step::Retry(RetryCause::ClaimInFlight)),
            Err(e) => {
                tracing::warn!(%message_id, error = %e, "ledger claim failed");
                ClaimStep::Done(Step::Retry(RetryCause::LedgerFailed))
            }
        }
    }

    /// SES accepted the email: record its message id against the claim. A claim another
    /// attempt had re-taken meanwhile makes the send ambiguous (that attempt may send too).
    async fn record_sent(
        &self,
        message_id: &str,
        code: &UniqueCode,
        token: Option<&ClaimToken>,
        mid: MessageId,
        mut ambiguous: bool,
    ) -> Step {
        if let Some(token) = token {
            match self.ledger.record_sent(code, token, &mid).await {
                Ok(Recorded::Owned) => {}
                Ok(Recorded::Superseded) => {
                    tracing::warn!(%message_id, unique_code = %code, ses_message_id = %mid,
                        "sent after the claim's lease expired and another attempt re-took it (ambiguous retry)");
                    ambiguous = true;
                }
                Err(e) => {
                    tracing::error!(%message_id, unique_code = %code, ses_message_id = %mid, error = %e,
                    "sent, but the ledger did not record it; a redelivery after the lease would be an ambiguous retry")
                }
            }
        }
        Step::Sent {
            message_id: mid,
            ambiguous,
        }
    }

    /// SES did not accept the email: release the claim unless [`keeps_claim`], then turn the
    /// failure's class into the record's step. Also answers whether SES throttled.
    async fn send_failed(
        &self,
        message_id: &str,
        code: &UniqueCode,
        token: Option<&ClaimToken>,
        f: SendFailure,
        ambiguous: bool,
    ) -> (Step, bool) {
        let class = classify(&f);
        if let Some(token) = token
            && !keeps_claim(&f, class, ambiguous)
            && let Err(e) = self.ledger.release(code, token).await
        {
            tracing::warn!(%message_id, unique_code = %code, error = %e, "could not release the claim; it expires after the lease");
        }
        let pacer = &self.pacer;
        let step = match class {
            FailureClass::Throttled => {
                pacer.on_throttle();
                tracing::info!(%message_id, code = %f.code, rate = pacer.rate(), "throttled by SES; slowing down");
                Step::Retry(RetryCause::Throttled)
            }
            FailureClass::Transient => {
                tracing::warn!(%message_id, code = %f.code, status = ?f.status, error = %f.message, "transient SES failure");
                Step::Retry(RetryCause::Transient(f.code))
            }
            FailureClass::AccountPaused => {
                tracing::error!(%message_id, code = %f.code, error = %f.message,
                    "SES ACCOUNT CANNOT SEND (suspended or sending paused): retrying with the maximum delay; fix the account");
                Step::Retry(RetryCause::AccountPaused(f.code))
            }
            FailureClass::Permanent(reason) => {
                Step::Dead(reason, format!("SES {}: {}", f.code, f.message))
            }
        };
        (step, class == FailureClass::Throttled)
    }
}
