//! Capacity planner: from an account's SES `MaxSendRate` and the observed `SendEmail` latency to
//! the event-source-mapping and Lambda settings that reach the quota with the fewest instances,
//! and what a million emails cost.
//!
//! Pure arithmetic, no I/O: the CLI (`sesload plan`) parses flags and price files and prints.
//! `docs/tuning.md` explains every formula; the names here are the ones used there.
//!
//! The model, in one paragraph: one poller instance keeps at most `send_concurrency` SES calls in
//! flight, each taking `ses_latency_ms + per_email_overhead_ms` (plus `bulk_per_entry_ms` per
//! entry for `SendBulkEmail`), so by Little's law it can send `send_concurrency × entries /
//! (latency + overhead)` emails/s. We only plan on `capacity_headroom` of that (latency has a
//! tail). The fleet aims at `max_send_rate × target_utilisation` and shares one send schedule; the
//! event source mapping's `maximum_concurrency` is the fewest instances that carry it (at least 2,
//! the ESM minimum), and each instance gets an equal share. A batch holds `batch_seconds` of
//! sending at that share; the function timeout covers a batch slowed down by throttling and is
//! never shorter than the batch needs to drain before the poller's deadline reserve
//! ([`deadline`]); the queue's visibility timeout is 6 × the function timeout plus the batching
//! window (the AWS rule). [`check_settings`] applies the same rules to settings one already has.

mod check;
mod cost;
pub mod deadline;
mod inputs;
mod limits;
mod model;
mod prices;

use serde::Serialize;

pub use check::{Problem, SETTINGS_KEYS, Settings, SettingsCheck, check_settings};
pub use cost::{CostBasis, CostLine, costs};
pub use deadline::{
    DEADLINE_RESERVE_SECONDS, batch_fits, drain_seconds, fleet_rate, max_batch_for_timeout,
    min_timeout_for_batch, steady_instance_rate,
};
pub use inputs::{Inputs, SendApi};
pub use limits::*;
pub use model::{
    BULK_BUCKET_SECONDS, DailyQuota, Instances, Sending, batch_efficiency, batching_window_for,
    bulk_batching_window_for, cpu_limited_rate, daily_quota_at, entries_per_call, fleet_for,
    instance_capacity, instances_for, instances_for_payload, max_batch_for_payload, memory_for,
    sending_at, throttled_timeout_for, visibility_timeout_for,
};
pub use prices::{PRICES_SOURCE, Prices};

use limits::MILLION;

/// Inputs the model cannot work with; each message names the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("{name} = {value} is invalid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: &'static str,
    },
    #[error(
        "{instances} instances would be needed at send_concurrency {send_concurrency} \
         (ESM maximum concurrency is at most {MAX_MAXIMUM_CONCURRENCY}): raise --send-concurrency"
    )]
    TooManyInstances {
        instances: u64,
        send_concurrency: u32,
    },
    #[error(
        "at {per_instance_rate} emails/s per instance not one email drains within Lambda's \
         {MAX_FUNCTION_TIMEOUT_S} s timeout and the {DEADLINE_RESERVE_SECONDS} s deadline reserve"
    )]
    NoBatchFits { per_instance_rate: f64 },
    #[error("invalid price overrides: {0}")]
    Prices(String),
    #[error("invalid settings to check: {0}")]
    Settings(String),
}

