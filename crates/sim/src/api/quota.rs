//! The two sending quotas: `MaxSendRate` (a token bucket of recipients) and `Max24HourSend`
//! (recipients in a rolling window; mailbox-simulator recipients exempt).

use std::collections::VecDeque;
use std::time::Instant;

use crate::util::now_ms;

/// Why a send was refused by a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaRefusal {
    /// Over `MaxSendRate`: 429 `TooManyRequestsException`.
    Rate,
    /// Over `Max24HourSend`: 400 `LimitExceededException`.
    Daily,
}

pub(crate) struct Quota {
    tokens: f64,
    last: Instant,
    /// (minute since epoch, recipients) for the rolling 24 h window.
    day: VecDeque<(i64, u64)>,
    day_total: u64,
}

impl Quota {
    pub(crate) fn new(rate: f64) -> Self {
        Self {
            tokens: rate,
            last: Instant::now(),
            day: VecDeque::new(),
            day_total: 0,
        }
    }

    fn trim(&mut self, now_min: i64) {
        while let Some(&(m, n)) = self.day.front() {
            if now_min - m >= 24 * 60 {
                self.day.pop_front();
                self.day_total -= n;
            } else {
                break;
            }
        }
    }

    /// Recipients counted in the daily window now.
    pub(crate) fn sent_in_window(&mut self) -> u64 {
        self.trim(now_ms() / 60_000);
        self.day_total
    }

    /// Takes `n` recipients from the rate bucket (`rate` per second, 0 = unlimited) and
    /// `counted` from the daily quota (`daily`, -1 = unlimited), or neither.
    pub(crate) fn take(
        &mut self,
        rate: f64,
        daily: i64,
        n: u64,
        counted: u64,
    ) -> Result<(), QuotaRefusal> {
        if rate > 0.0 {
            let now = Instant::now();
            let dt = now.duration_since(self.last).as_secs_f64();
            self.last = now;
            self.tokens = (self.tokens + dt * rate).min(rate);
            // A message bigger than the bucket goes through when the bucket is full.
            let need = (n as f64).min(rate);
            if self.tokens + 1e-9 < need {
                return Err(QuotaRefusal::Rate);
            }
        }
        if daily >= 0 && self.sent_in_window() + counted > daily as u64 {
            return Err(QuotaRefusal::Daily);
        }
        if rate > 0.0 {
            self.tokens -= n as f64;
        }
        if counted > 0 {
            let now_min = now_ms() / 60_000;
            match self.day.back_mut() {
                Some((m, c)) if *m == now_min => *c += counted,
                _ => self.day.push_back((now_min, counted)),
            }
            self.day_total += counted;
        }
        Ok(())
    }
}
