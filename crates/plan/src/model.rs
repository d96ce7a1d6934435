//! The capacity model: what one instance can send, how many instances carry the target, and the
//! batch, batching window, timeouts and memory that go with them. Pure functions of numbers;
//! [`crate::plan`] composes them.

use crate::PlanError;
use crate::limits::{
    BATCH_SIZE_WITHOUT_WINDOW, MAX_BATCH_SIZE, MAX_INVOKE_PAYLOAD_BYTES, MAX_MAXIMUM_CONCURRENCY,
    MAX_MEMORY_MB, MAX_VISIBILITY_TIMEOUT_S, MB_PER_VCPU, MIN_MAXIMUM_CONCURRENCY, MIN_MEMORY_MB,
    SQS_RECORD_ENVELOPE_BYTES,
};

/// Little's law: an instance with `send_concurrency` sends in flight, each holding its slot for
/// `slot_seconds`, sends at most `send_concurrency / slot_seconds` emails/s.
pub fn instance_capacity(send_concurrency: u32, slot_seconds: f64) -> f64 {
    f64::from(send_concurrency) / slot_seconds
}

/// How many instances the fleet target needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instances {
    /// `ceil(target / plannable)`, at least 1: what the load alone needs.
    pub needed: u64,
    /// `needed`, raised to the ESM minimum of 2.
    pub maximum_concurrency: u32,
}

/// The fewest instances that carry `target_rate` at `plannable_rate` emails/s each, within the
/// ESM's 2–1,000 (more than 1,000 is an error naming the fix).
pub fn instances_for(
    target_rate: f64,
    plannable_rate: f64,
    send_concurrency: u32,
) -> Result<Instances, PlanError> {
    let needed = (target_rate / plannable_rate).ceil().max(1.0) as u64;
    if needed > u64::from(MAX_MAXIMUM_CONCURRENCY) {
        return Err(PlanError::TooManyInstances {
            instances: needed,
            send_concurrency,
        });
    }
    Ok(Instances {
        needed,
        maximum_concurrency: (needed as u32).max(MIN_MAXIMUM_CONCURRENCY),
    })
}

/// Largest batch whose Lambda event fits the 6 MB invocation payload.
pub fn max_batch_for_payload(message_bytes: u64) -> u32 {
    let per_record = message_bytes + SQS_RECORD_ENVELOPE_BYTES;
    let n = MAX_INVOKE_PAYLOAD_BYTES / per_record.max(1);
    u32::try_from(n)
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_BATCH_SIZE)
}

/// The batching window an ESM needs for a batch size: 0 up to 10 records, else at least 1 s.
/// One second is the least allowed and the least added latency; with a backlog, batches fill
/// before the window ends anyway.
pub fn batching_window_for(batch_size: u32) -> u32 {
    if batch_size > BATCH_SIZE_WITHOUT_WINDOW {
        1
    } else {
        0
    }
}

/// Function timeout that covers a batch slowed down by throttling:
/// `max(min_timeout_s, ceil(batch_duration_s × safety_factor + init_seconds))`, at least 1 s.
/// Not capped: the caller holds it to Lambda's 900 s.
pub fn throttled_timeout_for(
    batch_duration_s: f64,
    safety_factor: f64,
    init_seconds: f64,
    min_timeout_s: u32,
) -> u32 {
    let raw = (batch_duration_s * safety_factor + init_seconds).ceil();
    (raw as u32).max(min_timeout_s).max(1)
}

/// The AWS rule: visibility timeout ≥ 6 × function timeout + batching window (capped at 12 h).
pub fn visibility_timeout_for(function_timeout_s: u32, window_s: u32) -> u32 {
    function_timeout_s
        .saturating_mul(6)
        .saturating_add(window_s)
        .min(MAX_VISIBILITY_TIMEOUT_S)
}

/// Lambda memory whose CPU share covers `rate` emails/s within the CPU budget, in 64 MB steps.
pub fn memory_for(
    rate: f64,
    cpu_us_per_email: f64,
    cpu_budget: f64,
    batch_size: u32,
    message_bytes: u64,
) -> u32 {
    let vcpu_needed = rate * cpu_us_per_email / 1e6 / cpu_budget;
    let for_cpu = vcpu_needed * MB_PER_VCPU;
    // Runtime + SDK clients ≈ 30 MB; the event and its parsed copies ≈ 4 × payload.
    let for_payload = 30.0
        + 4.0 * f64::from(batch_size) * (message_bytes + SQS_RECORD_ENVELOPE_BYTES) as f64 / 1e6;
    let mb = for_cpu.max(for_payload).max(f64::from(MIN_MEMORY_MB));
    let stepped = ((mb / 64.0).ceil() * 64.0) as u32;
    stepped.clamp(MIN_MEMORY_MB, MAX_MEMORY_MB)
}

/// Fraction of wall time an instance spends sending with a backlog. Time without sends
/// (`idle_s`: the gap between two batches, the per-batch work before the first send, and the tail
/// after the last send starts) is lost, except what the pacer's bucket lets the instance catch up
/// on afterwards (`catch_up_s`).
pub fn batch_efficiency(batch_duration_s: f64, idle_s: f64, catch_up_s: f64) -> f64 {
    let lost_s = (idle_s - catch_up_s).max(0.0);
    batch_duration_s / (batch_duration_s + lost_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_batches_need_no_window_and_large_ones_do() {
        assert_eq!(batching_window_for(1), 0);
        assert_eq!(batching_window_for(10), 0);
        assert_eq!(batching_window_for(11), 1);
    }

    #[test]
    fn visibility_rule_and_cap() {
        assert_eq!(visibility_timeout_for(10, 1), 61);
        assert_eq!(visibility_timeout_for(900, 300), 5_700);
        assert_eq!(
            visibility_timeout_for(u32::MAX, 0),
            MAX_VISIBILITY_TIMEOUT_S
        );
    }

    #[test]
    fn memory_rises_with_the_paced_rate() {
        assert_eq!(memory_for(50.0, 200.0, 0.5, 100, 400), 128);
        let a = memory_for(500.0, 200.0, 0.5, 1000, 400);
        let b = memory_for(2_000.0, 200.0, 0.5, 1000, 400);
        assert!(a > 128 && b > a, "{a} {b}");
    }

    #[test]
    fn instances_are_at_least_two_and_at_most_a_thousand() {
        let one = instances_for(100.0, 500.0, 32).unwrap();
        assert_eq!((one.needed, one.maximum_concurrency), (1, 2));
        let six = instances_for(3_000.0, 500.0, 32).unwrap();
        assert_eq!((six.needed, six.maximum_concurrency), (6, 6));
        let e = instances_for(1_000_001.0, 1_000.0, 4).unwrap_err();
        assert_eq!(
            e,
            PlanError::TooManyInstances {
                instances: 1001,
                send_concurrency: 4
            }
        );
    }

    #[test]
    fn throttled_timeout_has_a_floor() {
        assert_eq!(throttled_timeout_for(3.0, 4.0, 1.0, 10), 13);
        assert_eq!(throttled_timeout_for(0.5, 4.0, 1.0, 10), 10);
        assert_eq!(throttled_timeout_for(0.1, 4.0, 0.0, 0), 1);
    }

    #[test]
    fn efficiency_counts_only_the_idle_time_the_pacer_cannot_catch_up() {
        assert_eq!(batch_efficiency(3.0, 0.05, 0.1), 1.0);
        assert!((batch_efficiency(3.0, 0.11, 0.1) - 3.0 / 3.01).abs() < 1e-12);
    }
}