/// The recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// `max_send_rate × target_utilisation` (emails/s): the fleet rate `R_f`.
    pub target_rate: f64,
    /// Little's law: `send_concurrency × entries / (latency + overhead)` (emails/s per instance).
    pub instance_capacity: f64,
    /// `instance_capacity × capacity_headroom` (at most what the CPU carries): what the plan relies
    /// on per instance.
    pub instance_plannable_rate: f64,
    /// ESM `maximum_concurrency` (= poller instances; also `MAXIMUM_CONCURRENCY` in the poller).
    pub maximum_concurrency: u32,
    /// Each instance's steady share: `target_rate / maximum_concurrency` (emails/s).
    pub per_instance_rate: f64,
    /// SES calls in flight per instance at that rate (Little's law).
    pub in_flight_per_instance: f64,
    /// Recipients per SES call: 1 for `SendEmail`, `floor(r_i × 1 s)` within 1–50 for bulk.
    pub entries_per_call: u32,
    /// Latency of one SES call (ms).
    pub ses_call_ms: f64,
    /// SES calls per second across the fleet: `target_rate / entries_per_call`.
    pub ses_calls_per_second: f64,
    /// CPU per email on a full vCPU (µs), a bulk call's share included.
    pub cpu_us_per_email: f64,
    pub batch_size: u32,
    pub maximum_batching_window_in_seconds: u32,
    /// Seconds one batch takes at the paced rate: `batch_size / per_instance_rate`.
    pub batch_duration_s: f64,
    pub function_timeout_seconds: u32,
    /// The largest batch that drains within `function_timeout_seconds` (deadline reserve kept).
    pub max_batch_for_timeout: u32,
    /// The smallest timeout `batch_size` drains within.
    pub min_timeout_for_batch: u32,
    pub visibility_timeout_seconds: u32,
    pub function_memory_mb: u32,
    /// Fraction of wall time an instance spends sending (batch / (batch + gap)).
    pub batch_efficiency: f64,
    /// Predicted fleet send rate with a backlog (emails/s).
    pub predicted_rate: f64,
    /// What `Max24HourSend` means at the predicted rate (`None`: unlimited).
    pub daily_quota: Option<DailyQuota>,
    /// Lambda invocations per million emails.
    pub invocations_per_million: f64,
    /// Cost lines per million emails.
    pub cost_per_million: Vec<CostLine>,
    pub cost_per_million_usd: f64,
    /// `cost_per_million_usd × emails_per_month / 1e6`.
    pub monthly_cost_usd: f64,
    /// Settings that were clamped by a service limit, and why.
    pub notes: Vec<String>,
    pub inputs: Inputs,
}

