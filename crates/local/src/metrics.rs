//! In-process metrics of the local stack, named as in EMF / CloudWatch (`common.md`), sampled
//! once a second into a ring buffer that the dashboard polls, and rendered as Prometheus text.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Counters (monotonic totals) and gauges.
#[derive(Default)]
pub struct Metrics {
    /// Requests accepted by the ingest API (durably queued).
    pub emails_received: AtomicU64,
    /// Queue records deleted after a successful invocation (the "processed" line).
    pub records_processed: AtomicU64,
    pub emails_sent: AtomicU64,
    pub emails_throttled: AtomicU64,
    /// Records returned as batch item failures (retried after their visibility timeout).
    pub emails_retried: AtomicU64,
    pub emails_dead_lettered: AtomicU64,
    pub duplicates_skipped: AtomicU64,
    pub ambiguous_retries: AtomicU64,
    /// Records parked (acknowledged and queued again with a delay: waiting, not failing).
    pub emails_parked: AtomicU64,
    /// Records of cancelled campaigns acknowledged without sending.
    pub emails_cancelled: AtomicU64,
    /// Records an invocation's deadline sent back unattempted.
    pub deadline_returns: AtomicU64,
    /// SES `AccessDeniedException` answers.
    pub access_denied: AtomicU64,
    /// Failed `GetAccount` calls.
    pub quota_fetch_failures: AtomicU64,
    /// Send slots an instance paced alone because the shared send schedule failed.
    pub schedule_fallbacks: AtomicU64,
    /// SES errors other than throttling.
    pub ses_errors: AtomicU64,
    /// Invocations that failed as a whole (handler error or panic).
    pub invocation_errors: AtomicU64,
    /// Invocations abandoned at the function timeout (`function_timeout_seconds`).
    pub invocation_timeouts: AtomicU64,
    pub invocations: AtomicU64,
    pub customer_lookups: AtomicU64,
    /// Ingest requests rejected with 4xx.
    pub ingest_rejected: AtomicU64,
    /// Messages whose final status is delivered (set by the stack wiring from the simulator's
    /// events; the same definition as the `email_status` view of `sql/views`).
    pub emails_delivered: AtomicU64,
    /// Campaigns a guardrail auto-paused (bounce or complaint rate over its threshold).
    pub guardrail_pauses: AtomicU64,
    /// Invocations running now.
    pub concurrency: AtomicI64,
    ses_send_ms: Mutex<Vec<f64>>,
    /// Every SendEmail latency since start (capped), for p50/p99 over a whole run.
    ses_send_all: Mutex<Vec<f32>>,
    batch_duration_ms: Mutex<Vec<f64>>,
    series: Mutex<VecDeque<Sample>>,
    last: Mutex<Option<Totals>>,
}

/// Queue gauges read from the database at sampling time.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct QueueGauges {
    pub visible: i64,
    pub in_flight: i64,
    pub delayed: i64,
    /// Parked copies waiting out their delay (part of `delayed`).
    pub parked: i64,
    pub dlq: i64,
    pub oldest_age_s: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    at_ms: i64,
    received: u64,
    processed: u64,
    sent: u64,
    delivered: u64,
    throttled: u64,
    retried: u64,
    dead: u64,
    parked: u64,
    deadline_returns: u64,
    errors: u64,
    invocations: u64,
    timeouts: u64,
}

/// One point per second: rates over the last interval plus gauges.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    pub t: i64,
    pub emails_received: f64,
    pub records_processed: f64,
    pub emails_sent: f64,
    pub emails_delivered: f64,
    pub emails_throttled: f64,
    pub emails_retried: f64,
    pub emails_dead_lettered: f64,
    pub emails_parked: f64,
    pub deadline_returns: f64,
    pub errors: f64,
    pub invocations: f64,
    pub invocation_timeouts: f64,
    pub concurrency: i64,
    pub ses_send_ms_avg: f64,
    pub ses_send_ms_p99: f64,
    pub batch_duration_ms_avg: f64,
    pub batch_duration_ms_p99: f64,
    pub queue_visible: i64,
    pub queue_in_flight: i64,
    pub queue_delayed: i64,
    pub dlq_depth: i64,
    pub oldest_age_s: f64,
}

