//! Step 0 of SendEmail: seeded fault injection. One draw per call from `(seed, call number)`;
//! the probabilities are exclusive slices of that draw.

use std::sync::atomic::Ordering as AO;
use std::time::Duration;

use crate::api::SimState;
use crate::api::wire::Reply;
use crate::util::unit;

impl SimState {
    /// `Err(reply)`: the call fails with an injected error instead of being served.
    /// `Ok(extra)`: it is served, `extra` later than the latency model says.
    pub(super) fn draw_fault(&self, seq: u64) -> Result<Duration, Reply> {
        let f = &self.config.faults;
        if f.error_rate <= 0.0 && f.slow_rate <= 0.0 && f.throttle_rate <= 0.0 {
            return Ok(Duration::ZERO);
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
        if u < f.error_rate + f.throttle_rate {
            self.counters.fault_throttles.fetch_add(1, AO::Relaxed);
            return Err(Reply::error(
                429,
                "TooManyRequestsException",
                "Maximum sending rate exceeded.",
            ));
        }
        if u < f.error_rate + f.throttle_rate + f.slow_rate {
            self.counters.fault_slow.fetch_add(1, AO::Relaxed);
            return Ok(Duration::from_millis(f.slow_ms));
        }
        Ok(Duration::ZERO)
    }
}
