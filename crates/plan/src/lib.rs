//! Capacity planner: from an account's SES `MaxSendRate` and the observed `SendEmail` latency to
//! the event-source-mapping and Lambda settings that reach the quota with the fewest instances,
//! and what a million emails cost.
//!
//! Pure arithmetic, no I/O: the CLI (`sesload plan`) parses flags and price files and prints.
//! `docs/tuning.md` explains every formula; the names here are the ones used there.
//!
//! The model, in one paragraph: one poller instance keeps at most `send_concurrency` `SendEmail`
//! calls in flight, each taking `ses_latency_ms + per_email_overhead_ms`, so by Little's law it
//! can send `send_concurrency / (latency + overhead)` emails/s. We only plan on `capacity_headroom`
//! of that (latency has a tail). The fleet aims at `max_send_rate × target_utilisation`; the
//! event source mapping's `maximum_concurrency` is the fewest instances that carry it (at least 2,
//! the ESM minimum), and each instance paces itself to its equal share (the poller's token bucket).
//! A batch holds `batch_seconds` of sending at that paced rate; the function timeout covers a batch
//! slowed down by throttling; the queue's visibility timeout is 6 × the function timeout plus the
//! batching window (the AWS rule).

mod cost;
mod inputs;
mod limits;
mod model;
mod prices;

use serde::Serialize;

pub use cost::{CostBasis, CostLine, costs};
pub use inputs::Inputs;
pub use limits::*;
pub use model::{
    Instances, batch_efficiency, batching_window_for, instance_capacity, instances_for,
    max_batch_for_payload, memory_for, throttled_timeout_for, visibility_timeout_for,
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
    #[error("invalid price overrides: {0}")]
    Prices(String),
}

/// The recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// `max_send_rate × target_utilisation` (emails/s).
    pub target_rate: f64,
    /// Little's law: `send_concurrency / (latency + overhead)` (emails/s per instance).
    pub instance_capacity: f64,
    /// `instance_capacity × capacity_headroom`: what the plan relies on per instance.
    pub instance_plannable_rate: f64,
    /// ESM `maximum_concurrency` (= poller instances; also `MAXIMUM_CONCURRENCY` in the poller).
    pub maximum_concurrency: u32,
    /// Each instance's paced rate: `target_rate / maximum_concurrency` (emails/s).
    pub per_instance_rate: f64,
    /// Sends in flight per instance at that rate (Little's law).
    pub in_flight_per_instance: f64,
    pub batch_size: u32,
    pub maximum_batching_window_in_seconds: u32,
    /// Seconds one batch takes at the paced rate.
    pub batch_duration_s: f64,
    pub function_timeout_seconds: u32,
    pub visibility_timeout_seconds: u32,
    pub function_memory_mb: u32,
    /// Fraction of wall time an instance spends sending (batch / (batch + gap)).
    pub batch_efficiency: f64,
    /// Predicted fleet send rate with a backlog (emails/s).
    pub predicted_rate: f64,
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
    let target_rate = i.max_send_rate * i.target_utilisation;

    // Per-instance capacity (Little's law) and the instance count.
    let slot_seconds = (i.ses_latency_ms + i.per_email_overhead_ms) / 1000.0;
    let instance_capacity = instance_capacity(i.send_concurrency, slot_seconds);
    let instance_plannable_rate = instance_capacity * i.capacity_headroom;
    let Instances {
        needed,
        maximum_concurrency,
    } = instances_for(target_rate, instance_plannable_rate, i.send_concurrency)?;
    if needed < u64::from(MIN_MAXIMUM_CONCURRENCY) {
        notes.push(format!(
            "one instance would do; maximum_concurrency is {MIN_MAXIMUM_CONCURRENCY}, the ESM minimum, \
             so each instance paces to half the target"
        ));
    }
    let per_instance_rate = target_rate / f64::from(maximum_concurrency);
    let in_flight_per_instance = per_instance_rate * slot_seconds;

    // Batch: `batch_seconds` of sending at the paced rate, within the payload and in-flight limits.
    let mut batch_size = (per_instance_rate * i.batch_seconds).ceil().max(1.0) as u32;
    let payload_cap = max_batch_for_payload(i.message_bytes);
    if batch_size > payload_cap {
        notes.push(format!(
            "batch_size {batch_size} lowered to {payload_cap}: a larger event exceeds Lambda's 6 MB payload"
        ));
        batch_size = payload_cap;
    }
    let in_flight_cap = (SQS_MAX_IN_FLIGHT / u64::from(maximum_concurrency)).max(1) as u32;
    if batch_size > in_flight_cap {
        notes.push(format!(
            "batch_size {batch_size} lowered to {in_flight_cap}: SQS allows about {SQS_MAX_IN_FLIGHT} in-flight messages"
        ));
        batch_size = in_flight_cap;
    }
    let maximum_batching_window_in_seconds = batching_window_for(batch_size);
    let batch_duration_s = f64::from(batch_size) / per_instance_rate;

    // Timeouts.
    let mut function_timeout_seconds = throttled_timeout_for(
        batch_duration_s,
        i.timeout_safety_factor,
        i.init_seconds,
        i.min_function_timeout_s,
    );
    if function_timeout_seconds > MAX_FUNCTION_TIMEOUT_S {
        notes.push(format!(
            "function timeout {function_timeout_seconds} s capped at Lambda's {MAX_FUNCTION_TIMEOUT_S} s: lower --batch-seconds"
        ));
        function_timeout_seconds = MAX_FUNCTION_TIMEOUT_S;
    }
    let visibility_timeout_seconds =
        visibility_timeout_for(function_timeout_seconds, maximum_batching_window_in_seconds);

    let function_memory_mb = memory_for(
        per_instance_rate,
        i.cpu_us_per_email,
        i.cpu_budget,
        batch_size,
        i.message_bytes,
    );

    // Throughput prediction with a backlog: the fleet can never beat the account's rate; an idle
    // instance catches up on at most `pacer::BURST` of the time it spent without sending.
    let idle_s = (i.invoke_gap_ms + i.per_batch_overhead_ms) / 1000.0 + slot_seconds;
    let batch_efficiency = batch_efficiency(
        batch_duration_s,
        idle_s,
        sesload_core::pacer::BURST.as_secs_f64(),
    );
    let predicted_rate = (f64::from(maximum_concurrency)
        * per_instance_rate.min(instance_capacity)
        * batch_efficiency)
        .min(i.max_send_rate);

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
        instance_capacity,
        instance_plannable_rate,
        maximum_concurrency,
        per_instance_rate,
        in_flight_per_instance,
        batch_size,
        maximum_batching_window_in_seconds,
        batch_duration_s,
        function_timeout_seconds,
        visibility_timeout_seconds,
        function_memory_mb,
        batch_efficiency,
        predicted_rate,
        invocations_per_million,
        cost_per_million,
        cost_per_million_usd,
        monthly_cost_usd,
        notes,
        inputs: i.clone(),
    })
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
             function_timeout_seconds           = {}\n\
             visibility_timeout_seconds         = {}\n\
             function_memory_mb                 = {}\n",
            self.batch_size,
            self.maximum_batching_window_in_seconds,
            self.maximum_concurrency,
            self.inputs.target_utilisation,
            self.inputs.send_concurrency,
            self.function_timeout_seconds,
            self.visibility_timeout_seconds,
            self.function_memory_mb,
        )
    }
}
