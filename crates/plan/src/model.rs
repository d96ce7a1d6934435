//! The capacity model: what one instance can send, how many instances carry the target, and the
//! batch, batching window, timeouts and memory that go with them. Pure functions of numbers;
//! [`crate::plan`] composes them.

use serde::Serialize;

use crate::PlanError;
use crate::inputs::{Inputs, SendApi};
use crate::limits::{
    BATCH_SIZE_WITHOUT_WINDOW, DAILY_QUOTA_WINDOW_S, MAX_BATCH_SIZE, MAX_BULK_ENTRIES,
    MAX_INVOKE_PAYLOAD_BYTES, MAX_MAXIMUM_CONCURRENCY, MAX_MEMORY_MB, MAX_VISIBILITY_TIMEOUT_S,
    MB_PER_VCPU, MIN_MAXIMUM_CONCURRENCY, MIN_MEMORY_MB, SQS_RECORD_ENVELOPE_BYTES,
};

/// Seconds of sending a bulk call may take from the instance's pacer at once: the bucket holds
/// about `r_i × 1 s`, so a call carries at most that many entries.
pub const BULK_BUCKET_SECONDS: f64 = 1.0;

/// Entries per SES call at an instance rate: 1 for `SendEmail`; for `SendBulkEmail` what the
/// pacer's bucket holds, `floor(r_i × 1 s)`, at least 1 and at most 50.
pub fn entries_per_call(send_api: SendApi, instance_rate: f64) -> u32 {
    match send_api {
        SendApi::Single => 1,
        SendApi::Bulk => {
            let n = (instance_rate * BULK_BUCKET_SECONDS).floor();
            if n >= f64::from(MAX_BULK_ENTRIES) {
                MAX_BULK_ENTRIES
            } else {
                (n as u32).max(1)
            }
        }
    }
}

/// How one instance sends at a given paced rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sending {
    pub entries_per_call: u32,
    /// SES latency of one call: `ses_latency_ms (+ bulk_per_entry_ms × entries for bulk)`, ms.
    pub ses_call_ms: f64,
    /// How long a call holds its send slot: the call plus the per-email overhead, s.
    pub slot_seconds: f64,
    /// Little's law: `send_concurrency × entries / slot_seconds` (emails/s).
    pub instance_capacity: f64,
    /// What the plan relies on: capacity × headroom, and no more than the largest Lambda's CPU
    /// carries within the budget (emails/s).
    pub instance_plannable_rate: f64,
    /// CPU per email on a full vCPU (µs), with a bulk call's per-call part shared by its entries.
    pub cpu_us_per_email: f64,
}

/// How an instance paced at `instance_rate` sends, for the inputs' send API.
pub fn sending_at(i: &Inputs, instance_rate: f64) -> Sending {
    let entries_per_call = entries_per_call(i.send_api, instance_rate);
    let entries = f64::from(entries_per_call);
    let (ses_call_ms, cpu_us_per_email) = match i.send_api {
        SendApi::Single => (i.ses_latency_ms, i.cpu_us_per_email),
        SendApi::Bulk => (
            i.ses_latency_ms + i.bulk_per_entry_ms * entries,
            i.cpu_us_per_email - i.cpu_us_per_ses_call + i.cpu_us_per_ses_call / entries,
        ),
    };
    let slot_seconds = (ses_call_ms + i.per_email_overhead_ms) / 1000.0;
    let instance_capacity = instance_capacity(i.send_concurrency, slot_seconds) * entries;
    let instance_plannable_rate = (instance_capacity * i.capacity_headroom)
        .min(cpu_limited_rate(cpu_us_per_email, i.cpu_budget));
    Sending {
        entries_per_call,
        ses_call_ms,
        slot_seconds,
        instance_capacity,
        instance_plannable_rate,
        cpu_us_per_email,
    }
}

/// The fastest an instance can pace within the CPU budget at Lambda's largest memory (emails/s).
pub fn cpu_limited_rate(cpu_us_per_email: f64, cpu_budget: f64) -> f64 {
    if cpu_us_per_email <= 0.0 {
        return f64::INFINITY;
    }
    f64::from(MAX_MEMORY_MB) / MB_PER_VCPU * cpu_budget / (cpu_us_per_email / 1e6)
}

