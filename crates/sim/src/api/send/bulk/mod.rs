//! SendBulkEmail (`POST /v2/email/outbound-bulk-emails`): one template, up to 50 entries, each
//! sent as its own message. The steps are SendEmail's, run once for the call and then per
//! entry:
//!
//! 0. the seeded fault draw of the call ([`super::faults`]);
//! 1. [`parse`]: the request; a broken limit or a bad shared value is a 400 for the call, a bad
//!    value in one entry is that entry's `INVALID_PARAMETER`;
//! 2. IAM on `ses:SendBulkEmail` (403 for the call);
//! 3. the refusals every entry shares — account suspended or paused, configuration set
//!    missing, paused or with a missing IP pool, sender not verified, template missing: the
//!    HTTP error for the call, or that status for every entry (`bulk_shared_errors`);
//! 4. per entry ([`entries`]): sandbox recipients (`MESSAGE_REJECTED`), the entry's fault
//!    draw (`TRANSIENT_FAILURE`, `FAILED`), rendering with its merged data (a failure is a
//!    `SUCCESS` followed by a `Rendering Failure` event, as for SendEmail);
//! 5. the quotas, entry by entry (`ACCOUNT_THROTTLED`, `ACCOUNT_DAILY_QUOTA_EXCEEDED`) or for
//!    the call as a whole (429 / `LimitExceededException`) (`bulk_throttle`);
//! 6. each admitted entry is accepted, published and logged as SendEmail's message would be.
//!
//! The answer lists one `{Status, Error, MessageId}` per entry, in request order.

mod entries;
mod parse;
mod status;

use std::sync::Arc;
use std::sync::atomic::Ordering as AO;
use std::time::Duration;

use serde_json::{Value, json};

use super::authorize::Named;
use super::refusal::Refusal;
use crate::api::config_sets::ConfigSet;
use crate::api::wire::Reply;
use crate::api::{RequestMeta, SimState};
use crate::config::BulkRefusal;
use crate::render::TemplateSet;
use parse::BulkRequest;
pub(crate) use status::{BULK_STATUSES, BulkStatus};

/// The answer for one entry.
pub(super) struct EntryResult {
    status: BulkStatus,
    error: Option<String>,
    message_id: Option<String>,
}

impl EntryResult {
    fn sent(message_id: String) -> Self {
        Self {
            status: BulkStatus::Success,
            error: None,
            message_id: Some(message_id),
        }
    }

    fn failed(status: BulkStatus, error: impl Into<String>) -> Self {
        Self {
            status,
            error: Some(error.into()),
            message_id: None,
        }
    }

    fn json(&self) -> Value {
        let mut v = json!({ "Status": self.status.as_str() });
        if let Some(e) = &self.error {
            v["Error"] = json!(e);
        }
        if let Some(id) = &self.message_id {
            v["MessageId"] = json!(id);
        }
        v
    }
}

/// What the shared checks resolved: every entry is sent with these.
pub(super) struct Shared {
    set: Option<ConfigSet>,
    identity: String,
    template: Arc<TemplateSet>,
    template_name: Option<String>,
}

impl SimState {
    /// SendBulkEmail: the fault draw, then the pipeline.
    pub(crate) fn send_bulk_email(&self, meta: &RequestMeta<'_>, body: &[u8], seq: u64) -> Reply {
        self.with_faults(seq, || self.bulk_pipeline(meta, body, seq))
    }

    fn bulk_pipeline(&self, meta: &RequestMeta<'_>, body: &[u8], seq: u64) -> Result<Reply, Reply> {
        let req = parse::parse_bulk(body)?;
        let named = Named {
            from_addr: &req.from_addr,
            identity_arn: req.identity_arn.as_deref(),
            set_name: req.set_name.as_deref(),
            template: Some(&req.template),
        };
        self.authorize("ses:SendBulkEmail", &named, meta.authorization)?;
        let results = match self.shared_checks(&req) {
            Ok(shared) => self.send_entries(meta, req, shared, seq)?,
            Err(r) => match self.config.bulk_shared_errors {
                BulkRefusal::Call => return Err(self.refuse(r)),
                BulkRefusal::Entries => self.refuse_entries(req, &r),
            },
        };
        Ok(self.answer(results))
    }

    /// Step 3: the refusals that are the same for every entry, in SendEmail's order.
    fn shared_checks(&self, req: &BulkRequest) -> Result<Shared, Refusal> {
        self.account_refusal()?;
        let set = self.resolve_config_set(req.set_name.as_deref())?;
        let identity = self.resolve_sender(&req.from_addr)?;
        let (template, template_name) = self.lookup_template(req.source.clone())?;
        Ok(Shared {
            set,
            identity,
            template,
            template_name,
        })
    }

    /// `bulk_shared_errors = "entries"`: every entry carries the shared refusal (an invalid
    /// entry keeps its `INVALID_PARAMETER`).
    fn refuse_entries(&self, req: BulkRequest, r: &Refusal) -> Vec<EntryResult> {
        let message = r.message(&self.config.region);
        req.entries
            .into_iter()
            .map(|e| match e {
                Err(invalid) => EntryResult::failed(BulkStatus::InvalidParameter, invalid),
                Ok(_) => EntryResult::failed(r.status(), message.clone()),
            })
            .collect()
    }

    /// The 200 answer: counts the call and its statuses, and adds the per-entry latency.
    fn answer(&self, results: Vec<EntryResult>) -> Reply {
        let c = &self.counters;
        c.bulk_calls.fetch_add(1, AO::Relaxed);
        c.bulk_entries.fetch_add(results.len() as u64, AO::Relaxed);
        for r in &results {
            c.bulk_statuses[r.status.index()].fetch_add(1, AO::Relaxed);
        }
        let list: Vec<Value> = results.iter().map(EntryResult::json).collect();
        let mut reply = Reply::ok(json!({ "BulkEmailEntryResults": list }));
        let per_entry = self.config.latency.bulk_per_entry_ms * results.len() as f64;
        reply.delay += Duration::from_micros((per_entry * 1000.0) as u64);
        reply
    }
}
