//! The two send operations as pipelines of named steps. SendEmail:
//!
//! 0. [`faults`]: the seeded fault draw (a real service can fail whatever the request);
//! 1. [`parse`]: parse and validate the request;
//! 2. [`authorize`]: IAM (`[sim.permissions]`) on the identity, configuration set, template;
//!    then the account: suspended, sending paused ([`crate::api::account`]);
//!    then [`resolve`]: configuration set (exists, not paused, no missing IP pool), sender
//!    identity, sandbox recipients;
//! 3. [`content`]: template resolution and rendering (or Simple / Raw content);
//! 4. quotas ([`crate::api::quota`]): MaxSendRate, then Max24HourSend;
//! 5. [`accept`]: message id, counters, message log;
//! 6. [`accept`]: SES events to the lake.
//!
//! Every check that can refuse the call runs before the quota step, so a refused call costs
//! no quota. A drop-after-accept fault lets all six steps run, then closes the connection.
//! The refusals of steps 2-4 are [`Refusal`]s, shared with [`bulk`] (SendBulkEmail), which
//! runs the same steps once for the call and then per entry.

mod accept;
mod authorize;
mod bulk;
mod content;
mod faults;
mod mailbox;
mod parse;
mod refusal;
mod resolve;

use std::sync::atomic::Ordering as AO;

use serde_json::json;

use super::wire::{Reply, is_simulator, lock};
use super::{RequestMeta, SimState};
use authorize::Named;
pub(crate) use bulk::BULK_STATUSES;
pub(crate) use refusal::Refusal;

impl SimState {
    /// SendEmail: the fault draw, then the pipeline.
    pub(crate) fn send_email(&self, meta: &RequestMeta<'_>, body: &[u8], seq: u64) -> Reply {
        self.with_faults(seq, || self.send_pipeline(meta, body, seq))
    }

    /// Step 0 around a send pipeline: an injected error answers instead of it; otherwise it
    /// runs, a slow fault delays its answer, and a drawn drop closes the connection of an
    /// answered send (which is then in the log, the quota and the lake).
    fn with_faults(&self, seq: u64, pipeline: impl FnOnce() -> Result<Reply, Reply>) -> Reply {
        let disturbance = match self.draw_fault(seq) {
            Ok(d) => d,
            Err(fault) => return fault,
        };
        let (Ok(mut r) | Err(mut r)) = pipeline();
        if disturbance.drop_after_accept && r.status == 200 {
            self.counters.dropped_after_accept.fetch_add(1, AO::Relaxed);
            r.drop_connection = true;
        }
        r.delay += disturbance.extra;
        r
    }

    fn send_pipeline(&self, meta: &RequestMeta<'_>, body: &[u8], seq: u64) -> Result<Reply, Reply> {
        let req = parse::parse_request(body)?;
        let named = Named {
            from_addr: &req.from_addr,
            identity_arn: None,
            set_name: req.set_name.as_deref(),
            template: req.content.template.as_ref(),
        };
        self.authorize("ses:SendEmail", &named, meta.authorization)?;
        let refuse = |r| self.refuse(r);
        self.account_refusal().map_err(refuse)?;
        let set = self
            .resolve_config_set(req.set_name.as_deref())
            .map_err(refuse)?;
        let identity = self.resolve_sender(&req.from_addr).map_err(refuse)?;
        self.check_sandbox(&req.rcpt.bare).map_err(refuse)?;
        let content = self.resolve_content(&req)?;
        self.take_quota(&req.rcpt.bare).map_err(refuse)?;
        let accepted = self.accept(meta, req, &identity, content);
        let outcomes = self.publish_events(&accepted, set.as_ref(), seq);
        let id = accepted.message_id().to_owned();
        self.record(accepted, outcomes);
        Ok(Reply::ok(json!({ "MessageId": id })))
    }

    /// Step 4: the rate counts every recipient, the daily quota only non-simulator ones.
    fn take_quota(&self, recipients: &[String]) -> Result<(), Refusal> {
        let (n, counted) = quota_cost(recipients);
        lock(&self.quota).take(self.rate, self.daily, n, counted)
    }
}

/// What a message to `recipients` costs: every recipient counts against the rate, the
/// non-simulator ones against the daily quota.
fn quota_cost(recipients: &[String]) -> (u64, u64) {
    let n = recipients.len() as u64;
    let counted = recipients.iter().filter(|r| !is_simulator(r)).count() as u64;
    (n, counted)
}