/// Compute the recommendation.
pub fn plan(i: &Inputs, prices: &Prices) -> Result<Plan, PlanError> {
    inputs::validate(i)?;
    let mut notes = Vec::new();
    let target_rate = fleet_rate(i.max_send_rate, i.target_utilisation);

    // How one instance sends (Little's law, entries per call) and the instance count.
    let (
        Instances {
            needed,
            maximum_concurrency,
        },
        sending,
    ) = fleet_for(i, target_rate)?;
    if u64::from(maximum_concurrency) > needed.max(u64::from(MIN_MAXIMUM_CONCURRENCY)) {
        notes.push(format!(
            "{needed} instance(s) would carry the rate; maximum_concurrency is {maximum_concurrency} so \
             that a batch within Lambda's 6 MB payload still holds {} s of sending",
            i.batch_seconds
        ));
    } else if needed < u64::from(MIN_MAXIMUM_CONCURRENCY) {
        notes.push(format!(
            "one instance would do; maximum_concurrency is {MIN_MAXIMUM_CONCURRENCY}, the ESM minimum, \
             so each instance paces to half the target"
        ));
    }
    if sending.instance_plannable_rate < sending.instance_capacity * i.capacity_headroom {
        notes.push(format!(
            "an instance plans on {:.0} emails/s, what the largest Lambda's CPU carries at {:.0} µs \
             per email within the {:.0} % budget",
            sending.instance_plannable_rate,
            sending.cpu_us_per_email,
            i.cpu_budget * 100.0
        ));
    }
    let per_instance_rate = target_rate / f64::from(maximum_concurrency);
    let entries = sending.entries_per_call;
    let in_flight_per_instance = per_instance_rate / f64::from(entries) * sending.slot_seconds;

    let (batch_size, function_timeout_seconds) = batch_and_timeout(
        i,
        per_instance_rate,
        maximum_concurrency,
        entries,
        &mut notes,
    )?;
    let maximum_batching_window_in_seconds = match i.send_api {
        SendApi::Single => batching_window_for(batch_size),
        SendApi::Bulk => bulk_batching_window_for(batch_size, per_instance_rate, entries),
    };
    let batch_duration_s = drain_seconds(batch_size, per_instance_rate);
    debug_assert!(batch_fits(
        batch_size,
        function_timeout_seconds,
        per_instance_rate
    ));
    let visibility_timeout_seconds =
        visibility_timeout_for(function_timeout_seconds, maximum_batching_window_in_seconds);

    let function_memory_mb = memory_for(
        per_instance_rate,
        sending.cpu_us_per_email,
        i.cpu_budget,
        batch_size,
        i.message_bytes,
    );

    // Throughput prediction with a backlog: the fleet can never beat the account's rate; an idle
    // instance's gap is caught up on up to the schedule's largest burst (`pacer::MAX_BURST`;
    // below about 1.3/s the schedule takes no burst, and the other instances' reservations fill
    // the gap instead), or one bulk call.
    let idle_s = (i.invoke_gap_ms + i.per_batch_overhead_ms) / 1000.0 + sending.slot_seconds;
    let burst_s = sesload_core::pacer::MAX_BURST.as_secs_f64();
    let catch_up_s = match i.send_api {
        SendApi::Single => burst_s,
        SendApi::Bulk => burst_s.max(f64::from(entries) / per_instance_rate),
    };
    let batch_efficiency = batch_efficiency(batch_duration_s, idle_s, catch_up_s);
    let predicted_rate = (f64::from(maximum_concurrency)
        * per_instance_rate.min(sending.instance_capacity)
        * batch_efficiency)
        .min(i.max_send_rate);
    let daily_quota = i
        .max_24_hour_send
        .map(|q| daily_quota_at(q, predicted_rate));
    if let Some(q) = &daily_quota
        && i.emails_per_month > q.emails_per_30_days
    {
        notes.push(format!(
            "emails_per_month {} is more than Max24HourSend {} lets through in 30 days ({:.0})",
            i.emails_per_month, q.max_24_hour_send, q.emails_per_30_days
        ));
    }

    let invocations_per_million = MILLION / f64::from(batch_size);
    let cost_per_million = costs(
        i,
        prices,
        &CostBasis {
            batch_size,
            per_instance_rate,
            memory_mb: function_memory_mb,
        },
    );
    let cost_per_million_usd: f64 = cost_per_million.iter().map(|c| c.usd).sum();
    let monthly_cost_usd = cost_per_million_usd * i.emails_per_month / MILLION;

    Ok(Plan {
        target_rate,
        instance_capacity: sending.instance_capacity,
        instance_plannable_rate: sending.instance_plannable_rate,
        maximum_concurrency,
        per_instance_rate,
        in_flight_per_instance,
        entries_per_call: entries,
        ses_call_ms: sending.ses_call_ms,
        ses_calls_per_second: target_rate / f64::from(entries),
        cpu_us_per_email: sending.cpu_us_per_email,
        batch_size,
        maximum_batching_window_in_seconds,
        batch_duration_s,
        function_timeout_seconds,
        max_batch_for_timeout: max_batch_for_timeout(function_timeout_seconds, per_instance_rate),
        min_timeout_for_batch: min_timeout_for_batch(batch_size, per_instance_rate),
        visibility_timeout_seconds,
        function_memory_mb,
        batch_efficiency,
        predicted_rate,
        daily_quota,
        invocations_per_million,
        cost_per_million,
        cost_per_million_usd,
        monthly_cost_usd,
        notes,
        inputs: i.clone(),
    })
}

