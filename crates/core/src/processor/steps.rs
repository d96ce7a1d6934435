//! The steps of one batch, in the order [`BatchProcessor::process`] runs them.
//!
//! [`Batch`] holds where every record stands ([`Step`]) and the report. The bookkeeping of
//! each step is a method here; the steps that call a port are the processor's methods that
//! call these.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinError;

use super::send::TaskResult;
use super::{BatchOutcome, BatchReport, RecordOutcome, RetryCause};
use crate::campaign::CancelledRecord;
use crate::model::{
    Customer, DeadLetter, DlqReason, InboundRecord, MessageId, OutgoingEmail, ParkReason,
    ParkedRecord, SendRequest, UniqueCode, UserId,
};
use crate::request::Policy;

/// Where one record stands while its batch is processed.
pub(super) enum Step {
    Sent {
        message_id: MessageId,
        ambiguous: bool,
    },
    Duplicate(MessageId),
    Dead(DlqReason, String),
    Retry(RetryCause),
    /// To be parked (`written`: the copy is queued).
    Park {
        reason: ParkReason,
        delay: Duration,
        written: bool,
    },
    /// The park failed: retried with the park's delay.
    ParkFailed {
        reason: ParkReason,
        delay: Duration,
    },
    /// Its campaign is cancelled: to be recorded as cancelled, then acknowledged.
    Cancelled {
        campaign: String,
        unique_code: UniqueCode,
    },
}

impl Step {
    pub(super) fn park(reason: ParkReason, delay: Duration) -> Self {
        Step::Park {
            reason,
            delay,
            written: false,
        }
    }
}

/// One retried record's visibility change.
pub(super) struct RetryDelay<'a> {
    pub(super) receipt_handle: &'a str,
    pub(super) message_id: &'a str,
    pub(super) delay: Duration,
}

/// A batch in progress: the records, each one's [`Step`] once decided, and the report.
pub(super) struct Batch<'a> {
    pub(super) records: &'a [InboundRecord],
    steps: Vec<Option<Step>>,
    pub(super) report: BatchReport,
}

impl<'a> Batch<'a> {
    pub(super) fn new(records: &'a [InboundRecord]) -> Self {
        Self {
            records,
            steps: records.iter().map(|_| None).collect(),
            report: BatchReport {
                emails_received: records.len(),
                ..Default::default()
            },
        }
    }

    /// Validate every body: the valid requests (with their index), the others dead-lettered
    /// with the rejection's reason and detail.
    pub(super) fn validate(&mut self, policy: &Policy) -> Vec<(usize, SendRequest)> {
        let mut valid = Vec::with_capacity(self.records.len());
        for (i, r) in self.records.iter().enumerate() {
            match SendRequest::parse(&r.body, policy) {
                Ok(req) => valid.push((i, req)),
                Err(rej) => {
                    tracing::info!(message_id = %r.message_id, reason = %rej.reason, detail = %rej.detail, "rejected");
                    self.steps[i] = Some(Step::Dead(rej.reason, rej.detail));
                }
            }
        }
        valid
    }

    /// Compose the email of every valid request whose customer is known. `customers` is
    /// `None` when the lookup failed: those records are retried. An unknown customer is a
    /// dead letter naming the id.
    pub(super) fn compose_emails(
        &mut self,
        valid: Vec<(usize, SendRequest)>,
        customers: Option<&HashMap<UserId, Customer>>,
        default_configuration_set: Option<&str>,
    ) -> Vec<(usize, OutgoingEmail)> {
        let mut emails = Vec::with_capacity(valid.len());
        for (i, req) in valid {
            let Some(customers) = customers else {
                self.steps[i] = Some(Step::Retry(RetryCause::CustomerLookupFailed));
                continue;
            };
            match customers.get(&req.user_id) {
                Some(customer) => {
                    emails.push((i, compose(&req, customer, default_configuration_set)));
                }
                None => {
                    self.steps[i] = Some(Step::Dead(
                        DlqReason::UnknownCustomer,
                        format!("no customer with user_id {:?}", req.user_id.0),
                    ));
                }
            }
        }
        emails
    }

    /// Take one record's send task result: its step, its SES latency and throttle. A task
    /// that panicked is retried.
    pub(super) fn sent(&mut self, i: usize, joined: Result<TaskResult, JoinError>) {
        match joined {
            Ok(t) => {
                if let Some(ms) = t.ses_ms {
                    self.report.ses_send_ms.push(ms);
                }
                if t.throttled {
                    self.report.emails_throttled += 1;
                }
                if t.schedule_fallback {
                    self.report.schedule_fallbacks += 1;
                }
                self.steps[i] = Some(t.step);
            }
            Err(e) => {
                tracing::error!(message_id = %self.records[i].message_id, error = %e, "record task failed; retrying the record");
                self.steps[i] = Some(Step::Retry(RetryCause::Panicked));
            }
        }
    }

