//! The two sending quotas: `MaxSendRate` (a token bucket of recipients) and `Max24HourSend`
//! (recipients in a rolling window of `daily_window_seconds`; mailbox-simulator recipients
//! exempt).
//!
//! The window keeps buckets of recipients on the monotonic clock. A bucket spans at most
//! 1/1000 of the window (at most 1 s, at least 1 ms) and its recipients leave the window one
//! window length after the *last* send in it: they may leave up to one bucket span late,
//! never early, so the quota is never exceeded over any window. With the 24 h default a
//! bucket is 1 s wide (at most 86,400 buckets); with a 2 s window, 2 ms.

use std::collections::VecDeque;
use std::time::Instant;

use super::send::Refusal;

/// Recipients sent in `[first_ms, last_ms]` (ms on the window's clock).
struct Bucket {
    first_ms: u64,
    last_ms: u64,
    recipients: u64,
}

/// The rolling window of `Max24HourSend`, on a millisecond clock the caller supplies.
struct DailyWindow {
    window_ms: u64,
    bucket_ms: u64,
    buckets: VecDeque<Bucket>,
    total: u64,
}

impl DailyWindow {
    fn new(window_secs: u64) -> Self {
        let window_ms = window_secs.saturating_mul(1000);
        Self {
            window_ms,
            bucket_ms: (window_ms / 1000).clamp(1, 1000),
            buckets: VecDeque::new(),
            total: 0,
        }
    }

    /// Recipients in the window at `now`.
    fn total_at(&mut self, now: u64) -> u64 {
        while let Some(b) = self.buckets.front() {
            if now.saturating_sub(b.last_ms) < self.window_ms {
                break;
            }
            self.total -= b.recipients;
            self.buckets.pop_front();
        }
        self.total
    }

    fn add_at(&mut self, now: u64, recipients: u64) {
        match self.buckets.back_mut() {
            Some(b) if now.saturating_sub(b.first_ms) < self.bucket_ms => {
                b.last_ms = now;
                b.recipients += recipients;
            }
            _ => self.buckets.push_back(Bucket {
                first_ms: now,
                last_ms: now,
                recipients,
            }),
        }
        self.total += recipients;
    }
}

pub(crate) struct Quota {
    tokens: f64,
    last: Instant,
    /// Zero of the window's millisecond clock.
    origin: Instant,
    day: DailyWindow,
}

impl Quota {
    /// A full rate bucket and an empty window of `window_secs` seconds.
    pub(crate) fn new(rate: f64, window_secs: u64) -> Self {
        let now = Instant::now();
        Self {
            tokens: rate,
            last: now,
            origin: now,
            day: DailyWindow::new(window_secs),
        }
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Recipients counted in the daily window now.
    pub(crate) fn sent_in_window(&mut self) -> u64 {
        let now = self.now_ms();
        self.day.total_at(now)
    }

    /// Takes `n` recipients from the rate bucket (`rate` per second, 0 = unlimited) and
    /// `counted` from the daily quota (`daily`, -1 = unlimited), or neither: `Err` is
    /// [`Refusal::Rate`] or [`Refusal::Daily`].
    pub(crate) fn take(
        &mut self,
        rate: f64,
        daily: i64,
        n: u64,
        counted: u64,
    ) -> Result<(), Refusal> {
        if rate > 0.0 {
            let now = Instant::now();
            let dt = now.duration_since(self.last).as_secs_f64();
            self.last = now;
            self.tokens = (self.tokens + dt * rate).min(rate);
            // A message bigger than the bucket goes through when the bucket is full.
            let need = (n as f64).min(rate);
            if self.tokens + 1e-9 < need {
                return Err(Refusal::Rate);
            }
        }
        let now = self.now_ms();
        if daily >= 0 && self.day.total_at(now) + counted > daily as u64 {
            return Err(Refusal::Daily);
        }
        if rate > 0.0 {
            self.tokens -= n as f64;
        }
        if counted > 0 {
            self.day.add_at(now, counted);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_frees_recipients_one_window_after_their_send_not_before() {
        let mut w = DailyWindow::new(2);
        w.add_at(100, 3);
        w.add_at(1_100, 2);
        assert_eq!(w.total_at(2_099), 5);
        assert_eq!(w.total_at(2_100), 2);
        assert_eq!(w.total_at(3_099), 2);
        assert_eq!(w.total_at(3_100), 0);
    }

    #[test]
    fn a_bucket_leaves_with_its_last_send() {
        // 86,400 s window: 1 s buckets. Sends 0.5 s apart share a bucket and leave together,
        // one window after the later one.
        let mut w = DailyWindow::new(86_400);
        w.add_at(0, 1);
        w.add_at(500, 1);
        w.add_at(1_000, 1); // a new bucket
        assert_eq!(w.buckets.len(), 2);
        assert_eq!(w.total_at(86_400_499), 3);
        assert_eq!(w.total_at(86_400_500), 1);
        assert_eq!(w.total_at(86_401_000), 0);
    }

    #[test]
    fn daily_quota_refuses_past_the_limit_and_exempts_uncounted_recipients() {
        let mut q = Quota::new(0.0, 86_400);
        q.take(0.0, 5, 3, 3).unwrap();
        q.take(0.0, 5, 2, 2).unwrap();
        assert_eq!(q.take(0.0, 5, 1, 1), Err(Refusal::Daily));
        q.take(0.0, 5, 4, 0).unwrap();
        assert_eq!(q.sent_in_window(), 5);
        q.take(0.0, -1, 1, 1).unwrap();
    }
}