/// Batch size and function timeout, chosen together so that the batch drains before the deadline
/// reserve. The batch holds `batch_seconds` of sending (whole bulk calls for `SendBulkEmail`)
/// within the payload and in-flight limits; the timeout covers a throttled batch
/// ([`throttled_timeout_for`]) and is at least [`min_timeout_for_batch`]. When that passes
/// Lambda's 900 s, the timeout is 900 s and the batch shrinks to [`max_batch_for_timeout`].
fn batch_and_timeout(
    i: &Inputs,
    rate: f64,
    maximum_concurrency: u32,
    entries: u32,
    notes: &mut Vec<String>,
) -> Result<(u32, u32), PlanError> {
    let whole_calls_up = |b: u32| b.div_ceil(entries).saturating_mul(entries);
    let whole_calls_down = |b: u32| {
        if b >= entries {
            b / entries * entries
        } else {
            b
        }
    };

    let mut batch_size = whole_calls_up((rate * i.batch_seconds).ceil().max(1.0) as u32);
    let payload_cap = max_batch_for_payload(i.message_bytes);
    if batch_size > payload_cap {
        let lowered = whole_calls_down(payload_cap);
        notes.push(format!(
            "batch_size {batch_size} lowered to {lowered}: a larger event exceeds Lambda's 6 MB payload"
        ));
        batch_size = lowered;
    }
    let in_flight_cap = (SQS_MAX_IN_FLIGHT / u64::from(maximum_concurrency)).max(1) as u32;
    if batch_size > in_flight_cap {
        let lowered = whole_calls_down(in_flight_cap);
        notes.push(format!(
            "batch_size {batch_size} lowered to {lowered}: SQS allows about {SQS_MAX_IN_FLIGHT} in-flight messages"
        ));
        batch_size = lowered;
    }

    let throttled = throttled_timeout_for(
        drain_seconds(batch_size, rate),
        i.timeout_safety_factor,
        i.init_seconds,
        i.min_function_timeout_s,
    );
    let function_timeout_seconds = throttled.max(min_timeout_for_batch(batch_size, rate));
    if function_timeout_seconds <= MAX_FUNCTION_TIMEOUT_S {
        return Ok((batch_size, function_timeout_seconds));
    }
    notes.push(format!(
        "function timeout {function_timeout_seconds} s capped at Lambda's {MAX_FUNCTION_TIMEOUT_S} s: lower --batch-seconds"
    ));
    let largest = max_batch_for_timeout(MAX_FUNCTION_TIMEOUT_S, rate);
    if largest == 0 {
        return Err(PlanError::NoBatchFits {
            per_instance_rate: rate,
        });
    }
    if batch_size > largest {
        let lowered = whole_calls_down(largest);
        notes.push(format!(
            "batch_size {batch_size} lowered to {lowered}: a larger batch cannot drain at \
             {rate:.2} emails/s before the {DEADLINE_RESERVE_SECONDS} s deadline reserve of a \
             {MAX_FUNCTION_TIMEOUT_S} s timeout"
        ));
        batch_size = lowered;
    }
    Ok((batch_size, MAX_FUNCTION_TIMEOUT_S))
}

impl Plan {
    /// The Terraform variables, as a `terraform.tfvars` snippet.
    pub fn tfvars(&self) -> String {
        format!(
            "batch_size                         = {}\n\
             maximum_batching_window_in_seconds = {}\n\
             maximum_concurrency                = {}\n\
             target_utilisation                 = {}\n\
             send_concurrency                   = {}\n\
             send_api                           = \"{}\"\n\
             function_timeout_seconds           = {}\n\
             visibility_timeout_seconds         = {}\n\
             function_memory_mb                 = {}\n",
            self.batch_size,
            self.maximum_batching_window_in_seconds,
            self.maximum_concurrency,
            self.inputs.target_utilisation,
            self.inputs.send_concurrency,
            self.inputs.send_api,
            self.function_timeout_seconds,
            self.visibility_timeout_seconds,
            self.function_memory_mb,
        )
    }

    /// The settings the plan recommends, in the form [`check_settings`] takes.
    pub fn settings(&self) -> Settings {
        Settings {
            batch_size: self.batch_size,
            function_timeout_seconds: self.function_timeout_seconds,
            maximum_concurrency: self.maximum_concurrency,
            maximum_batching_window_in_seconds: Some(self.maximum_batching_window_in_seconds),
            visibility_timeout_seconds: Some(self.visibility_timeout_seconds),
        }
    }
}