    /// Take the results of one task that sent the records of `indices` (one record, or the
    /// entries of one bulk call), one result per index. A task that panicked retries them all.
    pub(super) fn unit_done(
        &mut self,
        indices: &[usize],
        joined: Result<Vec<TaskResult>, JoinError>,
    ) {
        match joined {
            Ok(results) => {
                for (&i, t) in indices.iter().zip(results) {
                    self.sent(i, Ok(t));
                }
            }
            Err(e) => {
                tracing::error!(records = indices.len(), error = %e, "send task failed; retrying its records");
                for &i in indices {
                    self.steps[i] = Some(Step::Retry(RetryCause::Panicked));
                }
            }
        }
    }

    /// A record whose task had not finished when the batch had to answer.
    pub(super) fn unfinished(&mut self, i: usize) {
        tracing::error!(message_id = %self.records[i].message_id, "record task still running at the deadline; retrying the record");
        self.steps[i] = Some(Step::Retry(RetryCause::Unfinished));
    }

    /// Park every record of `indices` for `reason`, each with `delay(park_count)`.
    pub(super) fn park_all(
        &mut self,
        indices: impl IntoIterator<Item = usize>,
        reason: ParkReason,
        mut delay: impl FnMut(u32) -> Duration,
    ) {
        for i in indices {
            self.steps[i] = Some(Step::park(reason, delay(self.records[i].park_count)));
        }
    }

    /// Decide record `i`'s step before its send task (the campaign step).
    pub(super) fn decide(&mut self, i: usize, step: Step) {
        self.steps[i] = Some(step);
    }