const KEEP: usize = 900;

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn observe_ses_send_ms(&self, ms: f64) {
        if let Ok(mut v) = self.ses_send_ms.lock() {
            v.push(ms);
        }
        if let Ok(mut v) = self.ses_send_all.lock()
            && v.len() < 2_000_000
        {
            v.push(ms as f32);
        }
    }

    /// (p50, p99, count) of every SendEmail latency observed since start.
    pub fn ses_send_percentiles(&self) -> Option<(f64, f64, usize)> {
        let mut v = self.ses_send_all.lock().ok()?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |p: f64| {
            let i = ((v.len() as f64) * p).ceil() as usize;
            f64::from(v[i.clamp(1, v.len()) - 1])
        };
        Some((at(0.5), at(0.99), v.len()))
    }

    pub fn observe_batch_ms(&self, ms: f64) {
        if let Ok(mut v) = self.batch_duration_ms.lock() {
            v.push(ms);
        }
    }

    fn totals(&self, at_ms: i64) -> Totals {
        Totals {
            at_ms,
            received: self.emails_received.load(Relaxed),
            processed: self.records_processed.load(Relaxed),
            sent: self.emails_sent.load(Relaxed),
            delivered: self.emails_delivered.load(Relaxed),
            throttled: self.emails_throttled.load(Relaxed),
            retried: self.emails_retried.load(Relaxed),
            dead: self.emails_dead_lettered.load(Relaxed),
            parked: self.emails_parked.load(Relaxed),
            deadline_returns: self.deadline_returns.load(Relaxed),
            errors: self.invocation_errors.load(Relaxed) + self.ses_errors.load(Relaxed),
            invocations: self.invocations.load(Relaxed),
            timeouts: self.invocation_timeouts.load(Relaxed),
        }
    }

    /// Take one sample (called once a second by the stack).
    pub fn sample(&self, at_ms: i64, q: QueueGauges) -> Sample {
        let now = self.totals(at_ms);
        let prev = self
            .last
            .lock()
            .ok()
            .and_then(|mut l| l.replace(now))
            .unwrap_or(Totals {
                at_ms: at_ms - 1000,
                ..now
            });
        let secs = ((now.at_ms - prev.at_ms) as f64 / 1000.0).max(0.001);
        let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
        let (ses_avg, ses_p99) = drain_stats(&self.ses_send_ms);
        let (b_avg, b_p99) = drain_stats(&self.batch_duration_ms);
        let s = Sample {
            t: at_ms,
            emails_received: rate(now.received, prev.received),
            records_processed: rate(now.processed, prev.processed),
            emails_sent: rate(now.sent, prev.sent),
            emails_delivered: rate(now.delivered, prev.delivered),
            emails_throttled: rate(now.throttled, prev.throttled),
            emails_retried: rate(now.retried, prev.retried),
            emails_dead_lettered: rate(now.dead, prev.dead),
            emails_parked: rate(now.parked, prev.parked),
            deadline_returns: rate(now.deadline_returns, prev.deadline_returns),
            errors: rate(now.errors, prev.errors),
            invocations: rate(now.invocations, prev.invocations),
            invocation_timeouts: rate(now.timeouts, prev.timeouts),
            concurrency: self.concurrency.load(Relaxed),
            ses_send_ms_avg: ses_avg,
            ses_send_ms_p99: ses_p99,
            batch_duration_ms_avg: b_avg,
            batch_duration_ms_p99: b_p99,
            queue_visible: q.visible,
            queue_in_flight: q.in_flight,
            queue_delayed: q.delayed,
            dlq_depth: q.dlq,
            oldest_age_s: q.oldest_age_s,
        };
        if let Ok(mut series) = self.series.lock() {
            series.push_back(s.clone());
            while series.len() > KEEP {
                series.pop_front();
            }
        }
        s
    }

    /// The last `n` samples (oldest first).
    pub fn series(&self, n: usize) -> Vec<Sample> {
        self.series
            .lock()
            .map(|s| s.iter().skip(s.len().saturating_sub(n)).cloned().collect())
            .unwrap_or_default()
    }

    /// Totals as `(name, value)` pairs (names per common.md).
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("emails_received", self.emails_received.load(Relaxed)),
            ("records_processed", self.records_processed.load(Relaxed)),
            ("emails_sent", self.emails_sent.load(Relaxed)),
            ("emails_delivered", self.emails_delivered.load(Relaxed)),
            ("emails_throttled", self.emails_throttled.load(Relaxed)),
            ("emails_retried", self.emails_retried.load(Relaxed)),
            (
                "emails_dead_lettered",
                self.emails_dead_lettered.load(Relaxed),
            ),
            ("duplicates_skipped", self.duplicates_skipped.load(Relaxed)),
            ("ambiguous_retries", self.ambiguous_retries.load(Relaxed)),
            ("emails_parked", self.emails_parked.load(Relaxed)),
            ("emails_cancelled", self.emails_cancelled.load(Relaxed)),
            ("deadline_returns", self.deadline_returns.load(Relaxed)),
            ("access_denied", self.access_denied.load(Relaxed)),
            (
                "quota_fetch_failures",
                self.quota_fetch_failures.load(Relaxed),
            ),
            ("schedule_fallbacks", self.schedule_fallbacks.load(Relaxed)),
            ("ses_errors", self.ses_errors.load(Relaxed)),
            ("invocations", self.invocations.load(Relaxed)),
            ("invocation_errors", self.invocation_errors.load(Relaxed)),
            (
                "invocation_timeouts",
                self.invocation_timeouts.load(Relaxed),
            ),
            ("customer_lookups", self.customer_lookups.load(Relaxed)),
            ("ingest_rejected", self.ingest_rejected.load(Relaxed)),
            ("guardrail_pauses", self.guardrail_pauses.load(Relaxed)),
        ]
    }

    /// Prometheus text exposition (version 0.0.4), metric names prefixed `sesload_`.
    pub fn prometheus(&self, q: Option<QueueGauges>) -> String {
        let mut out = String::new();
        for (name, v) in self.counters() {
            out.push_str(&format!(
                "# TYPE sesload_{name}_total counter\nsesload_{name}_total {v}\n"
            ));
        }
        let last = self.series(1).pop().unwrap_or_default();
        let gauges: Vec<(&str, f64)> = vec![
            ("concurrency", self.concurrency.load(Relaxed) as f64),
            ("ses_send_ms", last.ses_send_ms_avg),
            ("ses_send_ms_p99", last.ses_send_ms_p99),
            ("batch_duration_ms", last.batch_duration_ms_avg),
            ("batch_duration_ms_p99", last.batch_duration_ms_p99),
        ];
        for (name, v) in gauges {
            out.push_str(&format!(
                "# TYPE sesload_{name} gauge\nsesload_{name} {v}\n"
            ));
        }
        if let Some(q) = q {
            out.push_str("# TYPE sesload_queue_messages gauge\n");
            out.push_str(&format!(
                "sesload_queue_messages{{state=\"visible\"}} {}\nsesload_queue_messages{{state=\"in_flight\"}} {}\nsesload_queue_messages{{state=\"delayed\"}} {}\n",
                q.visible, q.in_flight, q.delayed
            ));
            out.push_str(&format!(
                "# TYPE sesload_parked_messages gauge\nsesload_parked_messages {}\n",
                q.parked
            ));
            out.push_str(&format!(
                "# TYPE sesload_dlq_messages gauge\nsesload_dlq_messages {}\n# TYPE sesload_oldest_message_age_seconds gauge\nsesload_oldest_message_age_seconds {}\n",
                q.dlq, q.oldest_age_s
            ));
        }
        out
    }
}

fn drain_stats(m: &Mutex<Vec<f64>>) -> (f64, f64) {
    let mut v = match m.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(_) => return (0.0, 0.0),
    };
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let avg = v.iter().sum::<f64>() / v.len() as f64;
    v.sort_by(|a, b| a.total_cmp(b));
    let idx = ((v.len() as f64) * 0.99).ceil() as usize;
    let p99 = v[idx.clamp(1, v.len()) - 1];
    (avg, p99)
}
