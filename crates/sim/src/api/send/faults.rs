//! Step 0 of a send: seeded fault injection. One draw per call from `(seed, call number)`;
//! the probabilities are exclusive slices of that draw, in this order: error, throttle, slow,
//! drop after accept. Each SendBulkEmail entry draws once more, from another stream, for the
//! entry-level faults (transient failure, failure).

use std::sync::atomic::Ordering as AO;
use std::time::Duration;

use super::bulk::BulkStatus;
use crate::api::SimState;
use crate::api::wire::Reply;
use crate::util::unit;

/// Stream of the seeded generator that draws entry-level faults.
const ENTRY_FAULT_STREAM: u64 = 0x454E_5452_5946_4C54;

/// How a call that is served anyway is disturbed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Disturbance {
    /// Answer this much later than the latency model says (a slow response).
    pub extra: Duration,
    /// If the send is accepted, close the connection instead of answering.
    pub drop_after_accept: bool,
}

impl SimState {
    /// `Err(reply)`: the call fails with an injected error instead of being served.
    /// `Ok(d)`: it is served, disturbed as `d` says.
    pub(super) fn draw_fault(&self, seq: u64) -> Result<Disturbance, Reply> {
        let f = &self.config.faults;
        if f.error_rate <= 0.0
            && f.slow_rate <= 0.0
            && f.throttle_rate <= 0.0
            && f.drop_after_accept_rate <= 0.0
        {
            return Ok(Disturbance::default());
        }
        let u = unit(f.seed, seq);
        if u < f.error_rate {
            self.counters.fault_errors.fetch_add(1, AO::Relaxed);
            return Err(if u < f.error_rate / 2.0 {
                Reply::error(
                    500,
                    "InternalFailure",
                    "The request processing has failed because of an unknown error, exception or failure.",
                )
            } else {
                Reply::error(
                    503,
                    "ServiceUnavailable",
                    "Service is unavailable. Please try again later.",
                )
            });
        }
        let mut edge = f.error_rate + f.throttle_rate;
        if u < edge {
            self.counters.fault_throttles.fetch_add(1, AO::Relaxed);
            return Err(Reply::error(
                429,
                "TooManyRequestsException",
                "Maximum sending rate exceeded.",
            ));
        }
        edge += f.slow_rate;
        if u < edge {
            self.counters.fault_slow.fetch_add(1, AO::Relaxed);
            return Ok(Disturbance {
                extra: Duration::from_millis(f.slow_ms),
                drop_after_accept: false,
            });
        }
        Ok(Disturbance {
            extra: Duration::ZERO,
            drop_after_accept: u < edge + f.drop_after_accept_rate,
        })
    }

    /// The injected failure of entry number `entry` (its position in the call's entry stream),
    /// if it draws one: its status and message.
    pub(super) fn draw_entry_fault(&self, entry: u64) -> Option<(BulkStatus, &'static str)> {
        let f = &self.config.faults;
        let (transient, failed) = (f.entry_transient_failure_rate, f.entry_failure_rate);
        if transient <= 0.0 && failed <= 0.0 {
            return None;
        }
        let u = unit(f.seed ^ ENTRY_FAULT_STREAM, entry);
        if u < transient {
            Some((
                BulkStatus::TransientFailure,
                "Amazon SES was unable to process the message because of a temporary issue. Retry it.",
            ))
        } else if u < transient + failed {
            Some((
                BulkStatus::Failed,
                "Amazon SES was unable to process the message.",
            ))
        } else {
            None
        }
    }
}