    /// The records to record as cancelled (their campaign is cancelled).
    pub(super) fn cancelled(&self) -> Vec<CancelledRecord> {
        self.steps
            .iter()
            .zip(self.records)
            .filter_map(|(st, r)| match st {
                Some(Step::Cancelled {
                    campaign,
                    unique_code,
                }) => Some(CancelledRecord {
                    campaign: campaign.clone(),
                    unique_code: unique_code.clone(),
                    source_message_id: r.message_id.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Records that could not be recorded as cancelled are retried, never acknowledged.
    pub(super) fn cancel_writes_failed(&mut self, failed: &[String]) {
        for (st, r) in self.steps.iter_mut().zip(self.records) {
            if matches!(st, Some(Step::Cancelled { .. })) && failed.contains(&r.message_id) {
                *st = Some(Step::Retry(RetryCause::CancelRecordFailed));
            }
        }
    }

    /// Whether record `i` is waiting to be parked.
    pub(super) fn is_unwritten_park(&self, i: usize) -> bool {
        matches!(self.steps[i], Some(Step::Park { written: false, .. }))
    }

    /// The parked copies of the records of `indices` that wait to be parked (all of them when
    /// `indices` is `None`), with their record index.
    pub(super) fn parks(&self, indices: Option<&[usize]>) -> Vec<(usize, ParkedRecord)> {
        let all: Vec<usize>;
        let indices = match indices {
            Some(i) => i,
            None => {
                all = (0..self.records.len()).collect();
                &all
            }
        };
        indices
            .iter()
            .filter_map(|&i| match &self.steps[i] {
                Some(Step::Park {
                    reason,
                    delay,
                    written: false,
                }) => {
                    let r = &self.records[i];
                    Some((
                        i,
                        ParkedRecord {
                            source_message_id: r.message_id.clone(),
                            receipt_handle: r.receipt_handle.clone(),
                            body: r.body.clone(),
                            reason: *reason,
                            delay: *delay,
                            park_count: r.park_count.saturating_add(1),
                        },
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// The parks of `indices` were attempted; those of `failed` (source message ids) did not
    /// happen: the records are retried with the park's delay instead, never dropped.
    pub(super) fn parks_done(&mut self, indices: &[usize], failed: &[String]) {
        for &i in indices {
            let Some(Step::Park {
                reason,
                delay,
                written,
            }) = &mut self.steps[i]
            else {
                continue;
            };
            if failed.contains(&self.records[i].message_id) {
                let (reason, delay) = (*reason, *delay);
                self.steps[i] = Some(Step::ParkFailed { reason, delay });
            } else {
                *written = true;
            }
        }
    }

    /// The dead letters of this batch: the original body, unchanged, with the reason.
    pub(super) fn dead_letters(&self) -> Vec<DeadLetter> {
        self.steps
            .iter()
            .zip(self.records)
            .filter_map(|(st, r)| match st {
                Some(Step::Dead(reason, detail)) => Some(DeadLetter {
                    source_message_id: r.message_id.clone(),
                    body: r.body.clone(),
                    reason: *reason,
                    detail: detail.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Records whose dead letter could not be written are retried, never dropped.
    pub(super) fn dead_letter_writes_failed(&mut self, failed: &[String]) {
        for (st, r) in self.steps.iter_mut().zip(self.records) {
            if let Some(Step::Dead(reason, _)) = st
                && failed.contains(&r.message_id)
            {
                *st = Some(Step::Retry(RetryCause::DeadLetterWriteFailed(*reason)));
            }
        }
    }

    /// Every record's outcome (in input order) and counters; the retried records become
    /// batch item failures with the visibility delay `delay(cause, receive_count)` (a failed
    /// park keeps its park delay).
    pub(super) fn settle(
        self,
        mut delay: impl FnMut(&RetryCause, u32) -> Duration,
    ) -> (BatchOutcome, Vec<RetryDelay<'a>>) {
        let mut report = self.report;
        let mut failures = Vec::new();
        let mut delays = Vec::new();
        for (st, r) in self.steps.into_iter().zip(self.records) {
            let mut retry = |cause: RetryCause, d: Duration, report: &mut BatchReport| {
                report.emails_retried += 1;
                failures.push(r.message_id.clone());
                delays.push(RetryDelay {
                    receipt_handle: &r.receipt_handle,
                    message_id: &r.message_id,
                    delay: d,
                });
                RecordOutcome::Retry { cause, delay: d }
            };
            let outcome = match st.unwrap_or(Step::Retry(RetryCause::Unfinished)) {
                Step::Sent {
                    message_id,
                    ambiguous,
                } => {
                    report.emails_sent += 1;
                    if ambiguous {
                        report.ambiguous_retries += 1;
                    }
                    RecordOutcome::Sent {
                        message_id,
                        ambiguous,
                    }
                }
                Step::Duplicate(message_id) => {
                    report.duplicates_skipped += 1;
                    RecordOutcome::DuplicateSkipped { message_id }
                }
                Step::Dead(reason, detail) => {
                    report.emails_dead_lettered += 1;
                    *report.dead_lettered_by_reason.entry(reason).or_default() += 1;
                    if reason == DlqReason::AccessDenied {
                        report.access_denied += 1;
                    }
                    RecordOutcome::DeadLettered { reason, detail }
                }
                Step::Park {
                    reason,
                    delay: d,
                    written: true,
                } => {
                    report.emails_parked += 1;
                    *report.parked_by_reason.entry(reason).or_default() += 1;
                    if reason == ParkReason::Deadline {
                        report.deadline_returns += 1;
                    }
                    RecordOutcome::Parked { reason, delay: d }
                }
                Step::Park {
                    reason,
                    delay: d,
                    written: false,
                }
                | Step::ParkFailed { reason, delay: d } => {
                    if reason == ParkReason::Deadline {
                        report.deadline_returns += 1;
                    }
                    retry(RetryCause::ParkFailed(reason), d, &mut report)
                }
                Step::Cancelled { campaign, .. } => {
                    report.emails_cancelled += 1;
                    RecordOutcome::Cancelled { campaign }
                }
                Step::Retry(cause) => {
                    if cause == RetryCause::DeadLetterWriteFailed(DlqReason::AccessDenied) {
                        report.access_denied += 1;
                    }
                    let d = delay(&cause, r.receive_count);
                    retry(cause, d, &mut report)
                }
            };
            report.outcomes.push((r.message_id.clone(), outcome));
        }
        let outcome = BatchOutcome {
            batch_item_failures: failures,
            report,
        };
        (outcome, delays)
    }
}

/// The `SendEmail` call for a request and its customer: `TemplateData` = the customer's
/// attributes + `unique_code`; tags = the request's + `unique_code` when valid.
pub fn compose(
    req: &SendRequest,
    customer: &Customer,
    default_config_set: Option<&str>,
) -> OutgoingEmail {
    let mut data = serde_json::Map::with_capacity(customer.attributes.len() + 1);
    for (k, v) in &customer.attributes {
        data.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    data.insert(
        "unique_code".into(),
        serde_json::Value::String(req.unique_code.0.clone()),
    );
    OutgoingEmail {
        from: req.from.clone(),
        to: req.to.clone(),
        template_name: req.template_name.clone(),
        template_data: serde_json::Value::Object(data).to_string(),
        configuration_set: req
            .config_set
            .clone()
            .or_else(|| default_config_set.map(str::to_string)),
        tags: req.email_tags(),
        unique_code: req.unique_code.clone(),
    }
}