/// The fewest instances that carry `target_rate`, and how each of them sends. With
/// `SendEmail` an instance's capacity does not depend on its rate; with `SendBulkEmail` it does
/// (entries per call follow the rate), so the count is searched from 1 up.
pub fn fleet_for(i: &Inputs, target_rate: f64) -> Result<(Instances, Sending), PlanError> {
    let instances = match i.send_api {
        SendApi::Single => {
            let s = sending_at(i, target_rate);
            instances_for(target_rate, s.instance_plannable_rate, i.send_concurrency)?
        }
        SendApi::Bulk => {
            let carries = |n: u32| {
                f64::from(n) * sending_at(i, target_rate / f64::from(n)).instance_plannable_rate
                    >= target_rate
            };
            match (1..=MAX_MAXIMUM_CONCURRENCY).find(|&n| carries(n)) {
                Some(n) => Instances {
                    needed: u64::from(n),
                    maximum_concurrency: n
                        .max(MIN_MAXIMUM_CONCURRENCY)
                        .max(instances_for_payload(i, target_rate)),
                },
                None => {
                    let most = f64::from(MAX_MAXIMUM_CONCURRENCY);
                    let each = sending_at(i, target_rate / most).instance_plannable_rate;
                    return Err(PlanError::TooManyInstances {
                        instances: (target_rate / each).ceil() as u64,
                        send_concurrency: i.send_concurrency,
                    });
                }
            }
        }
    };
    let rate = target_rate / f64::from(instances.maximum_concurrency);
    Ok((instances, sending_at(i, rate)))
}

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

/// With `SendBulkEmail` one instance can carry thousands of emails/s, and the 6 MB invocation
/// payload, not capacity, bounds its batch: at 9,800 emails/s per instance 4,450 records last
/// under half a second, and the gap between batches eats into the rate. So a bulk fleet has at
/// least enough instances that a batch within the payload (in whole 50-entry calls) still holds
/// `batch_seconds` of sending; 0 when that would take more than the ESM's 1,000.
pub fn instances_for_payload(i: &Inputs, target_rate: f64) -> u32 {
    let cap = max_batch_for_payload(i.message_bytes);
    let whole_calls = if cap >= MAX_BULK_ENTRIES {
        cap / MAX_BULK_ENTRIES * MAX_BULK_ENTRIES
    } else {
        cap
    };
    let n = (target_rate * i.batch_seconds / f64::from(whole_calls)).ceil();
    if n <= f64::from(MAX_MAXIMUM_CONCURRENCY) {
        n as u32
    } else {
        0
    }
}

/// The batching window for a `SendBulkEmail` batch: as long as the batch takes to send
/// (`ceil(batch_size / r_i)`, 1–300 s), so that below the quota the ESM gathers full calls instead
/// of invoking with a few records; with a backlog the batch fills at once and the window costs
/// nothing. A bulk call of one entry is a single send, so it gets the single-send window.
pub fn bulk_batching_window_for(batch_size: u32, instance_rate: f64, entries_per_call: u32) -> u32 {
    if entries_per_call <= 1 {
        return batching_window_for(batch_size);
    }
    let drain = (f64::from(batch_size) / instance_rate).ceil();
    (drain.min(300.0) as u32).max(1)
}

/// What `Max24HourSend` means for a run at the planned rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyQuota {
    pub max_24_hour_send: f64,
    /// Seconds the quota lasts at the predicted rate, from an empty 24-hour window.
    pub lasts_seconds: f64,
    /// The fleet would send more than the quota in 24 hours: the quota, not the rate, bounds a run.
    pub binds: bool,
    /// The most the quota lets through in 30 days.
    pub emails_per_30_days: f64,
}

