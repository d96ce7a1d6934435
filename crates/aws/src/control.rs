//! The deployment's control table (environment variable `CONTROL_TABLE`): small items the
//! whole fleet of poller instances and the guard share, keyed by `pk` (S), with TTL on
//! `expires_at` (items without it, such as schedules and campaign states, never expire).
//!
//! | item | `pk` | attributes |
//! |---|---|---|
//! | a send schedule ([`DynamoSchedule`]) | `schedule#<name>` | `next_slot_us` (N): the schedule's next free send slot, epoch microseconds |
//! | a campaign's state ([`DynamoCampaigns`](crate::DynamoCampaigns)) | `campaign#<name>` | see [`crate::campaigns`] |
//! | a record of a cancelled campaign ([`DynamoCampaigns`](crate::DynamoCampaigns)) | `cancelled#<name>#<unique_code>` | see [`crate::campaigns`] |
//! | a guardrail bucket ([`DynamoGuardCounters`](crate::DynamoGuardCounters)) | `guard#<campaign>#<minute>` | see [`crate::guard`] |

use sesload_core::clock::unix_us;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use sesload_core::{PortError, Reservation, SendSchedule};

use crate::dynamo::{error_text, update_condition_failed};

/// Partition key of the control table (S).
pub const CONTROL_KEY: &str = "pk";
/// `pk` prefix of schedule items: `schedule#<name>`.
pub const SCHEDULE_KEY_PREFIX: &str = "schedule#";
/// Attribute of a schedule item: its next free slot in epoch microseconds (N).
pub const NEXT_SLOT_ATTRIBUTE: &str = "next_slot_us";
/// Conditional writes a reservation tries before it gives up (each lost race is answered with
/// the winner's value, so every round has a winner).
pub const SCHEDULE_MAX_ATTEMPTS: u32 = 10;
/// Upper bound of the random pause before retrying a lost race (doubles per attempt from 1 ms).
pub const SCHEDULE_MAX_BACKOFF: Duration = Duration::from_millis(8);

const OP: &str = "schedule.reserve";

/// A random pause in `[0, min(1 ms × 2^attempt, SCHEDULE_MAX_BACKOFF)]`, so that instances that
/// lost a race together do not collide again in step.
fn jitter(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let cap = Duration::from_millis(1)
        .saturating_mul(1 << attempt.min(8))
        .min(SCHEDULE_MAX_BACKOFF);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(unix_us());
    let cap_us = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(h.finish() % (cap_us + 1))
}

/// [`SendSchedule`] on the control table: one item per schedule, moved with optimistic
/// concurrency. A reservation reads the item (consistent read), computes its slots and writes
/// the new `next_slot_us` on the condition that the item still holds the value it read
/// (`attribute_not_exists` for a fresh schedule). A lost race answers with the winner's item
/// (`ReturnValuesOnConditionCheckFailure=ALL_OLD`): the reservation recomputes from it without
/// another read and tries again after a short random pause, at most
/// [`SCHEDULE_MAX_ATTEMPTS`] times. A schedule without an item is due now.
///
/// Slots are epoch microseconds from each instance's clock: instances share the schedule as
/// well as their clocks agree (Lambda hosts keep theirs synchronised). A write the SDK repeats
/// after a lost response loses its race against itself and reserves again further on: slots
/// are then wasted, never shared.
#[derive(Debug, Clone)]
pub struct DynamoSchedule {
    client: Client,
    table: String,
    key: String,
}

impl DynamoSchedule {
    /// The schedule `name` in the control table `table` (item `pk = schedule#<name>`).
    pub fn new(client: Client, table: impl Into<String>, name: &str) -> Self {
        Self {
            client,
            table: table.into(),
            key: format!("{SCHEDULE_KEY_PREFIX}{name}"),
        }
    }

    /// The item's `pk`.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn err(&self, what: impl std::fmt::Display) -> PortError {
        PortError::new(OP, format!("{} in {:?}: {what}", self.key, self.table))
    }

    /// `next_slot_us` of an item (`None`: no item, or an item without a slot yet).
    fn next_slot(&self, item: &HashMap<String, AttributeValue>) -> Result<Option<i64>, PortError> {
        match item.get(NEXT_SLOT_ATTRIBUTE) {
            None => Ok(None),
            Some(AttributeValue::N(n)) => n.parse().map(Some).map_err(|_| {
                self.err(format_args!(
                    "{NEXT_SLOT_ATTRIBUTE} {n:?} is not an integer"
                ))
            }),
            Some(other) => Err(self.err(format_args!(
                "{NEXT_SLOT_ATTRIBUTE} is {other:?}, not a number"
            ))),
        }
    }

    async fn read(&self) -> Result<Option<i64>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(CONTROL_KEY, AttributeValue::S(self.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(error_text(&e)))?;
        match out.item() {
            Some(item) => self.next_slot(item),
            None => Ok(None),
        }
    }

    /// Move the slot from `current` to `next`; `Ok(Err(value now))` when another instance moved
    /// it first.
    async fn swap(
        &self,
        current: Option<i64>,
        next: i64,
    ) -> Result<Result<(), Option<i64>>, PortError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(CONTROL_KEY, AttributeValue::S(self.key.clone()))
            .update_expression("SET #n = :next")
            .expression_attribute_names("#n", NEXT_SLOT_ATTRIBUTE)
            .expression_attribute_values(":next", AttributeValue::N(next.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        req = match current {
            None => req.condition_expression("attribute_not_exists(#n)"),
            Some(v) => req
                .condition_expression("#n = :prev")
                .expression_attribute_values(":prev", AttributeValue::N(v.to_string())),
        };
        let e = match req.send().await {
            Ok(_) => return Ok(Ok(())),
            Err(e) => e,
        };
        match update_condition_failed(&e) {
            Some(Some(item)) => Ok(Err(self.next_slot(item)?)),
            // emulators may not return the item: read it
            Some(None) => Ok(Err(self.read().await?)),
            None => Err(self.err(error_text(&e))),
        }
    }
}

impl SendSchedule for DynamoSchedule {
    async fn reserve(&self, request: Reservation) -> Result<Option<Duration>, PortError> {
        let mut current = self.read().await?;
        for attempt in 0..SCHEDULE_MAX_ATTEMPTS {
            let now = unix_us();
            let Some(placed) = request.place(current, now) else {
                return Ok(None);
            };
            match self.swap(current, placed.next_free_us).await? {
                // The wait counts from the answer, not from the request.
                Ok(()) => {
                    let wait = u64::try_from(placed.first_us - unix_us()).unwrap_or(0);
                    return Ok(Some(Duration::from_micros(wait)));
                }
                Err(now_there) => {
                    current = now_there;
                    tokio::time::sleep(jitter(attempt)).await;
                }
            }
        }
        Err(self.err(format_args!(
            "other instances kept moving the schedule: {SCHEDULE_MAX_ATTEMPTS} conditional writes lost"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_pause_is_random_and_bounded() {
        for attempt in 0..20 {
            let cap = Duration::from_millis(1 << attempt.min(3));
            assert!(jitter(attempt) <= cap.min(SCHEDULE_MAX_BACKOFF));
        }
        let pauses: std::collections::HashSet<Duration> = (0..50).map(|_| jitter(5)).collect();
        assert!(pauses.len() > 1, "not random: {pauses:?}");
    }
}
