//! SendEmail as a pipeline of named steps:
//!
//! 0. [`faults`]: the seeded fault draw (a real service can fail whatever the request);
//! 1. [`parse`]: parse and validate the request;
//! 2. [`authorize`]: IAM (`[sim.permissions]`) on the identity, configuration set, template;
//!    then the account: suspended, sending paused ([`crate::api::account`]);
//!    then [`resolve`]: configuration set (exists, not paused), sender identity, sandbox
//!    recipients;
//! 3. [`content`]: template resolution and rendering (or Simple / Raw content);
//! 4. quotas ([`crate::api::quota`]): MaxSendRate, then Max24HourSend;
//! 5. [`accept`]: message id, counters, message log;
//! 6. [`accept`]: SES events to the lake.
//!
//! Every check that can refuse the call runs before the quota step, so a refused call costs
//! no quota. A drop-after-accept fault lets all six steps run, then closes the connection.

mod accept;
mod authorize;
mod content;
mod faults;
mod mailbox;
mod parse;
mod resolve;

use std::sync::atomic::Ordering as AO;

use serde_json::json;

use super::quota::QuotaRefusal;
use super::wire::{Reply, is_simulator, lock};
use super::{RequestMeta, SimState};

impl SimState {
    /// SendEmail: the fault draw, then the pipeline.
    pub(crate) fn send_email(&self, meta: &RequestMeta<'_>, body: &[u8], seq: u64) -> Reply {
        let disturbance = match self.draw_fault(seq) {
            Ok(d) => d,
            Err(fault) => return fault,
        };
        let (Ok(mut r) | Err(mut r)) = self.send_pipeline(meta, body, seq);
        // Only an accepted send is dropped: it is in the log, the quota and the lake.
        if disturbance.drop_after_accept && r.status == 200 {
            self.counters.dropped_after_accept.fetch_add(1, AO::Relaxed);
            r.drop_connection = true;
        }
        r.delay += disturbance.extra;
        r
    }

    fn send_pipeline(&self, meta: &RequestMeta<'_>, body: &[u8], seq: u64) -> Result<Reply, Reply> {
        let req = parse::parse_request(body)?;
        self.authorize(&req, meta.authorization)?;
        self.check_account_sending()?;
        let set = self.resolve_config_set(&req)?;
        let identity = self.resolve_identity(&req)?;
        let content = self.resolve_content(&req)?;
        self.take_quota(&req.recipients)?;
        let accepted = self.accept(meta, req, &identity, content);
        let outcomes = self.publish_events(&accepted, set.as_ref(), seq);
        let id = accepted.message_id().to_owned();
        self.record(accepted, outcomes);
        Ok(Reply::ok(json!({ "MessageId": id })))
    }

    /// Step 4: the rate counts every recipient, the daily quota only non-simulator ones.
    fn take_quota(&self, recipients: &[String]) -> Result<(), Reply> {
        let n = recipients.len() as u64;
        let counted = recipients.iter().filter(|r| !is_simulator(r)).count() as u64;
        let refusal = lock(&self.quota).take(self.rate, self.daily, n, counted);
        match refusal {
            Ok(()) => Ok(()),
            Err(QuotaRefusal::Rate) => {
                self.counters.throttled.fetch_add(1, AO::Relaxed);
                Err(Reply::error(
                    429,
                    "TooManyRequestsException",
                    "Maximum sending rate exceeded.",
                ))
            }
            Err(QuotaRefusal::Daily) => {
                self.counters.daily_quota_exceeded.fetch_add(1, AO::Relaxed);
                Err(Reply::error(
                    400,
                    "LimitExceededException",
                    "Daily message quota exceeded.",
                ))
            }
        }
    }
}