/// The daily quota at a send rate (emails/s).
pub fn daily_quota_at(max_24_hour_send: f64, rate: f64) -> DailyQuota {
    let emails_per_day = max_24_hour_send.min(rate * DAILY_QUOTA_WINDOW_S);
    DailyQuota {
        max_24_hour_send,
        lasts_seconds: max_24_hour_send / rate,
        binds: rate * DAILY_QUOTA_WINDOW_S > max_24_hour_send,
        emails_per_30_days: 30.0 * emails_per_day,
    }
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

    #[test]
    fn bulk_entries_follow_the_pacer_bucket() {
        assert_eq!(entries_per_call(SendApi::Single, 400.0), 1);
        assert_eq!(entries_per_call(SendApi::Bulk, 0.49), 1);
        assert_eq!(entries_per_call(SendApi::Bulk, 6.86), 6);
        assert_eq!(entries_per_call(SendApi::Bulk, 49.9), 49);
        assert_eq!(entries_per_call(SendApi::Bulk, 98.0), 50);
    }

    #[test]
    fn a_bulk_call_costs_latency_per_entry_and_shares_its_cpu() {
        let mut i = Inputs::new(200.0, 50.0);
        let single = sending_at(&i, 98.0);
        assert_eq!(single.entries_per_call, 1);
        assert!((single.slot_seconds - 0.060).abs() < 1e-12);
        assert!((single.instance_capacity - 32.0 / 0.060).abs() < 1e-9);
        assert_eq!(single.cpu_us_per_email, 200.0);
        i.send_api = SendApi::Bulk;
        let bulk = sending_at(&i, 98.0);
        assert_eq!(bulk.entries_per_call, 50);
        // 50 ms + 1 ms × 50 entries, + 10 ms of overhead per slot.
        assert!((bulk.ses_call_ms - 100.0).abs() < 1e-12);
        assert!((bulk.slot_seconds - 0.110).abs() < 1e-12);
        assert!((bulk.instance_capacity - 32.0 * 50.0 / 0.110).abs() < 1e-6);
        // 130 µs per email + 70 µs per call / 50 entries.
        assert!((bulk.cpu_us_per_email - 131.4).abs() < 1e-9);
        // A one-entry bulk call is a single send.
        let one = sending_at(&i, 0.49);
        assert_eq!(one.cpu_us_per_email, 200.0);
    }

    #[test]
    fn cpu_caps_what_one_instance_can_pace() {
        // 10,240 MB ≈ 5.79 vCPU; half of it at 200 µs per email ≈ 14,473 emails/s.
        let r = cpu_limited_rate(200.0, 0.5);
        assert!((r - 10_240.0 / 1_769.0 * 0.5 / 200e-6).abs() < 1e-6, "{r}");
        assert!(cpu_limited_rate(0.0, 0.5).is_infinite());
        let mut i = Inputs::new(200.0, 1.0);
        i.send_concurrency = 2_000;
        assert_eq!(sending_at(&i, 100.0).instance_plannable_rate, r);
    }

    #[test]
    fn bulk_needs_fewer_instances_at_high_rates() {
        let mut i = Inputs::new(5_000.0, 80.0);
        let (single, _) = fleet_for(&i, 4_900.0).unwrap();
        i.send_api = SendApi::Bulk;
        let (bulk, s) = fleet_for(&i, 4_900.0).unwrap();
        assert_eq!(single.maximum_concurrency, 18);
        // One instance carries it; four keep a 6 MB batch (4,450 records) at 3 s of sending.
        assert_eq!(bulk.needed, 1);
        assert_eq!(bulk.maximum_concurrency, 4);
        assert_eq!(s.entries_per_call, 50);
        assert_eq!(instances_for_payload(&i, 4_900.0), 4);
        i.message_bytes = 200 * 1024;
        assert_eq!(instances_for_payload(&i, 4_900.0), 490);
        assert_eq!(instances_for_payload(&i, 49_000.0), 0);
    }

    #[test]
    fn bulk_window_gathers_a_batch_below_the_quota() {
        assert_eq!(bulk_batching_window_for(24, 6.86, 6), 4);
        assert_eq!(bulk_batching_window_for(2, 0.49, 1), 0);
        assert_eq!(bulk_batching_window_for(10_000, 1.0, 1), 1);
        assert_eq!(bulk_batching_window_for(10_000, 2.0, 2), 300);
    }

    #[test]
    fn the_sandbox_quota_lasts_minutes() {
        let q = daily_quota_at(200.0, 0.98);
        assert!((q.lasts_seconds - 200.0 / 0.98).abs() < 1e-9);
        assert!(q.binds);
        assert_eq!(q.emails_per_30_days, 6_000.0);
        let q = daily_quota_at(50_000.0, 0.5);
        assert!(!q.binds);
        assert!((q.emails_per_30_days - 30.0 * 43_200.0).abs() < 1e-6);
    }
}
